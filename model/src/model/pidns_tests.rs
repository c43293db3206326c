//! Unit tests of `unshare(CLONE_NEWPID)`: a pid namespace for the caller's later children.

use super::tests::{fork, model, run};
use super::*;
use crate::obs::{Errno, Outcome, Parent, Signal, TaskState};
use crate::op::{Clone3Args, CloneEntry, CloneFlags as F, CloneOp, OpKind, SetTid, UnshareFlags};

const NEWPID: UnshareFlags = UnshareFlags {
    files: false,
    fs: false,
    sysvsem: false,
    newns: false,
    newuts: false,
    newipc: false,
    thread: false,
    sighand: false,
    vm: false,
    newpid: true,
};

fn unshare(m: &mut Model, t: TaskId, flags: UnshareFlags) -> Outcome {
    run(m, t, OpKind::Unshare { flags })
}

fn clone3(m: &mut Model, t: TaskId, flags: F, set_tid: SetTid) -> Outcome {
    let thread = flags.has(F::THREAD);
    run(
        m,
        t,
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone3,
            flags,
            exit_signal: if thread { 0 } else { 17 },
            args: Clone3Args {
                set_tid,
                ..Default::default()
            },
        }),
    )
}

/// The pid namespace class of `t` in the snapshot.
fn pidns(m: &Model, t: TaskId) -> u64 {
    m.snapshot().task(t).unwrap().namespaces.unwrap().pid
}

const THREAD: F = F(F::VM.0 | F::SIGHAND.0 | F::THREAD.0);

// covers: task.unshare
#[test]
fn unshare_newpid_puts_the_next_child_in_a_new_namespace_as_its_init() {
    let p = Profile {
        uid: 65534,
        cap_sys_admin: false,
        ..Profile::default()
    };
    let mut m = Model::new(CaseConfig { pages: 8 }, &p);
    assert_eq!(unshare(&mut m, 0, NEWPID), Outcome::Err(Errno::EPERM));
    let c = fork(&mut m, 0);
    assert_eq!(pidns(&m, c), pidns(&m, 0), "EPERM changed nothing");

    let mut m = model();
    let before = fork(&mut m, 0);
    assert_eq!(unshare(&mut m, 0, NEWPID), Outcome::Ret(0));
    assert_eq!(pidns(&m, 0), pidns(&m, before), "the caller stays");
    let init = fork(&mut m, 0);
    assert!(m.is_pid_namespace_init(init));
    assert_ne!(pidns(&m, init), pidns(&m, 0));
    let second = fork(&mut m, 0);
    assert!(!m.is_pid_namespace_init(second), "pid 2, not an init");
    assert_eq!(pidns(&m, second), pidns(&m, init));
    // Its parent is the caller, outside the namespace.
    assert_eq!(m.snapshot().task(second).unwrap().parent, Parent::Task(0));
    // The init is unkillable from inside its namespace by a signal it does not handle.
    assert_eq!(
        run(
            &mut m,
            second,
            OpKind::Kill {
                target: init,
                sig: Signal::SIGTERM
            }
        ),
        Outcome::Ret(0)
    );
    assert_eq!(m.snapshot().task(init).unwrap().state, TaskState::Live);
    // A child of the init is born inside, as usual.
    let grandchild = fork(&mut m, init);
    assert_eq!(pidns(&m, grandchild), pidns(&m, init));
}

// covers: task.unshare
#[test]
fn a_second_newpid_after_unshare_is_einval_and_nothing_is_committed() {
    let mut m = model();
    let sharer = run(
        &mut m,
        0,
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone,
            flags: F::FILES,
            exit_signal: 17,
            args: Default::default(),
        }),
    );
    let Outcome::Child(sharer) = sharer else {
        panic!("{sharer:?}")
    };
    assert_eq!(unshare(&mut m, 0, NEWPID), Outcome::Ret(0));
    assert_eq!(unshare(&mut m, 0, NEWPID), Outcome::Err(Errno::EINVAL));
    let files = UnshareFlags {
        files: true,
        ..NEWPID
    };
    assert_eq!(unshare(&mut m, 0, files), Outcome::Err(Errno::EINVAL));
    let class = |m: &Model, t| m.snapshot().task(t).unwrap().sharing.unwrap().files;
    assert_eq!(class(&m, 0), class(&m, sharer), "the fd table stays shared");
    assert_eq!(
        clone3(&mut m, 0, F::NEWPID, SetTid::None),
        Outcome::Err(Errno::EINVAL)
    );
    // Still so once the namespace has its init: the caller's active namespace differs.
    let init = fork(&mut m, 0);
    assert_eq!(
        clone3(&mut m, 0, F::NEWPID, SetTid::None),
        Outcome::Err(Errno::EINVAL)
    );
    // The init itself is in its pid_ns_for_children: it may nest one.
    assert!(matches!(
        clone3(&mut m, init, F::NEWPID, SetTid::None),
        Outcome::Child(_)
    ));
    assert_eq!(unshare(&mut m, init, NEWPID), Outcome::Ret(0));
}

// covers: task.unshare
#[test]
fn clone_thread_is_einval_after_unshare_newpid_but_clone_vm_is_not() {
    let mut m = model();
    let old_thread = match clone3(&mut m, 0, THREAD, SetTid::None) {
        Outcome::Child(c) => c,
        o => panic!("{o:?}"),
    };
    assert_eq!(unshare(&mut m, 0, NEWPID), Outcome::Ret(0));
    assert_eq!(
        clone3(&mut m, 0, THREAD, SetTid::None),
        Outcome::Err(Errno::EINVAL)
    );
    // pid_ns_for_children is per thread: the other thread still forks into the old one.
    let c = fork(&mut m, old_thread);
    assert_eq!(pidns(&m, c), pidns(&m, 0));
    assert!(!m.is_pid_namespace_init(c));
    let vm = match clone3(&mut m, 0, F::VM, SetTid::None) {
        Outcome::Child(c) => c,
        o => panic!("{o:?}"),
    };
    assert!(m.is_pid_namespace_init(vm));
    // The init may have threads of its own.
    assert!(matches!(
        clone3(&mut m, vm, THREAD, SetTid::None),
        Outcome::Child(_)
    ));
}

// covers: task.unshare
#[test]
fn forks_into_the_namespace_fail_with_enomem_once_its_init_died() {
    let mut m = model();
    assert_eq!(unshare(&mut m, 0, NEWPID), Outcome::Ret(0));
    let init = fork(&mut m, 0);
    let second = fork(&mut m, 0);
    run(
        &mut m,
        init,
        OpKind::Exit {
            code: 0,
            thread: false,
        },
    );
    // The init took the second child with it; that one's parent (outside) reaps it.
    assert!(matches!(
        m.snapshot().task(second).unwrap().state,
        TaskState::Zombie(_)
    ));
    assert_eq!(run(&mut m, 0, OpKind::Fork), Outcome::Err(Errno::ENOMEM));
    assert_eq!(run(&mut m, 0, OpKind::Vfork), Outcome::Err(Errno::ENOMEM));
    // alloc_pid fails before cgroup_can_fork would.
    assert_eq!(
        clone3(&mut m, 0, F::INTO_CGROUP, SetTid::None),
        Outcome::Err(Errno::ENOMEM)
    );
    // Pid 1 is still in use while the init is a zombie; once released, ENOMEM.
    assert_eq!(
        clone3(&mut m, 0, F::EMPTY, SetTid::Pid1),
        Outcome::Err(Errno::EEXIST)
    );
    let wait = |m: &mut Model, c: TaskId| {
        run(
            m,
            0,
            OpKind::Wait {
                target: crate::op::WaitTarget::Task(c),
                options: Default::default(),
            },
        )
    };
    assert!(matches!(wait(&mut m, init), Outcome::Reaped { .. }));
    assert!(matches!(wait(&mut m, second), Outcome::Reaped { .. }));
    assert_eq!(
        clone3(&mut m, 0, F::EMPTY, SetTid::Pid1),
        Outcome::Err(Errno::ENOMEM)
    );
    // A thread stays EINVAL: pid_ns_for_children still differs from the caller's own.
    assert_eq!(
        clone3(&mut m, 0, THREAD, SetTid::None),
        Outcome::Err(Errno::EINVAL)
    );
}

// covers: task.unshare
#[test]
fn set_tid_one_makes_the_init_of_an_unshared_namespace() {
    let mut m = model();
    assert_eq!(
        clone3(&mut m, 0, F::EMPTY, SetTid::Pid1),
        Outcome::Err(Errno::EEXIST)
    );
    assert_eq!(unshare(&mut m, 0, NEWPID), Outcome::Ret(0));
    let init = match clone3(&mut m, 0, F::EMPTY, SetTid::Pid1) {
        Outcome::Child(c) => c,
        o => panic!("{o:?}"),
    };
    assert!(m.is_pid_namespace_init(init));
    assert_eq!(
        clone3(&mut m, 0, F::EMPTY, SetTid::Pid1),
        Outcome::Err(Errno::EEXIST)
    );
    // Without CAP_SYS_ADMIN over the namespace's owner: EPERM first.
    let p = Profile {
        uid: 65534,
        cap_sys_admin: false,
        ..Profile::default()
    };
    let mut m = Model::new(CaseConfig { pages: 8 }, &p);
    assert_eq!(
        clone3(&mut m, 0, F::EMPTY, SetTid::Pid1),
        Outcome::Err(Errno::EPERM)
    );
}

// covers: task.unshare
#[test]
fn a_first_fork_failing_after_alloc_pid_leaves_the_namespace_dead() {
    let mut m = model();
    assert_eq!(unshare(&mut m, 0, NEWPID), Outcome::Ret(0));
    assert_eq!(
        clone3(&mut m, 0, F::INTO_CGROUP, SetTid::None),
        Outcome::Err(Errno::EBADF)
    );
    assert_eq!(run(&mut m, 0, OpKind::Fork), Outcome::Err(Errno::ENOMEM));
    // Not so once the namespace has its init: the failed pid is not the first.
    let mut m = model();
    assert_eq!(unshare(&mut m, 0, NEWPID), Outcome::Ret(0));
    let init = fork(&mut m, 0);
    assert_eq!(
        clone3(&mut m, 0, F::INTO_CGROUP, SetTid::None),
        Outcome::Err(Errno::EBADF)
    );
    let c = fork(&mut m, 0);
    assert_eq!(pidns(&m, c), pidns(&m, init));
}

/// The generators avoid a second child into a namespace its creator unshared (its parent
/// is outside it): the model says when there is one. The first child is the namespace's
/// init, whose parent is outside by definition; a child of the init is inside.
#[test]
fn pidns_has_outer_child_names_a_second_child_of_the_unsharer() {
    let mut m = model();
    fork(&mut m, 0);
    assert!(!m.pidns_has_outer_child(), "no pid namespace yet");
    assert_eq!(unshare(&mut m, 0, NEWPID), Outcome::Ret(0));
    let init = fork(&mut m, 0);
    fork(&mut m, init);
    assert!(!m.pidns_has_outer_child(), "the init and its own child");
    fork(&mut m, 0);
    assert!(
        m.pidns_has_outer_child(),
        "a second child of t0 in the namespace"
    );
}
