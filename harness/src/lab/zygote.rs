//! The zygote: a small process that starts each case's root task `t0` for the lab.
//!
//! Forking `t0` from the lab itself costs twice over: the fork copies the lab's page tables
//! (its heap, its buffers), and afterwards every page the lab writes is a copy-on-write fault
//! for as long as `t0` lives, which is the whole case. The zygote is the same binary freshly
//! executed (`forkspec lab-zygote LABPID`): it never allocates and never touches its memory
//! between cases, so it is cheap to copy and nothing faults afterwards. It also sets the
//! process state every case starts from (default signal dispositions, empty signal mask,
//! umask, fd limit) once, instead of once per case.
//!
//! `t0` is cloned with `CLONE_PARENT`, so it is the lab's child exactly as if the lab had
//! forked it: the lab reaps it, adopts its orphans (it is the subreaper) and gets its
//! `SIGCHLD`. When the zygote cannot be started (a runner whose exec does not work, say), the
//! lab forks `t0` itself as before. It is started by the exec route of `reentry.rs`, so
//! under a runner it runs inside the runner like every other program of the lab.

use super::agent::{close_range, decimal, default_state, t0_main, T0Plan};
use super::channel::{AGENT_FD_BASE, AGENT_FD_LAST};
use super::sys::{exit_group, sc};
use core::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// The zygote's end of its request pipe.
const REQ_FD: i32 = AGENT_FD_LAST + 12;
/// The zygote's end of its answer pipe.
const ANS_FD: i32 = AGENT_FD_LAST + 13;
/// Longest case directory path the zygote takes (a request fits one atomic pipe write).
pub const DIR_MAX: usize = 4000;
/// The argument that starts the zygote: `forkspec lab-zygote LABPID`.
pub const ZYGOTE_ARG: &std::ffi::CStr = c"lab-zygote";

/// What the lab asks for: a `t0` for a case directory and region size.
#[repr(C)]
struct Request {
    pages: u64,
    /// 1: advise MADV_NOHUGEPAGE on the regions ([`T0Plan::thp`]).
    thp: u64,
    len: u64,
    dir: [u8; DIR_MAX],
}

/// The lab's handle on its zygote.
pub struct Zygote {
    pid: i32,
    /// Its pidfd; without pidfds its death shows as the end of its answer pipe.
    pidfd: Option<OwnedFd>,
    req: Option<OwnedFd>,
    ans: OwnedFd,
}

/// Why the zygote gave no `t0`.
pub enum SpawnError {
    /// The zygote is gone or out of step: the lab forks `t0` itself from now on.
    Gone(String),
    /// clone(2) failed in the zygote (`-errno`): an error of this case.
    Clone(i64),
}

fn pipe() -> Result<(OwnedFd, OwnedFd), String> {
    let mut p = [0i32; 2];
    // SAFETY: pipe2 fills `p` with two new fds that we then own.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe2: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) })
}

/// Waits until `fd` is readable or `end` passes; false on timeout.
fn readable(fd: i32, end: Instant) -> bool {
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        // SAFETY: poll on one local pollfd.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r > 0 {
            return true;
        }
    }
}

/// Reads one `i64` answer from `fd`, waiting until `end`.
fn read_answer(fd: i32, end: Instant) -> Result<i64, String> {
    if !readable(fd, end) {
        return Err("no answer in time".into());
    }
    let mut v = [0u8; 8];
    // SAFETY: reads at most 8 bytes into a local array.
    let n = unsafe { libc::read(fd, v.as_mut_ptr().cast(), 8) };
    match n {
        8 => Ok(i64::from_ne_bytes(v)),
        0 => Err("it exited".into()),
        n if n < 0 => Err(format!("read: {}", std::io::Error::last_os_error())),
        _ => Err("short answer".into()),
    }
}

impl Zygote {
    /// Starts the zygote and waits for it to report ready. Call while the lab is
    /// single-threaded, after the agent channel is open (the zygote passes the agent ends on
    /// to every `t0`).
    pub fn start() -> Result<Zygote, String> {
        let (req_r, req_w) = pipe()?;
        let (ans_r, ans_w) = pipe()?;
        // SAFETY: getpid has no preconditions.
        let lab = unsafe { libc::getpid() };
        let mut lab_buf = [0u8; 12];
        let lab_arg = decimal(&mut lab_buf, lab as u32);
        // The zygote and the t0s it clones must run in the implementation under test: the
        // same route as every exec.
        let mut argv = [0u64; super::reentry::MAX_WORDS + 4];
        let path = super::reentry::argv(&[ZYGOTE_ARG.as_ptr() as u64, lab_arg as u64], &mut argv)
            .ok_or("no exec route stays inside the implementation under test")?;
        // SAFETY: the lab is single-threaded, so the child may run anything until execve;
        // it only moves fds and execs. Everything it uses was prepared before the fork.
        let pid = unsafe { super::reap::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", std::io::Error::last_os_error()));
        }
        if pid == 0 {
            // SAFETY: the child: dup3 without O_CLOEXEC keeps the two pipe ends across the
            // exec at the fds the zygote expects; execve replaces this program or fails.
            unsafe {
                if libc::dup3(req_r.as_raw_fd(), REQ_FD, 0) < 0
                    || libc::dup3(ans_w.as_raw_fd(), ANS_FD, 0) < 0
                {
                    libc::_exit(127);
                }
                libc::execve(
                    path as *const libc::c_char,
                    argv.as_ptr() as *const *const libc::c_char,
                    libc::environ as *const *const libc::c_char,
                );
                libc::_exit(127);
            }
        }
        drop((req_r, ans_w));
        // SAFETY: pidfd_open on our own unreaped child; a non-negative result is ours.
        let pidfd = super::facility::get()
            .pidfd
            .then(|| unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32)
            .filter(|&fd| fd >= 0)
            .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
        let z = Zygote {
            pid,
            pidfd,
            req: Some(req_w),
            ans: ans_r,
        };
        // An emulator may take its time to start a program, on a loaded machine seconds.
        match read_answer(z.ans.as_raw_fd(), Instant::now() + Duration::from_secs(60)) {
            Ok(0) => Ok(z),
            Ok(v) => Err(format!("zygote set-up failed: {v}")),
            Err(e) => Err(format!("zygote did not start: {e}")),
        }
    }

    /// Has the zygote clone a `t0` for `dir` (a NUL-free path) with `pages` pages per region;
    /// returns its pid.
    pub fn spawn_t0(&mut self, dir: &[u8], pages: u64, thp: bool) -> Result<i32, SpawnError> {
        if dir.len() >= DIR_MAX {
            return Err(SpawnError::Gone("case directory path too long".into()));
        }
        let mut req = Request {
            pages,
            thp: u64::from(thp),
            len: dir.len() as u64,
            dir: [0; DIR_MAX],
        };
        req.dir[..dir.len()].copy_from_slice(dir);
        let Some(fd) = self.req.as_ref().map(|f| f.as_raw_fd()) else {
            return Err(SpawnError::Gone("zygote stopped".into()));
        };
        // SAFETY: writes the plain-data request from a local; at most PIPE_BUF bytes, so the
        // write is atomic.
        let n = unsafe { libc::write(fd, (&req as *const Request).cast(), size_of::<Request>()) };
        if n != size_of::<Request>() as isize {
            return Err(SpawnError::Gone(format!(
                "writing to the zygote: {}",
                std::io::Error::last_os_error()
            )));
        }
        let end = Instant::now() + Duration::from_secs(10);
        match read_answer(self.ans.as_raw_fd(), end) {
            Ok(pid) if pid > 0 => Ok(pid as i32),
            Ok(err) => Err(SpawnError::Clone(err)),
            Err(e) => Err(SpawnError::Gone(format!("zygote: {e}"))),
        }
    }
}

impl Drop for Zygote {
    fn drop(&mut self) {
        // EOF on its request pipe ends the zygote; SIGKILL covers one that does not go.
        drop(self.req.take());
        let end = Instant::now() + Duration::from_secs(1);
        // Its death: the pidfd turns readable, or (without one) its answer pipe ends.
        let watched = self
            .pidfd
            .as_ref()
            .map_or(self.ans.as_raw_fd(), |f| f.as_raw_fd());
        if !readable(watched, end) {
            let pidfd = self.pidfd.as_ref().map(|f| f.as_raw_fd());
            super::reap::kill_all(0, &[(self.pid, pidfd)]);
        }
        super::reap::reap_pid(self.pid);
    }
}

fn answer(v: i64) {
    loop {
        // SAFETY: writes 8 bytes from a local to the answer pipe.
        let r = unsafe { sc(libc::SYS_write, ANS_FD as u64, &v as *const i64 as u64, 8) };
        if r != -(libc::EINTR as i64) {
            return;
        }
    }
}

/// The zygote's program, run straight from the C `main` (no Rust runtime start-up, no
/// allocation): set the state every case starts from, report ready, then clone one `t0` per
/// request until the lab closes the request pipe. Returns only when not started by the lab.
pub fn zygote_main(lab: &str) -> Result<std::convert::Infallible, String> {
    let lab: i64 = lab.parse().map_err(|_| format!("bad lab pid {lab:?}"))?;
    super::layout::adopt_from_env();
    super::reentry::adopt_from_env();
    for fd in [REQ_FD, ANS_FD, AGENT_FD_BASE] {
        // SAFETY: F_GETFD takes no pointer.
        if unsafe { sc(libc::SYS_fcntl, fd as u64, libc::F_GETFD as u64, 0) } < 0 {
            return Err(format!("fd {fd} is not open"));
        }
    }
    // SAFETY (whole block): raw system calls with plain values or pointers to locals.
    unsafe {
        sc(
            libc::SYS_prctl,
            libc::PR_SET_PDEATHSIG as u64,
            libc::SIGKILL as u64,
            0,
        );
        if sc(libc::SYS_getppid, 0, 0, 0) != lab {
            exit_group(0); // the lab is gone already
        }
        // Readable /proc files of every task for the lab, even when this binary is not
        // readable by the user the lab runs as (exec then clears the flag).
        sc(libc::SYS_prctl, libc::PR_SET_DUMPABLE as u64, 1, 0);
        // The lab ignores SIGPIPE, and exec keeps ignored signals.
        if let Err((_, r)) = default_state() {
            answer(r);
            exit_group(1);
        }
        // Only the agent channel and our two pipes stay open.
        close_range(0, AGENT_FD_BASE as u32 - 1);
        close_range(AGENT_FD_LAST as u32 + 1, REQ_FD as u32 - 1);
        close_range(ANS_FD as u32 + 1, u32::MAX);
    }
    answer(0);
    let mut req = Request {
        pages: 0,
        thp: 0,
        len: 0,
        dir: [0; DIR_MAX],
    };
    loop {
        // SAFETY: reads at most one request into the local.
        let n = unsafe {
            sc(
                libc::SYS_read,
                REQ_FD as u64,
                &mut req as *mut Request as u64,
                size_of::<Request>() as u64,
            )
        };
        if n == -(libc::EINTR as i64) {
            continue;
        }
        if n != size_of::<Request>() as i64 || req.len as usize >= DIR_MAX {
            exit_group(0);
        }
        req.dir[req.len as usize] = 0;
        // SAFETY: a fork-like clone (no CLONE_VM, no new stack): the child continues on its
        // own copy of this stack. CLONE_PARENT makes it the lab's child.
        let pid = unsafe {
            sc(
                libc::SYS_clone,
                (libc::CLONE_PARENT | libc::SIGCHLD) as u64,
                0,
                0,
            )
        };
        if pid == 0 {
            let plan = T0Plan {
                dir: req.dir.as_ptr(),
                pages: req.pages,
                state_set: true,
                thp: req.thp != 0,
            };
            // SAFETY: a fresh single-threaded child; `plan.dir` is NUL-terminated in its own
            // copy of this stack.
            unsafe { t0_main(plan) }
        }
        answer(pid);
    }
}
