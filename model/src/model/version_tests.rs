//! Unit tests of the rules that depend on the kernel version: each one on both sides of its
//! boundary (the last release without the change and the first with it).

use super::*;
use crate::obs::{Errno, InodeKind, LockReport, Outcome};
use crate::op::{
    CloneEntry, CloneFlags as F, CloneOp, FcntlCmd, FlockArg, LockType, OpenFlags, Whence,
};

fn on(kernel: (u32, u32), sublevel: u32) -> Model {
    let profile = Profile {
        kernel,
        kernel_sublevel: sublevel,
        ..Profile::default()
    };
    Model::new(CaseConfig { pages: 8 }, &profile)
}

fn run(m: &mut Model, task: TaskId, kind: OpKind) -> Outcome {
    m.step(&Op { task, kind }, None).taken
}

fn clone(entry: CloneEntry, flags: F, exit_signal: i32) -> OpKind {
    OpKind::Clone(CloneOp {
        entry,
        flags,
        exit_signal,
        args: Default::default(),
    })
}

/// Two `clone3(CLONE_PIDFD)` children of t0: their pidfds are fds 0 and 1.
fn two_pidfds(m: &mut Model) {
    for _ in 0..2 {
        let out = run(m, 0, clone(CloneEntry::Clone3, F::PIDFD, 17));
        assert!(matches!(out, Outcome::Child(_)), "{out:?}");
    }
}

/// The inode label of each of t0's fds.
fn inodes_of_fds(m: &Model) -> Vec<u64> {
    let s = m.snapshot();
    let t0 = s.task(0).unwrap();
    t0.fds
        .iter()
        .map(|e| s.ofds.iter().find(|o| o.id == e.ofd).unwrap().inode)
        .collect()
}

#[test]
fn pidfds_share_one_anonymous_inode_before_pidfs() {
    for (kernel, shared) in [((6, 8), true), ((6, 9), false)] {
        let mut m = on(kernel, 0);
        two_pidfds(&mut m);
        let ino = inodes_of_fds(&m);
        assert_eq!(ino.len(), 2);
        assert_eq!(ino[0] == ino[1], shared, "kernel {kernel:?}");
        let s = m.snapshot();
        assert!(s
            .inodes
            .iter()
            .all(|i| i.kind == InodeKind::Pidfd && i.size == Some(0)));
    }
}

#[test]
fn pidfd_ftruncate_and_positioned_io_before_pidfs() {
    for (kernel, truncate, positioned) in [
        ((6, 8), Errno::EINVAL, Errno::ESPIPE),
        ((6, 9), Errno::EOPNOTSUPP, Errno::EINVAL),
    ] {
        let mut m = on(kernel, 0);
        two_pidfds(&mut m);
        let ops = [
            (OpKind::Ftruncate { fd: 0, len: 0 }, truncate),
            (
                OpKind::Pread {
                    fd: 0,
                    len: 1,
                    offset: 0,
                },
                positioned,
            ),
            (
                OpKind::Pwrite {
                    fd: 0,
                    data: vec![1],
                    offset: 0,
                },
                positioned,
            ),
            // Unchanged: no read or write method either way, no llseek.
            (OpKind::Read { fd: 0, len: 1 }, Errno::EINVAL),
            (
                OpKind::Lseek {
                    fd: 0,
                    offset: 0,
                    whence: Whence::Set,
                },
                Errno::ESPIPE,
            ),
        ];
        for (op, e) in ops {
            let shown = format!("{op:?}");
            assert_eq!(run(&mut m, 0, op), Outcome::Err(e), "{kernel:?} {shown}");
        }
    }
}

#[test]
fn a_lock_on_one_pidfd_conflicts_with_another_pidfd_before_pidfs() {
    let lock = |ty| FlockArg {
        ty,
        start: 0,
        len: 1,
        pid: 0,
    };
    for (kernel, conflict) in [((6, 8), true), ((6, 9), false)] {
        let mut m = on(kernel, 0);
        two_pidfds(&mut m);
        let set = FcntlCmd::OfdSetLk {
            lock: lock(LockType::Wr),
        };
        assert_eq!(
            run(&mut m, 0, OpKind::Fcntl { fd: 0, cmd: set }),
            Outcome::Ret(0)
        );
        let get = FcntlCmd::OfdGetLk {
            lock: lock(LockType::Wr),
        };
        let out = run(&mut m, 0, OpKind::Fcntl { fd: 1, cmd: get });
        let unlocked = out == Outcome::Lock(LockReport::Unlocked);
        assert_eq!(!unlocked, conflict, "{kernel:?}: {out:?}");
    }
}

#[test]
fn clone_thread_with_pidfd_is_allowed_since_6_9() {
    let flags = F(F::THREAD.0 | F::SIGHAND.0 | F::VM.0 | F::PIDFD.0);
    for (kernel, ok) in [((6, 8), false), ((6, 9), true)] {
        let mut m = on(kernel, 0);
        let out = run(&mut m, 0, clone(CloneEntry::Clone3, flags, 0));
        if ok {
            assert!(matches!(out, Outcome::Child(1)), "{out:?}");
        } else {
            assert_eq!(out, Outcome::Err(Errno::EINVAL));
        }
    }
}

#[test]
fn ofd_getlk_accepts_unlck_since_6_6() {
    for (kernel, ok) in [((6, 5), false), ((6, 6), true)] {
        let mut m = on(kernel, 0);
        let open = OpKind::Open {
            file: crate::op::FileName::Data,
            flags: OpenFlags::default(),
        };
        assert_eq!(run(&mut m, 0, open), Outcome::Ret(0));
        let get = FcntlCmd::OfdGetLk {
            lock: FlockArg {
                ty: LockType::Un,
                start: 0,
                len: 0,
                pid: 0,
            },
        };
        let out = run(&mut m, 0, OpKind::Fcntl { fd: 0, cmd: get });
        let expected = if ok {
            Outcome::Lock(LockReport::Unlocked)
        } else {
            Outcome::Err(Errno::EINVAL)
        };
        assert_eq!(out, expected, "{kernel:?}");
    }
}

#[test]
fn a_clone_vm_child_enters_a_new_time_namespace_before_6_2() {
    for (kernel, entered) in [((6, 1), true), ((6, 2), false)] {
        let mut m = on(kernel, 0);
        let out = run(
            &mut m,
            0,
            clone(CloneEntry::Clone3, F(F::NEWTIME.0 | F::VM.0), 17),
        );
        assert_eq!(out, Outcome::Child(1));
        let s = m.snapshot();
        let time = |t: TaskId| s.task(t).unwrap().namespaces.unwrap().time;
        assert_eq!(time(1) != time(0), entered, "{kernel:?}");
    }
}

#[test]
fn legacy_clone_exit_signal_above_64_by_version() {
    // CLONE_NEWTIME is bit 0x80 of the legacy exit signal: 17 | 0x80 = 145.
    let op = clone(CloneEntry::Clone, F::NEWTIME, 17);
    let child = Outcome::Child(1);
    let einval = Outcome::Err(Errno::EINVAL);
    for (kernel, sub, allowed) in [
        ((6, 18), 44, vec![child.clone()]),
        ((6, 12), 92, vec![child.clone()]),
        ((6, 12), 93, vec![child.clone(), einval.clone()]),
        ((7, 0), 12, vec![child.clone(), einval.clone()]),
        ((7, 1), 0, vec![einval.clone()]),
    ] {
        let mut m = on(kernel, sub);
        let step = m.step(
            &Op {
                task: 0,
                kind: op.clone(),
            },
            None,
        );
        assert_eq!(step.allowed, allowed, "{kernel:?}.{sub}");
    }
    // Where both are allowed the state follows the observed one.
    let mut m = on((6, 12), 93);
    let step = m.step(
        &Op {
            task: 0,
            kind: op.clone(),
        },
        Some(&einval),
    );
    assert_eq!(step.taken, einval);
    assert_eq!(step.allowed, vec![einval.clone(), child.clone()]);
    assert_eq!(m.snapshot().tasks.len(), 1, "no child was made");
    // clone3 refuses such a signal on every version (copy_clone_args_from_user).
    let mut m = on((6, 1), 0);
    let out = run(&mut m, 0, clone(CloneEntry::Clone3, F(0), 65));
    assert_eq!(out, einval);
}

#[test]
fn ext4_caches_large_folios_since_6_16() {
    use crate::op::Region;
    for (kernel, whole_folio) in [((6, 15), false), ((6, 16), true)] {
        let profile = Profile {
            kernel,
            ..Profile::default()
        };
        let mut m = Model::with_case_fs(CaseConfig { pages: 8 }, &profile, CaseFs::Ext4);
        // A store to an untouched FileShared page maps the whole 8-page folio with large
        // folios, the page alone with order-0 folios.
        let out = run(
            &mut m,
            0,
            OpKind::MemWrite {
                region: Region::FileShared,
                page: 6,
                byte: 1,
            },
        );
        assert_eq!(out, Outcome::Ret(0));
        let s = m.snapshot();
        let present = s.task(0).unwrap().memory[Region::FileShared.index()]
            .pages
            .iter()
            .filter(|p| p.present)
            .count();
        assert_eq!(present, if whole_folio { 8 } else { 1 }, "{kernel:?}");
    }
}

#[test]
fn frame_classes_are_unpredictable_before_5_19() {
    let p = |kernel| Profile {
        kernel,
        ..Profile::default()
    };
    let kinds = |k| {
        unpredictable_observations(&p(k))
            .into_iter()
            .map(|(kind, _)| kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds((5, 18)), vec!["pfn"]);
    assert!(kinds((5, 19)).is_empty());
}

fn pidfd_open(target: TaskId, nonblock: bool, thread: bool) -> OpKind {
    OpKind::PidfdOpen {
        target,
        nonblock,
        thread,
    }
}

/// t0 with a thread t1 (CLONE_VM | CLONE_SIGHAND | CLONE_THREAD).
fn with_thread(m: &mut Model) {
    let out = run(
        m,
        0,
        clone(
            CloneEntry::Clone,
            F(F::VM.0 | F::SIGHAND.0 | F::THREAD.0),
            0,
        ),
    );
    assert_eq!(out, Outcome::Child(1));
}

#[test]
fn pidfd_open_thread_flag_since_6_9_and_enoent_for_a_non_leader_since_6_16() {
    for (kernel, thread_ok, non_leader) in [
        ((6, 1), false, Errno::EINVAL),
        ((6, 12), true, Errno::EINVAL),
        ((6, 15), true, Errno::EINVAL),
        ((6, 16), true, Errno::ENOENT),
    ] {
        let mut m = on(kernel, 0);
        with_thread(&mut m);
        assert_eq!(
            run(&mut m, 0, pidfd_open(1, false, false)),
            Outcome::Err(non_leader),
            "{kernel:?}"
        );
        // PIDFD_THREAD: the lowest free fd where the kernel knows the flag, else EINVAL.
        let want = |fd| {
            if thread_ok {
                Outcome::Ret(fd)
            } else {
                Outcome::Err(Errno::EINVAL)
            }
        };
        assert_eq!(
            run(&mut m, 0, pidfd_open(1, false, true)),
            want(0),
            "{kernel:?}"
        );
        assert_eq!(
            run(&mut m, 0, pidfd_open(0, true, true)),
            want(1),
            "{kernel:?}"
        );
    }
}

#[test]
fn two_pidfds_of_one_pid_share_its_inode_since_pidfs_and_every_pidfd_before() {
    for (kernel, shared_with_other) in [((6, 8), true), ((6, 9), false)] {
        let mut m = on(kernel, 0);
        two_pidfds(&mut m);
        assert_eq!(run(&mut m, 0, pidfd_open(1, false, false)), Outcome::Ret(2));
        let i = inodes_of_fds(&m);
        assert_eq!(i[0], i[2], "{kernel:?}: the pid's inode");
        assert_eq!(i[1] == i[2], shared_with_other, "{kernel:?}");
    }
}

#[test]
fn a_reaped_pidfd_polls_pollhup_since_6_9_and_a_thread_pidfd_of_an_early_leader_since_6_15() {
    use super::pidfd::{POLLHUP, POLLIN};
    // A reaped child: POLLIN, and POLLHUP since 6.9.
    for (kernel, want) in [((6, 8), POLLIN), ((6, 9), POLLIN | POLLHUP)] {
        let mut m = on(kernel, 0);
        two_pidfds(&mut m);
        run(
            &mut m,
            1,
            OpKind::Exit {
                code: 0,
                thread: false,
            },
        );
        assert_eq!(run(&mut m, 0, OpKind::Poll { fd: 0 }), Outcome::Ret(POLLIN));
        let w = OpKind::Wait {
            target: crate::op::WaitTarget::Task(1),
            options: Default::default(),
        };
        assert!(matches!(run(&mut m, 0, w), Outcome::Reaped { .. }));
        assert_eq!(
            run(&mut m, 0, OpKind::Poll { fd: 0 }),
            Outcome::Ret(want),
            "{kernel:?}"
        );
    }
    // A thread pidfd of a leader that exited before its thread: ready on 6.9 to 6.14 (or
    // not, with the stable backport), never since 6.15; a plain pidfd never.
    for (kernel, allowed) in [
        ((6, 12), vec![Outcome::Ret(POLLIN), Outcome::Ret(0)]),
        ((6, 15), vec![Outcome::Ret(0)]),
    ] {
        let mut m = on(kernel, 0);
        with_thread(&mut m);
        assert_eq!(run(&mut m, 0, OpKind::Fork), Outcome::Child(2));
        with_thread_of(&mut m, 2);
        run(&mut m, 0, pidfd_open(2, false, true));
        run(&mut m, 0, pidfd_open(2, false, false));
        run(
            &mut m,
            2,
            OpKind::Exit {
                code: 0,
                thread: true,
            },
        );
        let step = m.step(
            &Op {
                task: 0,
                kind: OpKind::Poll { fd: 0 },
            },
            None,
        );
        assert_eq!(step.allowed, allowed, "{kernel:?}");
        assert_eq!(run(&mut m, 0, OpKind::Poll { fd: 1 }), Outcome::Ret(0));
    }
}

/// A thread of `t` (the next label).
fn with_thread_of(m: &mut Model, t: TaskId) {
    let out = run(
        m,
        t,
        clone(
            CloneEntry::Clone,
            F(F::VM.0 | F::SIGHAND.0 | F::THREAD.0),
            0,
        ),
    );
    assert!(matches!(out, Outcome::Child(_)), "{out:?}");
}

#[test]
fn pidfd_getfd_of_a_zombie_is_esrch_since_6_9() {
    for (kernel, allowed) in [
        (
            (6, 8),
            vec![Outcome::Err(Errno::EBADF), Outcome::Err(Errno::ESRCH)],
        ),
        ((6, 9), vec![Outcome::Err(Errno::ESRCH)]),
    ] {
        let mut m = on(kernel, 0);
        two_pidfds(&mut m);
        run(
            &mut m,
            1,
            OpKind::Exit {
                code: 0,
                thread: false,
            },
        );
        let step = m.step(
            &Op {
                task: 0,
                kind: OpKind::PidfdGetfd { pidfd: 0, fd: 0 },
            },
            None,
        );
        assert_eq!(step.allowed, allowed, "{kernel:?}");
    }
}
