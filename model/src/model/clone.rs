//! `vfork`, `clone` and `clone3`: the validity rules (which errno for which arguments, in the
//! kernel's order of checks) and the effects of a successful call.
//!
//! The order of checks follows kernel/fork.c (Linux 6.18): for clone3,
//! `copy_clone_args_from_user` then `clone3_args_valid`; then, for both entry points,
//! `kernel_clone` and `copy_process` (flag combinations first, then copy_creds for a new user
//! namespace, copy_semundo, copy_namespaces, alloc_pid with `set_tid`, and cgroup_can_fork for
//! `CLONE_INTO_CGROUP`). Whether a namespace may be created comes from the [`Profile`]: an
//! environment fact, never the behaviour under test.

use super::tasks::{BlockedOp, SIGCHLD};
use super::Model;
use crate::obs::{Errno, Outcome};
use crate::op::{CloneEntry, CloneFlags as F, CloneOp, SetTid, TaskId, CLONE_ARGS_SIZE};
use crate::profile::Profile;

/// `CLONE_ARGS_SIZE_VER0`: the smallest `clone_args` clone3 accepts.
pub const CLONE_ARGS_SIZE_VER0: u32 = 64;
/// `CLONE_ARGS_SIZE_VER1`: adds `set_tid` and `set_tid_size`.
pub const CLONE_ARGS_SIZE_VER1: u32 = 80;
/// Page size: clone3 refuses a larger `size` with E2BIG.
const PAGE: u32 = 4096;

/// The arguments as the kernel sees them after the entry point decoded them
/// (`struct kernel_clone_args`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Flags (64 bits).
    pub flags: F,
    /// Exit signal (64 bits for clone3).
    pub exit_signal: u64,
    /// Where the check of the `CLONE_PIDFD` vs `CLONE_PARENT_SETTID` pointers lands: legacy
    /// clone passes one pointer for both.
    pub pidfd_is_parent_tid: bool,
    /// set_tid as read (zero-filled past `size`).
    pub set_tid: SetTid,
    /// cgroup above INT_MAX as read.
    pub cgroup_big: bool,
}

/// `set_tid` as the kernel reads it from a `clone_args` of `size` bytes
/// (copy_struct_from_user): bytes past `size` read as zero, so the `set_tid` pointer (bytes
/// 64..72) is lost at 64 bytes and `set_tid_size` (72..80) at 72. A size that cuts a field
/// keeps its low bytes: the pointer stays non-null from 65 bytes on (the lab's `set_tid`
/// array sits at an address whose low byte is not zero) and the sizes used (1, 33) from 73
/// on.
fn set_tid_as_read(set_tid: SetTid, size: u32) -> SetTid {
    let (ptr, len) = match set_tid {
        SetTid::None => (false, 0),
        SetTid::Pid1 => (true, 1),
        SetTid::NullWithSize => (false, 1),
        SetTid::PtrWithoutSize => (true, 0),
        SetTid::TooMany => (true, 33),
    };
    let ptr = ptr && size > CLONE_ARGS_SIZE_VER0;
    let len = if size > CLONE_ARGS_SIZE_VER1 - 8 {
        len
    } else {
        0
    };
    match (ptr, len) {
        (false, 0) => SetTid::None,
        (true, 0) => SetTid::PtrWithoutSize,
        (true, 1) => SetTid::Pid1,
        (false, _) => SetTid::NullWithSize,
        (true, _) => SetTid::TooMany,
    }
}

/// Decodes an op into kernel arguments, or the errno of `copy_clone_args_from_user` and
/// `clone3_args_valid` (clone3 only).
pub fn decode(op: &CloneOp) -> Result<Decoded, Errno> {
    match op.entry {
        CloneEntry::Clone => {
            // SYSCALL_DEFINE5(clone): flags = lower_32_bits & ~CSIGNAL, exit_signal =
            // lower_32_bits & CSIGNAL. CLONE_NEWTIME (0x80) is a CSIGNAL bit here, so it
            // lands in the exit signal; the upper 32 bits (CLEAR_SIGHAND, INTO_CGROUP) are
            // dropped. pidfd and parent_tid are the same pointer.
            let low = (op.flags.0 & 0xffff_ffff & !0xff) | (op.exit_signal as u64 & 0xff);
            let low = low | (op.flags.0 & F::NEWTIME.0);
            Ok(Decoded {
                flags: F(low & !0xff),
                exit_signal: low & 0xff,
                pidfd_is_parent_tid: true,
                set_tid: SetTid::None,
                cgroup_big: false,
            })
        }
        CloneEntry::Clone3 => {
            let a = op.args;
            if a.size > PAGE {
                return Err(Errno::E2BIG);
            }
            if a.size < CLONE_ARGS_SIZE_VER0 {
                return Err(Errno::EINVAL);
            }
            // copy_struct_from_user: bytes past the known struct must be zero.
            if a.size > CLONE_ARGS_SIZE && a.tail_nonzero {
                return Err(Errno::E2BIG);
            }
            let set_tid = set_tid_as_read(a.set_tid, a.size);
            let cgroup_big = a.size >= CLONE_ARGS_SIZE && a.cgroup_big;
            match set_tid {
                SetTid::TooMany | SetTid::NullWithSize | SetTid::PtrWithoutSize => {
                    return Err(Errno::EINVAL)
                }
                _ => {}
            }
            let es = op.exit_signal as i64 as u64;
            // "Verify that higher 32bits of exit_signal are unset and that it is a valid
            // signal".
            if es & !0xff != 0 || es > 64 {
                return Err(Errno::EINVAL);
            }
            if op.flags.has(F::INTO_CGROUP) && (cgroup_big || a.size < CLONE_ARGS_SIZE) {
                return Err(Errno::EINVAL);
            }
            // clone3_args_valid.
            let known = 0xffff_ffff | F::CLEAR_SIGHAND.0 | F::INTO_CGROUP.0;
            if op.flags.0 & !known != 0 {
                return Err(Errno::EINVAL);
            }
            if op.flags.0 & (F::DETACHED.0 | (0xff & !F::NEWTIME.0)) != 0 {
                return Err(Errno::EINVAL);
            }
            if op.flags.has(F::SIGHAND | F::CLEAR_SIGHAND) {
                return Err(Errno::EINVAL);
            }
            if op.flags.any(F::THREAD | F::PARENT) && es != 0 {
                return Err(Errno::EINVAL);
            }
            // clone3_stack_valid: a stack needs a size and a size needs a stack.
            if a.stack != a.stack_size {
                return Err(Errno::EINVAL);
            }
            Ok(Decoded {
                flags: op.flags,
                exit_signal: es,
                pidfd_is_parent_tid: false,
                set_tid,
                cgroup_big,
            })
        }
    }
}

/// The namespace flags copy_namespaces creates (kernel/nsproxy.c); NEWUSER is copy_creds'.
const NS_FLAGS: u64 = F::NEWNS.0
    | F::NEWUTS.0
    | F::NEWIPC.0
    | F::NEWPID.0
    | F::NEWNET.0
    | F::NEWCGROUP.0
    | F::NEWTIME.0;

/// Where in copy_process a call fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Failure {
    /// Before copy_semundo: nothing of the caller changed.
    Early(Errno),
    /// After copy_semundo: with CLONE_SYSVSEM the caller got an undo list anyway.
    Late(Errno),
}

impl Model {
    /// Whether `me` has CAP_SYS_ADMIN in its own user namespace: inside a namespace the
    /// case made, the set it got there (until an exec drops it); outside, the environment's.
    pub(super) fn ns_capable(&self, me: &super::tasks::Task, p: &Profile) -> bool {
        if me.userns {
            me.userns_caps
        } else {
            p.cap_sys_admin
        }
    }

    // rule: clone.thread-pidfd-since-6.9
    // rule: clone.validity-rules
    /// kernel_clone and copy_process checks for a caller `t`.
    pub(super) fn clone_check(&self, t: TaskId, d: &Decoded, p: &Profile) -> Result<(), Failure> {
        use Failure::{Early, Late};
        let f = d.flags;
        let me = &self.tasks[t as usize];
        // kernel_clone: CLONE_PIDFD and CLONE_PARENT_SETTID may not share the pointer.
        if f.has(F::PIDFD) && f.has(F::PARENT_SETTID) && d.pidfd_is_parent_tid {
            return Err(Early(Errno::EINVAL));
        }
        // copy_process, in order.
        if f.has(F::NEWNS | F::FS) || f.has(F::NEWUSER | F::FS) {
            return Err(Early(Errno::EINVAL));
        }
        if f.has(F::THREAD) && !f.has(F::SIGHAND) {
            return Err(Early(Errno::EINVAL));
        }
        if f.has(F::SIGHAND) && !f.has(F::VM) {
            return Err(Early(Errno::EINVAL));
        }
        // Siblings of a pid namespace init would never be reaped (SIGNAL_UNKILLABLE).
        if f.has(F::PARENT) && self.tasks[me.tgid as usize].ns_init {
            return Err(Early(Errno::EINVAL));
        }
        if f.has(F::THREAD) && f.any(F::NEWUSER | F::NEWPID) || self.thread_pidns_mismatch(t, f) {
            return Err(Early(Errno::EINVAL));
        }
        if f.has(F::PIDFD) && f.has(F::DETACHED) {
            return Err(Early(Errno::EINVAL));
        }
        // CLONE_PIDFD with CLONE_THREAD is allowed since Linux 6.9 (commit 83b290c9e3b5
        // "pidfd: clone: allow CLONE_THREAD | CLONE_PIDFD together"); before, the same
        // check refused both flags: `clone_flags & (CLONE_DETACHED | CLONE_THREAD)`.
        if f.has(F::PIDFD) && f.has(F::THREAD) && !p.kernel_at_least(6, 9) {
            return Err(Early(Errno::EINVAL));
        }
        // copy_creds → create_user_ns: the creator's uid must be mapped in its user
        // namespace (it is not inside a namespace made by CLONE_NEWUSER without a map);
        // outside that, unprivileged creation depends on the environment.
        if f.has(F::NEWUSER) && (me.userns || !(p.userns || p.cap_sys_admin)) {
            return Err(Early(Errno::EPERM));
        }
        // rule fork.rlimit-nproc: after copy_creds, before copy_semundo.
        if self.nproc_refuses(t) {
            return Err(Early(Errno::EAGAIN));
        }
        // copy_semundo happens here. copy_namespaces: CAP_SYS_ADMIN in the child's user
        // namespace (a new one made by NEWUSER, or one the caller created and owns).
        if f.0 & NS_FLAGS != 0 {
            let capable = f.has(F::NEWUSER) || self.ns_capable(me, p);
            if !capable {
                return Err(Late(Errno::EPERM));
            }
            if f.has(F::NEWIPC) && f.has(F::SYSVSEM) {
                return Err(Late(Errno::EINVAL));
            }
            if self.newpid_after_unshare(t, f) {
                return Err(Late(Errno::EINVAL));
            }
        }
        // alloc_pid with set_tid = [1]: CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE over the
        // user namespace owning the target pid namespace (kernel/pid.c: alloc_pid,
        // checkpoint_restore_ns_capable(tmp->user_ns)), then pid 1 must be free there: it
        // is in a new pid namespace, never in an existing one (idr_alloc's -ENOSPC becomes
        // EEXIST). Without CLONE_NEWPID the target is the caller's pid_ns_for_children (its
        // own namespace unless it unshared one or joined one with setns), checked with
        // [`Model::capable_over`] its owner.
        if d.set_tid == SetTid::Pid1 {
            let capable = if f.has(F::NEWPID) {
                f.has(F::NEWUSER) || self.ns_capable(me, p)
            } else {
                self.capable_over(me, self.pidns_owner(me.pid_for_children))
            };
            if !capable {
                return Err(Late(Errno::EPERM));
            }
        }
        if !f.has(F::NEWPID) {
            if let Some(e) = self.alloc_pid_errno(t, d.set_tid) {
                return Err(Late(e));
            }
        }
        // cgroup_can_fork → cgroup_css_set_fork: the cgroup fd (0 here) is never a cgroup
        // directory.
        if f.has(F::INTO_CGROUP) {
            return Err(Late(Errno::EBADF));
        }
        Ok(())
    }

    // rule: clone.legacy-exit-signal-checked-since-7.1
    /// `clone`/`clone3` by `t`, with the exit-signal check of kernel_clone.
    ///
    /// Legacy clone takes its exit signal from the low byte of the flags (CLONE_NEWTIME
    /// included), so 65..=255 reach kernel_clone (clone3 refuses them in
    /// copy_clone_args_from_user). Commit 09e7827e7857
    /// "kernel/fork: validate exit_signal in kernel_clone()" (March 2026, first in Linux
    /// 7.1) makes them EINVAL right after the pidfd/parent_tid check; before, the child is
    /// created and its invalid exit signal is never sent (kernel/exit.c do_notify_parent
    /// sends only a `valid_signal`). The commit was queued for every stable branch in June
    /// 2026 (6.12.93-rc1 carried it) and its author asked the same week to drop it from all
    /// of them; no stable release is known to ship it (6.18.44 creates the child), so for a
    /// stable kernel that may have got it (6.12.93+, 7.0.12+) both answers are allowed.
    pub(super) fn op_clone(&mut self, t: TaskId, op: &CloneOp) -> Outcome {
        // The decoded signal: CLONE_NEWTIME (0x80) is a CSIGNAL bit of the legacy word.
        let invalid_signal =
            op.entry == CloneEntry::Clone && decode(op).is_ok_and(|d| d.exit_signal > 64);
        if !invalid_signal {
            return self.op_clone_checked(t, op);
        }
        let p = &self.profile;
        if p.kernel_at_least(7, 1) {
            // The pidfd/parent_tid check before it is EINVAL as well.
            return Outcome::Err(Errno::EINVAL);
        }
        let maybe_backported = (p.kernel == (6, 12) && p.kernel_sublevel >= 93)
            || (p.kernel == (7, 0) && p.kernel_sublevel >= 12);
        if !maybe_backported {
            return self.op_clone_checked(t, op);
        }
        if self.observed == Some(Outcome::Err(Errno::EINVAL)) {
            let without = self.clone().op_clone_checked(t, op);
            if without != Outcome::Err(Errno::EINVAL) {
                self.also_allowed.push(without);
            }
            return Outcome::Err(Errno::EINVAL);
        }
        let out = self.op_clone_checked(t, op);
        if out != Outcome::Err(Errno::EINVAL) {
            self.also_allowed.push(Outcome::Err(Errno::EINVAL));
        }
        out
    }

    // rule: clone.flag-sharing
    /// `clone`/`clone3` by `t`, past the entry point's exit-signal rules.
    fn op_clone_checked(&mut self, t: TaskId, op: &CloneOp) -> Outcome {
        let d = match decode(op) {
            Ok(d) => d,
            Err(e) => return Outcome::Err(e),
        };
        if let Err(fail) = self.clone_check(t, &d, &self.profile.clone()) {
            let e = match fail {
                Failure::Early(e) => e,
                Failure::Late(e) => {
                    self.alloc_semundo(t, d.flags);
                    if e == Errno::EBADF && !d.flags.has(F::NEWPID) {
                        // cgroup_can_fork failed after alloc_pid.
                        self.failed_after_alloc_pid(t);
                    }
                    e
                }
            };
            return Outcome::Err(e);
        }
        self.alloc_semundo(t, d.flags);
        let out = self.spawn(t, d.flags, d.exit_signal as i32);
        let Outcome::Child(c) = out else {
            return out;
        };
        let mut pidfd = None;
        if d.flags.has(F::PIDFD) {
            // The pidfd is reserved in the caller's table after copy_files, so a child
            // without CLONE_FILES does not have it (kernel/fork.c: pidfd_prepare after
            // copy_files; fd_install at the end). O_RDWR | O_CLOEXEC.
            match self.lowest_free(t, 0) {
                Some(fd) => {
                    let pidfs = super::files::pidfs(&self.profile);
                    let r = super::files::PidfdRef {
                        task: c,
                        thread: d.flags.has(F::THREAD),
                    };
                    let ofd = self.files.new_pidfd(r, false, pidfs);
                    self.install(t, fd, ofd, true);
                    pidfd = Some(fd);
                }
                None => return Outcome::Err(Errno::EMFILE),
            }
        }
        self.write_tid_words(t, c, &d, op.entry, pidfd);
        if d.flags.has(F::VFORK) {
            self.pending_vfork = Some(c);
        }
        Outcome::Child(c)
    }

    // rule: clone.tid-words
    /// The words a successful clone writes (clone(2)): the pidfd of a legacy CLONE_PIDFD
    /// and, with CLONE_PARENT_SETTID, the child's tid into `parent_tid` in the caller's
    /// memory, after the child's copy of it was made (copy_process; kernel_clone); with
    /// CLONE_CHILD_SETTID the child writes its tid into `child_tid` in its own memory when it
    /// first runs (schedule_tail). A shared address space (CLONE_VM) sees both.
    fn write_tid_words(
        &mut self,
        t: TaskId,
        c: TaskId,
        d: &Decoded,
        entry: crate::op::CloneEntry,
        pidfd: Option<crate::op::Fd>,
    ) {
        use crate::obs::{TidValue, TidWord};
        let (caller_mm, child_mm) = (self.tasks[t as usize].mm, self.tasks[c as usize].mm);
        if let (crate::op::CloneEntry::Clone, Some(fd)) = (entry, pidfd) {
            // Fd 0 leaves the word as zero as it was: nothing to see.
            let words = &mut self.mms[caller_mm].tid_words;
            if fd == 0 {
                words.remove(&(c, TidWord::ParentTid));
            } else {
                words.insert((c, TidWord::ParentTid), TidValue::Raw(i64::from(fd)));
            }
        }
        if d.flags.has(F::PARENT_SETTID) {
            self.mms[caller_mm]
                .tid_words
                .insert((c, TidWord::ParentTid), TidValue::Task(c));
        }
        if d.flags.has(F::CHILD_SETTID) {
            self.mms[child_mm]
                .tid_words
                .insert((c, TidWord::ChildTid), TidValue::Task(c));
        }
        self.tasks[c as usize].clear_child_tid = d.flags.has(F::CHILD_CLEARTID);
    }

    /// `vfork()`: `CLONE_VM | CLONE_VFORK`, exit signal SIGCHLD.
    pub(super) fn op_vfork(&mut self, t: TaskId) -> Outcome {
        let out = self.spawn(t, F::VM | F::VFORK, SIGCHLD);
        if let Outcome::Child(c) = out {
            self.pending_vfork = Some(c);
        }
        out
    }

    /// copy_semundo with CLONE_SYSVSEM: get_undo_list allocates the caller's undo list when
    /// it has none, so caller and child share a non-NULL list.
    fn alloc_semundo(&mut self, t: TaskId, f: F) {
        if f.has(F::SYSVSEM) && self.tasks[t as usize].sysvsem == 0 {
            let c = self.new_class();
            self.tasks[t as usize].sysvsem = c;
        }
    }

    // rule: clone.vfork-suspends-parent
    /// After a vfork-like op: the caller waits for the child.
    pub(super) fn vfork_block(&mut self, t: TaskId, child: TaskId) {
        let task = &mut self.tasks[t as usize];
        task.state = crate::obs::TaskState::Blocked;
        task.blocked_on = Some(BlockedOp::Vfork(child));
    }
}
