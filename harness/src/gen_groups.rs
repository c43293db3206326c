//! Generation of the process group and session ops (`setpgid`, `getpgid`, `setsid`,
//! `getsid`, `kill` to a group), drawn from the model's state so that most of them do
//! something: a parent moves its children between the groups of its session, a child makes
//! a group or a session of its own, and a kill reaches a group with several members.

use crate::gen::Choices;
use forkspec_model::{OpKind, PidRef, Signal, Snapshot};

/// Which group op to propose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupKind {
    /// `setpgid`.
    Setpgid,
    /// `getpgid`.
    Getpgid,
    /// `setsid`.
    Setsid,
    /// `getsid`.
    Getsid,
    /// `kill(-pgid, sig)` or `kill(0, sig)`.
    KillPgrp,
}

/// Signals a kill to a group sends: as the single-task kill's mix, without stop and
/// core-dumping signals; mostly caught or ignored-by-default ones, so a group kill seldom
/// ends the whole case.
const GROUP_SIGNALS: [Signal; 8] = [
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGTERM,
    Signal::SIGCHLD,
    Signal::SIGCONT,
    Signal::SIGURG,
    Signal::SIGWINCH,
    Signal(40),
];

/// A group op for `task`, or `None` to draw again. `created` is the number of labels the
/// case has made (a label below it may name a reaped task).
pub fn propose(
    src: &mut dyn Choices,
    snap: &Snapshot,
    task: u32,
    created: u32,
    kind: GroupKind,
) -> Option<OpKind> {
    let labels: Vec<u32> = snap.tasks.iter().map(|t| t.task).collect();
    // Groups that exist, by the label of the task whose pid names them.
    let mut groups: Vec<u32> = snap
        .tasks
        .iter()
        .filter_map(|t| match t.group?.pgrp {
            PidRef::Task(l) => Some(l),
            _ => None,
        })
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let children = crate::gen::children_of(snap, task);
    let any_label = |src: &mut dyn Choices| {
        if src.chance(5) {
            src.below(created.max(1))
        } else {
            labels[src.below(labels.len() as u32) as usize]
        }
    };
    Some(match kind {
        GroupKind::Getpgid | GroupKind::Getsid => {
            let target = (!src.chance(30)).then(|| any_label(src));
            if kind == GroupKind::Getpgid {
                OpKind::Getpgid { target }
            } else {
                OpKind::Getsid { target }
            }
        }
        GroupKind::Setsid => OpKind::Setsid,
        GroupKind::Setpgid => {
            let target = match src.below(10) {
                0..=4 if !children.is_empty() => {
                    Some(children[src.below(children.len() as u32) as usize])
                }
                0..=6 => None,
                7 => Some(task),
                _ => Some(any_label(src)),
            };
            let pgid = match src.below(10) {
                0..=3 => None,
                4..=7 if !groups.is_empty() => {
                    Some(groups[src.below(groups.len() as u32) as usize])
                }
                _ => Some(any_label(src)),
            };
            OpKind::Setpgid { target, pgid }
        }
        GroupKind::KillPgrp => {
            let pgid = if groups.is_empty() || src.chance(30) {
                None
            } else if src.chance(5) {
                Some(any_label(src))
            } else {
                Some(groups[src.below(groups.len() as u32) as usize])
            };
            let sig = match src.below(20) {
                0 => Signal(0),
                1 => Signal::SIGKILL,
                2 => Signal(65),
                _ => GROUP_SIGNALS[src.below(GROUP_SIGNALS.len() as u32) as usize],
            };
            // A fatal signal to t0's group ends most of a case; keep it rare.
            let group = pgid
                .map(PidRef::Task)
                .or_else(|| snap.task(task).and_then(|t| t.group).map(|g| g.pgrp));
            if group == Some(PidRef::Task(0)) && sig != Signal(0) && !src.chance(20) {
                return None;
            }
            // A kill that ends a parent and its child together is refused by the caller
            // (gen.rs `kills_parent_and_child`), which sees the model's outcome.
            OpKind::KillPgrp { pgid, sig }
        }
    })
}
