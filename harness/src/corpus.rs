//! Corpus export: generated cases with the model's expected trace, for simulators to replay
//! with no forkspec present (format in docs/protocol.md, "Corpus files").

use crate::check::{case_for_seed, case_seed};
use crate::gen::GenConfig;
use forkspec_model::{Case, Model, Op, Outcome, Profile, Snapshot};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The version of the corpus file format.
pub const CORPUS_FORMAT: u32 = 1;

/// One step of an expected trace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExpectedStep {
    /// The op.
    pub op: Op,
    /// Every outcome the model allows; an implementation must produce one of them.
    pub allowed: Vec<Outcome>,
    /// The model's canonical state after the op (every observation, both levels), following
    /// the first allowed outcome.
    pub snapshot: Snapshot,
}

/// A corpus file: a case file (it replays with `forkspec replay`) plus the expected trace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CorpusCase {
    /// Format version ([`CORPUS_FORMAT`]).
    pub corpus_format: u32,
    /// The case.
    #[serde(flatten)]
    pub case: Case,
    /// The generating seed.
    pub seed: u64,
    /// The environment profile the expectation was computed for.
    pub profile: Profile,
    /// The expected trace, one entry per op.
    pub expected: Vec<ExpectedStep>,
}

impl CorpusCase {
    /// The model's expected trace of `case`.
    pub fn new(case: Case, seed: u64, profile: &Profile) -> CorpusCase {
        let mut m = Model::new(case.config, profile);
        let expected = case
            .ops
            .iter()
            .map(|op| {
                let step = m.step(op, None);
                ExpectedStep {
                    op: op.clone(),
                    allowed: step.allowed,
                    snapshot: m.snapshot(),
                }
            })
            .collect();
        CorpusCase {
            corpus_format: CORPUS_FORMAT,
            case,
            seed,
            profile: profile.clone(),
            expected,
        }
    }
}

/// The index of an exported corpus (`index.json`).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct CorpusIndex {
    /// Format version.
    pub corpus_format: u32,
    /// Run seed.
    pub seed: u64,
    /// Area of the generated ops.
    pub suite: String,
    /// The profile the expectations assume.
    pub profile: Profile,
    /// The case files, relative to the directory.
    pub cases: Vec<String>,
}

/// Writes `cases` cases of run seed `seed` into `dir` (created if needed): `case-NNNN.json`
/// each, and `index.json`. Returns the index.
pub fn export(
    dir: &Path,
    cases: u64,
    seed: u64,
    suite: &str,
    gen: &GenConfig,
    profile: &Profile,
) -> anyhow::Result<CorpusIndex> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let mut index = CorpusIndex {
        corpus_format: CORPUS_FORMAT,
        seed,
        suite: suite.to_string(),
        profile: profile.clone(),
        cases: Vec::new(),
    };
    for i in 0..cases {
        let s = case_seed(seed, i);
        let c = CorpusCase::new(case_for_seed(s, gen, profile), s, profile);
        let name = format!("case-{i:04}.json");
        let path = dir.join(&name);
        std::fs::write(&path, serde_json::to_string_pretty(&c)? + "\n")
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        index.cases.push(name);
    }
    let path = dir.join("index.json");
    std::fs::write(&path, serde_json::to_string_pretty(&index)? + "\n")
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(index)
}
