//! Generation of the pidfd ops (`pidfd_open`, `pidfd_send_signal`, `pidfd_getfd`, `poll`),
//! drawn from the model's state so that most of them act on a pidfd the caller holds: a
//! task opens pidfds of its children, threads and zombies, signals through them, takes
//! another task's descriptions with `pidfd_getfd`, and polls them around exits and reaps.

use crate::gen::Choices;
use forkspec_model::{InodeKind, Model, OpKind, Signal, Snapshot};

/// Which pidfd op to propose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PidfdKind {
    /// `pidfd_open`.
    Open,
    /// `pidfd_send_signal`.
    SendSignal,
    /// `pidfd_getfd`.
    Getfd,
    /// `poll`.
    Poll,
}

/// Signals `pidfd_send_signal` sends: the single-task kill's mix without stop signals
/// (a stop needs the settling checks of `kill`), mostly caught or ignored-by-default ones.
const SIGNALS: [Signal; 8] = [
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGTERM,
    Signal::SIGCHLD,
    Signal::SIGCONT,
    Signal::SIGURG,
    Signal::SIGHUP,
    Signal(40),
];

/// Whether `task` may take fds from `target` by `pidfd_getfd` whatever the system's ptrace
/// policy: its own thread group, or a descendant (Yama's relational scope allows those; the
/// case's tasks share the lab's credentials and stay dumpable). See the model's rule
/// `pidfd.getfd`.
fn may_take_from(snap: &Snapshot, task: u32, target: u32) -> bool {
    let Some(me) = snap.task(task) else {
        return false;
    };
    let Some(them) = snap.task(target) else {
        return false;
    };
    let group = |v: &forkspec_model::TaskView| v.thread_of.unwrap_or(v.task);
    let mine = group(me);
    let mut cur = Some(them);
    for _ in 0..64 {
        let Some(v) = cur else {
            return false;
        };
        if group(v) == mine {
            return true;
        }
        cur = match v.parent {
            forkspec_model::Parent::Task(p) => snap.task(p),
            _ => None,
        };
    }
    false
}

/// A pidfd op for `task`, or `None` to draw again. `created` is the number of labels the
/// case has made (a label below it may name a reaped task).
pub fn propose(
    src: &mut dyn Choices,
    model: &Model,
    snap: &Snapshot,
    task: u32,
    created: u32,
    kind: PidfdKind,
) -> Option<OpKind> {
    let view = snap.task(task)?;
    let pidfds: Vec<i32> = view
        .fds
        .iter()
        .filter(|f| {
            snap.ofds
                .iter()
                .find(|o| o.id == f.ofd)
                .and_then(|o| snap.inodes.iter().find(|i| i.id == o.inode))
                .is_some_and(|i| i.kind == InodeKind::Pidfd)
        })
        .map(|f| f.fd)
        .collect();
    let fds: Vec<i32> = view.fds.iter().map(|f| f.fd).collect();
    let some_fd = |src: &mut dyn Choices| {
        if !pidfds.is_empty() && !src.chance(10) {
            *src.pick(&pidfds)
        } else if !fds.is_empty() && src.chance(70) {
            *src.pick(&fds)
        } else {
            src.below(6) as i32
        }
    };
    Some(match kind {
        PidfdKind::Open => {
            let labels: Vec<u32> = snap.tasks.iter().map(|t| t.task).collect();
            let children = crate::gen::children_of(snap, task);
            let target = match src.below(10) {
                0..=4 if !children.is_empty() => *src.pick(&children),
                0..=1 => task,
                9 => src.below(created.max(1)),
                _ => *src.pick(&labels),
            };
            OpKind::PidfdOpen {
                target,
                nonblock: src.chance(30),
                thread: src.chance(25),
            }
        }
        PidfdKind::SendSignal => {
            let fd = some_fd(src);
            let sig = match src.below(20) {
                0 => Signal(0),
                1 => Signal::SIGKILL,
                2 => Signal(65),
                _ => *src.pick(&SIGNALS),
            };
            // Killing t0 ends most of a case; keep it rare.
            if model.pidfd_task(task, fd) == Some(0) && sig != Signal(0) && !src.chance(15) {
                return None;
            }
            OpKind::PidfdSendSignal { fd, sig }
        }
        PidfdKind::Getfd => {
            let pidfd = some_fd(src);
            let target = model.pidfd_task(task, pidfd);
            if let Some(t) = target {
                // Only forms the system's ptrace policy cannot refuse (the model predicts
                // the granted answer); a reaped target answers ESRCH before the check.
                if snap.task(t).is_some() && !may_take_from(snap, task, t) {
                    return None;
                }
            }
            let their: Vec<i32> = target
                .and_then(|t| snap.task(t))
                .map(|v| v.fds.iter().map(|f| f.fd).collect())
                .unwrap_or_default();
            let fd = if !their.is_empty() && !src.chance(10) {
                *src.pick(&their)
            } else {
                src.below(6) as i32
            };
            OpKind::PidfdGetfd { pidfd, fd }
        }
        PidfdKind::Poll => OpKind::Poll { fd: some_fd(src) },
    })
}
