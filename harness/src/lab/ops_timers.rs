//! Op → agent command for alarms, interval timers and POSIX timers, and their replies →
//! outcomes.
//!
//! Every timer a case arms is far in the future (the generator's values are 1000 seconds and
//! more) and belongs to a task of the case, never to the lab: an alarm or interval timer left
//! armed dies with the case's tasks at teardown, and a POSIX timer with its process or at its
//! exec. The reads report only whether the timer is armed and its interval, never the time
//! left, which depends on when the call ran.

use super::channel::{Cmd, Reply, FIX_CMD_DATA, FIX_REPLY_DATA};
use super::ops::Expect;
use forkspec_model::{OpKind, Outcome, TimerReport};

fn call(nr: i64, args: [u64; 6]) -> Cmd {
    Cmd {
        nr: nr as u64,
        args,
        ..Cmd::ZERO
    }
}

/// Puts `bytes` in the command data and makes argument `arg` point to it.
fn with_data(mut c: Cmd, bytes: &[u8], arg: usize) -> Cmd {
    c.data[..bytes.len()].copy_from_slice(bytes);
    c.len = bytes.len() as u32;
    c.fix |= FIX_CMD_DATA << arg;
    c
}

/// `{interval, value}` as two pairs of 64-bit words (`struct itimerval` in microseconds and
/// `struct itimerspec` in nanoseconds have the same layout on x86_64; whole seconds leave
/// the second word 0 in both).
fn interval_value(value_s: u32, interval_s: u32) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0..8].copy_from_slice(&u64::from(interval_s).to_ne_bytes());
    b[16..24].copy_from_slice(&u64::from(value_s).to_ne_bytes());
    b
}

/// The command running a timer op, or None for any other op.
pub fn encode(op: &OpKind) -> Option<(Cmd, Expect)> {
    let z = 0u64;
    Some(match *op {
        OpKind::Setitimer {
            which,
            value_s,
            interval_s,
        } => {
            let c = call(libc::SYS_setitimer, [which.number() as u64, z, z, z, z, z]);
            (
                with_data(c, &interval_value(value_s, interval_s), 1),
                Expect::Ret,
            )
        }
        OpKind::Getitimer { which } => {
            let mut c = call(libc::SYS_getitimer, [which.number() as u64, z, z, z, z, z]);
            c.fix = FIX_REPLY_DATA << 1;
            (c, Expect::Itimer { sub_unit: 1_000 })
        }
        OpKind::Alarm { seconds } => (
            call(libc::SYS_alarm, [u64::from(seconds), z, z, z, z, z]),
            Expect::Alarm,
        ),
        OpKind::TimerCreate { clock, notify } => {
            // struct sigevent: sigev_value (8 bytes), sigev_signo, sigev_notify (ints), then
            // the union, 64 bytes in all.
            let (how, signo) = notify.sigevent();
            let mut ev = [0u8; 64];
            ev[8..12].copy_from_slice(&signo.to_ne_bytes());
            ev[12..16].copy_from_slice(&how.to_ne_bytes());
            let c = call(libc::SYS_timer_create, [clock.id() as u64, z, z, z, z, z]);
            let mut c = with_data(c, &ev, 1);
            c.fix |= FIX_REPLY_DATA << 2;
            (c, Expect::IntOut)
        }
        OpKind::TimerSettime {
            timer,
            value_s,
            interval_s,
        } => {
            let c = call(
                libc::SYS_timer_settime,
                [timer as i64 as u64, z, z, z, z, z],
            );
            (
                with_data(c, &interval_value(value_s, interval_s), 2),
                Expect::Ret,
            )
        }
        OpKind::TimerGettime { timer } => {
            let mut c = call(
                libc::SYS_timer_gettime,
                [timer as i64 as u64, z, z, z, z, z],
            );
            c.fix = FIX_REPLY_DATA << 1;
            (c, Expect::Itimer { sub_unit: 1 })
        }
        OpKind::TimerDelete { timer } => (
            call(libc::SYS_timer_delete, [timer as i64 as u64, z, z, z, z, z]),
            Expect::Ret,
        ),
        _ => return None,
    })
}

/// The outcome of a successful `getitimer` or `timer_gettime` reply: the `{interval, value}`
/// the kernel wrote, whose second words count `sub_unit` nanoseconds each (µs or ns).
pub fn report(r: &Reply, sub_unit: u64) -> Outcome {
    let word = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&r.data[o..o + 8]);
        i64::from_ne_bytes(b)
    };
    let ns = |o: usize| {
        (word(o) as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add((word(o + 8) as u64).wrapping_mul(sub_unit))
    };
    Outcome::Timer(TimerReport {
        armed: word(16) != 0 || word(24) != 0,
        interval_ns: ns(0),
    })
}

/// The outcome of an `alarm` reply: the seconds left of the alarm it replaced, never 0 for a
/// pending one (the count itself depends on when the call ran).
pub fn alarm_report(r: &Reply) -> Outcome {
    Outcome::Timer(TimerReport {
        armed: r.ret != 0,
        interval_ns: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use forkspec_model::{Itimer, TimerClock, TimerNotify};

    #[test]
    fn timer_commands_carry_their_structures() {
        let (c, e) = encode(&OpKind::Setitimer {
            which: Itimer::Prof,
            value_s: 1000,
            interval_s: 3,
        })
        .unwrap();
        assert_eq!((c.args[0], c.fix, e), (2, FIX_CMD_DATA << 1, Expect::Ret));
        assert_eq!(&c.data[0..8], &3u64.to_ne_bytes());
        assert_eq!(&c.data[16..24], &1000u64.to_ne_bytes());
        let (c, e) = encode(&OpKind::TimerCreate {
            clock: TimerClock::Realtime,
            notify: TimerNotify::None,
        })
        .unwrap();
        assert_eq!(c.fix, (FIX_CMD_DATA << 1) | (FIX_REPLY_DATA << 2));
        assert_eq!(
            (c.args[0], &c.data[12..16], e),
            (0, &1i32.to_ne_bytes()[..], Expect::IntOut)
        );
        assert!(encode(&OpKind::Fork).is_none());
    }

    #[test]
    fn reports_keep_the_interval_and_only_whether_armed() {
        let mut r = Reply::ZERO;
        r.data[0..8].copy_from_slice(&2i64.to_ne_bytes());
        r.data[8..16].copy_from_slice(&5i64.to_ne_bytes());
        r.data[24..32].copy_from_slice(&1i64.to_ne_bytes());
        assert_eq!(
            report(&r, 1_000),
            Outcome::Timer(TimerReport {
                armed: true,
                interval_ns: 2_000_005_000,
            })
        );
        r.data[24..32].fill(0);
        assert_eq!(
            report(&r, 1),
            Outcome::Timer(TimerReport {
                armed: false,
                interval_ns: 2_000_000_005,
            })
        );
        r.ret = 999;
        assert_eq!(alarm_report(&r), Outcome::Timer(TimerReport::new(true, 0)));
    }
}
