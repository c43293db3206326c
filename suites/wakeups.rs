//! Wake-ups give one verdict: known cases in which an op wakes a blocked task (a child's
//! exit or death wakes its parent's wait, a write or the last writer's close wakes a pipe
//! read, an unlock or a close wakes a flock waiter, a vfork child's exit or exec resumes its
//! parent), each run on the kernel 100 times with a snapshot after every step, and compared
//! with the model at every step: the same verdict (agreement) every time. The lab settles
//! every blocked task after every op by observation (harness/src/lab/settle.rs), so the
//! woken task's outcome is recorded at the step that woke it, however the scheduler runs.

mod common;

use common::{count_cases, lab, legacy_clone, op};
use forkspec::run::{run_case, RunOptions, SnapshotMode};
use forkspec_model::diff::LevelFilter;
use forkspec_model::*;

/// Runs per case.
const RUNS: u32 = 100;

/// Runs `ops` [`RUNS`] times on the kernel with per-step snapshots, checking each step
/// against the model, and asserts that every run agrees. First asserts that the case is a
/// wake-up: per the model, task `sleeper` is blocked after step `blocks` and live (woken,
/// not killed) after step `wakes`.
fn same_verdict_every_time(name: &str, ops: Vec<Op>, sleeper: TaskId, blocks: usize, wakes: usize) {
    let case = Case {
        config: CaseConfig::default(),
        ops,
    };
    let mut lab = lab();
    let profile = lab.hello.profile.clone();
    let mut m = Model::new(case.config, &profile);
    let mut states = vec![];
    for op in &case.ops {
        m.step(op, None);
        states.push(m.snapshot());
    }
    let state = |step: usize| states[step].task(sleeper).map(|t| t.state);
    assert_eq!(
        state(blocks),
        Some(TaskState::Blocked),
        "{name}: not a block"
    );
    for (step, s) in states.iter().enumerate().take(wakes).skip(blocks) {
        assert_eq!(
            s.task(sleeper).map(|t| t.state),
            Some(TaskState::Blocked),
            "{name}: woken before step {wakes} (at {step})"
        );
    }
    assert_eq!(state(wakes), Some(TaskState::Live), "{name}: not woken");
    let opts = RunOptions {
        snapshots: SnapshotMode::Step,
        levels: LevelFilter::All,
        caps: lab.hello.capabilities,
    };
    let mut verdicts = std::collections::BTreeMap::<String, u32>::new();
    for _ in 0..RUNS {
        let run = run_case(&mut lab.backend, &case, &profile, &opts)
            .unwrap_or_else(|e| panic!("{name}: lab failed: {e}"));
        let v = run.mismatch.map_or_else(
            || "agree".to_string(),
            |mm| format!("step {}: {}", mm.step, mm.fingerprint),
        );
        *verdicts.entry(v).or_default() += 1;
    }
    count_cases(u64::from(RUNS));
    assert_eq!(
        verdicts,
        [("agree".to_string(), RUNS)].into_iter().collect(),
        "{name}: verdicts over {RUNS} runs"
    );
}

fn wait_for(t: TaskId) -> OpKind {
    OpKind::Wait {
        target: WaitTarget::Task(t),
        options: WaitOptions::default(),
    }
}

fn open(file: FileName) -> OpKind {
    OpKind::Open {
        file,
        flags: OpenFlags {
            access: Access::RdWr,
            creat: true,
            excl: false,
            trunc: false,
            append: false,
            cloexec: false,
            nonblock: false,
        },
    }
}

fn flock(fd: Fd, op: FlockOp) -> OpKind {
    OpKind::Flock {
        fd,
        op,
        nonblock: false,
    }
}

fn pipe() -> OpKind {
    OpKind::Pipe2 {
        cloexec: false,
        nonblock: false,
    }
}

// covers: fork.wait
#[test]
fn a_wait_woken_by_its_childs_exit() {
    let ops = vec![
        op(0, OpKind::Fork),
        op(
            1,
            OpKind::MemWrite {
                region: Region::AnonPrivate,
                page: 0,
                byte: 7,
            },
        ),
        op(0, wait_for(1)),
        op(
            1,
            OpKind::Exit {
                code: 3,
                thread: false,
            },
        ),
        op(0, OpKind::Fork),
    ];
    same_verdict_every_time("wait/exit", ops, 0, 2, 3);
}

// covers: fork.wait
#[test]
fn a_wait_woken_by_a_kill_of_its_child() {
    let ops = vec![
        op(0, OpKind::Fork),
        op(0, OpKind::Fork),
        op(0, wait_for(1)),
        op(
            2,
            OpKind::Kill {
                target: 1,
                sig: Signal::SIGTERM,
            },
        ),
        op(
            2,
            OpKind::Exit {
                code: 0,
                thread: false,
            },
        ),
    ];
    same_verdict_every_time("wait/kill", ops, 0, 2, 3);
}

/// The init of a new pid namespace that shares its sighand_struct with its parent sets
/// SIGCHLD to SIG_IGN in it when it exits (zap_pid_ns_processes), so its own exit releases
/// it at once: the parent's wait wakes and finds no child (ECHILD), as it does when the
/// parent ignores SIGCHLD itself. Found by 100,000 generated cases (seeds 1401 and 1405).
// covers: fork.wait
#[test]
fn a_wait_ends_with_echild_when_a_namespace_init_child_reaps_itself() {
    let clone: OpKind = serde_json::from_value(serde_json::json!({
        "kind": "clone", "entry": "clone", "flags": ["vm", "sighand", "newpid"],
        "exit_signal": 17,
        "args": {"size": 88, "tail_nonzero": false, "stack": true, "stack_size": true,
                 "set_tid": "none", "cgroup_big": false}
    }))
    .expect("clone op");
    let ignored = vec![
        op(
            0,
            OpKind::Sigaction {
                sig: Signal::SIGCHLD,
                action: SigAction::Ignore,
                flags: Default::default(),
            },
        ),
        op(0, OpKind::Fork),
        op(0, wait_for(1)),
        op(
            1,
            OpKind::Exit {
                code: 3,
                thread: false,
            },
        ),
    ];
    same_verdict_every_time("wait/sigchld-ignored-exit", ignored, 0, 2, 3);
    let profile = lab().hello.profile.clone();
    if !profile.cap_sys_admin {
        eprintln!(
            "skipped the pid namespace form: CLONE_NEWPID needs CAP_SYS_ADMIN ({})",
            profile.describe()
        );
        return;
    }
    let ops = vec![
        op(0, clone),
        op(0, wait_for(1)),
        op(
            1,
            OpKind::Exit {
                code: 0,
                thread: false,
            },
        ),
    ];
    same_verdict_every_time("wait/newpid-init-exit", ops, 0, 1, 2);
}

// covers: fd.pipe-eof
#[test]
fn a_pipe_read_woken_by_a_write_then_by_the_last_writers_close() {
    let ops = vec![
        op(0, pipe()),
        op(0, OpKind::Fork),
        op(0, OpKind::Close { fd: 1 }),
        op(0, OpKind::Read { fd: 0, len: 8 }),
        op(
            1,
            OpKind::Write {
                fd: 1,
                data: b"abc".to_vec(),
            },
        ),
        op(0, OpKind::Read { fd: 0, len: 8 }),
        op(1, OpKind::Close { fd: 1 }),
        op(0, OpKind::Read { fd: 0, len: 8 }),
    ];
    same_verdict_every_time("pipe/write", ops.clone(), 0, 3, 4);
    same_verdict_every_time("pipe/close", ops, 0, 5, 6);
}

/// A call asleep on an fd holds its description: a close of that fd by another task of the
/// same fd table (CLONE_FILES) does not wake a pipe read or a flock, which go on waiting for
/// a write or the unlock (close(2), "Multithreaded processes and close()").
// covers: locks.follow-description
#[test]
fn a_call_asleep_on_an_fd_sleeps_through_another_tasks_close_of_it() {
    let ops = vec![
        op(0, pipe()),
        legacy_clone(0, CloneFlags::FILES, 17),
        op(1, OpKind::Read { fd: 0, len: 3 }),
        op(0, OpKind::Close { fd: 0 }),
        op(
            0,
            OpKind::Write {
                fd: 1,
                data: b"hi".to_vec(),
            },
        ),
    ];
    same_verdict_every_time("pipe/close-by-other", ops, 1, 2, 4);
    let ops = vec![
        op(0, OpKind::Fork),
        op(0, open(FileName::A)),
        op(1, open(FileName::A)),
        legacy_clone(1, CloneFlags::FILES, 17),
        op(0, flock(0, FlockOp::Ex)),
        op(1, flock(0, FlockOp::Ex)),
        op(2, OpKind::Close { fd: 0 }),
        op(0, flock(0, FlockOp::Un)),
    ];
    same_verdict_every_time("flock/close-by-other", ops, 1, 5, 7);
}

// covers: locks.follow-description
#[test]
fn a_flock_waiter_woken_by_the_unlock_and_by_the_close() {
    let ops = vec![
        op(0, OpKind::Fork),
        op(0, open(FileName::A)),
        op(1, open(FileName::A)),
        op(0, flock(0, FlockOp::Ex)),
        op(1, flock(0, FlockOp::Sh)),
        op(0, flock(0, FlockOp::Un)),
        op(0, flock(0, FlockOp::Sh)),
        op(0, flock(0, FlockOp::Ex)),
        op(1, OpKind::Close { fd: 0 }),
    ];
    // t1's shared lock waits for t0's exclusive one, and gets it at the unlock; t0's
    // conversion to exclusive then waits for t1's shared lock, and gets it at t1's close.
    same_verdict_every_time("flock/unlock", ops.clone(), 1, 4, 5);
    same_verdict_every_time("flock/close", ops, 0, 7, 8);
}

/// A flock waiter sleeps until the lock it is blocked on goes: a shared lock taken through
/// its own description meanwhile stays (found by 100,000 generated cases, seed 1405), and a
/// failed conversion of the blocking lock, which drops it first, wakes the waiter, whose
/// retry converts its description's lock and gets it.
/// A __WCLONE wait for a child whose exec makes it a SIGCHLD child (de_thread resets the
/// exit signal) is not woken by the exec, which notifies no parent: it sleeps on until the
/// child's exit wakes it, and then finds no eligible child (ECHILD). Found by 100,000
/// generated cases (seed 1603).
// covers: fork.wait
#[test]
fn a_clone_wait_sleeps_through_the_childs_exec_and_ends_at_its_exit() {
    let clone: OpKind = serde_json::from_value(serde_json::json!({
        "kind": "clone", "entry": "clone", "flags": [], "exit_signal": 0,
        "args": {"size": 88, "tail_nonzero": false, "stack": true, "stack_size": true,
                 "set_tid": "none", "cgroup_big": false}
    }))
    .expect("clone op");
    let wclone = OpKind::Wait {
        target: WaitTarget::Task(1),
        options: WaitOptions {
            clone: true,
            ..WaitOptions::default()
        },
    };
    let ops = vec![
        op(0, clone),
        op(0, wclone),
        op(1, OpKind::Exec),
        op(
            1,
            OpKind::Exit {
                code: 0,
                thread: false,
            },
        ),
    ];
    same_verdict_every_time("wait/wclone-exec", ops, 0, 1, 3);
}

// covers: locks.follow-description
#[test]
fn a_flock_waiter_sleeps_until_the_lock_it_is_blocked_on_goes() {
    let nb = |fd, op| OpKind::Flock {
        fd,
        op,
        nonblock: true,
    };
    let ops = vec![
        op(0, open(FileName::A)),
        op(0, open(FileName::A)),
        op(0, OpKind::Fork),
        op(0, nb(1, FlockOp::Sh)),
        op(1, flock(0, FlockOp::Ex)),
        op(0, nb(0, FlockOp::Sh)),
        op(0, nb(1, FlockOp::Ex)),
    ];
    same_verdict_every_time("flock/blocker", ops, 1, 4, 6);
}

// covers: clone.vfork
#[test]
fn a_vfork_parent_resumed_by_its_childs_exec_and_exit() {
    let ops = vec![
        op(0, OpKind::Vfork),
        op(1, OpKind::Exec),
        op(1, OpKind::Vfork),
        op(
            2,
            OpKind::Exit {
                code: 1,
                thread: false,
            },
        ),
    ];
    same_verdict_every_time("vfork/exec", ops.clone(), 0, 0, 1);
    same_verdict_every_time("vfork/exit", ops, 1, 2, 3);
}

/// With /proc/PID/syscall a slow op is never "blocked", whatever the deadline: with a 1 ms
/// deadline (below the floor the harness would raise it to) a chain of execs (each takes
/// milliseconds) still answers, and a wait for a live child is still found blocked. The
/// deadline only scales the hang guard here.
#[test]
fn a_tiny_deadline_never_makes_a_slow_op_blocked() {
    let dir = std::env::temp_dir().join(format!("forkspec-wakeups-tiny-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    {
        let exe = std::path::Path::new(env!("CARGO_BIN_EXE_forkspec"));
        let mut b = forkspec::backend::ProcessBackend::lab_in(exe, &[], &dir).unwrap();
        b.op_deadline = std::time::Duration::from_millis(1);
        use forkspec::backend::Backend;
        b.hello().unwrap();
        b.setup(&CaseConfig::default()).unwrap();
        b.op(&op(0, OpKind::Fork), false).unwrap();
        for i in 0..5 {
            let (out, _) = b.op(&op(1, OpKind::Exec), false).unwrap();
            assert_eq!(out, Outcome::Ret(0), "exec {i}");
            let (out, _) = b.op(&op(0, OpKind::Fork), false).unwrap();
            assert!(matches!(out, Outcome::Child(_)), "fork {i}: {out:?}");
        }
        let (out, _) = b.op(&op(0, wait_for(1)), false).unwrap();
        assert_eq!(out, Outcome::Blocked);
        let (out, snap) = b
            .op(
                &op(
                    1,
                    OpKind::Exit {
                        code: 2,
                        thread: false,
                    },
                ),
                true,
            )
            .unwrap();
        assert_eq!(out, Outcome::Exited);
        let snap = snap.unwrap();
        assert_eq!(snap.task(0).map(|t| t.state), Some(TaskState::Live));
        assert!(snap.task(1).is_none(), "t1 reaped by the woken wait");
        b.end().unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
