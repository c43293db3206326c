//! Op → agent command for the state a new task inherits or not: `prctl` options.

use super::channel::{Cmd, FIX_REPLY_DATA};
use super::ops::Expect;
use forkspec_model::{PrctlOption, UnshareFlags};

/// The command of `prctl(option, arg, 0, 0, 0)`. A `get_*` option that writes its answer
/// through `arg2` gets a pointer to the reply's data and answers with the int found there.
pub fn encode_prctl(option: PrctlOption, arg: i64) -> (Cmd, Expect) {
    let (nr, writes_int) = match option {
        PrctlOption::SetChildSubreaper => (libc::PR_SET_CHILD_SUBREAPER, false),
        PrctlOption::GetChildSubreaper => (libc::PR_GET_CHILD_SUBREAPER, true),
        PrctlOption::SetPdeathsig => (libc::PR_SET_PDEATHSIG, false),
        PrctlOption::GetPdeathsig => (libc::PR_GET_PDEATHSIG, true),
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
        c.args[1] = arg as u64;
        (c, Expect::Ret)
    }
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
