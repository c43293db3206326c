//! Taking state back from sharing after the task exists: `close_range` (with
//! `CLOSE_RANGE_UNSHARE` / `CLOSE_RANGE_CLOEXEC`) and `unshare`.
//!
//! Sources: close_range(2), unshare(2); fs/file.c (`__close_range`, `unshare_fd`),
//! kernel/fork.c (`ksys_unshare`, `check_unshare_flags`, `unshare_fs`), lib/is_single_threaded.c
//! (`current_is_single_threaded`).

use super::Model;
use crate::obs::{Errno, Outcome};
use crate::op::{CloneFlags as F, Fd, TaskId, UnshareFlags};

/// The last fd a case can have open: its `RLIMIT_NOFILE` is 1024.
const LAST_CASE_FD: u32 = 1023;

impl Model {
    /// Whether a task other than `t` that has not exited uses fd table `files`
    /// (`files_struct.count > 1`: do_exit drops it in exit_files).
    fn files_shared(&self, t: TaskId, files: usize) -> bool {
        self.tasks
            .iter()
            .enumerate()
            .any(|(i, x)| i != t as usize && x.alive() && x.files == files)
    }

    /// Gives `t` a private copy of its fd table when another task shares it (fs/file.c
    /// `unshare_fd` → `dup_fd`: same descriptions, same `FD_CLOEXEC` bits). Record locks stay
    /// with the table that owns them, which the other sharers keep.
    fn unshare_files(&mut self, t: TaskId) {
        let files = self.tasks[t as usize].files;
        if self.files_shared(t, files) {
            let copy = self.fdts[files].clone();
            self.fdts.push(copy);
            self.tasks[t as usize].files = self.fdts.len() - 1;
        }
    }

    // rule: fd.close-range
    /// `close_range(first, last, flags)` (fs/file.c `__close_range`, close_range(2), Linux
    /// 5.9): EINVAL when `first > last`, and for `CLOSE_RANGE_CLOEXEC` before Linux 5.11
    /// (commit 582f1fb6b721 "fs, close_range: add flag CLOSE_RANGE_CLOEXEC"). With
    /// `CLOSE_RANGE_UNSHARE` a table shared with another task (CLONE_FILES) is copied first,
    /// so the other sharers keep every fd. Then each open fd of the range is closed, lowest
    /// first, as close(2) would (or gets `FD_CLOEXEC`). Fds above 1023 are never the case's.
    pub(super) fn op_close_range(
        &mut self,
        t: TaskId,
        first: u32,
        last: u32,
        cloexec: bool,
        unshare: bool,
    ) -> Outcome {
        if first > last || (cloexec && !self.profile.kernel_at_least(5, 11)) {
            return Outcome::Err(Errno::EINVAL);
        }
        if unshare {
            self.unshare_files(t);
        }
        if first > LAST_CASE_FD {
            return Outcome::Ret(0);
        }
        let (lo, hi) = (first as Fd, last.min(LAST_CASE_FD) as Fd);
        if cloexec {
            self.cloexec_range(t, lo, hi);
        } else {
            let open: Vec<Fd> = self.fdt(t).range(lo..=hi).map(|(fd, _)| *fd).collect();
            for fd in open {
                self.op_close(t, fd);
            }
        }
        Outcome::Ret(0)
    }

    // rule: task.unshare
    /// `unshare(flags)` (kernel/fork.c `ksys_unshare`):
    /// 1. implied flags: `CLONE_VM` adds `CLONE_SIGHAND`, which adds `CLONE_THREAD`;
    ///    `CLONE_NEWNS` adds `CLONE_FS`;
    /// 2. `check_unshare_flags`: EINVAL for `CLONE_THREAD`/`SIGHAND`/`VM` when the caller's
    ///    thread group has another thread (`thread_group_empty`, a zombie leader counts),
    ///    for `CLONE_SIGHAND`/`VM` when another task not yet released shares its
    ///    `sighand_struct`, for `CLONE_VM` when another task that has not exited shares its
    ///    address space (`current_is_single_threaded`); otherwise these three do nothing;
    /// 3. EPERM for a new namespace without `CAP_SYS_ADMIN` in the caller's user namespace;
    /// 4. `CLONE_FS` / `CLONE_FILES` copy the fs context / fd table when another task shares
    ///    it (the others keep the original); `CLONE_SYSVSEM` and `CLONE_NEWIPC` leave the
    ///    SysV undo list; each new namespace is entered by the caller itself, except a new
    ///    pid namespace, which is for its later children ([`Model::check_unshare_newpid`]).
    pub(super) fn op_unshare(&mut self, t: TaskId, u: UnshareFlags) -> Outcome {
        let mut f = u.clone_flags();
        if f.has(F::VM) {
            f = f.with(F::SIGHAND);
        }
        if f.has(F::SIGHAND) {
            f = f.with(F::THREAD);
        }
        if f.has(F::NEWNS) {
            f = f.with(F::FS);
        }
        let me = &self.tasks[t as usize];
        let (tgid, sighand, mm, fs) = (me.tgid, me.sighand, me.mm, me.fs);
        let new_ns = f.0 & (F::NEWNS.0 | F::NEWUTS.0 | F::NEWIPC.0 | F::NEWPID.0);
        let capable = self.ns_capable(me, &self.profile);
        let others = |pred: &dyn Fn(&super::tasks::Task) -> bool| {
            self.tasks
                .iter()
                .enumerate()
                .any(|(i, x)| i != t as usize && pred(x))
        };
        if f.any(F::THREAD | F::SIGHAND | F::VM) && others(&|x| !x.reaped && x.tgid == tgid) {
            return Outcome::Err(Errno::EINVAL);
        }
        if f.any(F::SIGHAND | F::VM) && others(&|x| !x.reaped && x.sighand == sighand) {
            return Outcome::Err(Errno::EINVAL);
        }
        if f.has(F::VM) && others(&|x| x.alive() && x.mm == mm) {
            return Outcome::Err(Errno::EINVAL);
        }
        if new_ns != 0 && !capable {
            return Outcome::Err(Errno::EPERM);
        }
        // create_new_namespaces: copy_pid_ns fails before anything is committed.
        if f.has(F::NEWPID) {
            if let Err(e) = self.check_unshare_newpid(t) {
                return Outcome::Err(e);
            }
        }
        if f.has(F::FS) && others(&|x| x.alive() && x.fs == fs) {
            let copy = self.child_fs(fs, false);
            self.tasks[t as usize].fs = copy;
        }
        if f.has(F::FILES) {
            self.unshare_files(t);
        }
        if f.any(F::SYSVSEM | F::NEWIPC) {
            self.tasks[t as usize].sysvsem = 0;
        }
        if f.has(F::NEWPID) {
            self.commit_unshare_newpid(t);
        }
        let new_ns = new_ns & !F::NEWPID.0;
        if new_ns != 0 {
            let old = self.tasks[t as usize].ns;
            // No time namespace is asked for: the caller stays in its own (child_namespaces
            // would move a non-CLONE_VM child into its time_for_children).
            let mut ns = self.child_namespaces(old, F(new_ns));
            ns.time = old.time;
            self.tasks[t as usize].ns = ns;
        }
        Outcome::Ret(0)
    }
}
