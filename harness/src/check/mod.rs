//! The check engine: generated cases on the model and a backend, each divergence located,
//! shrunk to a minimal sequence, saved as a case file and deduplicated by fingerprint.

use crate::backend::{BResult, Backend};
use crate::gen::{generate, GenConfig, SeededChoices};
use crate::report::Report;
use crate::run::{run_case, Mismatch, RunOptions, SnapshotMode};
use crate::shrink::minimize;
use forkspec_model::{Case, Profile};
use std::path::{Path, PathBuf};
use std::time::Instant;

mod workers;

use workers::{work, CaseResult, Merge, Shared, StopOnDrop, Stopped};

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
    /// How many times a divergence is replayed (with per-step snapshots) to confirm it
    /// before it is reported ([`DEFAULT_REPLAYS`]).
    pub replays: u32,
}

/// How many times a divergence is replayed before it is reported, unless told otherwise.
pub const DEFAULT_REPLAYS: u32 = 5;

/// How a divergence held up when its case was replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Confirmation {
    /// Replays (per-step snapshots) that showed the same fingerprint again.
    pub reproduced: u32,
    /// Replays run.
    pub replays: u32,
    /// The reported case was shrunk, and the shrunk case reproduced in every replay too.
    pub minimal: bool,
}

impl Confirmation {
    /// A divergence that did not show in every replay: the verdict depends on more than the
    /// ops (timing, other processes), so it is never shrunk or called minimal.
    pub fn flaky(&self) -> bool {
        self.reproduced < self.replays
    }
}

/// A confirmed (or flaky) divergence: the case to report, the located mismatch and how the
/// replays went.
#[derive(Clone, Debug)]
pub struct Found {
    /// The reported case: shrunk when `confirmation.minimal`, else the one that diverged.
    pub case: Case,
    /// The first differing step and what differed.
    pub mismatch: Mismatch,
    /// How the replays went.
    pub confirmation: Confirmation,
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
                "{}:{}:{}: not a case file: {}",
                path.display(),
                e.line(),
                e.column(),
                // serde quotes the offending value, which may be megabytes long.
                shorten(&e.to_string(), 240)
            )
        })?;
        for (i, op) in cf.case.ops.iter().enumerate() {
            use forkspec_model::{OpKind, MAX_IO};
            let (what, n) = match &op.kind {
                OpKind::Write { data, .. } | OpKind::Pwrite { data, .. } => ("data of", data.len()),
                OpKind::Read { len, .. } | OpKind::Pread { len, .. } => {
                    ("a length of", *len as usize)
                }
                _ => continue,
            };
            if n > MAX_IO as usize {
                anyhow::bail!(
                    "{}: op {i} ({}) has {what} {n} bytes; the limit is {MAX_IO}",
                    path.display(),
                    crate::run::op_kind_name(op)
                );
            }
        }
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

/// `s` cut to about `max` bytes (at a character boundary), saying how long it was.
pub fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes in all)", &s[..end], s.len())
}

/// Runs `case` and, if it diverges, confirms it by [`DEFAULT_REPLAYS`] replays with
/// per-step snapshots (which also find the first differing step) and, when `shrink` and the
/// divergence reproduced every time, shrinks it to a minimal case with the same fingerprint.
pub fn examine(
    backend: &mut dyn Backend,
    case: &Case,
    profile: &Profile,
    opts: &RunOptions,
    shrink: bool,
) -> BResult<Option<Found>> {
    examine_once_per_fingerprint(
        backend,
        case,
        profile,
        opts,
        shrink,
        DEFAULT_REPLAYS,
        &|_| false,
    )
}

/// How many of `replays` runs of `case` (per-step snapshots) show a mismatch with
/// fingerprint `fp` (any mismatch when `None`), and the first such mismatch.
fn replay_count(
    backend: &mut dyn Backend,
    case: &Case,
    profile: &Profile,
    opts: &RunOptions,
    replays: u32,
    fp: Option<&str>,
) -> BResult<(u32, Option<Mismatch>)> {
    let mut first: Option<Mismatch> = None;
    let mut reproduced = 0;
    for _ in 0..replays {
        let Some(m) = run_case(backend, case, profile, opts)?.mismatch else {
            continue;
        };
        let wanted = match (fp, &first) {
            (Some(f), _) => f == m.fingerprint,
            (None, Some(f)) => f.fingerprint == m.fingerprint,
            (None, None) => true,
        };
        if wanted {
            reproduced += 1;
            first.get_or_insert(m);
        }
    }
    Ok((reproduced, first))
}

/// Like [`examine`] with `replays` replays, but a divergence whose fingerprint `seen`
/// already knows is not shrunk: a run reports one minimal case per fingerprint, the first
/// one found, so shrinking the others would be wasted (shrinking keeps the fingerprint).
/// Their located mismatch is returned with the unshrunk case. `seen` is asked again before
/// each shrinking candidate: when it turns true (a parallel worker found the fingerprint in a
/// case the report prefers), shrinking stops and the case is returned unshrunk too.
///
/// A divergence that does not show in every replay is flaky: it is neither shrunk (a
/// shrinker driven by a verdict that changes from run to run keeps whatever happened to
/// diverge, so its result would not be minimal) nor called minimal. A shrunk case is
/// replayed `replays` times as well; one that does not reproduce every time is dropped for
/// the original case.
pub fn examine_once_per_fingerprint(
    backend: &mut dyn Backend,
    case: &Case,
    profile: &Profile,
    opts: &RunOptions,
    shrink: bool,
    replays: u32,
    seen: &dyn Fn(&str) -> bool,
) -> BResult<Option<Found>> {
    let run = run_case(backend, case, profile, opts)?;
    let Some(first) = run.mismatch else {
        return Ok(None);
    };
    let step_opts = RunOptions {
        snapshots: SnapshotMode::Step,
        ..*opts
    };
    let (reproduced, again) = replay_count(backend, case, profile, &step_opts, replays, None)?;
    let mut found = Found {
        case: case.clone(),
        mismatch: again.unwrap_or(first),
        confirmation: Confirmation {
            reproduced,
            replays,
            minimal: false,
        },
    };
    if !shrink || found.confirmation.flaky() || seen(&found.mismatch.fingerprint) {
        return Ok(Some(found));
    }
    let fp = found.mismatch.fingerprint.clone();
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
    let min = minimize(case, profile, &mut fails);
    if given_up {
        return Ok(Some(found));
    }
    if let Ok((k, Some(m))) = replay_count(backend, &min, profile, &step_opts, replays, Some(&fp)) {
        if k == replays {
            found.case = min;
            found.mismatch = m;
            found.confirmation.minimal = true;
        }
    }
    Ok(Some(found))
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
        // A panic while merging (a progress callback writing to a closed stdout, say) stops
        // the workers too, instead of letting them run every remaining case first.
        let _stop = StopOnDrop(&shared);
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

pub(crate) fn finish(report: &mut Report, start: Instant) {
    report.seconds = start.elapsed().as_secs_f64();
    report.cases_per_s = if report.seconds > 0.0 {
        report.cases as f64 / report.seconds
    } else {
        0.0
    };
}

/// Saves a diverging case; returns its path, or `None` (with a warning) if it cannot be written.
pub fn save_case(dir: &Path, case: &Case, seed: u64, fingerprint: &str) -> Option<String> {
    save_case_as(dir, fingerprint, case, seed, Some(fingerprint))
}

/// Saves `case` as `DIR/NAME.json` (a case file, with its fingerprint when it shows a
/// divergence); returns the path, or `None` (with a warning) when it cannot be written.
pub fn save_case_as(
    dir: &Path,
    name: &str,
    case: &Case,
    seed: u64,
    fingerprint: Option<&str>,
) -> Option<String> {
    let path = dir.join(format!("{name}.json"));
    let cf = CaseFile {
        case: case.clone(),
        seed: Some(seed),
        fingerprint: fingerprint.map(str::to_string),
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
mod tests;
