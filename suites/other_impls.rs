//! Validating other implementations through the CLI: a transparent runner prefix, the Python
//! simulator of examples/pysim (correct and buggy), baselines, the JSON and JUnit reports,
//! corpus export and replay, and backends that misbehave.

mod cli;

use cli::{forkspec, pysim};

use serde_json::Value;
use std::path::{Path, PathBuf};

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("other-impls-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

fn fingerprints(report: &Value) -> Vec<String> {
    report["divergences"]
        .as_array()
        .expect("divergences")
        .iter()
        .map(|d| d["fingerprint"].as_str().expect("fingerprint").to_string())
        .collect()
}

#[test]
fn transparent_runners_change_nothing() {
    let d = tmp();
    // Not strace: a tracer is not transparent (README; ptrace changes signal delivery where a
    // task can see it). suites/implementations.rs checks strace against its baseline.
    for runner in ["env", "setarch x86_64"] {
        let report = p(d.path(), "r.json");
        let (code, out, err) = forkspec(
            d.path(),
            &[
                "check", "--cases", "40", "--seed", "3", "--runner", runner, "--json", &report,
            ],
        );
        assert_eq!(code, 0, "runner {runner}: {out}\n{err}");
        let r = json(Path::new(&report));
        assert_eq!(r["cases"], 40);
        assert!(fingerprints(&r).is_empty(), "runner {runner}: {out}");
    }
}

#[test]
fn python_simulator_agrees_on_what_it_implements() {
    let d = tmp();
    let report = p(d.path(), "r.json");
    let sim = pysim("");
    let (code, out, err) = forkspec(
        d.path(),
        &[
            "check",
            "--cases",
            "120",
            "--backend",
            &sim,
            "--level",
            "semantic",
            "--json",
            &report,
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let r = json(Path::new(&report));
    assert_eq!(r["level"], "semantic");
    assert!(r["implementation"].as_str().unwrap().starts_with("pysim"));
    assert!(fingerprints(&r).is_empty());
    let not_compared: Vec<&str> = r["not_compared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["what"].as_str().unwrap())
        .collect();
    for kind in [
        "op:madvise",
        "op:pread",
        "op:fcntl",
        "pfn",
        "kcmp",
        "internal",
    ] {
        assert!(not_compared.contains(&kind), "{kind} in {not_compared:?}");
    }
    for kind in ["op:fork", "op:read", "op:pipe2"] {
        assert!(!not_compared.contains(&kind), "{kind} in {not_compared:?}");
    }
}

/// Runs the buggy simulator with a JSON and a JUnit report; returns the JSON report.
fn buggy_check(dir: &Path, extra: &[&str]) -> (i32, Value, String) {
    let report = p(dir, "buggy.json");
    let junit = p(dir, "buggy.xml");
    let markdown = p(dir, "buggy.md");
    let out_dir = p(dir, "divergences");
    let sim = pysim("") + " --buggy";
    let mut args = vec![
        "check",
        "--cases",
        "60",
        "--suite",
        "fd",
        "--backend",
        &sim,
        "--json",
        &report,
        "--junit",
        &junit,
        "--markdown",
        &markdown,
        "--out",
        &out_dir,
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = forkspec(dir, &args);
    assert!(code == 0 || code == 1, "{out}\n{err}");
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    let r = json(Path::new(&report));
    let md = std::fs::read_to_string(&markdown).expect("markdown written");
    for fp in fingerprints(&r) {
        assert!(md.contains(&format!("`{fp}`")), "{fp} in {md}");
    }
    (code, r, xml)
}

#[test]
fn buggy_simulator_is_caught_with_a_minimal_case_in_json_and_junit() {
    let d = tmp();
    let (code, r, xml) = buggy_check(d.path(), &[]);
    assert_eq!(code, 1);
    let divs = r["divergences"].as_array().unwrap();
    assert!(!divs.is_empty());
    let shortest = divs
        .iter()
        .map(|d| d["sequence"].as_array().unwrap().len())
        .min()
        .unwrap();
    assert!(shortest <= 4, "minimal sequences: {divs:?}");
    for div in divs {
        for key in [
            "fingerprint",
            "level",
            "sequence",
            "step",
            "expected",
            "actual",
        ] {
            assert!(!div[key].is_null(), "{key} in {div}");
        }
        assert_eq!(div["level"], "semantic");
        let case_file = div["case_file"].as_str().expect("case_file");
        assert!(Path::new(case_file).is_file());
    }

    // JUnit: one failed test case per fingerprint plus a passing summary.
    let doc = roxmltree::Document::parse(&xml).expect("well-formed JUnit XML");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("testsuite");
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), divs.len() + 1);
    assert_eq!(
        suite.attribute("failures"),
        Some(divs.len().to_string().as_str())
    );
    for fp in fingerprints(&r) {
        let case = cases
            .iter()
            .find(|c| c.attribute("name").unwrap().contains(&fp))
            .unwrap_or_else(|| panic!("no test case for {fp}"));
        assert!(case.children().any(|n| n.has_tag_name("failure")));
    }
    let summary = cases.last().unwrap();
    assert!(summary.attribute("name").unwrap().starts_with("summary"));
    assert_eq!(summary.children().filter(|n| n.is_element()).count(), 0);

    // The same divergences come back with another seed: fingerprints are stable.
    let (_, again, _) = buggy_check(d.path(), &["--seed", "99"]);
    let later = fingerprints(&again);
    assert!(fingerprints(&r).iter().any(|fp| later.contains(fp)));
}

/// Two independent bugs of the simulator (fork copies the open file descriptions; dup3
/// ignores O_CLOEXEC) are two causes with one fingerprint each, though each is met in many
/// cases with other ops, tasks and fds; another seed finds the same two.
#[test]
fn two_bugs_are_two_causes_with_one_fingerprint_each_across_seeds() {
    let d = tmp();
    let sim = pysim(" --buggy --buggy-cloexec");
    let run = |seed: &str| -> Vec<(String, String)> {
        let report = p(d.path(), &format!("two-{seed}.json"));
        let out_dir = p(d.path(), &format!("div-{seed}"));
        let (code, out, err) = forkspec(
            d.path(),
            &[
                "check",
                "--cases",
                "200",
                "--suite",
                "fd",
                "--seed",
                seed,
                "--no-shrink",
                "--backend",
                &sim,
                "--json",
                &report,
                "--out",
                &out_dir,
            ],
        );
        assert_eq!(code, 1, "{out}\n{err}");
        let r = json(Path::new(&report));
        let mut v: Vec<(String, String)> = r["divergences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let s = |k: &str| d[k].as_str().expect(k).to_string();
                (s("cause"), s("fingerprint"))
            })
            .collect();
        v.sort();
        v
    };
    let first = run("5");
    let causes: Vec<&str> = first.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        causes,
        [
            "t*.fd[*].cloexec: false (model: true) (an fd of the op)",
            "t*.fd[*].offset differs (not an fd of the op)",
        ]
    );
    assert_eq!(
        run("99"),
        first,
        "the same causes and fingerprints with another seed"
    );
}

#[test]
fn baseline_known_new_and_fixed() {
    let d = tmp();
    let base = p(d.path(), "base.json");
    let sim = pysim("") + " --buggy";
    let out_dir = p(d.path(), "divergences");
    let common = [
        "--cases",
        "60",
        "--suite",
        "fd",
        "--backend",
        &sim,
        "--out",
        &out_dir,
    ];
    let mut args = vec!["baseline", "write", &base];
    args.extend_from_slice(&common);
    let (code, out, err) = forkspec(d.path(), &args);
    assert_eq!(code, 0, "{out}\n{err}");
    let recorded = json(Path::new(&base));
    let fps = fingerprints(&recorded);
    assert!(!fps.is_empty());

    // Every divergence known: the run passes.
    let report = p(d.path(), "r.json");
    let mut args = vec!["check", "--baseline", &base, "--json", &report];
    args.extend_from_slice(&common);
    let (code, out, err) = forkspec(d.path(), &args);
    assert_eq!(code, 0, "{out}\n{err}");
    let r = json(Path::new(&report));
    assert_eq!(r["baseline"]["new"].as_array().unwrap().len(), 0);
    assert_eq!(r["baseline"]["known"].as_array().unwrap().len(), fps.len());

    // One forgotten (new: fails) and one that no longer happens (fixed: announced).
    let mut edited = recorded.clone();
    let entries = edited["divergences"].as_array_mut().unwrap();
    let dropped = entries.remove(0)["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    entries.push(serde_json::json!({"fingerprint": "00000000deadbeef", "note": "gone"}));
    std::fs::write(&base, serde_json::to_string_pretty(&edited).unwrap()).unwrap();
    let (code, out, err) = forkspec(d.path(), &args);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("FIXED 00000000deadbeef"), "{out}");
    let r = json(Path::new(&report));
    assert_eq!(r["baseline"]["new"], serde_json::json!([dropped]));
    assert_eq!(
        r["baseline"]["fixed"],
        serde_json::json!(["00000000deadbeef"])
    );

    // A malformed baseline is a usage error naming the file and line.
    std::fs::write(
        &base,
        "{\n  \"forkspec_baseline\": 1,\n  \"divergences\": [\n    {\"fingerprint\": 7}\n  ]\n}\n",
    )
    .unwrap();
    let (code, _, err) = forkspec(d.path(), &args);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("{base}:4:")), "{err}");
}

#[test]
fn exported_corpus_replays_on_the_lab_and_the_simulator() {
    let d = tmp();
    let dir = p(d.path(), "corpus");
    let ops = "fork,exit,wait,mem_read,mem_write,open,close,dup,dup2,dup3,read,write,lseek,pipe2";
    let (code, out, err) = forkspec(
        d.path(),
        &[
            "corpus", "export", &dir, "--cases", "6", "--seed", "4", "--suite", "fd", "--ops", ops,
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let index = json(&PathBuf::from(&dir).join("index.json"));
    assert_eq!(index["cases"].as_array().unwrap().len(), 6);
    let case = PathBuf::from(&dir).join("case-0003.json");
    let c = json(&case);
    assert_eq!(c["corpus_format"], 1);
    let n = c["ops"].as_array().unwrap().len();
    assert_eq!(c["expected"].as_array().unwrap().len(), n);
    for step in c["expected"].as_array().unwrap() {
        assert!(!step["allowed"].as_array().unwrap().is_empty());
        assert!(step["snapshot"]["tasks"].is_array());
    }
    let case = case.display().to_string();
    let (code, out, err) = forkspec(d.path(), &["replay", &case]);
    assert_eq!(code, 0, "{out}\n{err}");
    let sim = pysim("");
    let (code, out, err) = forkspec(d.path(), &["replay", &case, "--backend", &sim]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("agree"), "{out}");

    // A case with an op the simulator does not implement is refused, naming the op.
    let fcntl = p(d.path(), "fcntl.json");
    std::fs::write(
        &fcntl,
        r#"{"ops":[{"task":0,"kind":"pipe2"},{"task":0,"kind":"fcntl","fd":0,"cmd":"get_fl"}]}"#,
    )
    .unwrap();
    let (code, _, err) = forkspec(d.path(), &["replay", &fcntl, "--backend", &sim]);
    assert_eq!(code, 2);
    assert!(err.contains("`fcntl`"), "{err}");
}

#[test]
fn misbehaving_backends_are_clear_errors() {
    let d = tmp();
    let script = |name: &str, body: &str| -> String {
        let path = d.path().join(name);
        std::fs::write(&path, body).unwrap();
        format!("exec:python3 '{}'", path.display())
    };
    let hello = r#"{"hello":{"protocol":1,"implementation":"x","ops":["fork"]}}"#;
    let cases = [
        (
            script("crash.py", "import sys\nsys.exit(3)\n"),
            "backend died",
        ),
        (
            script(
                "garbage.py",
                "import sys\nsys.stdin.readline()\nprint('hello?', flush=True)\nsys.stdin.readline()\n",
            ),
            "garbage",
        ),
        (
            script(
                "version.py",
                "import sys\nsys.stdin.readline()\nprint('{\"hello\":{\"protocol\":9,\"implementation\":\"x\"}}', flush=True)\nsys.stdin.readline()\n",
            ),
            "protocol version 9",
        ),
        (
            script(
                "dies.py",
                &format!(
                    "import sys\nsys.stdin.readline()\nprint('{}', flush=True)\n",
                    hello.replace('\'', "\\'")
                ),
            ),
            "backend died",
        ),
    ];
    // Answers hello and setup, then never answers an op (it leaves when stdin closes).
    let silent = script(
        "silent.py",
        &format!(
            "import sys\nfor line in sys.stdin:\n    if 'hello' in line: print('{}', flush=True)\n    elif 'setup' in line: print('\"ready\"', flush=True)\n",
            hello.replace('\'', "\\'")
        ),
    );
    let cases = cases.into_iter().chain([(silent, "gave no answer to op")]);
    for (backend, expected) in cases {
        let report = p(d.path(), "r.json");
        let (code, out, err) = forkspec(
            d.path(),
            &[
                "check",
                "--cases",
                "5",
                "--backend",
                &backend,
                "--json",
                &report,
                "--deadline-ms",
                "50",
                "--slack-ms",
                "200",
            ],
        );
        assert_eq!(code, 2, "{backend}: {out}\n{err}");
        assert!(err.contains(expected), "{backend}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // The one that died after hello still left the report of what ran.
    let r = json(&d.path().join("r.json"));
    assert!(!r["errors"].as_array().unwrap().is_empty());
}

/// Pipelined ops stay in step with the backend: an op refused in the middle of a window, and
/// a stop asked for by the caller, still leave every answer read, so the next request gets
/// its own answer. The simulator answers `ret` = the op's index in the case and refuses the
/// op with index 2.
#[test]
fn pipelined_ops_stay_in_step_after_a_refusal_and_a_stop() {
    use forkspec::backend::{Backend, BackendError, ProcessBackend};
    use forkspec_model::{CaseConfig, Op, OpKind, Outcome};
    let d = tmp();
    let path = d.path().join("counting.py");
    std::fs::write(
        &path,
        r#"import json, sys
n = 0
for line in sys.stdin:
    req = json.loads(line)
    cmd = req["cmd"]
    if cmd == "hello":
        out = {"hello": {"protocol": 1, "implementation": "counting"}}
    elif cmd == "setup":
        n = 0
        out = "ready"
    elif cmd == "op":
        out = {"error": "refused op 2"} if n == 2 else {"done": {"outcome": {"ret": n}}}
        n += 1
    else:
        out = "ended"
    print(json.dumps(out), flush=True)
"#,
    )
    .unwrap();
    let mut b = ProcessBackend::spawn(&["python3".into(), path.display().to_string()]).unwrap();
    b.hello().unwrap();
    let ops: Vec<Op> = (0..6)
        .map(|_| Op {
            task: 0,
            kind: OpKind::Uname,
        })
        .collect();
    let config = CaseConfig { pages: 1 };
    // A refusal ends the run with that refusal; the ops before it were handed over.
    b.setup(&config).unwrap();
    let mut seen = Vec::new();
    let r = b.ops(&ops, false, &mut |i, o, _| {
        seen.push((i, o));
        true
    });
    assert!(
        matches!(&r, Err(BackendError::Refused(m)) if m.contains("refused op 2")),
        "{r:?}"
    );
    assert_eq!(seen, vec![(0, Outcome::Ret(0)), (1, Outcome::Ret(1))]);
    b.end().unwrap();
    // A stop asked for at op 1 is no error, even though op 2 (already sent) was refused.
    b.setup(&config).unwrap();
    let mut seen = Vec::new();
    b.ops(&ops, false, &mut |i, o, _| {
        seen.push((i, o));
        i < 1
    })
    .unwrap();
    assert_eq!(seen, vec![(0, Outcome::Ret(0)), (1, Outcome::Ret(1))]);
    b.end().unwrap();
    // And the next case starts from a clean slate.
    b.setup(&config).unwrap();
    let mut seen = Vec::new();
    b.ops(&ops[..2], false, &mut |i, o, _| {
        seen.push((i, o));
        true
    })
    .unwrap();
    assert_eq!(seen, vec![(0, Outcome::Ret(0)), (1, Outcome::Ret(1))]);
    b.end().unwrap();
}
