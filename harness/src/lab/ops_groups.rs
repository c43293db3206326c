//! Process group and session ops → agent commands: `setpgid`, `getpgid`, `setsid`,
//! `getsid`, and `kill` to a group. Their pid arguments are labels the case translates to
//! pids in the caller's pid namespace ([`Case::op`](super::case::Case::op)); the ids they
//! return are turned back into labels by the case ([`Expect::Pid`]).

use super::channel::Cmd;
use super::ops::Expect;
use forkspec_model::OpKind;

/// The command for a group op, or `None` for any other op. `pids` are the caller's numbers
/// for the op's two label arguments, in the order of the op's fields (0 for an absent one).
pub fn encode(op: &OpKind, pids: [i64; 2]) -> Option<(Cmd, Expect)> {
    let z = 0u64;
    let call = |nr: i64, a: [u64; 2]| Cmd {
        nr: nr as u64,
        args: [a[0], a[1], z, z, z, z],
        ..Cmd::ZERO
    };
    let [a, b] = pids.map(|p| p as u64);
    Some(match op {
        OpKind::Setpgid { .. } => (call(libc::SYS_setpgid, [a, b]), Expect::Ret),
        OpKind::Getpgid { .. } => (call(libc::SYS_getpgid, [a, z]), Expect::Pid),
        OpKind::Setsid => (call(libc::SYS_setsid, [z, z]), Expect::Pid),
        OpKind::Getsid { .. } => (call(libc::SYS_getsid, [a, z]), Expect::Pid),
        // kill(-pgid, sig); kill(0, sig) for the caller's group.
        OpKind::KillPgrp { sig, .. } => (
            call(libc::SYS_kill, [(-pids[0]) as u64, sig.0 as i64 as u64]),
            Expect::Ret,
        ),
        _ => return None,
    })
}

/// The label arguments of a group op, in the order [`encode`] takes their pids.
pub fn label_args(op: &OpKind) -> [Option<forkspec_model::TaskId>; 2] {
    match *op {
        OpKind::Setpgid { target, pgid } => [target, pgid],
        OpKind::Getpgid { target } | OpKind::Getsid { target } => [target, None],
        OpKind::KillPgrp { pgid, .. } => [pgid, None],
        _ => [None, None],
    }
}
