//! Process groups and sessions: known cases (model and kernel must agree at every step; the
//! model's trace is pinned in snapshots/) and a property test over the standard mix, which
//! draws setpgid, getpgid, setsid, getsid and kill to a group among fork, clone, exec, exit
//! and kill.

mod common;

use common::*;
use forkspec::gen::Mix;
use forkspec_model::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(proptest_config(300))]
    /// Generated sequences of the standard mix (groups and sessions among forks, clones,
    /// execs, exits and kills) behave on the kernel exactly as the model predicts.
    #[test]
    fn groups_model_matches_kernel(choices in proptest::collection::vec(any::<u32>(), 0..240)) {
        property(Mix::All, &choices).map_err(TestCaseError::fail)?;
    }
}

fn setpgid(t: TaskId, target: Option<TaskId>, pgid: Option<TaskId>) -> Op {
    op(t, OpKind::Setpgid { target, pgid })
}

fn getpgid(t: TaskId, target: Option<TaskId>) -> Op {
    op(t, OpKind::Getpgid { target })
}

fn getsid(t: TaskId, target: Option<TaskId>) -> Op {
    op(t, OpKind::Getsid { target })
}

fn kill_pgrp(t: TaskId, pgid: Option<TaskId>, sig: Signal) -> Op {
    op(t, OpKind::KillPgrp { pgid, sig })
}

fn group(m: &ModelRun, step: usize, t: TaskId) -> (PidRef, PidRef) {
    let g = m.states[step]
        .task(t)
        .and_then(|v| v.group)
        .unwrap_or_else(|| panic!("t{t} has no group after step {step}"));
    (g.pgrp, g.session)
}

const OK: Outcome = Outcome::Ret(0);
const T0_GROUP: (PidRef, PidRef) = (PidRef::Task(0), PidRef::Outside);

fn pid(l: TaskId) -> Outcome {
    Outcome::Pid(PidRef::Task(l))
}

/// The lab makes t0 a group leader in its own session; a fork child (and a thread) inherits
/// the group and session. A parent moves its child into a group of its own, then joins it;
/// the child's children are born there; getpgid of another task, of a thread and of 0.
/// setpgid of a thread is EINVAL, of a grandchild or a sibling ESRCH, into a group that does
/// not exist EPERM, and of a child after its exec EACCES (setpgid(2)).
// covers: groups.setpgid, groups.inherited
#[test]
fn setpgid_moves_children_between_the_groups_of_a_session() {
    let c = case(vec![
        op(0, OpKind::Fork),          // 0: t1
        op(0, OpKind::Fork),          // 1: t2
        setpgid(0, Some(1), None),    // 2: t1 leads a group
        op(1, OpKind::Fork),          // 3: t3, born in t1's group
        setpgid(0, Some(2), Some(1)), // 4: t2 joins it
        getpgid(3, Some(2)),          // 5
        getpgid(0, None),             // 6
        legacy_clone(3, THREAD, 0),   // 7: t4
        getpgid(0, Some(4)),          // 8
        setpgid(3, Some(4), None),    // 9: a thread
        setpgid(0, Some(3), None),    // 10: a grandchild
        setpgid(1, Some(2), None),    // 11: a sibling
        setpgid(0, Some(2), Some(3)), // 12: no group t3
        op(2, OpKind::Exec),          // 13
        setpgid(0, Some(2), None),    // 14: after its exec
        setpgid(2, None, None),       // 15: itself, after its exec
        setpgid(0, None, Some(1)),    // 16: the parent joins the child's group
        getsid(1, Some(0)),           // 17
    ]);
    let m = known("groups_setpgid_moves_children", &c);
    assert_eq!(group(&m, 1, 2), T0_GROUP);
    assert_eq!(m.outcomes[2], OK);
    assert_eq!(group(&m, 3, 3), (PidRef::Task(1), PidRef::Outside));
    assert_eq!(m.outcomes[5], pid(1));
    assert_eq!(m.outcomes[6], pid(0));
    assert_eq!(m.outcomes[8], pid(1), "a thread answers for its process");
    assert_eq!(m.outcomes[9], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[10], Outcome::Err(Errno::ESRCH));
    assert_eq!(m.outcomes[11], Outcome::Err(Errno::ESRCH));
    assert_eq!(m.outcomes[12], Outcome::Err(Errno::EPERM));
    assert_eq!(m.outcomes[14], Outcome::Err(Errno::EACCES));
    assert_eq!(m.outcomes[15], OK);
    assert_eq!(m.outcomes[16], OK);
    assert_eq!(group(&m, 16, 0), (PidRef::Task(1), PidRef::Outside));
    assert_eq!(m.outcomes[17], Outcome::Pid(PidRef::Outside));
}

/// setsid makes the caller the leader of a new session and group (returning its pid), and is
/// EPERM for a group leader (t0) or a session leader. A child in another session cannot be
/// moved (EPERM), nor can a task join a group of another session (EPERM); a session leader
/// cannot change its group at all (EPERM). Session leadership is not inherited, the session
/// is (setsid(2), setpgid(2), credentials(7)).
// covers: groups.setsid
#[test]
fn setsid_makes_a_new_session_and_group() {
    let c = case(vec![
        op(0, OpKind::Setsid),        // 0: t0 leads a group
        op(0, OpKind::Fork),          // 1: t1
        op(1, OpKind::Setsid),        // 2
        op(1, OpKind::Setsid),        // 3: already a session leader
        getsid(0, Some(1)),           // 4
        op(1, OpKind::Fork),          // 5: t2 in t1's session
        setpgid(0, Some(1), None),    // 6: a child in another session
        setpgid(1, None, None),       // 7: a session leader
        setpgid(0, None, Some(1)),    // 8: a group of another session
        op(2, OpKind::Setsid),        // 9: t2 leads a session of its own
        setpgid(1, Some(2), Some(1)), // 10: the child is in another session now
        op(0, OpKind::Fork),          // 11: t3
        setpgid(3, None, None),       // 12: t3 leads a group
        op(3, OpKind::Fork),          // 13: t4 in t3's group
        setpgid(3, None, Some(0)),    // 14: t3 leaves; t4 keeps the group named by t3
        op(3, OpKind::Setsid),        // 15: a group with its pid exists
        op(4, OpKind::Setsid),        // 16
    ]);
    let m = known("groups_setsid_makes_a_new_session", &c);
    assert_eq!(m.outcomes[0], Outcome::Err(Errno::EPERM));
    assert_eq!(m.outcomes[2], pid(1));
    assert_eq!(group(&m, 2, 1), (PidRef::Task(1), PidRef::Task(1)));
    assert_eq!(m.outcomes[3], Outcome::Err(Errno::EPERM));
    assert_eq!(m.outcomes[4], pid(1));
    assert_eq!(group(&m, 5, 2), (PidRef::Task(1), PidRef::Task(1)));
    for s in [6, 7, 8, 10, 15] {
        assert_eq!(m.outcomes[s], Outcome::Err(Errno::EPERM), "step {s}");
    }
    assert_eq!(m.outcomes[9], pid(2));
    assert_eq!(group(&m, 14, 4), (PidRef::Task(3), PidRef::Outside));
    assert_eq!(m.outcomes[16], pid(4));
}

/// kill(-pgid, sig) reaches every process of the group and nothing else; kill(0, sig) the
/// caller's own group, the caller included. A group of zombies still takes a signal (0); a
/// group with no member is ESRCH; a bad number EINVAL (kill(2), kernel/signal.c
/// `__kill_pgrp_info`).
// covers: groups.kill
#[test]
fn kill_to_a_group_reaches_each_member() {
    let c = case(vec![
        op(0, OpKind::Fork),          // 0: t1
        op(0, OpKind::Fork),          // 1: t2
        op(0, OpKind::Fork),          // 2: t3
        setpgid(0, Some(1), None),    // 3
        setpgid(0, Some(2), Some(1)), // 4
        op(
            2,
            OpKind::Sigaction {
                sig: Signal::SIGUSR1,
                action: SigAction::Handler,
                flags: Default::default(),
            },
        ), // 5
        kill_pgrp(0, Some(1), Signal(65)), // 6
        kill_pgrp(0, Some(1), Signal::SIGUSR1), // 7: t1 dies, t2 catches it
        kill_pgrp(0, Some(3), Signal(0)), // 8: t3 leads no group
        kill_pgrp(2, None, Signal::SIGTERM), // 9: t2 kills its own group
        kill_pgrp(0, Some(1), Signal(0)), // 10: zombies only
        op(
            0,
            OpKind::Wait {
                target: WaitTarget::Task(1),
                options: WaitOptions::default(),
            },
        ), // 11
        op(
            0,
            OpKind::Wait {
                target: WaitTarget::Task(2),
                options: WaitOptions::default(),
            },
        ), // 12
        kill_pgrp(0, Some(1), Signal(0)), // 13: the group is gone
        kill_pgrp(3, None, Signal(0)), // 14: t0's group
    ]);
    let m = known("groups_kill_reaches_each_member", &c);
    assert_eq!(m.outcomes[6], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[7], OK);
    let state = |s: usize, t| m.states[s].task(t).unwrap().state;
    assert_eq!(
        state(7, 1),
        TaskState::Zombie(ExitStatus::Signaled(Signal::SIGUSR1))
    );
    assert_eq!(state(7, 2), TaskState::Live);
    assert_eq!(state(7, 3), TaskState::Live);
    assert_eq!(m.outcomes[8], Outcome::Err(Errno::ESRCH));
    assert_eq!(m.outcomes[9], Outcome::Killed(Signal::SIGTERM));
    assert_eq!(state(9, 0), TaskState::Live);
    assert_eq!(m.outcomes[10], OK);
    assert_eq!(m.outcomes[13], Outcome::Err(Errno::ESRCH));
    assert_eq!(m.outcomes[14], OK);
}

/// Ids as a pid namespace sees them: a CLONE_NEWPID child inherits t0's group and the lab's
/// session, which have no pid in its namespace (getpgid and getsid return 0); its setsid
/// returns 1, and its parent sees the new session by the child's own pid (pid_vnr).
// covers: groups.inherited
#[test]
fn group_ids_are_numbered_in_the_callers_pid_namespace() {
    let c = case(vec![
        op(
            0,
            OpKind::Clone(CloneOp {
                entry: CloneEntry::Clone,
                flags: CloneFlags::NEWPID | CloneFlags::NEWUSER,
                exit_signal: 17,
                args: Clone3Args::default(),
            }),
        ), // 0: t1, pid 1 in its namespace
        getpgid(1, None),      // 1
        getsid(1, Some(0)),    // 2: t0 has no pid there
        op(1, OpKind::Fork),   // 3: t2
        op(1, OpKind::Setsid), // 4
        getsid(0, Some(1)),    // 5
        getsid(2, Some(1)),    // 6
        getpgid(2, None),      // 7
    ]);
    let m = known("groups_pid_namespace_numbering", &c);
    assert_eq!(m.outcomes[1], Outcome::Pid(PidRef::Invisible));
    assert_eq!(m.outcomes[2], Outcome::Err(Errno::ESRCH));
    assert_eq!(m.outcomes[4], pid(1));
    assert_eq!(m.outcomes[5], pid(1));
    assert_eq!(m.outcomes[7], Outcome::Pid(PidRef::Invisible));
}

/// A group led by a pid namespace's init has id 1 there, so a kill to it from inside is
/// `kill(-1, sig)`: ESRCH while the init is alone, then every other process of the
/// namespace (here a child in a group of its own) gets the signal and the init does not.
/// Found by 100,000 generated cases (seed 1405).
// covers: groups.kill
#[test]
fn a_kill_to_the_group_numbered_1_signals_the_whole_namespace() {
    let c = case(vec![
        op(
            0,
            OpKind::Clone(CloneOp {
                entry: CloneEntry::Clone3,
                flags: CloneFlags::NEWPID | CloneFlags::NEWUSER,
                exit_signal: 17,
                args: Clone3Args::default(),
            }),
        ), // 0: t1, pid 1 in its namespace
        setpgid(1, None, None),                 // 1
        kill_pgrp(1, Some(1), Signal::SIGCONT), // 2: kill(-1): nobody else
        op(1, OpKind::Fork),                    // 3: t2
        setpgid(2, None, None),                 // 4
        kill_pgrp(1, Some(1), Signal::SIGTERM), // 5: kill(-1): t2
    ]);
    let m = known("groups_kill_minus_one", &c);
    assert_eq!(m.outcomes[2], Outcome::Err(Errno::ESRCH));
    assert_eq!(m.outcomes[5], OK);
    assert_eq!(
        m.states[5].task(2).map(|t| t.state),
        Some(TaskState::Zombie(ExitStatus::Signaled(Signal::SIGTERM)))
    );
    assert_eq!(m.states[5].task(1).map(|t| t.state), Some(TaskState::Live));
}
