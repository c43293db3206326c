//! The physical limits, measured by the bench's own code (not the lab's): a same-CPU pipe
//! round trip between two processes, and fork + exit + wait of a tiny process.

use std::time::Instant;

/// Pins the calling thread (and what it forks) to `cpu`; returns false if not permitted.
pub fn pin_to(cpu: usize) -> bool {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// Restores the calling thread's affinity to every CPU of `cpus`.
pub fn unpin(cpus: usize) {
    // SAFETY: as in pin_to.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for c in 0..cpus {
            libc::CPU_SET(c, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Median microseconds of one pipe round trip between this process and a forked echo child,
/// both on the calling thread's CPU: `batches` batches of `per_batch` round trips.
pub fn pipe_rtt_us(batches: usize, per_batch: usize) -> Vec<f64> {
    let mut ab = [0i32; 2];
    let mut ba = [0i32; 2];
    // SAFETY: pipe2 writes two fds into each array.
    unsafe {
        if libc::pipe2(ab.as_mut_ptr(), libc::O_CLOEXEC) != 0
            || libc::pipe2(ba.as_mut_ptr(), libc::O_CLOEXEC) != 0
        {
            return vec![];
        }
    }
    // SAFETY: the child only makes async-signal-safe calls (read, write, _exit).
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: closing the ends the echo child does not use, so that our close ends it.
        unsafe {
            libc::close(ab[1]);
            libc::close(ba[0]);
        }
        let mut b = 0u8;
        loop {
            // SAFETY: one-byte reads and writes on pipe fds the child holds.
            unsafe {
                if libc::read(ab[0], (&mut b as *mut u8).cast(), 1) != 1 {
                    libc::_exit(0);
                }
                libc::write(ba[1], (&b as *const u8).cast(), 1);
            }
        }
    }
    // SAFETY: closing the ends only the child uses.
    unsafe {
        libc::close(ab[0]);
        libc::close(ba[1]);
    }
    let mut out = Vec::with_capacity(batches);
    let mut b = 1u8;
    for _ in 0..batches {
        let t = Instant::now();
        for _ in 0..per_batch {
            // SAFETY: one-byte writes and reads on our pipe fds.
            unsafe {
                libc::write(ab[1], (&b as *const u8).cast(), 1);
                libc::read(ba[0], (&mut b as *mut u8).cast(), 1);
            }
        }
        out.push(t.elapsed().as_secs_f64() * 1e6 / per_batch as f64);
    }
    // SAFETY: closing our fds makes the child's read return 0 and exit; then reap it.
    unsafe {
        for fd in [ab[1], ba[0]] {
            libc::close(fd);
        }
        let mut st = 0;
        libc::waitpid(pid, &mut st, 0);
    }
    out
}

/// Microseconds of each of `n` fork + _exit + waitpid of a child that exits at once.
pub fn fork_exit_wait_us(n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        // SAFETY: the child calls only _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: _exit is async-signal-safe.
            unsafe { libc::_exit(0) };
        }
        if pid < 0 {
            break;
        }
        let mut st = 0;
        // SAFETY: reaping the child we just forked.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        out.push(t.elapsed().as_secs_f64() * 1e6);
    }
    out
}
