//! The lab never leaves the implementation under test: every program it starts (the lab
//! itself, its exec probe, its zygote, every exec op) runs under the runner, either because
//! the runner follows exec or because the exec goes through the runner's command line.

mod cli;

use cli::forkspec;
use std::path::Path;
use std::process::Command;

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("runners-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
}

/// A case with three exec ops, in two tasks.
const THREE_EXECS: &str = r#"{"config":{"pages":8},"ops":[
  {"task":0,"kind":"fork"},
  {"task":1,"kind":"exec"},
  {"task":0,"kind":"exec"},
  {"task":1,"kind":"exec"}]}"#;

/// Writes a wrapper runner into `dir` that logs its arguments to `dir/log`, then execs them
/// in place; returns its path.
fn counting_wrapper(dir: &Path) -> String {
    let w = dir.join("wrap.sh");
    let log = dir.join("log");
    std::fs::write(
        &w,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec \"$@\"\n",
            log.display()
        ),
    )
    .expect("write the wrapper");
    let mut perm = std::fs::metadata(&w).expect("wrapper").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&w, perm).expect("chmod the wrapper");
    w.display().to_string()
}

/// The second word of each logged command line: which program of the lab was started.
fn started(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("log"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
        .collect()
}

#[test]
fn every_exec_goes_through_a_wrapper_runner() {
    let d = tmp();
    let case = d.path().join("case.json");
    std::fs::write(&case, THREE_EXECS).expect("write the case");
    let w = counting_wrapper(d.path());
    let (code, out, err) = forkspec(
        d.path(),
        &["replay", case.to_str().expect("utf-8 path"), "--runner", &w],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("model and implementation agree"), "{out}");
    // The wrapper shows no trace of itself in the lab, so the lab cannot prove that a
    // direct exec stays inside it: every program goes through the wrapper, exactly once:
    // the lab, its probe of the route, its zygote, and one re-executed agent per exec op.
    assert_eq!(
        started(d.path()),
        [
            "lab",
            "lab-exec-probe",
            "lab-zygote",
            "lab-agent",
            "lab-agent",
            "lab-agent"
        ],
        "{out}"
    );
}

#[test]
fn a_check_under_a_wrapper_runs_each_exec_op_through_it() {
    let d = tmp();
    let w = counting_wrapper(d.path());
    let report = d.path().join("r.json");
    let (code, out, err) = forkspec(
        d.path(),
        &[
            "check",
            "--cases",
            "60",
            "--seed",
            "11",
            "--runner",
            &w,
            "--json",
            report.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    assert_eq!(r["divergences"].as_array().map(Vec::len), Some(0), "{out}");
    let log = started(d.path());
    let count = |k: &str| log.iter().filter(|s| *s == k).count();
    let labs = count("lab");
    assert!(labs >= 1, "{log:?}");
    // Each lab proves its route once and starts one zygote.
    assert_eq!(count("lab-exec-probe"), labs, "{log:?}");
    assert_eq!(count("lab-zygote"), labs, "{log:?}");
    assert!(count("lab-agent") > 0, "no exec op ran: {log:?}");
    assert_eq!(
        log.len(),
        3 * labs + count("lab-agent"),
        "a program the lab started that is none of these: {log:?}"
    );
}

fn valgrind() -> bool {
    let there = Command::new("valgrind").arg("--version").output().is_ok();
    if !there {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "valgrind is not installed (.ci/run installs it)"
        );
        eprintln!("valgrind not installed: not tried");
    }
    there
}

#[test]
fn exec_ops_work_under_valgrind_following_exec_and_not() {
    use forkspec::backend::{Backend, ProcessBackend};
    use forkspec_model::{CaseConfig, Op, OpKind, Outcome};
    if !valgrind() {
        return;
    }
    // With --trace-children=yes valgrind follows exec (the lab execs itself directly);
    // without it every exec goes through `valgrind -q`. Either way the re-executed agent
    // comes back and answers, which it cannot when the exec runs valgrind's tool binary
    // (/proc/self/exe) or leaves valgrind. (What valgrind shows after the exec is its own
    // matter: docs/implementations.md.) One lab per runner, spoken to directly: a replay
    // would start several, each taking seconds under valgrind.
    let exe = Path::new(cli::FORKSPEC);
    for (runner, via) in [
        // --vgdb=no: valgrind leaves the FIFOs of its gdb server in TMPDIR when a task is
        // killed (every case's teardown kills).
        ("valgrind -q --vgdb=no --trace-children=yes", "direct"),
        ("valgrind -q --vgdb=no", "runner"),
    ] {
        let words: Vec<String> = runner.split(' ').map(String::from).collect();
        let mut lab = ProcessBackend::lab(exe, &words).expect("start the lab under valgrind");
        let hello = lab.hello().expect("hello");
        // As `check` does: an exec under valgrind takes seconds.
        lab.op_deadline = forkspec::deadline::effective(lab.op_deadline, hello.speed).0;
        let route = hello.exec_route.expect("the lab reports its exec route");
        assert_eq!(route.via, via, "{runner}: {route:?}");
        if via == "runner" {
            assert_eq!(
                route.argv[1..4],
                ["-q", "--vgdb=no", cli::FORKSPEC],
                "{route:?}"
            );
        }
        lab.setup(&CaseConfig::default()).expect("setup");
        let exec = Op {
            task: 0,
            kind: OpKind::Exec,
        };
        for _ in 0..2 {
            let (outcome, _) = lab.op(&exec, false).expect("exec op");
            assert_eq!(outcome, Outcome::Ret(0), "{runner}");
        }
        lab.end().expect("end");
    }
}

#[test]
fn an_exec_through_the_restricting_runner_keeps_the_mask_and_ignored_signals() {
    // `forkspec restrict` (native: every exec goes through it) must start the agent with
    // the state the exec op hands over: the blocked mask and the ignored SIGPIPE stay, the
    // caught SIGUSR1 resets. std's Command::exec would reset the mask and SIGPIPE.
    let d = tmp();
    let case = d.path().join("case.json");
    std::fs::write(
        &case,
        r#"{"config":{"pages":8},"ops":[
          {"task":0,"kind":"sigprocmask","how":"set_mask","set":["SIGHUP"]},
          {"task":0,"kind":"sigaction","sig":"SIGPIPE","action":"ignore"},
          {"task":0,"kind":"sigaction","sig":"SIGUSR1","action":"handler"},
          {"task":0,"kind":"exec"}]}"#,
    )
    .expect("write the case");
    let runner = format!("{} restrict --deny kcmp --", cli::FORKSPEC);
    let (code, out, err) = forkspec(
        d.path(),
        &[
            "replay",
            case.to_str().expect("utf-8 path"),
            "--runner",
            &runner,
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("model and implementation agree"), "{out}");
}
