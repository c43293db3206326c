//! Op → agent command, and agent reply → outcome.

use super::agent::page_addr;
use super::channel::{
    Cmd, Reply, CF_CHILD_TID, CF_PARENT_TID, CF_PIDFD, CF_SET_TID, CF_STACK, CF_STACK_SIZE, CF_TLS,
    DATA, FIX_CMD_DATA, FIX_REPLY_DATA, FIX_REPLY_FROM_CMD, FIX_SIGACTION, K_CLONE, K_FORK, K_LOAD,
    K_STORE, K_UNAME, REPLY_DATA,
};
use forkspec_model::{
    Advice, CloneEntry, CloneFlags, CloneOp, Errno, FcntlCmd, FlockArg, FlockOp, LockOwner,
    LockReport, LockType, MaskHow, OpKind, OpenFlags, Outcome, SetTid, SigAction, SigSet,
    WaitidTarget, Whence, MAX_IO,
};

/// How to turn the reply of a command into an outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `t0`'s ready message.
    Ready,
    /// A plain return value.
    Ret,
    /// `data[..ret]` is the result (read, pread).
    Data,
    /// `data[0]` is the loaded byte.
    Byte,
    /// A store to a case region: a plain return value, as [`Expect::Ret`].
    Store,
    /// `data` holds two ints.
    Pipe,
    /// fork: the child runs in this slot.
    Child {
        /// The slot reserved for the child.
        slot: usize,
    },
    /// vfork / clone / clone3: on success the child runs in `slot`. With `vfork` the
    /// outcome is known from the child's birth message, and the caller's own reply comes
    /// once the child exits.
    Clone {
        /// The slot reserved for the child.
        slot: usize,
        /// CLONE_VFORK.
        vfork: bool,
        /// CLONE_THREAD: the child is a thread of the caller's group.
        thread: bool,
        /// CLONE_NEWPID: the child's own tid (its birth message) is 1.
        newpid: bool,
        /// CLONE_PARENT or CLONE_THREAD: the child is a sibling, not a child, of the caller.
        sibling: bool,
    },
    /// wait4: `ret` is the reaped pid, `data[..4]` the status.
    Reaped,
    /// waitid: `data` holds the `siginfo_t`; `nowait`: `WNOWAIT` leaves a zombie unreaped.
    Waited {
        /// `WNOWAIT`.
        nowait: bool,
    },
    /// getpgid, getsid, setsid: `ret` is a group or session id in the caller's pid
    /// namespace.
    Pid,
    /// F_GETLK / F_OFD_GETLK: `data` holds the `struct flock` written back; its `l_pid` is
    /// a pid in the caller's pid namespace.
    Lock,
    /// exit or exit_group: there is no reply; the outcome comes from the task's death.
    Exit {
        /// exit_group: every thread of the group dies.
        group: bool,
    },
    /// execve: the reply comes from the new program (0), or from the old one on failure.
    Exec,
    /// A call that writes an int through a pointer and returns 0 (`PR_GET_PDEATHSIG`): the
    /// outcome is that int.
    IntOut,
    /// poll of one `struct pollfd` in `data`: the outcome is its `revents`.
    Poll,
    /// mmap with `MAP_FIXED_NOREPLACE` at this address: 0 when the mapping landed there
    /// (the address itself is the lab's choice, not the op's outcome).
    MappedAt(u64),
    /// getitimer, timer_gettime: `data` holds `{interval, value}`, each a count of seconds
    /// and one of `sub_unit` nanoseconds.
    Itimer {
        /// Nanoseconds per unit of the second word (1000 for a `timeval`, 1 for a
        /// `timespec`).
        sub_unit: u64,
    },
    /// alarm: `ret` is the seconds left of the alarm it replaced.
    Alarm,
    /// sigaltstack: `data` holds the old `stack_t`.
    AltStack,
    /// getpriority: `ret` is `20 - nice`.
    Nice,
    /// prlimit: `data` holds the old `struct rlimit64`.
    Rlimit,
    /// sched_getaffinity: `data` holds the CPU mask.
    Affinity,
}

fn syscall(nr: i64, args: [u64; 6]) -> Cmd {
    Cmd {
        nr: nr as u64,
        args,
        ..Cmd::ZERO
    }
}

fn fd(f: i32) -> u64 {
    // Sign-extended, as a C caller passing an int would; the kernel truncates to int.
    f as i64 as u64
}

fn with_data(mut c: Cmd, bytes: &[u8], arg: usize) -> Result<Cmd, String> {
    if bytes.len() > MAX_IO as usize || bytes.len() > DATA {
        return Err(format!(
            "data of {} bytes exceeds the limit of {MAX_IO}",
            bytes.len()
        ));
    }
    c.data[..bytes.len()].copy_from_slice(bytes);
    c.len = bytes.len() as u32;
    c.fix |= FIX_CMD_DATA << arg;
    Ok(c)
}

fn check_len(len: u32) -> Result<u64, String> {
    if len > MAX_IO {
        return Err(format!("length {len} exceeds the limit of {MAX_IO}"));
    }
    Ok(len as u64)
}

/// `open(2)` flags for `f`.
pub fn open_flags(f: OpenFlags) -> i32 {
    use forkspec_model::Access;
    let mut v = match f.access {
        Access::RdOnly => libc::O_RDONLY,
        Access::WrOnly => libc::O_WRONLY,
        Access::RdWr => libc::O_RDWR,
    };
    for (on, bit) in [
        (f.creat, libc::O_CREAT),
        (f.excl, libc::O_EXCL),
        (f.trunc, libc::O_TRUNC),
        (f.append, libc::O_APPEND),
        (f.cloexec, libc::O_CLOEXEC),
        (f.nonblock, libc::O_NONBLOCK),
    ] {
        if on {
            v |= bit;
        }
    }
    v
}

/// A path inside the case directory, NUL-terminated, as command data.
fn case_path(dir: &[u8], rel: &str) -> Result<Vec<u8>, String> {
    let mut p = dir.to_vec();
    if !rel.is_empty() {
        p.push(b'/');
        p.extend_from_slice(rel.as_bytes());
    }
    p.push(0);
    if p.len() > DATA {
        return Err(format!(
            "the case directory path is too long ({} bytes; at most {} fit in a command)",
            dir.len(),
            DATA - 10
        ));
    }
    Ok(p)
}

/// The command running `op`. `child_slot` is the slot reserved for a fork child, `pid` the
/// pid a `wait` or `kill` targets (already resolved from its label, as the caller sees it)
/// and `dir` the case directory (absolute). Errors are invalid requests.
pub fn encode(
    op: &OpKind,
    child_slot: usize,
    pid: i64,
    dir: &[u8],
) -> Result<(Cmd, Expect), String> {
    let wait_pid = pid;
    let z = 0u64;
    if let Some(c) = super::ops_mm::encode(op) {
        return c;
    }
    Ok(match op {
        OpKind::Fork => (
            Cmd {
                kind: K_FORK,
                args: [child_slot as u64, z, z, z, z, z],
                ..Cmd::ZERO
            },
            Expect::Child { slot: child_slot },
        ),
        OpKind::Exit { code, thread } => (
            syscall(
                if *thread {
                    libc::SYS_exit
                } else {
                    libc::SYS_exit_group
                },
                [*code as i64 as u64, z, z, z, z, z],
            ),
            Expect::Exit { group: !*thread },
        ),
        OpKind::Exec if !super::reentry::usable() => {
            return Err("exec is not compared here: no exec route stays inside the \
                        implementation under test (see the hello's exec_route)"
                .into())
        }
        OpKind::Exec => (
            Cmd {
                kind: super::channel::K_EXEC,
                ..Cmd::ZERO
            },
            Expect::Exec,
        ),
        OpKind::Vfork => (
            Cmd {
                kind: K_CLONE,
                args: [libc::SYS_vfork as u64, child_slot as u64, z, z, z, z],
                ..Cmd::ZERO
            },
            Expect::Clone {
                slot: child_slot,
                vfork: true,
                thread: false,
                newpid: false,
                sibling: false,
            },
        ),
        OpKind::Clone(c) => {
            if c.entry == CloneEntry::Clone3 && c.args.size as usize > DATA && c.args.size <= 4096 {
                return Err(format!(
                    "clone3 size {} is neither at most {DATA} nor above the page size",
                    c.args.size
                ));
            }
            encode_clone(c, child_slot)
        }
        OpKind::Wait { options, .. } => {
            let mut o = 0;
            for (on, bit) in [
                (options.nohang, libc::WNOHANG),
                (options.clone, libc::__WCLONE),
                (options.all, libc::__WALL),
                (options.untraced, libc::WUNTRACED),
                (options.continued, libc::WCONTINUED),
            ] {
                if on {
                    o |= bit;
                }
            }
            let mut c = syscall(
                libc::SYS_wait4,
                [wait_pid as u64, z, o as u32 as u64, z, z, z],
            );
            c.fix = FIX_REPLY_DATA << 1;
            (c, Expect::Reaped)
        }
        OpKind::Waitid { target, options } => {
            let mut o = 0;
            for (on, bit) in [
                (options.exited, libc::WEXITED),
                (options.stopped, libc::WSTOPPED),
                (options.continued, libc::WCONTINUED),
                (options.nowait, libc::WNOWAIT),
                (options.nohang, libc::WNOHANG),
                (options.clone, libc::__WCLONE),
                (options.all, libc::__WALL),
            ] {
                if on {
                    o |= bit;
                }
            }
            let idtype = match target {
                WaitidTarget::All => libc::P_ALL,
                WaitidTarget::Pid(_) => libc::P_PID,
                WaitidTarget::OwnPgid | WaitidTarget::Pgid(_) => libc::P_PGID,
                WaitidTarget::Pidfd(_) => P_PIDFD,
            };
            // The id (a pid, a pgid or a pidfd) is resolved by the caller, as for wait4.
            let mut c = syscall(
                libc::SYS_waitid,
                [idtype as u64, wait_pid as u64, z, o as u32 as u64, z, z],
            );
            c.fix = FIX_REPLY_DATA << 2;
            (
                c,
                Expect::Waited {
                    nowait: options.nowait,
                },
            )
        }
        OpKind::MemRead { region, page } => (
            Cmd {
                kind: K_LOAD,
                args: [page_addr(region.index(), *page as u64), z, z, z, z, z],
                ..Cmd::ZERO
            },
            Expect::Byte,
        ),
        OpKind::MemWrite { region, page, byte } => (
            Cmd {
                kind: K_STORE,
                args: [
                    page_addr(region.index(), *page as u64),
                    *byte as u64,
                    z,
                    z,
                    z,
                    z,
                ],
                ..Cmd::ZERO
            },
            Expect::Store,
        ),
        OpKind::Madvise {
            region,
            first,
            count,
            advice,
        } => {
            let adv = match advice {
                Advice::DontFork => libc::MADV_DONTFORK,
                Advice::DoFork => libc::MADV_DOFORK,
                Advice::WipeOnFork => libc::MADV_WIPEONFORK,
                Advice::KeepOnFork => libc::MADV_KEEPONFORK,
                Advice::DontNeed => libc::MADV_DONTNEED,
            };
            (
                syscall(
                    libc::SYS_madvise,
                    [
                        page_addr(region.index(), *first as u64),
                        *count as u64 * 4096,
                        adv as u64,
                        z,
                        z,
                        z,
                    ],
                ),
                Expect::Ret,
            )
        }
        OpKind::Open { file, flags } => {
            // Relative to the case directory, whatever the task's cwd (op.rs: openat(case
            // dir, name, ...)): the path is absolute.
            let name = case_path(dir, file.as_str())?;
            let c = syscall(
                libc::SYS_openat,
                [
                    libc::AT_FDCWD as i64 as u64,
                    z,
                    open_flags(*flags) as u64,
                    0o600,
                    z,
                    z,
                ],
            );
            (with_path(c, &name, 1), Expect::Ret)
        }
        OpKind::Close { fd: f } => (
            syscall(libc::SYS_close, [fd(*f), z, z, z, z, z]),
            Expect::Ret,
        ),
        OpKind::Dup { fd: f } => (syscall(libc::SYS_dup, [fd(*f), z, z, z, z, z]), Expect::Ret),
        OpKind::Dup2 { old, new } => (
            syscall(libc::SYS_dup2, [fd(*old), fd(*new), z, z, z, z]),
            Expect::Ret,
        ),
        OpKind::Dup3 { old, new, cloexec } => (
            syscall(
                libc::SYS_dup3,
                [
                    fd(*old),
                    fd(*new),
                    if *cloexec { libc::O_CLOEXEC as u64 } else { 0 },
                    z,
                    z,
                    z,
                ],
            ),
            Expect::Ret,
        ),
        OpKind::Read { fd: f, len } => {
            let mut c = syscall(libc::SYS_read, [fd(*f), z, check_len(*len)?, z, z, z]);
            c.fix = FIX_REPLY_DATA << 1;
            (c, Expect::Data)
        }
        OpKind::Write { fd: f, data } => {
            let c = syscall(libc::SYS_write, [fd(*f), z, data.len() as u64, z, z, z]);
            (with_data(c, data, 1)?, Expect::Ret)
        }
        OpKind::Pread { fd: f, len, offset } => {
            let mut c = syscall(
                libc::SYS_pread64,
                [fd(*f), z, check_len(*len)?, *offset as u64, z, z],
            );
            c.fix = FIX_REPLY_DATA << 1;
            (c, Expect::Data)
        }
        OpKind::Pwrite {
            fd: f,
            data,
            offset,
        } => {
            let c = syscall(
                libc::SYS_pwrite64,
                [fd(*f), z, data.len() as u64, *offset as u64, z, z],
            );
            (with_data(c, data, 1)?, Expect::Ret)
        }
        OpKind::Lseek {
            fd: f,
            offset,
            whence,
        } => {
            let w = match whence {
                Whence::Set => libc::SEEK_SET,
                Whence::Cur => libc::SEEK_CUR,
                Whence::End => libc::SEEK_END,
            };
            (
                syscall(libc::SYS_lseek, [fd(*f), *offset as u64, w as u64, z, z, z]),
                Expect::Ret,
            )
        }
        OpKind::Flock {
            fd: f,
            op,
            nonblock,
        } => {
            let mut how = match op {
                FlockOp::Sh => libc::LOCK_SH,
                FlockOp::Ex => libc::LOCK_EX,
                FlockOp::Un => libc::LOCK_UN,
            };
            if *nonblock {
                how |= libc::LOCK_NB;
            }
            (
                syscall(libc::SYS_flock, [fd(*f), how as u64, z, z, z, z]),
                Expect::Ret,
            )
        }
        OpKind::Fcntl { fd: f, cmd } => {
            let (c, arg) = match *cmd {
                FcntlCmd::GetFd => (libc::F_GETFD, 0),
                FcntlCmd::SetFd { cloexec } => {
                    (libc::F_SETFD, if cloexec { libc::FD_CLOEXEC } else { 0 })
                }
                FcntlCmd::GetFl => (libc::F_GETFL, 0),
                FcntlCmd::SetFl { append, nonblock } => (
                    libc::F_SETFL,
                    (if append { libc::O_APPEND } else { 0 })
                        | (if nonblock { libc::O_NONBLOCK } else { 0 }),
                ),
                FcntlCmd::DupFd { min } => (libc::F_DUPFD, min),
                FcntlCmd::DupFdCloexec { min } => (libc::F_DUPFD_CLOEXEC, min),
                FcntlCmd::SetLk { lock } => return Ok(encode_lock(*f, libc::F_SETLK, false, lock)),
                FcntlCmd::GetLk { lock } => return Ok(encode_lock(*f, libc::F_GETLK, true, lock)),
                FcntlCmd::OfdSetLk { lock } => {
                    return Ok(encode_lock(*f, libc::F_OFD_SETLK, false, lock))
                }
                FcntlCmd::OfdGetLk { lock } => {
                    return Ok(encode_lock(*f, libc::F_OFD_GETLK, true, lock))
                }
            };
            (
                syscall(
                    libc::SYS_fcntl,
                    [fd(*f), c as u64, arg as i64 as u64, z, z, z],
                ),
                Expect::Ret,
            )
        }
        OpKind::Pipe2 { cloexec, nonblock } => {
            let flags = (if *cloexec { libc::O_CLOEXEC } else { 0 })
                | (if *nonblock { libc::O_NONBLOCK } else { 0 });
            let mut c = syscall(libc::SYS_pipe2, [z, flags as u64, z, z, z, z]);
            c.fix = FIX_REPLY_DATA;
            (c, Expect::Pipe)
        }
        OpKind::Ftruncate { fd: f, len } => (
            syscall(libc::SYS_ftruncate, [fd(*f), *len as u64, z, z, z, z]),
            Expect::Ret,
        ),
        OpKind::Kill { sig, .. } => (
            syscall(
                libc::SYS_kill,
                [pid as u64, sig.0 as i64 as u64, z, z, z, z],
            ),
            Expect::Ret,
        ),
        OpKind::Sigaction {
            sig,
            action,
            flags: sa,
        } => {
            use super::handler::{SA_RESTART, SA_RESTORER};
            let (handler, mut flags, fix) = match action {
                SigAction::Default => (0u64, 0u64, 0),
                SigAction::Ignore => (1, 0, 0),
                SigAction::Handler => (0, SA_RESTORER | SA_RESTART, FIX_SIGACTION),
            };
            if sa.nocldstop {
                flags |= libc::SA_NOCLDSTOP as u64;
            }
            if sa.nocldwait {
                flags |= libc::SA_NOCLDWAIT as u64;
            }
            // struct sigaction as rt_sigaction takes it: handler, flags, restorer, mask.
            let mut act = [0u8; 32];
            act[0..8].copy_from_slice(&handler.to_ne_bytes());
            act[8..16].copy_from_slice(&flags.to_ne_bytes());
            let c = syscall(libc::SYS_rt_sigaction, [sig.0 as i64 as u64, z, z, 8, z, z]);
            let mut c = with_path(c, &act, 1);
            c.fix |= fix;
            (c, Expect::Ret)
        }
        OpKind::Sigprocmask { how, set } => {
            let how = match how {
                MaskHow::Block => libc::SIG_BLOCK,
                MaskHow::Unblock => libc::SIG_UNBLOCK,
                MaskHow::SetMask => libc::SIG_SETMASK,
            };
            let bits = set.iter().fold(0u64, |m, s| m | SigSet::bit(s.0));
            let c = syscall(libc::SYS_rt_sigprocmask, [how as u64, z, z, 8, z, z]);
            (with_path(c, &bits.to_ne_bytes(), 1), Expect::Ret)
        }
        OpKind::Chdir { dir: d } => {
            let path = case_path(dir, d.rel_path())?;
            let c = syscall(libc::SYS_chdir, [z; 6]);
            (with_path(c, &path, 0), Expect::Ret)
        }
        OpKind::Umask { mask } => (
            syscall(libc::SYS_umask, [*mask as u64, z, z, z, z, z]),
            Expect::Ret,
        ),
        OpKind::Sethostname { name } => {
            let c = syscall(
                libc::SYS_sethostname,
                [z, name.as_str().len() as u64, z, z, z, z],
            );
            (with_path(c, name.as_str().as_bytes(), 0), Expect::Ret)
        }
        OpKind::Uname => (
            Cmd {
                kind: K_UNAME,
                ..Cmd::ZERO
            },
            Expect::Data,
        ),
        OpKind::Mmap { .. }
        | OpKind::Munmap { .. }
        | OpKind::Mprotect { .. }
        | OpKind::Mremap { .. }
        | OpKind::Mlock { .. }
        | OpKind::Munlock { .. }
        | OpKind::Mlockall { .. }
        | OpKind::Munlockall => return Err("mapping ops are encoded by ops_mm".into()),
        OpKind::Prctl { option, arg } => super::ops_inherit::encode_prctl(*option, *arg),
        OpKind::Sigaltstack { set } => super::ops_altstack::encode(*set)?,
        OpKind::Setpriority { nice } => super::ops_sched::encode_setpriority(*nice),
        OpKind::Getpriority => super::ops_sched::encode_getpriority(),
        OpKind::SchedSetscheduler { policy, priority } => {
            super::ops_sched::encode_setscheduler(*policy, *priority)
        }
        OpKind::SchedGetscheduler => super::ops_sched::encode_getscheduler(),
        OpKind::Personality { persona } => super::ops_sched::encode_personality(*persona),
        OpKind::SchedSetaffinity { cpus } => super::ops_sched::encode_setaffinity(*cpus),
        OpKind::SchedGetaffinity => super::ops_sched::encode_getaffinity(),
        OpKind::Prlimit {
            resource,
            set,
            no_old,
        } => super::ops_sched::encode_prlimit(*resource, *set, *no_old),
        OpKind::CloseRange {
            first,
            last,
            cloexec,
            unshare,
        } => super::ops_inherit::encode_close_range(*first, *last, *cloexec, *unshare)?,
        OpKind::Unshare { flags } => super::ops_inherit::encode_unshare(*flags),
        OpKind::Seccomp { errno } => super::ops_inherit::encode_seccomp(*errno),
        OpKind::Setitimer { .. }
        | OpKind::Getitimer { .. }
        | OpKind::Alarm { .. }
        | OpKind::TimerCreate { .. }
        | OpKind::TimerSettime { .. }
        | OpKind::TimerGettime { .. }
        | OpKind::TimerDelete { .. } => match super::ops_timers::encode(op) {
            Some(c) => c,
            None => return Err(format!("{op:?}: no timer command")),
        },
        OpKind::Setpgid { .. }
        | OpKind::Getpgid { .. }
        | OpKind::Setsid
        | OpKind::Getsid { .. }
        | OpKind::KillPgrp { .. } => {
            return Err(format!("{op:?} is encoded by lab::ops_groups"));
        }
        OpKind::PidfdOpen { .. }
        | OpKind::PidfdSendSignal { .. }
        | OpKind::PidfdGetfd { .. }
        | OpKind::Setns { .. }
        | OpKind::Poll { .. } => {
            return Err(format!("{op:?} is encoded by lab::ops_pidfd"));
        }
    })
}

/// Puts `bytes` (at most [`DATA`], checked by the caller) in the command data and makes
/// argument `arg` point to it.
fn with_path(mut c: Cmd, bytes: &[u8], arg: usize) -> Cmd {
    let n = bytes.len().min(DATA);
    c.data[..n].copy_from_slice(&bytes[..n]);
    c.len = n as u32;
    c.fix |= FIX_CMD_DATA << arg;
    c
}

/// The K_CLONE command of a clone/clone3 op. Pointer fields are filled in by the agent
/// (`CF_*`): all point into the child slot's scratch area, distinct from each other, so
/// clone3's pidfd and parent_tid never alias (legacy clone aliases them by definition).
fn encode_clone(c: &CloneOp, slot: usize) -> (Cmd, Expect) {
    let f = c.flags;
    let mut cmd = Cmd {
        kind: K_CLONE,
        ..Cmd::ZERO
    };
    cmd.args[1] = slot as u64;
    match c.entry {
        CloneEntry::Clone => {
            cmd.args[0] = libc::SYS_clone as u64;
            // Low 32 bits only; NEWTIME (0x80) is one of the CSIGNAL bits there.
            let low = (f.0 & 0xffff_ffff & !0xff) | (c.exit_signal as u64 & 0xff) | (f.0 & 0x80);
            cmd.args[2] = low;
        }
        CloneEntry::Clone3 => {
            let a = c.args;
            cmd.args[0] = libc::SYS_clone3 as u64;
            cmd.args[2] = a.size as u64;
            let mut put = |off: usize, v: u64| {
                cmd.data[off..off + 8].copy_from_slice(&v.to_ne_bytes());
            };
            put(0, f.0);
            put(32, c.exit_signal as i64 as u64);
            let (set_tid_ptr, set_tid_size) = match a.set_tid {
                SetTid::None => (false, 0),
                SetTid::Pid1 => (true, 1),
                SetTid::NullWithSize => (false, 1),
                SetTid::PtrWithoutSize => (true, 0),
                SetTid::TooMany => (true, 33),
            };
            put(72, set_tid_size);
            // cgroup: fd 0, or a number above INT_MAX.
            put(80, if a.cgroup_big { 1 << 32 } else { 0 });
            let size = a.size as usize;
            if a.tail_nonzero && size > 88 && size <= DATA {
                cmd.data[size - 1] = 1;
            }
            let mut fix = CF_PIDFD | CF_CHILD_TID | CF_PARENT_TID | CF_TLS;
            if a.stack {
                fix |= CF_STACK;
            }
            if a.stack_size {
                fix |= CF_STACK_SIZE;
            }
            if set_tid_ptr {
                fix |= CF_SET_TID;
            }
            cmd.args[3] = fix;
        }
    }
    let legacy = c.entry == CloneEntry::Clone;
    let kept = |x: CloneFlags| f.has(x) && !(legacy && x.0 > 0xffff_ffff);
    (
        cmd,
        Expect::Clone {
            slot,
            vfork: kept(CloneFlags::VFORK),
            thread: kept(CloneFlags::THREAD),
            newpid: kept(CloneFlags::NEWPID),
            sibling: kept(CloneFlags::THREAD) || kept(CloneFlags::PARENT),
        },
    )
}

/// Size of `struct flock` on x86_64: `l_type` (i16) at 0, `l_whence` (i16) at 2, `l_start`
/// (i64) at 8, `l_len` (i64) at 16, `l_pid` (i32) at 24, padded to 32.
const FLOCK_SIZE: usize = 32;

fn lock_type(t: LockType) -> i16 {
    (match t {
        LockType::Rd => libc::F_RDLCK,
        LockType::Wr => libc::F_WRLCK,
        LockType::Un => libc::F_UNLCK,
    }) as i16
}

/// `fcntl(fd, F_[OFD_]{SET,GET}LK, &flock)`: the structure travels in the command's data;
/// a get has the kernel write its answer into a copy of it in the reply's data.
fn encode_lock(f: i32, nr: i32, get: bool, a: FlockArg) -> (Cmd, Expect) {
    let mut c = syscall(libc::SYS_fcntl, [fd(f), nr as u64, 0, 0, 0, 0]);
    c.data[0..2].copy_from_slice(&lock_type(a.ty).to_ne_bytes());
    c.data[2..4].copy_from_slice(&(libc::SEEK_SET as i16).to_ne_bytes());
    c.data[8..16].copy_from_slice(&a.start.to_ne_bytes());
    c.data[16..24].copy_from_slice(&a.len.to_ne_bytes());
    c.data[24..28].copy_from_slice(&a.pid.to_ne_bytes());
    c.len = FLOCK_SIZE as u32;
    if get {
        c.fix = FIX_REPLY_FROM_CMD | (FIX_REPLY_DATA << 2);
        (c, Expect::Lock)
    } else {
        c.fix = FIX_CMD_DATA << 2;
        (c, Expect::Ret)
    }
}

/// The outcome of a successful F_GETLK / F_OFD_GETLK reply; `owner` names the task whose
/// pid (in the caller's namespace) the kernel reported in `l_pid` (> 0).
pub fn lock_report(r: &Reply, owner: impl Fn(i32) -> LockOwner) -> Outcome {
    let d = &r.data;
    let ty = i16::from_ne_bytes([d[0], d[1]]);
    if ty == libc::F_UNLCK as i16 {
        return Outcome::Lock(LockReport::Unlocked);
    }
    let i64_at = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[o..o + 8]);
        i64::from_ne_bytes(b)
    };
    let pid = i32::from_ne_bytes([d[24], d[25], d[26], d[27]]);
    Outcome::Lock(LockReport::Held {
        // A type Linux never reports shows as an unlock in a held lock, which no model
        // predicts.
        ty: match ty as i32 {
            libc::F_RDLCK => LockType::Rd,
            libc::F_WRLCK => LockType::Wr,
            _ => LockType::Un,
        },
        start: i64_at(8),
        len: i64_at(16),
        owner: match pid {
            -1 => LockOwner::Ofd,
            0 => LockOwner::Invisible,
            p => owner(p),
        },
    })
}

/// Whether `op` names one of the agent's channel fds. Those are not the case's: a fresh
/// program would not have them open, and running the op would break the channel (a close of
/// the command pipe, a write into the reply pipe). The caller answers EBADF, as the kernel
/// does for a descriptor that is not open (dup2/dup3 onto them fail the same way, since they
/// lie above the case's RLIMIT_NOFILE).
pub fn touches_agent_fd(op: &OpKind) -> bool {
    // poll reports a descriptor that is not open in its answer (lab::ops_pidfd).
    if let OpKind::Poll { .. } = op {
        return false;
    }
    op.fd_args()
        .into_iter()
        .any(|fd| fd >= super::channel::AGENT_FD_BASE)
}

/// `P_PIDFD` (linux/wait.h), which the libc crate does not name on every target.
const P_PIDFD: libc::idtype_t = 3;

/// The `_sigchld` fields of a `siginfo_t` a waitid filled: `si_pid`, `si_code`, `si_status`
/// (x86_64 layout: `si_signo`, `si_errno`, `si_code` at 0, 4, 8; `si_pid` at 16, `si_uid` at
/// 20, `si_status` at 24).
pub fn siginfo_child(data: &[u8]) -> (i32, i32, i32) {
    let at = |o: usize| i32::from_ne_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
    (at(16), at(8), at(24))
}

/// The wait4 status word a waitid report stands for (for the lab's bookkeeping of a reaped
/// task): `CLD_EXITED` code `c` is `c << 8`, `CLD_KILLED` signal `s` is `s`, `CLD_DUMPED`
/// `s | 0x80`.
pub fn status_word(code: i32, status: i32) -> Option<i32> {
    match code {
        1 => Some((status & 0xff) << 8),
        2 => Some(status & 0x7f),
        3 => Some((status & 0x7f) | 0x80),
        _ => None,
    }
}

/// Decodes a `wait4` status word.
pub fn exit_status(status: i32) -> forkspec_model::ExitStatus {
    use forkspec_model::{ExitStatus, Signal};
    if status & 0x7f == 0 {
        ExitStatus::Exited(((status >> 8) & 0xff) as u8)
    } else {
        ExitStatus::Signaled(Signal(status & 0x7f))
    }
}

/// The outcome of a reply for the expectations that need no bookkeeping (everything except
/// `Child` and `Reaped`, which the case resolves to labels).
pub fn outcome(expect: Expect, r: &Reply) -> Outcome {
    if r.ret < 0 {
        return Outcome::Err(Errno(-r.ret as i32));
    }
    match expect {
        Expect::Data => Outcome::Data(r.data[..(r.ret as usize).min(REPLY_DATA)].to_vec()),
        Expect::Byte => Outcome::Data(vec![r.data[0]]),
        Expect::Poll => Outcome::Ret(super::ops_pidfd::revents(&r.data)),
        Expect::MappedAt(addr) if r.ret as u64 == addr => Outcome::Ret(0),
        Expect::IntOut => Outcome::Ret(i64::from(i32::from_ne_bytes([
            r.data[0], r.data[1], r.data[2], r.data[3],
        ]))),
        Expect::Itimer { sub_unit } => super::ops_timers::report(r, sub_unit),
        Expect::Alarm => super::ops_timers::alarm_report(r),
        Expect::AltStack => super::ops_altstack::report(r),
        Expect::Nice => super::ops_sched::nice_report(r),
        Expect::Rlimit => super::ops_sched::rlimit_report(r),
        Expect::Affinity => super::ops_sched::affinity_report(r),
        Expect::Pipe => {
            let a = i32::from_ne_bytes([r.data[0], r.data[1], r.data[2], r.data[3]]);
            let b = i32::from_ne_bytes([r.data[4], r.data[5], r.data[6], r.data[7]]);
            Outcome::Pipe([a, b])
        }
        _ => Outcome::Ret(r.ret),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use forkspec_model::{ExitStatus, Signal};

    #[test]
    fn wait_status_decodes() {
        assert_eq!(exit_status(3 << 8), ExitStatus::Exited(3));
        assert_eq!(exit_status(11), ExitStatus::Signaled(Signal::SIGSEGV));
        assert_eq!(exit_status(9 | 0x80), ExitStatus::Signaled(Signal::SIGKILL));
    }

    #[test]
    fn siginfo_of_a_child_decodes() {
        let mut d = [0u8; 128];
        d[0..4].copy_from_slice(&17i32.to_ne_bytes());
        d[8..12].copy_from_slice(&2i32.to_ne_bytes());
        d[16..20].copy_from_slice(&4321i32.to_ne_bytes());
        d[20..24].copy_from_slice(&7i32.to_ne_bytes());
        d[24..28].copy_from_slice(&9i32.to_ne_bytes());
        assert_eq!(siginfo_child(&d), (4321, 2, 9));
        assert_eq!(status_word(1, 3), Some(3 << 8));
        assert_eq!(status_word(2, 9), Some(9));
        assert_eq!(status_word(3, 11), Some(11 | 0x80));
        assert_eq!(status_word(5, 19), None);
    }

    #[test]
    fn data_replies_keep_every_byte() {
        // An observation (K_OBSERVE) answers with more than a command's payload.
        let mut r = Reply::ZERO;
        r.ret = 300;
        r.data[299] = 7;
        let mut want = vec![0; 300];
        want[299] = 7;
        assert_eq!(outcome(Expect::Data, &r), Outcome::Data(want));
    }

    #[test]
    fn agent_fds_are_guarded() {
        assert!(touches_agent_fd(&OpKind::Close { fd: 1024 }));
        assert!(touches_agent_fd(&OpKind::Dup2 { old: 0, new: 1088 }));
        assert!(!touches_agent_fd(&OpKind::Close { fd: 1023 }));
        assert!(!touches_agent_fd(&OpKind::Fork));
    }

    #[test]
    fn oversized_io_is_rejected() {
        assert!(encode(&OpKind::Read { fd: 0, len: 65 }, 0, 0, b"/tmp").is_err());
        assert!(encode(
            &OpKind::Write {
                fd: 0,
                data: vec![0; 65]
            },
            0,
            0,
            b"/tmp"
        )
        .is_err());
        let (c, e) = encode(&OpKind::Read { fd: 0, len: 64 }, 0, 0, b"/tmp").unwrap();
        assert_eq!((c.args[2], e), (64, Expect::Data));
    }
}
