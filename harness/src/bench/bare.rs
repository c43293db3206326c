//! The physical limits, measured by the bench's own code (not the lab's): a same-CPU pipe
//! round trip between two processes, and fork + exit + wait of a tiny process.

use rustix::io::{read, write};
use rustix::pipe::{pipe_with, PipeFlags};
use rustix::process::{waitpid, Pid, WaitOptions};
use rustix::thread::{sched_setaffinity, CpuSet};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Instant;

/// Pins the calling thread (and what it forks) to `cpu`; returns false if not permitted.
pub fn pin_to(cpu: usize) -> bool {
    if cpu >= CpuSet::MAX_CPU {
        return false;
    }
    let mut set = CpuSet::new();
    set.set(cpu);
    sched_setaffinity(None, &set).is_ok()
}

/// Restores the calling thread's affinity to every CPU of `cpus`.
pub fn unpin(cpus: usize) {
    let mut set = CpuSet::new();
    for c in 0..cpus.min(CpuSet::MAX_CPU) {
        set.set(c);
    }
    let _ = sched_setaffinity(None, &set);
}

/// Forks a child that closes its copies of `parent_only` (the ends the parent keeps: a
/// child holding the write end of its own input pipe would never see it end), runs `child`
/// and leaves with its result as exit status; `None` when fork fails.
fn fork_child(parent_only: &[BorrowedFd], child: impl FnOnce() -> i32) -> Option<Pid> {
    // SAFETY: no safe wrapper serves: libc, nix and rustix all leave fork to the caller because
    // the child of a multi-threaded process may only make async-signal-safe calls, which no
    // type can check. The child only closes fds, runs `child` (which reads and writes pipe
    // fds it holds: plain system calls, no allocation, no lock) and leaves with _exit, never
    // returning into Rust code that would drop the parent's owned fds a second time.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            for fd in parent_only {
                libc::close(fd.as_raw_fd());
            }
            libc::_exit(child());
        }
        Pid::from_raw(pid)
    }
}

/// Median microseconds of one pipe round trip between this process and a forked echo child,
/// both on the calling thread's CPU: `batches` batches of `per_batch` round trips.
pub fn pipe_rtt_us(batches: usize, per_batch: usize) -> Vec<f64> {
    let (Ok((ab_r, ab_w)), Ok((ba_r, ba_w))) =
        (pipe_with(PipeFlags::CLOEXEC), pipe_with(PipeFlags::CLOEXEC))
    else {
        return vec![];
    };
    // The echo child: answers each byte until the other end closes.
    let echo = || {
        let mut b = [0u8];
        while read(&ab_r, &mut b) == Ok(1) {
            let _ = write(&ba_w, &b);
        }
        0
    };
    let Some(pid) = fork_child(&[ab_w.as_fd(), ba_r.as_fd()], echo) else {
        return vec![];
    };
    // The ends only the child uses: closing them here lets our close of the others end it.
    drop((ab_r, ba_w));
    let mut out = Vec::with_capacity(batches);
    let mut b = [1u8];
    for _ in 0..batches {
        let t = Instant::now();
        for _ in 0..per_batch {
            let _ = write(&ab_w, &b);
            let _ = read(&ba_r, &mut b);
        }
        out.push(t.elapsed().as_secs_f64() * 1e6 / per_batch as f64);
    }
    // Closing our ends makes the child's read return 0 and exit; then reap it.
    drop((ab_w, ba_r));
    let _ = waitpid(Some(pid), WaitOptions::empty());
    out
}

/// Microseconds of each of `n` fork + _exit + waitpid of a child that exits at once.
pub fn fork_exit_wait_us(n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let Some(pid) = fork_child(&[], || 0) else {
            break;
        };
        let _ = waitpid(Some(pid), WaitOptions::empty());
        out.push(t.elapsed().as_secs_f64() * 1e6);
    }
    out
}
