//! CLONE_THREAD groups: who waits for whose children and where orphans go, each case checked
//! on the model and the kernel and pinned by a snapshot. (Generated sequences with live
//! threads run in the clone suite.)

mod common;

use common::*;
use forkspec_model::*;

fn wait(t: TaskId, target: WaitTarget, options: WaitOptions) -> Op {
    op(t, OpKind::Wait { target, options })
}

/// A thread can wait for the children of every thread of its group, and a child created by
/// a thread shows the group leader as its parent (wait(2): "a thread can wait on children of
/// other threads in the same thread group"; kernel/exit.c do_wait walks every thread; PPid
/// is the parent's thread group id).
// covers: clone.thread
#[test]
fn a_thread_reaps_the_children_of_its_group() {
    let c = case(vec![
        legacy_clone(0, THREAD, 0),
        op(0, OpKind::Fork),
        op(1, OpKind::Fork),
        exit(2, 6),
        wait(1, WaitTarget::Any, WaitOptions::default()),
        exit(3, 7),
        wait(1, WaitTarget::Task(3), WaitOptions::default()),
        wait(1, WaitTarget::Any, WaitOptions::default()),
    ]);
    let m = known("thread_reaps_children_of_its_group", &c);
    assert_eq!(m.states[2].task(3).unwrap().parent, Parent::Task(0));
    assert_eq!(
        m.outcomes[4],
        Outcome::Reaped {
            task: 2,
            status: ExitStatus::Exited(6)
        }
    );
    assert_eq!(
        m.outcomes[6],
        Outcome::Reaped {
            task: 3,
            status: ExitStatus::Exited(7)
        }
    );
    assert_eq!(m.outcomes[7], Outcome::Err(Errno::ECHILD));
}

/// When a thread exits, its children move to a live thread of the same group
/// (kernel/exit.c: find_new_reaper → find_alive_thread), keeping their exit signal; only a
/// move to another process resets it to SIGCHLD (reparent_leader). The clone child here has
/// exit signal 0, so only `__WCLONE` or `__WALL` waits see it.
#[test]
fn children_of_an_exiting_thread_stay_in_the_group() {
    let c = case(vec![
        legacy_clone(0, THREAD, 0),
        legacy_clone(1, CloneFlags::EMPTY, 0),
        exit_thread(1, 0),
        exit(2, 3),
        wait(0, WaitTarget::Any, WaitOptions::default()),
        wait(
            0,
            WaitTarget::Any,
            WaitOptions {
                clone: true,
                ..Default::default()
            },
        ),
    ]);
    let m = known("children_of_an_exiting_thread_stay_in_the_group", &c);
    assert!(m.states[2].task(1).is_none(), "a thread leaves no zombie");
    let child = m.states[2].task(2).unwrap();
    assert_eq!(child.parent, Parent::Task(0));
    assert_eq!(child.exit_signal, Some(Signal(0)));
    assert_eq!(m.outcomes[4], Outcome::Err(Errno::ECHILD));
    assert_eq!(
        m.outcomes[5],
        Outcome::Reaped {
            task: 2,
            status: ExitStatus::Exited(3)
        }
    );
}

/// exit_group by any thread ends every thread of the group; the leader's status is the
/// caller's code (kernel/exit.c: do_group_exit, zap_other_threads).
#[test]
fn exit_group_from_a_thread_ends_the_group() {
    let c = case(vec![
        op(0, OpKind::Fork),
        legacy_clone(1, THREAD, 0),
        legacy_clone(1, THREAD, 0),
        exit(3, 9),
        wait(0, WaitTarget::Any, WaitOptions::default()),
    ]);
    let m = known("exit_group_from_a_thread_ends_the_group", &c);
    let s = &m.states[3];
    assert!(s.task(2).is_none() && s.task(3).is_none());
    assert_eq!(
        s.task(1).unwrap().state,
        TaskState::Zombie(ExitStatus::Exited(9))
    );
    assert_eq!(
        m.outcomes[4],
        Outcome::Reaped {
            task: 1,
            status: ExitStatus::Exited(9)
        }
    );
}

fn words(m: &ModelRun, step: usize, t: TaskId) -> Vec<(TaskId, TidWord, TidValue)> {
    m.states[step]
        .task(t)
        .unwrap_or_else(|| panic!("t{t} missing after step {step}"))
        .tid_words
        .iter()
        .map(|w| (w.child, w.word, w.value))
        .collect()
}

/// The words clone writes, as each side sees them (clone(2)): CLONE_PARENT_SETTID writes the
/// child's tid into the parent's memory after the child's copy was made, CLONE_CHILD_SETTID
/// into the child's memory when it first runs; with CLONE_VM both see both. At exit,
/// CLONE_CHILD_CLEARTID zeroes the child's word while someone still shares the memory.
/// Legacy clone's CLONE_PIDFD returns the pidfd through `parent_tid`.
// covers: clone.settid-cleartid
#[test]
fn tid_words_as_each_side_sees_them() {
    use TidValue::{Raw, Task};
    use TidWord::{ChildTid, ParentTid};
    let all = CloneFlags(
        CloneFlags::PARENT_SETTID.0 | CloneFlags::CHILD_SETTID.0 | CloneFlags::CHILD_CLEARTID.0,
    );
    let c = case(vec![
        legacy_clone(0, all, 17),
        legacy_clone(0, all | CloneFlags::VM, 17),
        exit(2, 0),
        exit(1, 0),
        op(
            0,
            OpKind::Open {
                file: FileName::Data,
                flags: OpenFlags::default(),
            },
        ),
        legacy_clone(0, CloneFlags::PIDFD, 17),
    ]);
    let m = known("tid_words_as_each_side_sees_them", &c);
    assert_eq!(words(&m, 0, 0), vec![(1, ParentTid, Task(1))]);
    assert_eq!(words(&m, 0, 1), vec![(1, ChildTid, Task(1))]);
    let both = vec![
        (1, ParentTid, Task(1)),
        (2, ParentTid, Task(2)),
        (2, ChildTid, Task(2)),
    ];
    assert_eq!(words(&m, 1, 0), both);
    assert_eq!(words(&m, 1, 2), both);
    assert_eq!(
        words(&m, 2, 0),
        vec![(1, ParentTid, Task(1)), (2, ParentTid, Task(2))],
        "CLEARTID zeroed the child's word"
    );
    assert_eq!(
        words(&m, 5, 0).last(),
        Some(&(3, ParentTid, Raw(1))),
        "pidfd 1"
    );
}

/// `CLONE_PIDFD | CLONE_THREAD` gives a thread pidfd (PIDFD_THREAD, which is O_EXCL):
/// F_GETFL shows it, next to O_RDWR (kernel/fork.c: copy_process). Found by the generated
/// clone suite.
#[test]
fn a_thread_pidfd_shows_pidfd_thread() {
    let c = case(vec![
        legacy_clone(0, THREAD | CloneFlags::PIDFD, 0),
        legacy_clone(0, CloneFlags::PIDFD, 17),
        op(
            0,
            OpKind::Fcntl {
                fd: 0,
                cmd: FcntlCmd::GetFl,
            },
        ),
        op(
            0,
            OpKind::Fcntl {
                fd: 1,
                cmd: FcntlCmd::GetFl,
            },
        ),
    ]);
    let m = known("thread_pidfd_getfl", &c);
    assert_eq!(m.outcomes[2], Outcome::Ret(0o2 | 0o200));
    assert_eq!(m.outcomes[3], Outcome::Ret(0o2));
}

/// CLONE_PARENT from a thread gives the child the thread group's parent, which follows the
/// group when it is orphaned (forget_original_parent moves every thread's real_parent).
/// Found by the generated clone suite.
#[test]
fn clone_parent_from_a_thread_of_an_orphaned_group() {
    let c = case(vec![
        op(0, OpKind::Fork),
        legacy_clone(1, THREAD, 0),
        op(
            0,
            OpKind::Kill {
                target: 0,
                sig: Signal::SIGHUP,
            },
        ),
        legacy_clone(2, CloneFlags::VM | CloneFlags::PARENT, 17),
    ]);
    let m = known("clone_parent_from_a_thread_of_an_orphaned_group", &c);
    assert_eq!(m.states[3].task(1).unwrap().parent, Parent::Reaper);
    assert_eq!(m.states[3].task(3).unwrap().parent, Parent::Reaper);
}
