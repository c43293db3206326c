//! Security state a new task inherits: `no_new_privs` and seccomp filters.
//!
//! Sources: prctl(2) (`PR_SET_NO_NEW_PRIVS`, `PR_GET_NO_NEW_PRIVS`, `PR_GET_SECCOMP`),
//! seccomp(2), Documentation/userspace-api/no_new_privs.rst and seccomp_filter.rst,
//! kernel/sys.c (`prctl`), kernel/seccomp.c (`seccomp_prepare_filter`,
//! `seccomp_attach_filter`, `seccomp_run_filters`), kernel/fork.c (`copy_seccomp`).

use super::Model;
use crate::obs::{Errno, Outcome};
use crate::op::{PrctlOption, TaskId};

impl Model {
    // rule: sec.no-new-privs
    /// `PR_SET_NO_NEW_PRIVS`: EINVAL unless `arg` is 1 (and the other arguments 0), else sets
    /// the calling thread's flag, which nothing clears; `PR_GET_NO_NEW_PRIVS` and
    /// `PR_GET_SECCOMP` return the calling thread's flag and seccomp mode (2 under a filter)
    /// (kernel/sys.c `prctl`, kernel/seccomp.c `prctl_get_seccomp`). Fork, clone (threads
    /// too) and exec keep both (kernel/fork.c `copy_seccomp`).
    pub(super) fn prctl_security(&mut self, t: TaskId, option: PrctlOption, arg: i64) -> Outcome {
        let me = &mut self.tasks[t as usize];
        match option {
            PrctlOption::SetNoNewPrivs => {
                if arg != 1 {
                    return Outcome::Err(Errno::EINVAL);
                }
                me.no_new_privs = true;
                Outcome::Ret(0)
            }
            PrctlOption::GetNoNewPrivs => Outcome::Ret(i64::from(me.no_new_privs)),
            _ => Outcome::Ret(if me.seccomp.is_empty() { 0 } else { 2 }),
        }
    }

    // rule: sec.seccomp-filter
    /// `seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)`: EACCES unless the calling thread has
    /// `no_new_privs` or `CAP_SYS_ADMIN` in its user namespace (kernel/seccomp.c
    /// `seccomp_prepare_filter`); else the filter is added to the calling thread's alone
    /// (no `SECCOMP_FILTER_FLAG_TSYNC`), which its later fork and clone children copy and
    /// exec keeps.
    pub(super) fn op_seccomp(&mut self, t: TaskId, errno: Errno) -> Outcome {
        let me = &self.tasks[t as usize];
        if !me.no_new_privs && !self.ns_capable(me, &self.profile) {
            return Outcome::Err(Errno::EACCES);
        }
        self.tasks[t as usize].seccomp.push(Some(errno));
        Outcome::Ret(0)
    }

    /// The error a case's filter makes `umask` fail with in `t`: every filter runs, and of
    /// equal actions (`SECCOMP_RET_ERRNO`) the first met wins, newest first
    /// (kernel/seccomp.c `seccomp_run_filters`).
    pub(super) fn seccomp_umask_errno(&self, t: TaskId) -> Option<Errno> {
        self.tasks[t as usize]
            .seccomp
            .iter()
            .rev()
            .flatten()
            .next()
            .copied()
    }
}
