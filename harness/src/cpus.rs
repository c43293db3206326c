//! Which CPU each lab runs on. A lab pins itself, its case tasks and the harness thread that
//! drives it to one CPU: a pipe round trip on one CPU costs a tenth of one across CPUs.
//! Labs spread over the CPUs this process may use, and over forkspec processes running at
//! the same time (two `check` runs, a test suite next to a check): a CPU is claimed
//! machine-wide by binding an abstract Unix socket named after it, which the kernel releases
//! when the claim is dropped or the process dies, so nothing is left behind.

use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::OnceLock;

/// A CPU a lab is pinned to, held for as long as the lab runs.
#[derive(Debug)]
pub struct CpuClaim {
    /// The CPU.
    pub cpu: usize,
    /// The bound socket that claims it; `None` when every CPU was claimed already and this
    /// one is shared.
    _hold: Option<OwnedFd>,
}

/// The CPUs this process may run on, as they were when first asked (before any harness
/// thread pinned itself to a lab's CPU).
fn allowed() -> &'static [usize] {
    static CPUS: OnceLock<Vec<usize>> = OnceLock::new();
    CPUS.get_or_init(|| {
        // SAFETY: sched_getaffinity writes into a zeroed local cpu_set_t of the size we pass.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return Vec::new();
            }
            (0..libc::CPU_SETSIZE as usize)
                .filter(|&c| libc::CPU_ISSET(c, &set))
                .collect()
        }
    })
}

/// Binds the abstract socket that claims `cpu`; `None` if another lab holds it.
fn bind_claim(cpu: usize) -> Option<OwnedFd> {
    // SAFETY: socket(2) with constant arguments; a non-negative result is a new fd we own.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: see above.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: a zeroed sockaddr_un is valid; the name (leading NUL: abstract) fits sun_path.
    let (addr, len) = unsafe {
        let mut a: libc::sockaddr_un = std::mem::zeroed();
        a.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let name = format!("forkspec-lab-cpu-{cpu}");
        for (i, b) in name.bytes().enumerate() {
            a.sun_path[i + 1] = b as libc::c_char;
        }
        let len = std::mem::size_of::<libc::sa_family_t>() + 1 + name.len();
        (a, len as libc::socklen_t)
    };
    // SAFETY: bind with a local address of the given length.
    let r = unsafe {
        libc::bind(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            (&addr as *const libc::sockaddr_un).cast(),
            len,
        )
    };
    (r == 0).then_some(fd)
}

/// The CPU the next lab is asked to pin itself (and its cases) to: the first one no other
/// lab on the machine holds, else (all held) the CPUs in turn. On by default: with two labs
/// on a loaded 2-vCPU machine, pinning gave 1.4-2x the cases per second
/// (docs/performance.md). `FORKSPEC_LAB_PIN=0` turns it off. `None` also when
/// `FORKSPEC_LAB_CPU` is set (the lab inherits it) or only one CPU is allowed.
pub fn claim_lab_cpu() -> Option<CpuClaim> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    if std::env::var_os("FORKSPEC_LAB_PIN").as_deref() == Some(std::ffi::OsStr::new("0"))
        || std::env::var_os("FORKSPEC_LAB_CPU").is_some()
    {
        return None;
    }
    let cpus = allowed();
    if cpus.len() < 2 {
        return None;
    }
    for &cpu in cpus {
        if let Some(hold) = bind_claim(cpu) {
            return Some(CpuClaim {
                cpu,
                _hold: Some(hold),
            });
        }
    }
    Some(CpuClaim {
        cpu: cpus[NEXT.fetch_add(1, Ordering::Relaxed) % cpus.len()],
        _hold: None,
    })
}

/// Pins the calling thread to `cpu` unless it already is: the harness thread that drives a
/// pinned lab then exchanges its requests on the lab's CPU too.
pub fn pin_thread(cpu: usize) {
    thread_local! {
        static PINNED: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    }
    if PINNED.get() == Some(cpu) {
        return;
    }
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it. A refused
    // affinity leaves the thread unpinned, which is only slower.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
    PINNED.set(Some(cpu));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_cpu_is_not_claimed_twice_until_released() {
        let Some(first) = bind_claim(usize::MAX - 7) else {
            return; // another test run holds it: nothing to check here
        };
        assert!(bind_claim(usize::MAX - 7).is_none());
        drop(first);
        assert!(bind_claim(usize::MAX - 7).is_some());
    }
}
