//! Scheduling and resource state across fork, clone and exec: nice, policy and
//! `SCHED_RESET_ON_FORK`, persona, resource limits and `RLIMIT_NPROC`. Known cases, each
//! checked on the model and the kernel (every step's outcome and snapshot), the model's trace
//! pinned in snapshots/; the unprivileged rules are checked by replaying a case as uid 65534.
//! The random mix draws the same ops, as root and (suites/as_user.rs) as nobody.
//!
//! The known cases run as root (they lower nice and set real-time policies):
//! an unprivileged run skips them with a note. Their first ops set every value they later
//! read, so the environment's own (a harness under `nice -n 5`, its limits) shows nowhere.

mod common;

use common::*;
use forkspec_model::sched::*;
use forkspec_model::*;

fn nice(t: TaskId, nice: i32) -> Op {
    op(t, OpKind::Setpriority { nice })
}

fn getnice(t: TaskId) -> Op {
    op(t, OpKind::Getpriority)
}

fn setsched(t: TaskId, policy: u32, priority: u32) -> Op {
    op(t, OpKind::SchedSetscheduler { policy, priority })
}

fn getsched(t: TaskId) -> Op {
    op(t, OpKind::SchedGetscheduler)
}

fn persona(t: TaskId, persona: u32) -> Op {
    op(t, OpKind::Personality { persona })
}

fn setrlimit(t: TaskId, resource: u32, cur: u64, max: u64) -> Op {
    op(
        t,
        OpKind::Prlimit {
            resource,
            set: Some(Rlim { cur, max }),
            no_old: true,
        },
    )
}

fn prlimit(t: TaskId, resource: u32, set: Option<(u64, u64)>) -> Op {
    op(
        t,
        OpKind::Prlimit {
            resource,
            set: set.map(|(cur, max)| Rlim { cur, max }),
            no_old: false,
        },
    )
}

fn rlim(cur: u64, max: u64) -> Outcome {
    Outcome::Rlimit(Rlim { cur, max })
}

fn policy(p: u32) -> Outcome {
    Outcome::Ret(i64::from(p))
}

/// Whether the lab runs as root with CAP_SYS_NICE; says why not when skipping.
fn lab_is_root() -> bool {
    let profile = &lab().hello.profile;
    let root = profile.uid == 0 && profile.cap_sys_nice.unwrap_or(profile.cap_sys_admin);
    if !root {
        eprintln!(
            "skipped: the known case needs root with CAP_SYS_NICE ({})",
            profile.describe()
        );
    }
    root
}

/// Nice is the calling thread's: clamped to -20..=19, copied into fork children and
/// threads, kept by exec (kernel/sys.c setpriority, set_one_prio; kernel/sched/core.c
/// sched_fork copies `static_prio`).
// covers: inherit.nice
#[test]
fn nice_is_per_thread_kept_by_fork_clone_and_exec() {
    if !lab_is_root() {
        return;
    }
    let c = case(vec![
        nice(0, 0),           // 0
        nice(0, 50),          // 1: clamped to 19
        getnice(0),           // 2: 19
        nice(0, 5),           // 3
        op(0, OpKind::Fork),  // 4: t1
        getnice(1),           // 5: 5
        thread(0),            // 6: t2
        getnice(2),           // 7: 5
        nice(2, -3),          // 8: the thread's own
        getnice(0),           // 9: 5
        op(1, OpKind::Exec),  // 10
        getnice(1),           // 11: 5
        nice(1, -100),        // 12: clamped to -20
        getnice(1),           // 13: -20
        op(0, OpKind::Vfork), // 14: t3
        getnice(3),           // 15: 5
        exit(3, 0),           // 16
    ]);
    let m = known("sched_nice_fork_thread_exec", &c);
    assert_eq!(m.outcomes[2], Outcome::Ret(19));
    assert_eq!(m.outcomes[5], Outcome::Ret(5), "kept by fork");
    assert_eq!(m.outcomes[7], Outcome::Ret(5), "kept by a thread");
    assert_eq!(m.outcomes[9], Outcome::Ret(5), "per thread");
    assert_eq!(m.outcomes[11], Outcome::Ret(5), "kept by exec");
    assert_eq!(m.outcomes[13], Outcome::Ret(-20));
    assert_eq!(m.outcomes[15], Outcome::Ret(5), "kept by vfork");
}

/// The policy is copied into every new task and kept by exec; `sched_setscheduler` checks
/// policy and priority (EINVAL) (kernel/sched/core.c __sched_setscheduler, sched_fork).
// covers: inherit.sched-policy
#[test]
fn the_policy_is_checked_kept_by_fork_clone_and_exec() {
    if !lab_is_root() {
        return;
    }
    let c = case(vec![
        setsched(0, SCHED_OTHER, 0),    // 0
        setsched(0, SCHED_OTHER, 1),    // 1: EINVAL
        setsched(0, SCHED_FIFO, 0),     // 2: EINVAL
        setsched(0, SCHED_RR, 100),     // 3: EINVAL
        setsched(0, 4, 0),              // 4: EINVAL
        setsched(0, SCHED_DEADLINE, 0), // 5: EINVAL
        setsched(0, SCHED_BATCH, 0),    // 6
        op(0, OpKind::Fork),            // 7: t1
        getsched(1),                    // 8: BATCH
        setsched(0, SCHED_RR, 2),       // 9
        thread(0),                      // 10: t2
        getsched(2),                    // 11: RR
        setsched(2, SCHED_IDLE, 0),     // 12: the thread's own
        getsched(0),                    // 13: RR
        op(0, OpKind::Exec),            // 14: ends t2
        getsched(0),                    // 15: RR
        op(1, OpKind::Exec),            // 16
        getsched(1),                    // 17: BATCH
        setsched(0, SCHED_OTHER, 0),    // 18
    ]);
    let m = known("sched_policy_fork_thread_exec", &c);
    for i in 1..=5 {
        assert_eq!(m.outcomes[i], Outcome::Err(Errno::EINVAL), "step {i}");
    }
    assert_eq!(m.outcomes[8], policy(SCHED_BATCH));
    assert_eq!(m.outcomes[11], policy(SCHED_RR));
    assert_eq!(m.outcomes[13], policy(SCHED_RR), "per thread");
    assert_eq!(m.outcomes[15], policy(SCHED_RR), "kept by exec");
    assert_eq!(m.outcomes[17], policy(SCHED_BATCH));
}

/// `SCHED_RESET_ON_FORK`: a child of a real-time task gets `SCHED_NORMAL` and nice 0, a child
/// of a fair one keeps its policy with a negative nice raised to 0; the child's flag is
/// cleared, the caller keeps its own through exec (kernel/sched/core.c sched_fork).
// covers: inherit.reset-on-fork
#[test]
fn reset_on_fork_resets_the_child_once_and_the_caller_keeps_it() {
    if !lab_is_root() {
        return;
    }
    let rt = SCHED_FIFO | SCHED_RESET_ON_FORK;
    let batch = SCHED_BATCH | SCHED_RESET_ON_FORK;
    let c = case(vec![
        nice(0, -7),                 // 0
        setsched(0, rt, 2),          // 1
        getsched(0),                 // 2: FIFO|RESET
        op(0, OpKind::Fork),         // 3: t1
        getsched(1),                 // 4: OTHER
        getnice(1),                  // 5: 0
        thread(0),                   // 6: t2
        getsched(2),                 // 7: OTHER
        op(1, OpKind::Fork),         // 8: t3 of an OTHER parent
        getsched(3),                 // 9: OTHER
        nice(0, 6),                  // 10
        op(0, OpKind::Vfork),        // 11: t4
        getnice(4),                  // 12: 0 (RT: nice reset as well)
        exit(4, 0),                  // 13
        setsched(0, batch, 0),       // 14
        op(0, OpKind::Fork),         // 15: t5
        getsched(5),                 // 16: BATCH
        getnice(5),                  // 17: 6 (kept)
        nice(0, -3),                 // 18
        op(0, OpKind::Fork),         // 19: t6
        getnice(6),                  // 20: 0
        op(0, OpKind::Exec),         // 21: ends t2
        getsched(0),                 // 22: BATCH|RESET
        setsched(0, SCHED_OTHER, 0), // 23: root may clear it
        getsched(0),                 // 24: OTHER
    ]);
    let m = known("sched_reset_on_fork", &c);
    assert_eq!(m.outcomes[2], policy(rt));
    assert_eq!(m.outcomes[4], policy(SCHED_OTHER), "RT becomes NORMAL");
    assert_eq!(m.outcomes[5], Outcome::Ret(0), "negative nice becomes 0");
    assert_eq!(m.outcomes[7], policy(SCHED_OTHER), "a thread too");
    assert_eq!(m.outcomes[9], policy(SCHED_OTHER));
    assert_eq!(m.outcomes[12], Outcome::Ret(0));
    assert_eq!(m.outcomes[16], policy(SCHED_BATCH), "a fair policy stays");
    assert_eq!(m.outcomes[17], Outcome::Ret(6), "a positive nice stays");
    assert_eq!(m.outcomes[20], Outcome::Ret(0));
    assert_eq!(
        m.outcomes[22],
        policy(batch),
        "the caller keeps it through exec"
    );
    assert_eq!(m.outcomes[24], policy(SCHED_OTHER));
}

/// The persona is the calling thread's, copied into every new task; exec of the (64-bit)
/// agent clears `READ_IMPLIES_EXEC` only (arch/x86/kernel/process_64.c
/// set_personality_64bit; fs/exec.c clears `PER_CLEAR_ON_SETID` only for a set-id exec).
// covers: inherit.personality
#[test]
fn the_persona_is_per_thread_inherited_and_exec_clears_read_implies_exec() {
    if !lab_is_root() {
        return;
    }
    let p = ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC | SHORT_INODE | 0x8;
    let c = case(vec![
        persona(0, 0),                 // 0
        persona(0, p),                 // 1: 0
        persona(0, PERSONALITY_QUERY), // 2: p
        op(0, OpKind::Fork),           // 3: t1
        persona(1, PERSONALITY_QUERY), // 4: p
        thread(0),                     // 5: t2
        persona(2, STICKY_TIMEOUTS),   // 6: p
        persona(0, PERSONALITY_QUERY), // 7: p (per thread)
        op(1, OpKind::Exec),           // 8
        persona(1, PERSONALITY_QUERY), // 9: p without READ_IMPLIES_EXEC
    ]);
    let m = known("sched_personality", &c);
    assert_eq!(m.outcomes[2], Outcome::Ret(i64::from(p)));
    assert_eq!(m.outcomes[4], Outcome::Ret(i64::from(p)), "kept by fork");
    assert_eq!(
        m.outcomes[6],
        Outcome::Ret(i64::from(p)),
        "kept by a thread"
    );
    assert_eq!(m.outcomes[7], Outcome::Ret(i64::from(p)), "per thread");
    assert_eq!(
        m.outcomes[9],
        Outcome::Ret(i64::from(p & !READ_IMPLIES_EXEC)),
        "exec clears READ_IMPLIES_EXEC"
    );
}

/// Resource limits are the process's (a thread's change is its group's), copied by fork and
/// kept by exec; a soft limit above the hard one is EINVAL, an unknown resource EINVAL, a
/// soft limit may rise to the hard one; `RLIMIT_NPROC` never refuses root, the initial
/// namespace's root user (kernel/sys.c do_prlimit; kernel/fork.c copy_process). Raising a
/// hard limit needs CAP_SYS_RESOURCE, which a container's root may lack: the unprivileged
/// replay checks its EPERM.
// covers: inherit.rlimit, fork.rlimit-nproc
#[test]
fn limits_are_per_process_inherited_kept_by_exec_and_never_refuse_root() {
    if !lab_is_root() {
        return;
    }
    let c = case(vec![
        setrlimit(0, RLIMIT_LOCKS, 3, 9),       // 0
        setrlimit(0, RLIMIT_NPROC, 0, 0),       // 1
        thread(0),                              // 2: t1, root ignores NPROC
        prlimit(1, RLIMIT_LOCKS, Some((2, 9))), // 3: {3, 9}
        prlimit(0, RLIMIT_LOCKS, None),         // 4: {2, 9}
        op(1, OpKind::Fork),                    // 5: t2
        prlimit(2, RLIMIT_LOCKS, Some((1, 1))), // 6: {2, 9}
        prlimit(2, RLIMIT_NPROC, None),         // 7: {0, 0}
        prlimit(0, RLIMIT_LOCKS, None),         // 8: {2, 9}
        op(1, OpKind::Exec),                    // 9: t1 execs, t0 goes
        prlimit(1, RLIMIT_LOCKS, None),         // 10: {2, 9}
        prlimit(1, RLIMIT_LOCKS, Some((5, 4))), // 11: EINVAL
        prlimit(1, RLIM_NLIMITS, None),         // 12: EINVAL
        prlimit(1, RLIMIT_LOCKS, Some((9, 9))), // 13: {2, 9}: soft up to hard
        prlimit(1, RLIMIT_LOCKS, None),         // 14: {9, 9}
        exit(2, 0),                             // 15
    ]);
    let m = known("sched_rlimits", &c);
    assert!(matches!(m.outcomes[2], Outcome::Child(1)));
    assert_eq!(m.outcomes[3], rlim(3, 9));
    assert_eq!(m.outcomes[4], rlim(2, 9), "per process");
    assert!(matches!(m.outcomes[5], Outcome::Child(2)));
    assert_eq!(m.outcomes[6], rlim(2, 9), "kept by fork");
    assert_eq!(m.outcomes[7], rlim(0, 0));
    assert_eq!(m.outcomes[8], rlim(2, 9), "the child's own");
    assert_eq!(m.outcomes[10], rlim(2, 9), "kept by exec");
    assert_eq!(m.outcomes[11], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[12], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[13], rlim(2, 9));
    assert_eq!(m.outcomes[14], rlim(9, 9));
}

/// CPU affinity is the calling thread's, copied into every new task and kept by exec; an
/// empty mask is EINVAL (kernel/sched/core.c sched_setaffinity, __set_cpus_allowed_ptr).
/// CPUs are named by index (0: the lab's own); only CPU 0 is used here, which every lab has:
/// the generated mix moves tasks between CPUs where the lab may use two.
// covers: inherit.affinity
#[test]
fn affinity_is_per_thread_inherited_and_kept_by_exec() {
    let set = |t, cpus| op(t, OpKind::SchedSetaffinity { cpus });
    let get = |t| op(t, OpKind::SchedGetaffinity);
    let c = case(vec![
        set(0, 1),           // 0
        set(0, 0),           // 1: EINVAL
        get(0),              // 2: 1
        op(0, OpKind::Fork), // 3: t1
        get(1),              // 4: 1
        thread(0),           // 5: t2
        get(2),              // 6: 1
        op(1, OpKind::Exec), // 7
        get(1),              // 8: 1
        set(1, 1),           // 9
    ]);
    let m = known("sched_affinity", &c);
    assert_eq!(m.outcomes[1], Outcome::Err(Errno::EINVAL));
    for i in [2, 4, 6, 8] {
        assert_eq!(m.outcomes[i], Outcome::Ret(1), "step {i}");
    }
}

/// A world-writable case-directory base for a lab run as another uid, removed afterwards.
struct SharedDir(std::path::PathBuf);

impl SharedDir {
    fn new() -> SharedDir {
        use std::os::unix::fs::PermissionsExt;
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            std::path::PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("forkspec-sched-nobody-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("creating the shared case directory base");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o1777)).unwrap();
        SharedDir(d)
    }
}

impl Drop for SharedDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An unprivileged task (uid 65534, `RLIMIT_NICE` and `RLIMIT_RTPRIO` 0): raising its nice
/// is free and lowering it EACCES (kernel/sys.c set_one_prio, can_nice); a real-time policy,
/// leaving `SCHED_IDLE` and clearing `SCHED_RESET_ON_FORK` are EPERM
/// (user_check_sched_setscheduler); raising a hard limit is EPERM (do_prlimit); with
/// `RLIMIT_NPROC` 0 every fork, vfork and thread is EAGAIN, while a child made before keeps
/// its own limit (copy_process). The model's trace for that profile is pinned; the case is
/// then replayed on the kernel as uid 65534 (`forkspec replay --as-user`, as root only),
/// with the model following the lab's real profile.
// covers: inherit.nice, inherit.sched-policy, inherit.reset-on-fork, inherit.rlimit, fork.rlimit-nproc
#[test]
fn an_unprivileged_task_is_refused_lower_nice_rt_policies_higher_limits_and_new_tasks() {
    let thread_op = thread(0).kind;
    let c = case(vec![
        nice(0, 5),                                        // 0
        nice(0, 4),                                        // 1: EACCES
        getnice(0),                                        // 2: 5
        setsched(0, SCHED_FIFO, 1),                        // 3: EPERM
        setsched(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0), // 4
        setsched(0, SCHED_OTHER, 0),                       // 5: EPERM
        setsched(0, SCHED_IDLE | SCHED_RESET_ON_FORK, 0),  // 6
        setsched(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0), // 7: EPERM
        op(0, OpKind::Fork),                               // 8: t1
        getsched(1),                                       // 9: IDLE
        setrlimit(0, RLIMIT_LOCKS, 5, 5),                  // 10
        setrlimit(0, RLIMIT_LOCKS, 5, 6),                  // 11: EPERM
        setrlimit(0, RLIMIT_NPROC, 0, 0),                  // 12
        op(0, OpKind::Fork),                               // 13: EAGAIN
        op(0, OpKind::Vfork),                              // 14: EAGAIN
        op(0, thread_op),                                  // 15: EAGAIN
        op(1, OpKind::Fork),                               // 16: t2
        exit(2, 0),                                        // 17
    ]);
    let nobody = Profile {
        uid: 65534,
        cap_sys_admin: false,
        cap_sys_nice: Some(false),
        cap_sys_resource: Some(false),
        userns: false,
        rlimits: [RLIMIT_NICE, RLIMIT_RTPRIO]
            .map(|resource| RlimitStart {
                resource,
                limit: Rlim { cur: 0, max: 0 },
            })
            .to_vec(),
        ..Profile::default()
    };
    let all: Vec<usize> = (0..c.ops.len()).collect();
    let trace = forkspec::pretty::render_model_trace(&c, &nobody, &all);
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("sched_unprivileged", trace);
    });
    let mut m = Model::new(c.config, &nobody);
    let outcomes: Vec<Outcome> = c.ops.iter().map(|o| m.step(o, None).taken).collect();
    for (i, e) in [
        (1, Errno::EACCES),
        (3, Errno::EPERM),
        (5, Errno::EPERM),
        (7, Errno::EPERM),
        (11, Errno::EPERM),
        (13, Errno::EAGAIN),
        (14, Errno::EAGAIN),
        (15, Errno::EAGAIN),
    ] {
        assert_eq!(outcomes[i], Outcome::Err(e), "step {i}");
    }
    assert_eq!(outcomes[9], policy(SCHED_IDLE));
    assert_eq!(outcomes[16], Outcome::Child(2));

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: --as-user needs root; the kernel half is skipped");
        return;
    }
    let dir = SharedDir::new();
    let scratch = tempfile::tempdir().expect("scratch directory");
    let file = forkspec::check::save_case_as(scratch.path(), "nobody", &c, 0, None)
        .expect("saving the case");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_forkspec"))
        .current_dir(scratch.path())
        .args(["replay", &file, "--as-user", "65534"])
        .env("FORKSPEC_TMPDIR", &dir.0)
        .env_remove("CI")
        .output()
        .expect("running forkspec replay");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "replay as uid 65534 failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("model and implementation agree"),
        "no verdict:\n{stdout}"
    );
    // The model follows the lab's profile: EAGAIN shows it was the unprivileged one.
    assert!(stdout.contains("-1 EAGAIN"), "not unprivileged:\n{stdout}");
}
