//! The op language of alarms, interval timers (`setitimer(2)`) and POSIX timers
//! (`timer_create(2)`), and what their reads report.
//!
//! A timer's remaining time shrinks with wall-clock or CPU time, so no backend can promise
//! it: the ops arm timers far in the future (the generator uses 1000 seconds and more, so
//! none fires inside a case) and the reads report only what a case fixes: whether the timer
//! is armed, and its interval, which the kernel keeps exactly as set.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Which interval timer of the process (`setitimer(2)`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum Itimer {
    /// `ITIMER_REAL`: wall-clock time, `SIGALRM` (the timer `alarm(2)` sets).
    #[default]
    Real,
    /// `ITIMER_VIRTUAL`: user CPU time of the process, `SIGVTALRM`.
    Virtual,
    /// `ITIMER_PROF`: user and system CPU time of the process, `SIGPROF`.
    Prof,
}

impl Itimer {
    /// Every timer, in the order of their `ITIMER_*` numbers.
    pub const ALL: [Itimer; 3] = [Itimer::Real, Itimer::Virtual, Itimer::Prof];

    /// The `ITIMER_*` number.
    pub fn number(self) -> i32 {
        self as i32
    }

    /// The `ITIMER_*` name.
    pub fn name(self) -> &'static str {
        match self {
            Itimer::Real => "ITIMER_REAL",
            Itimer::Virtual => "ITIMER_VIRTUAL",
            Itimer::Prof => "ITIMER_PROF",
        }
    }
}

/// The clock of a POSIX timer.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum TimerClock {
    /// `CLOCK_MONOTONIC`.
    #[default]
    Monotonic,
    /// `CLOCK_REALTIME` (a relative expiry: a clock step does not move it).
    Realtime,
}

impl TimerClock {
    /// The `clockid_t`.
    pub fn id(self) -> i32 {
        match self {
            TimerClock::Realtime => 0,
            TimerClock::Monotonic => 1,
        }
    }

    /// The `CLOCK_*` name.
    pub fn name(self) -> &'static str {
        match self {
            TimerClock::Realtime => "CLOCK_REALTIME",
            TimerClock::Monotonic => "CLOCK_MONOTONIC",
        }
    }
}

/// How a POSIX timer notifies (`struct sigevent`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum TimerNotify {
    /// `SIGEV_SIGNAL` with `SIGALRM`, sent to the process.
    #[default]
    Signal,
    /// `SIGEV_NONE`: nothing; the timer is only read.
    None,
    /// `SIGEV_SIGNAL` with signal 0: EINVAL (after the timer id was taken).
    BadSignal,
}

impl TimerNotify {
    /// `sigev_notify` and `sigev_signo`.
    pub fn sigevent(self) -> (i32, i32) {
        match self {
            TimerNotify::Signal => (0, 14),
            TimerNotify::None => (1, 0),
            TimerNotify::BadSignal => (0, 0),
        }
    }

    fn text(self) -> &'static str {
        match self {
            TimerNotify::Signal => "SIGEV_SIGNAL SIGALRM",
            TimerNotify::None => "SIGEV_NONE",
            TimerNotify::BadSignal => "SIGEV_SIGNAL 0",
        }
    }
}

/// What `getitimer`, `timer_gettime` or `alarm` report of a timer: whether it is armed (a
/// non-zero `it_value`; `alarm` returns the seconds left of the alarm it replaces, rounded
/// and never 0 for a pending one) and its interval (`it_interval`, exact; `alarm` reports
/// none, 0).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TimerReport {
    /// `it_value` is not zero.
    #[serde(default, skip_serializing_if = "is_false")]
    pub armed: bool,
    /// `it_interval` in nanoseconds.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub interval_ns: u64,
}

impl TimerReport {
    /// A report of a timer armed or not, with an interval of `interval_s` seconds.
    pub fn new(armed: bool, interval_s: u32) -> TimerReport {
        TimerReport {
            armed,
            interval_ns: u64::from(interval_s) * 1_000_000_000,
        }
    }
}

impl fmt::Display for TimerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.armed { "armed" } else { "disarmed" };
        if self.interval_ns % 1_000_000_000 == 0 {
            write!(f, "{state} interval={}s", self.interval_ns / 1_000_000_000)
        } else {
            write!(f, "{state} interval={}ns", self.interval_ns)
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

pub(crate) fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

/// The text of a timer op, for [`crate::Op`]'s `Display`.
pub(crate) fn display_op(kind: &crate::OpKind, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    use crate::OpKind;
    match kind {
        OpKind::Setitimer {
            which,
            value_s,
            interval_s,
        } => write!(
            f,
            "setitimer({}, value={value_s}s interval={interval_s}s)",
            which.name()
        ),
        OpKind::Getitimer { which } => write!(f, "getitimer({})", which.name()),
        OpKind::Alarm { seconds } => write!(f, "alarm({seconds})"),
        OpKind::TimerCreate { clock, notify } => {
            write!(f, "timer_create({}, {})", clock.name(), notify.text())
        }
        OpKind::TimerSettime {
            timer,
            value_s,
            interval_s,
        } => write!(
            f,
            "timer_settime({timer}, value={value_s}s interval={interval_s}s)"
        ),
        OpKind::TimerGettime { timer } => write!(f, "timer_gettime({timer})"),
        OpKind::TimerDelete { timer } => write!(f, "timer_delete({timer})"),
        _ => write!(f, "{kind:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lab passes these numbers to the kernel as they are: they are the uapi values
    /// (include/uapi/linux/time.h, include/uapi/asm-generic/siginfo.h), not indices.
    #[test]
    fn numbers_are_the_kernel_abi() {
        let itimers: Vec<(i32, &str)> =
            Itimer::ALL.iter().map(|t| (t.number(), t.name())).collect();
        assert_eq!(
            itimers,
            [
                (0, "ITIMER_REAL"),
                (1, "ITIMER_VIRTUAL"),
                (2, "ITIMER_PROF")
            ]
        );
        assert_eq!(TimerClock::Realtime.id(), 0);
        assert_eq!(TimerClock::Monotonic.id(), 1);
        assert_eq!(
            TimerNotify::Signal.sigevent(),
            (0, 14),
            "SIGEV_SIGNAL, SIGALRM"
        );
        assert_eq!(TimerNotify::None.sigevent(), (1, 0), "SIGEV_NONE");
        assert_eq!(TimerNotify::BadSignal.sigevent(), (0, 0));
    }
}
