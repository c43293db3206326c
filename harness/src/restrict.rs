//! `forkspec restrict --deny LIST -- CMD ARGS...`: runs a command with chosen system calls,
//! `prctl` options or `ioctl` requests refused by a seccomp filter, so the lab's fallbacks for
//! missing facilities (pidfds, kcmp, PROCMAP_QUERY, the subreaper, process_vm_readv, clone3)
//! can be exercised on the running kernel: `forkspec check --runner 'forkspec restrict --deny
//! kcmp --'` starts `forkspec restrict --deny kcmp -- forkspec lab`.
//!
//! The filter is installed with `PR_SET_NO_NEW_PRIVS` (so no privilege is needed) and is
//! inherited by every child and kept across execve(2) (Documentation/userspace-api/seccomp_filter.rst),
//! so the whole lab, its zygote and every case task run under it.
//!
//! LIST is comma-separated; each item is
//! - a system call name (`pidfd_open`, `kcmp`, `clone3`, ...): it fails with ENOSYS, as on a
//!   kernel or emulator without it;
//! - `prctl:OPTION` (`prctl:PR_SET_CHILD_SUBREAPER`): that `prctl` option fails with EINVAL;
//! - `ioctl:REQUEST` (`ioctl:PIDFD_GET_INFO`, `ioctl:PROCMAP_QUERY`): that request fails with
//!   EINVAL, whatever the size encoded in it (the structures grow between releases);
//! - a group: `pidfds` (pidfd_open, pidfd_send_signal, pidfd_getfd).
//!
//! Any item may end in `=ERRNO` (`kcmp=EPERM`) to choose the error. `CLONE_PIDFD` is not a
//! system call and is never refused: clone flags are what the lab tests.

use anyhow::{bail, Context};
use forkspec_model::Errno;

/// One refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// System call `nr` fails with `errno`.
    Syscall {
        /// Number (x86_64).
        nr: u32,
        /// Error returned.
        errno: u16,
    },
    /// `prctl(option, ...)` fails with `errno`.
    Prctl {
        /// The option.
        option: u32,
        /// Error returned.
        errno: u16,
    },
    /// `ioctl(fd, request, ...)` fails with `errno` for requests whose type and number (the
    /// low 16 bits) are `key`.
    Ioctl {
        /// `(type << 8) | nr` of the request.
        key: u32,
        /// Error returned.
        errno: u16,
    },
}

/// System calls that can be named: those the lab relies on or tests.
const SYSCALLS: &[(&str, i64)] = &[
    ("pidfd_open", libc::SYS_pidfd_open),
    ("pidfd_send_signal", libc::SYS_pidfd_send_signal),
    ("pidfd_getfd", libc::SYS_pidfd_getfd),
    ("kcmp", libc::SYS_kcmp),
    ("process_vm_readv", libc::SYS_process_vm_readv),
    ("process_vm_writev", libc::SYS_process_vm_writev),
    ("clone3", libc::SYS_clone3),
    ("clone", libc::SYS_clone),
    ("fork", libc::SYS_fork),
    ("vfork", libc::SYS_vfork),
    ("close_range", libc::SYS_close_range),
    ("waitid", libc::SYS_waitid),
    ("wait4", libc::SYS_wait4),
    ("memfd_create", libc::SYS_memfd_create),
    ("madvise", libc::SYS_madvise),
    ("unshare", libc::SYS_unshare),
    ("setns", libc::SYS_setns),
    ("sched_setaffinity", libc::SYS_sched_setaffinity),
    ("prctl", libc::SYS_prctl),
    ("ioctl", libc::SYS_ioctl),
    ("kill", libc::SYS_kill),
    ("tgkill", libc::SYS_tgkill),
    ("tkill", libc::SYS_tkill),
    ("process_madvise", libc::SYS_process_madvise),
    ("getdents64", libc::SYS_getdents64),
];

const PRCTLS: &[(&str, i32)] = &[
    ("PR_SET_CHILD_SUBREAPER", libc::PR_SET_CHILD_SUBREAPER),
    ("PR_GET_CHILD_SUBREAPER", libc::PR_GET_CHILD_SUBREAPER),
    ("PR_SET_PDEATHSIG", libc::PR_SET_PDEATHSIG),
    ("PR_SET_THP_DISABLE", libc::PR_SET_THP_DISABLE),
];

/// ioctl requests by type and number: include/uapi/linux/pidfd.h (`PIDFS_IOCTL_MAGIC`
/// 0xFF) and include/uapi/linux/fs.h (`PROCFS_IOCTL_MAGIC` 'f').
const IOCTLS: &[(&str, u32)] = &[
    ("PIDFD_GET_INFO", 0xFF << 8 | 11),
    ("PIDFD_GET_CGROUP_NAMESPACE", 0xFF << 8 | 1),
    ("PIDFD_GET_IPC_NAMESPACE", 0xFF << 8 | 2),
    ("PIDFD_GET_MNT_NAMESPACE", 0xFF << 8 | 3),
    ("PIDFD_GET_NET_NAMESPACE", 0xFF << 8 | 4),
    ("PIDFD_GET_PID_NAMESPACE", 0xFF << 8 | 5),
    ("PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE", 0xFF << 8 | 6),
    ("PIDFD_GET_TIME_NAMESPACE", 0xFF << 8 | 7),
    ("PIDFD_GET_TIME_FOR_CHILDREN_NAMESPACE", 0xFF << 8 | 8),
    ("PIDFD_GET_USER_NAMESPACE", 0xFF << 8 | 9),
    ("PIDFD_GET_UTS_NAMESPACE", 0xFF << 8 | 10),
    ("PROCMAP_QUERY", (b'f' as u32) << 8 | 17),
];

/// Groups of items.
const GROUPS: &[(&str, &[&str])] = &[(
    "pidfds",
    &["pidfd_open", "pidfd_send_signal", "pidfd_getfd"],
)];

fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// Parses a deny list (see the module documentation).
pub fn parse(list: &str) -> anyhow::Result<Vec<Rule>> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (what, errno) = match item.split_once('=') {
            Some((w, e)) => (
                w,
                Some(Errno::parse(e).with_context(|| format!("unknown errno {e:?} in {item:?}"))?),
            ),
            None => (item, None),
        };
        let err = |default: Errno| errno.unwrap_or(default).0 as u16;
        if let Some(members) = lookup(GROUPS, what) {
            for m in members {
                let nr = lookup(SYSCALLS, m).expect("group members are known") as u32;
                out.push(Rule::Syscall {
                    nr,
                    errno: err(Errno::ENOSYS),
                });
            }
        } else if let Some(opt) = what.strip_prefix("prctl:") {
            let option = lookup(PRCTLS, opt)
                .or_else(|| opt.parse().ok())
                .with_context(|| format!("unknown prctl option {opt:?}"))?;
            out.push(Rule::Prctl {
                option: option as u32,
                errno: err(Errno::EINVAL),
            });
        } else if let Some(req) = what.strip_prefix("ioctl:") {
            let key = lookup(IOCTLS, req).with_context(|| {
                format!(
                    "unknown ioctl request {req:?} (known: {})",
                    IOCTLS.iter().map(|x| x.0).collect::<Vec<_>>().join(", ")
                )
            })?;
            out.push(Rule::Ioctl {
                key,
                errno: err(Errno::EINVAL),
            });
        } else {
            let nr = lookup(SYSCALLS, what)
                .or_else(|| what.strip_prefix("nr:").and_then(|n| n.parse().ok()))
                .with_context(|| {
                    format!(
                        "unknown system call {what:?} (known: {}, or nr:N)",
                        SYSCALLS.iter().map(|x| x.0).collect::<Vec<_>>().join(", ")
                    )
                })?;
            out.push(Rule::Syscall {
                nr: nr as u32,
                errno: err(Errno::ENOSYS),
            });
        }
    }
    if out.is_empty() {
        bail!("--deny: nothing to deny");
    }
    Ok(out)
}

// Classic BPF, as seccomp runs it (include/uapi/linux/filter.h, linux/seccomp.h).
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_AND_K: u16 = 0x54;
const BPF_RET_K: u16 = 0x06;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `struct seccomp_data` offsets: nr, arch, args[i] (low half on little-endian).
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
fn off_arg(i: u32) -> u32 {
    16 + 8 * i
}

/// One BPF instruction (`struct sock_filter`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

fn stmt(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// The filter for `rules`: every other call is allowed, and calls of another architecture
/// (none is made by an x86_64 program) are allowed untouched.
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut p = vec![
        stmt(BPF_LD_W_ABS, OFF_ARCH),
        Insn {
            code: BPF_JEQ_K,
            jt: 1,
            jf: 0,
            k: AUDIT_ARCH_X86_64,
        },
        stmt(BPF_RET_K, SECCOMP_RET_ALLOW),
    ];
    for r in rules {
        // Each rule is a self-contained block that starts by loading the call number and
        // falls through to the next block when it does not match.
        let (nr, arg, mask, value, errno) = match *r {
            Rule::Syscall { nr, errno } => (nr, None, 0, 0, errno),
            Rule::Prctl { option, errno } => (
                libc::SYS_prctl as u32,
                Some(off_arg(0)),
                u32::MAX,
                option,
                errno,
            ),
            Rule::Ioctl { key, errno } => {
                (libc::SYS_ioctl as u32, Some(off_arg(1)), 0xffff, key, errno)
            }
        };
        let ret = stmt(BPF_RET_K, SECCOMP_RET_ERRNO | u32::from(errno));
        p.push(stmt(BPF_LD_W_ABS, OFF_NR));
        match arg {
            None => {
                p.push(Insn {
                    code: BPF_JEQ_K,
                    jt: 0,
                    jf: 1,
                    k: nr,
                });
                p.push(ret);
            }
            Some(off) => {
                p.push(Insn {
                    code: BPF_JEQ_K,
                    jt: 0,
                    jf: 4,
                    k: nr,
                });
                p.push(stmt(BPF_LD_W_ABS, off));
                p.push(stmt(BPF_AND_K, mask));
                p.push(Insn {
                    code: BPF_JEQ_K,
                    jt: 0,
                    jf: 1,
                    k: value,
                });
                p.push(ret);
            }
        }
    }
    p.push(stmt(BPF_RET_K, SECCOMP_RET_ALLOW));
    p
}

/// `struct sock_fprog` (linux/filter.h): the program handed to seccomp.
#[repr(C)]
struct Fprog {
    len: u16,
    filter: *const Insn,
}

/// Installs the filter for `rules` on the calling thread (and everything it starts or execs).
pub fn install(rules: &[Rule]) -> std::io::Result<()> {
    load(&program(rules))
}

/// Loads a filter program made by [`program`]; allocates nothing (a forked child may call it).
fn load(prog: &[Insn]) -> std::io::Result<()> {
    rustix::thread::set_no_new_privs(true)?;
    let fprog = Fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr(),
    };
    const SECCOMP_SET_MODE_FILTER: libc::c_long = 1;
    // SAFETY: no safe wrapper serves: neither libc, nix nor rustix has seccomp(2), so it is
    // the raw system call. seccomp reads `fprog` and the program it points to, both alive
    // for the call (the kernel copies the program).
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            0,
            &fprog as *const Fprog,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// `forkspec restrict`: installs the filter and execs `cmd`; returns only on failure, with the
/// exit code (2: usage, 127: the command cannot be run).
pub fn run(deny: &str, cmd: &[String]) -> i32 {
    let rules = match parse(deny) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("forkspec restrict: {e:#}");
            return 2;
        }
    };
    let Some(prog) = cmd.first() else {
        eprintln!(
            "forkspec restrict: no command to run (forkspec restrict --deny LIST -- CMD ARGS...)"
        );
        return 2;
    };
    if let Err(e) = install(&rules) {
        eprintln!("forkspec restrict: installing the seccomp filter: {e}");
        return 2;
    }
    // A plain execvp, not std's Command: that resets the signal mask and SIGPIPE's
    // disposition in the new program, and as a runner this starts the lab's re-executed
    // agents, whose exec op is checked for keeping both.
    let args: Result<Vec<std::ffi::CString>, _> = cmd
        .iter()
        .map(|a| std::ffi::CString::new(a.as_str()))
        .collect();
    let Ok(args) = args else {
        eprintln!("forkspec restrict: a NUL byte in the command");
        return 2;
    };
    // execvp returns only on failure.
    let Err(errno) = nix::unistd::execvp(&args[0], &args);
    let e = std::io::Error::from_raw_os_error(errno as i32);
    eprintln!("forkspec restrict: cannot run {prog}: {e}");
    127
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse() {
        let r =
            parse("pidfds,kcmp=EPERM,prctl:PR_SET_CHILD_SUBREAPER,ioctl:PROCMAP_QUERY").unwrap();
        assert_eq!(r.len(), 6);
        assert_eq!(
            r[3],
            Rule::Syscall {
                nr: libc::SYS_kcmp as u32,
                errno: libc::EPERM as u16
            }
        );
        assert_eq!(
            r[4],
            Rule::Prctl {
                option: libc::PR_SET_CHILD_SUBREAPER as u32,
                errno: libc::EINVAL as u16
            }
        );
        assert!(parse("no_such_call").is_err());
        assert!(parse("ioctl:NOPE").is_err());
        assert!(parse("kcmp=EBOGUS").is_err());
        assert!(parse("").is_err());
    }

    /// Runs `f` in a forked child under the filter for `deny`; the child's exit code is
    /// whether `f` held (0) or not (1).
    fn under(deny: &str, f: fn() -> bool) -> bool {
        let rules = parse(deny).unwrap();
        let prog = program(&rules);
        // SAFETY: no safe wrapper serves: libc, nix and rustix all leave fork to the caller (the
        // child of this multi-threaded test process may only make async-signal-safe calls).
        // The child only makes system calls with local data (the program was built before
        // the fork; `load` and `f` allocate nothing) and leaves with _exit.
        let pid = unsafe {
            let pid = libc::fork();
            if pid == 0 {
                libc::_exit(if load(&prog).is_ok() && f() { 0 } else { 1 });
            }
            pid
        };
        let pid = rustix::process::Pid::from_raw(pid).expect("fork");
        let status = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty())
            .unwrap()
            .unwrap()
            .1;
        status.exit_status() == Some(0)
    }

    fn raw(nr: i64, a: [i64; 4]) -> i64 {
        // SAFETY: no safe wrapper serves: these tests make the very system calls the filter
        // refuses, with arguments no wrapper would pass (NULL, bad fds); the calls below
        // pass integers, NULL or pointers to live locals only, and errors are the point.
        let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3]) };
        if r < 0 {
            -(std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as i64)
        } else {
            r
        }
    }

    fn me() -> i64 {
        rustix::process::getpid().as_raw_nonzero().get().into()
    }

    const ENOSYS: i64 = -(libc::ENOSYS as i64);
    const EINVAL: i64 = -(libc::EINVAL as i64);

    #[test]
    fn denied_calls_fail_and_others_run() {
        // pidfd_open of ourselves works unrestricted; denied it is ENOSYS, and kcmp (not
        // denied) still answers.
        assert!(under("pidfds", || {
            let me = me();
            raw(libc::SYS_pidfd_open, [me, 0, 0, 0]) == ENOSYS
                && raw(libc::SYS_pidfd_getfd, [-1, 0, 0, 0]) == ENOSYS
                && raw(libc::SYS_pidfd_send_signal, [-1, 0, 0, 0]) == ENOSYS
                && raw(libc::SYS_kcmp, [me, me, 0, 0]) != ENOSYS
        }));
        assert!(under("kcmp", || {
            let me = me();
            raw(libc::SYS_kcmp, [me, me, 1, 0]) == ENOSYS
                && raw(libc::SYS_pidfd_open, [me, 0, 0, 0]) >= 0
        }));
        assert!(under("clone3,process_vm_readv", || {
            raw(libc::SYS_clone3, [0, 0, 0, 0]) == ENOSYS
                && raw(libc::SYS_process_vm_readv, [0, 0, 0, 0]) == ENOSYS
                // getpid is untouched.
                && raw(libc::SYS_getpid, [0; 4]) > 0
        }));
        // Without a filter, clone3 with a NULL argument is EFAULT/EINVAL, not ENOSYS: the
        // ENOSYS above is the filter's.
        assert_ne!(raw(libc::SYS_clone3, [0, 0, 0, 0]), ENOSYS);
    }

    #[test]
    fn denied_prctl_options_and_ioctls_fail_and_others_run() {
        assert!(under("prctl:PR_SET_CHILD_SUBREAPER", || {
            raw(
                libc::SYS_prctl,
                [libc::PR_SET_CHILD_SUBREAPER as i64, 1, 0, 0],
            ) == EINVAL
                && raw(libc::SYS_prctl, [libc::PR_GET_DUMPABLE as i64, 0, 0, 0]) >= 0
        }));
        assert!(under("ioctl:PIDFD_GET_INFO", || {
            let me = me();
            let fd = raw(libc::SYS_pidfd_open, [me, 0, 0, 0]);
            // _IOWR(0xFF, 11, 64 bytes) and a larger size: both refused.
            let req = |size: i64| (3 << 30) | (size << 16) | (0xFF << 8) | 11;
            let mut buf = [0u64; 16];
            let p = buf.as_mut_ptr() as i64;
            fd >= 0
                && raw(libc::SYS_ioctl, [fd, req(64), p, 0]) == EINVAL
                && raw(libc::SYS_ioctl, [fd, req(72), p, 0]) == EINVAL
                // FIONREAD on the pidfd is not refused by the filter (the kernel answers
                // whatever it answers, but not through our rule's EINVAL on a pipe).
                && {
                    use std::os::fd::AsRawFd;
                    rustix::pipe::pipe().is_ok_and(|(r, _w)| {
                        let mut n = 0i32;
                        let n = &mut n as *mut i32 as i64;
                        raw(libc::SYS_ioctl, [r.as_raw_fd().into(), libc::FIONREAD as i64, n, 0]) == 0
                    })
                }
        }));
    }
}
