//! Which CPU each lab runs on. A lab pins itself, its case tasks and the harness thread that
//! drives it to one CPU: a pipe round trip on one CPU costs a tenth of one across CPUs.
//! Labs spread over the CPUs this process may use, and over forkspec processes running at
//! the same time (two `check` runs, a test suite next to a check): a CPU is claimed
//! machine-wide by binding an abstract Unix socket named after it, which the kernel releases
//! when the claim is dropped or the process dies, so nothing is left behind.

use rustix::net::{bind, socket_with, AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet};
use std::os::fd::OwnedFd;
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
    CPUS.get_or_init(|| match sched_getaffinity(None) {
        Ok(set) => (0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect(),
        Err(_) => Vec::new(),
    })
}

/// Binds the abstract socket that claims `cpu`; `None` if another lab holds it.
fn bind_claim(cpu: usize) -> Option<OwnedFd> {
    let fd = socket_with(
        AddressFamily::UNIX,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .ok()?;
    // Abstract (no file): the kernel drops the name with the last fd.
    let addr =
        SocketAddrUnix::new_abstract_name(format!("forkspec-lab-cpu-{cpu}").as_bytes()).ok()?;
    bind(&fd, &addr).ok()?;
    Some(fd)
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
    // A refused affinity (or a CPU beyond the set's size) leaves the thread unpinned,
    // which is only slower.
    if cpu < CpuSet::MAX_CPU {
        let mut set = CpuSet::new();
        set.set(cpu);
        let _ = sched_setaffinity(None, &set);
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
