//! A progress bar for long interactive runs: on stderr, only when stderr is a terminal and
//! `CI` is not set, redrawn at most ten times a second.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// The bar of one run.
pub struct Progress {
    total: u64,
    last: Option<Instant>,
    shown: bool,
}

impl Progress {
    /// A bar for `total` cases, or `None` when stderr is not an interactive terminal.
    pub fn new(total: u64) -> Option<Progress> {
        let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        (interactive && total > 1).then_some(Progress {
            total,
            last: None,
            shown: false,
        })
    }

    /// Redraws the bar (throttled) after `done` cases with `divergences` found.
    pub fn update(&mut self, done: u64, divergences: usize) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now - t < Duration::from_millis(100))
            && done < self.total
        {
            return;
        }
        self.last = Some(now);
        let width = 30u64;
        let filled = (done * width / self.total.max(1)) as usize;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{}{}] {done}/{} cases, {divergences} divergence(s)\x1b[K",
            "#".repeat(filled),
            "-".repeat(width as usize - filled),
            self.total
        );
        let _ = err.flush();
        self.shown = true;
    }

    /// Erases the bar (before other output, and at the end).
    pub fn clear(&mut self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
            self.shown = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
