//! Seed scenarios, each checked on the model and on the kernel step by step (`known`), with
//! the model's trace pinned in snapshots/.

mod common;

use common::*;
use forkspec_model::*;
use OpKind::*;
use Region::*;

fn store(t: TaskId, region: Region, page: u32, byte: u8) -> Op {
    op(t, MemWrite { region, page, byte })
}
fn load(t: TaskId, region: Region, page: u32) -> Op {
    op(t, MemRead { region, page })
}

/// Background save by fork (how Redis and Factorio save): the parent forks a saver and keeps
/// mutating; the saver sees the state at fork time, and exactly the pages the parent dirtied
/// after the fork get copied.
// covers: mem.cow-parent-writes, mem.cow-frames
#[test]
fn background_save_by_fork() {
    const PAGES: u32 = 32;
    let dirtied = [3u32, 7, 7, 8, 20, 31, 3];
    let mut ops: Vec<Op> = (0..PAGES)
        .map(|p| store(0, AnonPrivate, p, p as u8 + 1))
        .collect();
    ops.push(op(0, Fork));
    for (i, &p) in dirtied.iter().enumerate() {
        ops.push(store(0, AnonPrivate, p, 0xa0 + i as u8));
    }
    // The saver writes out its view of the state: one load per page.
    for p in 0..PAGES {
        ops.push(load(1, AnonPrivate, p));
    }
    ops.push(op(
        1,
        Exit {
            code: 0,
            thread: false,
        },
    ));
    let c = Case {
        config: CaseConfig { pages: PAGES },
        ops,
    };
    let m = known("scenario_background_save", &c);
    let saver_loads = &m.outcomes[m.outcomes.len() - 1 - PAGES as usize..m.outcomes.len() - 1];
    for (p, out) in saver_loads.iter().enumerate() {
        assert_eq!(
            *out,
            Outcome::Data(vec![p as u8 + 1]),
            "the saver sees page {p} as at fork"
        );
    }
    // Just before the saver exits: frames that differ between parent and saver are copies.
    let before_exit = m.states.len() - 2;
    let copied = (0..PAGES as usize)
        .filter(|&p| {
            m.page(before_exit, 0, AnonPrivate, p).frame
                != m.page(before_exit, 1, AnonPrivate, p).frame
        })
        .count();
    let distinct: std::collections::BTreeSet<u32> = dirtied.iter().copied().collect();
    assert_eq!(copied, distinct.len(), "one copy per distinct dirtied page");
    // After the saver exits, every parent page is exclusive again.
    let end = m.states.len() - 1;
    assert!((0..PAGES as usize).all(|p| m.page(end, 0, AnonPrivate, p).exclusive));
}

/// fork vs vfork: the vfork child shares the parent's memory (its store is the parent's), and
/// the parent is suspended until the child exits; the fork child's store stays its own.
// covers: clone.vfork, mem.cow-child-writes
#[test]
fn fork_vs_vfork() {
    let c = case(vec![
        store(0, AnonPrivate, 0, 1),
        op(0, Vfork),
        store(1, AnonPrivate, 0, 2),
        op(
            1,
            Exit {
                code: 0,
                thread: false,
            },
        ),
        load(0, AnonPrivate, 0),
        op(0, Fork),
        store(2, AnonPrivate, 0, 3),
        load(0, AnonPrivate, 0),
    ]);
    let m = known("scenario_fork_vs_vfork", &c);
    assert_eq!(m.outcomes[1], Outcome::Child(1));
    let parent = m.states[1].task(0).unwrap();
    assert_eq!(
        parent.state,
        TaskState::Blocked,
        "the vfork parent waits for its child"
    );
    assert_eq!(
        m.states[3].task(0).unwrap().state,
        TaskState::Live,
        "and resumes at its exit"
    );
    assert_eq!(
        m.outcomes[4],
        Outcome::Data(vec![2]),
        "the vfork child's store is the parent's"
    );
    assert_eq!(
        m.outcomes[7],
        Outcome::Data(vec![2]),
        "the fork child's store is its own"
    );
}
