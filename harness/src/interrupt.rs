//! Ending a run early but cleanly: on SIGINT or SIGTERM, or when stdout is closed (`forkspec
//! check | head -1`), the workers take no new case, the cases under way finish, and the
//! summary and every report are still written.
//!
//! A second SIGINT or SIGTERM before the first one was acted upon ends the process at once
//! (the labs die with it: `PR_SET_PDEATHSIG`).

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

/// Set by the signal handlers (and by a closed stdout): the run should stop.
static REQUESTED: LazyLock<Arc<AtomicBool>> = LazyLock::new(Default::default);
/// Which signal asked for the stop (SIGPIPE standing for a closed stdout).
static CAUSE: LazyLock<Arc<AtomicUsize>> = LazyLock::new(Default::default);
/// Human-readable output goes to stderr (stdout carries a report: `--json -`).
static TEXT_TO_STDERR: AtomicBool = AtomicBool::new(false);

/// Installs the SIGINT and SIGTERM handlers (only flags are set in them).
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM] {
        // Registered before the flag is set: it sees the flag of an earlier signal only.
        signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&REQUESTED))?;
        signal_hook::flag::register(sig, Arc::clone(&REQUESTED))?;
        signal_hook::flag::register_usize(sig, Arc::clone(&CAUSE), sig as usize)?;
    }
    Ok(())
}

/// Whether the run should stop (a signal came, or stdout is closed).
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Why the run stopped early: `Some(signal number)`, SIGPIPE for a closed stdout.
pub fn cause() -> Option<i32> {
    requested().then(|| CAUSE.load(Ordering::SeqCst) as i32)
}

/// What stopped the run, for its summary.
pub fn describe(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGPIPE => "stdout closed",
        _ => "a signal",
    }
}

/// The exit status of a run stopped by `sig`: 128 + the signal, as a shell reports a process
/// the signal killed (141 for a closed stdout, as for SIGPIPE).
pub fn exit_code(sig: i32) -> i32 {
    128 + sig
}

/// Sends the human-readable output to stderr from now on (stdout carries a report).
pub fn text_to_stderr() {
    TEXT_TO_STDERR.store(true, Ordering::SeqCst);
}

/// Writes `text` to the human-readable output. A closed stdout stops the run (see the module
/// doc) instead of panicking; nothing more is written to it.
pub fn print(text: &str) {
    if TEXT_TO_STDERR.load(Ordering::SeqCst) {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
        return;
    }
    if CAUSE.load(Ordering::SeqCst) == libc::SIGPIPE as usize {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            stdout_closed();
        }
    }
}

/// Records that stdout is closed: the run stops.
pub fn stdout_closed() {
    CAUSE.store(libc::SIGPIPE as usize, Ordering::SeqCst);
    REQUESTED.store(true, Ordering::SeqCst);
}

/// `println!` through [`print()`].
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::interrupt::print(&(format!($($t)*) + "\n"))
    };
}
