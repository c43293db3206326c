//! `setns(pidfd, flags)`: known cases, each checked on the model and the kernel (every step's
//! outcome and snapshot), the model's trace pinned in snapshots/. The random mix draws the
//! same op (harness/src/gen_setns.rs), so the property suites check it further.

mod common;

use common::*;
use forkspec_model::*;

const NEWUTS: CloneFlags = CloneFlags::NEWUTS;
const NEWPID: CloneFlags = CloneFlags::NEWPID;
const NEWUSER: CloneFlags = CloneFlags::NEWUSER;

fn setns(t: TaskId, fd: Fd, flags: CloneFlags) -> Op {
    op(t, OpKind::Setns { fd, flags })
}

fn pidfd_open(t: TaskId, target: TaskId) -> Op {
    op(
        t,
        OpKind::PidfdOpen {
            target,
            nonblock: false,
            thread: false,
        },
    )
}

fn clone3(t: TaskId, flags: CloneFlags) -> Op {
    op(
        t,
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone3,
            flags,
            exit_signal: if flags.has(CloneFlags::THREAD) { 0 } else { 17 },
            args: Clone3Args::default(),
        }),
    )
}

fn wait(t: TaskId, child: TaskId) -> Op {
    op(
        t,
        OpKind::Wait {
            target: WaitTarget::Task(child),
            options: Default::default(),
        },
    )
}

fn name(t: TaskId, name: HostName) -> Op {
    op(t, OpKind::Sethostname { name })
}

/// Whether the lab holds CAP_SYS_ADMIN (joining its own namespaces needs it); says why not
/// when skipping.
fn lab_is_privileged() -> bool {
    let profile = &lab().hello.profile;
    if !profile.cap_sys_admin {
        eprintln!("skipped: needs CAP_SYS_ADMIN ({})", profile.describe());
    }
    profile.cap_sys_admin
}

/// With CAP_SYS_ADMIN, `setns` by pidfd joins the target's UTS and IPC namespaces (uname
/// then reads the target's name) and makes the target's pid namespace the one of the
/// caller's later children, only one nested in the caller's (EINVAL outwards, and for all
/// the flags of that call: nothing is joined). A thread cannot be made meanwhile; joining
/// its own pid namespace undoes it. CLONE_NEWNS alone is EINVAL with a shared fs_struct,
/// CLONE_NEWTIME is EUSERS for a vfork child (it shares the address space); flags 0 or
/// unknown and fds that are not pidfds are EINVAL, a closed fd EBADF, and the pidfd of a
/// zombie or a reaped task ESRCH (kernel/nsproxy.c `validate_nsset` and the install
/// functions).
// covers: ns.setns-join, ns.setns-permissions
#[test]
fn setns_joins_uts_ipc_and_pid_for_children_all_or_nothing() {
    if !lab_is_privileged() {
        return;
    }
    let c = case(vec![
        pidfd_open(0, 0),                                // 0: fd 0, t0's own
        clone3(0, NEWUTS | NEWPID | CloneFlags::NEWIPC), // 1: t1, init of a new pid ns
        name(1, HostName::Alpha),                        // 2
        pidfd_open(0, 1),                                // 3: fd 1
        setns(1, 0, NEWPID),                             // 4: EINVAL, outwards
        setns(1, 0, NEWUTS | NEWPID),                    // 5: EINVAL, nothing joined
        op(1, OpKind::Uname),                            // 6: alpha
        setns(0, 1, NEWUTS | CloneFlags::NEWIPC),        // 7
        op(0, OpKind::Uname),                            // 8: alpha
        setns(0, 1, NEWPID),                             // 9
        op(0, OpKind::Fork),                             // 10: t2, in t1's pid ns
        clone3(0, CloneFlags::VM | CloneFlags::SIGHAND | CloneFlags::THREAD), // 11: EINVAL
        exit(2, 0),                                      // 12
        wait(0, 2),                                      // 13
        setns(0, 0, NEWPID),                             // 14: back
        clone3(0, CloneFlags::FS),                       // 15: t3 shares t0's fs
        setns(0, 1, CloneFlags::NEWNS),                  // 16: EINVAL
        setns(0, 1, CloneFlags::EMPTY),                  // 17: EINVAL
        setns(0, 1, NEWUTS | CloneFlags::VM),            // 18: EINVAL
        op(
            0,
            OpKind::Pipe2 {
                cloexec: false,
                nonblock: false,
            },
        ), // 19: fds 2, 3
        setns(0, 2, NEWUTS),                             // 20: EINVAL, no pidfd
        setns(0, 9, NEWUTS),                             // 21: EBADF
        op(0, OpKind::Vfork),                            // 22: t4
        setns(4, 0, CloneFlags::NEWTIME),                // 23: EUSERS
        exit(4, 0),                                      // 24
        exit(1, 0),                                      // 25
        setns(0, 1, NEWUTS),                             // 26: ESRCH, a zombie
        wait(0, 1),                                      // 27
        setns(0, 1, NEWUTS),                             // 28: ESRCH, reaped
    ]);
    let m = known("setns_uts_ipc_pid", &c);
    let ns = |step: usize, t: TaskId| m.states[step].task(t).unwrap().namespaces.unwrap();
    for step in [4, 5, 11, 16, 17, 18, 20] {
        assert_eq!(m.outcomes[step], Outcome::Err(Errno::EINVAL), "step {step}");
    }
    assert_eq!(ns(5, 1).uts, ns(5, 1).uts);
    assert_ne!(ns(5, 1).uts, ns(5, 0).uts, "step 5 joined nothing");
    assert_eq!(m.outcomes[8], Outcome::Data(b"alpha".to_vec()));
    assert_eq!(ns(7, 0).uts, ns(7, 1).uts);
    assert_eq!(ns(7, 0).ipc, ns(7, 1).ipc);
    assert_eq!(ns(10, 2).pid, ns(10, 1).pid, "born in t1's pid namespace");
    assert_ne!(ns(10, 0).pid, ns(10, 1).pid, "t0 stays in its own");
    assert_eq!(m.outcomes[21], Outcome::Err(Errno::EBADF));
    assert_eq!(m.outcomes[23], Outcome::Err(Errno::EUSERS));
    assert_eq!(m.outcomes[26], Outcome::Err(Errno::ESRCH));
    assert_eq!(m.outcomes[28], Outcome::Err(Errno::ESRCH));
}

/// Privileged or not, a task owns the user namespace its child made: `setns(pidfd,
/// CLONE_NEWUSER | CLONE_NEWUTS)` takes it in with every capability there (it may set the
/// host name of that UTS namespace), and a second join of the same user namespace is EINVAL
/// (kernel/user_namespace.c `userns_install`). The other way round, the child may not read
/// a task of the lab's user namespace: EPERM (kernel/ptrace.c `__ptrace_may_access`,
/// security/commoncap.c `cap_ptrace_access_check`).
// covers: ns.setns-join, ns.setns-permissions
#[test]
fn setns_into_a_user_namespace_the_caller_owns() {
    let profile = lab().hello.profile.clone();
    if !(profile.userns || profile.cap_sys_admin) {
        eprintln!(
            "skipped: user namespaces not allowed ({})",
            profile.describe()
        );
        return;
    }
    let c = case(vec![
        clone3(0, NEWUSER | NEWUTS),    // 0: t1
        name(1, HostName::Alpha),       // 1
        pidfd_open(0, 1),               // 2: fd 0
        pidfd_open(1, 0),               // 3: t1's fd 0, of t0
        setns(1, 0, NEWUTS),            // 4: EPERM
        setns(0, 0, CloneFlags::EMPTY), // 5: EINVAL
        setns(0, 0, NEWUSER | NEWUTS),  // 6
        op(0, OpKind::Uname),           // 7: alpha
        setns(0, 0, NEWUSER),           // 8: EINVAL
        name(0, HostName::Beta),        // 9
        op(1, OpKind::Uname),           // 10: beta
    ]);
    let m = known("setns_user_owned", &c);
    assert_eq!(m.outcomes[4], Outcome::Err(Errno::EPERM));
    assert_eq!(m.outcomes[6], Outcome::Ret(0));
    assert_eq!(m.outcomes[7], Outcome::Data(b"alpha".to_vec()));
    assert_eq!(m.outcomes[8], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[10], Outcome::Data(b"beta".to_vec()));
    let ns = |t: TaskId| m.states[10].task(t).unwrap().namespaces.unwrap();
    assert_eq!(ns(0).user, ns(1).user);
}
