//! Alarms, interval timers and POSIX timers: state of the thread group (`signal_struct`),
//! none in a new process, shared by the threads of a group.
//!
//! Sources: alarm(2), getitimer(2), timer_create(2), timer_settime(2), timer_delete(2),
//! fork(2) ("The child does not inherit timers from its parent (setitimer(2), alarm(2),
//! timer_create(2))"), execve(2) ("POSIX timers are not preserved"; getitimer(2): "Interval
//! timers are preserved across an execve(2)"); kernel/time/itimer.c (`do_setitimer`,
//! `set_cpu_itimer`, `do_getitimer`, `alarm_setitimer`), kernel/time/posix-timers.c
//! (`do_timer_create`, `posix_timer_add`, `common_timer_set`, `common_timer_get`,
//! `exit_itimers`), kernel/fork.c (`copy_signal`), fs/exec.c (`begin_new_exec`).
//!
//! The ops arm timers far in the future: the model never lets one expire.

use super::Model;
use crate::obs::{Errno, Outcome};
use crate::op::{Itimer, TaskId, TimerClock, TimerNotify, TimerReport};
use std::collections::BTreeMap;

/// One interval timer of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct ItimerState {
    armed: bool,
    interval_s: u32,
}

/// One POSIX timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PosixTimer {
    sigev_none: bool,
    armed: bool,
    interval_s: u32,
    /// An arming set the hrtimer's expiry, which disarming leaves behind.
    expiry_set: bool,
}

// rule: timer.new-process-has-none
/// The timers of a thread group (`signal_struct`), kept on the group leader. A new process
/// starts with none: `copy_signal` allocates its `signal_struct` zeroed (no alarm, no
/// interval timer, no POSIX timer, the id counter at 0), whatever its creator has; a
/// `CLONE_THREAD` child shares its creator's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct GroupTimers {
    /// `ITIMER_REAL`, `ITIMER_VIRTUAL`, `ITIMER_PROF`.
    itimers: [ItimerState; 3],
    /// `signal->posix_timers`, by id.
    posix: BTreeMap<i32, PosixTimer>,
    /// `signal->next_posix_timer_id`.
    next_id: i32,
}

impl GroupTimers {
    // rule: timer.exec-deletes-posix-timers
    /// `begin_new_exec` → `exit_itimers`: every POSIX timer is deleted. The interval timers
    /// (and the alarm) stay, and so does the id counter: the `signal_struct` survives exec,
    /// so the next `timer_create` continues the numbering.
    pub(super) fn exec(&mut self) {
        self.posix.clear();
    }
}

impl Model {
    fn group_timers(&mut self, t: TaskId) -> &mut GroupTimers {
        let tgid = self.tasks[t as usize].tgid as usize;
        &mut self.tasks[tgid].timers
    }

    // rule: timer.itimers-per-process
    /// `setitimer(which, &{interval_s, value_s}, NULL)`. `ITIMER_REAL` keeps its interval
    /// only when armed (`do_setitimer`: `it_real_incr = 0` for a zero value); the CPU-time
    /// timers keep it either way (`set_cpu_itimer`: `it->incr = ninterval`). The timers
    /// belong to the process: any thread sets and reads the same three.
    pub(super) fn op_setitimer(
        &mut self,
        t: TaskId,
        which: Itimer,
        value_s: u32,
        interval_s: u32,
    ) -> Outcome {
        let armed = value_s != 0;
        let interval_s = if which == Itimer::Real && !armed {
            0
        } else {
            interval_s
        };
        self.group_timers(t).itimers[which as usize] = ItimerState { armed, interval_s };
        Outcome::Ret(0)
    }

    /// `getitimer(which)`: an armed timer reads a non-zero value (`itimer_get_remtime`
    /// reports at least 1 µs for a pending one, `get_cpu_itimer` one tick for one about to
    /// fire), and its interval.
    pub(super) fn op_getitimer(&mut self, t: TaskId, which: Itimer) -> Outcome {
        let s = self.group_timers(t).itimers[which as usize];
        Outcome::Timer(TimerReport::new(s.armed, s.interval_s))
    }

    // rule: timer.alarm-is-itimer-real
    /// `alarm(seconds)` (`alarm_setitimer`): `ITIMER_REAL` set to `seconds` with no interval;
    /// it returns the seconds left of the timer it replaced, rounded up from below one
    /// second, so a pending alarm never reads 0.
    pub(super) fn op_alarm(&mut self, t: TaskId, seconds: u32) -> Outcome {
        let real = &mut self.group_timers(t).itimers[Itimer::Real as usize];
        let was = real.armed;
        *real = ItimerState {
            armed: seconds != 0,
            interval_s: 0,
        };
        Outcome::Timer(TimerReport::new(was, 0))
    }

    // rule: timer.posix-ids-per-process
    /// `timer_create(clock, &sigevent, &id)` (`do_timer_create`): the id is the process's
    /// next free id counting up from 0 (`posix_timer_add`; sequential per `signal_struct`
    /// since Linux 3.10, commit 5ed67f05f66c "posix timers: Allocate timer id per process
    /// (v2)"). The id is taken before the sigevent is checked (`good_sigevent`), so a
    /// create that fails with EINVAL for signal 0 still uses one up.
    pub(super) fn op_timer_create(
        &mut self,
        t: TaskId,
        _clock: TimerClock,
        notify: TimerNotify,
    ) -> Outcome {
        let g = self.group_timers(t);
        let mut id = g.next_id;
        // Ids in use are skipped; the counter wraps in the positive range.
        while g.posix.contains_key(&id) {
            id = id.checked_add(1).unwrap_or(0);
        }
        g.next_id = id.checked_add(1).unwrap_or(0);
        if notify == TimerNotify::BadSignal {
            return Outcome::Err(Errno::EINVAL);
        }
        g.posix.insert(
            id,
            PosixTimer {
                sigev_none: notify == TimerNotify::None,
                armed: false,
                interval_s: 0,
                expiry_set: false,
            },
        );
        Outcome::Ret(i64::from(id))
    }

    // rule: timer.posix-timers-per-process
    /// `timer_settime(id, 0, &{interval_s, value_s}, NULL)` (`common_timer_set`): EINVAL
    /// for an id the caller's process does not have (`lock_timer` finds only the timers of
    /// `current->signal`). A zero value disarms and clears the interval.
    pub(super) fn op_timer_settime(
        &mut self,
        t: TaskId,
        id: i32,
        value_s: u32,
        interval_s: u32,
    ) -> Outcome {
        let Some(timer) = self.group_timers(t).posix.get_mut(&id) else {
            return Outcome::Err(Errno::EINVAL);
        };
        timer.armed = value_s != 0;
        timer.interval_s = if timer.armed { interval_s } else { 0 };
        timer.expiry_set |= timer.armed;
        Outcome::Ret(0)
    }

    // rule: timer.sigev-none-disarmed-reads-last-expiry
    /// `timer_gettime(id)` (`common_timer_get`): the interval, and a non-zero value for an
    /// armed timer. A `SIGEV_NONE` timer is never queued, so its value is computed from the
    /// hrtimer's expiry whether or not it is armed: once armed, disarming it leaves the old
    /// expiry, and it keeps reading as armed (seen on 6.18; the same code since before 5.10).
    pub(super) fn op_timer_gettime(&mut self, t: TaskId, id: i32) -> Outcome {
        let Some(timer) = self.group_timers(t).posix.get(&id) else {
            return Outcome::Err(Errno::EINVAL);
        };
        let armed = timer.armed || (timer.sigev_none && timer.expiry_set);
        Outcome::Timer(TimerReport::new(armed, timer.interval_s))
    }

    /// `timer_delete(id)`: EINVAL for an id the caller's process does not have.
    pub(super) fn op_timer_delete(&mut self, t: TaskId, id: i32) -> Outcome {
        match self.group_timers(t).posix.remove(&id) {
            Some(_) => Outcome::Ret(0),
            None => Outcome::Err(Errno::EINVAL),
        }
    }
}
