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
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The lab shared by the tests of one suite binary (tests run on several threads; the lab runs
/// one case at a time).
pub struct Lab {
    pub backend: ProcessBackend,
    pub hello: Hello,
}

static LAB: Mutex<Option<Lab>> = Mutex::new(None);

/// The suite's lab, started on first use. When the test binary exits, the lab is shut down
/// and waited for (an atexit hook: statics are never dropped), so no lab process or case
/// directory outlives `cargo test`.
pub fn lab() -> MappedMutexGuard {
    // A test that panicked while holding the lab leaves it usable: every case starts afresh.
    let mut guard = LAB.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        let exe = std::path::Path::new(env!("CARGO_BIN_EXE_forkspec"));
        let mut backend = ProcessBackend::lab(exe, &[]).expect("start the lab");
        let hello = backend.hello().expect("lab hello");
        *guard = Some(Lab { backend, hello });
        static HOOK: OnceLock<()> = OnceLock::new();
        HOOK.get_or_init(|| {
            // SAFETY: registering a plain extern "C" function with no arguments.
            unsafe { libc::atexit(shut_down_lab) };
        });
    }
    MappedMutexGuard(guard)
}

extern "C" fn shut_down_lab() {
    let taken = LAB.lock().unwrap_or_else(|e| e.into_inner()).take();
    drop(taken);
}

/// The locked lab.
pub struct MappedMutexGuard(MutexGuard<'static, Option<Lab>>);

impl std::ops::Deref for MappedMutexGuard {
    type Target = Lab;
    fn deref(&self) -> &Lab {
        self.0.as_ref().expect("lab started")
    }
}

impl std::ops::DerefMut for MappedMutexGuard {
    fn deref_mut(&mut self) -> &mut Lab {
        self.0.as_mut().expect("lab started")
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
        let found = examine(&mut lab.backend, case, &profile, &o, false)
            .unwrap_or_else(|e| panic!("{name}: lab failed: {e}"));
        if let Some((c, m)) = found {
            let file = save_case(&out_dir(), &c, 0, &format!("known-{name}"));
            panic!(
                "{name}: the kernel disagrees with the model\n{}",
                Divergence::new(&c, &m, None, file).render()
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

/// Number of generated cases: PROPTEST_CASES, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The proptest configuration of the suites: a fixed seed (FORKSPEC_SEED overrides it) so a
/// run is reproducible, failures persisted next to the suite, and no proptest shrinking:
/// forkspec's own shrinker minimizes the concrete op sequence, which proptest cannot see.
pub fn proptest_config(default_cases: u32) -> proptest::test_runner::Config {
    let seed = std::env::var("FORKSPEC_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    proptest::test_runner::Config {
        cases: cases(default_cases),
        max_shrink_iters: 0,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..proptest::test_runner::Config::default()
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
    match examine(&mut lab.backend, &case, &profile, &o, true) {
        Err(e) => Err(format!("lab failed: {e}")),
        Ok(None) => Ok(()),
        Ok(Some((min, m))) => {
            let file = save_case(&out_dir(), &min, 0, &m.fingerprint);
            Err(format!(
                "model and kernel diverge\n{}",
                Divergence::new(&min, &m, None, file).render()
            ))
        }
    }
}

/// Runs `case` on the kernel with per-step states and returns the state after the last op
/// (for known cases that look at kernel state directly).
pub fn kernel_state(case: &Case) -> (Vec<Outcome>, Snapshot) {
    let mut lab = lab();
    let caps = lab.hello.capabilities;
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
