//! The check engine: generated cases on the model and a backend, each divergence located,
//! shrunk to a minimal sequence, saved as a case file and deduplicated by fingerprint.

use crate::backend::{BResult, Backend, BackendError};
use crate::gen::{generate, GenConfig, SeededChoices};
use crate::report::{Divergence, Report};
use crate::run::{run_case, Mismatch, RunOptions, SnapshotMode};
use crate::shrink::minimize;
use forkspec_model::{Case, Profile};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// Settings of a check run.
#[derive(Clone, Debug)]
pub struct CheckConfig {
    /// Number of generated cases.
    pub cases: u64,
    /// Run seed; case `i` uses [`case_seed`]`(seed, i)`.
    pub seed: u64,
    /// Generation limits.
    pub gen: GenConfig,
    /// Comparison options.
    pub opts: RunOptions,
    /// Where diverging cases are saved.
    pub out_dir: PathBuf,
    /// Shrink divergences to minimal sequences.
    pub shrink: bool,
}

/// The seed of case `i` of a run with seed `seed`.
pub fn case_seed(seed: u64, i: u64) -> u64 {
    let mut c = SeededChoices::new(seed ^ i.wrapping_mul(0xA076_1D64_78BD_642F));
    (u64::from(crate::gen::Choices::below(&mut c, u32::MAX)) << 32)
        | u64::from(crate::gen::Choices::below(&mut c, u32::MAX))
}

/// The case a seed generates.
pub fn case_for_seed(seed: u64, gen: &GenConfig, profile: &Profile) -> Case {
    generate(&mut SeededChoices::new(seed), gen, profile)
}

/// A case file: the case plus where it came from. Unknown fields are ignored when reading, so
/// a plain `{"config":..,"ops":[..]}` is a case file too.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
pub struct CaseFile {
    /// The case.
    #[serde(flatten)]
    pub case: Case,
    /// The generating seed, when generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Fingerprint of the divergence it shows, when saved for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl CaseFile {
    /// Reads and validates a case file, naming the problem on failure.
    pub fn load(path: &Path) -> anyhow::Result<CaseFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read case file {}: {e}", path.display()))?;
        let cf: CaseFile = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}:{}: not a case file: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        if cf.case.config.pages == 0 || cf.case.config.pages > forkspec_model::MAX_PAGES {
            anyhow::bail!(
                "{}: config.pages must be in 1..={}, got {}",
                path.display(),
                forkspec_model::MAX_PAGES,
                cf.case.config.pages
            );
        }
        Ok(cf)
    }
}

/// Runs `case` and, if it diverges, finds the first differing step (rerunning with per-step
/// snapshots when needed) and, when `shrink`, a minimal case with the same fingerprint.
pub fn examine(
    backend: &mut dyn Backend,
    case: &Case,
    profile: &Profile,
    opts: &RunOptions,
    shrink: bool,
) -> BResult<Option<(Case, Mismatch)>> {
    examine_once_per_fingerprint(backend, case, profile, opts, shrink, &|_| false)
}

/// Like [`examine`], but a divergence whose fingerprint `seen` already knows is not shrunk:
/// a run reports one minimal case per fingerprint, the first one found, so shrinking the
/// others would be wasted (shrinking keeps the fingerprint). Their located mismatch is
/// returned with the unshrunk case. `seen` is asked again before each shrinking candidate:
/// when it turns true (a parallel worker found the fingerprint in a case the report prefers),
/// shrinking stops and the case is returned unshrunk too.
pub fn examine_once_per_fingerprint(
    backend: &mut dyn Backend,
    case: &Case,
    profile: &Profile,
    opts: &RunOptions,
    shrink: bool,
    seen: &dyn Fn(&str) -> bool,
) -> BResult<Option<(Case, Mismatch)>> {
    let run = run_case(backend, case, profile, opts)?;
    let Some(first) = run.mismatch else {
        return Ok(None);
    };
    let step_opts = RunOptions {
        snapshots: SnapshotMode::Step,
        ..*opts
    };
    let mut located = if opts.snapshots == SnapshotMode::Step {
        first
    } else {
        match run_case(backend, case, profile, &step_opts)?.mismatch {
            Some(m) => m,
            None => first,
        }
    };
    let mut case = case.clone();
    if shrink && !seen(&located.fingerprint) {
        let fp = located.fingerprint.clone();
        // A candidate the backend refuses (an op moved into a task where the lab will not
        // run it, say) does not reproduce the divergence; the divergence itself is never
        // lost to an error while shrinking: the smallest case that reproduced it is kept.
        let mut given_up = false;
        let mut fails = |c: &Case| -> bool {
            if given_up || seen(&fp) {
                given_up = true;
                return false;
            }
            match run_case(backend, c, profile, &step_opts) {
                Ok(r) => r.mismatch.is_some_and(|m| m.fingerprint == fp),
                Err(_) => false,
            }
        };
        let min = minimize(&case, profile, &mut fails);
        if !given_up {
            case = min;
            if let Ok(Some(m)) = run_case(backend, &case, profile, &step_opts).map(|r| r.mismatch) {
                located = m;
            }
        }
    }
    Ok(Some((case, located)))
}

/// A run stops after this many cases in a row (in case order) failed with a backend error.
pub const MAX_ERRORS_IN_A_ROW: u32 = 3;

/// Runs a whole check on one backend, in the calling thread. `connect` (re)starts the backend:
/// after a backend failure the case is reported as an error and the run goes on with a fresh
/// backend. [`check_parallel`] runs the same check on several backends at once and gives the
/// same report.
pub fn check(
    connect: &mut dyn FnMut() -> BResult<Box<dyn Backend>>,
    profile: &Profile,
    cfg: &CheckConfig,
    report: &mut Report,
    progress: &mut dyn FnMut(u64, &Report),
) -> BResult<()> {
    let shared = Shared::default();
    let mut merge = Merge::new(cfg, &shared, report, progress);
    let worked = work(connect, profile, cfg, &shared, &mut |r| merge.accept(r));
    match merge.finish() {
        Some(e) => Err(e),
        None => worked.map_err(|s| s.error),
    }
}

/// Runs a whole check with `jobs` workers, each with its own backend from `connect` (for the
/// lab: its own lab process, pinned to its own CPU). Cases are handed out in index order;
/// their results are merged in index order, so the report, the case files and the order of
/// `progress` calls are the same for any `jobs` (apart from the timing fields). `jobs <= 1`
/// is [`check`] in the calling thread.
///
/// Errors follow the rule of one worker, in case order: after a backend error the worker
/// that had it restarts its backend, and when [`MAX_ERRORS_IN_A_ROW`] consecutive cases
/// failed the run stops there with the last one's error (results of higher cases that other
/// workers had already run are left out, as one worker would not have run them). A backend
/// that cannot be restarted stops the run too: the other workers finish the case they hold,
/// everything that ran is in the report, and the error is returned. Every worker's backend is
/// dropped (for the lab: killed and reaped) before this returns, also when a worker panics
/// (the panic is then resumed here).
pub fn check_parallel(
    connect: &(dyn Fn() -> BResult<Box<dyn Backend>> + Sync),
    jobs: usize,
    profile: &Profile,
    cfg: &CheckConfig,
    report: &mut Report,
    progress: &mut dyn FnMut(u64, &Report),
) -> BResult<()> {
    if jobs <= 1 {
        return check(&mut || connect(), profile, cfg, report, progress);
    }
    let shared = Shared::default();
    let mut merge = Merge::new(cfg, &shared, report, progress);
    let (stopped, panic) = std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel::<CaseResult>();
        let workers: Vec<_> = (0..jobs)
            .map(|w| {
                let tx = tx.clone();
                let shared = &shared;
                std::thread::Builder::new()
                    .name(format!("forkspec-worker-{w}"))
                    .spawn_scoped(s, move || {
                        // Stops the others when this worker unwinds, so the run ends soon and
                        // every lab is reaped before the panic goes on.
                        let _stop = StopOnDrop(shared);
                        work(&mut || connect(), profile, cfg, shared, &mut |r| {
                            // The receiver lives until every worker is done.
                            let _ = tx.send(r);
                        })
                    })
            })
            .collect();
        drop(tx);
        for r in rx {
            merge.accept(r);
        }
        let mut stopped: Option<Stopped> = None;
        let mut panic = None;
        for w in workers {
            match w.map(|h| h.join()) {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(st))) => {
                    let lower = match &stopped {
                        Some(o) => st.at < o.at,
                        None => true,
                    };
                    if lower {
                        stopped = Some(st);
                    }
                }
                Ok(Err(p)) => panic = Some(p),
                Err(e) => {
                    // A worker thread that could not be started: the others run its share.
                    eprintln!("warning: cannot start a check worker: {e}");
                }
            }
        }
        (stopped, panic)
    });
    let failed = merge.finish();
    if let Some(p) = panic {
        std::panic::resume_unwind(p);
    }
    match (failed, stopped) {
        (Some(e), _) => Err(e),
        (None, Some(st)) => Err(st.error),
        (None, None) => Ok(()),
    }
}

/// What the workers of one run share.
#[derive(Default)]
struct Shared {
    /// The next case index to hand out.
    next: AtomicU64,
    /// Set when the run stops early: workers take no new case.
    stop: AtomicBool,
    /// Every fingerprint located so far, with the lowest case index it was located in.
    located: Mutex<HashMap<String, u64>>,
    /// How many cases (a prefix in case order) are merged into the report.
    merged: Mutex<u64>,
    /// Signalled when `merged` grows or the run stops.
    merged_more: Condvar,
}

impl Shared {
    /// Records that case `i` shows `fp`; true when a lower case is known to show it too, so
    /// case `i` is not the one the report keeps and need not be shrunk.
    fn lower_case_shows(&self, fp: &str, i: u64) -> bool {
        let mut located = self.located.lock().unwrap_or_else(|e| e.into_inner());
        let lowest = located.entry(fp.to_string()).or_insert(i);
        let lower = *lowest < i;
        *lowest = (*lowest).min(i);
        lower
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Stops the run: no worker takes another case, and none keeps waiting.
    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Taken so that a worker between its check of `stop` and its wait sees this.
        let _merged = self.merged.lock().unwrap_or_else(|e| e.into_inner());
        self.merged_more.notify_all();
    }

    fn set_merged(&self, n: u64) {
        *self.merged.lock().unwrap_or_else(|e| e.into_inner()) = n;
        self.merged_more.notify_all();
    }

    /// Waits until cases `0..=i` are merged (or the run stops). Every case up to `i` was
    /// handed out and is run by a worker that is not waiting (a worker waits only after
    /// handing in its own case), so this ends.
    fn wait_merged_through(&self, i: u64) {
        let mut merged = self.merged.lock().unwrap_or_else(|e| e.into_inner());
        while *merged <= i && !self.stopped() {
            merged = self
                .merged_more
                .wait(merged)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Stops the run when dropped while the thread unwinds.
struct StopOnDrop<'a>(&'a Shared);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// One case as a worker ran it.
struct CaseResult {
    index: u64,
    seed: u64,
    ops: u64,
    /// The divergence (the minimal case when it was shrunk), or the backend's error.
    found: BResult<Option<(Case, Mismatch)>>,
}

/// Why a worker stopped the run: the case index it stopped at and the error.
struct Stopped {
    at: u64,
    error: BackendError,
}

/// One worker: takes the next case until there are none or the run stops, runs it on its
/// backend and hands the result to `sink`. Restarts the backend after an error; stops the run
/// when the backend cannot be (re)started.
fn work(
    connect: &mut dyn FnMut() -> BResult<Box<dyn Backend>>,
    profile: &Profile,
    cfg: &CheckConfig,
    shared: &Shared,
    sink: &mut dyn FnMut(CaseResult),
) -> Result<(), Stopped> {
    let stop = |at: u64, error: BackendError| {
        shared.stop();
        Stopped { at, error }
    };
    let mut backend = connect().map_err(|e| stop(shared.next.load(Ordering::SeqCst), e))?;
    let mut failed_in_a_row = 0;
    while !shared.stopped() {
        let i = shared.next.fetch_add(1, Ordering::SeqCst);
        if i >= cfg.cases {
            break;
        }
        let seed = case_seed(cfg.seed, i);
        let case = case_for_seed(seed, &cfg.gen, profile);
        let seen = |fp: &str| shared.lower_case_shows(fp, i);
        let found = examine_once_per_fingerprint(
            backend.as_mut(),
            &case,
            profile,
            &cfg.opts,
            cfg.shrink,
            &seen,
        );
        let failed = found.is_err();
        sink(CaseResult {
            index: i,
            seed,
            ops: case.ops.len() as u64,
            found,
        });
        if !failed {
            failed_in_a_row = 0;
            continue;
        }
        failed_in_a_row += 1;
        if failed_in_a_row >= MAX_ERRORS_IN_A_ROW {
            // Whether the run stops is decided in case order, as with one worker; a backend
            // failing every case does not run ahead of that decision.
            shared.wait_merged_through(i);
            failed_in_a_row = 0;
        }
        if shared.stopped() {
            break;
        }
        backend = connect().map_err(|e| stop(i, e))?;
    }
    Ok(())
}

/// Folds case results into the report in case order, whatever order they come in, and
/// stops the run after [`MAX_ERRORS_IN_A_ROW`] consecutive failed cases.
struct Merge<'a> {
    cfg: &'a CheckConfig,
    shared: &'a Shared,
    report: &'a mut Report,
    progress: &'a mut dyn FnMut(u64, &Report),
    start: Instant,
    /// The next case index to fold in.
    next: u64,
    /// Results of higher cases that came early.
    early: BTreeMap<u64, CaseResult>,
    /// Consecutive failed cases up to `next`.
    failed_in_a_row: u32,
    /// The error the run stopped with.
    failed: Option<BackendError>,
}

impl<'a> Merge<'a> {
    fn new(
        cfg: &'a CheckConfig,
        shared: &'a Shared,
        report: &'a mut Report,
        progress: &'a mut dyn FnMut(u64, &Report),
    ) -> Self {
        Merge {
            cfg,
            shared,
            report,
            progress,
            start: Instant::now(),
            next: 0,
            early: BTreeMap::new(),
            failed_in_a_row: 0,
            failed: None,
        }
    }

    fn accept(&mut self, r: CaseResult) {
        if self.failed.is_some() {
            return;
        }
        self.early.insert(r.index, r);
        while let Some(r) = self.early.remove(&self.next) {
            self.fold(r);
            self.next += 1;
            self.report.cases = self.next;
            self.report.seconds = self.start.elapsed().as_secs_f64();
            self.shared.set_merged(self.next);
            (self.progress)(self.next, self.report);
            if self.failed.is_some() {
                // A backend that fails every case will not recover: stop with its error.
                self.shared.stop();
                self.early.clear();
                return;
            }
        }
    }

    fn fold(&mut self, r: CaseResult) {
        let report = &mut *self.report;
        report.ops += r.ops;
        let found = match r.found {
            Ok(found) => {
                self.failed_in_a_row = 0;
                found
            }
            Err(e) => {
                report
                    .errors
                    .push(format!("case {} (seed {}): {e}", r.index, r.seed));
                self.failed_in_a_row += 1;
                if self.failed_in_a_row >= MAX_ERRORS_IN_A_ROW {
                    self.failed = Some(e);
                }
                return;
            }
        };
        if let Some((min, m)) = found {
            // The first case in index order with a fingerprint is the one kept: it was
            // shrunk, since no lower case could show that fingerprint before it.
            if let Some(d) = report
                .divergences
                .iter_mut()
                .find(|d| d.fingerprint == m.fingerprint)
            {
                d.count += 1;
            } else {
                let file = save_case(&self.cfg.out_dir, &min, r.seed, &m.fingerprint);
                report
                    .divergences
                    .push(Divergence::new(&min, &m, Some(r.seed), file));
            }
        }
    }

    /// Sets the timing fields; returns the error the run stopped with, if it did.
    fn finish(self) -> Option<BackendError> {
        finish(self.report, self.start);
        self.failed
    }
}

fn finish(report: &mut Report, start: Instant) {
    report.seconds = start.elapsed().as_secs_f64();
    report.cases_per_s = if report.seconds > 0.0 {
        report.cases as f64 / report.seconds
    } else {
        0.0
    };
}

/// Saves a diverging case; returns its path, or `None` (with a warning) if it cannot be written.
pub fn save_case(dir: &Path, case: &Case, seed: u64, fingerprint: &str) -> Option<String> {
    let path = dir.join(format!("{fingerprint}.json"));
    let cf = CaseFile {
        case: case.clone(),
        seed: Some(seed),
        fingerprint: Some(fingerprint.to_string()),
    };
    let text = serde_json::to_string_pretty(&cf).expect("case files serialize");
    match std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&path, text + "\n")) {
        Ok(()) => Some(path.display().to_string()),
        Err(e) => {
            eprintln!("warning: cannot save case {}: {e}", path.display());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::GenConfig;
    use crate::run::SnapshotMode;
    use forkspec_model::protocol::{Hello, PROTOCOL_VERSION};
    use forkspec_model::{Capabilities, CaseConfig, Model, Op, OpKind, Outcome, Region, Snapshot};
    use std::sync::atomic::AtomicUsize;

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
    }

    /// The model with deliberate flaws, counting how many instances are alive.
    struct Sim {
        model: Option<Model>,
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
            })
        }
        fn setup(&mut self, config: &CaseConfig) -> BResult<()> {
            if let Flaw::Broken = self.flaw {
                return Err(BackendError::Refused("setup: broken on purpose".into()));
            }
            self.model = Some(Model::new(*config, &Profile::default()));
            self.first_op = true;
            Ok(())
        }
        fn op(&mut self, op: &Op, snapshot: bool) -> BResult<(Outcome, Option<Snapshot>)> {
            if let Flaw::Panics = self.flaw {
                panic!("the test simulator panics on purpose");
            }
            if std::mem::take(&mut self.first_op) && matches!(self.flaw, Flaw::Flaky) {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                op.hash(&mut h);
                if h.finish() & 1 == 0 {
                    return Err(BackendError::Died("flaky on purpose".into()));
                }
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
                first_op: false,
                flaw,
                live,
            }) as Box<dyn Backend>)
        }
    }

    fn config(cases: u64, out_dir: &Path) -> CheckConfig {
        CheckConfig {
            cases,
            seed: 11,
            gen: GenConfig::default(),
            opts: RunOptions {
                snapshots: SnapshotMode::End,
                levels: Default::default(),
                caps: Capabilities::ALL,
            },
            out_dir: out_dir.to_path_buf(),
            shrink: true,
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
                    seen,
                )
            };
            let Ok(Some((min, m))) = examine(&|_| false) else {
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
            let (whole, located) = examine(&later).unwrap().unwrap();
            assert_eq!(whole.ops, case.ops);
            assert_eq!(located.fingerprint, m.fingerprint);
            assert_eq!(asked.get(), 2, "no question after giving up");
        }
        assert!(shrunk > 0, "some divergence was shrinkable");
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
        };
        let case = case_for_seed(1, &cfg.gen, &Profile::default());
        let result = |index: u64, expected: &str| CaseResult {
            index,
            seed: index,
            ops: 1,
            found: Ok(Some((case.clone(), mismatch(expected)))),
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
}
