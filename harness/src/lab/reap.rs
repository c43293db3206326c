//! The lab's own process housekeeping through calls it does not test and that each have a
//! fallback, so a kernel (or a `forkspec restrict` filter) refusing one of them does not
//! leave the lab unable to start, reap or end its processes:
//! - reaping goes through waitid(2) (glibc's waitpid is wait4(2), an op under test that
//!   `--deny wait4` refuses: a lab reaping with it would leave zombies behind), and through
//!   wait4(2) only when waitid(2) is refused;
//! - signalling falls back from kill(2) to pidfd_send_signal(2), tkill(2) and tgkill(2);
//! - forking falls back from glibc's fork (clone(2)) to the fork(2) system call.

/// Which children a reap waits for.
#[derive(Clone, Copy, Debug)]
pub enum Who {
    /// The child with this pid.
    Pid(i32),
    /// Any child in this process group.
    Group(i32),
}

/// Reaps one child of `who` (any state change a `__WALL` exit wait sees), sleeping until
/// there is one unless `nohang`. Returns `Ok(Some(pid))` for a reaped child, `Ok(None)` when
/// `nohang` and none has exited yet, `Err(errno)` on failure (ECHILD: no such child left).
/// Retries on EINTR.
pub fn reap(who: Who, nohang: bool) -> Result<Option<i32>, i32> {
    let (idtype, id) = match who {
        Who::Pid(p) => (libc::P_PID, p as libc::id_t),
        Who::Group(g) => (libc::P_PGID, g as libc::id_t),
    };
    let mut options = libc::WEXITED | libc::__WALL;
    if nohang {
        options |= libc::WNOHANG;
    }
    loop {
        // SAFETY: siginfo_t is plain data (all zeroes is valid, and WNOHANG with nothing to
        // reap leaves si_pid zero); waitid writes one into a local.
        let (r, pid) = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let r = libc::waitid(idtype, id, &mut info, options);
            (r, info.si_pid())
        };
        if r == 0 {
            return Ok((pid != 0).then_some(pid));
        }
        let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if e == libc::ENOSYS {
            return reap_wait4(who, nohang);
        }
        if e != libc::EINTR {
            return Err(e);
        }
    }
}

/// [`reap`] through wait4(2), for a kernel (or filter) without waitid(2).
fn reap_wait4(who: Who, nohang: bool) -> Result<Option<i32>, i32> {
    let target = match who {
        Who::Pid(p) => p,
        Who::Group(g) => -g,
    };
    let options = libc::__WALL | if nohang { libc::WNOHANG } else { 0 };
    loop {
        let mut st = 0;
        // SAFETY: wait4 writes the status into a local; no rusage is asked for.
        let r = unsafe { libc::wait4(target, &mut st, options, std::ptr::null_mut()) };
        if r >= 0 {
            return Ok((r > 0).then_some(r));
        }
        let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if e != libc::EINTR {
            return Err(e);
        }
    }
}

/// Reaps child `pid`, sleeping until it exits; errors (it was reaped already) are ignored.
pub fn reap_pid(pid: i32) {
    let _ = reap(Who::Pid(pid), false);
}

/// Sends SIGKILL to process group `pgid` (none if 0) and to every task of `tasks` (each a
/// thread id and, if the lab holds one, its pidfd): kill(2) of the group reaches every
/// member, orphans the lab lost track of included; when it is refused, each known task is
/// signalled through its pidfd, tkill(2) or tgkill(2), whichever answers (SIGKILL to one
/// thread kills its whole thread group). Every pid given must be unreaped, so it cannot
/// name another process.
pub fn kill_all(pgid: i32, tasks: &[(i32, Option<i32>)]) {
    // SAFETY: signals only; the targets are the caller's unreaped tasks.
    unsafe {
        if pgid > 0 && libc::kill(-pgid, libc::SIGKILL) == 0 {
            return;
        }
        for &(tid, pidfd) in tasks {
            if let Some(fd) = pidfd {
                if libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd,
                    libc::SIGKILL,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                ) == 0
                {
                    continue;
                }
            }
            if tid <= 0 || libc::syscall(libc::SYS_tkill, tid, libc::SIGKILL) == 0 {
                continue;
            }
            // A refused tkill: tgkill needs the thread group, which for a group leader (every
            // task that is not a thread) is its own id; a thread's group is then reached
            // through its leader, which is in `tasks` too.
            libc::syscall(libc::SYS_tgkill, tid, tid, libc::SIGKILL);
        }
    }
}

/// fork(): glibc's (a clone(2) system call) or, if that is refused with ENOSYS, the fork(2)
/// system call itself. Returns the child's pid, 0 in the child, or -1 with errno set.
///
/// # Safety
/// As fork(2) in a multi-threaded program: the caller must be single-threaded, or the child
/// must only run async-signal-safe code. After the raw fallback glibc's cached thread id in
/// the child is its parent's, so the child must not rely on it (no pthread calls).
pub unsafe fn fork() -> libc::pid_t {
    // SAFETY: the caller's contract.
    let pid = unsafe { libc::fork() };
    if pid >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS) {
        return pid;
    }
    // SAFETY: the caller's contract; the raw call duplicates the process as glibc's would.
    unsafe { libc::syscall(libc::SYS_fork) as libc::pid_t }
}

/// Checks that directories can be listed (getdents64(2)), without which the lab could not
/// remove a case directory, whose entries the ops choose: a lab that cannot clean up must
/// not start. The error names the refused call.
pub fn can_list_directories() -> Result<(), String> {
    let dir = std::fs::File::open("/proc/self/fd")
        .map_err(|e| format!("opening /proc/self/fd to check getdents64: {e}"))?;
    let mut buf = [0u8; 1024];
    // SAFETY: getdents64 writes at most `buf.len()` bytes into the local buffer.
    let r = unsafe {
        libc::syscall(
            libc::SYS_getdents64,
            std::os::fd::AsRawFd::as_raw_fd(&dir),
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "getdents64 is refused ({e}): the lab could not remove its case directories, so it \
             cannot run under this denial"
        ));
    }
    Ok(())
}
