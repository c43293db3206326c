//! Generation of `setns(pidfd, flags)` ops, drawn from the model's state: mostly a pidfd
//! the caller holds and a few namespace kinds at once (UTS, IPC and PID for children most
//! often, the ones clone and unshare make in the mix), now and then another fd or a flag
//! the call refuses. A mount namespace is asked for only where the model predicts an error:
//! a successful join moves the caller's root and cwd out of the case directory (the model's
//! rule ns.setns-mnt-cwd-not-followed).

use crate::gen::Choices;
use forkspec_model::{CloneFlags as F, Model, OpKind, Snapshot};

/// Each namespace flag with the percentage of draws that ask for it.
const FLAGS: [(F, u32); 8] = [
    (F::NEWUTS, 40),
    (F::NEWIPC, 25),
    (F::NEWPID, 25),
    (F::NEWUSER, 15),
    (F::NEWNET, 10),
    (F::NEWCGROUP, 10),
    (F::NEWTIME, 10),
    (F::NEWNS, 15),
];

/// A `setns` op for `task`, or `None` to draw again (it holds no pidfd, or the draw was a
/// mount namespace join the model predicts to succeed with nothing else asked for).
pub(crate) fn setns(
    src: &mut dyn Choices,
    model: &Model,
    snap: &Snapshot,
    task: u32,
) -> Option<OpKind> {
    let view = snap.task(task)?;
    let fds: Vec<i32> = view.fds.iter().map(|f| f.fd).collect();
    let pidfds: Vec<i32> = fds
        .iter()
        .copied()
        .filter(|&fd| model.pidfd_task(task, fd).is_some())
        .collect();
    // A task without a pidfd calls it now and then, for the EBADF and EINVAL of its fds.
    if pidfds.is_empty() && !src.chance(15) {
        return None;
    }
    // Pidfds of tasks in another user namespace (a CLONE_NEWUSER child's): joining it is
    // the one way a task enters a user namespace it did not make.
    let user = |t: u32| snap.task(t).and_then(|v| v.namespaces).map(|n| n.user);
    let foreign: Vec<i32> = pidfds
        .iter()
        .copied()
        .filter(|&fd| {
            model
                .pidfd_task(task, fd)
                .is_some_and(|t| user(t) != user(task))
        })
        .collect();
    let fd = match src.below(20) {
        0 => src.below(4) as i32,
        1 if !fds.is_empty() => *src.pick(&fds),
        2..=9 if !foreign.is_empty() => *src.pick(&foreign),
        _ if !pidfds.is_empty() => *src.pick(&pidfds),
        _ => return None,
    };
    let mut flags = F::EMPTY;
    for (f, pct) in FLAGS {
        if src.chance(pct) {
            flags = flags.with(f);
        }
    }
    if foreign.contains(&fd) && src.chance(50) {
        flags = flags.with(F::NEWUSER);
    }
    match src.below(25) {
        0 => flags = F::EMPTY,
        1 => flags = flags.with(F::VM),
        _ if flags == F::EMPTY => flags = F::NEWUTS,
        _ => {}
    }
    if flags.any(F::NEWNS) && model.setns_outcome(task, fd, flags).is_ok() {
        flags = F(flags.0 & !F::NEWNS.0);
        if flags == F::EMPTY {
            return None;
        }
    }
    Some(OpKind::Setns { fd, flags })
}
