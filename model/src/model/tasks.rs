//! The task tree: fork, exit (and death by a signal), wait, and reparenting of orphans.

use super::files::FdTable;
use super::Model;
use crate::obs::{Errno, ExitStatus, Outcome, Parent, Signal, TaskState};
use crate::op::{TaskId, WaitOptions, WaitTarget};

/// `SIGCHLD`, the exit signal of fork and vfork children.
pub(super) const SIGCHLD: i32 = 17;

/// Most tasks one case can create, `t0` included: the lab has one command slot per task
/// (`harness/src/lab/channel.rs: SLOTS`). A fork past it is predicted as `EAGAIN`, the errno
/// fork(2) gives for a task limit (RLIMIT_NPROC); the generator is expected to stay below it.
pub const MAX_TASKS: usize = 64;

/// What a blocked task waits for; the model re-checks it after every op and completes it
/// when Linux would wake the task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum BlockedOp {
    /// `wait4` or `waitid` on children none of which has anything to report yet.
    Wait(super::wait::WaitSpec),
    /// The parent of a `CLONE_VFORK` child, until the child exits (kernel/fork.c:
    /// wait_for_vfork_done; the child's mm_release completes `vfork_done`).
    Vfork(TaskId),
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
    /// `flock` without `LOCK_NB` behind a conflicting lock.
    Flock {
        /// The description the lock is for.
        ofd: u64,
        /// Its inode.
        inode: u64,
        /// `LOCK_EX` rather than `LOCK_SH`.
        exclusive: bool,
        /// The caller's thread group.
        pid: TaskId,
        /// The lock it is blocked on (its serial): it sleeps until that one goes.
        blocker: u64,
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
    /// Its address space: an index into `Model::mms` (shared by CLONE_VM).
    pub(super) mm: usize,
    /// Its fd table: an index into `Model::fdts` (shared by CLONE_FILES).
    pub(super) files: usize,
    /// `fs_struct` class (shared by CLONE_FS).
    pub(super) fs: u64,
    /// `sighand_struct` class (shared by CLONE_SIGHAND).
    pub(super) sighand: u64,
    /// SysV semaphore undo list class; 0 is "none" (NULL), shared by CLONE_SYSVSEM.
    pub(super) sysvsem: u64,
    /// Thread group leader (itself unless created with CLONE_THREAD).
    pub(super) tgid: TaskId,
    /// Signal sent to the parent at exit; -1 for a non-leader thread (stat field 38).
    pub(super) exit_signal: i32,
    /// Execs this task has done (`self_exec_id`; a new task starts with its creator's).
    pub(super) self_exec_id: u32,
    /// Its parent's `self_exec_id` when it was created (`parent_exec_id`): an exit signal
    /// other than SIGCHLD is sent only to a parent that has not exec'd since.
    pub(super) parent_exec_id: u32,
    /// Pid namespace (0 is the lab's).
    pub(super) pidns: u32,
    /// The init (pid 1) of its pid namespace: `SIGNAL_UNKILLABLE`.
    pub(super) ns_init: bool,
    /// The pid namespace its children are born in (`nsproxy->pid_ns_for_children`): its own
    /// `pidns` until it unshares `CLONE_NEWPID`.
    pub(super) pid_for_children: u32,
    /// Runs in a user namespace it created without uid mapping (CLONE_NEWUSER).
    pub(super) userns: bool,
    /// Inside such a user namespace, still holds the full capability set it got there;
    /// an exec drops it (security/commoncap.c: cap_bprm_creds_from_file grants capabilities
    /// only to a uid that maps to root, and an unmapped uid never does).
    pub(super) userns_caps: bool,
    /// The op it is blocked in, while `state` is Blocked.
    pub(super) blocked_on: Option<BlockedOp>,
    /// CLONE_CHILD_CLEARTID: its `child_tid` word is zeroed when it releases its address
    /// space (exit or exec).
    pub(super) clear_child_tid: bool,
    /// Blocked signal mask (per task).
    pub(super) blocked: u64,
    /// Signals pending for this task alone.
    pub(super) pending: u64,
    /// Signals pending for the thread group (used on the group leader).
    pub(super) shared_pending: u64,
    /// Namespaces other than the pid namespace.
    pub(super) ns: super::context::Namespaces,
    /// Job control state of the thread group (used on the group leader).
    pub(super) job: super::stop::JobState,
    /// `pdeath_signal`: sent to this thread's process when its parent thread exits; 0 for
    /// none (per thread).
    pub(super) pdeath_signal: i32,
    /// `signal->is_child_subreaper`: kept on the thread group leader (per process).
    pub(super) child_subreaper: bool,
    /// `no_new_privs` (per thread, `PFA_NO_NEW_PRIVS`).
    pub(super) no_new_privs: bool,
    /// The seccomp filters this thread runs under (`task->seccomp`), oldest first: `None`
    /// for one the environment installed before the case (it filters nothing an op does),
    /// `Some(errno)` for a case's filter that fails `umask` with `errno`.
    pub(super) seccomp: Vec<Option<crate::obs::Errno>>,
    /// Process group (read on the thread group leader).
    pub(super) pgrp: super::groups::GroupId,
    /// Session (read on the thread group leader).
    pub(super) sid: super::groups::GroupId,
    /// Leads its session (`signal->leader`, set by setsid, not inherited).
    pub(super) session_leader: bool,
    /// `PF_FORKNOEXEC`: set by fork, cleared by exec.
    pub(super) forknoexec: bool,
    /// Alarm, interval timers and POSIX timers of the process (used on the group leader).
    pub(super) timers: super::timers::GroupTimers,
    /// The alternate signal stack (per thread).
    pub(super) altstack: super::altstack::AltStack,
    /// Nice, policy, priority, reset-on-fork flag and persona (per thread).
    pub(super) sched: super::sched::TaskSched,
    /// Resource limits of the process (used on the group leader).
    pub(super) rlimits: super::sched::Rlimits,
}

impl Task {
    /// `t0`: a child of the lab's subreaper, no fds, the case's regions mapped.
    pub(super) fn root() -> Task {
        Task {
            parent: Parent::Reaper,
            state: TaskState::Live,
            reaped: false,
            children: Vec::new(),
            mm: 0,
            files: 0,
            fs: 0,
            sighand: 0,
            sysvsem: 0,
            tgid: 0,
            exit_signal: SIGCHLD,
            self_exec_id: 0,
            parent_exec_id: 0,
            pidns: 0,
            ns_init: false,
            pid_for_children: 0,
            userns: false,
            userns_caps: false,
            blocked_on: None,
            clear_child_tid: false,
            blocked: 0,
            pending: 0,
            shared_pending: 0,
            ns: Default::default(),
            job: Default::default(),
            // The lab's t0 arms PR_SET_PDEATHSIG(SIGKILL) so that it never outlives the lab
            // (harness/src/lab/agent.rs: t0_main).
            pdeath_signal: Signal::SIGKILL.0,
            child_subreaper: false,
            no_new_privs: false,
            seccomp: Vec::new(),
            // The lab makes t0 a group leader (setpgid(0, 0)) in the lab's session.
            pgrp: Some(0),
            sid: None,
            session_leader: false,
            forknoexec: true,
            timers: Default::default(),
            altstack: Default::default(),
            sched: Default::default(),
            rlimits: Default::default(),
        }
    }

    /// Not exited: its fd table and memory still exist (Live or Blocked).
    pub(super) fn alive(&self) -> bool {
        !self.reaped && !matches!(self.state, TaskState::Zombie(_))
    }
}

impl Model {
    // rule: task.fork-copies-fd-table
    // rule: task.fork-limit
    /// `fork(2)`: the child gets the next label, a copy of the parent's fd table (same open
    /// file descriptions, FD_CLOEXEC copied per fd: kernel/fork.c copy_files → dup_fd) and a
    /// copy of its address space (kernel/fork.c dup_mm → mm/mmap.c dup_mmap, see
    /// [`super::memory::Memory::fork_mm`]). Exit signal SIGCHLD.
    pub(super) fn op_fork(&mut self, t: TaskId) -> Outcome {
        self.spawn(t, crate::op::CloneFlags::EMPTY, SIGCHLD)
    }

    /// The fd table of `t`.
    pub(super) fn fdt(&self, t: TaskId) -> &FdTable {
        &self.fdts[self.tasks[t as usize].files]
    }

    /// The fd table of `t`, mutably.
    pub(super) fn fdt_mut(&mut self, t: TaskId) -> &mut FdTable {
        let i = self.tasks[t as usize].files;
        &mut self.fdts[i]
    }

    /// Fd tables some task that has not exited still uses.
    pub(super) fn live_fdts(&self) -> Vec<&FdTable> {
        live_fd_tables(&self.tasks, &self.fdts)
    }

    /// Address spaces some task that has not exited still uses.
    pub(super) fn live_mms(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = self
            .tasks
            .iter()
            .filter(|t| t.alive())
            .map(|t| t.mm)
            .collect();
        idx.sort_unstable();
        idx.dedup();
        idx
    }

    // rule: task.sharing-classes
    /// A fresh class id for fs / sighand / sysvsem objects.
    pub(super) fn new_class(&mut self) -> u64 {
        self.next_class += 1;
        self.next_class
    }

    // rule: fs.clone-fs-shares-else-copies
    // rule: pgrp.inherited
    // rule: sig.fork-copies-dispositions
    // rule: sig.fork-keeps-mask-clears-pending
    /// Creates the child of a successful fork/vfork/clone by `t` (kernel/fork.c:
    /// copy_process): each object shared when its flag is set, else copied (copy_mm →
    /// dup_mmap, copy_files → dup_fd, copy_fs, copy_sighand); CLONE_THREAD joins the thread
    /// group and, like CLONE_PARENT, takes the caller's parent; the exit signal is -1 for a
    /// thread, the group leader's for CLONE_PARENT, else `exit_signal`.
    pub(super) fn spawn(
        &mut self,
        t: TaskId,
        flags: crate::op::CloneFlags,
        exit_signal: i32,
    ) -> Outcome {
        use crate::op::CloneFlags as F;
        if self.tasks.len() >= MAX_TASKS {
            return Outcome::Err(Errno::EAGAIN);
        }
        // rule fork.rlimit-nproc (clone_check applies it before its later errors).
        if self.nproc_refuses(t) {
            return Outcome::Err(Errno::EAGAIN);
        }
        if !flags.has(F::NEWPID) && self.pidns_dead(self.tasks[t as usize].pid_for_children) {
            return Outcome::Err(Errno::ENOMEM);
        }
        let child = self.tasks.len() as TaskId;
        let caller = self.tasks[t as usize].clone();
        let mm = if flags.has(F::VM) {
            caller.mm
        } else {
            let m = self.mem.fork_mm(&self.mms[caller.mm]);
            self.mms.push(m);
            self.mms.len() - 1
        };
        let files = if flags.has(F::FILES) {
            caller.files
        } else {
            let f = self.fdts[caller.files].clone();
            self.fdts.push(f);
            self.fdts.len() - 1
        };
        let fs = self.child_fs(caller.fs, flags.has(F::FS));
        let sighand = if flags.has(F::SIGHAND) {
            caller.sighand
        } else {
            // copy_sighand copies the actions; CLONE_CLEAR_SIGHAND resets handlers but keeps
            // SIG_IGN (kernel/signal.c: flush_signal_handlers with force_default = 0).
            let c = self.new_class();
            let d = self.dispositions(t);
            let d = if flags.has(F::CLEAR_SIGHAND) {
                d.cleared()
            } else {
                d
            };
            self.sighands.insert(c, d);
            c
        };
        let ns = self.child_namespaces(caller.ns, flags);
        let sysvsem = if flags.has(F::SYSVSEM) {
            self.tasks[t as usize].sysvsem
        } else {
            0
        };
        let thread = flags.has(F::THREAD);
        let parent = if thread || flags.has(F::PARENT) {
            // current->real_parent: a thread's is its group's (set at clone, moved with the
            // group by forget_original_parent), which the model keeps on the leader.
            self.tasks[caller.tgid as usize].parent
        } else {
            Parent::Task(t)
        };
        let exit_signal = if thread {
            -1
        } else if flags.has(F::PARENT) {
            self.tasks[caller.tgid as usize].exit_signal
        } else {
            exit_signal
        };
        // copy_namespaces → copy_pid_ns: a CLONE_NEWPID child's namespace is a child of the
        // caller's pid_ns_for_children (its active one: clone_check refused the rest), any
        // other child is born in pid_ns_for_children; alloc_pid makes the first task of a
        // namespace its init (pid 1), which copy_process records as `child_reaper`.
        let (pidns, ns_init) = if flags.has(F::NEWPID) {
            // Owned by the child's user namespace (the new one with CLONE_NEWUSER).
            let ns = self.new_pidns(caller.pid_for_children, ns.user);
            (ns, true)
        } else {
            let ns = caller.pid_for_children;
            (ns, self.pidns_empty.remove(&ns))
        };
        if ns_init {
            self.pidns_init.insert(pidns, child);
        }
        self.tasks.push(Task {
            parent,
            state: TaskState::Live,
            reaped: false,
            children: Vec::new(),
            mm,
            files,
            fs,
            sighand,
            sysvsem,
            tgid: if thread { caller.tgid } else { child },
            exit_signal,
            // copy_process: the task struct is copied (self_exec_id with it); a sibling
            // (CLONE_PARENT, CLONE_THREAD) shares the caller's parent and so its
            // parent_exec_id, a child records the caller's self_exec_id.
            self_exec_id: caller.self_exec_id,
            parent_exec_id: if thread || flags.has(F::PARENT) {
                caller.parent_exec_id
            } else {
                caller.self_exec_id
            },
            pidns,
            ns_init,
            // A child's nsproxy is its creator's or a copy of it: either way its
            // pid_ns_for_children is the namespace it was born in.
            pid_for_children: pidns,
            userns: caller.userns || flags.has(F::NEWUSER),
            userns_caps: flags.has(F::NEWUSER) || caller.userns_caps,
            blocked_on: None,
            clear_child_tid: false,
            // copy_process: the child's blocked mask is the caller's; its private pending
            // set starts empty (init_sigpending), and so does a new thread group's shared
            // one (copy_signal).
            blocked: caller.blocked,
            pending: 0,
            shared_pending: 0,
            ns,
            // copy_signal: a new thread group starts with no job control state.
            job: Default::default(),
            // copy_process: `p->pdeath_signal = 0`, for threads too; copy_signal starts a new
            // process with `is_child_subreaper` clear (a thread's is its group's).
            pdeath_signal: 0,
            child_subreaper: false,
            // copy_seccomp: the caller's filters and no_new_privs, for threads too.
            no_new_privs: caller.no_new_privs,
            seccomp: caller.seccomp.clone(),
            // copy_process: a new process joins the caller's process group and session
            // (init_task_pid of PIDTYPE_PGID and PIDTYPE_SID from task_pgrp(current) and
            // task_session(current)), whatever the flags; copy_signal does not inherit
            // session leadership; PF_FORKNOEXEC is set until the child execs.
            pgrp: self.pgrp_of(t),
            sid: self.session_of(t),
            session_leader: false,
            forknoexec: true,
            // copy_signal: a new process's signal_struct starts zeroed, without timers; a
            // thread's are its group's (rule timer.new-process-has-none).
            timers: Default::default(),
            // rule sig.altstack-fork.
            altstack: caller.altstack.for_child(flags),
            // rule sched.fork.
            sched: caller.sched.for_child(),
            // copy_signal: a new process's limits are a copy of its creator's process's
            // (a thread's are its group's, read on the leader).
            rlimits: self.tasks[caller.tgid as usize].rlimits,
        });
        if !thread {
            if let Parent::Task(p) = parent {
                self.tasks[p as usize].children.push(child);
            }
        }
        Outcome::Child(child)
    }

    // rule: task.orphans-go-to-a-live-thread-first
    // rule: task.exit-zombie-and-reparent
    // rule: pidns.zap-outer-children-stay-zombies
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
        let (mm, files) = (task.mm, task.files);
        let children = std::mem::take(&mut task.children);
        if self.tasks[t as usize].exit_signal == -1 {
            // A non-leader thread is released at once (kernel/exit.c: exit_notify with
            // autoreap): it never is a zombie.
            self.tasks[t as usize].reaped = true;
        }
        if !self.tasks.iter().any(|x| x.alive() && x.files == files) {
            self.fdts[files].clear();
            self.files.locks.drop_table(files);
        }
        self.release_child_tid(t, mm);
        if !self.tasks.iter().any(|x| x.alive() && x.mm == mm) {
            let mut m = std::mem::take(&mut self.mms[mm]);
            self.mem.release_mm(&mut m);
        }
        // Orphans go to the init of the pid namespace (when the dying task is not that
        // init), else to the lab's subreaper (kernel/exit.c: find_new_reaper looks for a
        // subreaper only among ancestors at the same pid namespace level). Reparenting
        // resets their exit signal to SIGCHLD (reparent_leader: "We don't want people
        // slaying init").
        let me = &self.tasks[t as usize];
        // find_new_reaper tries a live thread of the dying task's own group first
        // (find_alive_thread, in thread-list order: the leader, then creation order); such
        // a move keeps the exit signal (reparent_leader runs only across groups).
        let tgid = me.tgid;
        let mut group: Vec<usize> = (0..self.tasks.len())
            .filter(|&i| i != t as usize && self.tasks[i].tgid == tgid && self.tasks[i].alive())
            .collect();
        group.sort_by_key(|&i| (i != tgid as usize, i));
        let heir = group.first().copied();
        if let Some(heir) = heir {
            // find_child_reaper: a pid namespace's init role passes to a live thread of its
            // group before anything is zapped.
            if self.tasks[t as usize].ns_init {
                self.tasks[t as usize].ns_init = false;
                self.tasks[heir].ns_init = true;
            }
            for &c in &children {
                if let Some(child) = self.tasks.get_mut(c as usize) {
                    child.parent = Parent::Task(heir as TaskId);
                }
                self.tasks[heir].children.push(c);
            }
            self.send_pdeath_signals(t, &children);
        } else {
            let zapped = me.ns_init;
            let ns_reaper = if me.pidns != 0 && !me.ns_init {
                self.tasks
                    .iter()
                    .position(|x| x.alive() && x.ns_init && x.pidns == me.pidns)
            } else {
                None
            };
            let reaper = if zapped {
                None
            } else {
                self.subreaper_ancestor(t).map(|r| r as usize).or(ns_reaper)
            };
            for &c in &children {
                if let Some(child) = self.tasks.get_mut(c as usize) {
                    child.parent = match reaper {
                        Some(r) => Parent::Task(r as TaskId),
                        None => Parent::Reaper,
                    };
                    child.exit_signal = SIGCHLD;
                }
                if let Some(r) = reaper {
                    self.tasks[r].children.push(c);
                }
            }
            if !zapped {
                self.send_pdeath_signals(t, &children);
                if reaper.is_some() {
                    for &c in &children {
                        self.notify_adopted_zombie(c);
                    }
                }
            }
        }
        if self.tasks[t as usize].ns_init {
            // The init of a pid namespace takes every task of the namespace with it and
            // reaps them before it is a zombie itself (kernel/pid_namespace.c:
            // zap_pid_ns_processes). To do so it sets SIGCHLD to SIG_IGN in its
            // sighand_struct, which every task sharing it (CLONE_SIGHAND) keeps.
            self.dispositions_mut(t)
                .set(SIGCHLD, crate::op::SigAction::Ignore);
            let ns = self.tasks[t as usize].pidns;
            self.pidns_zapped(ns);
            let inside: Vec<usize> = (0..self.tasks.len())
                .filter(|&i| i != t as usize && !self.tasks[i].reaped && self.in_pidns(i, ns))
                .collect();
            // A task of the namespace whose parent is outside it (a later child of the task
            // that unshared CLONE_NEWPID) is that parent's to reap: it stays its zombie.
            let outer_parent = |m: &Model, i: usize| match m.tasks[m.tasks[i].tgid as usize].parent
            {
                Parent::Task(p) => p != t && !m.in_pidns(p as usize, ns),
                Parent::Reaper => false,
            };
            let kept: Vec<usize> = inside
                .iter()
                .copied()
                .filter(|&i| self.tasks[i].exit_signal != -1 && outer_parent(self, i))
                .collect();
            for &i in &inside {
                self.terminate(i as TaskId, ExitStatus::Signaled(Signal::SIGKILL));
            }
            for &i in inside.iter().filter(|i| !kept.contains(i)) {
                self.tasks[i].reaped = true;
                self.tasks[i].parent = Parent::Reaper;
            }
            self.tasks[t as usize].children.clear();
        }
        // do_notify_parent: a child whose exit signal is SIGCHLD is released at once when its
        // parent ignores SIGCHLD; otherwise the exit signal goes to the parent. A group
        // leader notifies once its whole group is gone.
        let tgid = self.tasks[t as usize].tgid;
        let group_dead = !self.tasks.iter().any(|x| x.tgid == tgid && x.alive());
        if group_dead && self.tasks[tgid as usize].exit_signal != -1 {
            self.notify_parent(tgid);
        }
        if let Some((p, SIGCHLD)) = self.parent_signal(t) {
            if self.dispositions(p).autoreap() {
                self.tasks[t as usize].reaped = true;
                self.tasks[p as usize].children.retain(|&c| c != t);
            }
        }
    }

    /// Whether task `i` lives in pid namespace `ns` or one nested in it.
    pub(super) fn in_pidns(&self, i: usize, ns: u32) -> bool {
        // Namespaces are only created by NEWPID children; walk up the creators' namespaces
        // through the tasks that are namespace inits.
        let mut cur = self.tasks[i].pidns;
        loop {
            if cur == ns {
                return true;
            }
            if cur == 0 {
                return false;
            }
            match self.pidns_parent.get(&cur) {
                Some(&p) => cur = p,
                None => return false,
            }
        }
    }

    // rule: task.wait-reaps-in-children-order
    /// `wait4(pid or -1, &status, 0, NULL)` (wait4(2)). `ECHILD` when the task has no child
    /// that matches; a zombie match is reaped (the first zombie in `children` order for
    /// `Any`); otherwise the call blocks until a matching child exits
    /// ([`Model::wake_blocked`]).
    pub(super) fn op_wait(&mut self, t: TaskId, target: WaitTarget, opts: WaitOptions) -> Outcome {
        let spec = self.wait4_spec(t, target, opts);
        match self.do_wait(t, spec) {
            Err(e) => Outcome::Err(e),
            Ok(Some((c, super::wait::Event::Exited(status)))) => {
                Outcome::Reaped { task: c, status }
            }
            // A stop or continue report: wait4's status word `sig << 8 | 0x7f` or `0xffff`,
            // shown as the siginfo waitid would give.
            Ok(Some((c, ev))) => self.waitid_report(c, ev),
            Ok(None) if opts.nohang => Outcome::Ret(0),
            Ok(None) => {
                self.pending_block = Some(BlockedOp::Wait(spec));
                Outcome::Blocked
            }
        }
    }

    // rule: clone.child-cleartid-on-mm-release
    /// mm_release of `t` leaving address space `mm` (exit, exec): with CLONE_CHILD_CLEARTID
    /// its `child_tid` word becomes 0 — only while some other task still uses `mm`
    /// (kernel/fork.c: mm_release checks `mm_users > 1`; nobody could see the word
    /// otherwise).
    pub(super) fn release_child_tid(&mut self, t: TaskId, mm: usize) {
        if !std::mem::take(&mut self.tasks[t as usize].clear_child_tid) {
            return;
        }
        let shared = self
            .tasks
            .iter()
            .enumerate()
            .any(|(i, x)| i != t as usize && x.alive() && x.mm == mm);
        if shared {
            self.mms[mm]
                .tid_words
                .remove(&(t, crate::obs::TidWord::ChildTid));
        }
    }

    // rule: task.wait-sees-the-whole-thread-group
    /// The children a `wait` by `t` scans, with the thread whose list holds each: do_wait
    /// walks `t`'s own children, then those of the other threads of its group from `t` on
    /// in thread-list order (kernel/exit.c: do_wait → `while_each_thread`; the list is the
    /// leader, then the threads in creation order).
    pub(super) fn group_children(&self, t: TaskId) -> Vec<(TaskId, TaskId)> {
        let tgid = self.tasks[t as usize].tgid;
        let mut threads: Vec<TaskId> = (0..self.tasks.len() as TaskId)
            .filter(|&i| self.tasks[i as usize].tgid == tgid && !self.tasks[i as usize].reaped)
            .collect();
        threads.sort_by_key(|&i| (i != tgid, i));
        let at = threads.iter().position(|&i| i == t).unwrap_or(0);
        threads.rotate_left(at);
        threads
            .into_iter()
            .flat_map(|th| {
                self.tasks[th as usize]
                    .children
                    .iter()
                    .map(move |&c| (th, c))
            })
            .collect()
    }

    // rule: task.blocked-ops-wake
    // rule: task.blocked-wait-echild-when-no-child-left
    /// Completes the ops of blocked tasks that Linux would wake now, until nothing changes:
    /// a `wait` whose child exited reaps it (kernel/exit.c: do_notify_parent wakes the
    /// parent's wait queue); a pipe read gets data or EOF; a pipe write gets room (and goes
    /// on where it stopped) or, with no reader left, SIGPIPE. A completed task is Live again;
    /// the result of its op is not an outcome of any step. When several blocked readers share
    /// a pipe, the model serves them in label order (Linux wakes them all and the scheduler
    /// decides).
    /// Returns whether some task's call completed.
    pub(super) fn wake_blocked(&mut self) -> bool {
        let mut any = false;
        loop {
            let mut changed = false;
            for t in 0..self.tasks.len() {
                // A stopped task is not in its system call: it restarts it once continued.
                if self.tasks[t].reaped
                    || self.tasks[t].state != TaskState::Blocked
                    || self.group_stopped(t as TaskId)
                {
                    continue;
                }
                let Some(op) = self.tasks[t].blocked_on.clone() else {
                    continue;
                };
                let label = t as TaskId;
                let done = match op {
                    // A wait ends when it finds a child to report, or with ECHILD when no
                    // child it could wait for is left (one its parent's SIGCHLD disposition
                    // released at exit: do_notify_parent wakes the waiter either way).
                    // A blocked wait looks again only when its thread group's queue was
                    // woken (a child's exit or release, a stop or continue report); a
                    // child that stops being eligible (an exec resets its exit signal to
                    // SIGCHLD, so a __WCLONE wait no longer matches it) wakes nobody.
                    BlockedOp::Wait(spec) => {
                        self.woken_parents.contains(&self.tasks[t].tgid)
                            && !matches!(self.do_wait(label, spec), Ok(None))
                    }
                    BlockedOp::Vfork(child) => !self.tasks[child as usize].alive(),
                    BlockedOp::PipeRead { ofd, len } => self.pipe_read_wakes(ofd, len),
                    BlockedOp::Flock {
                        ofd,
                        inode,
                        exclusive,
                        blocker,
                        ..
                    } => self.flock_wakes(label, ofd, inode, exclusive, blocker),
                    BlockedOp::PipeWrite { ofd, rest } => match self.pipe_write_wakes(ofd, &rest) {
                        // The write ends with EPIPE and SIGPIPE goes to the writer, which
                        // the delivery step may kill (see op_write).
                        Err(()) => {
                            self.send_signal(label, Signal::SIGPIPE.0, false, false);
                            true
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
                    any = true;
                }
            }
            if !changed {
                break;
            }
        }
        any
    }
}

// rule: fd.blocked-call-holds-its-description
/// The open file descriptions that tasks asleep in a system call on an fd hold (a pipe read
/// or write, a flock): in a task whose fd table is shared, `fdget` takes a reference
/// (fs/file.c: __fget_light), so another task's close of the fd leaves the description, its
/// pipe end and its locks in place until the call returns (fput). A stopped task is not in
/// its call (it left with -ERESTARTSYS and restarts from the fd number once continued) and
/// holds nothing.
pub(super) fn in_flight_ofds(m: &super::Model) -> Vec<u64> {
    m.tasks
        .iter()
        .enumerate()
        .filter(|(i, t)| t.state == TaskState::Blocked && !m.group_stopped(*i as TaskId))
        .filter_map(|(_, t)| match t.blocked_on {
            Some(BlockedOp::PipeRead { ofd, .. })
            | Some(BlockedOp::PipeWrite { ofd, .. })
            | Some(BlockedOp::Flock { ofd, .. }) => Some(ofd),
            _ => None,
        })
        .collect()
}

/// The fd tables of `fdts` that some task of `tasks` that has not exited still uses, each once.
/// A free function so that callers can hold `&mut` to other parts of the model meanwhile.
pub(super) fn live_fd_tables<'a>(tasks: &[Task], fdts: &'a [FdTable]) -> Vec<&'a FdTable> {
    let mut idx: Vec<usize> = tasks
        .iter()
        .filter(|t| t.alive())
        .map(|t| t.files)
        .collect();
    idx.sort_unstable();
    idx.dedup();
    idx.into_iter().map(|i| &fdts[i]).collect()
}
