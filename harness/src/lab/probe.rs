//! Start-up probes: the environment profile and what this lab can observe, each probed on
//! the lab's own process rather than assumed.

use super::observe::{kcmp, pagemap, pipe_bytes, KCMP_FILE, PM_PFN, PM_PRESENT};
use forkspec_model::{Capabilities, Profile};
use std::fs::File;

/// Everything probed once at start-up.
#[derive(Clone, Debug)]
pub struct Probe {
    /// Kernel release string (uname -r).
    pub release: String,
    /// Environment facts.
    pub profile: Profile,
    /// Observation capabilities.
    pub caps: Capabilities,
    /// PFN of the shared zero page, when PFNs are visible.
    pub zero_pfn: Option<u64>,
}

fn release() -> String {
    // SAFETY: uname fills a zeroed utsname; the release field is NUL-terminated.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return "unknown".into();
        }
        std::ffi::CStr::from_ptr(u.release.as_ptr())
            .to_string_lossy()
            .into_owned()
    }
}

/// Bit of CAP_SYS_ADMIN in the capability sets (linux/capability.h).
const CAP_SYS_ADMIN: u32 = 21;

fn cap_sys_admin() -> bool {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|c| c & (1 << CAP_SYS_ADMIN) != 0)
}

fn read_num(path: &str) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether user namespaces can be created, from the sysctls that gate them (a probe by
/// unshare would need a throwaway child).
fn userns(root: bool) -> bool {
    if read_num("/proc/sys/user/max_user_namespaces").is_some_and(|n| n == 0) {
        return false;
    }
    if root {
        return true;
    }
    read_num("/proc/sys/kernel/unprivileged_userns_clone") != Some(0)
        && !matches!(
            read_num("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
            Some(n) if n != 0
        )
}

/// Pagemap of two private anonymous pages of our own: one only read (maps the zero page),
/// one written (a frame of its own). Returns (pagemap works, PFNs visible, zero PFN).
fn probe_pagemap() -> (bool, bool, Option<u64>) {
    // SAFETY: a fresh private anonymous mapping of two pages, only used here and unmapped.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            8192,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return (false, false, None);
    }
    let base = p as u64;
    // SAFETY: both pages lie inside the mapping above.
    unsafe {
        libc::madvise(p, 8192, libc::MADV_NOHUGEPAGE);
        std::ptr::read_volatile(p as *const u8);
        std::ptr::write_volatile((p as *mut u8).add(4096), 1);
    }
    let mut e = Vec::new();
    let ok = File::open("/proc/self/pagemap")
        .ok()
        .is_some_and(|f| pagemap(&f, base, 2, &mut e));
    // SAFETY: unmaps the mapping created above.
    unsafe {
        libc::munmap(p, 8192);
    }
    if !ok || e[1] & PM_PRESENT == 0 {
        return (false, false, None);
    }
    let zero = e[0] & PM_PFN;
    let own = e[1] & PM_PFN;
    let pfn = zero != 0 && own != 0 && e[0] & PM_PRESENT != 0;
    (true, pfn, pfn.then_some(zero))
}

/// kcmp(KCMP_FILE) tells a dup (same description) from the other pipe end, and
/// pidfd_getfd + FIONREAD sees bytes buffered in a pipe.
fn probe_fds() -> (bool, bool) {
    let mut p = [0i32; 2];
    // SAFETY: pipe2 fills `p`; every fd made here is closed before returning.
    unsafe {
        if libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return (false, false);
        }
        let d = libc::fcntl(p[0], libc::F_DUPFD_CLOEXEC, 0);
        let me = libc::getpid();
        let kcmp_ok = d >= 0
            && kcmp(me, me, KCMP_FILE, p[0] as u64, d as u64) == 0
            && kcmp(me, me, KCMP_FILE, p[0] as u64, p[1] as u64) > 0;
        libc::write(p[1], b"abc".as_ptr().cast(), 3);
        let pidfd = libc::syscall(libc::SYS_pidfd_open, me, 0) as i32;
        let pipe_ok = pidfd >= 0 && pipe_bytes(pidfd, p[0]) == Some(3);
        for fd in [p[0], p[1], d, pidfd] {
            if fd >= 0 {
                libc::close(fd);
            }
        }
        (kcmp_ok, pipe_ok)
    }
}

/// Probes everything, the facilities included ([`super::facility::probe_all`]; the two
/// facts start-up learnt by using a facility are passed in). Call while the lab is
/// single-threaded.
pub fn probe(subreaper: bool, fixed_addresses: bool) -> Probe {
    let release = release();
    let mut nums = release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse::<u32>().ok());
    let kernel = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
    // SAFETY: plain getters.
    let (uid, page_size) = unsafe { (libc::geteuid(), libc::sysconf(libc::_SC_PAGESIZE)) };
    let (pm, pfn, zero_pfn) = probe_pagemap();
    let (kcmp_ok, pipe_ok) = probe_fds();
    let fac = super::facility::probe_all(super::facility::Given {
        subreaper,
        fixed_addresses,
        pagemap: pm,
        pfn,
        kcmp: kcmp_ok,
        pidfd_getfd: pipe_ok,
    });
    Probe {
        profile: Profile {
            uid,
            cap_sys_admin: cap_sys_admin(),
            userns: userns(uid == 0),
            kernel,
            page_size: page_size as u64,
            case_fs: case_fs(),
            hostname: hostname(),
        },
        caps: Capabilities {
            pagemap: fac.pagemap,
            pfn: fac.pfn,
            kcmp: fac.kcmp,
            pipe_size: fac.pidfd_getfd,
            exit_signal: true,
            locks: fac.proc_locks,
            signals: true,
            fs_context: true,
            namespaces: std::fs::read_link("/proc/self/ns/uts").is_ok(),
            reaped_status: fac.pidfd_info_exit,
            orphans: fac.subreaper,
        },
        zero_pfn,
        release,
    }
}

/// The node name of the lab's UTS namespace (uname(2)).
fn hostname() -> String {
    // SAFETY: uname fills a zeroed local struct.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    let bytes: Vec<u8> = u
        .nodename
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The filesystem the case directories will be made on: `statfs` of `$TMPDIR` (or `/tmp`).
fn case_fs() -> forkspec_model::CaseFs {
    let dir = std::env::var_os("TMPDIR").unwrap_or_else(|| "/tmp".into());
    let Ok(path) = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(dir.as_os_str()))
    else {
        return forkspec_model::CaseFs::Ext4;
    };
    // SAFETY: statfs fills a zeroed struct from a NUL-terminated path.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::statfs(path.as_ptr(), &mut st) };
    if r == 0 && st.f_type == libc::TMPFS_MAGIC {
        forkspec_model::CaseFs::Tmpfs
    } else {
        forkspec_model::CaseFs::Ext4
    }
}
