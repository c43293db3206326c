//! Pid namespaces a task makes for its children: `unshare(CLONE_NEWPID)` and the allocation
//! of pids in such a namespace (whose first task is its init).
//!
//! Sources: unshare(2), pid_namespaces(7); kernel/nsproxy.c (`unshare_nsproxy_namespaces`,
//! `create_new_namespaces`), kernel/pid_namespace.c (`copy_pid_ns`, `create_pid_namespace`,
//! `zap_pid_ns_processes`), kernel/pid.c (`alloc_pid`, `free_pid`), kernel/fork.c
//! (`copy_process`).

use super::Model;
use crate::obs::{Errno, Parent};
use crate::op::{CloneFlags as F, SetTid, TaskId};

impl Model {
    /// A new pid namespace, child of `parent`, owned by user namespace `owner` (0 is the
    /// lab's).
    pub(super) fn new_pidns(&mut self, parent: u32, owner: u32) -> u32 {
        self.next_pidns += 1;
        let ns = self.next_pidns;
        self.pidns_parent.insert(ns, parent);
        if owner != 0 {
            self.pidns_owner.insert(ns, owner);
        }
        ns
    }

    /// Whether pid namespace `ns` takes no more tasks (`PIDNS_ADDING` cleared).
    pub(super) fn pidns_dead(&self, ns: u32) -> bool {
        self.pidns_dead.contains(&ns)
    }

    /// Whether pid 1 of `ns` is free: a namespace nobody was born in yet, or whose init was
    /// released. The lab's namespace always has its init.
    fn pid1_free(&self, ns: u32) -> bool {
        self.pidns_empty.contains(&ns)
            || self
                .pidns_init
                .get(&ns)
                .is_some_and(|&i| self.tasks[i as usize].reaped)
    }

    // rule: pidns.unshare-for-children
    /// `unshare(CLONE_NEWPID)` by `t`, past the EPERM check of `unshare_nsproxy_namespaces`:
    /// copy_pid_ns refuses (EINVAL) a caller whose `pid_ns_for_children` is no longer its
    /// active namespace (it unshared one already, `old_ns != task_active_pid_ns(current)`).
    /// Else a new namespace, child of the caller's, becomes its `pid_ns_for_children`; the
    /// caller itself stays where it is (pid and namespace). Returns the errno, or the
    /// change to commit with [`Model::commit_unshare_newpid`] once every other part of the
    /// unshare succeeded.
    pub(super) fn check_unshare_newpid(&self, t: TaskId) -> Result<(), Errno> {
        let me = &self.tasks[t as usize];
        if me.pid_for_children != me.pidns {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// Commits `unshare(CLONE_NEWPID)` for `t` (see [`Model::check_unshare_newpid`]): the
    /// namespace is empty until the caller's next child, which alloc_pid makes its init.
    pub(super) fn commit_unshare_newpid(&mut self, t: TaskId) {
        let me = &self.tasks[t as usize];
        let (parent, owner) = (me.pidns, me.ns.user);
        let ns = self.new_pidns(parent, owner);
        self.pidns_empty.insert(ns);
        self.tasks[t as usize].pid_for_children = ns;
    }

    // rule: pidns.thread-needs-active-for-children
    /// copy_process: `CLONE_THREAD` is EINVAL while the caller's `pid_ns_for_children` is
    /// not its active pid namespace (a thread cannot live in another namespace than its
    /// group); `CLONE_VM` alone is allowed (the child is a process of the new namespace).
    pub(super) fn thread_pidns_mismatch(&self, t: TaskId, f: F) -> bool {
        let me = &self.tasks[t as usize];
        f.has(F::THREAD) && me.pid_for_children != me.pidns
    }

    // rule: pidns.clone-newpid-after-unshare
    /// copy_namespaces → copy_pid_ns (after the EPERM and NEWIPC|SYSVSEM checks): a
    /// `CLONE_NEWPID` child of a caller whose `pid_ns_for_children` is not its active
    /// namespace is EINVAL.
    pub(super) fn newpid_after_unshare(&self, t: TaskId, f: F) -> bool {
        let me = &self.tasks[t as usize];
        f.has(F::NEWPID) && me.pid_for_children != me.pidns
    }

    // rule: pidns.alloc-pid-dead-namespace
    /// alloc_pid for a child of `t` born in an existing namespace (no `CLONE_NEWPID`), past
    /// the set_tid capability check: `set_tid = [1]` takes pid 1, EEXIST while it is in use
    /// (always in the lab's namespace); then ENOMEM when the namespace takes no more tasks
    /// (`!(ns->pid_allocated & PIDNS_ADDING)`: its init died, zap_pid_ns_processes →
    /// disable_pid_allocation, or its first fork failed, free_pid resets `pid_allocated`).
    pub(super) fn alloc_pid_errno(&self, t: TaskId, set_tid: SetTid) -> Option<Errno> {
        let ns = self.tasks[t as usize].pid_for_children;
        if set_tid == SetTid::Pid1 && !self.pid1_free(ns) {
            return Some(Errno::EEXIST);
        }
        self.pidns_dead(ns).then_some(Errno::ENOMEM)
    }

    // rule: pidns.first-fork-failure-kills-namespace
    /// A clone by `t` into an existing namespace failed after alloc_pid (cgroup_can_fork's
    /// EBADF): when that was the first pid of the namespace, free_pid finds
    /// `pid_allocated == PIDNS_ADDING` ("Handle a fork failure of the first process") and
    /// sets it to 0, so the namespace takes no more tasks.
    pub(super) fn failed_after_alloc_pid(&mut self, t: TaskId) {
        let ns = self.tasks[t as usize].pid_for_children;
        if self.pidns_empty.remove(&ns) {
            self.pidns_dead.insert(ns);
        }
    }

    /// The init of `ns` died: zap_pid_ns_processes disables pid allocation there first.
    pub(super) fn pidns_zapped(&mut self, ns: u32) {
        self.pidns_dead.insert(ns);
    }

    /// Whether some process of a pid namespace the case made, other than its init, has its
    /// parent outside that namespace (a later child of a task that unshared
    /// `CLONE_NEWPID`): when the init dies the kernel's init waits in
    /// `zap_pid_ns_processes` until that parent reaped it, which the model does not follow
    /// (rule pidns.zap-outer-children-stay-zombies). For generators that avoid it.
    pub fn pidns_has_outer_child(&self) -> bool {
        self.tasks.iter().enumerate().any(|(i, x)| {
            let ns = x.pidns;
            ns != 0
                && !x.reaped
                && self.pidns_init.get(&ns) != Some(&(i as TaskId))
                && x.tgid as usize == i
                && matches!(x.parent, Parent::Task(p) if !self.in_pidns(p as usize, ns))
        })
    }
}
