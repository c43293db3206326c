//! State a new task inherits or not (subreaper, parent-death signal): known cases, each
//! checked on the model and the kernel (every step's outcome and snapshot), the model's trace
//! pinned in snapshots/. The random mix draws the same ops (`prctl`), so the property suites
//! (signals, clone_flags) check them further.

mod common;

use common::*;
use forkspec_model::*;

fn prctl(t: TaskId, option: PrctlOption, arg: i64) -> Op {
    op(t, OpKind::Prctl { option, arg })
}

fn parent(m: &ModelRun, step: usize, t: TaskId) -> Parent {
    m.states[step]
        .task(t)
        .unwrap_or_else(|| panic!("t{t} is gone after step {step}"))
        .parent
}

fn state(m: &ModelRun, step: usize, t: TaskId) -> Option<TaskState> {
    m.states[step].task(t).map(|v| v.state)
}

const SET_SUBREAPER: PrctlOption = PrctlOption::SetChildSubreaper;
const GET_SUBREAPER: PrctlOption = PrctlOption::GetChildSubreaper;
const SET_PDEATHSIG: PrctlOption = PrctlOption::SetPdeathsig;
const GET_PDEATHSIG: PrctlOption = PrctlOption::GetPdeathsig;

/// An orphan goes to its nearest ancestor that is a child subreaper (kernel/exit.c
/// find_new_reaper), then, when that one exits, to the next; the flag is the process's and
/// a fork child does not inherit it, while exec keeps it (prctl(2) PR_SET_CHILD_SUBREAPER).
// covers: task.subreaper, fork.ppid
#[test]
fn orphans_go_to_the_nearest_subreaper_which_fork_does_not_inherit() {
    let c = case(vec![
        op(0, OpKind::Fork),        // 0: t1
        prctl(1, SET_SUBREAPER, 1), // 1
        op(1, OpKind::Fork),        // 2: t2
        prctl(2, GET_SUBREAPER, 0), // 3: 0
        prctl(2, SET_SUBREAPER, 1), // 4
        op(2, OpKind::Fork),        // 5: t3
        op(3, OpKind::Fork),        // 6: t4
        exit(3, 0),                 // 7: t4 -> t2
        exit(2, 0),                 // 8: t4 -> t1
        op(1, OpKind::Exec),        // 9
        prctl(1, GET_SUBREAPER, 0), // 10: 1
    ]);
    let m = known("inherit_orphans_nearest_subreaper", &c);
    assert_eq!(m.outcomes[3], Outcome::Ret(0), "not inherited by fork");
    assert_eq!(parent(&m, 7, 4), Parent::Task(2));
    assert_eq!(parent(&m, 8, 4), Parent::Task(1));
    assert_eq!(m.outcomes[10], Outcome::Ret(1), "kept by exec");
}

/// The parent-death signal is the calling thread's; fork and clone children start without
/// one and exec keeps it. It fires when the thread that created the child exits, even while
/// other threads of that process live on (kernel/exit.c forget_original_parent); a task whose
/// parent lives keeps running.
// covers: task.pdeathsig
#[test]
fn pdeathsig_is_cleared_in_children_and_fires_when_the_creating_thread_exits() {
    let c = case(vec![
        prctl(0, GET_PDEATHSIG, 0),                        // 0: 9 (set by the lab)
        thread(0),                                         // 1: t1
        prctl(1, GET_PDEATHSIG, 0),                        // 2: 0
        op(1, OpKind::Fork),                               // 3: t2, child of t1
        op(0, OpKind::Fork),                               // 4: t3, child of t0
        prctl(2, GET_PDEATHSIG, 0),                        // 5: 0
        prctl(2, SET_PDEATHSIG, Signal::SIGTERM.0.into()), // 6
        prctl(3, SET_PDEATHSIG, Signal::SIGTERM.0.into()), // 7
        op(2, OpKind::Exec),                               // 8
        prctl(2, GET_PDEATHSIG, 0),                        // 9: SIGTERM
        prctl(3, SET_PDEATHSIG, 65),                       // 10: EINVAL
        op(
            1,
            OpKind::Exit {
                code: 0,
                thread: true,
            },
        ), // 11
    ]);
    let m = known("inherit_pdeathsig_creating_thread", &c);
    assert_eq!(m.outcomes[0], Outcome::Ret(9));
    assert_eq!(m.outcomes[2], Outcome::Ret(0), "cleared for a thread");
    assert_eq!(m.outcomes[5], Outcome::Ret(0), "cleared for a fork child");
    assert_eq!(m.outcomes[9], Outcome::Ret(15), "kept by exec");
    assert_eq!(m.outcomes[10], Outcome::Err(Errno::EINVAL));
    assert_eq!(
        state(&m, 11, 2),
        Some(TaskState::Zombie(ExitStatus::Signaled(Signal::SIGTERM)))
    );
    assert_eq!(parent(&m, 11, 2), Parent::Task(0));
    assert_eq!(
        state(&m, 11, 3),
        Some(TaskState::Live),
        "its parent thread lives"
    );
}

/// A caught parent-death signal runs the orphan's handler and leaves it alive with its new
/// parent; a SIGKILL one takes a blocked orphan down; a zombie adopted by a subreaper that
/// ignores SIGCHLD is released at once (kernel/exit.c reparent_leader → do_notify_parent).
// covers: task.pdeathsig, task.subreaper
#[test]
fn pdeathsig_caught_or_fatal_and_adopted_zombies() {
    let c = case(vec![
        op(0, OpKind::Fork), // 0: t1
        prctl(1, SET_SUBREAPER, 1),
        op(1, OpKind::Fork), // 2: t2, SIGCHLD at its default
        op(
            1,
            OpKind::Sigaction {
                sig: Signal::SIGCHLD,
                action: SigAction::Ignore,
                flags: Default::default(),
            },
        ),
        op(2, OpKind::Fork), // 4: t3
        op(2, OpKind::Fork), // 5: t4
        op(2, OpKind::Fork), // 6: t5
        op(
            3,
            OpKind::Sigaction {
                sig: Signal::SIGUSR1,
                action: SigAction::Handler,
                flags: Default::default(),
            },
        ),
        prctl(3, SET_PDEATHSIG, Signal::SIGUSR1.0.into()),
        prctl(4, SET_PDEATHSIG, Signal::SIGKILL.0.into()),
        op(
            4,
            OpKind::Pipe2 {
                cloexec: false,
                nonblock: false,
            },
        ),
        op(4, OpKind::Read { fd: 0, len: 1 }), // 11: blocked on an empty pipe
        exit(5, 0),                            // 12: t5 a zombie child of t2
        exit(2, 0),                            // 13
    ]);
    let m = known("inherit_pdeathsig_caught_fatal_adopted_zombie", &c);
    assert_eq!(m.outcomes[11], Outcome::Blocked);
    assert_eq!(state(&m, 13, 3), Some(TaskState::Live), "caught");
    assert_eq!(parent(&m, 13, 3), Parent::Task(1));
    assert_eq!(
        state(&m, 13, 4),
        None,
        "killed, then released by t1, which ignores SIGCHLD"
    );
    assert_eq!(state(&m, 13, 5), None, "adopted zombie released");
}

fn clone_with(t: TaskId, flags: CloneFlags) -> Op {
    op(
        t,
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone,
            flags,
            exit_signal: Signal::SIGCHLD.0,
            args: Clone3Args::default(),
        }),
    )
}

fn close_range(t: TaskId, first: u32, last: u32, cloexec: bool, unshare: bool) -> Op {
    op(
        t,
        OpKind::CloseRange {
            first,
            last,
            cloexec,
            unshare,
        },
    )
}

/// close_range on a table shared by CLONE_FILES acts for every sharer, unless
/// `CLOSE_RANGE_UNSHARE` gives the caller its own copy first; `unshare(CLONE_FILES)` does the
/// same alone; `CLOSE_RANGE_CLOEXEC` marks instead of closing; an empty range is EINVAL
/// (close_range(2), fs/file.c `__close_range`). `unshare(CLONE_THREAD)` is EINVAL in a
/// group with another thread, a no-op alone (unshare(2), kernel/fork.c
/// `check_unshare_flags`).
// covers: fd.close-range, task.unshare
#[test]
fn close_range_and_unshare_take_a_shared_table_back() {
    let pipe = op(
        0,
        OpKind::Pipe2 {
            cloexec: false,
            nonblock: false,
        },
    );
    let files = |t| {
        op(
            t,
            OpKind::Unshare {
                flags: UnshareFlags {
                    files: true,
                    ..Default::default()
                },
            },
        )
    };
    let unshare_thread = |t| {
        op(
            t,
            OpKind::Unshare {
                flags: UnshareFlags {
                    thread: true,
                    ..Default::default()
                },
            },
        )
    };
    let c = case(vec![
        pipe,                                     // 0: fds 0, 1
        clone_with(0, CloneFlags::FILES),         // 1: t1 shares the table
        close_range(1, 0, u32::MAX, false, true), // 2: t1's copy emptied
        op(0, OpKind::Dup { fd: 0 }),             // 3: 2, t0 kept 0 and 1
        clone_with(0, CloneFlags::FILES),         // 4: t2 shares the table
        close_range(2, 1, 1, true, false),        // 5: fd 1 FD_CLOEXEC for t0 too
        close_range(2, 2, 1, false, false),       // 6: EINVAL
        close_range(2, 2, 2, false, false),       // 7: fd 2 closed for t0 too
        files(2),                                 // 8
        close_range(2, 0, 1023, false, false),    // 9: t0 keeps 0 and 1
        op(
            0,
            OpKind::Fcntl {
                fd: 1,
                cmd: FcntlCmd::GetFd,
            },
        ), // 10: FD_CLOEXEC
        unshare_thread(0),                        // 11: alone: 0
        thread(0),                                // 12: t3
        unshare_thread(3),                        // 13: EINVAL
    ]);
    let m = known("inherit_close_range_unshare", &c);
    assert_eq!(m.outcomes[3], Outcome::Ret(2));
    assert_eq!(m.outcomes[6], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[10], Outcome::Ret(1));
    assert_eq!(m.outcomes[11], Outcome::Ret(0));
    assert_eq!(m.outcomes[13], Outcome::Err(Errno::EINVAL));
}

/// `no_new_privs` and seccomp filters are per thread and kept by fork, clone (threads too)
/// and exec; a filter needs `no_new_privs` or CAP_SYS_ADMIN (EACCES, seccomp(2)), and of
/// two filters answering with an errno the newest wins (kernel/seccomp.c
/// `seccomp_run_filters`). A thread made before the filter is not under it.
// covers: sec.inherited
#[test]
fn no_new_privs_and_seccomp_filters_are_kept_by_fork_clone_and_exec() {
    let umask = |t| op(t, OpKind::Umask { mask: 0o027 });
    let filter = |t, errno| op(t, OpKind::Seccomp { errno });
    let c = case(vec![
        prctl(0, PrctlOption::GetNoNewPrivs, 0), // 0: 0
        thread(0),                               // 1: t1, made before the filter
        prctl(0, PrctlOption::SetNoNewPrivs, 2), // 2: EINVAL
        prctl(0, PrctlOption::SetNoNewPrivs, 1), // 3
        filter(0, Errno::EPERM),                 // 4
        prctl(0, PrctlOption::GetSeccomp, 0),    // 5: 2
        umask(0),                                // 6: EPERM
        umask(1),                                // 7: 0o022, t1 is not filtered
        prctl(1, PrctlOption::GetNoNewPrivs, 0), // 8: 0
        op(0, OpKind::Fork),                     // 9: t2
        filter(2, Errno::EIO),                   // 10
        umask(2),                                // 11: EIO, newest first
        op(2, OpKind::Exec),                     // 12
        prctl(2, PrctlOption::GetNoNewPrivs, 0), // 13: 1
        prctl(2, PrctlOption::GetSeccomp, 0),    // 14: 2
        umask(2),                                // 15: EIO
        thread(2),                               // 16: t3
        umask(3),                                // 17: EIO
        umask(0),                                // 18: EPERM, t0 only has its own
    ]);
    let m = known("inherit_no_new_privs_seccomp", &c);
    assert_eq!(m.outcomes[2], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[5], Outcome::Ret(2));
    assert_eq!(m.outcomes[6], Outcome::Err(Errno::EPERM));
    assert_eq!(m.outcomes[7], Outcome::Ret(0o022));
    assert_eq!(m.outcomes[8], Outcome::Ret(0));
    assert_eq!(m.outcomes[13], Outcome::Ret(1));
    assert_eq!(m.outcomes[15], Outcome::Err(Errno::EIO));
    assert_eq!(m.outcomes[17], Outcome::Err(Errno::EIO));
    assert_eq!(m.outcomes[18], Outcome::Err(Errno::EPERM));
}

/// Whether the lab may unshare a pid namespace (CAP_SYS_ADMIN); says why not when skipping.
fn lab_may_unshare_newpid() -> bool {
    let profile = &lab().hello.profile;
    if !profile.cap_sys_admin {
        eprintln!(
            "skipped: unshare(CLONE_NEWPID) needs CAP_SYS_ADMIN ({})",
            profile.describe()
        );
    }
    profile.cap_sys_admin
}

/// `unshare(CLONE_NEWPID)` by `t`.
fn unshare_newpid(t: TaskId) -> Op {
    op(
        t,
        OpKind::Unshare {
            flags: UnshareFlags {
                newpid: true,
                ..Default::default()
            },
        },
    )
}

/// `unshare(CLONE_NEWPID)` leaves the caller where it is and makes its next child the init
/// (pid 1) of a new pid namespace; the next one joins it with its parent outside
/// (pid_namespaces(7), kernel/pid.c `alloc_pid`). The caller cannot unshare another one,
/// nor clone a thread or a `CLONE_NEWPID` child (kernel/fork.c `copy_process`,
/// kernel/pid_namespace.c `copy_pid_ns`). Once the init died, the namespace takes no more
/// tasks: ENOMEM, and EEXIST for `set_tid = [1]` until the init is reaped.
// covers: task.unshare
#[test]
fn unshare_newpid_makes_the_next_child_an_init() {
    if !lab_may_unshare_newpid() {
        return;
    }
    let newpid = unshare_newpid(0);
    let clone3 = |flags: CloneFlags, set_tid: SetTid| {
        op(
            0,
            OpKind::Clone(CloneOp {
                entry: CloneEntry::Clone3,
                flags,
                exit_signal: if flags.has(CloneFlags::THREAD) { 0 } else { 17 },
                args: Clone3Args {
                    set_tid,
                    ..Clone3Args::default()
                },
            }),
        )
    };
    let wait = |c| {
        op(
            0,
            OpKind::Wait {
                target: WaitTarget::Task(c),
                options: Default::default(),
            },
        )
    };
    let thread = CloneFlags::VM | CloneFlags::SIGHAND | CloneFlags::THREAD;
    let c = case(vec![
        newpid.clone(),                           // 0
        op(0, OpKind::Fork),                      // 1: t1, pid 1 there
        op(0, OpKind::Fork),                      // 2: t2, pid 2, parent t0
        newpid,                                   // 3: EINVAL
        clone3(thread, SetTid::None),             // 4: EINVAL
        clone3(CloneFlags::NEWPID, SetTid::None), // 5: EINVAL
        op(
            2,
            OpKind::Kill {
                target: 1,
                sig: Signal::SIGTERM,
            },
        ), // 6: the init does not die of it
        op(1, OpKind::Fork),                      // 7: t3, inside
        op(
            0,
            OpKind::Kill {
                target: 2,
                sig: Signal::SIGKILL,
            },
        ), // 8
        wait(2),                                  // 9
        op(
            1,
            OpKind::Exit {
                code: 0,
                thread: false,
            },
        ), // 10: takes t3 with it
        op(0, OpKind::Fork),                      // 11: ENOMEM
        clone3(CloneFlags::EMPTY, SetTid::Pid1),  // 12: EEXIST
        wait(1),                                  // 13
        clone3(CloneFlags::EMPTY, SetTid::Pid1),  // 14: ENOMEM
    ]);
    let m = known("inherit_unshare_newpid", &c);
    assert_eq!(m.outcomes[0], Outcome::Ret(0));
    let pidns = |step: usize, t: TaskId| m.states[step].task(t).unwrap().namespaces.unwrap().pid;
    assert_ne!(pidns(2, 1), pidns(2, 0));
    assert_eq!(pidns(2, 2), pidns(2, 1));
    for step in [3, 4, 5] {
        assert_eq!(m.outcomes[step], Outcome::Err(Errno::EINVAL), "step {step}");
    }
    assert_eq!(state(&m, 6, 1), Some(TaskState::Live));
    assert_eq!(state(&m, 10, 3), None, "reaped by the dying init");
    assert_eq!(m.outcomes[11], Outcome::Err(Errno::ENOMEM));
    assert_eq!(m.outcomes[12], Outcome::Err(Errno::EEXIST));
    assert_eq!(m.outcomes[14], Outcome::Err(Errno::ENOMEM));
}

/// A first fork into an unshared pid namespace that fails after its pid was allocated
/// (`CLONE_INTO_CGROUP` with a bad cgroup fd: cgroup_can_fork) leaves the namespace taking
/// no more tasks (kernel/pid.c `free_pid`). At the end, a pid-2 child whose parent is
/// outside keeps the dying init waiting in `zap_pid_ns_processes` until it is reaped: the
/// teardown copes.
// covers: task.unshare
#[test]
fn unshare_newpid_first_fork_failure_and_an_outside_parent() {
    if !lab_may_unshare_newpid() {
        return;
    }
    let newpid = unshare_newpid;
    let c = case(vec![
        op(0, OpKind::Fork), // 0: t1
        newpid(0),           // 1
        op(
            0,
            OpKind::Clone(CloneOp {
                entry: CloneEntry::Clone3,
                flags: CloneFlags::INTO_CGROUP,
                exit_signal: 17,
                args: Clone3Args::default(),
            }),
        ), // 2: EBADF
        op(0, OpKind::Fork), // 3: ENOMEM
        newpid(1),           // 4
        op(1, OpKind::Vfork), // 5: t2, the init; t1 waits
        op(
            2,
            OpKind::Exit {
                code: 0,
                thread: false,
            },
        ), // 6
        op(1, OpKind::Fork), // 7: ENOMEM
    ]);
    let m = known("inherit_unshare_newpid_dead", &c);
    assert_eq!(m.outcomes[2], Outcome::Err(Errno::EBADF));
    assert_eq!(m.outcomes[3], Outcome::Err(Errno::ENOMEM));
    assert_eq!(m.outcomes[7], Outcome::Err(Errno::ENOMEM));
}

/// The teardown of a case whose pid namespace init has a sibling with its parent outside
/// the namespace (pid 2 of a namespace t0 unshared): killed together, the init waits in
/// `zap_pid_ns_processes` until the lab, which adopts the sibling when t0 dies, reaps it.
// covers: task.unshare
#[test]
fn unshare_newpid_teardown_reaps_a_child_whose_parent_is_outside() {
    if !lab_may_unshare_newpid() {
        return;
    }
    let c = case(vec![
        unshare_newpid(0),
        op(0, OpKind::Fork),  // t1: pid 1
        op(0, OpKind::Vfork), // t2: pid 2, t0 waits for it
        op(
            2,
            OpKind::Exit {
                code: 0,
                thread: false,
            },
        ),
        op(0, OpKind::Fork), // t3: pid 3
    ]);
    let m = known("inherit_unshare_newpid_teardown", &c);
    assert_eq!(m.outcomes[4], Outcome::Child(3));
}

fn sigaltstack(t: TaskId, set: Option<AltStackSet>) -> Op {
    op(t, OpKind::Sigaltstack { set })
}

fn alt(stack: u8, size: u32, flags: u32) -> Option<AltStackSet> {
    Some(AltStackSet { stack, size, flags })
}

fn alt_report(stack: Option<u8>, size: u64, flags: u32) -> Outcome {
    Outcome::AltStack(AltStackReport { stack, size, flags })
}

/// The alternate signal stack, read by each task with its own `sigaltstack(NULL, &old)`:
/// a fork or vfork child (and a `CLONE_VM|CLONE_VFORK` one) has its parent's; a thread or a
/// `CLONE_VM` child without `CLONE_VFORK` starts with none (kernel/fork.c copy_process:
/// `sas_ss_reset`); exec clears stack and size and keeps `SS_AUTODISARM`
/// (fs/exec.c setup_new_exec).
// covers: sig.altstack
#[test]
fn the_alternate_stack_is_kept_by_fork_and_vfork_reset_for_clone_vm_and_cleared_by_exec() {
    use forkspec_model::altstack::{SS_AUTODISARM, SS_DISABLE};
    let vm = |flags: CloneFlags| {
        op(
            0,
            OpKind::Clone(CloneOp {
                entry: CloneEntry::Clone,
                flags,
                exit_signal: 17,
                args: Clone3Args::default(),
            }),
        )
    };
    let c = case(vec![
        sigaltstack(0, None),                         // 0: none
        sigaltstack(0, alt(1, 65536, SS_AUTODISARM)), // 1: old none
        op(0, OpKind::Fork),                          // 2: t1
        sigaltstack(1, None),                         // 3: stack 1
        thread(0),                                    // 4: t2
        sigaltstack(2, None),                         // 5: none
        vm(CloneFlags::VM),                           // 6: t3
        sigaltstack(3, None),                         // 7: none
        op(0, OpKind::Vfork),                         // 8: t4
        sigaltstack(4, None),                         // 9: stack 1
        sigaltstack(4, alt(2, 8192, 0)),              // 10
        op(4, OpKind::Exec),                          // 11: t0 resumes
        sigaltstack(4, None),                         // 12: none
        vm(CloneFlags::VM | CloneFlags::VFORK),       // 13: t5
        sigaltstack(5, None),                         // 14: stack 1
        exit(5, 0),                                   // 15
        op(0, OpKind::Exec),                          // 16: kills t2
        sigaltstack(0, None),                         // 17: none, SS_AUTODISARM
    ]);
    let m = known("inherit_sigaltstack_fork_vfork_clone_exec", &c);
    let none = alt_report(None, 0, SS_DISABLE);
    let set = alt_report(Some(1), 65536, SS_AUTODISARM);
    assert_eq!(m.outcomes[0], none);
    assert_eq!(m.outcomes[3], set, "kept by fork");
    assert_eq!(m.outcomes[5], none, "reset for a thread");
    assert_eq!(m.outcomes[7], none, "reset for CLONE_VM");
    assert_eq!(m.outcomes[9], set, "kept by vfork");
    assert_eq!(m.outcomes[12], none, "cleared by exec");
    assert_eq!(m.outcomes[14], set, "kept by CLONE_VM|CLONE_VFORK");
    assert_eq!(
        m.outcomes[17],
        alt_report(None, 0, SS_DISABLE | SS_AUTODISARM),
        "exec keeps SS_AUTODISARM"
    );
}

/// `sigaltstack` refuses a bad mode (EINVAL) and a size below `MINSIGSTKSZ` (ENOMEM) without
/// changing the setting; `SS_ONSTACK` in a set means 0; `SS_DISABLE` drops stack and size
/// (kernel/signal.c do_sigaltstack).
// covers: sig.altstack
#[test]
fn sigaltstack_checks_flags_and_size() {
    use forkspec_model::altstack::{SS_AUTODISARM, SS_DISABLE, SS_ONSTACK};
    let c = case(vec![
        sigaltstack(0, alt(0, 2048, 0)),                       // 0
        sigaltstack(0, alt(1, 2047, 0)),                       // 1: ENOMEM
        sigaltstack(0, alt(1, 8192, 4)),                       // 2: EINVAL
        sigaltstack(0, alt(1, 8192, SS_ONSTACK | SS_DISABLE)), // 3: EINVAL
        sigaltstack(0, alt(2, 4096, SS_ONSTACK)),              // 4: stack 0, 2048
        sigaltstack(0, alt(1, 3, SS_DISABLE | SS_AUTODISARM)), // 5: stack 2, 4096
        sigaltstack(0, None),                                  // 6
    ]);
    let m = known("inherit_sigaltstack_errors", &c);
    assert_eq!(m.outcomes[1], Outcome::Err(Errno::ENOMEM));
    assert_eq!(m.outcomes[2], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[3], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[4], alt_report(Some(0), 2048, 0));
    assert_eq!(m.outcomes[5], alt_report(Some(2), 4096, 0));
    assert_eq!(
        m.outcomes[6],
        alt_report(None, 0, SS_DISABLE | SS_AUTODISARM)
    );
}
