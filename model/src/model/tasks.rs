//! The task tree: fork, exit (and death by a signal), wait, and reparenting of orphans.

use super::files::FdTable;
use super::memory::Mm;
use super::Model;
use crate::obs::{Errno, ExitStatus, Outcome, Parent, Signal, TaskState};
use crate::op::{TaskId, WaitTarget};

/// Most tasks one case can create, `t0` included: the lab has one command slot per task
/// (`harness/src/lab/channel.rs: SLOTS`). A fork past it is predicted as `EAGAIN`, the errno
/// fork(2) gives for a task limit (RLIMIT_NPROC); the generator is expected to stay below it.
pub const MAX_TASKS: usize = 64;

/// What a blocked task waits for; the model re-checks it after every op and completes it
/// when Linux would wake the task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum BlockedOp {
    /// `wait4` on a child that has not exited yet.
    Wait(WaitTarget),
    /// `read` of an empty pipe with writers.
    PipeRead {
        /// The reader's open file description.
        ofd: u64,
        /// Buffer length.
        len: u32,
    },
    /// `write` to a full pipe.
    PipeWrite {
        /// The writer's open file description.
        ofd: u64,
        /// Bytes not written yet.
        rest: Vec<u8>,
    },
}

/// One task of the case.
#[derive(Clone, Debug)]
pub(super) struct Task {
    /// Its parent: a task of the case, or the lab's subreaper.
    pub(super) parent: Parent,
    /// Live, blocked in an op, or a zombie.
    pub(super) state: TaskState,
    /// Reaped by its parent: gone from snapshots, and never runnable again.
    pub(super) reaped: bool,
    /// Children in the order of the kernel's `children` list: copy_process and reparenting
    /// append at the tail (`list_add_tail(&p->sibling, ...)`), and do_wait scans from the
    /// head (kernel/exit.c: do_wait_thread).
    pub(super) children: Vec<TaskId>,
    /// Its address space (empty once it exited).
    pub(super) mm: Mm,
    /// Its fd table (empty once it exited).
    pub(super) fds: FdTable,
    /// The op it is blocked in, while `state` is Blocked.
    pub(super) blocked_on: Option<BlockedOp>,
}

impl Task {
    /// `t0`: a child of the lab's subreaper, no fds, the case's regions mapped.
    pub(super) fn root(mm: Mm) -> Task {
        Task {
            parent: Parent::Reaper,
            state: TaskState::Live,
            reaped: false,
            children: Vec::new(),
            mm,
            fds: FdTable::new(),
            blocked_on: None,
        }
    }

    /// Not exited: its fd table and memory still exist (Live or Blocked).
    pub(super) fn alive(&self) -> bool {
        !self.reaped && !matches!(self.state, TaskState::Zombie(_))
    }
}

impl Model {
    /// `fork(2)`: the child gets the next label, a copy of the parent's fd table (same open
    /// file descriptions, FD_CLOEXEC copied per fd: kernel/fork.c copy_files → dup_fd) and a
    /// copy of its address space (kernel/fork.c dup_mm → mm/mmap.c dup_mmap, see
    /// [`super::memory::Memory::fork_mm`]). Exit signal SIGCHLD.
    pub(super) fn op_fork(&mut self, t: TaskId) -> Outcome {
        if self.tasks.len() >= MAX_TASKS {
            return Outcome::Err(Errno::EAGAIN);
        }
        let child = self.tasks.len() as TaskId;
        let mm = self.mem.fork_mm(&self.tasks[t as usize].mm);
        let fds = self.tasks[t as usize].fds.clone();
        self.tasks.push(Task {
            parent: Parent::Task(t),
            state: TaskState::Live,
            reaped: false,
            children: Vec::new(),
            mm,
            fds,
            blocked_on: None,
        });
        self.tasks[t as usize].children.push(child);
        Outcome::Child(child)
    }

    /// The task ends (exit_group or a fatal signal): it becomes a zombie with `status`, its
    /// fds are closed and its memory released (kernel/exit.c do_exit → exit_mm, exit_files),
    /// and its children, live or zombie, are reparented to the lab's subreaper, which never
    /// reaps during a case (kernel/exit.c forget_original_parent; the subreaper does not
    /// ignore SIGCHLD, so orphaned zombies stay zombies).
    pub(super) fn terminate(&mut self, t: TaskId, status: ExitStatus) {
        let Some(task) = self.tasks.get_mut(t as usize) else {
            return;
        };
        if !task.alive() {
            return;
        }
        task.state = TaskState::Zombie(status);
        task.blocked_on = None;
        task.fds.clear();
        let mut mm = std::mem::take(&mut task.mm);
        let children = std::mem::take(&mut task.children);
        self.mem.release_mm(&mut mm);
        for c in children {
            if let Some(child) = self.tasks.get_mut(c as usize) {
                child.parent = Parent::Reaper;
            }
        }
    }

    /// `wait4(pid or -1, &status, 0, NULL)` (wait4(2)). `ECHILD` when the task has no child
    /// that matches; a zombie match is reaped (the first zombie in `children` order for
    /// `Any`); otherwise the call blocks until a matching child exits
    /// ([`Model::wake_blocked`]).
    pub(super) fn op_wait(&mut self, t: TaskId, target: WaitTarget) -> Outcome {
        let has_match = self.tasks[t as usize]
            .children
            .iter()
            .any(|&c| target == WaitTarget::Any || target == WaitTarget::Task(c));
        if !has_match {
            return Outcome::Err(Errno::ECHILD);
        }
        match self.reap_matching(t, target) {
            Some((c, status)) => Outcome::Reaped { task: c, status },
            None => {
                self.pending_block = Some(BlockedOp::Wait(target));
                Outcome::Blocked
            }
        }
    }

    /// Reaps the first zombie child of `t` matching `target` (kernel/exit.c: do_wait scans
    /// `children` in order).
    fn reap_matching(&mut self, t: TaskId, target: WaitTarget) -> Option<(TaskId, ExitStatus)> {
        let found = self.tasks[t as usize]
            .children
            .iter()
            .copied()
            .find_map(|c| {
                let matches = match target {
                    WaitTarget::Any => true,
                    WaitTarget::Task(x) => x == c,
                };
                match self.tasks.get(c as usize).map(|x| x.state) {
                    Some(TaskState::Zombie(status)) if matches => Some((c, status)),
                    _ => None,
                }
            });
        if let Some((c, _)) = found {
            self.tasks[c as usize].reaped = true;
            self.tasks[t as usize].children.retain(|&x| x != c);
        }
        found
    }

    /// Completes the ops of blocked tasks that Linux would wake now, until nothing changes:
    /// a `wait` whose child exited reaps it (kernel/exit.c: do_notify_parent wakes the
    /// parent's wait queue); a pipe read gets data or EOF; a pipe write gets room (and goes
    /// on where it stopped) or, with no reader left, SIGPIPE. A completed task is Live again;
    /// the result of its op is not an outcome of any step. When several blocked readers share
    /// a pipe, the model serves them in label order (Linux wakes them all and the scheduler
    /// decides).
    pub(super) fn wake_blocked(&mut self) {
        loop {
            let mut changed = false;
            for t in 0..self.tasks.len() {
                if self.tasks[t].reaped || self.tasks[t].state != TaskState::Blocked {
                    continue;
                }
                let Some(op) = self.tasks[t].blocked_on.clone() else {
                    continue;
                };
                let label = t as TaskId;
                let done = match op {
                    BlockedOp::Wait(target) => self.reap_matching(label, target).is_some(),
                    BlockedOp::PipeRead { ofd, len } => self.pipe_read_wakes(ofd, len),
                    BlockedOp::PipeWrite { ofd, rest } => match self.pipe_write_wakes(ofd, &rest) {
                        Err(()) => {
                            self.terminate(label, ExitStatus::Signaled(Signal::SIGPIPE));
                            changed = true;
                            continue;
                        }
                        Ok(left) if left.is_empty() => true,
                        Ok(left) => {
                            if left.len() != rest.len() {
                                changed = true;
                            }
                            self.tasks[t].blocked_on =
                                Some(BlockedOp::PipeWrite { ofd, rest: left });
                            false
                        }
                    },
                };
                if done {
                    self.tasks[t].state = TaskState::Live;
                    self.tasks[t].blocked_on = None;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }
}
