//! The lab's facility fallbacks (docs/kernels.md, "Lab facilities"), exercised on the running kernel with
//! `FORKSPEC_LAB_DENY`, which makes the lab's probe treat facilities as missing: with each
//! one denied, one at a time and all together, generated cases still run to the end with no
//! divergence, and "not compared" lists exactly what the denied facilities were needed for.

use std::collections::BTreeSet;
use std::process::Command;

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_forkspec")
}

/// A private directory for the case directories of one run, removed at the end.
struct Tmp(std::path::PathBuf);

impl Tmp {
    fn new(tag: &str) -> Tmp {
        let base = std::env::var_os("FORKSPEC_TMPDIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        // Tests run in parallel: a counter keeps their directories apart.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let d = base.join(format!(
            "forkspec-facilities-{tag}-{}-{n}",
            std::process::id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        Tmp(d)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `forkspec check` with `deny`; returns the JSON report's `not_compared` kinds, after
/// asserting that the run ended with 0 divergences and 0 errors.
fn check_denied(deny: &str, cases: u32, seed: u32) -> BTreeSet<String> {
    let tmp = Tmp::new(&deny.replace(',', "+"));
    let json = tmp.0.join("report.json");
    let mut cmd = Command::new(exe());
    cmd.args(["check", "--no-shrink"]);
    if deny == "all" || deny.split(',').any(|d| d == "proc_syscall") {
        // Without /proc/PID/syscall every op the model predicts to block costs the op
        // deadline (the fallback): the least one keeps the run short.
        cmd.args(["--deadline-ms", "250"]);
    }
    let out = cmd
        .arg("--cases")
        .arg(cases.to_string())
        .arg("--seed")
        .arg(seed.to_string())
        .arg("--json")
        .arg(&json)
        // A divergence's case file goes to the test's own directory, never the source tree.
        .arg("--out")
        .arg(tmp.0.join("divergences"))
        .env("FORKSPEC_LAB_DENY", deny)
        .env("FORKSPEC_TMPDIR", &tmp.0)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "FORKSPEC_LAB_DENY={deny}: {text}\n{err}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["cases"], cases, "{deny}: {text}");
    assert_eq!(
        report["divergences"].as_array().map(Vec::len),
        Some(0),
        "{deny}: {text}"
    );
    assert_eq!(
        report["errors"].as_array().map(Vec::len),
        Some(0),
        "{deny}: {text}"
    );
    report["not_compared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["what"].as_str().unwrap().to_string())
        .collect()
}

/// What not having each facility costs in "not compared", beyond what this environment
/// leaves out anyway.
const COSTS: &[(&str, &[&str])] = &[
    ("subreaper", &["orphans"]),
    ("pidfd", &["pipe_size", "reaped_status"]),
    ("pidfd_thread", &[]),
    ("pidfd_info_exit", &["reaped_status"]),
    ("pidfd_ns", &[]),
    ("pidfd_getfd", &["pipe_size"]),
    ("kcmp", &["kcmp"]),
    ("pagemap", &["pagemap", "pfn"]),
    ("pfn", &["pfn"]),
    ("procmap_query", &[]),
    ("process_vm_readv", &[]),
    ("close_range", &[]),
    ("thp", &[]),
    ("clone_parent", &[]),
    ("fixed_addresses", &[]),
    (
        "mapping_slot",
        &[
            "op:mmap",
            "op:munmap",
            "op:mprotect",
            "op:mremap",
            "op:mlock",
            "op:munlock",
        ],
    ),
    ("proc_locks", &["locks"]),
    // Only the deadline tells a blocked op: the blocking forms are not generated.
    ("proc_syscall", &["blocking"]),
];

/// Whether this runs in the initial pid namespace (pid 2 is kthreadd there; in a container
/// or under `unshare --pid` it is a task of that namespace, or nobody).
fn in_initial_pid_namespace() -> bool {
    std::fs::read_to_string("/proc/2/comm").is_ok_and(|c| c.trim() == "kthreadd")
}

fn expected(base: &BTreeSet<String>, denied: &[&str]) -> BTreeSet<String> {
    let mut e = base.clone();
    for d in denied {
        let (_, cost) = COSTS.iter().find(|(n, _)| n == d).unwrap();
        e.extend(cost.iter().map(|s| s.to_string()));
        // Without kcmp the locks come from /proc/locks, which outside the initial pid
        // namespace hides a lock whose owner was reaped (docs/kernels.md).
        if *d == "kcmp" && !in_initial_pid_namespace() {
            e.insert("locks".to_string());
        }
    }
    e
}

/// Every facility denied alone: no divergence, and exactly its cost under "not compared".
#[test]
fn each_facility_denied_alone_costs_only_what_needs_it() {
    let base = check_denied("", 60, 3);
    for (i, (name, _)) in COSTS.iter().enumerate() {
        let got = check_denied(name, 120, 100 + i as u32);
        assert_eq!(got, expected(&base, &[name]), "FORKSPEC_LAB_DENY={name}");
    }
}

/// Every facility denied at once: the lab still runs every case, with the union of the
/// costs not compared.
#[test]
fn every_facility_denied_at_once_still_runs() {
    let base = check_denied("", 40, 5);
    let names: Vec<&str> = COSTS.iter().map(|(n, _)| *n).collect();
    let got = check_denied("all", 300, 7);
    assert_eq!(got, expected(&base, &names));
}

/// A name the lab does not know is an error at start-up, not a silent test of nothing.
#[test]
fn an_unknown_facility_name_is_an_error() {
    let tmp = Tmp::new("typo");
    let out = Command::new(exe())
        .args(["check", "--cases", "1"])
        .current_dir(&tmp.0)
        .env("FORKSPEC_LAB_DENY", "pidfd_thraed")
        .env("FORKSPEC_TMPDIR", &tmp.0)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("pidfd_thraed"), "{err}");
}

/// Without /proc/PID/syscall the op deadline decides "blocked" (the fallback): a wait for a
/// live child is answered `blocked` only once the deadline has passed (never before: the
/// lab cannot see it asleep), and the child's exit still wakes it at that step.
#[test]
fn without_proc_syscall_the_deadline_decides_blocked() {
    use forkspec::backend::{Backend, ProcessBackend};
    use forkspec_model::*;
    let tmp = Tmp::new("proc_syscall");
    let mut cmd = Command::new(exe());
    cmd.arg("lab")
        .env("FORKSPEC_LAB_DENY", "proc_syscall")
        .env("TMPDIR", &tmp.0)
        .stderr(std::process::Stdio::inherit());
    let argv = [exe().to_string(), "lab".to_string()];
    let (mut b, _) = ProcessBackend::spawn_command(cmd, &argv).unwrap();
    let deadline = std::time::Duration::from_millis(300);
    b.op_deadline = deadline;
    let hello = b.hello().unwrap();
    assert!(
        hello
            .blocked_by_deadline
            .is_some_and(|why| why.contains("proc")),
        "the hello says that only the deadline tells a blocked op"
    );
    b.setup(&CaseConfig::default()).unwrap();
    let op = |task, kind| Op { task, kind };
    b.op(&op(0, OpKind::Fork), false).unwrap();
    let wait = OpKind::Wait {
        target: WaitTarget::Task(1),
        options: WaitOptions::default(),
    };
    let start = std::time::Instant::now();
    let (out, _) = b.op(&op(0, wait), false).unwrap();
    assert_eq!(out, Outcome::Blocked);
    // A lower bound only: the fallback cannot answer before its deadline.
    assert!(start.elapsed() >= deadline, "{:?}", start.elapsed());
    let exit = OpKind::Exit {
        code: 2,
        thread: false,
    };
    let (out, snap) = b.op(&op(1, exit), true).unwrap();
    assert_eq!(out, Outcome::Exited);
    let snap = snap.unwrap();
    assert_eq!(snap.task(0).map(|t| t.state), Some(TaskState::Live));
    assert!(snap.task(1).is_none(), "t1 reaped by the woken wait");
    b.end().unwrap();
}
