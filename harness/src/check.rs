//! The check engine: generated cases on the model and a backend, each divergence located,
//! shrunk to a minimal sequence, saved as a case file and deduplicated by fingerprint.

use crate::backend::{BResult, Backend};
use crate::gen::{generate, GenConfig, SeededChoices};
use crate::report::{Divergence, Report};
use crate::run::{run_case, Mismatch, RunOptions, SnapshotMode};
use crate::shrink::minimize;
use forkspec_model::{Case, Profile};
use std::path::{Path, PathBuf};
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
/// returned with the unshrunk case.
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
        let mut fails = |c: &Case| -> bool {
            match run_case(backend, c, profile, &step_opts) {
                Ok(r) => r.mismatch.is_some_and(|m| m.fingerprint == fp),
                Err(_) => false,
            }
        };
        case = minimize(&case, profile, &mut fails);
        if let Ok(Some(m)) = run_case(backend, &case, profile, &step_opts).map(|r| r.mismatch) {
            located = m;
        }
    }
    Ok(Some((case, located)))
}

/// A run stops after this many cases in a row failed with a backend error.
pub const MAX_ERRORS_IN_A_ROW: u32 = 3;

/// Runs a whole check. `connect` (re)starts the backend: after a backend failure the case is
/// reported as an error and the run goes on with a fresh backend.
pub fn check(
    connect: &mut dyn FnMut() -> BResult<Box<dyn Backend>>,
    profile: &Profile,
    cfg: &CheckConfig,
    report: &mut Report,
    progress: &mut dyn FnMut(u64, &Report),
) -> BResult<()> {
    let mut backend = connect()?;
    let start = Instant::now();
    let mut failed_in_a_row = 0;
    for i in 0..cfg.cases {
        let seed = case_seed(cfg.seed, i);
        let case = case_for_seed(seed, &cfg.gen, profile);
        report.ops += case.ops.len() as u64;
        let found = &report.divergences;
        let seen = |fp: &str| found.iter().any(|d| d.fingerprint == fp);
        match examine_once_per_fingerprint(
            backend.as_mut(),
            &case,
            profile,
            &cfg.opts,
            cfg.shrink,
            &seen,
        ) {
            Ok(None) => failed_in_a_row = 0,
            Ok(Some((min, m))) => {
                failed_in_a_row = 0;
                if let Some(d) = report
                    .divergences
                    .iter_mut()
                    .find(|d| d.fingerprint == m.fingerprint)
                {
                    d.count += 1;
                } else {
                    let file = save_case(&cfg.out_dir, &min, seed, &m.fingerprint);
                    report
                        .divergences
                        .push(Divergence::new(&min, &m, Some(seed), file));
                }
            }
            Err(e) => {
                report.errors.push(format!("case {i} (seed {seed}): {e}"));
                failed_in_a_row += 1;
                report.cases = i + 1;
                if failed_in_a_row >= MAX_ERRORS_IN_A_ROW {
                    // A backend that fails every case will not recover: stop with its error.
                    finish(report, start);
                    return Err(e);
                }
                backend = match connect() {
                    Ok(b) => b,
                    Err(e) => {
                        finish(report, start);
                        return Err(e);
                    }
                };
            }
        }
        report.cases = i + 1;
        report.seconds = start.elapsed().as_secs_f64();
        progress(i + 1, report);
    }
    finish(report, start);
    Ok(())
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
