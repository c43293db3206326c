//! Waiting for children: waitid (P_PID, P_ALL, P_PGID, P_PIDFD; WEXITED, WNOWAIT, WNOHANG),
//! wait4 on process groups, and waits that end with ECHILD. Known cases: the model and the
//! kernel must agree at every step; the model's trace is pinned in snapshots/.

mod common;

use common::*;
use forkspec_model::*;

fn waitid(t: TaskId, target: WaitidTarget, options: WaitidOptions) -> Op {
    op(t, OpKind::Waitid { target, options })
}

fn wait(t: TaskId, target: WaitTarget, nohang: bool) -> Op {
    op(
        t,
        OpKind::Wait {
            target,
            options: WaitOptions {
                nohang,
                ..Default::default()
            },
        },
    )
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

fn exited(task: TaskId, status: i32) -> Outcome {
    Outcome::Waited(ChildInfo {
        task,
        code: ChildCode::Exited,
        status,
    })
}

/// waitid reports `si_pid`, `CLD_EXITED` and the exit code; with WNOWAIT the child stays a
/// zombie and a second waitid reports (and reaps) it again; then nothing is left (ECHILD).
// covers: wait.waitid
#[test]
fn waitid_wnowait_leaves_the_zombie_for_the_next_wait() {
    let c = case(vec![
        op(0, OpKind::Fork),
        exit(1, 3),
        waitid(
            0,
            WaitidTarget::Pid(1),
            WaitidOptions {
                nowait: true,
                ..EXITED
            },
        ),
        waitid(0, WaitidTarget::All, EXITED),
        waitid(
            0,
            WaitidTarget::All,
            WaitidOptions {
                nohang: true,
                ..EXITED
            },
        ),
    ]);
    let m = known("wait_waitid_wnowait", &c);
    assert_eq!(m.outcomes[2], exited(1, 3));
    assert!(matches!(
        m.states[2].task(1).map(|v| v.state),
        Some(TaskState::Zombie(_))
    ));
    assert_eq!(m.outcomes[3], exited(1, 3));
    assert!(m.states[3].task(1).is_none());
    assert_eq!(m.outcomes[4], Outcome::Err(Errno::ECHILD));
}

/// WNOHANG with a child that has nothing to report gives 0 (and `si_pid` 0); without any of
/// WEXITED, WSTOPPED and WCONTINUED waitid is EINVAL; a zombie is no child to wait for when
/// WEXITED is missing (ECHILD).
// covers: wait.waitid
#[test]
fn waitid_nohang_einval_and_a_zombie_without_wexited() {
    let stopped_nohang = WaitidOptions {
        stopped: true,
        nohang: true,
        ..Default::default()
    };
    let c = case(vec![
        op(0, OpKind::Fork),
        waitid(0, WaitidTarget::OwnPgid, stopped_nohang),
        waitid(0, WaitidTarget::All, WaitidOptions::default()),
        exit(1, 0),
        waitid(0, WaitidTarget::Pid(1), stopped_nohang),
        waitid(0, WaitidTarget::OwnPgid, EXITED),
    ]);
    let m = known("wait_waitid_nohang_einval", &c);
    assert_eq!(m.outcomes[1], Outcome::Ret(0));
    assert_eq!(m.outcomes[2], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[4], Outcome::Err(Errno::ECHILD));
    assert_eq!(m.outcomes[5], exited(1, 0));
}

/// waitid(P_PIDFD) waits for the child the pidfd refers to; a pidfd whose description is
/// O_NONBLOCK turns a wait that would block into EAGAIN (Linux 5.10); once the child is
/// reaped the pidfd names no task: ECHILD. A descriptor that is no pidfd is EBADF.
// covers: wait.waitid-pidfd
#[test]
fn waitid_on_a_pidfd() {
    let c = case(vec![
        op(
            0,
            OpKind::Clone(CloneOp {
                entry: CloneEntry::Clone3,
                flags: CloneFlags::PIDFD,
                exit_signal: 17,
                args: Clone3Args::default(),
            }),
        ),
        op(
            0,
            OpKind::Fcntl {
                fd: 0,
                cmd: FcntlCmd::SetFl {
                    append: false,
                    nonblock: true,
                },
            },
        ),
        waitid(0, WaitidTarget::Pidfd(0), EXITED),
        exit(1, 4),
        waitid(0, WaitidTarget::Pidfd(0), EXITED),
        waitid(0, WaitidTarget::Pidfd(0), EXITED),
        op(
            0,
            OpKind::Pipe2 {
                cloexec: false,
                nonblock: false,
            },
        ),
        waitid(0, WaitidTarget::Pidfd(1), EXITED),
    ]);
    let m = known("wait_waitid_pidfd", &c);
    assert_eq!(m.outcomes[2], Outcome::Err(Errno::EAGAIN));
    assert_eq!(m.outcomes[4], exited(1, 4));
    assert_eq!(m.outcomes[5], Outcome::Err(Errno::ECHILD));
    assert_eq!(m.outcomes[7], Outcome::Err(Errno::EBADF));
}

/// wait4(0) waits for children in the caller's process group, wait4(-pgid) for those in
/// group `pgid`: every task of a case is in `t0`'s group, and a pid that leads no group
/// selects nothing (ECHILD).
// covers: wait.process-group
#[test]
fn wait4_on_process_groups() {
    let c = case(vec![
        op(0, OpKind::Fork),
        op(1, OpKind::Fork),
        exit(2, 5),
        wait(1, WaitTarget::Group(2), true),
        wait(1, WaitTarget::Group(0), false),
        wait(0, WaitTarget::OwnGroup, true),
        waitid(
            0,
            WaitidTarget::Pgid(0),
            WaitidOptions {
                nohang: true,
                ..EXITED
            },
        ),
    ]);
    let m = known("wait_wait4_process_groups", &c);
    assert_eq!(m.outcomes[3], Outcome::Err(Errno::ECHILD));
    assert_eq!(
        m.outcomes[4],
        Outcome::Reaped {
            task: 2,
            status: ExitStatus::Exited(5)
        }
    );
    assert_eq!(m.outcomes[5], Outcome::Ret(0));
    assert_eq!(m.outcomes[6], Outcome::Ret(0));
}

/// With SIGCHLD ignored a child is released at exit (no zombie), and a wait blocked for it
/// ends with ECHILD (kernel/exit.c: do_notify_parent wakes the waiter, which finds no child).
// covers: wait.ignored-sigchld
#[test]
fn a_blocked_wait_ends_with_echild_when_sigchld_is_ignored() {
    let c = case(vec![
        op(
            0,
            OpKind::Sigaction {
                sig: Signal::SIGCHLD,
                action: SigAction::Ignore,
                flags: Default::default(),
            },
        ),
        op(0, OpKind::Fork),
        waitid(0, WaitidTarget::Pid(1), EXITED),
        exit(1, 0),
        op(0, OpKind::Fork),
    ]);
    let m = known("wait_ignored_sigchld_blocked_wait", &c);
    assert_eq!(m.outcomes[2], Outcome::Blocked);
    assert!(m.states[3].task(1).is_none(), "no zombie");
    assert_eq!(m.states[3].task(0).unwrap().state, TaskState::Live);
    assert_eq!(m.outcomes[4], Outcome::Child(2));
}

/// SA_NOCLDWAIT releases children at exit (no zombie, a wait finds nothing: ECHILD) and,
/// unlike SIGCHLD at SIG_IGN, still sends SIGCHLD (kernel/exit.c do_notify_parent): blocked,
/// it stays pending.
// covers: wait.nocldwait
#[test]
fn sa_nocldwait_releases_children_and_still_sends_sigchld() {
    let sigchld = |action, nocldwait| {
        op(
            0,
            OpKind::Sigaction {
                sig: Signal::SIGCHLD,
                action,
                flags: SaFlags {
                    nocldwait,
                    nocldstop: false,
                },
            },
        )
    };
    let c = case(vec![
        sigchld(SigAction::Handler, true),
        op(
            0,
            OpKind::Sigprocmask {
                how: MaskHow::Block,
                set: vec![Signal::SIGCHLD],
            },
        ),
        op(0, OpKind::Fork),
        exit(1, 0),
        waitid(0, WaitidTarget::All, EXITED),
        sigchld(SigAction::Ignore, false),
        op(0, OpKind::Fork),
        exit(2, 0),
        wait(0, WaitTarget::Any, false),
    ]);
    let m = known("wait_sa_nocldwait", &c);
    let sigchld_pending = |step: usize| {
        let s = m.states[step].task(0).unwrap().signals.unwrap();
        s.shared_pending.0 & SigSet::bit(Signal::SIGCHLD.0) != 0
    };
    assert!(m.states[3].task(1).is_none(), "no zombie");
    assert!(sigchld_pending(3), "SIGCHLD still sent");
    assert_eq!(m.outcomes[4], Outcome::Err(Errno::ECHILD));
    // SIG_IGN discards the pending SIGCHLD and sends none at the next exit.
    assert!(!sigchld_pending(7));
    assert!(m.states[7].task(2).is_none());
    assert_eq!(m.outcomes[8], Outcome::Err(Errno::ECHILD));
}

fn kill(t: TaskId, target: TaskId, sig: Signal) -> Op {
    op(t, OpKind::Kill { target, sig })
}

fn wait_opts(t: TaskId, target: WaitTarget, options: WaitOptions) -> Op {
    op(t, OpKind::Wait { target, options })
}

fn info(task: TaskId, code: ChildCode, status: i32) -> Outcome {
    Outcome::Waited(ChildInfo { task, code, status })
}

fn block_sigchld(t: TaskId) -> Op {
    op(
        t,
        OpKind::Sigprocmask {
            how: MaskHow::Block,
            set: vec![Signal::SIGCHLD],
        },
    )
}

fn sigchld_pending(m: &ModelRun, step: usize) -> bool {
    let s = m.states[step].task(0).unwrap().signals.unwrap();
    s.shared_pending.0 & SigSet::bit(Signal::SIGCHLD.0) != 0
}

/// SIGSTOP stops the child and its parent gets SIGCHLD; wait4(WUNTRACED) reports the stop
/// once; SIGCONT resumes it, and WCONTINUED reports that once (WNOWAIT leaves it for the
/// next wait).
// covers: stop.stop-and-continue
#[test]
fn sigstop_and_sigcont_are_reported_once_each() {
    let untraced = WaitOptions {
        untraced: true,
        ..Default::default()
    };
    let c = case(vec![
        block_sigchld(0),
        op(0, OpKind::Fork),
        kill(0, 1, Signal::SIGSTOP),
        wait_opts(0, WaitTarget::Task(1), untraced),
        wait_opts(
            0,
            WaitTarget::Task(1),
            WaitOptions {
                nohang: true,
                ..untraced
            },
        ),
        waitid(
            0,
            WaitidTarget::Pid(1),
            WaitidOptions {
                stopped: true,
                nohang: true,
                ..Default::default()
            },
        ),
        kill(0, 1, Signal::SIGCONT),
        waitid(
            0,
            WaitidTarget::Pid(1),
            WaitidOptions {
                continued: true,
                nowait: true,
                ..Default::default()
            },
        ),
        wait_opts(
            0,
            WaitTarget::Any,
            WaitOptions {
                continued: true,
                ..Default::default()
            },
        ),
        waitid(
            0,
            WaitidTarget::All,
            WaitidOptions {
                continued: true,
                nohang: true,
                ..Default::default()
            },
        ),
        exit(1, 0),
        wait(0, WaitTarget::Any, false),
    ]);
    let m = known("stop_sigstop_sigcont", &c);
    assert_eq!(m.states[2].task(1).unwrap().state, TaskState::Stopped);
    assert!(sigchld_pending(&m, 2));
    assert_eq!(m.outcomes[3], info(1, ChildCode::Stopped, 19));
    assert_eq!(m.outcomes[4], Outcome::Ret(0));
    assert_eq!(m.outcomes[5], Outcome::Ret(0));
    assert_eq!(m.states[6].task(1).unwrap().state, TaskState::Live);
    assert_eq!(m.outcomes[7], info(1, ChildCode::Continued, 18));
    assert_eq!(m.outcomes[8], info(1, ChildCode::Continued, 18));
    assert_eq!(m.outcomes[9], Outcome::Ret(0));
}

/// SA_NOCLDSTOP: no SIGCHLD for a stop (the stop is still waitable), but one for the exit; a
/// signal sent to a stopped task waits; a stopped task runs no op; SIGKILL ends it.
// covers: stop.nocldstop
#[test]
fn sa_nocldstop_and_sigkill_of_a_stopped_child() {
    let c = case(vec![
        op(
            0,
            OpKind::Sigaction {
                sig: Signal::SIGCHLD,
                action: SigAction::Handler,
                flags: SaFlags {
                    nocldstop: true,
                    nocldwait: false,
                },
            },
        ),
        block_sigchld(0),
        op(0, OpKind::Fork),
        kill(0, 1, Signal::SIGTSTP),
        kill(0, 1, Signal::SIGUSR1),
        op(1, OpKind::Uname),
        waitid(
            0,
            WaitidTarget::Pid(1),
            WaitidOptions {
                stopped: true,
                ..Default::default()
            },
        ),
        kill(0, 1, Signal::SIGKILL),
        wait(0, WaitTarget::Any, false),
    ]);
    let m = known("stop_nocldstop_sigkill", &c);
    assert_eq!(m.states[3].task(1).unwrap().state, TaskState::Stopped);
    assert!(!sigchld_pending(&m, 3));
    assert_eq!(m.states[4].task(1).unwrap().state, TaskState::Stopped);
    assert_eq!(m.outcomes[5], Outcome::Err(Errno::ESRCH));
    assert_eq!(m.outcomes[6], info(1, ChildCode::Stopped, 20));
    assert!(sigchld_pending(&m, 7));
    assert_eq!(
        m.outcomes[8],
        Outcome::Reaped {
            task: 1,
            status: ExitStatus::Signaled(Signal::SIGKILL)
        }
    );
}

/// A stop signal stops every thread of the group; a wait blocked for the stop wakes; a
/// fatal signal sent while stopped kills the group once SIGCONT resumes it.
// covers: stop.stop-and-continue
#[test]
fn a_group_stop_wakes_a_waiter_and_a_pending_sigterm_kills_after_sigcont() {
    let c = case(vec![
        op(0, OpKind::Fork),
        op(
            1,
            OpKind::Clone(CloneOp {
                entry: CloneEntry::Clone,
                flags: CloneFlags::THREAD | CloneFlags::SIGHAND | CloneFlags::VM,
                exit_signal: 0,
                args: Clone3Args::default(),
            }),
        ),
        op(0, OpKind::Fork),
        waitid(
            0,
            WaitidTarget::Pid(1),
            WaitidOptions {
                stopped: true,
                ..Default::default()
            },
        ),
        kill(3, 1, Signal::SIGSTOP),
        kill(3, 1, Signal::SIGTERM),
        kill(3, 1, Signal::SIGCONT),
        wait(0, WaitTarget::Task(1), false),
    ]);
    let m = known("stop_group_waiter_sigterm", &c);
    assert_eq!(m.outcomes[3], Outcome::Blocked);
    assert_eq!(m.states[4].task(1).unwrap().state, TaskState::Stopped);
    assert_eq!(m.states[4].task(2).unwrap().state, TaskState::Stopped);
    assert_eq!(m.states[4].task(0).unwrap().state, TaskState::Live);
    assert_eq!(m.states[5].task(1).unwrap().state, TaskState::Stopped);
    assert_eq!(
        m.outcomes[7],
        Outcome::Reaped {
            task: 1,
            status: ExitStatus::Signaled(Signal::SIGTERM)
        }
    );
}
