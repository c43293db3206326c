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

fn release() -> (String, String) {
    // SAFETY: uname fills a zeroed utsname; the release and version fields are
    // NUL-terminated.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return ("unknown".into(), String::new());
        }
        let field =
            |p: *const libc::c_char| std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned();
        (field(u.release.as_ptr()), field(u.version.as_ptr()))
    }
}

/// The first `A.B` or `A.B.C` in `s` (a word starting with a digit), as numbers.
fn dotted(s: &str) -> Option<(u32, u32, Option<u32>)> {
    s.split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        .find_map(|w| {
            let mut nums = w
                .split(|c: char| !c.is_ascii_digit())
                .map(|n| n.parse::<u32>().ok());
            let (a, b) = (nums.next()??, nums.next()??);
            let rest = w.splitn(3, '.').nth(2);
            let c = rest.and_then(|r| {
                let d: String = r.chars().take_while(char::is_ascii_digit).collect();
                d.parse().ok()
            });
            Some((a, b, c))
        })
}

/// The upstream kernel version `(major, minor, sublevel)` from `uname -r` (`release`),
/// `uname -v` (`version`) and Ubuntu's /proc/version_signature (`signature`). Distribution
/// kernels hide the stable sublevel: Debian's `6.1.0-57-amd64` is upstream 6.1.192, named
/// in `uname -v` ("... Debian 6.1.192-3 (...)"); Ubuntu's `5.15.0-91-generic` names
/// upstream 5.15.131 at the end of the signature. A named upstream version is used when its
/// major and minor agree with the release; else the release's third number (0 if none).
pub fn kernel_version(release: &str, version: &str, signature: &str) -> (u32, u32, u32) {
    let Some((major, minor, sub)) = dotted(release) else {
        return (0, 0, 0);
    };
    let named = [
        version.split("Debian ").nth(1).and_then(dotted),
        signature.split_whitespace().last().and_then(dotted),
    ];
    let upstream = named
        .into_iter()
        .flatten()
        .find(|&(a, b, c)| (a, b) == (major, minor) && c.is_some())
        .and_then(|(_, _, c)| c);
    (major, minor, upstream.or(sub).unwrap_or(0))
}

/// Bit of CAP_SYS_ADMIN in the capability sets (linux/capability.h).
const CAP_SYS_ADMIN: u32 = 21;

/// Bit of CAP_SYS_NICE.
const CAP_SYS_NICE: u32 = 23;
/// Bit of CAP_SYS_RESOURCE.
const CAP_SYS_RESOURCE: u32 = 24;

fn cap_sys_admin() -> bool {
    has_cap(CAP_SYS_ADMIN)
}

fn has_cap(cap: u32) -> bool {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|c| c & (1 << cap) != 0)
}

/// Bit of CAP_IPC_LOCK in the capability sets (linux/capability.h).
const CAP_IPC_LOCK: u32 = 14;

/// `RLIMIT_MEMLOCK` in pages, `None` when infinite. The tasks inherit it from the lab, which
/// inherits it from its environment.
fn mlock_limit_pages(page_size: u64) -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut r) } != 0
        || r.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    Some(r.rlim_cur / page_size.max(1))
}

/// The scheduling state and limits every case task starts from: the lab's own, which `t0`
/// inherits (environment facts, as the uid: a harness started under `nice -n 5` gives its
/// cases nice 5). Read with the same calls the ops make.
fn sched_start() -> (i32, u32, u32, Vec<forkspec_model::sched::RlimitStart>) {
    use forkspec_model::sched::{Rlim, RlimitStart, RLIMITS};
    // SAFETY: getters; prlimit64 writes one struct rlimit64 into a local.
    unsafe {
        let nice = 20 - libc::syscall(libc::SYS_getpriority, 0, 0) as i32;
        let policy = libc::syscall(libc::SYS_sched_getscheduler, 0).max(0) as u32;
        let persona = libc::syscall(libc::SYS_personality, 0xffff_ffffu64) as u32;
        let rlimits = RLIMITS
            .iter()
            .filter_map(|&resource| {
                let mut old = [0u64; 2];
                let r = libc::syscall(
                    libc::SYS_prlimit64,
                    0,
                    resource,
                    std::ptr::null::<u64>(),
                    old.as_mut_ptr(),
                );
                (r == 0).then_some(RlimitStart {
                    resource,
                    limit: Rlim {
                        cur: old[0],
                        max: old[1],
                    },
                })
            })
            .collect();
        (nice, policy, persona, rlimits)
    }
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
    let (release, version) = release();
    let signature = std::fs::read_to_string("/proc/version_signature").unwrap_or_default();
    let (major, minor, kernel_sublevel) = kernel_version(&release, &version, &signature);
    let kernel = (major, minor);
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
    let (nice, sched_policy, personality, rlimits) = sched_start();
    let (cpus, affinity) = super::ops_sched::cpu_facts();
    Probe {
        profile: Profile {
            uid,
            cap_sys_admin: cap_sys_admin(),
            userns: userns(uid == 0),
            kernel,
            kernel_sublevel,
            page_size: page_size as u64,
            case_fs: case_fs(),
            hostname: hostname(),
            // The state the lab's runner left every task in (forkspec restrict sets both).
            // SAFETY: getters without pointer arguments.
            no_new_privs: unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) } == 1,
            seccomp_filter: unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) } == 2,
            // The zygote advises MADV_NOHUGEPAGE on t0's regions when the facility is there.
            regions_without_thp_advice: !fac.thp,
            cap_ipc_lock: has_cap(CAP_IPC_LOCK),
            mlock_limit_pages: mlock_limit_pages(page_size as u64),
            cap_sys_nice: Some(has_cap(CAP_SYS_NICE)),
            cap_sys_resource: Some(has_cap(CAP_SYS_RESOURCE)),
            nice,
            sched_policy,
            personality,
            cpus,
            affinity,
            rlimits,
        },
        caps: Capabilities {
            pagemap: fac.pagemap,
            pfn: fac.pfn,
            kcmp: fac.kcmp,
            pipe_size: fac.pidfd_getfd,
            exit_signal: true,
            // Without kcmp the locks come from /proc/locks, which must then show a lock
            // whose owner is gone (not so in a pid namespace other than the initial one).
            locks: fac.proc_locks
                && (fac.kcmp || super::facility::probe_proc_locks_lists_freed_owners()),
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

#[cfg(test)]
mod version_tests {
    use super::kernel_version;

    #[test]
    fn upstream_versions_of_distribution_kernels() {
        let deb61 = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-10-01)";
        assert_eq!(kernel_version("6.1.0-57-amd64", deb61, ""), (6, 1, 192));
        assert_eq!(kernel_version("6.1.0-57-rt-amd64", deb61, ""), (6, 1, 192));
        let deb612 = "#1 SMP PREEMPT_DYNAMIC Debian 6.12.118-1~deb12u1 (2026-11-01)";
        assert_eq!(
            kernel_version("6.12.118+deb12-amd64", deb612, ""),
            (6, 12, 118)
        );
        assert_eq!(
            kernel_version("6.18.44-fc-v1272", "#1 SMP PREEMPT_DYNAMIC @0", ""),
            (6, 18, 44)
        );
        let ubuntu = "Ubuntu 5.15.0-91.101-generic 5.15.131\n";
        assert_eq!(
            kernel_version("5.15.0-91-generic", "#101-Ubuntu SMP", ubuntu),
            (5, 15, 131)
        );
        // A Debian version of another series (a backport's build host) is not the kernel's.
        assert_eq!(kernel_version("6.9.3", "Debian 6.1.192-3", ""), (6, 9, 3));
        assert_eq!(kernel_version("6.9", "", ""), (6, 9, 0));
        assert_eq!(kernel_version("unknown", "", ""), (0, 0, 0));
    }
}
