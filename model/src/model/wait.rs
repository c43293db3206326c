//! Waiting for children: which children a `wait4` or `waitid` selects, what it reports and
//! when it fails (kernel/exit.c: `kernel_waitid_prepare`, `sys_wait4`, `__do_wait`,
//! `do_wait_pid`, `wait_consider_task`, `wait_task_zombie`; wait(2)).

use super::tasks::SIGCHLD;
use super::Model;
use crate::obs::{ChildCode, ChildInfo, Errno, ExitStatus, Outcome, Signal, TaskState};
use crate::op::{TaskId, WaitOptions, WaitTarget, WaitidOptions, WaitidTarget};

/// Which children a wait selects by pid (`wo_type` and `wo_pid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Select {
    /// `PIDTYPE_MAX`: every child.
    Any,
    /// `PIDTYPE_PID`: the child with this pid (a label that is no child matches nothing).
    Task(TaskId),
    /// `PIDTYPE_PGID`: the children in the process group named by this label's pid; `None`
    /// when the id names no process group the caller can see (nothing matches).
    Pgrp(Option<TaskId>),
}

/// One wait, whichever system call: its selection and its `wo_flags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct WaitSpec {
    pub(super) select: Select,
    /// `__WCLONE`.
    pub(super) clone: bool,
    /// `__WALL`.
    pub(super) all: bool,
    /// `WEXITED` (always set by wait4).
    pub(super) exited: bool,
    /// `WSTOPPED` / `WUNTRACED`.
    pub(super) stopped: bool,
    /// `WCONTINUED`.
    pub(super) continued: bool,
    /// `WNOWAIT`.
    pub(super) nowait: bool,
    /// `WNOHANG`, or a pidfd opened `O_NONBLOCK`.
    pub(super) nohang: bool,
}

/// What a wait found for one child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Event {
    /// The child is a zombie with this status (reaped unless `WNOWAIT`).
    Exited(ExitStatus),
    /// The child's group stopped with this signal (`CLD_STOPPED`).
    Stopped(i32),
    /// The child's group was resumed by SIGCONT (`CLD_CONTINUED`).
    Continued,
}

/// Signals whose default action dumps core (`SIG_KERNEL_COREDUMP_MASK`, signal(7) "Core").
fn dumps_core(sig: Signal) -> bool {
    matches!(sig.0, 3 | 4 | 5 | 6 | 7 | 8 | 11 | 24 | 25 | 31)
}

impl Model {
    /// The process group that the pid of label `g` names for caller `caller`
    /// (find_get_pid in its pid namespace): `g` must be visible there, not reaped (the lab
    /// passes a released task's label as a pid nobody has), and some task's group.
    fn pgrp_named(&self, caller: TaskId, g: TaskId) -> Option<TaskId> {
        let ns = self.tasks[caller as usize].pidns;
        let task = self.tasks.get(g as usize)?;
        let leads = (0..self.tasks.len() as TaskId)
            .any(|i| !self.tasks[i as usize].reaped && self.pgrp_of(i) == Some(g));
        (!task.reaped && self.in_pidns(g as usize, ns) && leads).then_some(g)
    }

    // rule: wait.wait4-targets
    // rule: wait.wait4-minus-one
    /// The wait `wait4(target, &status, options, NULL)` by `t` does (kernel/exit.c:
    /// `sys_wait4` → `kernel_wait4`): -1 selects every child, a positive pid that child, 0
    /// the caller's process group (`get_task_pid(current, PIDTYPE_PGID)`), `-pgid` that
    /// group; `WEXITED` is always added. A group led by the caller's pid namespace init has
    /// id 1 there, and `-1` is "every child", not that group (the `upid == -1` test comes
    /// first).
    pub(super) fn wait4_spec(&self, t: TaskId, target: WaitTarget, o: WaitOptions) -> WaitSpec {
        let select = match target {
            WaitTarget::Any => Select::Any,
            WaitTarget::Task(c) => Select::Task(c),
            WaitTarget::OwnGroup => Select::Pgrp(self.pgrp_of(t)),
            WaitTarget::Group(g) if self.numbered_one(t, g) => Select::Any,
            WaitTarget::Group(g) => Select::Pgrp(self.pgrp_named(t, g)),
        };
        WaitSpec {
            select,
            clone: o.clone,
            all: o.all,
            exited: true,
            stopped: o.untraced,
            continued: o.continued,
            nowait: false,
            nohang: o.nohang,
        }
    }

    // rule: wait.waitid-arguments
    // rule: wait.waitid-pidfd-nonblock-since-5.10
    /// `waitid(idtype, id, &info, options, NULL)` by `t` (kernel/exit.c:
    /// `kernel_waitid_prepare`, `kernel_waitid`): EINVAL without any of `WEXITED`,
    /// `WSTOPPED`, `WCONTINUED`; `P_PGID` with id 0 is the caller's group (Linux 5.4,
    /// waitid(2)); `P_PIDFD` takes the pid a
    /// pidfd refers to (EBADF for an fd that is not one, EINVAL for a negative fd). A pidfd
    /// whose description is `O_NONBLOCK` adds `WNOHANG`, and a wait that then finds nothing
    /// fails with EAGAIN unless the caller passed `WNOHANG` itself (Linux 5.10, commit "exit:
    /// support non-blocking pidfds" of the threads-v5.10 pull; before, it blocks).
    /// A child found gives 0 and its `si_pid`, `si_code` and `si_status`; `WNOHANG` with
    /// nothing to report gives 0 with `si_pid` 0.
    pub(super) fn op_waitid(
        &mut self,
        t: TaskId,
        target: WaitidTarget,
        o: WaitidOptions,
    ) -> Outcome {
        if !(o.exited || o.stopped || o.continued) {
            return Outcome::Err(Errno::EINVAL);
        }
        let mut nonblock = false;
        let select = match target {
            WaitidTarget::All => Select::Any,
            WaitidTarget::Pid(c) => Select::Task(c),
            WaitidTarget::OwnPgid => Select::Pgrp(self.pgrp_of(t)),
            WaitidTarget::Pgid(g) => Select::Pgrp(self.pgrp_named(t, g)),
            WaitidTarget::Pidfd(fd) if fd < 0 => return Outcome::Err(Errno::EINVAL),
            WaitidTarget::Pidfd(fd) => match self.pidfd_target(t, fd) {
                Ok((c, nb)) => {
                    nonblock = nb && self.profile.kernel_at_least(5, 10);
                    Select::Task(c)
                }
                Err(e) => return Outcome::Err(e),
            },
        };
        let spec = WaitSpec {
            select,
            clone: o.clone,
            all: o.all,
            exited: o.exited,
            stopped: o.stopped,
            continued: o.continued,
            nowait: o.nowait,
            nohang: o.nohang || nonblock,
        };
        match self.do_wait(t, spec) {
            Err(e) => Outcome::Err(e),
            Ok(Some((c, ev))) => self.waitid_report(c, ev),
            Ok(None) if o.nohang => Outcome::Ret(0),
            Ok(None) if nonblock => Outcome::Err(Errno::EAGAIN),
            Ok(None) => {
                self.pending_block = Some(super::tasks::BlockedOp::Wait(spec));
                Outcome::Blocked
            }
        }
    }

    // rule: wait.waitid-siginfo
    /// The `siginfo_t` a waitid fills for child `c` (kernel/exit.c: `wait_task_zombie`): an
    /// exit is `CLD_EXITED` with the exit code, a death by a signal `CLD_KILLED` with the
    /// signal, or `CLD_DUMPED` when a core was written (`0x80` of the status). Whether a
    /// core-dumping signal writes a core depends on RLIMIT_CORE and `core_pattern`, which
    /// the model does not know: it allows both.
    pub(super) fn waitid_report(&mut self, c: TaskId, ev: Event) -> Outcome {
        let info = |code, status| {
            Outcome::Waited(ChildInfo {
                task: c,
                code,
                status,
            })
        };
        match ev {
            Event::Exited(ExitStatus::Exited(code)) => info(ChildCode::Exited, i32::from(code)),
            Event::Exited(ExitStatus::Signaled(sig)) => {
                if dumps_core(sig) {
                    self.also_allowed.push(info(ChildCode::Dumped, sig.0));
                }
                info(ChildCode::Killed, sig.0)
            }
            Event::Stopped(sig) => info(ChildCode::Stopped, sig),
            Event::Continued => info(ChildCode::Continued, 18),
        }
    }

    // rule: wait.echild-and-eligibility
    /// The search of `__do_wait` over the caller's thread group's children in order
    /// (kernel/exit.c: `do_wait_thread`, `wait_consider_task`): a child the selection and
    /// `__WCLONE`/`__WALL` admit (`eligible_child`) and that is still alive makes the wait
    /// one that can block; a zombie is reported (and reaped, unless `WNOWAIT`) with
    /// `WEXITED`, and without it does not count (`wait_task_zombie` returns before
    /// `notask_error` is cleared). `Err(ECHILD)` when nothing counts, `Ok(None)` when the
    /// wait would block.
    pub(super) fn do_wait(
        &mut self,
        t: TaskId,
        spec: WaitSpec,
    ) -> Result<Option<(TaskId, Event)>, Errno> {
        let mut notask = true;
        for (th, c) in self.group_children(t) {
            if !self.wait_eligible(c, spec) {
                continue;
            }
            match self.tasks[c as usize].state {
                TaskState::Zombie(status) => {
                    if !spec.exited {
                        continue;
                    }
                    if !spec.nowait {
                        self.tasks[c as usize].reaped = true;
                        self.tasks[th as usize].children.retain(|&x| x != c);
                    }
                    return Ok(Some((c, Event::Exited(status))));
                }
                TaskState::Live | TaskState::Blocked | TaskState::Stopped => {
                    notask = false;
                    if let Some(ev) = self.job_report(c, spec) {
                        return Ok(Some((c, ev)));
                    }
                }
            }
        }
        if notask {
            Err(Errno::ECHILD)
        } else {
            Ok(None)
        }
    }

    // rule: wait.stopped-and-continued-reported-once
    /// kernel/exit.c `wait_task_stopped` and `wait_task_continued` for a live child `c`:
    /// with `WSTOPPED` (`WUNTRACED`) a stopped group whose `group_exit_code` is set reports
    /// `CLD_STOPPED` with that signal and clears it; with `WCONTINUED` a group resumed since
    /// its stop reports `CLD_CONTINUED` (status SIGCONT) and clears `SIGNAL_STOP_CONTINUED`.
    /// `WNOWAIT` clears nothing. Each is so reported once.
    fn job_report(&mut self, c: TaskId, spec: WaitSpec) -> Option<Event> {
        let tgid = self.tasks[c as usize].tgid as usize;
        let job = self.tasks[tgid].job;
        if spec.stopped && job.stopped && job.code != 0 {
            if !spec.nowait {
                self.tasks[tgid].job.code = 0;
            }
            return Some(Event::Stopped(job.code));
        }
        if spec.continued && job.continued {
            if !spec.nowait {
                self.tasks[tgid].job.continued = false;
            }
            return Some(Event::Continued);
        }
        None
    }

    /// kernel/exit.c `eligible_pid` and `eligible_child`: the selection by pid or process
    /// group, then a child whose exit signal is not SIGCHLD is a "clone" child, seen only
    /// with `__WCLONE`; `__WALL` sees every child.
    pub(super) fn wait_eligible(&self, c: TaskId, spec: WaitSpec) -> bool {
        let pid_ok = match spec.select {
            Select::Any => true,
            Select::Task(x) => x == c,
            Select::Pgrp(g) => g.is_some() && g == self.pgrp_of(c),
        };
        let clone_child = self.tasks[c as usize].exit_signal != SIGCHLD;
        pid_ok && (spec.all || clone_child == spec.clone)
    }
}
