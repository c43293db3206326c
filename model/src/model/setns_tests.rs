//! Unit tests of `setns(pidfd, flags)`.

use super::tests::{fork, model, pidfd_of, run, vfork};
use super::*;
use crate::obs::{Errno, Outcome};
use crate::op::{CloneEntry, CloneFlags as F, CloneOp, Fd, HostName, OpKind};

fn setns(m: &mut Model, t: TaskId, fd: Fd, flags: F) -> Outcome {
    run(m, t, OpKind::Setns { fd, flags })
}

fn clone(m: &mut Model, t: TaskId, flags: F) -> TaskId {
    let op = OpKind::Clone(CloneOp {
        entry: CloneEntry::Clone3,
        flags,
        exit_signal: if flags.has(F::THREAD) { 0 } else { 17 },
        args: Default::default(),
    });
    match run(m, t, op) {
        Outcome::Child(c) => c,
        o => panic!("clone failed: {o:?}"),
    }
}

fn uname(m: &mut Model, t: TaskId) -> Outcome {
    run(m, t, OpKind::Uname)
}

fn sethostname(m: &mut Model, t: TaskId, name: HostName) -> Outcome {
    run(m, t, OpKind::Sethostname { name })
}

fn nobody() -> Model {
    let p = Profile {
        uid: 65534,
        cap_sys_admin: false,
        ..Profile::default()
    };
    Model::new(CaseConfig { pages: 8 }, &p)
}

fn ns(m: &Model, t: TaskId) -> crate::obs::NsClasses {
    m.snapshot().task(t).unwrap().namespaces.unwrap()
}

// covers: ns.setns-permissions
#[test]
fn setns_checks_the_fd_then_the_flags_then_the_task() {
    let mut m = model();
    assert_eq!(setns(&mut m, 0, 5, F::NEWUTS), Outcome::Err(Errno::EBADF));
    run(
        &mut m,
        0,
        OpKind::Pipe2 {
            cloexec: false,
            nonblock: false,
        },
    );
    assert_eq!(
        setns(&mut m, 0, 0, F::NEWUTS),
        Outcome::Err(Errno::EINVAL),
        "a pipe is no pidfd"
    );
    let c = fork(&mut m, 0);
    let fd = pidfd_of(&mut m, 0, c);
    assert_eq!(setns(&mut m, 0, fd, F(0)), Outcome::Err(Errno::EINVAL));
    assert_eq!(
        setns(&mut m, 0, fd, F(F::NEWUTS.0 | F::VM.0)),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(setns(&mut m, 0, fd, F::NEWUTS), Outcome::Ret(0));
    // A zombie has no namespaces any more; a reaped task has no task at all.
    run(
        &mut m,
        c,
        OpKind::Exit {
            code: 0,
            thread: false,
        },
    );
    assert_eq!(setns(&mut m, 0, fd, F::NEWUTS), Outcome::Err(Errno::ESRCH));
    run(
        &mut m,
        0,
        OpKind::Wait {
            target: crate::op::WaitTarget::Any,
            options: Default::default(),
        },
    );
    assert_eq!(setns(&mut m, 0, fd, F::NEWUTS), Outcome::Err(Errno::ESRCH));
}

// covers: ns.setns-permissions
#[test]
fn setns_needs_ptrace_read_access_before_anything_else() {
    let mut m = model();
    let fd = pidfd_of(&mut m, 0, 0);
    // The child of a user namespace cannot read a task of the lab's, not even a zombie:
    // EPERM comes before the zombie's ESRCH.
    let c = clone(&mut m, 0, F::NEWUSER);
    assert_eq!(setns(&mut m, c, fd, F::NEWUTS), Outcome::Err(Errno::EPERM));
    // Into a sibling user namespace neither.
    let d = clone(&mut m, 0, F::NEWUSER);
    let fd_d = pidfd_of(&mut m, c, d);
    assert_eq!(
        setns(&mut m, c, fd_d, F::NEWIPC),
        Outcome::Err(Errno::EPERM)
    );
    // The lab's namespace owns both: the reverse direction is allowed.
    let fd_c = pidfd_of(&mut m, 0, c);
    assert_eq!(setns(&mut m, 0, fd_c, F::NEWNET), Outcome::Ret(0));
    // In the same user namespace, a task without capabilities (it exec'd) may not read
    // one that has them.
    let e = fork(&mut m, c);
    run(&mut m, e, OpKind::Exec);
    let fd_c2 = pidfd_of(&mut m, e, c);
    assert_eq!(
        setns(&mut m, e, fd_c2, F::NEWUTS),
        Outcome::Err(Errno::EPERM)
    );
    // The other way round ptrace allows, but the uts namespace both are in is the lab's:
    // no CAP_SYS_ADMIN over its owner from inside a user namespace of the case.
    let fd_e = pidfd_of(&mut m, c, e);
    assert_eq!(
        setns(&mut m, c, fd_e, F::NEWUTS),
        Outcome::Err(Errno::EPERM)
    );
    let fd_e2 = pidfd_of(&mut m, 0, e);
    assert_eq!(setns(&mut m, 0, fd_e2, F::NEWUTS), Outcome::Ret(0));
}

// covers: ns.setns-join
#[test]
fn setns_uts_makes_the_callers_uname_the_targets() {
    let mut m = model();
    let c = clone(&mut m, 0, F::NEWUTS);
    assert_eq!(sethostname(&mut m, c, HostName::Alpha), Outcome::Ret(0));
    let d = fork(&mut m, 0);
    let fd = pidfd_of(&mut m, d, c);
    assert_eq!(setns(&mut m, d, fd, F::NEWUTS), Outcome::Ret(0));
    assert_eq!(uname(&mut m, d), Outcome::Data(b"alpha".to_vec()));
    assert_eq!(ns(&m, d).uts, ns(&m, c).uts);
    assert_eq!(uname(&mut m, 0), Outcome::Data(Vec::new()), "t0 stays");
    // A name set after the join is the namespace's, seen by both.
    assert_eq!(sethostname(&mut m, d, HostName::Beta), Outcome::Ret(0));
    assert_eq!(uname(&mut m, c), Outcome::Data(b"beta".to_vec()));
}

// covers: ns.setns-join, ns.setns-permissions
#[test]
fn setns_without_caps_needs_the_owning_user_namespace_too() {
    let mut m = nobody();
    let c = clone(&mut m, 0, F(F::NEWUSER.0 | F::NEWUTS.0));
    assert_eq!(sethostname(&mut m, c, HostName::Alpha), Outcome::Ret(0));
    let fd = pidfd_of(&mut m, 0, c);
    // Over the uts namespace t0 holds every capability (it owns the user namespace), in
    // its own user namespace none.
    assert_eq!(setns(&mut m, 0, fd, F::NEWUTS), Outcome::Err(Errno::EPERM));
    assert_eq!(uname(&mut m, 0), Outcome::Data(Vec::new()));
    let flags = F(F::NEWUSER.0 | F::NEWUTS.0);
    assert_eq!(setns(&mut m, 0, fd, flags), Outcome::Ret(0));
    assert_eq!(uname(&mut m, 0), Outcome::Data(b"alpha".to_vec()));
    assert_eq!(ns(&m, 0).user, ns(&m, c).user);
    // Inside now, with every capability there: sethostname works, a second join of the
    // same user namespace is EINVAL.
    assert_eq!(sethostname(&mut m, 0, HostName::Beta), Outcome::Ret(0));
    assert_eq!(
        setns(&mut m, 0, fd, F::NEWUSER),
        Outcome::Err(Errno::EINVAL)
    );
}

// covers: ns.setns-permissions
#[test]
fn setns_user_needs_one_thread_and_an_unshared_fs() {
    let mut m = model();
    let c = clone(&mut m, 0, F::NEWUSER);
    let fd = pidfd_of(&mut m, 0, c);
    let thread = F(F::VM.0 | F::SIGHAND.0 | F::THREAD.0);
    let th = clone(&mut m, 0, thread);
    assert_eq!(
        setns(&mut m, 0, fd, F::NEWUSER),
        Outcome::Err(Errno::EINVAL)
    );
    run(
        &mut m,
        th,
        OpKind::Exit {
            code: 0,
            thread: true,
        },
    );
    let f = clone(&mut m, 0, F::FS);
    assert_eq!(
        setns(&mut m, 0, fd, F::NEWUSER),
        Outcome::Err(Errno::EINVAL)
    );
    run(
        &mut m,
        f,
        OpKind::Exit {
            code: 0,
            thread: false,
        },
    );
    assert_eq!(setns(&mut m, 0, fd, F::NEWUSER), Outcome::Ret(0));
}

// covers: ns.setns-join
#[test]
fn setns_pid_sets_the_namespace_of_later_children_only_inwards() {
    let mut m = model();
    let own = pidfd_of(&mut m, 0, 0);
    let c = clone(&mut m, 0, F::NEWPID);
    // c's fd table is a copy: `own` is t0's pidfd there too. Outwards is EINVAL.
    assert_eq!(
        setns(&mut m, c, own, F::NEWPID),
        Outcome::Err(Errno::EINVAL)
    );
    let fd = pidfd_of(&mut m, 0, c);
    let before = ns(&m, 0).pid;
    assert_eq!(setns(&mut m, 0, fd, F::NEWPID), Outcome::Ret(0));
    assert_eq!(ns(&m, 0).pid, before, "t0 stays");
    let g = fork(&mut m, 0);
    assert_eq!(ns(&m, g).pid, ns(&m, c).pid, "born in c's namespace");
    // A thread can no longer be made; joining its own namespace again undoes it.
    let thread = F(F::VM.0 | F::SIGHAND.0 | F::THREAD.0);
    let op = OpKind::Clone(CloneOp {
        entry: CloneEntry::Clone3,
        flags: thread,
        exit_signal: 0,
        args: Default::default(),
    });
    assert_eq!(run(&mut m, 0, op.clone()), Outcome::Err(Errno::EINVAL));
    assert_eq!(setns(&mut m, 0, own, F::NEWPID), Outcome::Ret(0));
    assert!(matches!(run(&mut m, 0, op), Outcome::Child(_)));
}

// covers: ns.setns-join
#[test]
fn setns_is_all_or_nothing() {
    let mut m = model();
    let d = clone(&mut m, 0, F::NEWUTS);
    assert_eq!(sethostname(&mut m, d, HostName::Beta), Outcome::Ret(0));
    let fd_d = pidfd_of(&mut m, 0, d);
    let c = clone(&mut m, 0, F(F::NEWPID.0 | F::NEWUTS.0));
    assert_eq!(sethostname(&mut m, c, HostName::Alpha), Outcome::Ret(0));
    // c inherited the pidfd. Its uts join is fine, its pid join (outwards) is not: nothing
    // happens.
    let before = ns(&m, c);
    assert_eq!(
        setns(&mut m, c, fd_d, F(F::NEWUTS.0 | F::NEWPID.0)),
        Outcome::Err(Errno::EINVAL),
    );
    assert_eq!(ns(&m, c), before);
    assert_eq!(uname(&mut m, c), Outcome::Data(b"alpha".to_vec()));
    assert_eq!(setns(&mut m, c, fd_d, F::NEWUTS), Outcome::Ret(0));
    assert_eq!(uname(&mut m, c), Outcome::Data(b"beta".to_vec()));
}

// covers: ns.setns-permissions
#[test]
fn setns_mnt_alone_refuses_a_shared_fs() {
    let mut m = model();
    let own = pidfd_of(&mut m, 0, 0);
    let f = clone(&mut m, 0, F::FS);
    assert_eq!(setns(&mut m, 0, own, F::NEWNS), Outcome::Err(Errno::EINVAL));
    assert_eq!(m.setns_outcome(0, own, F::NEWNS), Err(Errno::EINVAL));
    // With another flag the kernel checks a private copy: it succeeds.
    let both = F(F::NEWNS.0 | F::NEWUTS.0);
    assert_eq!(m.setns_outcome(0, own, both), Ok(()));
    run(
        &mut m,
        f,
        OpKind::Exit {
            code: 0,
            thread: false,
        },
    );
    assert_eq!(m.setns_outcome(0, own, F::NEWNS), Ok(()));
    let mut n = nobody();
    let own = pidfd_of(&mut n, 0, 0);
    assert_eq!(setns(&mut n, 0, own, F::NEWNS), Outcome::Err(Errno::EPERM));
}

// covers: ns.setns-permissions
#[test]
fn setns_time_is_eusers_while_the_address_space_is_shared() {
    let mut m = model();
    let own = pidfd_of(&mut m, 0, 0);
    let c = clone(&mut m, 0, F::NEWTIME);
    let fd = pidfd_of(&mut m, 0, c);
    let v = vfork(&mut m, 0);
    assert_eq!(
        setns(&mut m, v, own, F::NEWTIME),
        Outcome::Err(Errno::EUSERS)
    );
    run(
        &mut m,
        v,
        OpKind::Exit {
            code: 0,
            thread: false,
        },
    );
    assert_eq!(setns(&mut m, 0, fd, F::NEWTIME), Outcome::Ret(0));
    assert_eq!(ns(&m, 0).time, ns(&m, c).time);
    let g = fork(&mut m, 0);
    assert_eq!(ns(&m, g).time, ns(&m, c).time, "and its children's");
    // Nobody holds no capability over the lab's time namespace.
    let mut n = nobody();
    let own = pidfd_of(&mut n, 0, 0);
    assert_eq!(
        setns(&mut n, 0, own, F::NEWTIME),
        Outcome::Err(Errno::EPERM)
    );
}

// covers: ns.setns-join
#[test]
fn setns_ipc_leaves_the_sysv_undo_list() {
    let mut m = model();
    let c = clone(&mut m, 0, F::SYSVSEM);
    let fd = pidfd_of(&mut m, c, 0);
    let class = |m: &Model, t| m.snapshot().task(t).unwrap().sharing.unwrap().sysvsem;
    assert_eq!(class(&m, c), class(&m, 0));
    assert_eq!(setns(&mut m, c, fd, F::NEWIPC), Outcome::Ret(0));
    assert_ne!(class(&m, c), class(&m, 0));
}

// covers: ns.setns-permissions
#[test]
fn setns_inside_a_user_namespace_follows_the_owners() {
    let mut m = nobody();
    // The pid and ipc namespaces of t1 are owned by its user namespace: its child, inside
    // with every capability, may join them; t0 (no capability in the lab's user namespace)
    // may not, without joining the user namespace too.
    let c = clone(&mut m, 0, F(F::NEWUSER.0 | F::NEWPID.0 | F::NEWIPC.0));
    let d = fork(&mut m, c);
    let fd = pidfd_of(&mut m, d, c);
    assert_eq!(
        setns(&mut m, d, fd, F(F::NEWPID.0 | F::NEWIPC.0)),
        Outcome::Ret(0)
    );
    let e = clone(&mut m, 0, F(F::NEWUSER.0 | F::NEWIPC.0));
    let fd_e = pidfd_of(&mut m, 0, e);
    assert_eq!(
        setns(&mut m, 0, fd_e, F::NEWIPC),
        Outcome::Err(Errno::EPERM)
    );
    let both = F(F::NEWUSER.0 | F::NEWIPC.0);
    assert_eq!(setns(&mut m, 0, fd_e, both), Outcome::Ret(0));
    assert_eq!(ns(&m, 0).ipc, ns(&m, e).ipc);
    // As root too, a task inside a user namespace of the case holds nothing over the lab's
    // namespaces.
    let mut r = model();
    let own = pidfd_of(&mut r, 0, 0);
    let c = clone(&mut r, 0, F::NEWUSER);
    let d = fork(&mut r, c);
    let fd_d = pidfd_of(&mut r, c, d);
    assert_eq!(
        setns(&mut r, c, fd_d, F::NEWIPC),
        Outcome::Err(Errno::EPERM)
    );
    let _ = own;
}
