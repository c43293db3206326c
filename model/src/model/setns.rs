//! `setns(pidfd, flags)`: joining the namespaces of another task (Linux 5.8, commit
//! 303cc571d107 "nsproxy: attach to namespaces via pidfds"), all requested kinds or none.
//!
//! Sources: setns(2); kernel/nsproxy.c (`SYSCALL_DEFINE2(setns)`, `check_setns_flags`,
//! `prepare_nsset`, `validate_nsset`, `commit_nsset`), kernel/ptrace.c
//! (`__ptrace_may_access`), security/commoncap.c (`cap_ptrace_access_check`,
//! `cap_capable`), and the install functions: kernel/user_namespace.c `userns_install`,
//! fs/namespace.c `mntns_install`, kernel/utsname.c `utsns_install`, ipc/namespace.c
//! `ipcns_install`, kernel/pid_namespace.c `pidns_install`, kernel/cgroup/namespace.c
//! `cgroupns_install`, net/core/net_namespace.c `netns_install`, kernel/time/namespace.c
//! `timens_install`. Their rules are the same on every kernel with setns by pidfd (5.8 and
//! later; a later kernel only moved the pid namespace ancestry walk into
//! `pidns_is_ancestor`).
//!
//! User namespaces of a case are all children of the lab's: a task inside one has no uid
//! mapping there and cannot make another (rule clone.validity-rules), and setns only enters
//! one the caller's namespace owns. So `ns_capable(ns, cap)` is: the caller's own set when
//! `ns` is its user namespace; every capability for a caller in the lab's namespace over a
//! namespace of the case (`cap_capable`: the parent namespace's task with the owner's euid,
//! and every task of a case has the same uid); none otherwise.

use super::tasks::Task;
use super::Model;
use crate::obs::{Errno, Outcome};
use crate::op::{CloneFlags as F, Fd, TaskId};

/// The flags `check_setns_flags` takes with a pidfd.
const SETNS_FLAGS: u64 = F::NEWNS.0
    | F::NEWUTS.0
    | F::NEWIPC.0
    | F::NEWNET.0
    | F::NEWTIME.0
    | F::NEWUSER.0
    | F::NEWPID.0
    | F::NEWCGROUP.0;

impl Model {
    /// `ns_capable(owner, CAP_SYS_ADMIN)` for `me` (see the module documentation; user
    /// namespace 0 is the lab's).
    pub(super) fn capable_over(&self, me: &Task, owner: u32) -> bool {
        if me.ns.user == owner {
            self.ns_capable(me, &self.profile)
        } else {
            me.ns.user == 0
        }
    }

    /// The user namespace owning pid namespace `ns`.
    pub(super) fn pidns_owner(&self, ns: u32) -> u32 {
        self.pidns_owner.get(&ns).copied().unwrap_or(0)
    }

    /// The user namespace owning the ipc, mnt, net, cgroup or time namespace `id`.
    fn ns_owner(&self, id: u32) -> u32 {
        self.ns_owner.get(&id).copied().unwrap_or(0)
    }

    /// Whether pid namespace `ns` is `ancestor` or nested in it.
    fn pidns_within(&self, ns: u32, ancestor: u32) -> bool {
        let mut cur = ns;
        loop {
            if cur == ancestor {
                return true;
            }
            match self.pidns_parent.get(&cur) {
                Some(&p) if cur != 0 => cur = p,
                _ => return false,
            }
        }
    }

    // rule: ns.setns-ptrace-read
    /// `ptrace_may_access(target, PTRACE_MODE_READ_REALCREDS)` by `t`: the same thread group
    /// may; every task of a case has the same uids and stays dumpable, so
    /// `cap_ptrace_access_check` decides: in the same user namespace, the target's
    /// permitted capabilities must be a subset of the caller's (a task of a case's user
    /// namespace that exec'd has none, one that did not has all), else CAP_SYS_PTRACE over
    /// the target's user namespace (`ns_capable`, as [`Model::capable_over`]).
    fn ptrace_may_read(&self, t: TaskId, target: TaskId) -> bool {
        let (me, it) = (&self.tasks[t as usize], &self.tasks[target as usize]);
        if me.tgid == it.tgid {
            return true;
        }
        if me.ns.user == it.ns.user {
            let caps = |x: &Task| self.ns_capable(x, &self.profile);
            !caps(it) || caps(me)
        } else {
            me.ns.user == 0
        }
    }

    /// Whether another task that has not exited shares `t`'s thread group or address space
    /// (lib/is_single_threaded.c `current_is_single_threaded`: `signal->live`, then the
    /// other users of the mm).
    fn multithreaded(&self, t: TaskId) -> bool {
        let me = &self.tasks[t as usize];
        self.tasks
            .iter()
            .enumerate()
            .any(|(i, x)| i != t as usize && x.alive() && (x.tgid == me.tgid || x.mm == me.mm))
    }

    // rule: ns.setns-pidfd-checks
    // rule: ns.setns-user-install
    // rule: ns.setns-mnt-install
    // rule: ns.setns-install-needs-admin-over-owner
    // rule: ns.setns-pid-for-children-descendant
    // rule: ns.setns-time-single-threaded
    /// The checks of `setns(fd, flags)` by `t`, in the kernel's order; the target task, or
    /// the errno (nothing changed):
    /// 1. EBADF for an fd not open; EINVAL for a description that is no pidfd (nor a
    ///    /proc/PID/ns file, which no op opens); EINVAL for flags 0 or outside the eight
    ///    `CLONE_NEW*` (`check_setns_flags`);
    /// 2. `validate_nsset`: ESRCH once the task was reaped (`pid_task` is NULL), EPERM when
    ///    [`Model::ptrace_may_read`] refuses, ESRCH for a zombie (`exit_task_namespaces`
    ///    cleared its nsproxy);
    /// 3. the install functions, user, mnt, uts, ipc, pid, cgroup, net, time, each with
    ///    `ns_capable(owner of the target's namespace, CAP_SYS_ADMIN)` and
    ///    `ns_capable(user namespace of the new credentials, CAP_SYS_ADMIN)` (the caller's,
    ///    or the one it joins with `CLONE_NEWUSER`), EPERM. Besides:
    ///    - user: EINVAL when the target's is the caller's own (no regaining capabilities),
    ///      when the caller's thread group has another thread not yet released
    ///      (`thread_group_empty`) or its fs_struct has another user (CLONE_FS); then EPERM
    ///      without CAP_SYS_ADMIN over it (no second check);
    ///    - mnt: EPERM also without CAP_SYS_CHROOT in the new credentials' namespace (held
    ///      with CAP_SYS_ADMIN here); EINVAL when the fs_struct has another user, but only
    ///      for `flags == CLONE_NEWNS`: with other flags `prepare_nsset` checks a private
    ///      copy (`copy_fs_struct`), and commit_nsset then sets the root and cwd of the
    ///      shared fs_struct;
    ///    - pid: the target's active pid namespace must be the caller's active one or nested
    ///      in it, else EINVAL (after the EPERM check);
    ///    - time: EUSERS first when another live thread or task shares the caller's address
    ///      space (`current_is_single_threaded`, a vfork parent included).
    pub(super) fn setns_check(&self, t: TaskId, fd: Fd, flags: F) -> Result<TaskId, Errno> {
        // The flags are an int: bits above 31 never reach the kernel.
        let flags = F(u64::from(flags.0 as u32));
        let me = &self.tasks[t as usize];
        let ofd = self.fdt(t).get(&fd).ok_or(Errno::EBADF)?.ofd;
        let r = self.files.pidfd_ref(ofd).ok_or(Errno::EINVAL)?;
        if flags.0 == 0 || flags.0 & !SETNS_FLAGS != 0 {
            return Err(Errno::EINVAL);
        }
        let it = &self.tasks[r.task as usize];
        if it.reaped {
            return Err(Errno::ESRCH);
        }
        if !self.ptrace_may_read(t, r.task) {
            return Err(Errno::EPERM);
        }
        if !it.alive() {
            return Err(Errno::ESRCH);
        }
        let others = |pred: &dyn Fn(&Task) -> bool| {
            self.tasks
                .iter()
                .enumerate()
                .any(|(i, x)| i != t as usize && pred(x))
        };
        let fs_shared = others(&|x| x.alive() && x.fs == me.fs);
        let mut cred_user = me.ns.user;
        if flags.has(F::NEWUSER) {
            if it.ns.user == me.ns.user || others(&|x| !x.reaped && x.tgid == me.tgid) || fs_shared
            {
                return Err(Errno::EINVAL);
            }
            if !self.capable_over(me, it.ns.user) {
                return Err(Errno::EPERM);
            }
            cred_user = it.ns.user;
        }
        let admin = |owner: u32| self.capable_over(me, owner) && self.capable_over(me, cred_user);
        if flags.has(F::NEWNS) {
            if !admin(self.ns_owner(it.ns.mnt)) {
                return Err(Errno::EPERM);
            }
            if flags == F::NEWNS && fs_shared {
                return Err(Errno::EINVAL);
            }
        }
        if flags.has(F::NEWUTS) {
            let owner = self.uts.get(it.ns.uts as usize).map_or(0, |u| u.owner);
            if !admin(owner) {
                return Err(Errno::EPERM);
            }
        }
        if flags.has(F::NEWIPC) && !admin(self.ns_owner(it.ns.ipc)) {
            return Err(Errno::EPERM);
        }
        if flags.has(F::NEWPID) {
            if !admin(self.pidns_owner(it.pidns)) {
                return Err(Errno::EPERM);
            }
            if !self.pidns_within(it.pidns, me.pidns) {
                return Err(Errno::EINVAL);
            }
        }
        if flags.has(F::NEWCGROUP) && !admin(self.ns_owner(it.ns.cgroup)) {
            return Err(Errno::EPERM);
        }
        if flags.has(F::NEWNET) && !admin(self.ns_owner(it.ns.net)) {
            return Err(Errno::EPERM);
        }
        if flags.has(F::NEWTIME) {
            if self.multithreaded(t) {
                return Err(Errno::EUSERS);
            }
            if !admin(self.ns_owner(it.ns.time)) {
                return Err(Errno::EPERM);
            }
        }
        Ok(r.task)
    }

    // rule: ns.setns-commit
    // rule: ns.setns-mnt-cwd-not-followed
    /// `setns(fd, flags)` by `t` ([`Model::setns_check`]), then `commit_nsset`: the caller
    /// takes the target's namespace of each kind asked for. Joining a user namespace gives
    /// every capability there (`set_cred_user_ns`); an ipc namespace leaves the SysV undo
    /// list (`exit_sem`); a pid namespace becomes the one of the caller's later children,
    /// the caller stays where it is; a time namespace is both the caller's and its
    /// children's. A mount namespace moves the root and cwd to the namespace's root, outside
    /// the case directory: the model keeps the cwd it had, so generators never let such a
    /// join succeed ([`Model::setns_outcome`]).
    pub(super) fn op_setns(&mut self, t: TaskId, fd: Fd, flags: F) -> Outcome {
        let flags = F(u64::from(flags.0 as u32));
        let target = match self.setns_check(t, fd, flags) {
            Ok(x) => x as usize,
            Err(e) => return Outcome::Err(e),
        };
        let (ns, pidns) = (self.tasks[target].ns, self.tasks[target].pidns);
        let me = &mut self.tasks[t as usize];
        if flags.has(F::NEWUSER) {
            me.ns.user = ns.user;
            me.userns = true;
            me.userns_caps = true;
        }
        for (flag, mine, theirs) in [
            (F::NEWNS, &mut me.ns.mnt, ns.mnt),
            (F::NEWUTS, &mut me.ns.uts, ns.uts),
            (F::NEWIPC, &mut me.ns.ipc, ns.ipc),
            (F::NEWPID, &mut me.pid_for_children, pidns),
            (F::NEWCGROUP, &mut me.ns.cgroup, ns.cgroup),
            (F::NEWNET, &mut me.ns.net, ns.net),
        ] {
            if flags.has(flag) {
                *mine = theirs;
            }
        }
        if flags.has(F::NEWIPC) {
            me.sysvsem = 0;
        }
        if flags.has(F::NEWTIME) {
            me.ns.time = ns.time;
            me.ns.time_for_children = ns.time;
        }
        Outcome::Ret(0)
    }

    /// What `setns(fd, flags)` by `t` would return, without doing it: for generators that
    /// must not let a mount namespace join succeed (rule ns.setns-mnt-cwd-not-followed).
    /// `EBADF` for a task that cannot run.
    pub fn setns_outcome(&self, t: TaskId, fd: Fd, flags: F) -> Result<(), Errno> {
        if !self.runnable(t) {
            return Err(Errno::EBADF);
        }
        self.setns_check(t, fd, flags).map(|_| ())
    }
}
