//! Shared machinery of the suites: one Linux lab per test binary, known cases checked against
//! both the model and the kernel, and property tests over generated sequences.
#![allow(dead_code)]

use forkspec::backend::{Backend, ProcessBackend};
use forkspec::check::{examine, save_case};
use forkspec::gen::{generate, GenConfig, ListChoices, Mix};
use forkspec::pretty::render_model_trace;
use forkspec::report::Divergence;
use forkspec::run::{RunOptions, SnapshotMode};
use forkspec_model::diff::LevelFilter;
use forkspec_model::protocol::Hello;
use forkspec_model::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

/// A lab of the suite's pool (tests run on several threads; a lab runs one case at a time).
pub struct Lab {
    pub backend: ProcessBackend,
    pub hello: Hello,
}

/// The labs of one suite binary: idle ones, and how many were started. Tests run on one
/// thread per CPU by default, so the pool grows to as many labs as tests run at once (at
/// most [`max_labs`]) and the suite's cases spread over every CPU.
struct Pool {
    idle: Vec<Lab>,
    started: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    idle: Vec::new(),
    started: 0,
});
static RETURNED: Condvar = Condvar::new();

/// Real-kernel generated cases this suite binary ran, printed when it exits.
static GENERATED: AtomicU64 = AtomicU64::new(0);
/// Real-kernel cases of other kinds (known cases, matrix cases), printed when it exits.
static OTHER: AtomicU64 = AtomicU64::new(0);

/// Labs per suite binary: `FORKSPEC_LABS`, else one per CPU this process may run on.
pub fn max_labs() -> usize {
    std::env::var("FORKSPEC_LABS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A lab of the pool, started on first use, for the caller alone until the guard drops. When
/// the test binary exits, every lab is shut down and waited for (an atexit hook: statics are
/// never dropped), so no lab process or case directory outlives `cargo test`.
pub fn lab() -> LabGuard {
    // A test that panicked while holding a lab gives it back usable: every case starts afresh.
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(lab) = pool.idle.pop() {
            return LabGuard(Some(lab));
        }
        if pool.started < max_labs() {
            pool.started += 1;
            drop(pool);
            return LabGuard(Some(start_lab()));
        }
        pool = RETURNED.wait(pool).unwrap_or_else(|e| e.into_inner());
    }
}

fn start_lab() -> Lab {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        // SAFETY: registering a plain extern "C" function with no arguments.
        unsafe { libc::atexit(shut_down_labs) };
    });
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_forkspec"));
    let mut backend = ProcessBackend::lab(exe, &[]).expect("start the lab");
    let hello = backend.hello().expect("lab hello");
    Lab { backend, hello }
}

extern "C" fn shut_down_labs() {
    let (labs, started) = {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        (std::mem::take(&mut pool.idle), pool.started)
    };
    drop(labs);
    let generated = GENERATED.load(Ordering::Relaxed);
    if generated + OTHER.load(Ordering::Relaxed) > 0 {
        // After the test harness's output capture: shows in every `cargo test` run.
        eprintln!(
            "forkspec suite {} (seed {}): {generated} generated and {} other real-kernel cases on {started} lab(s)",
            suite_name(),
            // Not seed(): this runs at exit, where a panic (a malformed value) would abort.
            std::env::var("FORKSPEC_SEED").unwrap_or_else(|_| "1".into()),
            OTHER.load(Ordering::Relaxed)
        );
    }
}

fn suite_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| s.rsplit_once('-').map_or(s.clone(), |(a, _)| a.to_string()))
        .unwrap_or_default()
}

/// Counts `n` real-kernel cases that were not generated (known cases, matrix cases).
pub fn count_cases(n: u64) {
    OTHER.fetch_add(n, Ordering::Relaxed);
}

/// A lab taken from the pool; dropping it gives the lab back.
pub struct LabGuard(Option<Lab>);

impl Drop for LabGuard {
    fn drop(&mut self) {
        if let Some(lab) = self.0.take() {
            POOL.lock()
                .unwrap_or_else(|e| e.into_inner())
                .idle
                .push(lab);
            RETURNED.notify_one();
        }
    }
}

impl std::ops::Deref for LabGuard {
    type Target = Lab;
    fn deref(&self) -> &Lab {
        self.0.as_ref().expect("lab held")
    }
}

impl std::ops::DerefMut for LabGuard {
    fn deref_mut(&mut self) -> &mut Lab {
        self.0.as_mut().expect("lab held")
    }
}

pub fn op(task: TaskId, kind: OpKind) -> Op {
    Op { task, kind }
}

pub fn case(ops: Vec<Op>) -> Case {
    Case {
        config: CaseConfig::default(),
        ops,
    }
}

/// Where diverging cases of the suites are saved.
pub fn out_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("forkspec-divergences")
}

fn opts(lab: &Lab, snapshots: SnapshotMode) -> RunOptions {
    RunOptions {
        snapshots,
        levels: LevelFilter::All,
        caps: lab.hello.capabilities,
    }
}

/// The model's view of a known case, step by step.
pub struct ModelRun {
    pub outcomes: Vec<Outcome>,
    pub states: Vec<Snapshot>,
}

impl ModelRun {
    pub fn page(&self, step: usize, task: TaskId, region: Region, page: usize) -> Page {
        let t = self.states[step]
            .task(task)
            .unwrap_or_else(|| panic!("t{task} not in the state after step {step}"));
        t.memory[region.index()].pages[page]
    }
}

/// Checks a known case: the kernel must agree with the model at every step (outcome and
/// state), and the model's trace is pinned by an insta snapshot in snapshots/. Returns the
/// model's trace for the case's own assertions.
pub fn known(name: &str, case: &Case) -> ModelRun {
    let profile;
    {
        let mut lab = lab();
        profile = lab.hello.profile.clone();
        let o = opts(&lab, SnapshotMode::Step);
        count_cases(1);
        let found = examine(&mut lab.backend, case, &profile, &o, false)
            .unwrap_or_else(|e| panic!("{name}: lab failed: {e}"));
        if let Some(f) = found {
            let file = save_case(&out_dir(), &f.case, 0, &format!("known-{name}"));
            panic!(
                "{name}: the kernel disagrees with the model\n{}",
                Divergence::new(&f.case, &f.mismatch, None, file)
                    .confirmed(&f.confirmation)
                    .render()
            );
        }
    }
    let all: Vec<usize> = (0..case.ops.len()).collect();
    let trace = render_model_trace(case, &profile, &all);
    insta::with_settings!({
        snapshot_path => "../../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, trace);
    });
    let mut m = Model::new(case.config, &profile);
    let mut run = ModelRun {
        outcomes: vec![],
        states: vec![],
    };
    for op in &case.ops {
        run.outcomes.push(m.step(op, None).taken);
        run.states.push(m.snapshot());
    }
    run
}

/// Number of generated cases: PROPTEST_CASES, else `default`. A value that is not a number
/// stops the suite, naming the variable (silently running the default would look like a pass).
pub fn cases(default: u32) -> u32 {
    env_number("PROPTEST_CASES").map_or(default, |n| n as u32)
}

/// The suite seed: FORKSPEC_SEED, else 1.
pub fn seed() -> u64 {
    env_number("FORKSPEC_SEED").unwrap_or(1)
}

/// `var` as a number, `None` when unset; panics naming `var` when it is set but malformed.
fn env_number(var: &str) -> Option<u64> {
    let v = std::env::var_os(var)?;
    let parsed = v.to_str().and_then(|s| s.trim().parse::<u64>().ok());
    let limit = if var == "PROPTEST_CASES" {
        u64::from(u32::MAX)
    } else {
        u64::MAX
    };
    match parsed {
        Some(n) if n <= limit => Some(n),
        _ => panic!("{var}={v:?}: expected a whole number in 0..={limit}"),
    }
}

/// The proptest configuration of the suites: a fixed seed (FORKSPEC_SEED overrides it) so a
/// run is reproducible, failures persisted next to the suite, and no proptest shrinking:
/// forkspec's own shrinker minimizes the concrete op sequence, which proptest cannot see.
pub fn proptest_config(default_cases: u32) -> proptest::test_runner::Config {
    config_with(cases(default_cases), seed())
}

/// A suite's generated cases run as [`PARTS`] property tests, so that they spread over the
/// suite's labs (one per CPU) instead of queueing for one.
pub const PARTS: u32 = 2;

/// The configuration of part `part` (0-based) of a suite's `default_cases` generated cases
/// (PROPTEST_CASES overrides the total): its share of the cases, and its own seed (part 0
/// uses the suite seed itself, so it reproduces a run without parts).
pub fn proptest_config_part(default_cases: u32, part: u32) -> proptest::test_runner::Config {
    let total = cases(default_cases);
    let share = total / PARTS + u32::from(part < total % PARTS);
    let seed = seed().wrapping_add(u64::from(part).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    config_with(share, seed)
}

fn config_with(cases: u32, seed: u64) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        max_shrink_iters: 0,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..proptest::test_runner::Config::default()
    }
}

/// Part `part` of a suite's generated property (see [`proptest_config_part`]): its share of
/// the cases, run by proptest's runner on the configuration as given. (The `proptest!` macro
/// would apply PROPTEST_CASES to each part again, running the total once per part.)
pub fn property_part(mix: Mix, default_cases: u32, part: u32, source_file: &'static str) {
    run_part(default_cases, part, source_file, &|choices| {
        property(mix, choices)
    });
}

/// Runs `test` on part `part` of `default_cases` generated choice lists.
pub fn run_part(
    default_cases: u32,
    part: u32,
    source_file: &'static str,
    test: &dyn Fn(&[u32]) -> Result<(), String>,
) {
    use proptest::strategy::Strategy;
    let mut config = proptest_config_part(default_cases, part);
    config.source_file = Some(source_file);
    config.test_name = Some(match part {
        0 => "part 1",
        _ => "part 2",
    });
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let choices = proptest::collection::vec(proptest::arbitrary::any::<u32>(), 0..240);
    let result = runner.run(&choices.boxed(), |choices| {
        test(&choices).map_err(proptest::test_runner::TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// One property-test case: the sequence generated from `choices` for `mix` must run on the
/// kernel exactly as the model predicts. On a divergence the error carries the shrunk minimal
/// sequence, the saved case file and the replay command.
pub fn property(mix: Mix, choices: &[u32]) -> Result<(), String> {
    let mut lab = lab();
    let profile = lab.hello.profile.clone();
    let gen = GenConfig {
        mix,
        ..GenConfig::default()
    };
    let case = generate(&mut ListChoices::new(choices), &gen, &profile);
    let o = opts(&lab, SnapshotMode::End);
    GENERATED.fetch_add(1, Ordering::Relaxed);
    match examine(&mut lab.backend, &case, &profile, &o, true) {
        Err(e) => Err(format!("lab failed: {e}")),
        Ok(None) => Ok(()),
        Ok(Some(f)) => {
            let file = save_case(&out_dir(), &f.case, 0, &f.mismatch.fingerprint);
            Err(format!(
                "model and kernel diverge\n{}",
                Divergence::new(&f.case, &f.mismatch, None, file)
                    .confirmed(&f.confirmation)
                    .render()
            ))
        }
    }
}

/// Runs `case` on the kernel with per-step states and returns the state after the last op
/// (for known cases that look at kernel state directly).
pub fn kernel_state(case: &Case) -> (Vec<Outcome>, Snapshot) {
    let mut lab = lab();
    let caps = lab.hello.capabilities;
    count_cases(1);
    lab.backend.setup(&case.config).expect("setup");
    let mut outs = vec![];
    for op in &case.ops {
        outs.push(lab.backend.op(op, false).expect("op").0);
    }
    let mut s = lab.backend.snapshot().expect("snapshot");
    lab.backend.end().expect("end");
    s.canonicalize();
    s.mask(caps);
    (outs, s)
}

/// `CLONE_VM | CLONE_SIGHAND | CLONE_THREAD`: a thread.
pub const THREAD: forkspec_model::CloneFlags = forkspec_model::CloneFlags(
    forkspec_model::CloneFlags::VM.0
        | forkspec_model::CloneFlags::SIGHAND.0
        | forkspec_model::CloneFlags::THREAD.0,
);

/// The flags glibc's pthread_create passes that the model knows: a thread sharing the
/// address space, fs context, fd table and handlers.
pub const PTHREAD: forkspec_model::CloneFlags = forkspec_model::CloneFlags(
    THREAD.0 | forkspec_model::CloneFlags::FS.0 | forkspec_model::CloneFlags::FILES.0,
);

/// A thread made by `t` as pthread_create makes one ([`PTHREAD`]).
pub fn thread(t: TaskId) -> Op {
    legacy_clone(t, PTHREAD, 0)
}

/// `exit_group(code)` by `t`: its whole process ends.
pub fn exit(t: TaskId, code: i32) -> Op {
    op(
        t,
        OpKind::Exit {
            code,
            thread: false,
        },
    )
}

/// `exit(code)` by `t`: only that thread ends.
pub fn exit_thread(t: TaskId, code: i32) -> Op {
    op(t, OpKind::Exit { code, thread: true })
}

/// A legacy `clone` op by `t` with `flags` and exit signal `sig`.
pub fn legacy_clone(t: TaskId, flags: forkspec_model::CloneFlags, sig: i32) -> Op {
    op(
        t,
        OpKind::Clone(forkspec_model::CloneOp {
            entry: forkspec_model::CloneEntry::Clone,
            flags,
            exit_signal: sig,
            args: Default::default(),
        }),
    )
}

/// Task `t`'s fds as (fd, FD_CLOEXEC) in the model's state after `step`.
pub fn fd_list(m: &ModelRun, step: usize, t: TaskId) -> Vec<(forkspec_model::Fd, bool)> {
    m.states[step]
        .task(t)
        .unwrap_or_else(|| panic!("t{t} missing after step {step}"))
        .fds
        .iter()
        .map(|f| (f.fd, f.cloexec))
        .collect()
}
