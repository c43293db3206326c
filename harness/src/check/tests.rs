//! The check engine's tests: the same report for any number of workers, errors, panics,
//! and the shrinking saved for fingerprints a lower case shows.

use super::workers::{CaseResult, Merge, Shared};
use super::*;
use crate::backend::BackendError;
use crate::gen::GenConfig;
use crate::report::FlakyPolicy;
use crate::run::SnapshotMode;
use forkspec_model::protocol::{Hello, PROTOCOL_VERSION};
use forkspec_model::{Capabilities, CaseConfig, Model, Op, OpKind, Outcome, Region, Snapshot};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;

/// How the test simulator goes wrong.
#[derive(Clone, Copy)]
enum Flaw {
    /// Two deterministic bugs (`dup` returns one more, loads of odd `file_shared` pages
    /// have their top bit flipped) and a refused `close(4)`.
    Buggy,
    /// Refuses every case.
    Broken,
    /// Refuses about half of the cases (decided by their first op).
    Flaky,
    /// Panics on the first op of every case.
    Panics,
    /// The model, except that the first op of one run in N (the 1st, the N+1st, ...)
    /// returns a wrong value.
    WrongOnceIn(u32),
}

/// The model with deliberate flaws, counting how many instances are alive.
struct Sim {
    model: Option<Model>,
    /// Cases set up so far.
    runs: u32,
    first_op: bool,
    flaw: Flaw,
    live: &'static AtomicUsize,
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Backend for Sim {
    fn hello(&mut self) -> BResult<Hello> {
        Ok(Hello {
            protocol: PROTOCOL_VERSION,
            implementation: "flawed-model".into(),
            profile: Profile::default(),
            capabilities: Capabilities::ALL,
            ops: None,
            speed: None,
            exec_route: None,
            blocked_by_deadline: None,
        })
    }
    fn setup(&mut self, config: &CaseConfig) -> BResult<()> {
        if let Flaw::Broken = self.flaw {
            return Err(BackendError::Refused("setup: broken on purpose".into()));
        }
        self.model = Some(Model::new(*config, &Profile::default()));
        self.first_op = true;
        self.runs += 1;
        Ok(())
    }
    fn op(&mut self, op: &Op, snapshot: bool) -> BResult<(Outcome, Option<Snapshot>)> {
        if let Flaw::Panics = self.flaw {
            panic!("the test simulator panics on purpose");
        }
        let first = std::mem::take(&mut self.first_op);
        if let (Flaw::WrongOnceIn(n), true) = (self.flaw, first) {
            if self.runs % n == 1 {
                self.model.as_mut().expect("setup first").step(op, None);
                return Ok((Outcome::Ret(-12345), None));
            }
        }
        if first && matches!(self.flaw, Flaw::Flaky) {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            op.hash(&mut h);
            if h.finish() & 1 == 0 {
                return Err(BackendError::Died("flaky on purpose".into()));
            }
        }
        if let Flaw::WrongOnceIn(_) = self.flaw {
            let m = self.model.as_mut().expect("setup first");
            let outcome = m.step(op, None).taken;
            return Ok((outcome, snapshot.then(|| m.snapshot())));
        }
        if let OpKind::Close { fd: 4 } = op.kind {
            return Err(BackendError::Refused("close(4) refused on purpose".into()));
        }
        let m = self.model.as_mut().expect("setup first");
        let mut outcome = m.step(op, None).taken;
        match (&op.kind, &mut outcome) {
            (OpKind::Dup { .. }, Outcome::Ret(fd)) => *fd += 1,
            (
                OpKind::MemRead {
                    region: Region::FileShared,
                    page,
                },
                Outcome::Data(d),
            ) if page % 2 == 1 => d[0] ^= 0x80,
            _ => {}
        }
        Ok((outcome, snapshot.then(|| m.snapshot())))
    }
    fn snapshot(&mut self) -> BResult<Snapshot> {
        Ok(self.model.as_ref().expect("setup first").snapshot())
    }
    fn end(&mut self) -> BResult<()> {
        self.model = None;
        Ok(())
    }
}

fn connector(
    flaw: Flaw,
    live: &'static AtomicUsize,
) -> impl Fn() -> BResult<Box<dyn Backend>> + Sync {
    move || {
        live.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(Sim {
            model: None,
            runs: 0,
            first_op: false,
            flaw,
            live,
        }) as Box<dyn Backend>)
    }
}

fn config(cases: u64, out_dir: &Path) -> CheckConfig {
    CheckConfig {
        cases,
        seed: 12,
        gen: GenConfig::default(),
        opts: RunOptions {
            snapshots: SnapshotMode::End,
            levels: Default::default(),
            caps: Capabilities::ALL,
        },
        out_dir: out_dir.to_path_buf(),
        shrink: true,
        replays: 3,
    }
}

/// Runs a check with `jobs` workers; returns the report as JSON without its timing
/// fields, the cases `progress` saw, and the error.
fn run(
    flaw: Flaw,
    live: &'static AtomicUsize,
    jobs: usize,
    cases: u64,
) -> (serde_json::Value, Vec<u64>, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(cases, dir.path());
    let mut report = Report::default();
    let mut seen = Vec::new();
    let conn = connector(flaw, live);
    let result = check_parallel(
        &conn,
        jobs,
        &Profile::default(),
        &cfg,
        &mut report,
        &mut |done, _| seen.push(done),
    );
    assert_eq!(live.load(Ordering::SeqCst), 0, "every backend dropped");
    for d in &mut report.divergences {
        let file = d.case_file.take().expect("case file saved");
        let name = Path::new(&file).file_name().unwrap().to_owned();
        assert!(Path::new(&file).is_file());
        d.case_file = Some(name.to_string_lossy().into_owned());
        d.replay = None;
    }
    // A failed case is saved for replay; its path names this run's directory.
    for e in &mut report.errors {
        if let Some((head, file)) = e.split_once(" (case file: ") {
            let file = file.trim_end_matches(')');
            assert!(Path::new(file).is_file(), "{e}");
            let name = Path::new(file).file_name().unwrap().to_string_lossy();
            assert!(name.starts_with("error-case-"), "{e}");
            *e = format!("{head} (case file: {name})");
        } else {
            panic!("a failed case is saved: {e}");
        }
    }
    let mut v = serde_json::to_value(&report).unwrap();
    v["seconds"] = 0.into();
    v["cases_per_s"] = 0.into();
    (v, seen, result.err().map(|e| e.to_string()))
}

#[test]
fn any_number_of_workers_gives_the_same_report() {
    static LIVE: AtomicUsize = AtomicUsize::new(0);
    let (one, seen, err) = run(Flaw::Buggy, &LIVE, 1, 300);
    assert_eq!(err, None);
    assert_eq!(seen, (1..=300).collect::<Vec<_>>());
    let divs = one["divergences"].as_array().unwrap();
    assert!(divs.len() >= 2, "{one:#}");
    assert!(divs.iter().any(|d| d["count"].as_u64().unwrap() > 1));
    assert!(!one["errors"].as_array().unwrap().is_empty(), "{one:#}");
    for jobs in [2, 3, 8] {
        let (many, seen_many, err) = run(Flaw::Buggy, &LIVE, jobs, 300);
        assert_eq!(err, None);
        assert_eq!(seen_many, seen, "{jobs} jobs: progress in case order");
        assert_eq!(many, one, "{jobs} jobs");
    }
}

#[test]
fn a_backend_failing_every_case_stops_the_run_as_with_one_worker() {
    static LIVE: AtomicUsize = AtomicUsize::new(0);
    for jobs in [1, 2, 4] {
        let (r, seen, err) = run(Flaw::Broken, &LIVE, jobs, 100);
        let err = err.expect("the run stops with the backend's error");
        assert!(err.contains("broken on purpose"), "{err}");
        // As with one worker: the run stops at the third failed case in a row, and
        // what other workers ran beyond it is left out.
        let errors = r["errors"].as_array().unwrap();
        assert_eq!(
            r["cases"],
            u64::from(MAX_ERRORS_IN_A_ROW),
            "{jobs} jobs: {r:#}"
        );
        assert_eq!(errors.len() as u32, MAX_ERRORS_IN_A_ROW);
        for (i, e) in errors.iter().enumerate() {
            assert!(
                e.as_str().unwrap().starts_with(&format!("case {i} ")),
                "{e}"
            );
        }
        assert_eq!(
            seen,
            (1..=u64::from(MAX_ERRORS_IN_A_ROW)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn scattered_errors_stop_the_run_where_one_worker_would() {
    static LIVE: AtomicUsize = AtomicUsize::new(0);
    let (one, _, err) = run(Flaw::Flaky, &LIVE, 1, 200);
    assert!(one["errors"].as_array().unwrap().len() >= 3, "{one:#}");
    // Half the cases fail, so three in a row come early: the run stops there.
    assert!(
        err.is_some() && one["cases"].as_u64().unwrap() < 200,
        "{one:#}"
    );
    for jobs in [2, 3, 8] {
        let (many, _, err_many) = run(Flaw::Flaky, &LIVE, jobs, 200);
        assert_eq!(err_many, err, "{jobs} jobs");
        assert_eq!(many, one, "{jobs} jobs");
    }
}

#[test]
fn a_panicking_worker_stops_the_run_and_leaves_no_backend() {
    static LIVE: AtomicUsize = AtomicUsize::new(0);
    let r = std::panic::catch_unwind(|| run(Flaw::Panics, &LIVE, 2, 50));
    assert!(r.is_err(), "the panic reaches the caller");
    assert_eq!(LIVE.load(Ordering::SeqCst), 0);
}

#[test]
fn shrinking_stops_when_a_preferred_case_shows_the_fingerprint() {
    static LIVE: AtomicUsize = AtomicUsize::new(0);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(300, dir.path());
    let profile = Profile::default();
    let mut backend = connector(Flaw::Buggy, &LIVE)().unwrap();
    let mut shrunk = 0;
    for i in 0..cfg.cases {
        let case = case_for_seed(case_seed(cfg.seed, i), &cfg.gen, &profile);
        let mut examine = |seen: &dyn Fn(&str) -> bool| {
            examine_once_per_fingerprint(
                backend.as_mut(),
                &case,
                &profile,
                &cfg.opts,
                true,
                cfg.replays,
                seen,
            )
        };
        let Ok(Some(Found {
            case: min,
            mismatch: m,
            ..
        })) = examine(&|_| false)
        else {
            continue;
        };
        if min.ops.len() == case.ops.len() {
            continue;
        }
        shrunk += 1;
        // Known after the first question: the case comes back whole, with the mismatch
        // as located before shrinking.
        let asked = std::cell::Cell::new(0);
        let later = |_: &str| {
            asked.set(asked.get() + 1);
            asked.get() > 1
        };
        let f = examine(&later).unwrap().unwrap();
        assert_eq!(f.case.ops, case.ops);
        assert_eq!(f.mismatch.fingerprint, m.fingerprint);
        assert!(!f.confirmation.minimal, "an unshrunk case is not minimal");
        assert_eq!(asked.get(), 2, "no question after giving up");
    }
    assert!(shrunk > 0, "some divergence was shrinkable");
}

#[test]
fn a_panic_while_merging_stops_the_workers() {
    static LIVE: AtomicUsize = AtomicUsize::new(0);
    let dir = tempfile::tempdir().unwrap();
    // More cases than could ever run: the check returns only if the workers stop.
    let cfg = config(u64::MAX / 2, dir.path());
    // On a thread of its own, so that a regression (workers that never stop) fails this
    // test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(|| {
            let mut report = Report::default();
            let _ = check_parallel(
                &connector(Flaw::Buggy, &LIVE),
                2,
                &Profile::default(),
                &cfg,
                &mut report,
                &mut |done, _| assert!(done < 5, "the progress callback fails on purpose"),
            );
        });
        let _ = tx.send(r.is_err());
        drop(dir);
    });
    let panicked = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("check_parallel returns after a panic while merging");
    assert!(panicked, "the panic reaches the caller");
    assert_eq!(LIVE.load(Ordering::SeqCst), 0, "every backend dropped");
}

#[test]
fn the_lowest_case_of_a_fingerprint_is_shrunk_and_kept_whatever_the_order() {
    let shared = Shared::default();
    assert!(!shared.lower_case_shows("fp", 9));
    assert!(shared.lower_case_shows("fp", 12), "9 < 12 is known");
    // A lower case found later must still be shrunk: it is the one the report keeps.
    assert!(!shared.lower_case_shows("fp", 4));
    assert!(shared.lower_case_shows("fp", 9));
    assert!(!shared.lower_case_shows("other", 12));

    // Results arriving out of order are folded in case order: the divergence kept is
    // case 1's, which arrived after case 2's.
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(3, dir.path());
    let mismatch = |expected: &str| Mismatch {
        step: 0,
        kind: crate::run::MismatchKind::Outcome,
        level: forkspec_model::Level::Semantic,
        expected: expected.into(),
        actual: "x".into(),
        diffs: vec![],
        fingerprint: "fp".into(),
        cause: "a cause".into(),
    };
    let case = case_for_seed(1, &cfg.gen, &Profile::default());
    let result = |index: u64, expected: &str| CaseResult {
        index,
        seed: index,
        ops: 1,
        found: Ok(Some(Found {
            case: case.clone(),
            mismatch: mismatch(expected),
            confirmation: Confirmation {
                reproduced: 3,
                replays: 3,
                minimal: false,
            },
        })),
        failed_case: None,
    };
    let mut report = Report::default();
    let mut calls = Vec::new();
    let mut progress = |done: u64, r: &Report| calls.push((done, r.divergences.len()));
    let shared = Shared::default();
    let mut merge = Merge::new(&cfg, &shared, &mut report, &mut progress);
    merge.accept(result(2, "from case 2"));
    merge.accept(CaseResult {
        index: 0,
        seed: 0,
        ops: 5,
        found: Ok(None),
        failed_case: None,
    });
    merge.accept(result(1, "from case 1"));
    merge.finish();
    assert_eq!(calls, vec![(1, 0), (2, 1), (3, 1)]);
    assert_eq!(report.cases, 3);
    assert_eq!(report.ops, 7);
    assert_eq!(report.divergences.len(), 1);
    assert_eq!(report.divergences[0].expected, "from case 1");
    assert_eq!(report.divergences[0].seed, Some(1));
    assert_eq!(report.divergences[0].count, 2);
}

#[test]
fn a_divergence_that_does_not_reproduce_is_flaky_and_never_minimal() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(20, dir.path());
    let profile = Profile::default();
    static LIVE_FLAKY: AtomicUsize = AtomicUsize::new(0);
    let run = |policy: FlakyPolicy| {
        let connect = connector(Flaw::WrongOnceIn(7), &LIVE_FLAKY);
        let mut report = Report {
            flaky_policy: policy,
            ..Report::default()
        };
        check(
            &mut || connect(),
            &profile,
            &cfg,
            &mut report,
            &mut |_, _| {},
        )
        .unwrap();
        report
    };
    let report = run(FlakyPolicy::Warn);
    // Case 0 runs first (unlucky), then its three replays; the next unlucky run is a case.
    assert!(!report.divergences.is_empty());
    for d in &report.divergences {
        assert!(d.flaky, "{d:?}");
        assert_eq!((d.reproduced, d.replays), (Some(0), Some(3)));
        assert!(!d.minimal);
        let text = d.render();
        assert!(text.starts_with("FLAKY DIVERGENCE"), "{text}");
        assert!(text.contains("reproduced 0 of 3 replays: flaky"), "{text}");
        assert!(!text.contains("minimal sequence"), "{text}");
    }
    // Not shrunk: the whole generated case is reported.
    let d = &report.divergences[0];
    let case = case_for_seed(d.seed.unwrap(), &cfg.gen, &profile);
    assert_eq!(d.ops, case.ops);
    assert_eq!(report.exit_code(), 0, "--flaky warn does not fail the run");
    let junit = crate::junit::render(&report);
    assert!(junit.contains("failures=\"0\""), "{junit}");
    assert!(
        junit.contains("flaky divergence (reproduced 0 of 3)"),
        "{junit}"
    );
    let md = crate::markdown::render(&report);
    assert!(md.contains("| flaky (reproduced 0 of 3) |"), "{md}");
    assert!(!md.contains("minimal sequence"), "{md}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["flaky_policy"], "warn");
    assert_eq!(json["divergences"][0]["flaky"], true);
    assert_eq!(json["divergences"][0]["reproduced"], 0);
    assert_eq!(json["divergences"][0]["replays"], 3);

    let report = run(FlakyPolicy::Fail);
    assert_eq!(report.exit_code(), 1, "--flaky fail fails the run");
    let junit = crate::junit::render(&report);
    assert!(
        junit.contains("message=\"flaky (reproduced 0 of 3)"),
        "{junit}"
    );
}

#[test]
fn a_deterministic_divergence_reproduces_every_time_and_is_minimal() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(60, dir.path());
    let profile = Profile::default();
    static LIVE: AtomicUsize = AtomicUsize::new(0);
    let connect = connector(Flaw::Buggy, &LIVE);
    let mut report = Report::default();
    // Buggy refuses close(4): some cases are errors, which is not what this test looks at.
    let _ = check(
        &mut || connect(),
        &profile,
        &cfg,
        &mut report,
        &mut |_, _| {},
    );
    assert!(!report.divergences.is_empty());
    for d in &report.divergences {
        assert!(!d.flaky, "{d:?}");
        assert_eq!((d.reproduced, d.replays), (Some(3), Some(3)));
        assert!(d.minimal, "{d:?}");
        let text = d.render();
        assert!(text.contains("reproduced 3 of 3 replays\n"), "{text}");
        assert!(text.contains("minimal sequence"), "{text}");
    }
}
