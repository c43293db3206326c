//! The restricting runner (`forkspec restrict --deny LIST -- CMD`): the seccomp filter refuses
//! exactly the listed calls, and the lab run under it with each facility it relies on denied
//! (one at a time and all together) completes with no false divergence and says what it did
//! not compare; with clone3 or kill (calls under test) denied, the only divergences are those
//! ops failing with ENOSYS, the real deviation such a kernel has, each one cause with one
//! fingerprint.

mod leftovers;

use forkspec::backend::{Backend, ProcessBackend};
use forkspec_model::{CaseConfig, Op, OpKind, Outcome};
use leftovers::{assert_gone_within_a_second, private_tmp};
use serde_json::Value;
use std::process::Command;

const FORKSPEC: &str = env!("CARGO_BIN_EXE_forkspec");

/// Cases per run: enough to reach every op kind of the standard mix several times.
const CASES: &str = "150";

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("restrict-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
}

/// `python3 -c PROG` under `forkspec restrict --deny deny`: its stdout, or `None` without
/// python3.
fn python_under(deny: &str, prog: &str) -> Option<String> {
    Command::new("python3").arg("-V").output().ok()?;
    let out = Command::new(FORKSPEC)
        .args(["restrict", "--deny", deny, "--", "python3", "-c", prog])
        .output()
        .expect("run forkspec restrict");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A python program printing `errno` (0 on success) of each raw call, space-separated: the
/// program runs after the exec, so the filter was kept across it.
const CALLS: &str = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(*a):
    ctypes.set_errno(0)
    r = libc.syscall(*[ctypes.c_long(x) for x in a])
    return 0 if r >= 0 else ctypes.get_errno()
me = os.getpid()
PR_SET_CHILD_SUBREAPER, PR_GET_DUMPABLE = 36, 3
print(call(434, me, 0),            # pidfd_open
      call(312, me, me, 1, 0, 0),  # kcmp KCMP_VM
      call(157, PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0),
      call(157, PR_GET_DUMPABLE, 0, 0, 0, 0),
      call(39))                    # getpid
"#;

#[test]
fn the_filter_refuses_exactly_the_listed_calls_after_exec() {
    let Some(free) = python_under("process_vm_writev", CALLS) else {
        eprintln!("python3 not installed: the end-to-end filter check is skipped");
        return;
    };
    assert_eq!(free, "0 0 0 0 0", "nothing listed is refused");
    let denied = python_under("pidfds,kcmp,prctl:PR_SET_CHILD_SUBREAPER", CALLS).unwrap();
    let (enosys, einval) = (libc::ENOSYS, libc::EINVAL);
    assert_eq!(denied, format!("{enosys} {enosys} {einval} 0 0"));
    let chosen = python_under("kcmp=EPERM", CALLS).unwrap();
    assert_eq!(chosen, format!("0 {} 0 0 0", libc::EPERM));
}

#[test]
fn bad_lists_and_commands_are_usage_errors() {
    let out = Command::new(FORKSPEC)
        .args(["restrict", "--deny", "no_such_call", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_call"));
    let out = Command::new(FORKSPEC)
        .args(["restrict", "--deny", "kcmp", "--", "/nonexistent/cmd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
}

/// Runs `forkspec check` with the lab under `restrict --deny deny`; returns the exit code,
/// the JSON report and the printed output.
fn check_under(deny: &str, extra: &[&str]) -> (i32, Value, String) {
    check_started_by(&[], deny, extra)
}

/// [`check_under`] with `forkspec check` itself started by `wrapper` (a command prefix).
fn check_started_by(wrapper: &[&str], deny: &str, extra: &[&str]) -> (i32, Value, String) {
    let d = tmp();
    let report = d.path().join("r.json");
    let runner = format!("'{FORKSPEC}' restrict --deny {deny} --");
    let mut cmd = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(FORKSPEC);
            c
        }
        None => Command::new(FORKSPEC),
    };
    let out = cmd
        .args(["check", "--cases", CASES, "--seed", "5", "--no-shrink"])
        .args(["--runner", &runner, "--json"])
        .arg(&report)
        .args(extra)
        .current_dir(d.path())
        .env_remove("CI")
        .output()
        .expect("run forkspec check");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, text)
}

fn not_compared(r: &Value) -> Vec<String> {
    r["not_compared"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// What a case's own `prctl(PR_SET_CHILD_SUBREAPER)` ops answer when the runner refuses the
/// option (as a kernel before 3.4 would): the lab survives it, the op is a real deviation.
const SUBREAPER_REFUSED: &str = "prctl(PR_SET_CHILD_SUBREAPER) → EINVAL (model: a value)";

/// The pidfd calls the `pidfds` group denies are under test too (the pidfd ops): denied,
/// each op answers the call's ENOSYS, a real deviation of the restricted implementation, one
/// cause per call; whether a run meets each depends on its cases.
const PIDFD_CALLS_REFUSED: [&str; 3] = [
    "pidfd_open → ENOSYS (not implemented)",
    "pidfd_send_signal → ENOSYS (not implemented)",
    "pidfd_getfd → ENOSYS (not implemented)",
];

/// The deviations a run under `--deny deny` may show besides the denied calls' ENOSYS.
fn op_deviations(deny: &str) -> Vec<&'static str> {
    let mut v = vec![];
    if deny.split(',').any(|d| d == "prctl:PR_SET_CHILD_SUBREAPER") {
        v.push(SUBREAPER_REFUSED);
    }
    if deny.split(',').any(|d| d == "pidfds") {
        v.extend(PIDFD_CALLS_REFUSED);
    }
    v
}

/// A facility the lab uses (not under test) denied: the run completes with no divergence
/// but the denied facility's own op, when the op language has it (the subreaper).
fn denied_facility_is_survived(deny: &str) -> Value {
    let (code, r, text) = check_under(deny, &[]);
    assert_eq!(r["cases"].as_u64(), Some(CASES.parse().unwrap()), "{text}");
    let wanted = op_deviations(deny);
    let divs = r["divergences"].as_array().expect("divergences");
    let causes: Vec<&str> = divs.iter().map(|d| d["cause"].as_str().unwrap()).collect();
    assert!(
        causes.iter().all(|c| wanted.contains(c)),
        "--deny {deny}: {text}"
    );
    assert_eq!(code, i32::from(!causes.is_empty()), "--deny {deny}: {text}");
    r
}

#[test]
fn kcmp_denied() {
    let r = denied_facility_is_survived("kcmp");
    let nc = not_compared(&r).join(" ");
    assert!(nc.contains("kcmp"), "kcmp denied must be reported: {nc}");
}

#[test]
fn process_vm_readv_denied() {
    denied_facility_is_survived("process_vm_readv");
}

#[test]
fn procmap_query_denied() {
    denied_facility_is_survived("ioctl:PROCMAP_QUERY");
}

#[test]
fn pidfd_info_denied() {
    denied_facility_is_survived("ioctl:PIDFD_GET_INFO");
}

#[test]
fn subreaper_denied() {
    denied_facility_is_survived("prctl:PR_SET_CHILD_SUBREAPER");
}

/// The lab survives without pidfds; the pidfd ops of the mix answer their call's ENOSYS
/// (and nothing else diverges).
#[test]
fn pidfds_denied() {
    let r = denied_facility_is_survived("pidfds");
    let divs = r["divergences"].as_array().expect("divergences");
    assert!(
        divs.iter()
            .any(|d| d["cause"].as_str() == Some(PIDFD_CALLS_REFUSED[0])),
        "pidfd_open is in the mix: {r}"
    );
}

#[test]
fn every_facility_denied_at_once() {
    denied_facility_is_survived(
        "pidfds,kcmp,process_vm_readv,ioctl:PROCMAP_QUERY,ioctl:PIDFD_GET_INFO,\
         prctl:PR_SET_CHILD_SUBREAPER",
    );
}

/// The divergences of a run under `--deny deny` (with `extra` options): every one is an
/// op answering ENOSYS, and there is exactly one per denied call under test, whatever op
/// arguments, model answers and cases it showed in (one cause, one fingerprint). Returns
/// (fingerprint, cause) by cause.
fn one_fingerprint_per_denied_call(
    deny: &str,
    extra: &[&str],
    calls: &[&str],
) -> Vec<(String, String)> {
    let (code, r, text) = check_under(deny, extra);
    assert_eq!(code, 1, "--deny {deny} must diverge: {text}");
    let divs = r["divergences"].as_array().expect("divergences");
    let mut found: Vec<(String, String)> = divs
        .iter()
        .map(|d| {
            assert!(
                d["actual"].to_string().contains("ENOSYS")
                    || op_deviations(deny).contains(&d["cause"].as_str().unwrap_or_default()),
                "a divergence that is not a denied call's ENOSYS: {d}"
            );
            let s = |k: &str| d[k].as_str().expect(k).to_string();
            (s("cause"), s("fingerprint"))
        })
        .collect();
    found.sort();
    let mut wanted: Vec<String> = calls
        .iter()
        .map(|c| format!("{c} → ENOSYS (not implemented)"))
        .collect();
    wanted.sort();
    // A denied facility's own op (the subreaper's prctl) may show too, when a case reaches
    // it before a denied call.
    let optional = op_deviations(deny);
    found.retain(|(c, _)| !optional.contains(&c.as_str()));
    let causes: Vec<&String> = found.iter().map(|(c, _)| c).collect();
    assert_eq!(
        causes,
        wanted.iter().collect::<Vec<_>>(),
        "--deny {deny}: {text}"
    );
    let counts: Vec<u64> = divs
        .iter()
        .filter(|d| !optional.contains(&d["cause"].as_str().unwrap_or_default()))
        .map(|d| d["count"].as_u64().unwrap())
        .collect();
    assert!(
        counts.iter().all(|&n| n > 1),
        "each cause is met in several cases (so they could have fanned out): {counts:?}"
    );
    found.into_iter().map(|(c, f)| (f, c)).collect()
}

#[test]
fn clone3_denied_is_the_only_deviation_with_one_fingerprint() {
    // clone ops only, so every case can reach clone3 (with flags for which the model expects
    // a child, EINVAL, EBADF or E2BIG: one cause all the same).
    one_fingerprint_per_denied_call("clone3", &["--suite", "clone"], &["clone3"]);
}

#[test]
fn kill_denied_is_one_deviation_whatever_the_signal() {
    // kill is met with a dozen signals, for which the model expects a death or success.
    one_fingerprint_per_denied_call("kill", &[], &["kill"]);
}

#[test]
fn kill_and_pidfds_denied_the_lab_ends_tasks_with_tkill_and_kill_stays_one_deviation() {
    one_fingerprint_per_denied_call("kill,pidfds", &[], &["kill"]);
}

#[test]
fn wait4_denied_is_one_deviation_the_wait_ops() {
    // The lab reaps with waitid: only the wait ops (wait4) answer ENOSYS.
    one_fingerprint_per_denied_call("wait4", &[], &["wait"]);
}

#[test]
fn calls_under_test_and_facilities_denied_together_keep_one_fingerprint_each() {
    let alone = one_fingerprint_per_denied_call("madvise", &[], &["madvise"]);
    let together = one_fingerprint_per_denied_call(
        "clone3,madvise,vfork,pidfds,kcmp,process_vm_readv,ioctl:PROCMAP_QUERY,\
         ioctl:PIDFD_GET_INFO,prctl:PR_SET_CHILD_SUBREAPER",
        &[],
        &["clone3", "madvise", "vfork"],
    );
    assert!(
        together.contains(&alone[0]),
        "madvise's fingerprint does not depend on what else is denied: {together:?} {alone:?}"
    );
}

/// Zombie children of `parent`: a lab's unreaped tasks, which outlive it (as orphans of an
/// init that may never reap them) once it exits.
fn zombie_children(parent: u32) -> Vec<u32> {
    let mut pids = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let mut f = stat.rsplit(')').next().unwrap_or("").split_whitespace();
        let (state, ppid) = (f.next(), f.next().and_then(|p| p.parse::<u32>().ok()));
        if state == Some("Z") && ppid == Some(parent) {
            pids.push(pid);
        }
    }
    pids
}

/// Runs a few cases (forks, threads' worth of tasks and a pipe) in a lab under `restrict
/// --deny deny`: each ends without error, the lab holds no unreaped task between cases, and
/// once the backend is dropped no process of the lab and no case directory is left.
fn lab_under_cleans_up(deny: &str) {
    let dir = private_tmp(&format!("restrict-{}", deny.replace(',', "-")));
    {
        let runner: Vec<String> = [FORKSPEC, "restrict", "--deny", deny, "--"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut b = ProcessBackend::lab_in(std::path::Path::new(FORKSPEC), &runner, &dir)
            .unwrap_or_else(|e| panic!("--deny {deny}: {e}"));
        b.hello().unwrap_or_else(|e| panic!("--deny {deny}: {e}"));
        for _ in 0..3 {
            b.setup(&CaseConfig::default()).unwrap();
            for task in 0..4 {
                b.op(
                    &Op {
                        task,
                        kind: OpKind::Fork,
                    },
                    false,
                )
                .unwrap();
            }
            b.end().unwrap_or_else(|e| panic!("--deny {deny}: {e}"));
            let zombies = zombie_children(b.pid());
            assert!(zombies.is_empty(), "--deny {deny}: unreaped: {zombies:?}");
        }
    }
    assert_gone_within_a_second(&dir);
}

#[test]
fn wait4_or_waitid_denied_the_lab_still_reaps_everything() {
    lab_under_cleans_up("wait4");
    lab_under_cleans_up("waitid");
}

#[test]
fn close_range_denied_the_guardian_still_exits_with_the_lab() {
    lab_under_cleans_up("close_range");
}

#[test]
fn teardown_ends_every_task_whichever_signalling_call_is_denied() {
    for deny in ["kill,pidfds", "kill", "tkill,pidfds", "tgkill", "pidfds"] {
        lab_under_cleans_up(deny);
    }
}

#[test]
fn clone_denied_the_lab_still_starts_and_cleans_up() {
    lab_under_cleans_up("clone");
}

#[test]
fn without_kill_the_guardian_still_ends_a_blocked_task_when_the_lab_dies() {
    // A task blocked reading a pipe it holds both ends of never sees the lab's end: only
    // the guardian's kill ends it, here with kill(2) and pidfds refused.
    let dir = private_tmp("restrict-guardian");
    {
        let runner: Vec<String> = [FORKSPEC, "restrict", "--deny", "kill,pidfds", "--"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut b = ProcessBackend::lab_in(std::path::Path::new(FORKSPEC), &runner, &dir).unwrap();
        b.op_deadline = std::time::Duration::from_millis(200);
        b.hello().unwrap();
        b.setup(&CaseConfig::default()).unwrap();
        // Not t0, which dies with the lab (PR_SET_PDEATHSIG): its child.
        let fork = Op {
            task: 0,
            kind: OpKind::Fork,
        };
        b.op(&fork, false).unwrap();
        let pipe = OpKind::Pipe2 {
            cloexec: false,
            nonblock: false,
        };
        let (out, _) = b
            .op(
                &Op {
                    task: 1,
                    kind: pipe,
                },
                false,
            )
            .unwrap();
        let Outcome::Pipe([rd, _]) = out else {
            panic!("pipe2: {out:?}")
        };
        let read = OpKind::Read { fd: rd, len: 1 };
        let (out, _) = b
            .op(
                &Op {
                    task: 1,
                    kind: read,
                },
                false,
            )
            .unwrap();
        assert_eq!(out, Outcome::Blocked);
        b.kill();
    }
    assert_gone_within_a_second(&dir);
}

#[test]
fn a_lab_that_could_not_remove_its_case_directories_refuses_to_start() {
    let out = Command::new(FORKSPEC)
        .args(["restrict", "--deny", "getdents64", "--", FORKSPEC, "lab"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("getdents64"), "{err}");
}

/// Without kcmp the locks come from /proc/locks, which outside the initial pid namespace
/// hides a lock whose owner was reaped (fs/locks.c `locks_show`): inside one (a container;
/// here `unshare --pid`) the lab finds that out at start-up and leaves locks uncompared
/// instead of reporting such a lock as missing. Root only (a new pid namespace).
#[test]
fn kcmp_denied_in_a_pid_namespace_leaves_locks_uncompared() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: no new pid namespace; skipped");
        return;
    }
    let wrapper = ["unshare", "--pid", "--fork", "--mount-proc"];
    let (_, r, text) = check_started_by(&wrapper, "kcmp", &[]);
    assert_eq!(r["cases"].as_u64(), Some(CASES.parse().unwrap()), "{text}");
    assert_eq!(r["divergences"].as_array().map(Vec::len), Some(0), "{text}");
    let nc = not_compared(&r).join(" ");
    assert!(
        nc.contains("locks"),
        "locks must be reported as not compared: {nc}"
    );
}
