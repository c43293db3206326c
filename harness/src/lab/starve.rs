//! Telling a hung task from a starved one before the hang guard records a hang.
//!
//! The hang guard is wall-clock time, and on an overloaded machine (a CI runner building in
//! parallel, a lab run at a low priority) a task that is ready to answer may wait seconds for
//! a CPU. The kernel counts that wait: the second field of /proc/PID/task/TID/schedstat is the
//! time the task spent runnable on a run queue (`sched_info.run_delay`, CONFIG_SCHED_INFO,
//! present in every distribution kernel). When the guard runs out, the task gets a further
//! window; a task that spent most of that window waiting for a CPU is starved, not hung, and
//! gets another, up to [`MAX_WINDOWS`] (two more guards in all). Where the file is missing (an emulator, a kernel
//! without schedstats) the guard stays as it was.

use std::time::{Duration, Instant};

/// Extra windows a starved task gets beyond the hang guard (the harness waits for them).
pub const MAX_WINDOWS: u32 = crate::deadline::STARVED_WINDOWS;

/// The share of a window (in percent) a task must have spent waiting for a CPU to count as
/// starved in it.
const STARVED_PCT: u128 = 50;

/// Time thread `tid` has spent runnable but waiting for a CPU, from its schedstat.
pub fn run_delay(tid: i32) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{tid}/task/{tid}/schedstat")).ok()?;
    parse_run_delay(&text)
}

/// The run-queue delay of a schedstat line (`on-cpu-ns run-delay-ns timeslices`).
pub fn parse_run_delay(text: &str) -> Option<Duration> {
    let ns = text.split_whitespace().nth(1)?.parse::<u64>().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Whether a window of `elapsed` in which the task waited `queued` for a CPU starved it.
pub fn starved(elapsed: Duration, queued: Duration) -> bool {
    !elapsed.is_zero() && queued.as_nanos() * 100 >= elapsed.as_nanos() * STARVED_PCT
}

/// One task's extensions of its hang guard.
#[derive(Debug, Default)]
pub struct Extension {
    /// When the current window began and the task's run-queue delay then.
    window: Option<(Instant, Duration)>,
    /// Windows granted so far.
    windows: u32,
}

impl Extension {
    /// The guard of task `tid` ran out at `now`: the end of a further window when it may
    /// still be starved (the first window measures; later ones follow a starved window), or
    /// `None` when it is hung.
    pub fn extend(&mut self, tid: i32, now: Instant, guard: Duration) -> Option<Instant> {
        self.extend_by(run_delay(tid), now, guard)
    }

    /// As [`Extension::extend`], for a run-queue delay measured by the caller (of several
    /// tasks: the largest), `None` when it could not be read.
    pub fn extend_by(
        &mut self,
        delay: Option<Duration>,
        now: Instant,
        guard: Duration,
    ) -> Option<Instant> {
        let delay = delay?;
        if let Some((began, before)) = self.window {
            if !starved(now - began, delay.saturating_sub(before)) {
                return None;
            }
        }
        if self.windows >= MAX_WINDOWS {
            return None;
        }
        self.windows += 1;
        self.window = Some((now, delay));
        Some(now + crate::deadline::starved_window(guard))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_delay_is_the_second_field() {
        assert_eq!(
            parse_run_delay("123 4567 8\n"),
            Some(Duration::from_nanos(4567))
        );
        assert_eq!(parse_run_delay("123"), None);
        assert_eq!(parse_run_delay("a b c"), None);
    }

    #[test]
    fn starved_means_queued_for_at_least_half_the_window() {
        let s = Duration::from_secs(1);
        assert!(starved(s, s / 2));
        assert!(starved(s, s));
        assert!(!starved(s, s / 2 - Duration::from_nanos(1)));
        assert!(!starved(Duration::ZERO, Duration::ZERO));
    }

    /// This test's own thread, which runs and sleeps but is hardly ever kept waiting for a
    /// CPU for half of a window: the first expiry grants a measuring window, the second
    /// finds it was not starved (unless the machine really kept it waiting: then a third).
    #[test]
    fn a_task_that_is_not_kept_waiting_is_hung_after_one_window() {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        if run_delay(tid).is_none() {
            eprintln!("no schedstat on this kernel: the guard is wall-clock time only");
            return;
        }
        let mut x = Extension::default();
        let guard = Duration::from_millis(400);
        let start = Instant::now();
        let end = x.extend(tid, start, guard).expect("a first window");
        assert!(end > start);
        // A window in which the thread was not queued at all (no time passed for it to be):
        // the elapsed time is what the caller says, the queued time what the kernel counted.
        let later = start + Duration::from_secs(3600);
        assert_eq!(x.extend(tid, later, guard), None);
        assert_eq!(x.windows, 1);
    }

    #[test]
    fn windows_are_bounded() {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        if run_delay(tid).is_none() {
            return;
        }
        let mut x = Extension::default();
        let now = Instant::now();
        // Zero-length windows count as not starved, so drive it through `windows` directly.
        x.windows = MAX_WINDOWS;
        assert_eq!(x.extend(tid, now, Duration::from_secs(1)), None);
    }
}
