//! Job control: stop signals stop a whole thread group, SIGCONT resumes it, and the parent
//! hears of both (kernel/signal.c: `do_signal_stop`, `prepare_signal`,
//! `do_notify_parent_cldstop`, `get_signal`; kernel/exit.c: `wait_task_stopped`,
//! `wait_task_continued`; signal(7) "Stop", wait(2)).

use super::Model;
use crate::obs::Parent;
use crate::op::{SigAction, TaskId};

/// The job control flags of a thread group's `signal_struct`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct JobState {
    /// `SIGNAL_STOP_STOPPED`: the group stop is complete.
    pub(super) stopped: bool,
    /// `group_exit_code`: the stop signal not yet reported to a wait (0 once reported).
    pub(super) code: i32,
    /// `SIGNAL_STOP_CONTINUED`: resumed by SIGCONT and not yet reported to a wait.
    pub(super) continued: bool,
}

/// `SIGSTOP`.
const SIGSTOP: i32 = 19;

/// What `do_notify_parent_cldstop` tells the parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    Stopped,
    Continued,
}

impl Model {
    /// Whether the thread group of `t` is stopped.
    pub(super) fn group_stopped(&self, t: TaskId) -> bool {
        let tgid = self.tasks[t as usize].tgid;
        self.tasks[tgid as usize].job.stopped
    }

    // rule: stop.orphaned-pgrp-ignores-tty-stops
    /// Whether the process group of `t` is orphaned (kernel/exit.c `will_become_orphaned_pgrp`,
    /// asked by `get_signal` before a SIGTSTP, SIGTTIN or SIGTTOU stops a group: an orphaned
    /// group discards them; SIGSTOP always stops): no member — a thread group leader that is
    /// not a zombie with an empty group — has a parent in another process group of the same
    /// session. The lab (the parent of `t0` and, as a subreaper, of the orphans) is in a
    /// group of its own in the session `t0` starts in.
    fn pgrp_orphaned(&self, t: TaskId) -> bool {
        let g = self.pgrp_of(t);
        !(0..self.tasks.len() as TaskId).any(|x| {
            let task = &self.tasks[x as usize];
            let counts = !task.reaped
                && task.tgid == x
                && self.pgrp_of(x) == g
                && (task.alive() || self.group_has_live_thread(x));
            let (ppgrp, psid) = match task.parent {
                Parent::Reaper => (None, None),
                Parent::Task(p) => (self.pgrp_of(p), self.session_of(p)),
            };
            counts && ppgrp != g && psid == self.session_of(x)
        })
    }

    fn group_has_live_thread(&self, leader: TaskId) -> bool {
        self.tasks
            .iter()
            .enumerate()
            .any(|(i, x)| i as TaskId != leader && x.tgid == leader && x.alive())
    }

    // rule: stop.group-stop
    /// `get_signal` took stop signal `sig` at its default action in a task of `t`'s group:
    /// `do_signal_stop` stops every thread of the group; the stop is complete at once
    /// (the lab waits for it), so `SIGNAL_STOP_STOPPED` is set, `group_exit_code` is `sig`
    /// (a continue not yet reported is forgotten: `signal_set_stop_flags` clears the other
    /// stop flags) and the parent is notified with `CLD_STOPPED`. SIGTSTP, SIGTTIN and SIGTTOU
    /// in an orphaned process group are discarded instead. Returns whether the group stopped.
    pub(super) fn signal_stop(&mut self, t: TaskId, sig: i32) -> bool {
        if sig != SIGSTOP && self.pgrp_orphaned(t) {
            return false;
        }
        let tgid = self.tasks[t as usize].tgid as usize;
        self.tasks[tgid].job = JobState {
            stopped: true,
            code: sig,
            continued: false,
        };
        self.notify_cldstop(tgid as TaskId, Why::Stopped);
        true
    }

    // rule: stop.sigcont-resumes
    /// `prepare_signal` for SIGCONT sent to `t`'s group (whatever its disposition, before the
    /// ignored check): a stopped group resumes, its unreported stop is dropped
    /// (`group_exit_code` = 0), `SIGNAL_STOP_CONTINUED` is set, and the first thread back in
    /// `get_signal` notifies the parent with `CLD_CONTINUED`.
    pub(super) fn signal_continue(&mut self, t: TaskId) {
        let tgid = self.tasks[t as usize].tgid as usize;
        if !self.tasks[tgid].job.stopped {
            return;
        }
        self.tasks[tgid].job = JobState {
            stopped: false,
            code: 0,
            continued: true,
        };
        self.notify_cldstop(tgid as TaskId, Why::Continued);
    }

    // rule: stop.sigchld-unless-nocldstop
    /// `do_notify_parent_cldstop(tsk, false, why)`: the real parent of the group leader gets
    /// SIGCHLD (whatever the child's exit signal) unless its SIGCHLD is at `SIG_IGN` or has
    /// `SA_NOCLDSTOP`; its waits are woken either way.
    fn notify_cldstop(&mut self, leader: TaskId, _why: Why) {
        let Parent::Task(p) = self.tasks[leader as usize].parent else {
            return;
        };
        self.woken_parents.push(self.tasks[p as usize].tgid);
        let d = self.dispositions(p);
        if d.action(super::tasks::SIGCHLD) == SigAction::Ignore || d.nocldstop {
            return;
        }
        self.send_signal(p, super::tasks::SIGCHLD, true, false);
    }
}
