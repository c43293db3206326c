//! Unit tests of what goes when: descriptions and their pipe ends and locks (held by a call in
//! progress, dropped with their last reference, including a killed task's), and the
//! `child_tid` word a task's end clears.

use super::tests::{clone_with, fork, model, open, run, rw};
use super::*;
use crate::obs::{HeldLock, Outcome, Signal, TaskState, TidEntry, TidValue, TidWord};
use crate::op::{CloneFlags as F, FileName, FlockOp};

fn flock(m: &mut Model, t: TaskId, fd: i32, op: FlockOp, nonblock: bool) -> Outcome {
    run(m, t, OpKind::Flock { fd, op, nonblock })
}

fn state(m: &Model, t: TaskId) -> TaskState {
    m.snapshot().task(t).expect("task in snapshot").state
}

/// A flock blocked on a description whose fd another task of the same table closes keeps
/// waiting (the call holds the description); once the holder unlocks, it gets the lock and
/// returns, and the lock goes with the description's last reference. Checked on 6.18.44:
/// the close leaves the task blocked.
#[test]
fn a_blocked_flock_holds_its_description_through_another_tasks_close() {
    let mut m = model();
    open(&mut m, 0, FileName::A, rw(true));
    assert_eq!(flock(&mut m, 0, 0, FlockOp::Ex, true), Outcome::Ret(0));
    open(&mut m, 0, FileName::A, rw(false));
    let c = clone_with(&mut m, 0, F::FILES);
    assert_eq!(flock(&mut m, c, 1, FlockOp::Ex, false), Outcome::Blocked);
    assert_eq!(run(&mut m, 0, OpKind::Close { fd: 1 }), Outcome::Ret(0));
    assert_eq!(state(&m, c), TaskState::Blocked);
    assert_eq!(m.snapshot().locks.len(), 1);
    // The unlock lets the waiter in; its call returns and the description, no fd's any
    // more, goes with the lock it just took.
    assert_eq!(flock(&mut m, 0, 0, FlockOp::Un, true), Outcome::Ret(0));
    assert_eq!(state(&m, c), TaskState::Live);
    assert_eq!(m.snapshot().locks, Vec::<HeldLock>::new());
    assert_eq!(flock(&mut m, 0, 0, FlockOp::Ex, true), Outcome::Ret(0));
}

/// A pipe read blocked on a read end whose only fd another task of the same table closes
/// keeps the pipe's reader: it still waits, and a write reaches it. Once its call returned,
/// the read end is gone: the next write is EPIPE (SIGPIPE ignored here). Checked on 6.18.44.
#[test]
fn a_blocked_pipe_read_keeps_its_read_end_through_another_tasks_close() {
    let mut m = model();
    run(
        &mut m,
        0,
        OpKind::Pipe2 {
            cloexec: false,
            nonblock: false,
        },
    );
    let c = clone_with(&mut m, 0, F::FILES);
    assert_eq!(
        run(&mut m, c, OpKind::Read { fd: 0, len: 3 }),
        Outcome::Blocked
    );
    assert_eq!(run(&mut m, 0, OpKind::Close { fd: 0 }), Outcome::Ret(0));
    assert_eq!(state(&m, c), TaskState::Blocked);
    run(
        &mut m,
        0,
        OpKind::Sigaction {
            sig: Signal::SIGPIPE,
            action: crate::op::SigAction::Ignore,
            flags: Default::default(),
        },
    );
    let write = |data: &[u8]| OpKind::Write {
        fd: 1,
        data: data.to_vec(),
    };
    assert_eq!(run(&mut m, 0, write(b"hi")), Outcome::Ret(2));
    assert_eq!(state(&m, c), TaskState::Live);
    assert_eq!(
        run(&mut m, 0, write(b"x")),
        Outcome::Err(crate::obs::Errno::EPIPE)
    );
}

/// A task another one kills drops its descriptions with it, and their locks: the killer can
/// take the lock the dead task held.
#[test]
fn a_killed_tasks_descriptions_go_with_their_locks() {
    let mut m = model();
    let c = fork(&mut m, 0);
    open(&mut m, c, FileName::A, rw(true));
    assert_eq!(flock(&mut m, c, 0, FlockOp::Ex, true), Outcome::Ret(0));
    open(&mut m, 0, FileName::A, rw(false));
    assert_eq!(
        flock(&mut m, 0, 0, FlockOp::Ex, true),
        Outcome::Err(crate::obs::Errno::EAGAIN)
    );
    let kill = OpKind::Kill {
        target: c,
        sig: Signal::SIGKILL,
    };
    assert_eq!(run(&mut m, 0, kill), Outcome::Ret(0));
    assert_eq!(m.snapshot().locks, Vec::<HeldLock>::new());
    assert_eq!(flock(&mut m, 0, 0, FlockOp::Ex, true), Outcome::Ret(0));
}

fn tid_words(m: &Model, t: TaskId) -> Vec<TidEntry> {
    m.snapshot()
        .task(t)
        .expect("task in snapshot")
        .tid_words
        .clone()
}

/// CLONE_CHILD_CLEARTID: the child's `child_tid` word, which CLONE_CHILD_SETTID filled,
/// reads zero in the shared address space once the child has exited; without CLEARTID it
/// keeps the tid (kernel/fork.c: mm_release).
#[test]
fn child_cleartid_zeroes_the_word_when_the_child_exits() {
    let word = |c| TidEntry {
        child: c,
        word: TidWord::ChildTid,
        value: TidValue::Task(c),
    };
    let mut m = model();
    let cleared = clone_with(&mut m, 0, F::VM | F::CHILD_SETTID | F::CHILD_CLEARTID);
    let kept = clone_with(&mut m, 0, F::VM | F::CHILD_SETTID);
    assert_eq!(tid_words(&m, 0), vec![word(cleared), word(kept)]);
    let exit = OpKind::Exit {
        code: 0,
        thread: false,
    };
    assert_eq!(run(&mut m, cleared, exit.clone()), Outcome::Exited);
    assert_eq!(run(&mut m, kept, exit), Outcome::Exited);
    assert_eq!(tid_words(&m, 0), vec![word(kept)]);
    // The words are memory: a fork child's copy of the address space holds them too, and
    // they stay apart from then on.
    let f = fork(&mut m, 0);
    assert_eq!(tid_words(&m, f), vec![word(kept)]);
    let again = clone_with(&mut m, 0, F::VM | F::CHILD_SETTID);
    assert_eq!(tid_words(&m, 0), vec![word(kept), word(again)]);
    assert_eq!(tid_words(&m, f), vec![word(kept)]);
}
