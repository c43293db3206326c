//! The implementations of docs/implementations.md keep exactly the deviations their
//! checked-in baselines (examples/baselines/NAME.json) record. Each baseline entry has its
//! minimal case (examples/baselines/NAME/FINGERPRINT.json); all of them are replayed in one
//! lab under the implementation, and each must show its own fingerprint again: a case that
//! agrees (a vanished deviation) or shows another fingerprint (a new one) fails, by name.
//! Replays reach every listed deviation in a few seconds each, where generated cases need
//! thousands (valgrind runs ~0.3 generated cases/s). Under proot and strace, which are
//! fast, the acceptance check (300 generated cases, seed 5, semantic level) runs too, with
//! the baseline: a fingerprint it finds outside the baseline fails.
//!
//! valgrind, proot and strace come from the distribution (.ci/run installs them): where one
//! is missing the test says so on stderr, and fails when `CI=true`.

mod cli;
mod leftovers;

use forkspec::backend::{Backend, ProcessBackend};
use forkspec::check::CaseFile;
use forkspec::run::{run_case, RunOptions, SnapshotMode};
use forkspec_model::diff::LevelFilter;
use forkspec_model::Capabilities;
use leftovers::{assert_gone_within_a_second, private_tmp};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The runner of each implementation, as docs/implementations.md gives it.
const VALGRIND: &str = "valgrind -q --trace-children=yes --vgdb=no";
const PROOT: &str = "proot";
const STRACE: &str = "strace -f -o /dev/null";

/// Runs of a case before its deviation counts as vanished.
const REPLAYS: usize = 3;

fn baselines() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/baselines")
}

/// Whether `tool` runs; says so loudly when not, and fails under CI (which installs it).
fn installed(tool: &str) -> bool {
    let there = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !there {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is not installed: .ci/run installs it (apt-get install {tool})"
        );
        eprintln!(
            "\n*** {tool} is NOT INSTALLED: its baseline (examples/baselines/{tool}.json) was \
             NOT CHECKED. Install it (apt-get install {tool}) to run this test. ***\n"
        );
    }
    there
}

/// The fingerprints of a baseline file: all of them, and those whose case replays the same
/// every time (an entry whose `note` says it is flaky has no case file and is not replayed).
fn baseline_split(name: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let path = baselines().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let b = forkspec::baseline::Baseline::parse(&text, &path).expect("a baseline");
    let flaky = |d: &forkspec::baseline::BaselineEntry| {
        d.note.as_deref().is_some_and(|n| n.starts_with("flaky"))
    };
    let all = b
        .divergences
        .iter()
        .map(|d| d.fingerprint.clone())
        .collect();
    let steady = b
        .divergences
        .iter()
        .filter(|d| !flaky(d))
        .map(|d| d.fingerprint.clone())
        .collect();
    (all, steady)
}

/// The fingerprints of a baseline file.
fn baseline(name: &str) -> BTreeSet<String> {
    baseline_split(name).0
}

/// Fails naming every fingerprint seen and not in the baseline, and every one in the
/// baseline and not seen.
fn assert_same(name: &str, seen: &BTreeSet<String>, known: &BTreeSet<String>, how: &str) {
    let new: Vec<&String> = seen.difference(known).collect();
    let vanished: Vec<&String> = known.difference(seen).collect();
    assert!(
        new.is_empty() && vanished.is_empty(),
        "{name}: the fingerprints differ from examples/baselines/{name}.json ({how}):\n  new \
         (not in the baseline): {new:?}\n  vanished (in the baseline, not seen): {vanished:?}\n\
         A real change of {name} (or of forkspec) is recorded in the baseline and its case \
         directory and described in docs/implementations.md."
    );
}

/// Replays the minimal case of every entry of baseline `name` in one lab under `runner`:
/// each must show its own fingerprint, and together exactly the baseline's (its flaky
/// entries aside).
fn replays_show_exactly_the_baseline(name: &str, runner: &str) {
    let known = baseline_split(name).1;
    let dir = baselines().join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let cases: Vec<(PathBuf, CaseFile)> = files
        .into_iter()
        .map(|f| {
            let c = CaseFile::load(&f).unwrap_or_else(|e| panic!("{f:?}: {e}"));
            (f, c)
        })
        .collect();
    // Every entry has its minimal case, so that one replay per entry reaches each.
    let with_case: BTreeSet<String> = cases
        .iter()
        .filter_map(|(_, c)| c.fingerprint.clone())
        .collect();
    assert_eq!(
        with_case, known,
        "a baseline entry without its case in {dir:?}, or a case without its entry"
    );
    let tmp = private_tmp(&format!("implementations-{name}"));
    let mut seen = BTreeSet::new();
    let mut wrong = Vec::new();
    {
        let words = forkspec::target::shell_words(runner).expect("a runner");
        let mut lab = ProcessBackend::lab_in(Path::new(cli::FORKSPEC), &words, &tmp)
            .unwrap_or_else(|e| panic!("start the lab under {name}: {e}"));
        let hello = lab.hello().expect("hello");
        // As `check` does: ops under an emulator need the deadline its speed shows.
        lab.op_deadline = forkspec::deadline::effective(lab.op_deadline, hello.speed).0;
        let opts = RunOptions {
            snapshots: SnapshotMode::Step,
            levels: LevelFilter::Semantic,
            caps: hello.capabilities.intersect(Capabilities::ALL),
        };
        for (f, c) in &cases {
            // Up to REPLAYS runs until the case shows its fingerprint: under an emulator the
            // moment a snapshot is taken varies (valgrind's vfork parent runs on, and is
            // seen running or not yet), as `check` confirms a divergence over replays. Any
            // other fingerprint fails at once.
            let mut got = None;
            for _ in 0..REPLAYS {
                let run = run_case(&mut lab, &c.case, &hello.profile, &opts)
                    .unwrap_or_else(|e| panic!("{name}: {f:?}: {e}"));
                got = run.mismatch.map(|m| {
                    eprintln!("{name}: {}: {} ({})", f.display(), m.fingerprint, m.cause);
                    m.fingerprint
                });
                if got == c.fingerprint || got.is_some() {
                    break;
                }
            }
            if got != c.fingerprint {
                wrong.push(format!("{}: {got:?}", f.display()));
            }
            seen.extend(got);
        }
    }
    // Nothing of the run stays behind: no process, no case directory, no vgdb FIFO.
    assert_gone_within_a_second(&tmp);
    assert!(
        wrong.is_empty(),
        "{name}: cases that no longer show their own fingerprint: {wrong:?}"
    );
    assert_same(
        name,
        &seen,
        &known,
        "one replay of each entry's minimal case",
    );
}

/// Runs the acceptance check (300 cases, seed 5, semantic level) under `runner` with
/// baseline `name`: it runs to the end, and finds no fingerprint outside the baseline.
fn acceptance_check_within_baseline(name: &str, runner: &str) {
    let d = tempfile::Builder::new()
        .prefix("implementations-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir");
    let report = d.path().join("r.json");
    let base = baselines().join(format!("{name}.json"));
    let (code, out, err) = cli::forkspec(
        d.path(),
        &[
            "check",
            "--runner",
            runner,
            "--level",
            "semantic",
            "--cases",
            "300",
            "--seed",
            "5",
            "-j",
            "1",
            "--baseline",
            base.to_str().expect("utf-8 path"),
            "--json",
            report.to_str().expect("utf-8 path"),
        ],
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    assert_eq!(r["cases"], 300, "{name}: {out}\n{err}");
    assert_eq!(
        r["errors"].as_array().map(Vec::len),
        Some(0),
        "{name}: {out}"
    );
    let seen: BTreeSet<String> = r["divergences"]
        .as_array()
        .expect("divergences")
        .iter()
        .map(|d| d["fingerprint"].as_str().expect("fingerprint").to_string())
        .collect();
    let known = baseline(name);
    let new: Vec<&String> = seen.difference(&known).collect();
    assert!(
        new.is_empty() && code == 0,
        "{name}: exit {code}, fingerprints outside examples/baselines/{name}.json: {new:?}\n{out}"
    );
}

#[test]
fn valgrind_shows_exactly_its_baseline() {
    if installed("valgrind") {
        replays_show_exactly_the_baseline("valgrind", VALGRIND);
    }
}

#[test]
fn proot_shows_exactly_its_baseline() {
    if installed("proot") {
        replays_show_exactly_the_baseline("proot", PROOT);
        acceptance_check_within_baseline("proot", PROOT);
    }
}

#[test]
fn strace_shows_exactly_its_baseline() {
    if installed("strace") {
        replays_show_exactly_the_baseline("strace", STRACE);
        acceptance_check_within_baseline("strace", STRACE);
    }
}
