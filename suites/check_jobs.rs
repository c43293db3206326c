//! `forkspec check --jobs N`: several workers, each with its own backend, give the same report
//! as one (apart from timing), leave no process behind, and refuse a nonsensical count.

mod cli;
mod leftovers;

use cli::{forkspec_env, pysim};
use leftovers::{assert_gone_within_a_second, private_tmp};
use serde_json::Value;
use std::path::Path;

/// The simulator with both its bugs: two causes, so two fingerprints to merge.
fn pysim_buggy() -> String {
    pysim(" --buggy --buggy-cloexec")
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("check-jobs-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file of `dir` (the saved case files) with its content, by name.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    let text = std::fs::read_to_string(e.path()).unwrap();
                    (e.file_name().to_string_lossy().into_owned(), text)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The buggy simulator's run with `jobs` workers in a directory of its own (relative report
/// and case-file paths, so the outputs can be compared whole): (report without its timing
/// fields, stdout without its timing line, case files).
fn buggy_run(jobs: &str) -> (Value, String, Vec<(String, String)>) {
    let d = tmp();
    let sim = pysim_buggy();
    let (code, out, err) = forkspec_env(
        d.path(),
        &[],
        &[
            "check",
            "--cases",
            "120",
            "--seed",
            "7",
            "--backend",
            &sim,
            "--jobs",
            jobs,
            "--json",
            "r.json",
            "--out",
            "div",
        ],
    );
    assert_eq!(
        code, 1,
        "the buggy simulator is caught with --jobs {jobs}: {out}\n{err}"
    );
    assert!(
        out.contains(&format!("jobs: {jobs}")),
        "the summary names the worker count: {out}"
    );
    let mut r = json(&d.path().join("r.json"));
    for timing in ["seconds", "cases_per_s"] {
        assert!(r[timing].as_f64().is_some(), "{timing} in {r}");
        r[timing] = Value::Null;
    }
    let out: String = out
        .lines()
        .filter(|l| !l.starts_with("time: "))
        .map(|l| format!("{l}\n"))
        .collect();
    (r, out, files(&d.path().join("div")))
}

#[test]
fn one_and_two_jobs_give_the_same_report() {
    let (one, out_one, files_one) = buggy_run("1");
    let (two, out_two, files_two) = buggy_run("2");
    let divs = one["divergences"].as_array().unwrap();
    assert!(divs.len() >= 2, "several fingerprints to merge: {one:#}");
    assert!(
        divs.iter().any(|d| d["count"].as_u64().unwrap() > 1),
        "a fingerprint seen in several cases: {one:#}"
    );
    assert_eq!(one["cases"], 120);
    assert_eq!(
        two, one,
        "JSON reports (fingerprints, counts, cases, ops, case files)"
    );
    assert_eq!(files_two, files_one, "saved case files");
    assert_eq!(files_one.len(), divs.len());
    assert_eq!(out_two, out_one, "divergences printed in the same order");
}

#[test]
fn two_lab_workers_agree_with_the_model_and_leave_nothing() {
    let d = tmp();
    let cases = private_tmp("jobs");
    let (code, out, err) = forkspec_env(
        d.path(),
        &[("FORKSPEC_TMPDIR", &cases)],
        &[
            "check", "--cases", "150", "--seed", "5", "--jobs", "2", "--json", "r.json",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("jobs: 2"), "{out}");
    let r = json(&d.path().join("r.json"));
    assert_eq!(r["cases"], 150);
    assert_eq!(r["divergences"].as_array().unwrap().len(), 0, "{r:#}");
    assert_eq!(r["errors"].as_array().unwrap().len(), 0, "{r:#}");
    // The harness waited for its labs; their guardians remove the case directories.
    assert_gone_within_a_second(&cases);
}

#[test]
fn zero_jobs_is_a_usage_error() {
    let d = tmp();
    let (code, out, err) = forkspec_env(d.path(), &[], &["check", "--jobs", "0"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("--jobs"), "{err}");
}
