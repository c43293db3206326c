//! Baselines: the divergences an implementation is known to have, by fingerprint, so that a CI
//! gate fails only on *new* ones and announces the ones that went away.
//!
//! The file is JSON (written by `forkspec baseline write FILE [check args]`):
//!
//! ```json
//! {
//!   "forkspec_baseline": 1,
//!   "implementation": "pysim 0.1",
//!   "divergences": [
//!     { "fingerprint": "006b2e59bb52f730", "level": "semantic",
//!       "cause": "t*.fd[*].offset differs (an fd of the op)",
//!       "summary": "t0.fd[0].offset = 24 / 0", "sequence": ["t0: open(...)", "t0: pread(0, 5, @19)"] }
//!   ]
//! }
//! ```
//! Only `fingerprint` is required in an entry; the rest is for humans (and a `note` field
//! may be added by hand).

use crate::report::{Divergence, Report};
use forkspec_model::Level;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The version of the baseline format.
pub const BASELINE_FORMAT: u32 = 1;

/// A baseline file.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Baseline {
    /// Format version ([`BASELINE_FORMAT`]).
    pub forkspec_baseline: u32,
    /// The implementation it was recorded against.
    #[serde(default)]
    pub implementation: String,
    /// The known divergences.
    pub divergences: Vec<BaselineEntry>,
}

/// One known divergence.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BaselineEntry {
    /// Its fingerprint (16 hex digits).
    pub fingerprint: String,
    /// Semantic or internal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// Its cause in words, as the report gives it (for humans: only `fingerprint` is matched).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cause: String,
    /// Expected vs actual, one line.
    #[serde(default)]
    pub summary: String,
    /// The minimal sequence it was recorded with.
    #[serde(default)]
    pub sequence: Vec<String>,
    /// A free-form note (e.g. a link to the issue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How a run compares with a baseline.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct BaselineSummary {
    /// The baseline file.
    pub file: String,
    /// Fingerprints seen and in the baseline: they do not fail the run.
    pub known: Vec<String>,
    /// Fingerprints seen and not in the baseline: they fail the run.
    pub new: Vec<String>,
    /// Fingerprints in the baseline and not seen in this run: fixed (or not reached).
    pub fixed: Vec<String>,
}

fn is_fingerprint(s: &str) -> bool {
    s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle)
        .map(|i| text[..i].matches('\n').count() + 1)
        .unwrap_or(1)
}

impl Baseline {
    /// The baseline of a run's divergences.
    pub fn from_report(r: &Report) -> Baseline {
        Baseline {
            forkspec_baseline: BASELINE_FORMAT,
            implementation: r.implementation.clone(),
            divergences: r
                .divergences
                .iter()
                .map(|d| BaselineEntry {
                    fingerprint: d.fingerprint.clone(),
                    level: Some(d.level),
                    cause: d.cause.clone(),
                    summary: format!("expected {} / actual {}", d.expected, d.actual),
                    sequence: d.sequence.clone(),
                    note: None,
                })
                .collect(),
        }
    }

    /// Parses baseline text; errors name `path` and the line of the problem.
    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Baseline> {
        let b: Baseline = serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}:{}: not a forkspec baseline: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        if b.forkspec_baseline != BASELINE_FORMAT {
            anyhow::bail!(
                "{}:{}: baseline format {} is not supported (this forkspec reads {BASELINE_FORMAT})",
                path.display(),
                line_of(text, "forkspec_baseline"),
                b.forkspec_baseline
            );
        }
        for e in &b.divergences {
            if !is_fingerprint(&e.fingerprint) {
                anyhow::bail!(
                    "{}:{}: fingerprint {:?} is not 16 hex digits",
                    path.display(),
                    line_of(text, &format!("\"{}\"", e.fingerprint)),
                    e.fingerprint
                );
            }
        }
        Ok(b)
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> anyhow::Result<Baseline> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read baseline {}: {e}", path.display()))?;
        Baseline::parse(&text, path)
    }

    /// Writes the baseline as pretty JSON.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        std::fs::write(path, text)
            .map_err(|e| anyhow::anyhow!("cannot write baseline {}: {e}", path.display()))
    }

    /// Compares a run's divergences with the baseline and marks the known ones.
    pub fn apply(&self, file: &Path, divergences: &mut [Divergence]) -> BaselineSummary {
        let mut s = BaselineSummary {
            file: file.display().to_string(),
            ..Default::default()
        };
        for d in divergences.iter_mut() {
            d.known = self
                .divergences
                .iter()
                .any(|e| e.fingerprint == d.fingerprint);
            if d.known {
                s.known.push(d.fingerprint.clone());
            } else {
                s.new.push(d.fingerprint.clone());
            }
        }
        for e in &self.divergences {
            if !divergences.iter().any(|d| d.fingerprint == e.fingerprint)
                && !s.fixed.contains(&e.fingerprint)
            {
                s.fixed.push(e.fingerprint.clone());
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_baselines_name_file_and_line() {
        let p = Path::new("base.json");
        let e = Baseline::parse(
            "{\n  \"forkspec_baseline\": 1,\n  \"divergences\": [,]\n}",
            p,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("base.json:3:"), "{e}");
        let e = Baseline::parse(
            "{\"forkspec_baseline\": 1,\n\"divergences\": [\n{\"fingerprint\": \"xyz\"}]}",
            p,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("base.json:3:"), "{e}");
        assert!(e.contains("16 hex digits"), "{e}");
        let e = Baseline::parse("{\"forkspec_baseline\": 7, \"divergences\": []}", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("format 7"), "{e}");
        let ok = Baseline::parse(
            "{\"forkspec_baseline\": 1, \"divergences\": [{\"fingerprint\": \"0123456789abcdef\", \"note\": \"x\", \"extra\": 1}]}",
            p,
        )
        .unwrap();
        assert_eq!(ok.divergences[0].note.as_deref(), Some("x"));
    }
}
