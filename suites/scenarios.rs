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
/// mutating; the saver reads the state page by page and writes what it read to a file. The
/// file equals the state at fork time, and exactly the pages the parent dirtied after the
/// fork get copied (frame classes differ only there).
// covers: mem.cow-parent-writes, mem.cow-frames
#[test]
fn background_save_by_fork() {
    const PAGES: u32 = 32;
    let dirtied = [3u32, 7, 7, 8, 20, 31, 3];
    let fork_time = |p: u32| p as u8 + 1;
    let mut ops: Vec<Op> = (0..PAGES)
        .map(|p| store(0, AnonPrivate, p, fork_time(p)))
        .collect();
    ops.push(op(0, Fork));
    ops.push(op(
        1,
        Open {
            file: FileName::A,
            flags: OpenFlags {
                access: Access::WrOnly,
                creat: true,
                ..Default::default()
            },
        },
    ));
    // The parent's mutations interleave with the saver's reads and writes.
    let mut loads = Vec::new();
    for p in 0..PAGES {
        if let Some(&d) = dirtied.get(p as usize) {
            ops.push(store(0, AnonPrivate, d, 0xa0 + p as u8));
        }
        loads.push(ops.len());
        ops.push(load(1, AnonPrivate, p));
        ops.push(op(
            1,
            Pwrite {
                fd: 0,
                data: vec![fork_time(p)],
                offset: i64::from(p),
            },
        ));
    }
    let before_exit = ops.len() - 1;
    ops.push(op(
        1,
        Exit {
            code: 0,
            thread: false,
        },
    ));
    ops.push(op(
        0,
        Open {
            file: FileName::A,
            flags: OpenFlags::default(),
        },
    ));
    ops.push(op(0, Read { fd: 0, len: PAGES }));
    let c = Case {
        config: CaseConfig { pages: PAGES },
        ops,
    };
    let m = known("scenario_background_save", &c);
    for (p, &i) in loads.iter().enumerate() {
        assert_eq!(
            m.outcomes[i],
            Outcome::Data(vec![fork_time(p as u32)]),
            "the saver sees page {p} as at fork"
        );
    }
    let file: Vec<u8> = (0..PAGES).map(fork_time).collect();
    assert_eq!(
        m.outcomes.last(),
        Some(&Outcome::Data(file)),
        "the saved file is the state at fork time"
    );
    // Just before the saver exits: frames that differ between parent and saver are copies.
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

/// Shell-style `cmd < pipe > a`: the shell (t0) keeps a close-on-exec fd of its own high up
/// (F_DUPFD_CLOEXEC to 10), makes a pipe (0, 1) and opens the output file (2), forks; the
/// child moves the file onto 1 with dup2 (which drops its copy of the pipe's write end),
/// closes the original and execs. After the exec the child has exactly 0 and 1 (the
/// close-on-exec fd is gone), it reads what the shell writes into the pipe, its writes to 1
/// land in `a`, and the shell's own fds are untouched.
// covers: exec.cloexec
#[test]
fn shell_fork_exec_with_redirections() {
    let c = case(vec![
        op(
            0,
            Open {
                file: FileName::Data,
                flags: OpenFlags::default(),
            },
        ),
        op(
            0,
            Fcntl {
                fd: 0,
                cmd: FcntlCmd::DupFdCloexec { min: 10 },
            },
        ),
        op(0, Close { fd: 0 }),
        op(
            0,
            Pipe2 {
                cloexec: false,
                nonblock: false,
            },
        ),
        op(
            0,
            Open {
                file: FileName::A,
                flags: OpenFlags {
                    access: Access::RdWr,
                    creat: true,
                    ..Default::default()
                },
            },
        ),
        op(0, Fork),
        op(1, Dup2 { old: 2, new: 1 }),
        op(1, Close { fd: 2 }),
        op(1, Exec),
        op(
            0,
            Write {
                fd: 1,
                data: b"in".to_vec(),
            },
        ),
        op(1, Read { fd: 0, len: 8 }),
        op(
            1,
            Write {
                fd: 1,
                data: b"out".to_vec(),
            },
        ),
        op(
            1,
            Exit {
                code: 0,
                thread: false,
            },
        ),
        op(
            0,
            Pread {
                fd: 2,
                len: 8,
                offset: 0,
            },
        ),
    ]);
    let m = known("scenario_shell_fork_exec", &c);
    assert_eq!(m.outcomes[1], Outcome::Ret(10));
    assert_eq!(m.outcomes[3], Outcome::Pipe([0, 1]));
    assert_eq!(fd_list(&m, 7, 1), vec![(0, false), (1, false), (10, true)]);
    assert_eq!(
        fd_list(&m, 8, 1),
        vec![(0, false), (1, false)],
        "the close-on-exec fd is gone"
    );
    assert_eq!(m.outcomes[10], Outcome::Data(b"in".to_vec()));
    assert_eq!(m.outcomes[13], Outcome::Data(b"out".to_vec()));
    assert_eq!(
        fd_list(&m, 13, 0),
        vec![(0, false), (1, false), (2, false), (10, true)],
        "the shell's table is untouched"
    );
}

/// fork in a multithreaded process: t1 is a thread of t0's group and holds a lock word
/// (anon_private[0] = 1) when t0 forks. The child is a process of one thread (only the
/// caller is copied: kernel/fork.c copy_process copies current alone), and the lock word
/// stays held in its copy of memory even after the thread releases it in the parent: this is
/// why only async-signal-safe calls are allowed between fork and exec in a threaded program.
// covers: threads.fork-copies-one-thread
#[test]
fn fork_in_a_multithreaded_process() {
    let thread = CloneFlags(CloneFlags::VM.0 | CloneFlags::SIGHAND.0 | CloneFlags::THREAD.0);
    let c = case(vec![
        op(
            0,
            Clone(CloneOp {
                entry: CloneEntry::Clone,
                flags: thread,
                exit_signal: 0,
                args: Clone3Args::default(),
            }),
        ),
        store(1, AnonPrivate, 0, 1),
        op(0, Fork),
        store(1, AnonPrivate, 0, 0),
        load(2, AnonPrivate, 0),
        load(0, AnonPrivate, 0),
        op(
            2,
            Exit {
                code: 0,
                thread: false,
            },
        ),
    ]);
    let m = known("scenario_fork_in_a_multithreaded_process", &c);
    let s = &m.states[2];
    assert_eq!(s.task(1).unwrap().thread_of, Some(0));
    let child = s.task(2).unwrap();
    assert_eq!(child.thread_of, None);
    assert!(
        s.tasks.iter().all(|t| t.thread_of != Some(2)),
        "the child has no other thread"
    );
    assert_eq!(
        m.outcomes[4],
        Outcome::Data(vec![1]),
        "still held in the child"
    );
    assert_eq!(
        m.outcomes[5],
        Outcome::Data(vec![0]),
        "released in the parent"
    );
}
