//! Per-task and per-process state a new task inherits or not: the child subreaper flag and
//! the parent-death signal (`prctl(2)`).
//!
//! Sources: prctl(2) (`PR_SET_CHILD_SUBREAPER`, `PR_SET_PDEATHSIG`), kernel/sys.c
//! (`SYSCALL_DEFINE5(prctl)`), kernel/exit.c (`forget_original_parent`, `find_new_reaper`,
//! `reparent_leader`), kernel/fork.c (`copy_process`, `copy_signal`).

use super::Model;
use crate::obs::{Errno, Outcome, Parent, TaskState};
use crate::op::{PrctlOption, TaskId};

/// `_NSIG`: `valid_signal(sig)` is `sig <= _NSIG` as an unsigned long.
const NSIG: i64 = 64;

impl Model {
    // rule: task.prctl-subreaper-pdeathsig
    /// `prctl(option, arg, 0, 0, 0)` (kernel/sys.c):
    /// - `PR_SET_CHILD_SUBREAPER`: `signal->is_child_subreaper = !!arg` (the whole process);
    /// - `PR_GET_CHILD_SUBREAPER`: reads it back;
    /// - `PR_SET_PDEATHSIG`: EINVAL unless `valid_signal(arg)` (0..=64, as unsigned), else
    ///   the calling thread's `pdeath_signal`;
    /// - `PR_GET_PDEATHSIG`: reads the calling thread's back.
    pub(super) fn op_prctl(&mut self, t: TaskId, option: PrctlOption, arg: i64) -> Outcome {
        let tgid = self.tasks[t as usize].tgid as usize;
        match option {
            PrctlOption::SetChildSubreaper => {
                self.tasks[tgid].child_subreaper = arg != 0;
                Outcome::Ret(0)
            }
            PrctlOption::GetChildSubreaper => {
                Outcome::Ret(i64::from(self.tasks[tgid].child_subreaper))
            }
            PrctlOption::SetPdeathsig => {
                // The argument is an unsigned long: a negative value is far above _NSIG.
                if !(0..=NSIG).contains(&arg) {
                    return Outcome::Err(Errno::EINVAL);
                }
                self.tasks[t as usize].pdeath_signal = arg as i32;
                Outcome::Ret(0)
            }
            PrctlOption::GetPdeathsig => {
                Outcome::Ret(i64::from(self.tasks[t as usize].pdeath_signal))
            }
            PrctlOption::SetNoNewPrivs | PrctlOption::GetNoNewPrivs | PrctlOption::GetSeccomp => {
                self.prctl_security(t, option, arg)
            }
        }
    }

    // rule: task.orphans-go-to-nearest-subreaper
    /// The new parent of the children of the exiting thread `t` when no other thread of its
    /// group is alive (kernel/exit.c `find_new_reaper`): walking up from its process's
    /// parent, as long as the ancestor is in `t`'s pid namespace (`task_pid(reaper)->level ==
    /// ns_level`), the first ancestor process that is a child subreaper and has a live
    /// thread, which gets them (`find_alive_thread`: the leader if alive, else the first live
    /// thread). `None` when there is none: then the pid namespace's init, or the lab's own
    /// subreaper (which sits above `t0` in the lab's namespace), gets them.
    ///
    /// The walk runs only with `signal->has_child_subreaper`, which every task of a case has:
    /// the lab is a subreaper, and `copy_signal` passes the flag to every new process.
    pub(super) fn subreaper_ancestor(&self, t: TaskId) -> Option<TaskId> {
        let ns = self.tasks[t as usize].pidns;
        let tgid = self.tasks[t as usize].tgid as usize;
        let mut cur = self.tasks[tgid].parent;
        // Each step goes one process up the tree, which ends at the lab: bounded by the
        // number of tasks even if the tree were malformed.
        for _ in 0..=self.tasks.len() {
            let Parent::Task(p) = cur else {
                return None;
            };
            let leader = self.tasks[p as usize].tgid;
            if self.tasks[leader as usize].pidns != ns {
                return None;
            }
            if self.tasks[leader as usize].child_subreaper {
                if let Some(live) = self.alive_thread(leader) {
                    return Some(live);
                }
            }
            cur = self.tasks[leader as usize].parent;
        }
        None
    }

    /// `find_alive_thread`: the first thread of the group led by `leader`, in thread-list
    /// order (the leader, then by creation), that has not exited.
    fn alive_thread(&self, leader: TaskId) -> Option<TaskId> {
        std::iter::once(leader)
            .chain(
                (0..self.tasks.len() as TaskId)
                    .filter(|&i| i != leader && self.tasks[i as usize].tgid == leader),
            )
            .find(|&i| self.tasks[i as usize].alive())
    }

    // rule: task.pdeathsig-fires-when-parent-thread-exits
    /// kernel/exit.c `forget_original_parent`: when thread `father` exits, every thread of
    /// each child process it created (`children`, moved to their new parent already) whose
    /// `pdeath_signal` is set gets that signal, sent to its process
    /// (`group_send_sig_info(..., PIDTYPE_TGID)`) — whether or not other threads of the
    /// father's process live on, and whoever adopts the child. `SEND_SIG_NOINFO` counts as
    /// forced (SIGKILL reaches a pid namespace init) when the father has no pid in the
    /// child's namespace (kernel/signal.c `send_signal_locked`). The father's death runs in
    /// the father: when the op's caller gets such a signal, its call may return first
    /// ([`Model::step`] allows both).
    ///
    /// The signals are queued and sent by [`Model::flush_pdeath_signals`] once the signals
    /// of the op itself are sent: the father dies only when it runs again, after
    /// `complete_signal` fixed the fate of every process a group kill reached (a child
    /// killed by the same `kill(0, SIGTERM)` dies of SIGTERM, and its parent-death signal
    /// is dropped by `prepare_signal`).
    pub(super) fn send_pdeath_signals(&mut self, father: TaskId, children: &[TaskId]) {
        let father_ns = self.tasks[father as usize].pidns;
        for &c in children {
            let Some(child) = self.tasks.get(c as usize) else {
                continue;
            };
            let leader = child.tgid;
            let threads: Vec<TaskId> = std::iter::once(leader)
                .chain(
                    (0..self.tasks.len() as TaskId)
                        .filter(|&i| i != leader && self.tasks[i as usize].tgid == leader),
                )
                .collect();

            for x in threads {
                let task = &self.tasks[x as usize];
                let sig = task.pdeath_signal;
                if task.reaped || sig == 0 {
                    continue;
                }
                let force = task.pidns != father_ns;
                self.pdeath_queue.push((x, sig, force));
            }
        }
    }

    /// Sends the parent-death signals [`Model::send_pdeath_signals`] queued; whether there
    /// were any.
    pub(super) fn flush_pdeath_signals(&mut self) -> bool {
        let queued = std::mem::take(&mut self.pdeath_queue);
        let any = !queued.is_empty();
        for (x, sig, force) in queued {
            let leader = self.tasks[x as usize].tgid;
            if self.tasks.iter().any(|m| m.tgid == leader && m.alive()) {
                self.pdeath_sent.push((leader, sig));
            }
            self.send_signal(x, sig, true, force);
        }
        any
    }

    // rule: task.adopted-zombie-notifies
    /// kernel/exit.c `reparent_leader`: a zombie child whose thread group is gone, moved to a
    /// parent in another process, is announced to its new parent at once
    /// (`do_notify_parent` with SIGCHLD, its exit signal now), and released there and then
    /// when the new parent ignores SIGCHLD.
    pub(super) fn notify_adopted_zombie(&mut self, c: TaskId) {
        let Some(child) = self.tasks.get(c as usize) else {
            return;
        };
        if child.reaped || !matches!(child.state, TaskState::Zombie(_)) {
            return;
        }
        let group_gone = !self.tasks.iter().any(|x| x.tgid == c && x.alive());
        if !group_gone {
            return;
        }
        self.notify_parent(c);
        if let Some((p, super::tasks::SIGCHLD)) = self.parent_signal(c) {
            if self.dispositions(p).action(super::tasks::SIGCHLD) == crate::op::SigAction::Ignore {
                self.tasks[c as usize].reaped = true;
                self.tasks[p as usize].children.retain(|&x| x != c);
            }
        }
    }
}
