//! vfork, clone and clone3: the exhaustive validity matrix and property tests mixing clone
//! flags with memory and fd ops (model vs kernel).

mod common;

use common::*;
use forkspec::backend::Backend;
use forkspec::gen::Mix;
use forkspec_model::*;
use std::collections::BTreeMap;

/// Generated cases of this suite, over all parts (PROPTEST_CASES overrides it).
const GENERATED: u32 = 1600;

/// Generated clone / vfork sequences behave on the kernel exactly as the model predicts.
// covers: clone.vm, clone.files, clone.fs, clone.sighand, clone.parent, clone.vfork
// covers: clone.exit-signal, clone.pidfd, clone.namespaces, clone.sysvsem, clone.validity
/// Part 1 of [`PARTS`]; the other parts run the same property with other seeds.
#[test]
fn clone_model_matches_kernel() {
    property_part(Mix::Clone, GENERATED, 0, file!());
}

/// Part 2 of [`PARTS`] of [`clone_model_matches_kernel`].
#[test]
fn clone_model_matches_kernel_part_2() {
    property_part(Mix::Clone, GENERATED, 1, file!());
}

/// The 15 flags of the matrix, in bit order of the combination index.
const MATRIX: [CloneFlags; 15] = [
    CloneFlags::VM,
    CloneFlags::FS,
    CloneFlags::FILES,
    CloneFlags::SIGHAND,
    CloneFlags::THREAD,
    CloneFlags::VFORK,
    CloneFlags::PARENT,
    CloneFlags::SYSVSEM,
    CloneFlags::IO,
    CloneFlags::PIDFD,
    CloneFlags::CLEAR_SIGHAND,
    CloneFlags::DETACHED,
    CloneFlags::NEWNS,
    CloneFlags::NEWUSER,
    CloneFlags::NEWPID,
];

fn combo(i: u32) -> CloneFlags {
    MATRIX
        .iter()
        .enumerate()
        .filter(|(b, _)| i & (1 << b) != 0)
        .fold(CloneFlags::EMPTY, |a, (_, &f)| a | f)
}

/// Runs `op` on the kernel and on the model; panics on disagreement.
fn both(lab: &mut Lab, model: &mut Model, op: &Op) -> Outcome {
    let (real, _) = lab.backend.op(op, false).expect("lab op");
    let step = model.step(op, Some(&real));
    assert!(
        step.allowed.contains(&real),
        "{op}: model {:?}, kernel {real:?}",
        step.allowed
    );
    real
}

/// Every combination of the 15 flags on both entry points, model vs kernel: t0 calls clone;
/// a child exits at once with `exit(2)` (a thread alone, a process whole) and t0 reaps it
/// with `__WALL`. Each entry point's 2^15 combinations are split into [`MATRIX_PARTS`] parts
/// that run as separate tests on the suite's labs in parallel. Prints how many combinations
/// each errno rejects.
// covers: clone.validity
#[rstest]
fn validity_matrix_both_entry_points(
    #[values(CloneEntry::Clone, CloneEntry::Clone3)] entry: CloneEntry,
    #[values(0, 1, 2, 3)] part: u32,
) {
    assert!(part < MATRIX_PARTS, "part {part} of {MATRIX_PARTS}");
    let mut lab = lab();
    let profile = lab.hello.profile.clone();
    let config = CaseConfig { pages: 1 };
    let mut summary: BTreeMap<String, u32> = BTreeMap::new();
    let mut model = Model::new(config, &profile);
    lab.backend.setup(&config).expect("setup");
    count_cases(1);
    let mut tasks = 1;
    let per_part = (1u32 << MATRIX.len()) / MATRIX_PARTS;
    let combos = part * per_part..(part + 1) * per_part;
    for i in combos.clone() {
        if tasks >= 60 {
            lab.backend.end().expect("end");
            lab.backend.setup(&config).expect("setup");
            count_cases(1);
            model = Model::new(config, &profile);
            tasks = 1;
        }
        let flags = combo(i);
        let exit_signal =
            if entry == CloneEntry::Clone3 && flags.any(CloneFlags::THREAD | CloneFlags::PARENT) {
                0
            } else {
                17
            };
        let c = Op {
            task: 0,
            kind: OpKind::Clone(CloneOp {
                entry,
                flags,
                exit_signal,
                args: Clone3Args::default(),
            }),
        };
        let out = both(&mut lab, &mut model, &c);
        let key = match &out {
            Outcome::Err(e) => e.to_string(),
            Outcome::Child(_) => "ok".to_string(),
            o => format!("{o}"),
        };
        *summary.entry(key).or_default() += 1;
        if let Outcome::Child(ch) = out {
            tasks += 1;
            let exit = Op {
                task: ch,
                kind: OpKind::Exit {
                    code: 0,
                    thread: true,
                },
            };
            both(&mut lab, &mut model, &exit);
            if !flags.any(CloneFlags::THREAD | CloneFlags::PARENT) {
                let wait = Op {
                    task: 0,
                    kind: OpKind::Wait {
                        target: WaitTarget::Task(ch),
                        options: WaitOptions {
                            all: true,
                            ..Default::default()
                        },
                    },
                };
                both(&mut lab, &mut model, &wait);
            }
        }
    }
    lab.backend.end().expect("end");
    eprintln!("{entry:?} {combos:?}: {summary:?}");
    assert_eq!(summary.values().sum::<u32>(), per_part);
}

/// Parts the validity matrix of one entry point is split into (a power of two).
const MATRIX_PARTS: u32 = 4;

// ---------------------------------------------------------------------------------------------
// Known cases: one per validity rule of model/src/model/clone.rs, and the fork / clone / thread
// sharing table. Each runs on the kernel with per-step comparison and pins the model's trace.

use rstest::rstest;

/// What one entry point must answer in a validity row.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// The call succeeds (the child is the next label).
    Ok,
    /// The call fails with this errno.
    Err(Errno),
    /// The row does not use this entry point.
    Skip,
}

fn clone_op(t: TaskId, entry: CloneEntry, flags: CloneFlags, sig: i32, args: Clone3Args) -> Op {
    op(
        t,
        OpKind::Clone(CloneOp {
            entry,
            flags,
            exit_signal: sig,
            args,
        }),
    )
}

fn args() -> Clone3Args {
    Clone3Args::default()
}

/// `CLONE_VM | CLONE_SIGHAND`: what every flag set with SIGHAND needs to get past
/// `SIGHAND && !VM`.
const VM_SIGHAND: CloneFlags = CloneFlags(CloneFlags::VM.0 | CloneFlags::SIGHAND.0);
/// A thread: `CLONE_VM | CLONE_SIGHAND | CLONE_THREAD`.
const THREAD: CloneFlags = CloneFlags(VM_SIGHAND.0 | CloneFlags::THREAD.0);

/// One validity rule of kernel/fork.c per row: t0 makes the same call through legacy `clone`
/// and then through `clone3` (where the row uses them); each answer is asserted on the model's
/// outcome, the kernel must agree at every step, and the trace is pinned in
/// `snapshots/clone_rule_NAME.snap`.
#[rstest]
// copy_clone_args_from_user (clone3 only).
#[case::size_above_page("size_above_page", CloneFlags::EMPTY, 17,
    Clone3Args { size: 4097, ..args() }, Want::Skip, Want::Err(Errno::E2BIG))]
#[case::size_below_ver0("size_below_ver0", CloneFlags::EMPTY, 17,
    Clone3Args { size: 56, ..args() }, Want::Skip, Want::Err(Errno::EINVAL))]
#[case::size_ver0_ok("size_ver0_ok", CloneFlags::EMPTY, 17,
    Clone3Args { size: 64, ..args() }, Want::Skip, Want::Ok)]
#[case::size_192_zero_tail_ok("size_192_zero_tail_ok", CloneFlags::EMPTY, 17,
    Clone3Args { size: 192, ..args() }, Want::Skip, Want::Ok)]
#[case::tail_nonzero("tail_nonzero", CloneFlags::EMPTY, 17,
    Clone3Args { size: 96, tail_nonzero: true, ..args() }, Want::Skip, Want::Err(Errno::E2BIG))]
#[case::set_tid_too_many("set_tid_too_many", CloneFlags::EMPTY, 17,
    Clone3Args { set_tid: SetTid::TooMany, ..args() }, Want::Skip, Want::Err(Errno::EINVAL))]
#[case::set_tid_null_with_size("set_tid_null_with_size", CloneFlags::EMPTY, 17,
    Clone3Args { set_tid: SetTid::NullWithSize, ..args() }, Want::Skip, Want::Err(Errno::EINVAL))]
#[case::set_tid_ptr_without_size("set_tid_ptr_without_size", CloneFlags::EMPTY, 17,
    Clone3Args { set_tid: SetTid::PtrWithoutSize, ..args() }, Want::Skip, Want::Err(Errno::EINVAL))]
#[case::set_tid_past_size_ignored("set_tid_past_size_ignored", CloneFlags::EMPTY, 17,
    Clone3Args { size: 64, set_tid: SetTid::NullWithSize, ..args() }, Want::Skip, Want::Ok)]
#[case::exit_signal_high_bits("exit_signal_high_bits", CloneFlags::EMPTY, -1,
    args(), Want::Skip, Want::Err(Errno::EINVAL))]
// Legacy clone takes the low byte as it is: on the kernels tested (6.18) a child with exit
// signal 65 is created (kernel_clone has no valid_signal check there; the model agrees).
#[case::exit_signal_above_64(
    "exit_signal_above_64",
    CloneFlags::EMPTY,
    65,
    args(),
    Want::Ok,
    Want::Err(Errno::EINVAL)
)]
#[case::into_cgroup_big("into_cgroup_big", CloneFlags::INTO_CGROUP, 17,
    Clone3Args { cgroup_big: true, ..args() }, Want::Ok, Want::Err(Errno::EINVAL))]
#[case::into_cgroup_size_ver1("into_cgroup_size_ver1", CloneFlags::INTO_CGROUP, 17,
    Clone3Args { size: 80, ..args() }, Want::Ok, Want::Err(Errno::EINVAL))]
// clone3_args_valid (clone3 only; legacy clone drops or reinterprets these bits).
#[case::unknown_flag("unknown_flag", CloneFlags(1 << 40), 17,
    args(), Want::Ok, Want::Err(Errno::EINVAL))]
#[case::detached_on_clone3(
    "detached_on_clone3",
    CloneFlags::DETACHED,
    17,
    args(),
    Want::Ok,
    Want::Err(Errno::EINVAL)
)]
#[case::sighand_clear_sighand("sighand_clear_sighand",
    CloneFlags(VM_SIGHAND.0 | CloneFlags::CLEAR_SIGHAND.0), 17,
    args(), Want::Ok, Want::Err(Errno::EINVAL))]
#[case::clear_sighand_alone_ok(
    "clear_sighand_alone_ok",
    CloneFlags::CLEAR_SIGHAND,
    17,
    args(),
    Want::Ok,
    Want::Ok
)]
#[case::thread_with_exit_signal(
    "thread_with_exit_signal",
    THREAD,
    17,
    args(),
    Want::Ok,
    Want::Err(Errno::EINVAL)
)]
#[case::parent_with_exit_signal(
    "parent_with_exit_signal",
    CloneFlags::PARENT,
    17,
    args(),
    Want::Ok,
    Want::Err(Errno::EINVAL)
)]
#[case::stack_without_size("stack_without_size", CloneFlags::EMPTY, 17,
    Clone3Args { stack_size: false, ..args() }, Want::Skip, Want::Err(Errno::EINVAL))]
#[case::size_without_stack("size_without_stack", CloneFlags::EMPTY, 17,
    Clone3Args { stack: false, ..args() }, Want::Skip, Want::Err(Errno::EINVAL))]
// kernel_clone.
#[case::pidfd_parent_settid("pidfd_parent_settid",
    CloneFlags(CloneFlags::PIDFD.0 | CloneFlags::PARENT_SETTID.0), 17,
    args(), Want::Err(Errno::EINVAL), Want::Ok)]
// copy_process, in order.
#[case::newns_fs("newns_fs", CloneFlags(CloneFlags::NEWNS.0 | CloneFlags::FS.0), 17,
    args(), Want::Err(Errno::EINVAL), Want::Err(Errno::EINVAL))]
#[case::newuser_fs("newuser_fs", CloneFlags(CloneFlags::NEWUSER.0 | CloneFlags::FS.0), 17,
    args(), Want::Err(Errno::EINVAL), Want::Err(Errno::EINVAL))]
#[case::thread_without_sighand("thread_without_sighand",
    CloneFlags(CloneFlags::VM.0 | CloneFlags::THREAD.0), 0,
    args(), Want::Err(Errno::EINVAL), Want::Err(Errno::EINVAL))]
#[case::sighand_without_vm(
    "sighand_without_vm",
    CloneFlags::SIGHAND,
    17,
    args(),
    Want::Err(Errno::EINVAL),
    Want::Err(Errno::EINVAL)
)]
#[case::thread_newpid("thread_newpid", CloneFlags(THREAD.0 | CloneFlags::NEWPID.0), 0,
    args(), Want::Err(Errno::EINVAL), Want::Err(Errno::EINVAL))]
#[case::thread_newuser("thread_newuser", CloneFlags(THREAD.0 | CloneFlags::NEWUSER.0), 0,
    args(), Want::Err(Errno::EINVAL), Want::Err(Errno::EINVAL))]
#[case::pidfd_detached("pidfd_detached",
    CloneFlags(CloneFlags::PIDFD.0 | CloneFlags::DETACHED.0), 17,
    args(), Want::Err(Errno::EINVAL), Want::Err(Errno::EINVAL))]
#[case::newipc_sysvsem("newipc_sysvsem",
    CloneFlags(CloneFlags::NEWUSER.0 | CloneFlags::NEWIPC.0 | CloneFlags::SYSVSEM.0), 17,
    args(), Want::Err(Errno::EINVAL), Want::Err(Errno::EINVAL))]
#[case::set_tid_pid1_in_new_pidns("set_tid_pid1_in_new_pidns",
    CloneFlags(CloneFlags::NEWUSER.0 | CloneFlags::NEWPID.0), 17,
    Clone3Args { set_tid: SetTid::Pid1, ..args() }, Want::Skip, Want::Ok)]
#[case::into_cgroup_not_a_cgroup(
    "into_cgroup_not_a_cgroup",
    CloneFlags::INTO_CGROUP,
    17,
    args(),
    Want::Skip,
    Want::Err(Errno::EBADF)
)]
// covers: clone.validity, clone.exit-signal, clone.pidfd, clone.clear-sighand-validity
// covers: clone.sighand, clone.thread, clone.namespaces
fn validity_rule(
    #[case] name: &str,
    #[case] flags: CloneFlags,
    #[case] sig: i32,
    #[case] a: Clone3Args,
    #[case] legacy: Want,
    #[case] clone3: Want,
) {
    let mut ops = vec![];
    let mut wants = vec![];
    for (entry, want) in [(CloneEntry::Clone, legacy), (CloneEntry::Clone3, clone3)] {
        if !matches!(want, Want::Skip) {
            ops.push(clone_op(0, entry, flags, sig, a));
            wants.push(want);
        }
    }
    let c = Case {
        config: CaseConfig { pages: 1 },
        ops,
    };
    let m = known(&format!("clone_rule_{name}"), &c);
    for (i, want) in wants.iter().enumerate() {
        match (want, &m.outcomes[i]) {
            (Want::Ok, Outcome::Child(_)) => {}
            (Want::Err(e), Outcome::Err(got)) if e == got => {}
            (w, got) => panic!("{name}: step {i} ({}): want {w:?}, model {got}", c.ops[i]),
        }
    }
}

fn want_err(m: &ModelRun, step: usize, e: Errno) {
    assert_eq!(m.outcomes[step], Outcome::Err(e), "step {step}");
}

/// Rules that need a caller inside a new user namespace (no uid map): creating a nested user
/// namespace is EPERM (create_user_ns: the creator's uid must be mapped in its namespace);
/// `set_tid = [1]` in the lab's pid namespace needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE
/// over the user namespace owning it, which the caller no longer has (EPERM); in a pid
/// namespace it creates itself (owned by its own user namespace) pid 1 is free and allowed.
// covers: clone.namespaces, clone.validity
#[test]
fn clone_rules_inside_a_new_user_namespace() {
    let e = CloneFlags::EMPTY;
    let c = Case {
        config: CaseConfig { pages: 1 },
        ops: vec![
            clone_op(0, CloneEntry::Clone, CloneFlags::NEWUSER, 17, args()),
            clone_op(1, CloneEntry::Clone, CloneFlags::NEWUSER, 17, args()),
            clone_op(1, CloneEntry::Clone3, CloneFlags::NEWUSER, 17, args()),
            clone_op(
                1,
                CloneEntry::Clone3,
                e,
                17,
                Clone3Args {
                    set_tid: SetTid::Pid1,
                    ..args()
                },
            ),
            clone_op(
                1,
                CloneEntry::Clone3,
                CloneFlags::NEWPID,
                17,
                Clone3Args {
                    set_tid: SetTid::Pid1,
                    ..args()
                },
            ),
        ],
    };
    let m = known("clone_rule_inside_new_userns", &c);
    assert_eq!(m.outcomes[0], Outcome::Child(1));
    want_err(&m, 1, Errno::EPERM);
    want_err(&m, 2, Errno::EPERM);
    want_err(&m, 3, Errno::EPERM);
    assert_eq!(
        m.outcomes[4],
        Outcome::Child(2),
        "pid 1 of its own new pid namespace"
    );
}

/// `CLONE_PARENT` from the init of a pid namespace is EINVAL on both entry points
/// (copy_process: its siblings would never be reaped, SIGNAL_UNKILLABLE); a plain fork
/// from it is fine. The init also asks for `set_tid = [1]` in its own pid namespace: it is
/// capable there (its user namespace owns it) and pid 1 is its own, so EEXIST.
// covers: clone.parent, clone.namespaces
#[test]
fn clone_parent_from_a_pid_namespace_init() {
    let nsp = CloneFlags(CloneFlags::NEWUSER.0 | CloneFlags::NEWPID.0);
    let c = Case {
        config: CaseConfig { pages: 1 },
        ops: vec![
            clone_op(0, CloneEntry::Clone, nsp, 17, args()),
            clone_op(1, CloneEntry::Clone, CloneFlags::PARENT, 17, args()),
            clone_op(1, CloneEntry::Clone3, CloneFlags::PARENT, 0, args()),
            op(1, OpKind::Fork),
            clone_op(0, CloneEntry::Clone, CloneFlags::PARENT, 17, args()),
            clone_op(
                1,
                CloneEntry::Clone3,
                CloneFlags::EMPTY,
                17,
                Clone3Args {
                    set_tid: SetTid::Pid1,
                    ..args()
                },
            ),
        ],
    };
    let m = known("clone_rule_parent_from_pidns_init", &c);
    assert_eq!(m.outcomes[0], Outcome::Child(1));
    want_err(&m, 1, Errno::EINVAL);
    want_err(&m, 2, Errno::EINVAL);
    assert_eq!(m.outcomes[3], Outcome::Child(2));
    let s = &m.states[3];
    assert_eq!(s.task(2).unwrap().parent, Parent::Task(1));
    // t0 is no init: its CLONE_PARENT child is its sibling, a child of the reaper.
    assert_eq!(m.outcomes[4], Outcome::Child(3));
    assert_eq!(m.states[4].task(3).unwrap().parent, Parent::Reaper);
    // set_tid = [1] in its own pid namespace (owned by its own user namespace): allowed,
    // and pid 1 is taken (kernel/pid.c alloc_pid; the model had EPERM here).
    want_err(&m, 5, Errno::EEXIST);
}

/// The classic table of what fork, a process-style clone and a thread share, cell by cell.
/// Each row: t0 creates t1; t1 stores 0x5a to anon_private[0] and t0 loads it (address
/// space); t1 opens "a" and t0 asks F_GETFD of that fd (fd table); the `sighand` kcmp class
/// (signal handlers); the parent and thread group of t1.
#[rstest]
#[case::fork("share_table_fork", None, false, false, false, false)]
#[case::clone_vm_files("share_table_clone_vm_files",
    Some((CloneEntry::Clone, CloneFlags(CloneFlags::VM.0 | CloneFlags::FILES.0), 17)),
    true, true, false, false)]
#[case::clone_vm_files_sighand("share_table_clone_vm_files_sighand",
    Some((CloneEntry::Clone, CloneFlags(VM_SIGHAND.0 | CloneFlags::FILES.0), 17)),
    true, true, true, false)]
#[case::thread("share_table_thread",
    Some((CloneEntry::Clone3, CloneFlags(THREAD.0 | CloneFlags::FS.0 | CloneFlags::FILES.0
        | CloneFlags::SYSVSEM.0), 0)),
    true, true, true, true)]
// covers: fork.new-objects, clone.vm, clone.files, clone.sighand, clone.thread
fn sharing_table(
    #[case] name: &str,
    #[case] how: Option<(CloneEntry, CloneFlags, i32)>,
    #[case] vm: bool,
    #[case] files: bool,
    #[case] sighand: bool,
    #[case] thread: bool,
) {
    let create = match how {
        None => op(0, OpKind::Fork),
        Some((entry, flags, sig)) => clone_op(0, entry, flags, sig, args()),
    };
    let c = Case {
        config: CaseConfig { pages: 1 },
        ops: vec![
            create,
            op(
                1,
                OpKind::MemWrite {
                    region: Region::AnonPrivate,
                    page: 0,
                    byte: 0x5a,
                },
            ),
            op(
                0,
                OpKind::MemRead {
                    region: Region::AnonPrivate,
                    page: 0,
                },
            ),
            op(
                1,
                OpKind::Open {
                    file: FileName::A,
                    flags: OpenFlags {
                        access: Access::RdWr,
                        creat: true,
                        ..Default::default()
                    },
                },
            ),
            op(
                0,
                OpKind::Fcntl {
                    fd: 0,
                    cmd: FcntlCmd::GetFd,
                },
            ),
        ],
    };
    let m = known(name, &c);
    assert_eq!(m.outcomes[0], Outcome::Child(1));
    // Address space: the parent's load sees the child's store, or its own zero page.
    let seen = if vm { 0x5a } else { 0 };
    assert_eq!(
        m.outcomes[2],
        Outcome::Data(vec![seen]),
        "{name}: address space"
    );
    // fd table: the child's open is fd 0 in the parent too, or the parent has no fd 0.
    assert_eq!(m.outcomes[3], Outcome::Ret(0));
    let want = if files {
        Outcome::Ret(0)
    } else {
        Outcome::Err(Errno::EBADF)
    };
    assert_eq!(m.outcomes[4], want, "{name}: fd table");
    let s = &m.states[4];
    let (t0, t1) = (s.task(0).unwrap(), s.task(1).unwrap());
    assert_eq!(t0.fds.len(), usize::from(files), "{name}: parent's fds");
    let (s0, s1) = (t0.sharing.unwrap(), t1.sharing.unwrap());
    assert_eq!(s0.vm == s1.vm, vm, "{name}: vm class");
    assert_eq!(s0.files == s1.files, files, "{name}: files class");
    assert_eq!(s0.sighand == s1.sighand, sighand, "{name}: signal handlers");
    // PID / thread group: a thread joins t0's group and gets t0's parent; a process is t0's
    // child with its own thread group.
    if thread {
        assert_eq!(t1.thread_of, Some(0), "{name}: thread group");
        assert_eq!(
            t1.parent, t0.parent,
            "{name}: a thread has the caller's parent"
        );
        assert_eq!(t1.exit_signal, Some(Signal(-1)));
    } else {
        assert_eq!(t1.thread_of, None, "{name}: own thread group");
        assert_eq!(t1.parent, Parent::Task(0), "{name}: t0's child");
        assert_eq!(t1.exit_signal, Some(Signal(17)));
    }
}

/// `CLONE_NEWIPC | CLONE_SYSVSEM` fails in copy_namespaces, after copy_semundo: the caller
/// is left with a SysV semaphore undo list of its own (get_undo_list allocates it), so its
/// `sysvsem` kcmp class is no longer the NULL one its fork child still has.
// covers: clone.sysvsem, clone.validity
#[test]
fn newipc_sysvsem_fails_after_the_undo_list_exists() {
    let f = CloneFlags(CloneFlags::NEWUSER.0 | CloneFlags::NEWIPC.0 | CloneFlags::SYSVSEM.0);
    let c = Case {
        config: CaseConfig { pages: 1 },
        ops: vec![
            op(0, OpKind::Fork),
            clone_op(0, CloneEntry::Clone3, f, 17, args()),
        ],
    };
    let m = known("clone_rule_newipc_sysvsem_late", &c);
    assert_eq!(m.outcomes[0], Outcome::Child(1));
    want_err(&m, 1, Errno::EINVAL);
    let sem = |step: usize, t: TaskId| m.states[step].task(t).unwrap().sharing.unwrap().sysvsem;
    assert_eq!(sem(0, 0), sem(0, 1), "both without an undo list");
    assert_ne!(
        sem(1, 0),
        sem(1, 1),
        "the failed clone gave t0 an undo list"
    );
}

/// A write to a pipe with no reader kills an ordinary task with SIGPIPE, but the init of a
/// pid namespace ignores a default-action signal sent from inside its namespace
/// (kernel/signal.c sig_task_ignored, SIGNAL_UNKILLABLE): its write fails with EPIPE.
/// Found by a 100000-case soak run.
// covers: clone.namespaces
#[test]
fn a_pid_namespace_init_survives_sigpipe() {
    let nsp = CloneFlags(CloneFlags::NEWUSER.0 | CloneFlags::NEWPID.0);
    let c = Case {
        config: CaseConfig { pages: 1 },
        ops: vec![
            op(
                0,
                OpKind::Pipe2 {
                    cloexec: false,
                    nonblock: false,
                },
            ),
            op(0, OpKind::Close { fd: 0 }),
            clone_op(0, CloneEntry::Clone, nsp, 17, args()),
            op(
                1,
                OpKind::Write {
                    fd: 1,
                    data: b"w".to_vec(),
                },
            ),
            op(
                0,
                OpKind::Write {
                    fd: 1,
                    data: b"w".to_vec(),
                },
            ),
        ],
    };
    let m = known("pidns_init_write_without_reader", &c);
    assert_eq!(
        m.outcomes[3],
        Outcome::Err(Errno::EPIPE),
        "the namespace init lives on"
    );
    assert_eq!(
        m.outcomes[4],
        Outcome::Killed(Signal::SIGPIPE),
        "an ordinary task dies"
    );
}
