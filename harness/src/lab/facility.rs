//! The facilities the lab uses beyond the system calls under test, each probed once at
//! start-up (docs/kernels.md, "Lab facilities"). A missing one has a fallback, or the observations that need
//! it are reported as not compared: the lab never dies for want of one, and never reports an
//! outcome it could not observe.
//!
//! `FORKSPEC_LAB_DENY=NAME,...` (a test aid) makes the probe treat the named facilities as
//! missing, so that every fallback can be exercised on a kernel that has them all.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

/// Which facilities this lab may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facilities {
    /// `PR_SET_CHILD_SUBREAPER` (Linux 3.4): orphans of a case are the lab's children.
    pub subreaper: bool,
    /// `pidfd_open` (5.3): deaths are noticed by polling pidfds.
    pub pidfd: bool,
    /// `PIDFD_THREAD` (6.9): a pidfd for one thread, readable when that thread exits.
    pub pidfd_thread: bool,
    /// `PIDFD_GET_INFO` with `PIDFD_INFO_EXIT` (6.15): the status of a task reaped before the
    /// lab saw its zombie.
    pub pidfd_info_exit: bool,
    /// The pidfd namespace ioctls (`PIDFD_GET_*_NAMESPACE`, 6.11).
    pub pidfd_ns: bool,
    /// `pidfd_getfd` (5.6): bytes buffered in a pipe (with FIONREAD).
    pub pidfd_getfd: bool,
    /// `kcmp` (3.5, CONFIG_KCMP).
    pub kcmp: bool,
    /// /proc/PID/pagemap (present and exclusive bits).
    pub pagemap: bool,
    /// PFNs in pagemap (CAP_SYS_ADMIN).
    pub pfn: bool,
    /// The `PROCMAP_QUERY` ioctl on /proc/PID/maps (6.11).
    pub procmap_query: bool,
    /// `process_vm_readv` (3.2).
    pub process_vm_readv: bool,
    /// `close_range` (5.9).
    pub close_range: bool,
    /// Transparent huge page advice (`MADV_NOHUGEPAGE`, CONFIG_TRANSPARENT_HUGEPAGE).
    pub thp: bool,
    /// `CLONE_PARENT` from the zygote (so that `t0` is the lab's child).
    pub clone_parent: bool,
    /// The preferred fixed addresses of the regions and the stack pool are free.
    pub fixed_addresses: bool,
    /// The mapping slot is free ([`super::layout::slot_usable`]): the mapping ops run.
    pub mapping_slot: bool,
    /// /proc/locks.
    pub proc_locks: bool,
    /// /proc/PID/task/TID/syscall, readable by the lab and naming the call a task sleeps
    /// in: a task is called blocked once it is seen asleep in its op's own call
    /// ([`super::settle`]). Without it, the per-op deadline decides.
    pub proc_syscall: bool,
}

/// Every facility name `FORKSPEC_LAB_DENY` accepts, in documentation order.
pub const NAMES: &[&str] = &[
    "subreaper",
    "pidfd",
    "pidfd_thread",
    "pidfd_info_exit",
    "pidfd_ns",
    "pidfd_getfd",
    "kcmp",
    "pagemap",
    "pfn",
    "procmap_query",
    "process_vm_readv",
    "close_range",
    "thp",
    "clone_parent",
    "fixed_addresses",
    "mapping_slot",
    "proc_locks",
    "proc_syscall",
];

/// The environment variable that denies facilities (a test aid).
pub const DENY_VAR: &str = "FORKSPEC_LAB_DENY";

/// The names denied by `FORKSPEC_LAB_DENY` (`all` denies every one); an error names an
/// unknown one, so that a typo never silently tests nothing.
pub fn denied_from(value: &str) -> Result<Vec<&'static str>, String> {
    let mut out = Vec::new();
    for w in value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if w == "all" {
            out.extend_from_slice(NAMES);
            continue;
        }
        match NAMES.iter().find(|n| **n == w) {
            Some(n) => out.push(*n),
            None => {
                return Err(format!(
                    "{DENY_VAR}: unknown facility {w:?} (known: all, {})",
                    NAMES.join(", ")
                ))
            }
        }
    }
    Ok(out)
}

static DENIED: OnceLock<Vec<&'static str>> = OnceLock::new();
static FACILITIES: OnceLock<Facilities> = OnceLock::new();

/// Reads `FORKSPEC_LAB_DENY` once; call at start-up so a bad value is an error then.
pub fn init_denied() -> Result<(), String> {
    let v = std::env::var(DENY_VAR).unwrap_or_default();
    let d = denied_from(&v)?;
    let _ = DENIED.set(d);
    Ok(())
}

/// Whether `name` is denied by `FORKSPEC_LAB_DENY`.
pub fn denied(name: &str) -> bool {
    DENIED
        .get_or_init(|| {
            denied_from(&std::env::var(DENY_VAR).unwrap_or_default()).unwrap_or_default()
        })
        .contains(&name)
}

/// The facilities probed at start-up (every one missing until [`set`] ran).
pub fn get() -> Facilities {
    FACILITIES.get().copied().unwrap_or(Facilities::NONE)
}

/// Records the probed facilities for the rest of the lab's life.
pub fn set(f: Facilities) {
    let _ = FACILITIES.set(f);
}

impl Facilities {
    /// Nothing available.
    pub const NONE: Facilities = Facilities {
        subreaper: false,
        pidfd: false,
        pidfd_thread: false,
        pidfd_info_exit: false,
        pidfd_ns: false,
        pidfd_getfd: false,
        kcmp: false,
        pagemap: false,
        pfn: false,
        procmap_query: false,
        process_vm_readv: false,
        close_range: false,
        thp: false,
        clone_parent: false,
        fixed_addresses: false,
        mapping_slot: false,
        proc_locks: false,
        proc_syscall: false,
    };
}

fn pidfd_open(pid: i32, flags: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes no pointers; a non-negative result is a new fd we own.
    unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, pid, flags) as i32;
        (fd >= 0).then(|| OwnedFd::from_raw_fd(fd))
    }
}

/// `PIDFD_THREAD` (= O_EXCL).
pub const PIDFD_THREAD: i32 = libc::O_EXCL;

/// Whether pidfd_open works on the lab itself.
pub fn probe_pidfd() -> bool {
    // SAFETY: getpid has no preconditions.
    !denied("pidfd") && pidfd_open(unsafe { libc::getpid() }, 0).is_some()
}

/// Whether pidfd_open takes `PIDFD_THREAD` (Linux 6.9: before, the flag is EINVAL).
pub fn probe_pidfd_thread(pidfd: bool) -> bool {
    // SAFETY: gettid has no preconditions.
    pidfd
        && !denied("pidfd_thread")
        && pidfd_open(unsafe { libc::gettid() }, PIDFD_THREAD).is_some()
}

/// Whether `PIDFD_GET_INFO` with `PIDFD_INFO_EXIT` (Linux 6.15) gives the status of a
/// reaped child: a child that exits with status 7 is reaped, then asked through its pidfd.
/// Call while the lab is single-threaded.
pub fn probe_pidfd_info_exit(pidfd: bool) -> bool {
    if !pidfd || denied("pidfd_info_exit") {
        return false;
    }
    // SAFETY: the lab is single-threaded here; the child only calls _exit.
    let pid = unsafe { super::reap::fork() };
    if pid < 0 {
        return false;
    }
    if pid == 0 {
        // SAFETY: the forked child leaves at once, running nothing of the lab.
        unsafe { libc::_exit(7) }
    }
    let fd = pidfd_open(pid, 0);
    super::reap::reap_pid(pid);
    let Some(fd) = fd else { return false };
    raw_exit_status(fd.as_raw_fd()) == Some(7 << 8)
}

/// `_IOWR(PIDFS_IOCTL_MAGIC 0xFF, 11, struct pidfd_info)` with the 64-byte first version.
const PIDFD_GET_INFO: u64 = (3 << 30) | (64 << 16) | (0xFF << 8) | 11;

/// The wait status pidfs recorded for the task of `pidfd` once it exited (`PIDFD_GET_INFO`
/// with `PIDFD_INFO_EXIT`, Linux 6.15): it survives reaping. `None` when the facility is
/// missing, or while the task runs.
pub fn exit_status(pidfd: i32) -> Option<i32> {
    if !get().pidfd_info_exit {
        return None;
    }
    raw_exit_status(pidfd)
}

fn raw_exit_status(pidfd: i32) -> Option<i32> {
    /// `PIDFD_INFO_EXIT`
    const INFO_EXIT: u64 = 1 << 3;
    // struct pidfd_info, PIDFD_INFO_SIZE_VER0 (64 bytes): mask, cgroupid, eleven u32 ids,
    // then exit_code in bytes 60..64.
    let mut info = [0u64; 8];
    info[0] = INFO_EXIT;
    // SAFETY: the kernel writes at most 64 bytes into `info`, which is 64 bytes long.
    let r = unsafe { libc::ioctl(pidfd, PIDFD_GET_INFO as _, info.as_mut_ptr()) };
    if r < 0 || info[0] & INFO_EXIT == 0 {
        return None;
    }
    Some((info[7] >> 32) as u32 as i32)
}

/// Whether the pidfd namespace ioctls answer (Linux 6.11: `PIDFD_GET_UTS_NAMESPACE`).
pub fn probe_pidfd_ns(pidfd: bool) -> bool {
    if !pidfd || denied("pidfd_ns") {
        return false;
    }
    // SAFETY: getpid has no preconditions.
    let Some(fd) = pidfd_open(unsafe { libc::getpid() }, 0) else {
        return false;
    };
    // _IO(0xFF, 7): PIDFD_GET_UTS_NAMESPACE
    // SAFETY: the ioctl takes no argument; a non-negative result is a new fd we close.
    let ns = unsafe { libc::ioctl(fd.as_raw_fd(), (0xFF << 8) | 7, 0) };
    if ns >= 0 {
        // SAFETY: our own new fd.
        unsafe { libc::close(ns) };
    }
    ns >= 0
}

/// Whether `process_vm_readv` reads the lab's own memory.
pub fn probe_process_vm_readv() -> bool {
    if denied("process_vm_readv") {
        return false;
    }
    let src: u32 = 0x5a5a_1234;
    let mut dst: u32 = 0;
    let local = libc::iovec {
        iov_base: (&mut dst as *mut u32).cast(),
        iov_len: 4,
    };
    let remote = libc::iovec {
        iov_base: (&src as *const u32 as *mut u32).cast(),
        iov_len: 4,
    };
    // SAFETY: both iovecs describe 4-byte locals of this process.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    n == 4 && dst == src
}

/// Whether close_range(2) works (Linux 5.9): closes a fresh fd through it.
pub fn probe_close_range() -> bool {
    if denied("close_range") {
        return false;
    }
    // SAFETY: dup of stdin-or-whatever fd 0 is (or fails); the new fd is ours to close.
    let fd = unsafe { libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3000) };
    if fd < 0 {
        // No fd to try with: the agents' loop of single closes works either way.
        return false;
    }
    // SAFETY: closes only the fd made above.
    let r = unsafe { libc::syscall(libc::SYS_close_range, fd as u32, fd as u32, 0) };
    if r != 0 {
        // SAFETY: still ours.
        unsafe { libc::close(fd) };
    }
    r == 0
}

/// Whether `madvise(MADV_NOHUGEPAGE)` is accepted (EINVAL without
/// CONFIG_TRANSPARENT_HUGEPAGE, e.g. Debian's PREEMPT_RT kernels).
pub fn probe_thp() -> bool {
    if denied("thp") {
        return false;
    }
    // SAFETY: a fresh private anonymous page, advised and unmapped; nothing else uses it.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return false;
        }
        let r = libc::madvise(p, 4096, libc::MADV_NOHUGEPAGE);
        libc::munmap(p, 4096);
        r == 0
    }
}

/// Whether /proc/locks lists a lock whose owner has exited and been reaped. fs/locks.c
/// `locks_show` skips a lock whose `fl_pid` no longer names a task in the pid namespace of
/// the /proc mount (`locks_translate_pid` gives 0: the pid is freed, or invisible there), except
/// in the initial pid namespace, where the saved pid is printed as it is. So in a container
/// /proc/locks hides such a lock, which fdinfo `lock:` lines still show (with pid 0).
/// Probed as it is used: a child takes a flock on a memfd it shares with the lab and exits,
/// the lab reaps it, then looks for the lock. Forks: call while single-threaded.
pub fn probe_proc_locks_lists_freed_owners() -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: memfd_create returns a new fd we own (or fails).
    let fd = unsafe { libc::memfd_create(c"forkspec-locks-probe".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    // SAFETY: `fd` is ours, owned from here on.
    let file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let Ok(meta) = file.metadata() else {
        return false;
    };
    // SAFETY: the child only calls flock and _exit; the parent reaps it.
    let taken = unsafe {
        let pid = libc::fork();
        if pid < 0 {
            return false;
        }
        if pid == 0 {
            let r = libc::syscall(libc::SYS_flock, fd, libc::LOCK_EX);
            libc::_exit(i32::from(r != 0));
        }
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0
            && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {}
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
    };
    if !taken {
        return false;
    }
    let dev_ino = format!(
        "{:02x}:{:02x}:{}",
        libc::major(meta.dev()),
        libc::minor(meta.dev()),
        meta.ino()
    );
    std::fs::read_to_string("/proc/locks").is_ok_and(|t| {
        t.lines()
            .any(|l| l.contains("FLOCK") && l.split_whitespace().any(|w| w == dev_ino))
    })
}

/// What [`probe_all`] is told by the steps of start-up that use a facility themselves.
pub struct Given {
    /// `PR_SET_CHILD_SUBREAPER` succeeded.
    pub subreaper: bool,
    /// The preferred fixed addresses were free ([`super::layout::choose`]).
    pub fixed_addresses: bool,
    /// pagemap reads work, PFNs are visible, kcmp works (probed with the lab's own memory
    /// and fds in [`super::probe`]).
    pub pagemap: bool,
    /// See `pagemap`.
    pub pfn: bool,
    /// See `pagemap`.
    pub kcmp: bool,
    /// pidfd_getfd and FIONREAD see bytes buffered in a pipe.
    pub pidfd_getfd: bool,
}

/// Probes every facility (call once, while the lab is single-threaded: one probe forks),
/// applies `FORKSPEC_LAB_DENY`, records the result for [`get`] and returns it.
pub fn probe_all(g: Given) -> Facilities {
    let pidfd = probe_pidfd();
    let f = Facilities {
        subreaper: g.subreaper,
        pidfd,
        pidfd_thread: probe_pidfd_thread(pidfd),
        pidfd_info_exit: probe_pidfd_info_exit(pidfd),
        pidfd_ns: probe_pidfd_ns(pidfd),
        pidfd_getfd: pidfd && g.pidfd_getfd && !denied("pidfd_getfd"),
        kcmp: g.kcmp && !denied("kcmp"),
        pagemap: g.pagemap && !denied("pagemap"),
        pfn: g.pfn && g.pagemap && !denied("pfn") && !denied("pagemap"),
        procmap_query: !denied("procmap_query") && super::vmas::probe_query(),
        process_vm_readv: probe_process_vm_readv(),
        close_range: probe_close_range(),
        thp: probe_thp(),
        clone_parent: !denied("clone_parent"),
        fixed_addresses: g.fixed_addresses,
        mapping_slot: super::layout::slot_usable(),
        proc_locks: !denied("proc_locks") && std::fs::File::open("/proc/locks").is_ok(),
        proc_syscall: super::settle::probe(!denied("proc_syscall")),
    };
    set(f);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_list_parses_names_and_all_and_rejects_typos() {
        assert_eq!(denied_from("").unwrap(), Vec::<&str>::new());
        assert_eq!(denied_from("kcmp, thp").unwrap(), vec!["kcmp", "thp"]);
        assert_eq!(denied_from("all").unwrap(), NAMES.to_vec());
        let e = denied_from("kcmp,pidfd_thraed").unwrap_err();
        assert!(e.contains("pidfd_thraed"), "{e}");
    }
}
