//! A new user's first hour with the CLI (issue 16): replay commands that rerun the same
//! implementation, a closed stdout and SIGTERM that end a run with its reports written,
//! output paths checked before anything runs, `--json -`, short lines for known
//! divergences, "not compared" in a simulator's own terms, and ranges refused at parse time.

mod cli;

use cli::{forkspec, pysim, FORKSPEC};

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("first-hour-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn no_panic(err: &str) {
    for bad in ["panicked", "Broken pipe", "abort"] {
        assert!(!err.contains(bad), "{bad} in stderr: {err}");
    }
}

#[test]
fn the_printed_replay_command_reruns_the_same_backend() {
    let d = tmp();
    let sim = pysim(" --buggy");
    let (code, out, err) = forkspec(
        d.path(),
        &[
            "check",
            "--cases",
            "60",
            "--suite",
            "fd",
            "--backend",
            &sim,
            "--level",
            "semantic",
        ],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    let replay = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay: "))
        .unwrap_or_else(|| panic!("no replay command in {out}"));
    let words = shell_words::split(replay).unwrap();
    assert_eq!(words[..2], ["forkspec", "replay"], "{replay}");
    assert!(replay.contains("--buggy"), "{replay}");
    // Run as printed, it replays the same simulator, which diverges again.
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let (code, out, err) = forkspec(d.path(), &args);
    assert_eq!(code, 1, "{replay}\n{out}\n{err}");
    assert!(out.contains("pysim"), "{out}");
    assert!(out.contains("level semantic"), "{out}");
}

#[test]
fn a_closed_stdout_ends_the_run_quietly_with_its_reports() {
    let d = tmp();
    let (read, write) = rustix::pipe::pipe().unwrap();
    drop(read);
    let json_path = d.path().join("r.json");
    let xml = d.path().join("r.xml");
    let out = Command::new(FORKSPEC)
        .args(["check", "--cases", "50", "--jobs", "1", "--json"])
        .arg(&json_path)
        .arg("--junit")
        .arg(&xml)
        .current_dir(d.path())
        .env_remove("CI")
        .stdout(Stdio::from(write))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    no_panic(&err);
    // 128 + SIGPIPE, as for a process the pipe's signal would have killed.
    assert_eq!(out.status.code(), Some(141), "{err}");
    let r = json(&json_path);
    assert!(r["cases"].as_u64().unwrap() < 50, "{r}");
    assert!(xml.is_file());
}

#[test]
fn sigterm_ends_the_run_with_the_summary_and_every_report() {
    stopped_by(rustix::process::Signal::TERM, "SIGTERM");
}

#[test]
fn sigint_ends_the_run_with_the_summary_and_every_report() {
    stopped_by(rustix::process::Signal::INT, "SIGINT");
}

/// Starts a long run, sends `sig` once the run has started and checks that the run ends
/// with 128 + the signal, its summary naming the signal, and every report written.
fn stopped_by(sig: rustix::process::Signal, name: &str) {
    let d = tmp();
    let json_path = d.path().join("r.json");
    let xml = d.path().join("r.xml");
    let md = d.path().join("r.md");
    let mut child = Command::new(FORKSPEC)
        .args(["check", "--cases", "1000000", "--jobs", "2", "--json"])
        .arg(&json_path)
        .arg("--junit")
        .arg(&xml)
        .arg("--markdown")
        .arg(&md)
        .current_dir(d.path())
        .env_remove("CI")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The header is printed once the handlers are in place.
    let header = lines.next().unwrap().unwrap();
    assert!(header.starts_with("forkspec check:"), "{header}");
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, sig).unwrap();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + sig.as_raw()), "{rest:?}");
    let rest = rest.join("\n");
    assert!(rest.contains(&format!("stopped early ({name})")), "{rest}");
    assert!(rest.contains("cases run:"), "{rest}");
    let r = json(&json_path);
    assert!(r["cases"].as_u64().unwrap() < 1_000_000);
    assert!(xml.is_file() && md.is_file());
}

#[test]
fn output_paths_are_checked_before_the_run() {
    let d = tmp();
    let (code, out, err) = forkspec(
        d.path(),
        &[
            "check",
            "--cases",
            "1000000",
            "--json",
            "/nonexistent/r.json",
            "--junit",
            "ok.xml",
        ],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("--json /nonexistent/r.json"), "{err}");
    assert!(!out.contains("forkspec check:"), "the run started: {out}");
    let (code, _, err) = forkspec(
        d.path(),
        &[
            "check",
            "--cases",
            "5",
            "--out",
            "ok.xml/sub",
            "--json",
            "-",
        ],
    );
    // ok.xml does not exist: --out can be made; with a file in the way it cannot.
    assert_ne!(code, 2, "{err}");
    std::fs::write(d.path().join("f"), "").unwrap();
    let (code, _, err) = forkspec(d.path(), &["check", "--out", "f/sub"]);
    assert_eq!(code, 2);
    assert!(err.contains("--out f/sub"), "{err}");
    let (code, _, err) = forkspec(d.path(), &["check", "--json", "-", "--junit", "-"]);
    assert_eq!(code, 2);
    assert!(err.contains("stdout"), "{err}");
}

#[test]
fn json_dash_writes_the_report_to_stdout() {
    let d = tmp();
    let (code, out, err) = forkspec(d.path(), &["check", "--cases", "5", "--json", "-"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let r: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(r["cases"], 5);
    assert!(err.contains("cases run: 5"), "{err}");
    assert!(!d.path().join("-").exists());
    // stderr is a pipe here, as in a CI log: no progress bar, no escape codes.
    assert!(!err.contains('\x1b') && !err.contains('\r'), "{err:?}");
}

#[test]
fn known_divergences_are_one_line_each() {
    let d = tmp();
    let base = d.path().join("base.json").display().to_string();
    let sim = pysim(" --buggy");
    let common = ["--cases", "60", "--suite", "fd", "--backend", &sim];
    let mut args = vec!["baseline", "write", &base];
    args.extend_from_slice(&common);
    let (code, out, err) = forkspec(d.path(), &args);
    assert_eq!(code, 0, "{out}\n{err}");
    let mut args = vec!["check", "--baseline", &base];
    args.extend_from_slice(&common);
    let (code, out, err) = forkspec(d.path(), &args);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("KNOWN "), "{out}");
    assert!(!out.contains("DIVERGENCE"), "{out}");
    assert!(!out.contains("minimal sequence"), "{out}");
}

#[test]
fn not_compared_speaks_of_the_simulator_not_the_linux_lab() {
    let d = tmp();
    let (code, out, err) = forkspec(
        d.path(),
        &["check", "--cases", "5", "--backend", &pysim("")],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let section = &out[out.find("not compared:").expect("not compared")..];
    for linux in ["CAP_SYS_ADMIN", "/proc", "kcmp unavailable"] {
        assert!(!section.contains(linux), "{linux} in {section}");
    }
    let op_lines = section
        .lines()
        .filter(|l| l.contains("madvise") || l.contains("pread"));
    assert_eq!(op_lines.count(), 1, "{section}");
}

#[test]
fn a_backend_that_exited_is_not_called_running() {
    let d = tmp();
    let script = d.path().join("quits.py");
    std::fs::write(
        &script,
        "import sys\nsys.stdin.readline()\n\
         print('{\"hello\":{\"protocol\":1,\"implementation\":\"q\",\"ops\":[\"fork\"]}}', flush=True)\n\
         sys.stdin.readline()\nsys.exit(3)\n",
    )
    .unwrap();
    let backend = format!("exec:python3 '{}'", script.display());
    let (code, out, err) = forkspec(d.path(), &["check", "--cases", "3", "--backend", &backend]);
    assert_eq!(code, 2, "{out}\n{err}");
    let all = out + &err;
    assert!(all.contains("exit status: 3"), "{all}");
    assert!(!all.contains("still running"), "{all}");
}

#[test]
fn huge_values_in_a_case_file_give_short_errors_when_it_is_read() {
    let d = tmp();
    let file = d.path().join("big.json");
    let huge = "A".repeat(5 << 20);
    std::fs::write(
        &file,
        format!(r#"{{"ops":[{{"task":0,"kind":"{huge}"}}]}}"#),
    )
    .unwrap();
    let f = file.display().to_string();
    // The backend does not exist: the file is refused before one is started.
    let (code, out, err) = forkspec(d.path(), &["replay", &f, "--backend", "exec:/nonexistent"]);
    assert_eq!(code, 2, "{out}");
    assert!(err.len() < 2000, "{} bytes of error", err.len());
    assert!(err.contains("not a case file"), "{err}");
    let data = vec!["7"; 1 << 20].join(",");
    std::fs::write(
        &file,
        format!(r#"{{"ops":[{{"task":0,"kind":"pipe2"}},{{"task":0,"kind":"write","fd":1,"data":[{data}]}}]}}"#),
    )
    .unwrap();
    let (code, out, err) = forkspec(d.path(), &["replay", &f, "--backend", "exec:/nonexistent"]);
    assert_eq!(code, 2, "{out}");
    assert!(err.len() < 2000, "{} bytes of error", err.len());
    assert!(err.contains("limit is 64"), "{err}");
}

/// The attributes junit-10.xsd (the schema of Jenkins' xunit plugin) allows on each element
/// forkspec writes, with the required ones marked `*`, and the children each may have.
const JUNIT_SCHEMA: &[(&str, &[&str], &[&str])] = &[
    (
        "testsuites",
        &["name", "time", "tests", "failures", "errors"],
        &["testsuite"],
    ),
    (
        "testsuite",
        &[
            "name*",
            "tests*",
            "failures*",
            "errors*",
            "group",
            "time",
            "skipped",
            "timestamp",
            "hostname",
            "id",
            "package",
            "file",
            "log",
            "url",
        ],
        &[
            "testsuite",
            "properties",
            "testcase",
            "system-out",
            "system-err",
        ],
    ),
    ("properties", &[], &["property"]),
    ("property", &["name*", "value*"], &[]),
    (
        "testcase",
        &["name*", "time", "classname", "group"],
        &["skipped", "error", "failure", "system-out", "system-err"],
    ),
    ("failure", &["type", "message"], &[]),
    ("error", &["type", "message"], &[]),
    ("skipped", &["type", "message"], &[]),
];

fn check_junit_schema(xml: &str) {
    let doc = roxmltree::Document::parse(xml).expect("well-formed");
    assert_eq!(doc.root_element().tag_name().name(), "testsuites");
    for node in doc.descendants().filter(|n| n.is_element()) {
        let tag = node.tag_name().name();
        let (_, attrs, children) = JUNIT_SCHEMA
            .iter()
            .find(|(t, _, _)| *t == tag)
            .unwrap_or_else(|| panic!("<{tag}> is not in the schema"));
        for a in node.attributes() {
            assert!(
                attrs.iter().any(|x| x.trim_end_matches('*') == a.name()),
                "<{tag} {}> is not in the schema",
                a.name()
            );
        }
        for required in attrs.iter().filter_map(|x| x.strip_suffix('*')) {
            assert!(
                node.attribute(required).is_some(),
                "<{tag}> needs {required}"
            );
        }
        if let Some(t) = node.attribute("time") {
            // SUREFIRE_TIME: digits, optionally with a fraction.
            let ok = t
                .split_once('.')
                .map_or(t, |(i, _)| i)
                .chars()
                .all(|c| c.is_ascii_digit());
            assert!(ok, "<{tag} time={t:?}>");
        }
        for c in node.children().filter(|c| c.is_element()) {
            let name = c.tag_name().name();
            assert!(children.contains(&name), "<{name}> inside <{tag}>");
        }
    }
}

#[test]
fn junit_fits_the_schema_and_names_follow_the_fingerprint_across_seeds() {
    let d = tmp();
    let sim = pysim(" --buggy");
    let base = d.path().join("base.json").display().to_string();
    let common = ["--cases", "60", "--suite", "fd", "--backend", &sim];
    let mut args = vec!["baseline", "write", &base];
    args.extend_from_slice(&common);
    assert_eq!(forkspec(d.path(), &args).0, 0);
    let names = |seed: &str, baseline: bool| {
        let xml = d.path().join(format!("r{seed}.xml")).display().to_string();
        let mut args = vec!["check", "--seed", seed, "--junit", &xml];
        args.extend_from_slice(&common);
        if baseline {
            args.extend_from_slice(&["--baseline", &base]);
        }
        let (code, out, err) = forkspec(d.path(), &args);
        assert!(code == 0 || code == 1, "{out}\n{err}");
        let text = std::fs::read_to_string(&xml).unwrap();
        check_junit_schema(&text);
        let doc = roxmltree::Document::parse(&text).unwrap();
        let names: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .map(|n| n.attribute("name").unwrap().to_string())
            .collect();
        names
    };
    let first = names("1", true);
    let second = names("2", false);
    // Every fingerprint both runs found has the same test case name in both.
    let common: Vec<&String> = first.iter().filter(|n| second.contains(n)).collect();
    assert!(
        common.iter().any(|n| n.starts_with("divergence")),
        "{first:?}\n{second:?}"
    );
    for n in first
        .iter()
        .chain(&second)
        .filter(|n| n.starts_with("divergence"))
    {
        let fp = n.split_whitespace().nth(1).unwrap();
        let same_fp: Vec<&String> = first
            .iter()
            .chain(&second)
            .filter(|m| m.contains(fp))
            .collect();
        assert!(same_fp.iter().all(|m| m == &n), "{same_fp:?}");
    }
}

#[test]
fn out_of_range_options_are_refused_while_parsing() {
    let d = tmp();
    for (args, needle) in [
        (&["check", "--cases", "0"][..], "0 is not in 1.."),
        (&["check", "--cases", "-1"][..], "-1 is not in 1.."),
        (&["check", "--pages", "257"][..], "1..=256"),
        (&["check", "--max-len", "0"][..], "0 is not in 1.."),
        (&["check", "-j", "0"][..], "1..=4096"),
        (&["bench", "--workers", "0"][..], "1..=4096"),
        (&["bench", "--jobs", "0"][..], "1..=4096"),
    ] {
        let (code, out, err) = forkspec(d.path(), args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!out.contains("forkspec check:"), "{args:?} started a run");
    }
    let (code, out, err) = forkspec(d.path(), &["check", "-j", "1", "--cases", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("jobs: 1"), "{out}");
}

/// Validates `xml` against suites/schemas/junit.xsd (the JUnit format as Jenkins' xunit
/// plugin's junit-10.xsd has it) with xmllint; `Err` carries xmllint's complaint. `None`
/// when xmllint is missing outside CI (the caller skips); under `CI=true` a missing
/// xmllint fails the test (.ci/run installs it).
fn xmllint(dir: &Path, xml: &str) -> Option<Result<(), String>> {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites/schemas/junit.xsd");
    let file = dir.join("validate.xml");
    std::fs::write(&file, xml).unwrap();
    let out = match Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "xmllint is missing (apt-get install libxml2-utils): CI must validate JUnit"
            );
            eprintln!("skipped: xmllint is missing (apt-get install libxml2-utils)");
            return None;
        }
        Err(e) => panic!("xmllint: {e}"),
    };
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    Some(if out.status.success() && said.contains("validates") {
        Ok(())
    } else {
        Err(said)
    })
}

#[test]
fn junit_validates_against_the_junit_schema() {
    let d = tmp();
    let sim = pysim(" --buggy");
    let base = d.path().join("base.json");
    let b = base.display().to_string();
    let common = ["--cases", "60", "--suite", "fd", "--backend", &sim];
    let mut args = vec!["baseline", "write", &b];
    args.extend_from_slice(&common);
    assert_eq!(forkspec(d.path(), &args).0, 0);
    // One fingerprint the run will not see: it is reported fixed.
    let mut baseline = json(&base);
    let mut gone = baseline["divergences"][0].clone();
    gone["fingerprint"] = "0123456789abcdef".into();
    baseline["divergences"].as_array_mut().unwrap().push(gone);
    std::fs::write(&base, baseline.to_string()).unwrap();
    let (xml, report) = (d.path().join("r.xml"), d.path().join("r.json"));
    let (x, r) = (xml.display().to_string(), report.display().to_string());
    let mut args = vec!["check", "--baseline", &b, "--junit", &x, "--json", &r];
    args.extend_from_slice(&common);
    let (code, out, err) = forkspec(d.path(), &args);
    assert_eq!(code, 0, "{out}\n{err}");
    let Some(verdict) = xmllint(d.path(), &std::fs::read_to_string(&xml).unwrap()) else {
        return;
    };
    verdict.expect("the CLI's JUnit report");

    // Every kind of entry at once, from the run's own JSON report: known (baseline), new,
    // flaky (skipped under --flaky warn, failed under fail), fixed, not compared, errors.
    let mut rep: forkspec::report::Report =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let first = rep.divergences[0].clone();
    assert!(first.known && !rep.not_compared.is_empty(), "{rep:?}");
    assert!(!rep.baseline.as_ref().unwrap().fixed.is_empty());
    let mut new = first.clone();
    new.known = false;
    new.fingerprint = "fedcba9876543210".into();
    let mut flaky = new.clone();
    flaky.fingerprint = "00000000ffffffff".into();
    (flaky.flaky, flaky.reproduced, flaky.replays) = (true, Some(1), Some(3));
    rep.divergences.extend([new, flaky]);
    rep.errors
        .push("case 7: backend died: <exit status: 3> & \u{1}".into());
    for policy in [
        forkspec::report::FlakyPolicy::Warn,
        forkspec::report::FlakyPolicy::Fail,
    ] {
        rep.flaky_policy = policy;
        let xml = forkspec::junit::render(&rep);
        for part in [
            "known divergence",
            "flaky",
            "<failure",
            "forkspec.fixed",
            "not_compared.",
            "<error",
        ] {
            assert!(xml.contains(part), "{part} missing in {xml}");
        }
        if let Err(e) = xmllint(d.path(), &xml).unwrap() {
            panic!("{policy:?}: {e}\n{xml}");
        }
        // The schema is no formality: what junit-10.xsd refuses, it refuses.
        let bad = xml.replacen("<testsuites ", "<testsuites skipped=\"1\" ", 1);
        assert!(xmllint(d.path(), &bad).unwrap().is_err(), "{bad}");
        let bad = xml.replacen("<testcase ", "<testcase kind=\"x\" ", 1);
        assert!(xmllint(d.path(), &bad).unwrap().is_err(), "{bad}");
    }
}

/// What the manifests promise a new user: release binaries without debug info (the static
/// one is copied into target systems), one minimum Rust version that both crates inherit,
/// and an example that does not rewrite a tracked file unless asked to.
#[test]
fn manifests_and_examples_keep_their_promises() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let workspace = read("Cargo.toml");
    let release = workspace
        .split("[profile.release]")
        .nth(1)
        .and_then(|s| s.split("\n[").next())
        .expect("a [profile.release] section");
    assert!(release.contains("debug = false"), "{release}");
    assert!(release.contains("strip = \"debuginfo\""), "{release}");
    assert!(
        workspace.contains("\nrust-version = \""),
        "no workspace rust-version"
    );
    for krate in ["model/Cargo.toml", "harness/Cargo.toml"] {
        assert!(
            read(krate).contains("\nrust-version.workspace = true"),
            "{krate} does not inherit rust-version"
        );
    }
    let example = read("examples/background_save.rs");
    assert!(
        example.contains("default_value = \"background_save.svg\""),
        "background_save's default output must not be the tracked docs/background_save.svg"
    );
    let readme = read("README.md");
    assert!(
        readme.contains("cargo install --locked --path harness"),
        "README: how to get `forkspec`"
    );
    assert!(
        readme.contains("`python3`"),
        "README: `cargo test` needs python3"
    );
}
