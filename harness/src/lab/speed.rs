//! How fast the implementation under the lab is, measured inside it at start-up and reported
//! in the hello (`speed`): the harness scales its deadlines with it, so that a slow
//! implementation (a kernel under software emulation is 10–50 times slower) is never
//! reported as "blocked" for being slow.

use forkspec_model::protocol::Speed;
use std::time::Instant;

/// Forks timed; the median is reported.
const FORKS: usize = 9;
/// Pipe round trips timed; the median is reported.
const ROUND_TRIPS: usize = 31;

/// Measures [`Speed`]; `None` when a system call it needs fails (the harness then applies
/// its deadlines unscaled).
pub fn measure() -> Option<Speed> {
    // Once untimed: the first run of each path pays for page faults (and, under emulation,
    // for translating the code).
    fork_wait_n(1)?;
    Some(Speed {
        fork_wait_us: median(fork_wait()?),
        round_trip_us: median(round_trips()?),
    })
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn micros(since: Instant) -> u64 {
    since.elapsed().as_micros().min(u64::MAX as u128) as u64
}

/// fork, `_exit(0)` in the child, a reap (waitid) in the parent.
fn fork_wait() -> Option<Vec<u64>> {
    fork_wait_n(FORKS)
}

fn fork_wait_n(n: usize) -> Option<Vec<u64>> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        // SAFETY: the child only calls _exit, which is async-signal-safe; the parent reaps
        // it at once.
        let pid = unsafe { super::reap::fork() };
        if pid < 0 {
            return None;
        }
        if pid == 0 {
            // SAFETY: leaving the child without running any of the parent's state.
            unsafe { libc::_exit(0) };
        }
        reap(pid)?;
        v.push(micros(t));
    }
    Some(v)
}

fn reap(pid: libc::pid_t) -> Option<()> {
    super::reap::reap(super::reap::Who::Pid(pid), false)
        .ok()
        .map(|_| ())
}

/// One byte to a child through a pipe, echoed back through another.
fn round_trips() -> Option<Vec<u64>> {
    let mut there = [0; 2];
    let mut back = [0; 2];
    // SAFETY: pipe2 fills the two local arrays.
    if unsafe { libc::pipe2(there.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return None;
    }
    // SAFETY: as above.
    if unsafe { libc::pipe2(back.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        close_all(&there);
        return None;
    }
    // SAFETY: the child only reads, writes and exits (async-signal-safe calls on fds it
    // owns); it exits at EOF of `there`.
    let pid = unsafe { super::reap::fork() };
    if pid == 0 {
        // SAFETY: raw reads and writes on the inherited pipe ends, then _exit.
        unsafe {
            libc::close(there[1]);
            libc::close(back[0]);
            let mut b = 0u8;
            while libc::read(there[0], (&mut b as *mut u8).cast(), 1) == 1 {
                if libc::write(back[1], (&b as *const u8).cast(), 1) != 1 {
                    break;
                }
            }
            libc::_exit(0);
        }
    }
    // SAFETY: closing the child's ends in the parent.
    unsafe {
        libc::close(there[0]);
        libc::close(back[1]);
    }
    let mut v = Vec::with_capacity(ROUND_TRIPS + 1);
    let mut ok = pid > 0;
    while ok && v.len() <= ROUND_TRIPS {
        let t = Instant::now();
        let mut b = 1u8;
        // SAFETY: one-byte write and read on our own pipe ends with a local buffer.
        ok = unsafe {
            libc::write(there[1], (&b as *const u8).cast(), 1) == 1
                && libc::read(back[0], (&mut b as *mut u8).cast(), 1) == 1
        };
        v.push(micros(t));
    }
    close_all(&[there[1], back[0]]);
    if pid > 0 {
        reap(pid)?;
    }
    // The first, untimed in effect: it waits for the child to start.
    ok.then(|| v.split_off(1))
}

fn close_all(fds: &[libc::c_int]) {
    for &fd in fds {
        // SAFETY: closing fds this module opened.
        unsafe { libc::close(fd) };
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn measures_something() {
        let s = super::measure().expect("fork and pipes work here");
        assert!(s.fork_wait_us > 0, "{s:?}");
        assert!(s.round_trip_us > 0, "{s:?}");
    }
}
