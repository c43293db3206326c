//! The task tree: fork, exit (and death by a signal), wait, and reparenting of orphans.

use super::files::FdTable;
use super::memory::Mm;
use super::Model;
use crate::obs::{Errno, ExitStatus, Outcome, Parent, TaskState};
use crate::op::{TaskId, WaitTarget};

/// Most tasks one case can create, `t0` included: the lab has one command slot per task
/// (`harness/src/lab/channel.rs: SLOTS`). A fork past it is predicted as `EAGAIN`, the errno
/// fork(2) gives for a task limit (RLIMIT_NPROC); the generator is expected to stay below it.
pub const MAX_TASKS: usize = 64;

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
    /// `Any`); otherwise the call blocks. The model does not simulate wake-ups: a blocked
    /// task stays blocked for the rest of the case.
    pub(super) fn op_wait(&mut self, t: TaskId, target: WaitTarget) -> Outcome {
        let children = &self.tasks[t as usize].children;
        let candidates: Vec<TaskId> = match target {
            WaitTarget::Any => children.clone(),
            WaitTarget::Task(c) => children.iter().copied().filter(|&x| x == c).collect(),
        };
        if candidates.is_empty() {
            return Outcome::Err(Errno::ECHILD);
        }
        let zombie = candidates.iter().copied().find_map(|c| {
            match self.tasks.get(c as usize).map(|x| x.state) {
                Some(TaskState::Zombie(status)) => Some((c, status)),
                _ => None,
            }
        });
        match zombie {
            Some((c, status)) => {
                self.tasks[c as usize].reaped = true;
                self.tasks[t as usize].children.retain(|&x| x != c);
                Outcome::Reaped { task: c, status }
            }
            None => Outcome::Blocked,
        }
    }
}
