//! Leak checks shared by the suites that start labs with a private case-directory base: the
//! lab and every task it starts carry `TMPDIR=<base>` in their environment, so a live
//! process whose environment names the base is one of ours.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A fresh, empty case-directory base for one test.
pub fn private_tmp(name: &str) -> PathBuf {
    let base = forkspec::backend::case_dir_base();
    let dir = base.join(format!("forkspec-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Live (non-zombie) processes whose environment carries `TMPDIR=<dir>`.
pub fn ours(dir: &Path) -> Vec<u32> {
    let needle = format!("TMPDIR={}", dir.display()).into_bytes();
    let mut pids = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if !env.split(|&b| b == 0).any(|v| v == needle.as_slice()) {
            continue;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        if state != Some("Z") {
            pids.push(pid);
        }
    }
    pids
}

/// The names in `dir` (none if it is gone).
pub fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Waits (bounded) for the asynchronous cleanup after a death: nothing of ours may remain
/// after one second. On failure the leftovers are killed first (one kept alive would hold
/// the test's output pipes and hang whatever reads them), then the test fails naming each
/// one with its command line.
pub fn assert_gone_within_a_second(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let (p, e) = (ours(dir), entries(dir));
        if p.is_empty() && e.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            let named: Vec<String> = p.iter().map(|&pid| describe(pid)).collect();
            for &pid in &p {
                // SAFETY: a signal to a process whose environment names this test's private
                // directory (ours), alive a moment ago.
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
            let _ = std::fs::remove_dir_all(dir);
            panic!("after 1 s still alive (now killed): {named:?}, still present: {e:?}");
        }
        std::thread::yield_now();
    }
    std::fs::remove_dir(dir).unwrap();
}

/// A process for a message: its pid and command line.
fn describe(pid: u32) -> String {
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let words: Vec<String> = cmd
        .split(|&b| b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    format!("{pid} ({})", words.join(" "))
}
