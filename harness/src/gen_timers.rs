//! Generation of the alarm, interval timer and POSIX timer ops.
//!
//! Every value armed is 1000 seconds or more, wall-clock or CPU time: no timer fires inside
//! a case, so what the ops read (armed or not, the interval) is fixed by the case alone.
//! Timer ids are drawn small: a process numbers its POSIX timers from 0, so low ids name
//! its own timers, or none (EINVAL) in a fork child or after an exec.

use crate::gen::Choices;
use forkspec_model::{Itimer, OpKind, TimerClock, TimerNotify};

/// A value to arm with: 0 (disarm) now and then, else 1000 seconds or more.
fn value_s(src: &mut dyn Choices) -> u32 {
    if src.chance(25) {
        0
    } else {
        *src.pick(&[1000, 3600, 86_400])
    }
}

/// An interval: often none, else a few seconds or an hour.
fn interval_s(src: &mut dyn Choices) -> u32 {
    if src.chance(50) {
        0
    } else {
        *src.pick(&[1, 2, 5, 3600])
    }
}

/// A timer id: mostly the first few a process gets, sometimes one it never has.
fn timer_id(src: &mut dyn Choices) -> i32 {
    match src.below(10) {
        0..=4 => 0,
        5..=7 => 1,
        8 => 2,
        _ => *src.pick(&[3, 100]),
    }
}

/// `setitimer`, `getitimer` or `alarm` (reads as often as sets, so a fork child's or a
/// thread's view of the process's timers shows).
pub(crate) fn itimer(src: &mut dyn Choices) -> OpKind {
    let which = *src.pick(&Itimer::ALL);
    match src.below(10) {
        0..=3 => OpKind::Setitimer {
            which,
            value_s: value_s(src),
            interval_s: interval_s(src),
        },
        4..=7 => OpKind::Getitimer { which },
        _ => OpKind::Alarm {
            seconds: if src.chance(30) { 0 } else { 1000 },
        },
    }
}

/// `timer_create`, `timer_settime`, `timer_gettime` or `timer_delete`.
pub(crate) fn posix_timer(src: &mut dyn Choices) -> OpKind {
    match src.below(10) {
        0..=2 => OpKind::TimerCreate {
            clock: *src.pick(&[TimerClock::Monotonic, TimerClock::Realtime]),
            notify: match src.below(10) {
                0..=5 => TimerNotify::Signal,
                6..=8 => TimerNotify::None,
                _ => TimerNotify::BadSignal,
            },
        },
        3..=4 => OpKind::TimerSettime {
            timer: timer_id(src),
            value_s: value_s(src),
            interval_s: interval_s(src),
        },
        5..=8 => OpKind::TimerGettime {
            timer: timer_id(src),
        },
        _ => OpKind::TimerDelete {
            timer: timer_id(src),
        },
    }
}
