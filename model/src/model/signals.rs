//! Signals: dispositions per `sighand_struct`, blocked masks and pending sets, generation
//! (`kill`, exit signals, SIGPIPE, faults) and delivery.
//!
//! Sources: kernel/signal.c (`sig_ignored`, `sig_task_ignored`, `prepare_signal`,
//! `__send_signal_locked`, `complete_signal`, `get_signal`, `do_sigaction`,
//! `sigprocmask`, `force_sig_info_to_task`), kernel/fork.c (`copy_sighand`,
//! `init_sigpending`), kernel/exit.c (`do_notify_parent`), signal(7).
//!
//! Delivery: every task of a case waits in its agent loop (an interruptible sleep), so a
//! deliverable signal is handled at once; the model delivers after every op. A vfork parent
//! waits killably (kernel/fork.c `wait_for_vfork_done`): only a fatal signal reaches it, the
//! rest stays pending until the child releases it.

use super::tasks::BlockedOp;
use super::Model;
use crate::obs::{Errno, ExitStatus, Outcome, SigSet, Signal, TaskState};
use crate::op::{MaskHow, SigAction, TaskId};

/// Dispositions of one `sighand_struct`: `SIG_IGN` and handler bits; neither is `SIG_DFL`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Dispositions {
    /// Signals set to `SIG_IGN`.
    pub(super) ignored: u64,
    /// Signals with a handler.
    pub(super) caught: u64,
    /// `SA_NOCLDWAIT` in SIGCHLD's `sa_flags`.
    pub(super) nocldwait: bool,
    /// `SA_NOCLDSTOP` in SIGCHLD's `sa_flags`.
    pub(super) nocldstop: bool,
}

impl Dispositions {
    pub(super) fn action(&self, sig: i32) -> SigAction {
        let b = SigSet::bit(sig);
        if self.ignored & b != 0 {
            SigAction::Ignore
        } else if self.caught & b != 0 {
            SigAction::Handler
        } else {
            SigAction::Default
        }
    }

    pub(super) fn set(&mut self, sig: i32, a: SigAction) {
        let b = SigSet::bit(sig);
        self.ignored &= !b;
        self.caught &= !b;
        match a {
            SigAction::Ignore => self.ignored |= b,
            SigAction::Handler => self.caught |= b,
            SigAction::Default => {}
        }
    }

    // rule: sig.clear-sighand-keeps-ignored
    /// `CLONE_CLEAR_SIGHAND`: kernel/signal.c `flush_signal_handlers(p, 0)` resets every
    /// handler to `SIG_DFL` but leaves `SIG_IGN` alone; every `sa_flags` becomes 0.
    pub(super) fn cleared(self) -> Dispositions {
        Dispositions {
            ignored: self.ignored,
            caught: 0,
            nocldwait: false,
            nocldstop: false,
        }
    }

    // rule: sig.sigchld-released-at-exit
    /// Whether a child whose exit signal is SIGCHLD is released at exit instead of becoming a
    /// zombie (kernel/exit.c `do_notify_parent`: SIGCHLD at `SIG_IGN`, or `SA_NOCLDWAIT` in
    /// its `sa_flags`, whatever the handler; only `SIG_IGN` also drops the SIGCHLD itself).
    pub(super) fn autoreap(&self) -> bool {
        self.action(Signal::SIGCHLD.0) == SigAction::Ignore || self.nocldwait
    }
}

fn mask(sigs: &[i32]) -> u64 {
    sigs.iter().fold(0, |m, &s| m | SigSet::bit(s))
}

/// `SIG_KERNEL_IGNORE_MASK`: ignored by default (signal(7) "Ign").
pub(super) fn kernel_ignore(sig: i32) -> bool {
    mask(&[17, 18, 23, 28]) & SigSet::bit(sig) != 0
}

/// `SIG_KERNEL_ONLY_MASK`: SIGKILL and SIGSTOP.
fn kernel_only(sig: i32) -> bool {
    sig == Signal::SIGKILL.0 || sig == Signal::SIGSTOP.0
}

/// `SIG_KERNEL_STOP_MASK`: SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU.
pub(super) fn kernel_stop(sig: i32) -> bool {
    (19..=22).contains(&sig)
}

/// `SYNCHRONOUS_MASK`: dequeued before any other signal (kernel/signal.c `next_signal`).
const SYNCHRONOUS: [i32; 6] = [11, 7, 4, 5, 8, 31];

/// The next signal `next_signal` dequeues from `pending` outside `blocked`.
fn next_signal(pending: u64, blocked: u64) -> Option<i32> {
    let ready = pending & !blocked;
    if ready == 0 {
        return None;
    }
    let sync = ready & mask(&SYNCHRONOUS);
    let pick = if sync != 0 { sync } else { ready };
    Some(pick.trailing_zeros() as i32 + 1)
}

impl Model {
    /// The dispositions of `t`'s `sighand_struct`.
    pub(super) fn dispositions(&self, t: TaskId) -> Dispositions {
        let sh = self.tasks[t as usize].sighand;
        self.sighands.get(&sh).copied().unwrap_or_default()
    }

    pub(super) fn dispositions_mut(&mut self, t: TaskId) -> &mut Dispositions {
        let sh = self.tasks[t as usize].sighand;
        self.sighands.entry(sh).or_default()
    }

    /// Whether the thread group of `t` is a pid namespace init (`SIGNAL_UNKILLABLE`).
    pub(super) fn unkillable(&self, t: TaskId) -> bool {
        let tgid = self.tasks[t as usize].tgid;
        self.tasks[tgid as usize].ns_init
    }

    /// The tasks of `t`'s thread group, the leader first.
    fn group(&self, t: TaskId) -> Vec<TaskId> {
        let tgid = self.tasks[t as usize].tgid;
        std::iter::once(tgid)
            .chain(
                (0..self.tasks.len() as TaskId)
                    .filter(|&i| i != tgid && self.tasks[i as usize].tgid == tgid),
            )
            .collect()
    }

    /// kernel/signal.c `sig_task_ignored` (no tracer, no kthread): a pid namespace init
    /// ignores a signal left at `SIG_DFL` unless it is SIGKILL/SIGSTOP forced from an
    /// ancestor namespace; otherwise `SIG_IGN`, or `SIG_DFL` of an ignore-by-default signal.
    fn sig_task_ignored(&self, t: TaskId, sig: i32, force: bool) -> bool {
        let a = self.dispositions(t).action(sig);
        if self.unkillable(t) && a == SigAction::Default && !(force && kernel_only(sig)) {
            return true;
        }
        a == SigAction::Ignore || (a == SigAction::Default && kernel_ignore(sig))
    }

    /// Whether `t` has a pending signal it does not block (`TIF_SIGPENDING` after
    /// `recalc_sigpending`).
    fn has_deliverable(&self, t: TaskId) -> bool {
        let task = &self.tasks[t as usize];
        let shared = self.tasks[task.tgid as usize].shared_pending;
        (task.pending | shared) & !task.blocked != 0
    }

    // rule: sig.generation
    /// `__send_signal_locked(sig, info, p, type, force)`: `prepare_signal` (a group in exit
    /// drops it; a stop signal flushes SIGCONT and SIGCONT flushes stop signals; an ignored
    /// signal is discarded unless `p` blocks it), then the signal is queued on `p` (`group`
    /// false) or on the thread group (a standard signal already pending is not queued
    /// twice), then `complete_signal`: when a thread that wants it is found and the
    /// signal's action is the default fatal one, the whole group is killed now.
    pub(super) fn send_signal(&mut self, p: TaskId, sig: i32, group: bool, force: bool) {
        let members = self.group(p);
        if !members.iter().any(|&m| self.tasks[m as usize].alive()) {
            // prepare_signal: SIGNAL_GROUP_EXIT drops the signal (the group is dead).
            return;
        }
        let tgid = members[0] as usize;
        let flush = |m: &mut Model, bits: u64| {
            m.tasks[tgid].shared_pending &= !bits;
            for &x in &members {
                m.tasks[x as usize].pending &= !bits;
            }
        };
        if kernel_stop(sig) {
            flush(self, SigSet::bit(Signal::SIGCONT.0));
        } else if sig == Signal::SIGCONT.0 {
            flush(self, mask(&[19, 20, 21, 22]));
            self.signal_continue(p);
        }
        let blocked = self.tasks[p as usize].blocked & SigSet::bit(sig) != 0;
        if !blocked && self.sig_task_ignored(p, sig, force) {
            return;
        }
        let wants = |m: &Model, x: TaskId| {
            let task = &m.tasks[x as usize];
            // wants_signal: a stopped task takes nothing but SIGKILL.
            task.alive()
                && task.blocked & SigSet::bit(sig) == 0
                && (sig == Signal::SIGKILL.0 || (!m.has_deliverable(x) && !m.group_stopped(x)))
        };
        let target = if wants(self, p) {
            Some(p)
        } else if !group || members.len() == 1 {
            None
        } else {
            members.iter().copied().find(|&x| wants(self, x))
        };
        let bit = SigSet::bit(sig);
        if group {
            self.tasks[tgid].shared_pending |= bit;
        } else {
            self.tasks[p as usize].pending |= bit;
        }
        let fatal = self.dispositions(p).action(sig) == SigAction::Default
            && !kernel_ignore(sig)
            && !kernel_stop(sig);
        if target.is_some() && fatal {
            // complete_signal: "This signal will be fatal to the whole group" (core-dumping
            // signals take the same way down through get_signal).
            self.exit_group(p, ExitStatus::Signaled(Signal(sig)));
        }
    }

    // rule: sig.delivery
    /// Delivers every signal a task can take now (`get_signal`): private pending before
    /// shared, synchronous signals first, then the lowest number. A handler consumes it,
    /// `SIG_IGN` and ignore-by-default discard it, a pid namespace init discards what is not
    /// SIGKILL/SIGSTOP, anything else kills the thread group. A vfork parent waits
    /// killably and takes nothing before it resumes. Returns whether something changed.
    pub(super) fn deliver_signals(&mut self) -> bool {
        let mut changed = false;
        for t in 0..self.tasks.len() as TaskId {
            loop {
                let task = &self.tasks[t as usize];
                let runs = match task.state {
                    TaskState::Live => true,
                    TaskState::Blocked => !matches!(task.blocked_on, Some(BlockedOp::Vfork(_))),
                    TaskState::Zombie(_) | TaskState::Stopped => false,
                };
                if task.reaped || !runs || self.group_stopped(t) {
                    break;
                }
                let tgid = task.tgid as usize;
                let (sig, private) = match next_signal(task.pending, task.blocked) {
                    Some(s) => (s, true),
                    None => match next_signal(self.tasks[tgid].shared_pending, task.blocked) {
                        Some(s) => (s, false),
                        None => break,
                    },
                };
                let bit = SigSet::bit(sig);
                if private {
                    self.tasks[t as usize].pending &= !bit;
                } else {
                    self.tasks[tgid].shared_pending &= !bit;
                }
                changed = true;
                let discard = match self.dispositions(t).action(sig) {
                    SigAction::Handler | SigAction::Ignore => true,
                    SigAction::Default => {
                        kernel_ignore(sig) || (self.unkillable(t) && !kernel_only(sig))
                    }
                };
                if !discard && kernel_stop(sig) {
                    if self.signal_stop(t, sig) {
                        break;
                    }
                    continue;
                }
                if !discard {
                    self.exit_group(t, ExitStatus::Signaled(Signal(sig)));
                    break;
                }
            }
        }
        changed
    }

    // rule: sig.fault-is-forced
    /// A fault signal (SIGSEGV, SIGBUS) raised by an access of `t`
    /// (`force_sig_info_to_task`): a blocked or ignored one is reset to `SIG_DFL` in the
    /// shared table and unblocked, and even a pid namespace init dies of it. With a handler
    /// the handler returns to the faulting access, which faults again forever: the task never
    /// comes back (`Blocked`).
    pub(super) fn force_fault(&mut self, t: TaskId, sig: Signal) -> Outcome {
        let bit = SigSet::bit(sig.0);
        let d = self.dispositions(t);
        let blocked = self.tasks[t as usize].blocked & bit != 0;
        if d.action(sig.0) == SigAction::Handler && !blocked {
            return Outcome::Blocked;
        }
        if blocked || d.action(sig.0) == SigAction::Ignore {
            self.dispositions_mut(t).set(sig.0, SigAction::Default);
            self.tasks[t as usize].blocked &= !bit;
        }
        Outcome::Killed(sig)
    }

    // rule: sig.exit-signal-to-parent
    /// kernel/exit.c `do_notify_parent`: a thread group leader that ends sends its exit
    /// signal to its parent's thread group, except SIGCHLD while the parent ignores SIGCHLD
    /// (then the child is released at once instead).
    pub(super) fn notify_parent(&mut self, t: TaskId) {
        let Some((p, sig)) = self.parent_signal(t) else {
            return;
        };
        // __wake_up_parent, whatever the signal (0 included) and whether it is sent.
        self.woken_parents.push(self.tasks[p as usize].tgid);
        if !(1..=64).contains(&sig) {
            return;
        }
        if sig == super::tasks::SIGCHLD && self.dispositions(p).action(sig) == SigAction::Ignore {
            return;
        }
        self.send_signal(p, sig, true, false);
    }

    // rule: sig.exit-signal-after-parent-exec
    /// The parent task `t` notifies when it ends and the signal it sends: its exit signal,
    /// except that a signal other than SIGCHLD becomes SIGCHLD when the parent has exec'd
    /// since `t` was created (kernel/exit.c `do_notify_parent`: `parent_exec_id !=
    /// parent->self_exec_id`, "Check if it has changed security domain"). The auto-reap
    /// rule then applies to the SIGCHLD sent.
    pub(super) fn parent_signal(&self, t: TaskId) -> Option<(TaskId, i32)> {
        let me = &self.tasks[t as usize];
        let crate::obs::Parent::Task(p) = me.parent else {
            return None;
        };
        let sig = me.exit_signal;
        if sig != super::tasks::SIGCHLD && me.parent_exec_id != self.tasks[p as usize].self_exec_id
        {
            return Some((p, super::tasks::SIGCHLD));
        }
        Some((p, sig))
    }

    // rule: sig.kill
    /// `kill(pid, sig)` by `t` (kernel/signal.c `kill_pid_info_type`): ESRCH when the target
    /// is reaped or not visible in the caller's pid namespace, then EINVAL for a number
    /// outside 0..=64 (`check_kill_permission`), then 0 (every task of a case has the same
    /// uid). Signal 0 and a dead thread group send nothing. The signal goes to the target's
    /// thread group; "forced" (SIGKILL/SIGSTOP reach a pid namespace init) only when the
    /// caller is in an ancestor pid namespace.
    pub(super) fn op_kill(&mut self, t: TaskId, target: TaskId, sig: Signal) -> Outcome {
        let Some(tt) = self.tasks.get(target as usize) else {
            return Outcome::Err(Errno::ESRCH);
        };
        let caller_ns = self.tasks[t as usize].pidns;
        if tt.reaped || !self.in_pidns(target as usize, caller_ns) {
            return Outcome::Err(Errno::ESRCH);
        }
        if !(0..=64).contains(&sig.0) {
            return Outcome::Err(Errno::EINVAL);
        }
        if sig.0 == 0 {
            return Outcome::Ret(0);
        }
        let force = self.tasks[target as usize].pidns != caller_ns;
        self.send_signal(target, sig.0, true, force);
        Outcome::Ret(0)
    }

    // rule: sig.sigaction
    /// `rt_sigaction(sig, act, NULL, 8)` (kernel/signal.c `do_sigaction`): EINVAL outside
    /// 1..=64 and for SIGKILL/SIGSTOP; the action goes into the shared `sighand_struct`. An
    /// action that ignores the signal (`SIG_IGN`, or `SIG_DFL` of an ignore-by-default
    /// signal) discards it from the pending sets of the caller's thread group, blocked or
    /// not (POSIX 3.3.1.3) — not from other processes sharing the table.
    pub(super) fn op_sigaction(
        &mut self,
        t: TaskId,
        sig: Signal,
        action: SigAction,
        flags: crate::op::SaFlags,
    ) -> Outcome {
        if !(1..=64).contains(&sig.0) || kernel_only(sig.0) {
            return Outcome::Err(Errno::EINVAL);
        }
        let d = self.dispositions_mut(t);
        d.set(sig.0, action);
        if sig == Signal::SIGCHLD {
            d.nocldwait = flags.nocldwait;
            d.nocldstop = flags.nocldstop;
        }
        let ignored =
            action == SigAction::Ignore || (action == SigAction::Default && kernel_ignore(sig.0));
        if ignored {
            let bit = SigSet::bit(sig.0);
            let members = self.group(t);
            self.tasks[members[0] as usize].shared_pending &= !bit;
            for m in members {
                self.tasks[m as usize].pending &= !bit;
            }
        }
        Outcome::Ret(0)
    }

    // rule: sig.sigprocmask
    /// `rt_sigprocmask(how, set, NULL, 8)`: SIGKILL and SIGSTOP are silently left out of
    /// the new mask (kernel/signal.c `sys_rt_sigprocmask`: `sigdelsetmask`); unblocking
    /// delivers what is pending before the call returns.
    pub(super) fn op_sigprocmask(&mut self, t: TaskId, how: MaskHow, set: &[Signal]) -> Outcome {
        let bits = set.iter().fold(0u64, |m, s| m | SigSet::bit(s.0))
            & !(SigSet::bit(Signal::SIGKILL.0) | SigSet::bit(Signal::SIGSTOP.0));
        let task = &mut self.tasks[t as usize];
        task.blocked = match how {
            MaskHow::Block => task.blocked | bits,
            MaskHow::Unblock => task.blocked & !bits,
            MaskHow::SetMask => bits,
        };
        Outcome::Ret(0)
    }
}
