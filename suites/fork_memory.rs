//! fork and copy-on-write memory: property tests (model vs kernel) and known cases.

mod common;

use common::*;
use forkspec::gen::{fork_depth, generate, GenConfig, Mix, SeededChoices};
use forkspec_model::*;
use OpKind::*;
use Region::*;

fn store(t: TaskId, region: Region, page: u32, byte: u8) -> Op {
    op(t, MemWrite { region, page, byte })
}
fn load(t: TaskId, region: Region, page: u32) -> Op {
    op(t, MemRead { region, page })
}
fn madvise(t: TaskId, region: Region, first: u32, count: u32, advice: Advice) -> Op {
    op(
        t,
        Madvise {
            region,
            first,
            count,
            advice,
        },
    )
}
fn fork(t: TaskId) -> Op {
    op(t, Fork)
}
fn frame(p: Page) -> Option<Frame> {
    p.frame
}

/// Generated cases of this suite, over all parts (PROPTEST_CASES overrides it).
const GENERATED: u32 = 1800;

/// Generated fork / memory sequences behave on the kernel exactly as the model predicts.
// covers: fork.return-values, fork.ppid, fork.wait, mem.cow-parent-writes, mem.cow-child-writes
// covers: mem.cow-frames, mem.zero-page, mem.map-shared, mem.file-private, mem.dontfork
// covers: mem.wipeonfork, mem.keeponfork
/// Part 1 of [`PARTS`]; the other parts run the same property with other seeds.
#[test]
fn fork_memory_model_matches_kernel() {
    property_part(Mix::Fork, GENERATED, 0, file!());
}

/// Part 2 of [`PARTS`] of [`fork_memory_model_matches_kernel`].
#[test]
fn fork_memory_model_matches_kernel_part_2() {
    property_part(Mix::Fork, GENERATED, 1, file!());
}

#[test]
fn generation_reaches_five_fork_generations() {
    let p = Profile::default();
    let gen = GenConfig {
        mix: Mix::Fork,
        ..GenConfig::default()
    };
    let deepest = (0..500u64)
        .map(|s| fork_depth(&generate(&mut SeededChoices::new(s), &gen, &p), &p))
        .max()
        .unwrap();
    assert!(deepest >= 5, "deepest fork chain in 500 cases: {deepest}");
}

// covers: mem.cow-frames, mem.cow-parent-writes, mem.cow-child-writes
#[test]
fn cow_after_fork_shares_then_copies_then_regains_exclusivity() {
    let c = case(vec![
        store(0, AnonPrivate, 0, 0x11),
        fork(0),
        store(1, AnonPrivate, 0, 0x22),
        store(0, AnonPrivate, 0, 0x33),
    ]);
    let m = known("cow_after_fork", &c);
    let (p0, p1) = (m.page(1, 0, AnonPrivate, 0), m.page(1, 1, AnonPrivate, 0));
    assert!(p0.present && p1.present && !p0.exclusive && !p1.exclusive);
    assert_eq!(frame(p0), frame(p1), "after fork both map one frame");
    let (p0, p1) = (m.page(2, 0, AnonPrivate, 0), m.page(2, 1, AnonPrivate, 0));
    assert_ne!(frame(p0), frame(p1), "the first writer copies");
    assert!(
        p0.exclusive && p1.exclusive,
        "the other side regains exclusivity"
    );
    assert_eq!(p1.value, Some(0x22));
    assert_eq!(p0.value, Some(0x11));
    let p0_after = m.page(3, 0, AnonPrivate, 0);
    assert_eq!(
        frame(p0_after),
        frame(p0),
        "an exclusive page is written in place"
    );
    assert_eq!(p0_after.value, Some(0x33));
}

// covers: mem.cow-frames
#[test]
fn cow_frame_is_reused_once_the_other_side_exited() {
    let c = case(vec![
        store(0, AnonPrivate, 2, 0x11),
        fork(0),
        op(
            1,
            Exit {
                code: 0,
                thread: false,
            },
        ),
        store(0, AnonPrivate, 2, 0x44),
    ]);
    let m = known("cow_reuse_after_exit", &c);
    let shared = m.page(1, 0, AnonPrivate, 2);
    assert!(!shared.exclusive);
    let alone = m.page(2, 0, AnonPrivate, 2);
    assert!(alone.exclusive, "the partner's exit leaves one mapping");
    let written = m.page(3, 0, AnonPrivate, 2);
    assert_eq!(
        frame(written),
        frame(shared),
        "no copy: the frame is reused"
    );
    assert_eq!(written.value, Some(0x44));
}

// covers: mem.zero-page
#[test]
fn a_page_only_read_maps_the_zero_page() {
    let c = case(vec![
        load(0, AnonPrivate, 1),
        fork(0),
        load(1, AnonPrivate, 1),
    ]);
    let m = known("zero_page_on_read", &c);
    assert_eq!(m.outcomes[0], Outcome::Data(vec![0]));
    let p = m.page(0, 0, AnonPrivate, 1);
    assert!(p.present && !p.exclusive);
    assert_eq!(p.frame, Some(Frame::Zero));
    // No anon_vma yet, so fork copies no page tables: the child faults the zero page itself.
    assert!(!m.page(1, 1, AnonPrivate, 1).present);
    assert_eq!(m.page(2, 1, AnonPrivate, 1).frame, Some(Frame::Zero));
}

// covers: mem.map-shared
#[test]
fn map_shared_writes_are_visible_both_ways() {
    let c = case(vec![
        fork(0),
        store(1, AnonShared, 2, 5),
        load(0, AnonShared, 2),
        store(0, FileShared, 1, 6),
        load(1, FileShared, 1),
    ]);
    let m = known("map_shared_both_ways", &c);
    assert_eq!(m.outcomes[2], Outcome::Data(vec![5]));
    assert_eq!(m.outcomes[4], Outcome::Data(vec![6]));
    assert_eq!(
        frame(m.page(4, 0, FileShared, 1)),
        frame(m.page(4, 1, FileShared, 1)),
        "one page-cache frame"
    );
}

// covers: mem.file-private
#[test]
fn private_file_mapping_sees_the_file_until_written() {
    let open_data = OpenFlags {
        access: Access::RdWr,
        ..Default::default()
    };
    let c = case(vec![
        load(0, FilePrivate, 0),
        op(
            0,
            Open {
                file: FileName::Data,
                flags: open_data,
            },
        ),
        op(
            0,
            Pwrite {
                fd: 0,
                data: b"Z".to_vec(),
                offset: 0,
            },
        ),
        load(0, FilePrivate, 0),
        store(0, FilePrivate, 0, 1),
        op(
            0,
            Pwrite {
                fd: 0,
                data: b"Y".to_vec(),
                offset: 0,
            },
        ),
        load(0, FilePrivate, 0),
        load(0, FileShared, 0),
    ]);
    let m = known("private_file_mapping_until_written", &c);
    assert_eq!(m.outcomes[0], Outcome::Data(vec![0x80]));
    assert_eq!(
        m.outcomes[3],
        Outcome::Data(b"Z".to_vec()),
        "the file change shows"
    );
    assert_eq!(
        m.outcomes[6],
        Outcome::Data(vec![1]),
        "the private copy hides it"
    );
    assert_eq!(m.outcomes[7], Outcome::Data(b"Y".to_vec()));
}

// covers: mem.dontfork
#[test]
fn dontfork_range_is_absent_in_the_child() {
    let c = case(vec![
        store(0, AnonPrivate, 0, 3),
        madvise(0, AnonPrivate, 0, 2, Advice::DontFork),
        fork(0),
        load(1, AnonPrivate, 2),
        load(1, AnonPrivate, 0),
        load(0, AnonPrivate, 0),
    ]);
    let m = known("dontfork_child_segv", &c);
    assert!(!m.page(2, 1, AnonPrivate, 0).mapped);
    assert!(m.page(2, 1, AnonPrivate, 2).mapped);
    assert_eq!(m.outcomes[3], Outcome::Data(vec![0]));
    assert_eq!(m.outcomes[4], Outcome::Killed(Signal::SIGSEGV));
    assert_eq!(m.outcomes[5], Outcome::Data(vec![3]));
}

// covers: mem.wipeonfork
#[test]
fn wipeonfork_gives_zeros_to_child_and_grandchild() {
    let c = case(vec![
        store(0, AnonPrivate, 0, 9),
        madvise(0, AnonPrivate, 0, 8, Advice::WipeOnFork),
        fork(0),
        load(1, AnonPrivate, 0),
        store(1, AnonPrivate, 0, 7),
        fork(1),
        load(2, AnonPrivate, 0),
        load(0, AnonPrivate, 0),
    ]);
    let m = known("wipeonfork_child_and_grandchild", &c);
    assert_eq!(m.outcomes[3], Outcome::Data(vec![0]));
    assert_eq!(
        m.outcomes[6],
        Outcome::Data(vec![0]),
        "the flag stays on the child's range"
    );
    assert_eq!(m.outcomes[7], Outcome::Data(vec![9]));
}

// covers: mem.keeponfork
#[test]
fn keeponfork_undoes_wipeonfork() {
    let c = case(vec![
        store(0, AnonPrivate, 0, 9),
        madvise(0, AnonPrivate, 0, 8, Advice::WipeOnFork),
        madvise(0, AnonPrivate, 0, 8, Advice::KeepOnFork),
        fork(0),
        load(1, AnonPrivate, 0),
    ]);
    let m = known("keeponfork_undoes_wipeonfork", &c);
    assert_eq!(m.outcomes[4], Outcome::Data(vec![9]));
}

// covers: mem.wipeonfork
#[test]
fn wipeonfork_on_shared_or_file_mappings_is_einval() {
    let c = case(vec![
        madvise(0, AnonShared, 0, 1, Advice::WipeOnFork),
        madvise(0, FileShared, 0, 1, Advice::WipeOnFork),
        madvise(0, FilePrivate, 0, 1, Advice::WipeOnFork),
        madvise(0, AnonPrivate, 0, 1, Advice::WipeOnFork),
    ]);
    let m = known("wipeonfork_shared_einval", &c);
    assert_eq!(m.outcomes[0], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[1], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[2], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[3], Outcome::Ret(0));
}

/// Counts the cases both parts run (with no lab): what the next test starts.
#[test]
#[ignore = "started by parts_share_proptest_cases with PROPTEST_CASES set"]
fn count_the_cases_of_both_parts() {
    let n = std::sync::atomic::AtomicU32::new(0);
    for part in 0..PARTS {
        run_part(GENERATED, part, file!(), &|_| {
            n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        });
    }
    println!("cases of both parts: {}", n.into_inner());
}

/// `PROPTEST_CASES=N` is the suite's total over its parts, not each part's.
#[test]
fn parts_share_proptest_cases() {
    let run = |cases: &str| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "count_the_cases_of_both_parts",
                "--ignored",
                "--nocapture",
            ])
            .env("PROPTEST_CASES", cases)
            .output()
            .unwrap()
    };
    let out = run("15");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cases of both parts: 15\n"), "{stdout}");
    // A malformed value stops the suite, naming the variable.
    let out = run("lots");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("PROPTEST_CASES=\"lots\""), "{text}");
}
