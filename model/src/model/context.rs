//! The filesystem context (cwd and umask of an `fs_struct`), UTS namespaces (host names) and
//! the namespace identities of a task.
//!
//! Sources: kernel/fork.c `copy_fs` (CLONE_FS shares the `fs_struct`, else `copy_fs_struct`
//! copies it); fs/open.c `chdir`; kernel/sys.c `umask`, `sethostname`, `newuname`;
//! kernel/utsname.c `copy_utsname` (a new UTS namespace starts as a copy of the creator's,
//! owned by the child's user namespace); kernel/nsproxy.c `copy_namespaces`;
//! kernel/time/namespace.c `timens_on_fork` (a CLONE_NEWTIME child enters the new time
//! namespace at once).

use super::Model;
use crate::obs::{Errno, Outcome};
use crate::op::{CaseDir, HostName, TaskId};

/// One `fs_struct`: what the model tracks of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FsContext {
    /// Working directory.
    pub(super) cwd: CaseDir,
    /// File mode creation mask.
    pub(super) umask: u32,
}

impl Default for FsContext {
    /// `t0`'s: the case directory, umask 022 (the lab sets both before the first op).
    fn default() -> Self {
        FsContext {
            cwd: CaseDir::Case,
            umask: 0o022,
        }
    }
}

/// One UTS namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Uts {
    /// The node name; `None` is the machine's (the lab's namespace, untouched).
    pub(super) name: Option<HostName>,
    /// The user namespace owning it (0 is the lab's).
    pub(super) owner: u32,
}

/// Namespace identities of a task other than its pid namespace (`Task::pidns`). 0 is the
/// lab's namespace of each kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Namespaces {
    pub(super) uts: u32,
    pub(super) ipc: u32,
    pub(super) mnt: u32,
    pub(super) net: u32,
    pub(super) cgroup: u32,
    pub(super) time: u32,
    /// The time namespace the task's children enter (`time_ns_for_children`).
    pub(super) time_for_children: u32,
    pub(super) user: u32,
}

impl Model {
    /// A fresh namespace id.
    fn new_ns(&mut self) -> u32 {
        self.next_ns += 1;
        self.next_ns
    }

    // rule: ns.time-clone-vm-entered-before-6.2
    // rule: ns.time-entered-without-vm
    // rule: uts.new-namespace-copies-name
    // rule: ns.clone-new-namespaces
    /// The namespaces of a child of `caller` created with `flags`: each `CLONE_NEW*` flag
    /// gives a new namespace of its kind (the child is inside it, except a new time namespace
    /// with CLONE_VM, see below), the rest are the caller's.
    /// A new UTS namespace copies the caller's host name and is owned by the child's user
    /// namespace.
    pub(super) fn child_namespaces(
        &mut self,
        caller: Namespaces,
        flags: crate::op::CloneFlags,
    ) -> Namespaces {
        use crate::op::CloneFlags as F;
        let mut ns = caller;
        if flags.has(F::NEWUSER) {
            ns.user = self.new_ns();
        }
        for (flag, slot) in [
            (F::NEWIPC, 0),
            (F::NEWNS, 1),
            (F::NEWNET, 2),
            (F::NEWCGROUP, 3),
            (F::NEWTIME, 4),
        ] {
            if flags.has(flag) {
                let id = self.new_ns();
                // Owned by the user namespace the child runs in (copy_namespaces gets the
                // new credentials' user_ns).
                if ns.user != 0 {
                    self.ns_owner.insert(id, ns.user);
                }
                match slot {
                    0 => ns.ipc = id,
                    1 => ns.mnt = id,
                    2 => ns.net = id,
                    3 => ns.cgroup = id,
                    _ => ns.time_for_children = id,
                }
            }
        }
        // copy_namespaces calls timens_on_fork only without CLONE_VM (a shared mm keeps its
        // vDSO time page): such a child enters the caller's time_for_children namespace
        // (the new one with CLONE_NEWTIME); a CLONE_VM child stays in the caller's.
        //
        // Before Linux 6.2 (commit 2b5f9dad32ed "fs/exec: switch timens when a task gets a
        // new mm") copy_namespaces called timens_on_fork for every child it made a new
        // nsproxy for, CLONE_VM or not: a CLONE_NEWTIME|CLONE_VM child entered the new time
        // namespace at once. (copy_process then also refused CLONE_VM or CLONE_THREAD from a
        // caller whose time_ns_for_children differs from its time_ns, EINVAL; only unshare,
        // not an op, leaves a task in that state on those kernels.)
        if !flags.has(F::VM) || !self.profile.kernel_at_least(6, 2) {
            ns.time = ns.time_for_children;
        }
        if flags.has(F::NEWUTS) {
            let name = self.uts.get(caller.uts as usize).and_then(|u| u.name);
            self.uts.push(Uts {
                name,
                owner: ns.user,
            });
            ns.uts = (self.uts.len() - 1) as u32;
        }
        ns
    }

    /// The `fs_struct` of a child: the caller's with CLONE_FS, else a copy.
    pub(super) fn child_fs(&mut self, caller_fs: u64, share: bool) -> u64 {
        if share {
            return caller_fs;
        }
        let ctx = self
            .fs_contexts
            .get(&caller_fs)
            .copied()
            .unwrap_or_default();
        let c = self.new_class();
        self.fs_contexts.insert(c, ctx);
        c
    }

    /// The fs context of `t`.
    pub(super) fn fs_context(&self, t: TaskId) -> FsContext {
        let fs = self.tasks[t as usize].fs;
        self.fs_contexts.get(&fs).copied().unwrap_or_default()
    }

    // rule: fs.chdir
    /// `chdir(case dir / dir)`: ENOENT for a path that does not exist, ENOTDIR for a regular
    /// file; else the cwd of the caller's `fs_struct` (shared by CLONE_FS) changes.
    pub(super) fn op_chdir(&mut self, t: TaskId, dir: CaseDir) -> Outcome {
        match dir {
            CaseDir::Missing => Outcome::Err(Errno::ENOENT),
            CaseDir::Data => Outcome::Err(Errno::ENOTDIR),
            _ => {
                let fs = self.tasks[t as usize].fs;
                self.fs_contexts.entry(fs).or_default().cwd = dir;
                Outcome::Ret(0)
            }
        }
    }

    // rule: fs.umask
    /// `umask(mask)`: keeps `mask & 0777` in the caller's `fs_struct` and returns the old
    /// mask. A case's seccomp filter answers first ([`Model::seccomp_umask_errno`]).
    pub(super) fn op_umask(&mut self, t: TaskId, mask: u32) -> Outcome {
        if let Some(e) = self.seccomp_umask_errno(t) {
            return Outcome::Err(e);
        }
        let fs = self.tasks[t as usize].fs;
        let ctx = self.fs_contexts.entry(fs).or_default();
        let old = ctx.umask;
        ctx.umask = mask & 0o777;
        Outcome::Ret(i64::from(old))
    }

    // rule: uts.sethostname-needs-cap-over-owner
    /// `sethostname(name)`: needs CAP_SYS_ADMIN over the user namespace owning the caller's
    /// UTS namespace (`ns_capable(uts_ns->user_ns, ...)`), else EPERM. A task in a user
    /// namespace the case made holds every capability there (no exec drops them); a task in
    /// the lab's user namespace holds it over a namespace it owns by uid (same euid) and, with
    /// CAP_SYS_ADMIN, over the lab's.
    pub(super) fn op_sethostname(&mut self, t: TaskId, name: HostName) -> Outcome {
        let ns = self.tasks[t as usize].ns;
        let Some(uts) = self.uts.get(ns.uts as usize).copied() else {
            return Outcome::Err(Errno::EPERM);
        };
        let capable = if ns.user == uts.owner {
            // Inside the user namespace that owns it: the capabilities the task holds
            // there (every one since its creation, none after an exec: see
            // exec.drops-caps-in-unmapped-userns); in the lab's, the environment's.
            if uts.owner != 0 {
                self.tasks[t as usize].userns_caps
            } else {
                self.profile.cap_sys_admin
            }
        } else {
            ns.user == 0 && (uts.owner != 0 || self.profile.cap_sys_admin)
        };
        if !capable {
            return Outcome::Err(Errno::EPERM);
        }
        self.uts[ns.uts as usize].name = Some(name);
        Outcome::Ret(0)
    }

    // rule: uts.uname-reads-own-namespace
    /// `uname()`: the node name of the caller's UTS namespace (the machine's in the lab's).
    pub(super) fn op_uname(&self, t: TaskId) -> Outcome {
        let ns = self.tasks[t as usize].ns;
        let name = self.uts.get(ns.uts as usize).and_then(|u| u.name);
        Outcome::Data(match name {
            Some(n) => n.as_str().as_bytes().to_vec(),
            None => self.profile.hostname.as_bytes().to_vec(),
        })
    }
}
