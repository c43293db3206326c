//! execve(2): the task keeps its identity and loses what belonged to the old program.
//!
//! The lab re-executes its own agent binary, so "the new program" is always the agent: what
//! the model predicts is what the kernel does to the task, never what a program would do
//! after it starts (fs/exec.c: `begin_new_exec`, `de_thread`, `exec_mmap`, `setup_new_exec`).

use super::tasks::{BlockedOp, SIGCHLD};
use super::Model;
use crate::obs::{ExitStatus, Outcome, Parent, Signal, TaskState};
use crate::op::TaskId;

impl Model {
    // rule: exec.exit-signal-sigchld
    // rule: exec.drops-caps-in-unmapped-userns
    // rule: exec.enters-time-ns-for-children
    // rule: exec.resets-caught-handlers
    // rule: exec.resumes-vfork-parent
    // rule: exec.kills-other-threads
    // rule: exec.unshares-and-closes-cloexec
    // rule: exec.releases-mm
    // rule: exec.unshares-sighand
    // rule: timer.exec-keeps-itimers
    /// A successful `execve` by `t`, in the kernel's order:
    /// 1. `de_thread`: every other thread of the group dies without a zombie; a non-leader
    ///    caller takes the leader's place (its pid, its parent, its position in the parent's
    ///    children) and the old leader is released. The exit signal becomes SIGCHLD.
    ///    A sighand shared with another process (CLONE_SIGHAND without CLONE_THREAD) is
    ///    replaced by a private copy.
    /// 2. `unshare_files`: a shared fd table (CLONE_FILES) is copied, then every
    ///    `FD_CLOEXEC` fd closes (`do_close_on_exec`).
    /// 3. `exec_mmap`: the task gets a new address space without the case's regions; the old
    ///    one is released (`exec_mm_release` → `mm_release` completes a vfork parent's wait),
    ///    so a copy-on-write partner becomes the sole owner of its frames.
    /// 4. `setup_new_exec` → `flush_signal_handlers(current, 0)`: caught signals return to
    ///    the default; ignored ones stay ignored; the mask and pending signals are kept.
    ///
    /// The process's alarm and interval timers are kept: they live in the `signal_struct`,
    /// which exec keeps (alarm(2), getitimer(2)); its POSIX timers are deleted
    /// (`exit_itimers`, [`super::timers::GroupTimers::exec`]).
    pub(super) fn op_exec(&mut self, t: TaskId) -> Outcome {
        self.exec_de_thread(t);
        let me = t as usize;
        self.tasks[me].timers.exec();
        // rule sig.altstack-exec.
        self.tasks[me].altstack.exec();
        // rule sched.exec.
        self.tasks[me].sched.exec();
        self.tasks[me].exit_signal = SIGCHLD;
        // begin_new_exec: children made before this exec send SIGCHLD whatever their exit
        // signal (rule sig.exit-signal-after-parent-exec).
        self.tasks[me].self_exec_id += 1;
        self.tasks[me].userns_caps = false;
        // begin_new_exec clears PF_FORKNOEXEC: a parent's setpgid on it is EACCES from now.
        self.tasks[me].forknoexec = false;
        let sighand = self.tasks[me].sighand;
        let shared_sighand = self
            .tasks
            .iter()
            .enumerate()
            .any(|(i, x)| i != me && !x.reaped && x.sighand == sighand);
        if shared_sighand {
            let d = self.dispositions(t);
            let c = self.new_class();
            self.sighands.insert(c, d);
            self.tasks[me].sighand = c;
        }
        // begin_new_exec → exec_task_namespaces (kernel/nsproxy.c): a task whose
        // time_ns_for_children differs from its time namespace enters it at exec (the new mm
        // gets that namespace's vDSO page).
        let ns = &mut self.tasks[me].ns;
        ns.time = ns.time_for_children;
        // setup_new_exec → flush_signal_handlers(current, 0): handlers become SIG_DFL,
        // SIG_IGN stays; the blocked mask and pending signals are kept.
        let cleared = self.dispositions(t).cleared();
        *self.dispositions_mut(t) = cleared;
        let files = self.tasks[me].files;
        if self
            .tasks
            .iter()
            .enumerate()
            .any(|(i, x)| i != me && x.alive() && x.files == files)
        {
            let copy = self.fdts[files].clone();
            self.fdts.push(copy);
            self.tasks[me].files = self.fdts.len() - 1;
        }
        self.close_on_exec(t);
        let old = self.tasks[me].mm;
        self.release_child_tid(t, old);
        self.mms.push(Default::default());
        self.tasks[me].mm = self.mms.len() - 1;
        if !self.tasks.iter().any(|x| x.alive() && x.mm == old) {
            let mut m = std::mem::take(&mut self.mms[old]);
            self.mem.release_mm(&mut m);
        }
        for p in 0..self.tasks.len() {
            if self.tasks[p].blocked_on == Some(BlockedOp::Vfork(t)) {
                self.tasks[p].state = TaskState::Live;
                self.tasks[p].blocked_on = None;
            }
        }
        Outcome::Ret(0)
    }

    /// `de_thread`: the other threads of `t`'s group are killed and released; a non-leader
    /// `t` becomes the leader in the old leader's place.
    fn exec_de_thread(&mut self, t: TaskId) {
        let tgid = self.tasks[t as usize].tgid;
        let others: Vec<TaskId> = (0..self.tasks.len() as TaskId)
            .filter(|&i| i != t && self.tasks[i as usize].tgid == tgid)
            .filter(|&i| !self.tasks[i as usize].reaped)
            .collect();
        if others.is_empty() {
            return;
        }
        // Children of the dying threads go to a live thread of the group first
        // (kernel/exit.c: find_alive_thread in find_new_reaper): the caller.
        let mut orphans = Vec::new();
        for &o in &others {
            let kids = std::mem::take(&mut self.tasks[o as usize].children);
            for &c in &kids {
                if let Some(child) = self.tasks.get_mut(c as usize) {
                    child.parent = Parent::Task(t);
                }
                self.tasks[t as usize].children.push(c);
            }
            orphans.push((o, kids));
        }
        if t != tgid {
            self.groups_take_over(t, tgid);
            let leader = tgid as usize;
            // The subreaper flag belongs to the signal_struct, which the caller keeps.
            self.tasks[t as usize].child_subreaper = self.tasks[leader].child_subreaper;
            // So do the timers (rule timer.exec-deletes-posix-timers).
            self.tasks[t as usize].timers = std::mem::take(&mut self.tasks[leader].timers);
            // And the resource limits.
            self.tasks[t as usize].rlimits = self.tasks[leader].rlimits;
            // The group's shared pending set lives on the leader in this model.
            let shared = std::mem::take(&mut self.tasks[leader].shared_pending);
            self.tasks[t as usize].shared_pending |= shared;
            let parent = self.tasks[leader].parent;
            self.tasks[t as usize].parent = parent;
            if let Parent::Task(p) = parent {
                if let Some(pos) = self.tasks[p as usize]
                    .children
                    .iter()
                    .position(|&c| c == tgid)
                {
                    self.tasks[p as usize].children[pos] = t;
                }
            }
        }
        // Each killed thread passes its children on in its own exit (forget_original_parent),
        // which sends their parent-death signals.
        for (o, kids) in orphans {
            self.send_pdeath_signals(o, &kids);
        }
        for &o in &others {
            // zap_other_threads sends SIGKILL; none of them leaves a zombie.
            self.tasks[o as usize].exit_signal = -1;
            self.terminate(o, ExitStatus::Signaled(Signal::SIGKILL));
            self.tasks[o as usize].reaped = true;
        }
        for x in self.tasks.iter_mut() {
            if x.tgid == tgid {
                x.tgid = t;
            }
        }
        // The caller took over the leader's pid, which is the `fl_pid` of the group's locks
        // and what the group's pidfds refer to.
        self.files.locks.relabel_pid(tgid, t);
        if t != tgid {
            self.files.swap_pidfd_tasks(t, tgid);
        }
    }
}
