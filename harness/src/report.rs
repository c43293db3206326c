//! Reports: the JSON document of a run and the human-readable divergence report.

use crate::run::{Mismatch, MismatchKind};
use forkspec_model::diff::FieldDiff;
use forkspec_model::{Case, Level, Op, Profile};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Something a run could not compare, and why.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NotCompared {
    /// The observation kind.
    pub what: String,
    /// Why not.
    pub why: String,
}

/// One kind of divergence (all cases with the same fingerprint), with its minimal case.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Divergence {
    /// Stable identity of its cause: a hash of `level` and `cause`.
    pub fingerprint: String,
    /// The cause in words, the same in every run that finds it (see [`crate::cause`]), e.g.
    /// `clone3 → ENOSYS (not implemented)`. Empty in reports written before it existed.
    #[serde(default)]
    pub cause: String,
    /// Semantic or internal.
    pub level: Level,
    /// How many generated cases showed it.
    pub count: u64,
    /// Seed of the case it was first found in.
    pub seed: Option<u64>,
    /// The minimal sequence, one op per line (`t1: write(3, "a")`).
    pub sequence: Vec<String>,
    /// The same ops as data.
    pub ops: Vec<Op>,
    /// Index of the first differing step (`sequence.len()` when only the end state differs).
    pub step: usize,
    /// Outcome or snapshot.
    pub kind: MismatchKind,
    /// The model's side.
    pub expected: String,
    /// The implementation's side.
    pub actual: String,
    /// Field differences of a snapshot mismatch.
    pub diffs: Vec<FieldDiff>,
    /// The saved case file.
    pub case_file: Option<String>,
    /// The command that reruns it.
    pub replay: Option<String>,
    /// Listed in the baseline given with `--baseline` (a known divergence: it does not fail
    /// the run).
    #[serde(default)]
    pub known: bool,
    /// Replays of the case (per-step snapshots) that showed this divergence again; `None`
    /// when it was not replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproduced: Option<u32>,
    /// Replays run to confirm it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replays: Option<u32>,
    /// Not reproduced in every replay: its verdict depends on more than the ops. Never
    /// shrunk; whether it fails the run is the run's `flaky_policy`.
    #[serde(default)]
    pub flaky: bool,
    /// `sequence` is a shrunk case that reproduced in every replay.
    #[serde(default)]
    pub minimal: bool,
    /// For a flaky divergence in page presence, exclusivity or frames only: the mechanisms
    /// of this machine's kernel that unmap or move pages on their own and were on during
    /// the run (e.g. `DAMON pageout (kdamond 0)`), its likely cause ([`crate::disturb`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disturbed_by: Option<String>,
}

/// What the report says of a flaky page divergence that `mechanisms` can explain.
fn disturbed_note(mechanisms: &str) -> String {
    format!(
        "likely this machine's own memory management ({mechanisms}), which unmaps or moves \
         pages whatever the ops do (see forkspec::disturb)"
    )
}

/// What a flaky divergence does to the exit status of a run (`--flaky`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FlakyPolicy {
    /// Reported and labelled flaky, but does not fail the run.
    #[default]
    Warn,
    /// Fails the run like any other new divergence.
    Fail,
}

impl Divergence {
    /// Builds the record of a (minimal) diverging case.
    pub fn new(case: &Case, m: &Mismatch, seed: Option<u64>, case_file: Option<String>) -> Self {
        Divergence {
            fingerprint: m.fingerprint.clone(),
            cause: m.cause.clone(),
            level: m.level,
            count: 1,
            seed,
            sequence: case.ops.iter().map(|o| o.to_string()).collect(),
            ops: case.ops.clone(),
            step: m.step,
            kind: m.kind.clone(),
            expected: m.expected.clone(),
            actual: m.actual.clone(),
            diffs: m.diffs.clone(),
            replay: case_file.as_ref().map(|f| format!("forkspec replay {f}")),
            case_file,
            known: false,
            reproduced: None,
            replays: None,
            flaky: false,
            minimal: false,
            disturbed_by: None,
        }
    }

    /// The same record with the outcome of its confirming replays.
    pub fn confirmed(mut self, c: &crate::check::Confirmation) -> Self {
        self.reproduced = Some(c.reproduced);
        self.replays = Some(c.replays);
        self.flaky = c.flaky();
        self.minimal = c.minimal;
        self
    }

    /// `reproduced k of n`, when it was replayed, and the machine's own page mover when
    /// one can explain it.
    pub fn reproduction(&self) -> Option<String> {
        let mut s = format!("reproduced {} of {}", self.reproduced?, self.replays?);
        if let Some(m) = &self.disturbed_by {
            let _ = write!(s, "; {}", disturbed_note(m));
        }
        Some(s)
    }

    /// The readable report: sequence with the first differing step marked, then the outcome
    /// or field-by-field snapshot diff.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} {} ({} level, {} case{})",
            match (self.known, self.flaky) {
                (true, true) => "KNOWN FLAKY DIVERGENCE",
                (true, false) => "KNOWN DIVERGENCE",
                (false, true) => "FLAKY DIVERGENCE",
                (false, false) => "DIVERGENCE",
            },
            self.fingerprint,
            self.level,
            self.count,
            if self.count == 1 { "" } else { "s" }
        );
        if !self.cause.is_empty() {
            let _ = writeln!(s, "  cause: {}", self.cause);
        }
        if let Some(seed) = self.seed {
            let _ = writeln!(s, "  seed: {seed}");
        }
        if let (Some(k), Some(n)) = (self.reproduced, self.replays) {
            let why = if self.flaky {
                ": flaky, not shrunk (its verdict changes from run to run)"
            } else {
                ""
            };
            let _ = writeln!(s, "  reproduced {k} of {n} replays{why}");
        }
        if let Some(m) = &self.disturbed_by {
            let _ = writeln!(s, "  {}", disturbed_note(m));
        }
        let what = if self.minimal {
            "minimal sequence"
        } else {
            "sequence (not minimal)"
        };
        let _ = writeln!(s, "  {what} ({} ops):", self.sequence.len());
        for (i, line) in self.sequence.iter().enumerate() {
            let mark = if i == self.step { "=>" } else { "  " };
            let _ = writeln!(s, "  {mark} {i:>3}  {line}");
        }
        if self.step >= self.sequence.len() {
            let _ = writeln!(s, "  => end of case");
        }
        match self.kind {
            MismatchKind::Outcome => {
                let _ = writeln!(s, "  outcome of step {}:", self.step);
                let _ = writeln!(s, "    model  {}", self.expected);
                let _ = writeln!(s, "    real   {}", self.actual);
            }
            MismatchKind::Snapshot => {
                let _ = writeln!(s, "  state after step {}:", self.step);
                for d in &self.diffs {
                    let _ = writeln!(
                        s,
                        "    {:<36} model {:<14} real {:<14} [{}]",
                        d.path, d.expected, d.actual, d.level
                    );
                }
            }
        }
        if let Some(r) = &self.replay {
            let _ = writeln!(s, "  replay: {r}");
        }
        s
    }
}

/// The JSON report of a check run.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Report {
    /// The implementation checked.
    pub implementation: String,
    /// Its environment profile.
    pub profile: Option<Profile>,
    /// Area of the generated ops.
    pub suite: String,
    /// Run seed.
    pub seed: u64,
    /// Cases run.
    pub cases: u64,
    /// Ops generated.
    pub ops: u64,
    /// Wall time.
    pub seconds: f64,
    /// Throughput.
    pub cases_per_s: f64,
    /// Observations not compared, with reasons.
    pub not_compared: Vec<NotCompared>,
    /// Distinct divergences.
    pub divergences: Vec<Divergence>,
    /// Cases that could not be run (backend failures).
    pub errors: Vec<String>,
    /// Observation level compared (`semantic`, `internal` or `all`).
    #[serde(default)]
    pub level: String,
    /// The comparison with `--baseline`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::baseline::BaselineSummary>,
    /// Whether flaky divergences fail the run (`--flaky`).
    #[serde(default)]
    pub flaky_policy: FlakyPolicy,
}

impl Report {
    /// Divergences that fail the run: all of them, or with a baseline the new ones; with
    /// `flaky_policy` warn, not the flaky ones.
    pub fn failing(&self) -> impl Iterator<Item = &Divergence> {
        let policy = self.flaky_policy;
        self.divergences
            .iter()
            .filter(move |d| !d.known && (!d.flaky || policy == FlakyPolicy::Fail))
    }

    /// The exit status of a finished run: 1 when a divergence fails it, else 2 when cases
    /// could not be run, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.failing().next().is_some() {
            1
        } else if !self.errors.is_empty() {
            2
        } else {
            0
        }
    }
}
