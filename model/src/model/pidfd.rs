//! pidfds opened and used by ops: `pidfd_open`, `pidfd_send_signal`, `pidfd_getfd`, and
//! `poll` (which answers for any fd; a pidfd's readiness is its task's exit) (kernel/pid.c,
//! kernel/fork.c `pidfd_prepare`, fs/pidfs.c `pidfd_poll`, kernel/signal.c
//! `sys_pidfd_send_signal`; pidfd_open(2), pidfd_send_signal(2), pidfd_getfd(2), poll(2)).

use super::files::PidfdRef;
use super::Model;
use crate::obs::{Errno, Outcome, Signal, TaskState};
use crate::op::{Fd, TaskId};

/// `POLLIN`.
pub const POLLIN: i64 = 0x1;
/// `POLLERR`.
pub const POLLERR: i64 = 0x8;
/// `POLLHUP`.
pub const POLLHUP: i64 = 0x10;
/// `POLLNVAL`.
pub const POLLNVAL: i64 = 0x20;

impl Model {
    /// Whether label `target` names a task the caller `t` finds by pid (`find_get_pid` in
    /// its pid namespace): not reaped, in the caller's pid namespace or one nested in it.
    fn pid_visible(&self, t: TaskId, target: TaskId) -> bool {
        let ns = self.tasks[t as usize].pidns;
        self.tasks
            .get(target as usize)
            .is_some_and(|x| !x.reaped && self.in_pidns(target as usize, ns))
    }

    // rule: pidfd.open
    // rule: pidfd.open-thread-since-6.9
    // rule: pidfd.open-enoent-since-6.16
    /// `pidfd_open(pid, flags)` (kernel/pid.c `sys_pidfd_open`, kernel/fork.c
    /// `pidfd_prepare`): flags other than `PIDFD_NONBLOCK` and (since Linux 6.9, commit
    /// 64bef697d33b "pidfd: implement PIDFD_THREAD flag for pidfd_open()") `PIDFD_THREAD`
    /// are EINVAL; a pid the caller's namespace does not have is ESRCH (a zombie still has
    /// its pid); without `PIDFD_THREAD` the pid must be a thread group leader's: ENOENT
    /// since Linux 6.16 (commit 8cf4b738f6d8 "pidfd: improve uapi when task isn't found"),
    /// EINVAL before. The fd is the lowest free one, always `O_CLOEXEC`, on a new
    /// description `O_RDWR` (plus `O_NONBLOCK`, and `PIDFD_THREAD` = `O_EXCL` in `f_flags`)
    /// whose inode is the pid's ([`super::files::Files::new_pidfd`]).
    pub(super) fn op_pidfd_open(
        &mut self,
        t: TaskId,
        target: TaskId,
        nonblock: bool,
        thread: bool,
    ) -> Outcome {
        if thread && !self.profile.kernel_at_least(6, 9) {
            return Outcome::Err(Errno::EINVAL);
        }
        if !self.pid_visible(t, target) {
            return Outcome::Err(Errno::ESRCH);
        }
        let leader = self.tasks[target as usize].tgid == target;
        if !thread && !leader {
            return Outcome::Err(if self.profile.kernel_at_least(6, 16) {
                Errno::ENOENT
            } else {
                Errno::EINVAL
            });
        }
        let Some(fd) = self.lowest_free(t, 0) else {
            return Outcome::Err(Errno::EMFILE);
        };
        let pidfs = super::files::pidfs(&self.profile);
        let ofd = self.files.new_pidfd(
            PidfdRef {
                task: target,
                thread,
            },
            nonblock,
            pidfs,
        );
        self.install(t, fd, ofd, true);
        Outcome::Ret(i64::from(fd))
    }

    /// The pidfd description behind `fd` of `t`: EBADF when `fd` is not open or not a pidfd
    /// (kernel/pid.c `pidfd_pid`; `pidfd_to_pid` also takes a /proc/PID directory, which no
    /// op opens).
    fn pidfd_ref_of(&self, t: TaskId, fd: Fd) -> Result<PidfdRef, Errno> {
        let ofd = self.fdt(t).get(&fd).ok_or(Errno::EBADF)?.ofd;
        self.files.pidfd_ref(ofd).ok_or(Errno::EBADF)
    }

    // rule: pidfd.send-signal
    /// `pidfd_send_signal(fd, sig, NULL, 0)` (kernel/signal.c): EBADF for an fd that is no
    /// pidfd; EINVAL when the pid's namespace is neither the caller's nor one nested in it
    /// (`access_pidfd_pidns`); ESRCH once the task was reaped (`pid_task(pid, PIDTYPE_PID)`
    /// is NULL); then as kill(2) (`group_send_sig_info`: EINVAL for a number outside
    /// 0..=64, 0 only checks): to the thread group, or for a `PIDFD_THREAD` pidfd to the
    /// thread alone (`PIDTYPE_PID`, Linux 6.9). A zombie takes the signal and drops it (its
    /// group is dead), and the call returns 0.
    pub(super) fn op_pidfd_send_signal(&mut self, t: TaskId, fd: Fd, sig: Signal) -> Outcome {
        let r = match self.pidfd_ref_of(t, fd) {
            Ok(r) => r,
            Err(e) => return Outcome::Err(e),
        };
        let caller_ns = self.tasks[t as usize].pidns;
        if !self.in_pidns(r.task as usize, caller_ns) {
            return Outcome::Err(Errno::EINVAL);
        }
        if self.tasks[r.task as usize].reaped {
            return Outcome::Err(Errno::ESRCH);
        }
        if !(0..=64).contains(&sig.0) {
            return Outcome::Err(Errno::EINVAL);
        }
        if sig.0 != 0 {
            let force = self.tasks[r.task as usize].pidns != caller_ns;
            self.send_signal(r.task, sig.0, !r.thread, force);
        }
        Outcome::Ret(0)
    }

    // rule: pidfd.getfd
    // rule: pidfd.getfd-zombie-esrch-since-6.9
    /// `pidfd_getfd(pidfd, fd, 0)` (kernel/pid.c `sys_pidfd_getfd`, `__pidfd_fget`): EBADF
    /// for a `pidfd` that is no pidfd; ESRCH once the task was reaped, and for a task that
    /// exited (a zombie has no files: `fget_task` finds none and `PF_EXITING` turns EBADF
    /// into ESRCH since Linux 6.9, commit 0c9bd6bc4bb2 "pidfd: getfd should always report
    /// ESRCH if a task is exiting"; before, EBADF); EBADF for an `fd` the task does not have; else the caller's lowest free
    /// fd (EMFILE when none) with `FD_CLOEXEC`, on the same open file description
    /// (`receive_fd(file, NULL, O_CLOEXEC)`).
    ///
    /// The access check (`ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS)`) passes for the
    /// case's tasks, which share the lab's credentials and stay dumpable, except where Yama
    /// restricts attaching to non-descendants: the model predicts the granted answer, and
    /// the generated mix names only the caller's own thread group or its descendants in its
    /// own user namespace (harness/src/gen_pidfd.rs).
    pub(super) fn op_pidfd_getfd(&mut self, t: TaskId, pidfd: Fd, fd: Fd) -> Outcome {
        let r = match self.pidfd_ref_of(t, pidfd) {
            Ok(r) => r,
            Err(e) => return Outcome::Err(e),
        };
        let target = &self.tasks[r.task as usize];
        if target.reaped {
            return Outcome::Err(Errno::ESRCH);
        }
        if matches!(target.state, TaskState::Zombie(_)) {
            if self.profile.kernel_at_least(6, 9) {
                return Outcome::Err(Errno::ESRCH);
            }
            // Before 6.9 the missing files were EBADF; whether a stable branch took the
            // fix was not checked, so ESRCH is allowed there as well.
            self.also_allowed.push(Outcome::Err(Errno::ESRCH));
            return Outcome::Err(Errno::EBADF);
        }
        let Some(slot) = self.fdt(r.task).get(&fd).copied() else {
            return Outcome::Err(Errno::EBADF);
        };
        let Some(new) = self.lowest_free(t, 0) else {
            return Outcome::Err(Errno::EMFILE);
        };
        self.install(t, new, slot.ofd, true);
        Outcome::Ret(i64::from(new))
    }

    // rule: pidfd.poll
    // rule: pidfd.poll-hup-since-6.9
    /// `poll([{fd, POLLIN}], 1, 0)`: `revents` is the file's mask and `POLLIN | POLLERR |
    /// POLLHUP` (fs/select.c `do_pollfd`); a negative fd is skipped (0), one not open is
    /// `POLLNVAL`. A regular file is always readable (`DEFAULT_POLLMASK`); a pipe's read end
    /// has `POLLIN` with data in the pipe and `POLLHUP` with no write end open anywhere,
    /// its write end `POLLERR` with no read end (fs/pipe.c `pipe_poll`). A pidfd: see
    /// [`Model::pidfd_poll`].
    pub(super) fn op_poll(&mut self, t: TaskId, fd: Fd) -> Outcome {
        if fd < 0 {
            return Outcome::Ret(0);
        }
        let Some(slot) = self.fdt(t).get(&fd).copied() else {
            return Outcome::Ret(POLLNVAL);
        };
        if let Some(r) = self.files.pidfd_ref(slot.ofd) {
            return self.pidfd_poll(r);
        }
        Outcome::Ret(self.file_poll(slot.ofd))
    }

    /// fs/pidfs.c `pidfd_poll` (kernel/fork.c before 6.9): the pid's task
    /// (`pid_task(pid, PIDTYPE_PID)`), once reaped, is `POLLIN` and since Linux 6.9 (commit
    /// 43f0df54c96f "pidfd_poll: report POLLHUP when pid_task() == NULL") `POLLHUP` too. A
    /// task that exited is `POLLIN` when its thread group is empty (the last thread of the
    /// process; a leader that exited before its threads waits for them). Since 6.9 a
    /// `PIDFD_THREAD` pidfd is ready when its thread exited, even a leader with threads
    /// left; since 6.15 (commit 0fb482728ba1 "pidfs: improve multi-threaded exec and
    /// premature thread-group leader exit polling", `!delay_group_leader`) such a leader
    /// is not, whatever the pidfd's flags. That commit went to stable branches (6.14.9 and
    /// others), so on 6.9 to 6.14 both answers are allowed there.
    fn pidfd_poll(&mut self, r: PidfdRef) -> Outcome {
        let task = &self.tasks[r.task as usize];
        let hup = self.profile.kernel_at_least(6, 9);
        if task.reaped {
            return Outcome::Ret(if hup { POLLIN | POLLHUP } else { POLLIN });
        }
        if !matches!(task.state, TaskState::Zombie(_)) {
            return Outcome::Ret(0);
        }
        let tgid = task.tgid;
        let group_empty = !self
            .tasks
            .iter()
            .enumerate()
            .any(|(i, x)| i != r.task as usize && x.tgid == tgid && !x.reaped);
        if group_empty {
            return Outcome::Ret(POLLIN);
        }
        // A zombie with threads left is a leader that exited first (a non-leader thread is
        // released at once).
        let new_rule = self.profile.kernel_at_least(6, 15);
        if r.thread && !new_rule {
            self.also_allowed.push(Outcome::Ret(0));
            return Outcome::Ret(POLLIN);
        }
        Outcome::Ret(0)
    }
}
