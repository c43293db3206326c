//! The op and outcome tables of docs/protocol.md, the contract simulators are written
//! against, checked against the code: every op kind and every outcome has a row, every
//! example parses as what its row names and survives a JSON round trip, and every example op
//! prints (in reports) as listed here.

use crate::obs::Outcome;
use crate::op::Op;

const PROTOCOL: &str = include_str!("../../docs/protocol.md");

/// The rows of the table under `## {section}`: (first cell, last cell).
fn rows(section: &str) -> Vec<(String, String)> {
    let start = PROTOCOL
        .find(&format!("\n## {section}\n"))
        .unwrap_or_else(|| panic!("docs/protocol.md has no section {section:?}"));
    let body = &PROTOCOL[start + section.len() + 5..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    body.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| kind") && !l.starts_with("| outcome"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").collect();
            let first = cells[0].trim().to_string();
            let last = cells.last().unwrap().trim().trim_end_matches('|').trim();
            (first, last.to_string())
        })
        .collect()
}

/// The JSON examples of a cell: every `{...}` between backticks.
fn examples(cell: &str) -> Vec<&str> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with('{'))
        .collect()
}

/// The variant names serde knows for a tagged enum, from its error for an unknown one.
fn variants(err: &str) -> Vec<String> {
    let list = err
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("no variant list in {err:?}"));
    list.split(", ")
        .map(|v| v.trim_matches(|c: char| c == '`' || !c.is_ascii_graphic()))
        .map(|v| v.split('`').next().unwrap_or(v).to_string())
        .collect()
}

/// Each op example of the table, by kind, as reports print it.
const PRINTED: &[(&str, &str)] = &[
    ("fork", "t0: fork()"),
    ("exit", "t1: exit(3)"),
    ("wait", "t0: wait(t1)"),
    ("mem_read", "t0: load file_private[2]"),
    ("mem_write", "t0: store anon_private[0] = 0x07"),
    ("madvise", "t0: madvise(anon_private[0..+2], WipeOnFork)"),
    ("open", "t0: open(\"a\", RdWr|CREAT)"),
    ("close", "t0: close(3)"),
    ("dup", "t0: dup(0)"),
    ("dup2", "t0: dup2(0, 5)"),
    ("dup3", "t0: dup3(0, 5, CLOEXEC)"),
    ("read", "t1: read(0, 3)"),
    ("write", "t0: write(1, \"hi\")"),
    ("pread", "t0: pread(0, 5, @19)"),
    ("pwrite", "t0: pwrite(0, \"\\x01\", @4)"),
    ("lseek", "t0: lseek(0, 7, Set)"),
    (
        "fcntl",
        "t0: fcntl(3, SetFl { append: true, nonblock: false })",
    ),
    ("pipe2", "t0: pipe2(cloexec=true, nonblock=false)"),
    ("ftruncate", "t0: ftruncate(0, 40000)"),
    ("fcntl", "t1: fcntl(0, F_SETLK, {WR start=0 len=2})"),
    ("flock", "t0: flock(0, LOCK_EX|LOCK_NB)"),
    ("exec", "t1: execve(agent)"),
    ("kill", "t0: kill(t1, SIGTERM)"),
    ("sigaction", "t0: sigaction(SIGUSR1, handler)"),
    ("sigprocmask", "t0: sigprocmask(BLOCK, [SIGUSR1, 34])"),
    ("chdir", "t1: chdir(\"d\")"),
    ("umask", "t1: umask(0o077)"),
    ("sethostname", "t1: sethostname(\"alpha\")"),
    ("uname", "t1: uname()"),
    (
        "mmap",
        "t1: mmap(mapped[0..+2], PROT_READ|PROT_WRITE, SHARED|ANONYMOUS|FIXED_NOREPLACE)",
    ),
    ("munmap", "t1: munmap(mapped[1..+1])"),
    ("mprotect", "t1: mprotect(mapped[0..+2], PROT_READ)"),
    (
        "mremap",
        "t0: mremap(anon_private[0], 2, 2, MAYMOVE|FIXED, mapped[4])",
    ),
    ("mlock", "t0: mlock2(anon_private[0..+2], MLOCK_ONFAULT)"),
    ("munlock", "t0: munlock(mapped[0..+1])"),
    ("mlockall", "t1: mlockall(MCL_FUTURE|MCL_ONFAULT)"),
    ("munlockall", "t1: munlockall()"),
    (
        "setitimer",
        "t0: setitimer(ITIMER_PROF, value=1000s interval=2s)",
    ),
    ("getitimer", "t1: getitimer(ITIMER_VIRTUAL)"),
    ("alarm", "t1: alarm(1000)"),
    (
        "timer_create",
        "t0: timer_create(CLOCK_MONOTONIC, SIGEV_NONE)",
    ),
    (
        "timer_settime",
        "t0: timer_settime(1, value=1000s interval=0s)",
    ),
    ("timer_gettime", "t1: timer_gettime(0)"),
    ("timer_delete", "t1: timer_delete(0)"),
    ("vfork", "t0: vfork()"),
    ("clone", "t0: clone3(VM|FS|FILES|SIGHAND|THREAD, sig=0)"),
    (
        "close_range",
        "t0: close_range(3, 4294967295, CLOEXEC|UNSHARE)",
    ),
    ("unshare", "t1: unshare(FILES|NEWNS)"),
    ("seccomp", "t0: seccomp(SET_MODE_FILTER, umask -> EACCES)"),
    (
        "sigaltstack",
        "t2: sigaltstack({stack 1, 65536, SS_AUTODISARM}, &old)",
    ),
    ("prctl", "t0: prctl(PR_SET_PDEATHSIG, 10)"),
    ("setpgid", "t0: setpgid(t1, t0)"),
    ("getpgid", "t1: getpgid(t0)"),
    ("setsid", "t1: setsid()"),
    ("getsid", "t1: getsid(0)"),
    ("kill_pgrp", "t0: kill(-t1, SIGTERM)"),
    ("waitid", "t0: waitid(P_PID, t1, WEXITED|WNOWAIT)"),
    ("pidfd_open", "t0: pidfd_open(t1, PIDFD_NONBLOCK)"),
    ("pidfd_send_signal", "t0: pidfd_send_signal(3, SIGTERM)"),
    ("pidfd_getfd", "t0: pidfd_getfd(3, 0)"),
    ("poll", "t0: poll(3, POLLIN, 0)"),
    ("setns", "t0: setns(3, CLONE_NEWUTS|CLONE_NEWPID)"),
    ("setpriority", "t0: setpriority(PRIO_PROCESS, 0, 5)"),
    ("getpriority", "t1: getpriority(PRIO_PROCESS, 0)"),
    (
        "sched_setscheduler",
        "t0: sched_setscheduler(0, SCHED_FIFO|SCHED_RESET_ON_FORK, {2})",
    ),
    ("sched_getscheduler", "t1: sched_getscheduler(0)"),
    ("sched_setaffinity", "t0: sched_setaffinity(0, cpus 0b11)"),
    ("sched_getaffinity", "t1: sched_getaffinity(0)"),
    ("personality", "t0: personality(0x40000)"),
    (
        "prlimit",
        "t0: prlimit(0, RLIMIT_NPROC, {cur 0, max 0}, NULL)",
    ),
];

/// Every field the docs show is sent with the value shown (ops are sent in full: fields
/// left out of an example are its defaults).
fn assert_within(documented: &serde_json::Value, sent: &serde_json::Value, ex: &str) {
    match (documented, sent) {
        (serde_json::Value::Object(d), serde_json::Value::Object(s)) => {
            for (k, v) in d {
                match s.get(k) {
                    Some(got) => assert_within(v, got, ex),
                    // A field at its zero is left out.
                    None => assert!(
                        matches!(v, serde_json::Value::Null | serde_json::Value::Bool(false))
                            || v.as_u64() == Some(0)
                            || v.as_str() == Some(""),
                        "{ex}: `{k}` is not sent in {sent}"
                    ),
                }
            }
        }
        _ => assert_eq!(documented, sent, "{ex} is sent as {sent}"),
    }
}

fn kind_of(cell: &str) -> &str {
    cell.split('`').nth(1).unwrap_or(cell)
}

#[test]
fn the_ops_table_has_a_row_for_every_op_kind() {
    let err = serde_json::from_str::<Op>(r#"{"task":0,"kind":"no_such_op"}"#)
        .expect_err("an unknown kind is refused")
        .to_string();
    let kinds = variants(&err);
    assert!(kinds.len() > 50, "{kinds:?}");
    let rows = rows("Ops");
    for k in &kinds {
        assert!(
            rows.iter().any(|(c, _)| kind_of(c) == k),
            "docs/protocol.md lists no op `{k}`"
        );
    }
    for (c, _) in &rows {
        assert!(kinds.iter().any(|k| k == kind_of(c)), "no op kind {c}");
    }
}

#[test]
fn every_op_example_parses_round_trips_and_prints_as_listed() {
    let mut seen = Vec::new();
    for (cell, last) in rows("Ops") {
        let exs = examples(&last);
        assert!(!exs.is_empty(), "the row of {cell} has no example");
        for ex in exs {
            let op: Op = serde_json::from_str(ex).unwrap_or_else(|e| panic!("{ex}: {e}"));
            let value = serde_json::to_value(&op).unwrap();
            assert_eq!(value["kind"], kind_of(&cell), "{ex}");
            let again: Op = serde_json::from_value(value.clone()).unwrap();
            assert_eq!(again, op, "{ex} → {value}");
            let documented: serde_json::Value = serde_json::from_str(ex).unwrap();
            assert_within(&documented, &value, ex);
            seen.push((kind_of(&cell).to_string(), op.to_string()));
        }
    }
    let want: Vec<(String, String)> = PRINTED
        .iter()
        .map(|(k, p)| (k.to_string(), p.to_string()))
        .collect();
    assert_eq!(seen, want);
}

#[test]
fn the_outcomes_table_shows_every_outcome() {
    let err = serde_json::from_str::<Outcome>(r#"{"no_such_outcome":0}"#)
        .expect_err("an unknown outcome is refused")
        .to_string();
    let names = variants(&err);
    let rows = rows("Outcomes");
    let table: String = rows.iter().map(|(a, b)| format!("{a} {b}\n")).collect();
    let section = &PROTOCOL[PROTOCOL.find("\n## Outcomes\n").unwrap()..];
    let section = &section[..section[4..].find("\n## ").unwrap()];
    for n in &names {
        assert!(
            section.contains(&format!("\"{n}\"")),
            "docs/protocol.md shows no outcome `{n}`"
        );
    }
    let mut printed = Vec::new();
    for (_, last) in &rows {
        for ex in examples(last) {
            let o: Outcome = serde_json::from_str(ex).unwrap_or_else(|e| panic!("{ex}: {e}"));
            let value = serde_json::to_value(&o).unwrap();
            let again: Outcome = serde_json::from_value(value.clone()).unwrap();
            assert_eq!(again, o, "{ex}");
            let documented: serde_json::Value = serde_json::from_str(ex).unwrap();
            assert_eq!(value, documented, "outcomes are sent as documented");
            printed.push(o.to_string());
        }
    }
    assert!(printed.len() >= 12, "{printed:?} in {table}");
    assert_eq!(
        printed, OUTCOMES_PRINTED,
        "outcome examples as reports print them"
    );
}

/// The outcome examples of the table, in order, as reports print them.
const OUTCOMES_PRINTED: &[&str] = &[
    "= 0",
    "= -1 EBADF",
    "= t1",
    r#"= "\x80\x01\x02""#,
    "= [1, 2]",
    "= t1 Exited(3)",
    "killed by SIGSEGV",
    "killed by SIGPIPE",
    "= armed interval=2s",
    "= 0 WR start=0 len=2 pid=t0",
    "= 0 t1 CLD_EXITED status 3",
    "= t0",
    "= {stack 1, 65536, SS_ONSTACK}",
    "= {NULL, 0, SS_DISABLE}",
    "= {cur 3, max inf}",
];
