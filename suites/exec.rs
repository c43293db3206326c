//! execve(2) by a case task (the agent re-executes itself): what survives an exec and what
//! does not, each case checked on the model and the kernel and pinned by a snapshot.

mod common;

use common::*;
use forkspec_model::*;

fn open(t: TaskId, file: FileName, cloexec: bool) -> Op {
    op(
        t,
        OpKind::Open {
            file,
            flags: OpenFlags {
                access: Access::RdWr,
                creat: true,
                cloexec,
                ..Default::default()
            },
        },
    )
}

/// `FD_CLOEXEC` fds close at exec, the others stay with their open file descriptions; the
/// parent's table is untouched (fs/exec.c: do_close_on_exec).
// covers: exec.cloexec
#[test]
fn exec_closes_only_cloexec_fds() {
    let c = case(vec![
        open(0, FileName::A, true),
        open(0, FileName::B, false),
        op(
            0,
            OpKind::Dup3 {
                old: 1,
                new: 5,
                cloexec: true,
            },
        ),
        op(0, OpKind::Fork),
        op(1, OpKind::Exec),
        op(
            1,
            OpKind::Write {
                fd: 1,
                data: b"x".to_vec(),
            },
        ),
        op(
            1,
            OpKind::Fcntl {
                fd: 0,
                cmd: FcntlCmd::GetFd,
            },
        ),
    ]);
    let m = known("exec_closes_only_cloexec_fds", &c);
    assert_eq!(m.outcomes[4], Outcome::Ret(0));
    assert_eq!(fd_list(&m, 4, 1), vec![(1, false)]);
    assert_eq!(fd_list(&m, 4, 0), vec![(0, true), (1, false), (5, true)]);
    assert_eq!(m.outcomes[6], Outcome::Err(Errno::EBADF));
}

// covers: exec.releases-mm
/// exec releases the old address space: the fork partner's copy-on-write frame is mapped
/// once again, so its next write reuses the frame instead of copying (fs/exec.c:
/// exec_mmap → mmput); the execed task has none of the case's regions.
#[test]
fn exec_makes_the_cow_partner_sole_owner() {
    let c = case(vec![
        op(
            0,
            OpKind::MemWrite {
                region: Region::AnonPrivate,
                page: 0,
                byte: 1,
            },
        ),
        op(0, OpKind::Fork),
        op(1, OpKind::Exec),
        op(
            0,
            OpKind::MemWrite {
                region: Region::AnonPrivate,
                page: 0,
                byte: 2,
            },
        ),
        op(
            1,
            OpKind::MemRead {
                region: Region::AnonPrivate,
                page: 0,
            },
        ),
    ]);
    let m = known("exec_makes_the_cow_partner_sole_owner", &c);
    assert!(!m.page(1, 0, Region::AnonPrivate, 0).exclusive);
    assert!(m.page(2, 0, Region::AnonPrivate, 0).exclusive);
    assert_eq!(
        m.page(3, 0, Region::AnonPrivate, 0).frame,
        m.page(2, 0, Region::AnonPrivate, 0).frame,
        "the write reuses the frame"
    );
    assert!(!m.page(2, 1, Region::AnonPrivate, 0).mapped);
    assert_eq!(m.outcomes[4], Outcome::Killed(Signal::SIGSEGV));
}

/// A vfork parent resumes when its child execs, not only when it exits (vfork(2);
/// kernel/fork.c: the exec's mm_release completes vfork_done); the child's writes before the
/// exec went to the parent's memory.
// covers: clone.vfork, exec.releases-mm
#[test]
fn vfork_parent_resumes_when_the_child_execs() {
    let c = case(vec![
        op(0, OpKind::Vfork),
        op(
            1,
            OpKind::MemWrite {
                region: Region::AnonPrivate,
                page: 0,
                byte: 9,
            },
        ),
        op(1, OpKind::Exec),
        op(
            0,
            OpKind::MemRead {
                region: Region::AnonPrivate,
                page: 0,
            },
        ),
        op(
            1,
            OpKind::Exit {
                code: 4,
                thread: false,
            },
        ),
        op(
            0,
            OpKind::Wait {
                target: WaitTarget::Task(1),
                options: WaitOptions::default(),
            },
        ),
    ]);
    let m = known("vfork_parent_resumes_when_the_child_execs", &c);
    let state = |step: usize| m.states[step].task(0).unwrap().state;
    assert_eq!(state(1), TaskState::Blocked);
    assert_eq!(state(2), TaskState::Live);
    assert_eq!(m.outcomes[3], Outcome::Data(vec![9]));
}

/// A CLONE_FILES child that execs gets a private copy of the table first (fs/exec.c:
/// unshare_files), so its CLOEXEC closes do not touch the sharer and later opens are not
/// shared either way.
#[test]
fn exec_unshares_a_shared_fd_table() {
    let vm_files = CloneFlags(CloneFlags::VM.0 | CloneFlags::FILES.0);
    let c = case(vec![
        open(0, FileName::A, true),
        legacy_clone(0, vm_files, 17),
        op(1, OpKind::Exec),
        open(0, FileName::B, false),
        open(1, FileName::Data, false),
    ]);
    let m = known("exec_unshares_a_shared_fd_table", &c);
    assert_eq!(fd_list(&m, 2, 0), vec![(0, true)]);
    assert_eq!(fd_list(&m, 2, 1), vec![]);
    assert_eq!(m.outcomes[3], Outcome::Ret(1));
    assert_eq!(m.outcomes[4], Outcome::Ret(0));
    let s = &m.states[2];
    assert_ne!(
        s.task(0).unwrap().sharing.unwrap().files,
        s.task(1).unwrap().sharing.unwrap().files
    );
}

/// A thread that execs kills the other threads of its group and takes the leader's place:
/// the leader's parent, no longer a thread (fs/exec.c: de_thread); its exit signal is
/// SIGCHLD whatever it was.
#[test]
fn exec_by_a_thread_takes_over_the_group() {
    let c = case(vec![
        op(0, OpKind::Fork),
        legacy_clone(1, THREAD, 0),
        legacy_clone(1, THREAD, 0),
        op(2, OpKind::Exec),
        op(
            0,
            OpKind::Wait {
                target: WaitTarget::Any,
                options: WaitOptions {
                    nohang: true,
                    ..Default::default()
                },
            },
        ),
        op(
            2,
            OpKind::Exit {
                code: 5,
                thread: false,
            },
        ),
        op(
            0,
            OpKind::Wait {
                target: WaitTarget::Any,
                options: WaitOptions::default(),
            },
        ),
    ]);
    let m = known("exec_by_a_thread_takes_over_the_group", &c);
    let s = &m.states[3];
    assert!(s.task(1).is_none() && s.task(3).is_none(), "{s:?}");
    let t2 = s.task(2).unwrap();
    assert_eq!(t2.thread_of, None);
    assert_eq!(t2.parent, Parent::Task(0));
    assert_eq!(t2.exit_signal, Some(Signal::SIGCHLD));
    assert_eq!(m.outcomes[4], Outcome::Ret(0));
    assert_eq!(
        m.outcomes[6],
        Outcome::Reaped {
            task: 2,
            status: ExitStatus::Exited(5)
        }
    );
}

/// A clone child with exit signal 0 is a "clone" child a plain wait ignores; after it execs,
/// its exit signal is SIGCHLD and a plain wait reaps it (fs/exec.c: de_thread sets
/// `exit_signal = SIGCHLD`).
#[test]
fn exec_resets_the_exit_signal_to_sigchld() {
    let c = case(vec![
        legacy_clone(0, CloneFlags::EMPTY, 0),
        op(1, OpKind::Exec),
        op(
            1,
            OpKind::Exit {
                code: 1,
                thread: false,
            },
        ),
        op(
            0,
            OpKind::Wait {
                target: WaitTarget::Any,
                options: WaitOptions::default(),
            },
        ),
    ]);
    let m = known("exec_resets_the_exit_signal_to_sigchld", &c);
    assert_eq!(m.states[0].task(1).unwrap().exit_signal, Some(Signal(0)));
    assert_eq!(
        m.states[1].task(1).unwrap().exit_signal,
        Some(Signal::SIGCHLD)
    );
    assert!(matches!(m.outcomes[3], Outcome::Reaped { task: 1, .. }));
}

/// Inside a user namespace made without a uid map, the creator holds every capability
/// until it execs: an unmapped uid is never root, so exec grants nothing
/// (security/commoncap.c: cap_bprm_creds_from_file) and namespace creation turns EPERM.
/// Found by the generated clone suite.
#[test]
fn exec_in_an_unmapped_user_namespace_drops_capabilities() {
    let c = case(vec![
        legacy_clone(0, CloneFlags::NEWUSER, 17),
        legacy_clone(1, CloneFlags::NEWUTS, 17),
        op(1, OpKind::Exec),
        legacy_clone(1, CloneFlags::NEWUTS, 17),
    ]);
    let m = known("exec_in_an_unmapped_user_namespace_drops_capabilities", &c);
    if m.outcomes[0] == Outcome::Child(1) {
        assert_eq!(m.outcomes[1], Outcome::Child(2));
        assert_eq!(m.outcomes[3], Outcome::Err(Errno::EPERM));
    }
}

/// A CLONE_SIGHAND child that is not a thread shares its parent's handler table until it
/// execs: exec gives it a private copy (fs/exec.c: de_thread, "This ->sighand is shared with
/// the CLONE_SIGHAND but not CLONE_THREAD task, switch to the new one").
#[test]
fn exec_gives_a_private_copy_of_shared_handlers() {
    let vm_sighand = CloneFlags(CloneFlags::VM.0 | CloneFlags::SIGHAND.0);
    let c = case(vec![legacy_clone(0, vm_sighand, 17), op(1, OpKind::Exec)]);
    let m = known("exec_gives_a_private_copy_of_shared_handlers", &c);
    let sighand = |step: usize, t: TaskId| m.states[step].task(t).unwrap().sharing.unwrap().sighand;
    assert_eq!(sighand(0, 0), sighand(0, 1));
    assert_ne!(sighand(1, 0), sighand(1, 1));
}

/// Across exec, caught signals go back to the default while ignored ones stay ignored, and
/// the blocked mask and pending signals are kept (execve(2); fs/exec.c setup_new_exec →
/// flush_signal_handlers(current, 0)).
// covers: exec.signals-reset
#[test]
fn exec_resets_handlers_keeps_ignored_mask_and_pending() {
    let sigaction = |sig, action| {
        op(
            0,
            OpKind::Sigaction {
                sig,
                action,
                flags: Default::default(),
            },
        )
    };
    let c = case(vec![
        sigaction(Signal::SIGUSR1, SigAction::Handler),
        sigaction(Signal::SIGUSR2, SigAction::Ignore),
        op(
            0,
            OpKind::Sigprocmask {
                how: MaskHow::Block,
                set: vec![Signal::SIGTERM],
            },
        ),
        op(
            0,
            OpKind::Kill {
                target: 0,
                sig: Signal::SIGTERM,
            },
        ),
        op(0, OpKind::Exec),
    ]);
    let m = known("exec_resets_handlers_keeps_ignored_mask_and_pending", &c);
    let sig = |step: usize| m.states[step].task(0).unwrap().signals.unwrap();
    let before = sig(3);
    let after = sig(4);
    assert!(before.caught.has(Signal::SIGUSR1.0));
    assert!(after.caught.is_empty(), "handlers reset");
    assert_eq!(after.ignored, before.ignored, "SIG_IGN kept");
    assert_eq!(after.blocked, before.blocked, "mask kept");
    assert!(
        after.shared_pending.has(Signal::SIGTERM.0),
        "pending kept: {after:?}"
    );
}

/// A `CLONE_NEWTIME | CLONE_VM` child stays in its caller's time namespace (its shared mm
/// keeps the old vDSO page) and enters the new one when it execs (kernel/nsproxy.c:
/// exec_task_namespaces). Found by the generated clone suite once exec was in it.
#[test]
fn exec_enters_the_pending_time_namespace() {
    let flags = CloneFlags(CloneFlags::NEWUSER.0 | CloneFlags::NEWTIME.0 | CloneFlags::VM.0);
    // clone3: in the legacy clone's flags word CLONE_NEWTIME is a bit of the exit signal.
    let clone3 = op(
        0,
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone3,
            flags,
            exit_signal: 17,
            args: Clone3Args::default(),
        }),
    );
    let c = case(vec![clone3, op(1, OpKind::Exec)]);
    let m = known("exec_enters_the_pending_time_namespace", &c);
    let time = |step: usize, t: TaskId| m.states[step].task(t).unwrap().namespaces.unwrap().time;
    assert_eq!(time(0, 1), time(0, 0), "not yet in the new time namespace");
    assert_ne!(time(1, 1), time(1, 0), "entered at exec");
}

/// After an exec in a user namespace without a uid map, sethostname in the UTS namespace
/// that user namespace owns is EPERM too: the capabilities are gone (see
/// `exec_in_an_unmapped_user_namespace_drops_capabilities`). Found by the generated clone
/// suite once a shrinking error no longer hid it.
#[test]
fn sethostname_after_exec_in_an_unmapped_user_namespace() {
    let flags = CloneFlags(CloneFlags::NEWUTS.0 | CloneFlags::NEWUSER.0);
    let sethostname = |t| {
        op(
            t,
            OpKind::Sethostname {
                name: HostName::Alpha,
            },
        )
    };
    let c = case(vec![
        legacy_clone(0, flags, 17),
        sethostname(1),
        op(1, OpKind::Exec),
        sethostname(1),
    ]);
    let m = known("sethostname_after_exec_in_an_unmapped_user_namespace", &c);
    if m.outcomes[0] == Outcome::Child(1) {
        assert_eq!(m.outcomes[1], Outcome::Ret(0));
        assert_eq!(m.outcomes[3], Outcome::Err(Errno::EPERM));
    }
}

/// A child's exit signal other than SIGCHLD reaches its parent as SIGCHLD once the parent
/// has exec'd since creating it (kernel/exit.c do_notify_parent: `parent_exec_id !=
/// parent->self_exec_id`). Here both children exit with SIGURG as their exit signal, which
/// is ignored by default and so discarded; the parent blocks SIGCHLD, so a SIGCHLD stays
/// pending where it arrives: only from the child made before the parent's exec. Found by
/// the generated mix with per-step snapshots.
#[test]
fn exit_signal_becomes_sigchld_after_the_parent_execs() {
    let exit = |t| {
        op(
            t,
            OpKind::Exit {
                code: 0,
                thread: false,
            },
        )
    };
    let c = case(vec![
        op(
            0,
            OpKind::Sigprocmask {
                how: MaskHow::Block,
                set: vec![Signal::SIGCHLD],
            },
        ),
        legacy_clone(0, CloneFlags::EMPTY, Signal::SIGURG.0),
        exit(1),
        op(0, OpKind::Exec),
        legacy_clone(0, CloneFlags::EMPTY, Signal::SIGURG.0),
        exit(2),
        legacy_clone(0, CloneFlags::EMPTY, Signal::SIGURG.0),
        op(0, OpKind::Exec),
        exit(3),
    ]);
    let m = known("exit_signal_becomes_sigchld_after_the_parent_execs", &c);
    let pending = |step: usize| {
        m.states[step]
            .task(0)
            .unwrap()
            .signals
            .unwrap()
            .shared_pending
    };
    assert!(!pending(2).has(Signal::SIGCHLD.0), "{:?}", pending(2));
    assert!(!pending(5).has(Signal::SIGCHLD.0), "{:?}", pending(5));
    assert!(pending(8).has(Signal::SIGCHLD.0), "{:?}", pending(8));
}
