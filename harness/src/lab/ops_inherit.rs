//! Op → agent command for the state a new task inherits or not: `prctl` options,
//! `close_range`, `unshare` and a seccomp filter.

use super::channel::{Cmd, FIX_CMD_DATA, FIX_FPROG, FIX_REPLY_DATA};
use super::ops::Expect;
use forkspec_model::{Errno, PrctlOption, UnshareFlags};

/// The command of `prctl(option, arg, 0, 0, 0)`. A `get_*` option that writes its answer
/// through `arg2` gets a pointer to the reply's data and answers with the int found there.
pub fn encode_prctl(option: PrctlOption, arg: i64) -> (Cmd, Expect) {
    let (nr, writes_int) = match option {
        PrctlOption::SetChildSubreaper => (libc::PR_SET_CHILD_SUBREAPER, false),
        PrctlOption::GetChildSubreaper => (libc::PR_GET_CHILD_SUBREAPER, true),
        PrctlOption::SetPdeathsig => (libc::PR_SET_PDEATHSIG, false),
        PrctlOption::GetPdeathsig => (libc::PR_GET_PDEATHSIG, true),
        PrctlOption::SetNoNewPrivs => (libc::PR_SET_NO_NEW_PRIVS, false),
        PrctlOption::GetNoNewPrivs => (libc::PR_GET_NO_NEW_PRIVS, false),
        PrctlOption::GetSeccomp => (libc::PR_GET_SECCOMP, false),
    };
    let mut c = Cmd {
        nr: libc::SYS_prctl as u64,
        args: [nr as u64, 0, 0, 0, 0, 0],
        ..Cmd::ZERO
    };
    if writes_int {
        c.fix = FIX_REPLY_DATA << 1;
        (c, Expect::IntOut)
    } else {
        // The get options that return their answer take no argument (EINVAL otherwise).
        if !option.is_get() {
            c.args[1] = arg as u64;
        }
        (c, Expect::Ret)
    }
}

/// `SECCOMP_SET_MODE_FILTER`.
const SECCOMP_SET_MODE_FILTER: u64 = 1;
/// `AUDIT_ARCH_X86_64`.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `SECCOMP_RET_ERRNO`.
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
/// `SECCOMP_RET_ALLOW`.
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;

/// The command of the `seccomp` op: `seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)` with
/// `struct sock_fprog` and the filter in the command's data (the agent points the one at
/// the other, [`super::channel::FIX_FPROG`]). The filter: another architecture is allowed,
/// `umask` fails with `errno`, everything else is allowed.
pub fn encode_seccomp(errno: Errno) -> (Cmd, Expect) {
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    let prog: [(u16, u8, u8, u32); 6] = [
        (LD_W_ABS, 0, 0, 4), // seccomp_data.arch
        (JEQ_K, 0, 3, AUDIT_ARCH_X86_64),
        (LD_W_ABS, 0, 0, 0), // seccomp_data.nr
        (JEQ_K, 0, 1, libc::SYS_umask as u32),
        (RET_K, 0, 0, SECCOMP_RET_ERRNO | (errno.0 as u32 & 0xffff)),
        (RET_K, 0, 0, SECCOMP_RET_ALLOW),
    ];
    let mut c = Cmd {
        nr: libc::SYS_seccomp as u64,
        args: [SECCOMP_SET_MODE_FILTER, 0, 0, 0, 0, 0],
        fix: (FIX_CMD_DATA << 2) | FIX_FPROG,
        ..Cmd::ZERO
    };
    c.data[0..2].copy_from_slice(&(prog.len() as u16).to_ne_bytes());
    for (i, (code, jt, jf, k)) in prog.iter().enumerate() {
        let at = 16 + 8 * i;
        c.data[at..at + 2].copy_from_slice(&code.to_ne_bytes());
        c.data[at + 2] = *jt;
        c.data[at + 3] = *jf;
        c.data[at + 4..at + 8].copy_from_slice(&k.to_ne_bytes());
    }
    c.len = (16 + 8 * prog.len()) as u32;
    (c, Expect::Ret)
}

/// `CLOSE_RANGE_UNSHARE` (include/uapi/linux/close_range.h).
const CLOSE_RANGE_UNSHARE: u64 = 1 << 1;
/// `CLOSE_RANGE_CLOEXEC`.
const CLOSE_RANGE_CLOEXEC: u64 = 1 << 2;

/// The command of `close_range(first, last, flags)`. The agent's own fds (1024 and above,
/// [`super::channel`]) are not the case's: a `last` above 1023 becomes 1023, which closes
/// exactly the case's fds from `first` on; a `first` above 1023 is refused (it would name
/// only the agent's fds).
pub fn encode_close_range(
    first: u32,
    last: u32,
    cloexec: bool,
    unshare: bool,
) -> Result<(Cmd, Expect), String> {
    let top = (super::channel::AGENT_FD_BASE - 1) as u32;
    if first > top && first <= last {
        return Err(format!(
            "close_range from fd {first}: fds above {top} are the agent's, not the case's"
        ));
    }
    let mut flags = 0;
    if cloexec {
        flags |= CLOSE_RANGE_CLOEXEC;
    }
    if unshare {
        flags |= CLOSE_RANGE_UNSHARE;
    }
    let last = if first <= last { last.min(top) } else { last };
    Ok((
        Cmd {
            nr: libc::SYS_close_range as u64,
            args: [first as u64, last as u64, flags, 0, 0, 0],
            ..Cmd::ZERO
        },
        Expect::Ret,
    ))
}

/// The command of `unshare(flags)`.
pub fn encode_unshare(flags: UnshareFlags) -> (Cmd, Expect) {
    (
        Cmd {
            nr: libc::SYS_unshare as u64,
            args: [flags.clone_flags().0, 0, 0, 0, 0, 0],
            ..Cmd::ZERO
        },
        Expect::Ret,
    )
}
