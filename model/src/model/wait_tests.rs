//! Unit tests of waiting: waitid, wait4 on process groups, waits that end with ECHILD.

use super::tests::pidfd_of;
use super::*;
use crate::obs::{ChildCode, ChildInfo, Errno, Outcome, Signal, TaskState};
use crate::op::{
    CloneEntry, CloneFlags, CloneOp, FcntlCmd, OpKind, SigAction, WaitOptions, WaitTarget,
    WaitidOptions, WaitidTarget,
};

fn model_on(kernel: (u32, u32)) -> Model {
    let profile = Profile {
        kernel,
        ..Profile::default()
    };
    Model::new(CaseConfig { pages: 1 }, &profile)
}

fn run(m: &mut Model, task: TaskId, kind: OpKind) -> Outcome {
    m.step(&Op { task, kind }, None).taken
}

fn fork(m: &mut Model, t: TaskId) -> TaskId {
    match run(m, t, OpKind::Fork) {
        Outcome::Child(c) => c,
        o => panic!("fork failed: {o:?}"),
    }
}

fn exit(m: &mut Model, t: TaskId, code: i32) {
    run(
        m,
        t,
        OpKind::Exit {
            code,
            thread: false,
        },
    );
}

fn waitid(m: &mut Model, t: TaskId, target: WaitidTarget, options: WaitidOptions) -> Outcome {
    run(m, t, OpKind::Waitid { target, options })
}

const EXITED: WaitidOptions = WaitidOptions {
    exited: true,
    stopped: false,
    continued: false,
    nowait: false,
    nohang: false,
    clone: false,
    all: false,
};

fn exited(task: TaskId, code: i32) -> Outcome {
    Outcome::Waited(ChildInfo {
        task,
        code: ChildCode::Exited,
        status: code,
    })
}

// covers: wait.waitid
#[test]
fn waitid_reports_the_child_and_wnowait_leaves_it_waitable() {
    let mut m = model_on((6, 18));
    let c = fork(&mut m, 0);
    exit(&mut m, c, 3);
    let nowait = WaitidOptions {
        nowait: true,
        ..EXITED
    };
    assert_eq!(
        waitid(&mut m, 0, WaitidTarget::Pid(c), nowait),
        exited(c, 3)
    );
    assert!(matches!(
        m.snapshot().task(c).map(|v| v.state),
        Some(TaskState::Zombie(_))
    ));
    assert_eq!(waitid(&mut m, 0, WaitidTarget::All, EXITED), exited(c, 3));
    assert!(m.snapshot().task(c).is_none());
    let nohang = WaitidOptions {
        nohang: true,
        ..EXITED
    };
    assert_eq!(
        waitid(&mut m, 0, WaitidTarget::All, nohang),
        Outcome::Err(Errno::ECHILD)
    );
}

// covers: wait.waitid
#[test]
fn waitid_nohang_with_a_live_child_is_zero_and_a_zombie_needs_wexited() {
    let mut m = model_on((6, 18));
    let c = fork(&mut m, 0);
    let stopped_nohang = WaitidOptions {
        stopped: true,
        nohang: true,
        ..Default::default()
    };
    // A live child can still stop: nothing to report yet.
    assert_eq!(
        waitid(&mut m, 0, WaitidTarget::All, stopped_nohang),
        Outcome::Ret(0)
    );
    exit(&mut m, c, 0);
    // A zombie without WEXITED is no child to wait for (wait_task_zombie returns before
    // notask_error is cleared).
    assert_eq!(
        waitid(&mut m, 0, WaitidTarget::Pid(c), stopped_nohang),
        Outcome::Err(Errno::ECHILD)
    );
    assert_eq!(
        waitid(&mut m, 0, WaitidTarget::OwnPgid, EXITED),
        exited(c, 0)
    );
}

// covers: wait.waitid
#[test]
fn waitid_argument_errors() {
    let mut m = model_on((6, 18));
    fork(&mut m, 0);
    assert_eq!(
        waitid(&mut m, 0, WaitidTarget::All, WaitidOptions::default()),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        waitid(
            &mut m,
            0,
            WaitidTarget::All,
            WaitidOptions {
                nohang: true,
                nowait: true,
                ..Default::default()
            }
        ),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        waitid(&mut m, 0, WaitidTarget::Pidfd(-1), EXITED),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        waitid(&mut m, 0, WaitidTarget::Pidfd(0), EXITED),
        Outcome::Err(Errno::EBADF)
    );
    run(
        &mut m,
        0,
        OpKind::Pipe2 {
            cloexec: false,
            nonblock: false,
        },
    );
    assert_eq!(
        waitid(&mut m, 0, WaitidTarget::Pidfd(0), EXITED),
        Outcome::Err(Errno::EBADF)
    );
}

// covers: wait.waitid
#[test]
fn waitid_reports_a_death_by_signal_as_killed_or_dumped() {
    let mut m = model_on((6, 18));
    let c = fork(&mut m, 0);
    run(
        &mut m,
        0,
        OpKind::Kill {
            target: c,
            sig: Signal::SIGTERM,
        },
    );
    let step = m.step(
        &Op {
            task: 0,
            kind: OpKind::Waitid {
                target: WaitidTarget::Pid(c),
                options: WaitidOptions {
                    nowait: true,
                    ..EXITED
                },
            },
        },
        None,
    );
    let killed = |code, sig: Signal| {
        Outcome::Waited(ChildInfo {
            task: c,
            code,
            status: sig.0,
        })
    };
    assert_eq!(
        step.allowed,
        vec![killed(ChildCode::Killed, Signal::SIGTERM)]
    );
    let c2 = fork(&mut m, 0);
    run(
        &mut m,
        0,
        OpKind::Kill {
            target: c2,
            sig: Signal::SIGQUIT,
        },
    );
    let step = m.step(
        &Op {
            task: 0,
            kind: OpKind::Waitid {
                target: WaitidTarget::Pid(c2),
                options: EXITED,
            },
        },
        None,
    );
    let want = |code| {
        Outcome::Waited(ChildInfo {
            task: c2,
            code,
            status: Signal::SIGQUIT.0,
        })
    };
    assert_eq!(
        step.allowed,
        vec![want(ChildCode::Killed), want(ChildCode::Dumped)]
    );
}

fn clone_pidfd(m: &mut Model) -> TaskId {
    match run(
        m,
        0,
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone3,
            flags: CloneFlags::PIDFD,
            exit_signal: 17,
            args: Default::default(),
        }),
    ) {
        Outcome::Child(c) => c,
        o => panic!("clone3 failed: {o:?}"),
    }
}

// covers: wait.waitid-pidfd
#[test]
fn waitid_on_a_pidfd_waits_for_its_child_and_nonblock_gives_eagain_since_5_10() {
    for (kernel, nonblock_outcome) in [
        ((6, 18), Outcome::Err(Errno::EAGAIN)),
        ((5, 10), Outcome::Err(Errno::EAGAIN)),
        ((5, 9), Outcome::Blocked),
    ] {
        let mut m = model_on(kernel);
        let c = clone_pidfd(&mut m);
        let other = fork(&mut m, 0);
        let nohang = WaitidOptions {
            nohang: true,
            ..EXITED
        };
        exit(&mut m, other, 0);
        // The pidfd names its own child, not the zombie beside it.
        assert_eq!(
            waitid(&mut m, 0, WaitidTarget::Pidfd(0), nohang),
            Outcome::Ret(0)
        );
        run(
            &mut m,
            0,
            OpKind::Fcntl {
                fd: 0,
                cmd: FcntlCmd::SetFl {
                    append: false,
                    nonblock: true,
                },
            },
        );
        assert_eq!(
            waitid(&mut m, 0, WaitidTarget::Pidfd(0), nohang),
            Outcome::Ret(0)
        );
        assert_eq!(
            waitid(&mut m, 0, WaitidTarget::Pidfd(0), EXITED),
            nonblock_outcome,
            "{kernel:?}"
        );
        if nonblock_outcome == Outcome::Blocked {
            exit(&mut m, c, 4);
            assert_eq!(m.snapshot().task(0).unwrap().state, TaskState::Live);
            continue;
        }
        exit(&mut m, c, 4);
        assert_eq!(
            waitid(&mut m, 0, WaitidTarget::Pidfd(0), EXITED),
            exited(c, 4)
        );
        // Reaped: the pid has no task any more.
        assert_eq!(
            waitid(&mut m, 0, WaitidTarget::Pidfd(0), EXITED),
            Outcome::Err(Errno::ECHILD)
        );
    }
}

// covers: wait.process-group
#[test]
fn wait4_on_the_own_group_and_on_a_pgid() {
    let mut m = model_on((6, 18));
    let c = fork(&mut m, 0);
    let g = fork(&mut m, c);
    exit(&mut m, g, 5);
    let wait = |target| OpKind::Wait {
        target,
        options: WaitOptions {
            nohang: true,
            ..Default::default()
        },
    };
    // g is no group leader: -pid(g) names no process group.
    assert_eq!(
        run(&mut m, c, wait(WaitTarget::Group(g))),
        Outcome::Err(Errno::ECHILD)
    );
    // Every task is in t0's group.
    assert_eq!(
        run(&mut m, c, wait(WaitTarget::Group(0))),
        Outcome::Reaped {
            task: g,
            status: crate::obs::ExitStatus::Exited(5)
        }
    );
    assert_eq!(run(&mut m, 0, wait(WaitTarget::OwnGroup)), Outcome::Ret(0));
    assert_eq!(
        waitid(&mut m, 0, WaitidTarget::Pgid(c), EXITED),
        Outcome::Err(Errno::ECHILD)
    );
}

// covers: wait.process-group
/// A pid namespace's init names itself 1, so `wait4(-pid(init))` is `wait4(-1)`: every
/// child, not the (absent) group the init would lead (generated seed 16142620251251134713).
#[test]
fn wait4_on_the_group_of_a_namespace_init_is_every_child() {
    let mut m = model_on((6, 18));
    let newpid = OpKind::Clone(CloneOp {
        entry: CloneEntry::Clone,
        flags: CloneFlags(CloneFlags::VM.0 | CloneFlags::NEWPID.0),
        exit_signal: 17,
        args: Default::default(),
    });
    assert_eq!(run(&mut m, 0, newpid), Outcome::Child(1));
    let c = fork(&mut m, 1);
    let wait = OpKind::Wait {
        target: WaitTarget::Group(1),
        options: WaitOptions {
            nohang: true,
            ..Default::default()
        },
    };
    // The init leads no group (it is in t0's), yet its child is waited for.
    assert_eq!(run(&mut m, 1, wait.clone()), Outcome::Ret(0));
    exit(&mut m, c, 4);
    assert_eq!(
        run(&mut m, 1, wait.clone()),
        Outcome::Reaped {
            task: c,
            status: crate::obs::ExitStatus::Exited(4)
        }
    );
    // From t0, outside that namespace, the init's pid is no group.
    assert_eq!(run(&mut m, 0, wait), Outcome::Err(Errno::ECHILD));
}

// covers: wait.ignored-sigchld
#[test]
fn a_blocked_wait_ends_with_echild_when_its_child_is_released_at_exit() {
    let mut m = model_on((6, 18));
    run(
        &mut m,
        0,
        OpKind::Sigaction {
            sig: Signal::SIGCHLD,
            action: SigAction::Ignore,
            flags: Default::default(),
        },
    );
    let c = fork(&mut m, 0);
    assert_eq!(
        waitid(&mut m, 0, WaitidTarget::Pid(c), EXITED),
        Outcome::Blocked
    );
    exit(&mut m, c, 0);
    let snap = m.snapshot();
    assert!(snap.task(c).is_none(), "no zombie");
    assert_eq!(snap.task(0).unwrap().state, TaskState::Live);
}

fn sigchld(m: &mut Model, action: SigAction, nocldwait: bool) {
    run(
        m,
        0,
        OpKind::Sigaction {
            sig: Signal::SIGCHLD,
            action,
            flags: crate::op::SaFlags {
                nocldwait,
                nocldstop: false,
            },
        },
    );
}

// covers: wait.nocldwait
#[test]
fn sa_nocldwait_releases_children_at_exit_and_still_sends_sigchld() {
    for (action, nocldwait, zombie, pending) in [
        (SigAction::Handler, true, false, true),
        (SigAction::Default, true, false, true),
        (SigAction::Handler, false, true, true),
        (SigAction::Ignore, false, false, false),
    ] {
        let mut m = model_on((6, 18));
        sigchld(&mut m, action, nocldwait);
        run(
            &mut m,
            0,
            OpKind::Sigprocmask {
                how: crate::op::MaskHow::Block,
                set: vec![Signal::SIGCHLD],
            },
        );
        let c = fork(&mut m, 0);
        exit(&mut m, c, 0);
        let snap = m.snapshot();
        let what = format!("{action:?} nocldwait={nocldwait}");
        assert_eq!(snap.task(c).is_some(), zombie, "{what}");
        let sigs = snap.task(0).unwrap().signals.unwrap();
        assert_eq!(
            sigs.shared_pending.0 & crate::obs::SigSet::bit(Signal::SIGCHLD.0) != 0,
            pending,
            "{what}"
        );
        let want = if zombie {
            exited(c, 0)
        } else {
            Outcome::Err(Errno::ECHILD)
        };
        assert_eq!(waitid(&mut m, 0, WaitidTarget::All, EXITED), want, "{what}");
    }
}

// covers: wait.nocldwait
#[test]
fn exec_and_clear_sighand_drop_sa_nocldwait() {
    let mut m = model_on((6, 18));
    sigchld(&mut m, SigAction::Handler, true);
    run(&mut m, 0, OpKind::Exec);
    let c = fork(&mut m, 0);
    exit(&mut m, c, 0);
    assert!(m.snapshot().task(c).is_some(), "a zombie again after exec");
}

fn kill(m: &mut Model, t: TaskId, target: TaskId, sig: Signal) -> Outcome {
    run(m, t, OpKind::Kill { target, sig })
}

fn stopped_or_continued(task: TaskId, code: ChildCode, status: i32) -> Outcome {
    Outcome::Waited(ChildInfo { task, code, status })
}

// covers: stop.stop-and-continue
#[test]
fn stop_signals_stop_the_group_and_sigcont_resumes_it() {
    let mut m = model_on((6, 18));
    let c = fork(&mut m, 0);
    // A thread of c: the whole group stops.
    let th = match run(
        &mut m,
        c,
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone,
            flags: CloneFlags::THREAD | CloneFlags::SIGHAND | CloneFlags::VM,
            exit_signal: 0,
            args: Default::default(),
        }),
    ) {
        Outcome::Child(x) => x,
        o => panic!("{o:?}"),
    };
    run(
        &mut m,
        0,
        OpKind::Sigprocmask {
            how: crate::op::MaskHow::Block,
            set: vec![Signal::SIGCHLD],
        },
    );
    assert_eq!(kill(&mut m, 0, th, Signal::SIGSTOP), Outcome::Ret(0));
    let snap = m.snapshot();
    assert_eq!(snap.task(c).unwrap().state, TaskState::Stopped);
    assert_eq!(snap.task(th).unwrap().state, TaskState::Stopped);
    let pending = |m: &Model| {
        m.snapshot()
            .task(0)
            .unwrap()
            .signals
            .unwrap()
            .shared_pending
            .0
            & crate::obs::SigSet::bit(Signal::SIGCHLD.0)
            != 0
    };
    assert!(pending(&m), "SIGCHLD for the stop");
    // A stopped task runs nothing; a signal waits; the stop is reported once.
    assert_eq!(run(&mut m, c, OpKind::Uname), Outcome::Err(Errno::ESRCH));
    kill(&mut m, 0, c, Signal::SIGUSR1);
    assert_eq!(m.snapshot().task(c).unwrap().state, TaskState::Stopped);
    let wstopped = WaitidOptions {
        stopped: true,
        nohang: true,
        ..Default::default()
    };
    let nowait = WaitidOptions {
        nowait: true,
        ..wstopped
    };
    let report = stopped_or_continued(c, ChildCode::Stopped, Signal::SIGSTOP.0);
    assert_eq!(waitid(&mut m, 0, WaitidTarget::All, nowait), report);
    let wait4 = |untraced, continued| OpKind::Wait {
        target: WaitTarget::Task(c),
        options: WaitOptions {
            nohang: true,
            untraced,
            continued,
            ..Default::default()
        },
    };
    assert_eq!(run(&mut m, 0, wait4(false, true)), Outcome::Ret(0));
    assert_eq!(run(&mut m, 0, wait4(true, false)), report);
    assert_eq!(
        waitid(&mut m, 0, WaitidTarget::All, wstopped),
        Outcome::Ret(0)
    );
    // SIGCONT resumes the group, which then dies of the SIGUSR1 it kept.
    kill(&mut m, 0, c, Signal::SIGCONT);
    assert!(matches!(
        m.snapshot().task(c).unwrap().state,
        TaskState::Zombie(crate::obs::ExitStatus::Signaled(Signal::SIGUSR1))
    ));
}

// covers: stop.stop-and-continue
#[test]
fn a_continue_is_reported_once_and_a_new_stop_forgets_it() {
    let mut m = model_on((6, 18));
    let c = fork(&mut m, 0);
    kill(&mut m, 0, c, Signal::SIGTSTP);
    kill(&mut m, 0, c, Signal::SIGCONT);
    assert_eq!(m.snapshot().task(c).unwrap().state, TaskState::Live);
    let wcont = WaitidOptions {
        continued: true,
        stopped: true,
        nohang: true,
        ..Default::default()
    };
    // The unreported stop was dropped by SIGCONT.
    assert_eq!(
        waitid(&mut m, 0, WaitidTarget::All, wcont),
        stopped_or_continued(c, ChildCode::Continued, 18)
    );
    assert_eq!(waitid(&mut m, 0, WaitidTarget::All, wcont), Outcome::Ret(0));
    kill(&mut m, 0, c, Signal::SIGCONT);
    kill(&mut m, 0, c, Signal::SIGSTOP);
    assert_eq!(
        waitid(&mut m, 0, WaitidTarget::All, wcont),
        stopped_or_continued(c, ChildCode::Stopped, 19)
    );
}

// covers: stop.stop-and-continue
#[test]
fn tty_stop_signals_stop_while_the_lab_keeps_the_group_from_being_orphaned() {
    let mut m = model_on((6, 18));
    let c = fork(&mut m, 0);
    let g = fork(&mut m, c);
    // t0's parent (the lab) is outside the group: not orphaned while t0 lives.
    kill(&mut m, c, g, Signal::SIGTTIN);
    assert_eq!(m.snapshot().task(g).unwrap().state, TaskState::Stopped);
    kill(&mut m, c, g, Signal::SIGKILL);
    let g2 = fork(&mut m, c);
    exit(&mut m, 0, 0);
    // c was reparented to the lab (a subreaper outside the group): still not orphaned.
    kill(&mut m, c, g2, Signal::SIGTTOU);
    assert_eq!(m.snapshot().task(g2).unwrap().state, TaskState::Stopped);
}

/// A group whose leader was reaped is named by no pid the lab can pass (a released task's
/// label becomes a pid nobody has), even while other members live: wait4(-pgid) finds no
/// group and fails with ECHILD, where the group named by a live leader is waited on.
#[test]
fn wait4_on_the_group_of_a_reaped_leader_finds_no_group() {
    let mut m = model_on((6, 18));
    let leader = fork(&mut m, 0);
    let member = fork(&mut m, 0);
    let setpgid = |target, pgid| OpKind::Setpgid {
        target: Some(target),
        pgid,
    };
    assert_eq!(run(&mut m, 0, setpgid(leader, None)), Outcome::Ret(0));
    assert_eq!(
        run(&mut m, 0, setpgid(member, Some(leader))),
        Outcome::Ret(0)
    );
    let nohang = WaitOptions {
        nohang: true,
        ..WaitOptions::default()
    };
    let wait_group = OpKind::Wait {
        target: WaitTarget::Group(leader),
        options: nohang,
    };
    assert_eq!(run(&mut m, 0, wait_group.clone()), Outcome::Ret(0));
    exit(&mut m, leader, 0);
    let reap = OpKind::Wait {
        target: WaitTarget::Task(leader),
        options: WaitOptions::default(),
    };
    assert!(matches!(run(&mut m, 0, reap), Outcome::Reaped { .. }));
    assert_eq!(run(&mut m, 0, wait_group), Outcome::Err(Errno::ECHILD));
}

/// pidfd_send_signal delivers the signal (kernel/pid.c); signal 0 only checks.
#[test]
fn pidfd_send_signal_delivers_and_signal_0_only_checks() {
    let mut m = model_on((6, 18));
    let c = fork(&mut m, 0);
    let fd = pidfd_of(&mut m, 0, c);
    let send = |sig| OpKind::PidfdSendSignal { fd, sig };
    assert_eq!(run(&mut m, 0, send(Signal(0))), Outcome::Ret(0));
    assert_eq!(m.snapshot().task(c).unwrap().state, TaskState::Live);
    assert_eq!(run(&mut m, 0, send(Signal::SIGTERM)), Outcome::Ret(0));
    assert_eq!(
        m.snapshot().task(c).unwrap().state,
        TaskState::Zombie(crate::obs::ExitStatus::Signaled(Signal::SIGTERM))
    );
}

/// A signal through a process pidfd is the thread group's (shared pending); through a
/// `PIDFD_THREAD` pidfd it is the thread's own (kernel/signal.c `do_pidfd_send_signal`:
/// PIDTYPE_TGID vs PIDTYPE_PID).
#[test]
fn a_pidfd_signal_pends_for_the_group_or_for_the_thread() {
    let mut m = model_on((6, 18));
    let c = fork(&mut m, 0);
    let mask = OpKind::Sigprocmask {
        how: crate::op::MaskHow::Block,
        set: vec![Signal::SIGUSR1, Signal::SIGUSR2],
    };
    assert_eq!(run(&mut m, c, mask), Outcome::Ret(0));
    let process = pidfd_of(&mut m, 0, c);
    let open_thread = OpKind::PidfdOpen {
        target: c,
        nonblock: false,
        thread: true,
    };
    let Outcome::Ret(thread) = run(&mut m, 0, open_thread) else {
        panic!("PIDFD_THREAD");
    };
    let send = |fd, sig| OpKind::PidfdSendSignal { fd, sig };
    assert_eq!(
        run(&mut m, 0, send(process, Signal::SIGUSR1)),
        Outcome::Ret(0)
    );
    assert_eq!(
        run(&mut m, 0, send(thread as i32, Signal::SIGUSR2)),
        Outcome::Ret(0)
    );
    let s = m.snapshot();
    let sig = s.task(c).unwrap().signals.as_ref().unwrap();
    assert_eq!(sig.shared_pending.signals(), vec![Signal::SIGUSR1]);
    assert_eq!(sig.pending.signals(), vec![Signal::SIGUSR2]);
}

/// A pidfd refers to the process, not to the thread that led it: after a non-leader thread
/// execs (taking over the leader's pid), a signal through the old pidfd reaches it.
#[test]
fn a_pidfd_follows_the_process_when_a_thread_execs() {
    let mut m = model_on((6, 18));
    let c = fork(&mut m, 0);
    let fd = pidfd_of(&mut m, 0, c);
    let thread = OpKind::Clone(CloneOp {
        entry: CloneEntry::Clone,
        flags: CloneFlags::VM | CloneFlags::SIGHAND | CloneFlags::THREAD,
        exit_signal: 0,
        args: Default::default(),
    });
    let Outcome::Child(th) = run(&mut m, c, thread) else {
        panic!("a thread");
    };
    assert_eq!(run(&mut m, th, OpKind::Exec), Outcome::Ret(0));
    let kill = OpKind::PidfdSendSignal {
        fd,
        sig: Signal::SIGTERM,
    };
    assert_eq!(run(&mut m, 0, kill), Outcome::Ret(0));
    assert_eq!(
        m.snapshot().task(th).unwrap().state,
        TaskState::Zombie(crate::obs::ExitStatus::Signaled(Signal::SIGTERM))
    );
}

/// SIGKILL through a pidfd from outside a pid namespace is forced on its init; SIGTERM, left
/// at its default action, is not (kernel/signal.c `sig_ignored`: `force` from an ancestor
/// namespace counts only for SIGKILL and SIGSTOP).
#[test]
fn pidfd_send_signal_from_outside_kills_a_namespace_init_with_sigkill_only() {
    let mut m = model_on((6, 18));
    let init = OpKind::Clone(CloneOp {
        entry: CloneEntry::Clone,
        flags: CloneFlags::NEWPID,
        exit_signal: 17,
        args: Default::default(),
    });
    let Outcome::Child(init) = run(&mut m, 0, init) else {
        panic!("a namespace init");
    };
    let fd = pidfd_of(&mut m, 0, init);
    let send = |sig| OpKind::PidfdSendSignal { fd, sig };
    assert_eq!(run(&mut m, 0, send(Signal::SIGTERM)), Outcome::Ret(0));
    assert_eq!(m.snapshot().task(init).unwrap().state, TaskState::Live);
    assert_eq!(run(&mut m, 0, send(Signal::SIGKILL)), Outcome::Ret(0));
    assert_eq!(
        m.snapshot().task(init).unwrap().state,
        TaskState::Zombie(crate::obs::ExitStatus::Signaled(Signal::SIGKILL))
    );
}

/// A wait scans the children of the caller's own thread group only: a grandchild's zombie
/// is its parent's to reap.
#[test]
fn a_wait_does_not_reap_a_grandchild() {
    let mut m = model_on((6, 18));
    let c = fork(&mut m, 0);
    let g = fork(&mut m, c);
    exit(&mut m, g, 3);
    let nohang = OpKind::Wait {
        target: WaitTarget::Any,
        options: WaitOptions {
            nohang: true,
            ..WaitOptions::default()
        },
    };
    assert_eq!(run(&mut m, 0, nohang), Outcome::Ret(0));
    assert!(matches!(
        m.snapshot().task(g).unwrap().state,
        TaskState::Zombie(_)
    ));
}

/// A new session's only process group is orphaned: no member's parent is in another group
/// of that session (a parent in the same group does not count), so a tty stop signal is
/// discarded there while SIGSTOP still stops (kernel/exit.c `will_become_orphaned_pgrp`).
#[test]
fn tty_stop_signals_are_discarded_in_a_new_sessions_orphaned_group() {
    let mut m = model_on((6, 18));
    let leader = fork(&mut m, 0);
    assert!(matches!(
        run(&mut m, leader, OpKind::Setsid),
        Outcome::Pid(_)
    ));
    let member = fork(&mut m, leader);
    let kill = |sig| OpKind::Kill {
        target: member,
        sig,
    };
    assert_eq!(run(&mut m, 0, kill(Signal::SIGTSTP)), Outcome::Ret(0));
    assert_eq!(m.snapshot().task(member).unwrap().state, TaskState::Live);
    assert_eq!(run(&mut m, 0, kill(Signal::SIGSTOP)), Outcome::Ret(0));
    assert_eq!(m.snapshot().task(member).unwrap().state, TaskState::Stopped);
}

/// pidfd_open finds a task by pid in the caller's pid namespace: a reaped child's pid and
/// a task outside the caller's namespace (its parent, seen from a new pid namespace) are
/// ESRCH; a zombie and a task of a nested namespace are found.
#[test]
fn pidfd_open_finds_only_unreaped_tasks_of_its_namespace() {
    let mut m = model_on((6, 18));
    let open = |m: &mut Model, t, target| {
        run(
            m,
            t,
            OpKind::PidfdOpen {
                target,
                nonblock: false,
                thread: false,
            },
        )
    };
    let zombie = fork(&mut m, 0);
    exit(&mut m, zombie, 0);
    assert!(matches!(open(&mut m, 0, zombie), Outcome::Ret(_)));
    let wait = OpKind::Wait {
        target: WaitTarget::Task(zombie),
        options: WaitOptions::default(),
    };
    assert!(matches!(run(&mut m, 0, wait), Outcome::Reaped { .. }));
    assert_eq!(open(&mut m, 0, zombie), Outcome::Err(Errno::ESRCH));
    let init = match run(
        &mut m,
        0,
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone,
            flags: CloneFlags::NEWPID,
            exit_signal: 17,
            args: Default::default(),
        }),
    ) {
        Outcome::Child(c) => c,
        o => panic!("clone: {o:?}"),
    };
    assert!(matches!(open(&mut m, 0, init), Outcome::Ret(_)));
    assert_eq!(open(&mut m, init, 0), Outcome::Err(Errno::ESRCH));
}

/// The generators pick pidfd ops by the task a pidfd refers to: that task while it lives
/// and after it is reaped, for the fd table that holds the pidfd only; no task for other
/// fds.
#[test]
fn pidfd_task_names_the_task_behind_a_pidfd() {
    let mut m = model_on((6, 18));
    let c = fork(&mut m, 0);
    let fd = pidfd_of(&mut m, 0, c);
    let pipe = OpKind::Pipe2 {
        cloexec: false,
        nonblock: false,
    };
    assert!(matches!(run(&mut m, 0, pipe), Outcome::Pipe(_)));
    assert_eq!(m.pidfd_task(0, fd), Some(c));
    assert_eq!(m.pidfd_task(c, fd), None, "the child's table has no pidfd");
    assert_eq!(m.pidfd_task(0, fd + 1), None, "a pipe end");
    assert_eq!(m.pidfd_task(0, 40), None, "no such fd");
    assert_eq!(m.pidfd_task(9, fd), None, "no such task");
    exit(&mut m, c, 0);
    let wait = OpKind::Wait {
        target: WaitTarget::Task(c),
        options: WaitOptions::default(),
    };
    assert!(matches!(run(&mut m, 0, wait), Outcome::Reaped { .. }));
    assert_eq!(m.pidfd_task(0, fd), Some(c));
}

/// A zombie leader keeps its process group from being orphaned only while a thread of its
/// group lives (will_become_orphaned_pgrp skips a leader whose whole group has exited). In
/// a session of its own, a group whose leader's parent is in another group of that session
/// stops at a tty stop signal while the leader or a thread of it lives; once the whole
/// leader is gone its member, reparented to the lab in another session, keeps nothing
/// unorphaned and the signal is discarded.
#[test]
fn a_zombie_leader_keeps_its_group_unorphaned_only_with_a_live_thread() {
    for with_thread in [true, false] {
        let mut m = model_on((6, 18));
        let session = fork(&mut m, 0);
        assert!(matches!(
            run(&mut m, session, OpKind::Setsid),
            Outcome::Pid(_)
        ));
        let c = fork(&mut m, session);
        let new_group = OpKind::Setpgid {
            target: None,
            pgid: None,
        };
        assert_eq!(run(&mut m, c, new_group), Outcome::Ret(0));
        let member = fork(&mut m, c);
        if with_thread {
            let thread =
                CloneFlags(CloneFlags::VM.0 | CloneFlags::SIGHAND.0 | CloneFlags::THREAD.0);
            super::tests::clone_with(&mut m, c, thread);
        }
        let exit = OpKind::Exit {
            code: 0,
            thread: with_thread,
        };
        assert_eq!(run(&mut m, c, exit), Outcome::Exited);
        assert!(matches!(
            m.snapshot().task(c).unwrap().state,
            TaskState::Zombie(_)
        ));
        let tstp = OpKind::Kill {
            target: member,
            sig: Signal::SIGTSTP,
        };
        assert_eq!(run(&mut m, 0, tstp), Outcome::Ret(0));
        let want = if with_thread {
            TaskState::Stopped
        } else {
            TaskState::Live
        };
        assert_eq!(
            m.snapshot().task(member).unwrap().state,
            want,
            "leader's thread alive: {with_thread}"
        );
    }
}
