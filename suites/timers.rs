//! Alarms, interval timers and POSIX timers across fork, clone and exec: known cases, each
//! checked on the model and the kernel (every step's outcome and snapshot), the model's trace
//! pinned in snapshots/. Every timer is armed 1000 seconds or more ahead, so none fires
//! inside a case; the reads compare whether a timer is armed and its interval, never the
//! time left. The random mix draws the same ops, so the property suites check them further.

mod common;

use common::*;
use forkspec_model::*;

fn setitimer(t: TaskId, which: Itimer, value_s: u32, interval_s: u32) -> Op {
    op(
        t,
        OpKind::Setitimer {
            which,
            value_s,
            interval_s,
        },
    )
}

fn getitimer(t: TaskId, which: Itimer) -> Op {
    op(t, OpKind::Getitimer { which })
}

fn alarm(t: TaskId, seconds: u32) -> Op {
    op(t, OpKind::Alarm { seconds })
}

fn timer_create(t: TaskId, notify: TimerNotify) -> Op {
    op(
        t,
        OpKind::TimerCreate {
            clock: TimerClock::Monotonic,
            notify,
        },
    )
}

fn timer_settime(t: TaskId, timer: i32, value_s: u32, interval_s: u32) -> Op {
    op(
        t,
        OpKind::TimerSettime {
            timer,
            value_s,
            interval_s,
        },
    )
}

fn timer_gettime(t: TaskId, timer: i32) -> Op {
    op(t, OpKind::TimerGettime { timer })
}

fn timer(armed: bool, interval_s: u32) -> Outcome {
    Outcome::Timer(TimerReport::new(armed, interval_s))
}

const EINVAL: Outcome = Outcome::Err(Errno::EINVAL);

/// The alarm and the interval timers are the process's (signal_struct): a thread sees and
/// sets the same ones, a fork child starts with none (kernel/fork.c copy_signal; fork(2)),
/// exec keeps them (getitimer(2), alarm(2)). A zero value disarms; `ITIMER_REAL` then drops
/// its interval while the CPU-time timers keep theirs. alarm returns whether one was pending.
// covers: timer.itimers
#[test]
fn itimers_and_alarm_are_shared_by_threads_not_inherited_by_fork_kept_by_exec() {
    let c = case(vec![
        setitimer(0, Itimer::Real, 1000, 5),    // 0
        setitimer(0, Itimer::Virtual, 2000, 3), // 1
        thread(0),                              // 2: t1
        getitimer(1, Itimer::Real),             // 3: armed, 5 s
        setitimer(1, Itimer::Prof, 3000, 2),    // 4
        op(1, OpKind::Fork),                    // 5: t2
        getitimer(2, Itimer::Real),             // 6: disarmed
        getitimer(2, Itimer::Prof),             // 7: disarmed
        alarm(2, 0),                            // 8: none pending
        op(0, OpKind::Vfork),                   // 9: t3
        getitimer(3, Itimer::Virtual),          // 10: disarmed
        op(3, OpKind::Exec),                    // 11
        op(1, OpKind::Exec),                    // 12: t1 takes t0's place
        getitimer(1, Itimer::Real),             // 13: armed, 5 s
        getitimer(1, Itimer::Virtual),          // 14: armed, 3 s
        getitimer(1, Itimer::Prof),             // 15: armed, 2 s
        setitimer(1, Itimer::Real, 0, 9),       // 16
        setitimer(1, Itimer::Virtual, 0, 9),    // 17
        getitimer(1, Itimer::Real),             // 18: disarmed, 0
        getitimer(1, Itimer::Virtual),          // 19: disarmed, 9 s
        alarm(1, 1000),                         // 20: none pending
        alarm(1, 1200),                         // 21: pending
        getitimer(1, Itimer::Real),             // 22: armed, 0
        alarm(2, 1000),                         // 23: t2's own
        op(2, OpKind::Exec),                    // 24
        alarm(2, 0),                            // 25: pending
    ]);
    let m = known("timers_itimers_alarm_fork_thread_exec", &c);
    assert_eq!(m.outcomes[3], timer(true, 5), "shared by the thread");
    assert_eq!(m.outcomes[6], timer(false, 0), "none after fork");
    assert_eq!(m.outcomes[7], timer(false, 0));
    assert_eq!(m.outcomes[8], timer(false, 0));
    assert_eq!(m.outcomes[10], timer(false, 0), "none after vfork");
    assert_eq!(m.outcomes[13], timer(true, 5), "kept by exec");
    assert_eq!(m.outcomes[14], timer(true, 3));
    assert_eq!(m.outcomes[15], timer(true, 2));
    assert_eq!(m.outcomes[18], timer(false, 0));
    assert_eq!(m.outcomes[19], timer(false, 9));
    assert_eq!(m.outcomes[20], timer(false, 0));
    assert_eq!(m.outcomes[21], timer(true, 0));
    assert_eq!(m.outcomes[25], timer(true, 0), "an alarm survives exec");
}

/// POSIX timers are the process's (signal_struct->posix_timers), numbered from 0 per process
/// (posix_timer_add): a thread uses the ones its group made, a fork child has none (EINVAL
/// for its parent's ids) and numbers its own from 0, exec deletes them all (exit_itimers)
/// and the numbering goes on. A create with signal 0 fails after taking an id. A SIGEV_NONE
/// timer, disarmed after an arming, still reads its old expiry (common_timer_get).
// covers: timer.posix
#[test]
fn posix_timers_are_per_process_not_inherited_by_fork_and_deleted_by_exec() {
    let c = case(vec![
        timer_create(0, TimerNotify::Signal),    // 0: 0
        thread(0),                               // 1: t1
        timer_create(1, TimerNotify::None),      // 2: 1
        timer_create(0, TimerNotify::BadSignal), // 3: EINVAL (id 2 used up)
        timer_settime(1, 0, 1000, 2),            // 4
        timer_gettime(0, 0),                     // 5: armed, 2 s
        timer_gettime(0, 1),                     // 6: disarmed
        timer_gettime(0, 2),                     // 7: EINVAL
        op(0, OpKind::Fork),                     // 8: t2
        timer_gettime(2, 0),                     // 9: EINVAL
        op(2, OpKind::TimerDelete { timer: 1 }), // 10: EINVAL
        timer_settime(2, 0, 1000, 0),            // 11: EINVAL
        timer_create(2, TimerNotify::Signal),    // 12: 0, t2's own
        timer_gettime(2, 0),                     // 13: disarmed
        timer_gettime(0, 0),                     // 14: still armed
        timer_settime(0, 1, 1000, 0),            // 15
        timer_settime(0, 1, 0, 7),               // 16
        timer_gettime(0, 1),                     // 17: armed (old expiry), 0
        timer_settime(0, 0, 0, 7),               // 18
        timer_gettime(0, 0),                     // 19: disarmed, 0
        op(1, OpKind::TimerDelete { timer: 0 }), // 20
        timer_gettime(0, 0),                     // 21: EINVAL
        op(1, OpKind::Exec),                     // 22: t1 takes t0's place
        timer_gettime(1, 1),                     // 23: EINVAL
        timer_create(1, TimerNotify::None),      // 24: 3
        timer_gettime(2, 0),                     // 25: t2's timer
    ]);
    let m = known("timers_posix_fork_thread_exec", &c);
    assert_eq!(m.outcomes[0], Outcome::Ret(0));
    assert_eq!(m.outcomes[2], Outcome::Ret(1), "shared numbering");
    assert_eq!(m.outcomes[3], EINVAL);
    assert_eq!(m.outcomes[5], timer(true, 2));
    assert_eq!(m.outcomes[6], timer(false, 0));
    assert_eq!(m.outcomes[7], EINVAL);
    assert_eq!(m.outcomes[9], EINVAL, "not inherited by fork");
    assert_eq!(m.outcomes[10], EINVAL);
    assert_eq!(m.outcomes[11], EINVAL);
    assert_eq!(m.outcomes[12], Outcome::Ret(0));
    assert_eq!(m.outcomes[13], timer(false, 0));
    assert_eq!(m.outcomes[14], timer(true, 2));
    assert_eq!(m.outcomes[17], timer(true, 0));
    assert_eq!(m.outcomes[19], timer(false, 0));
    assert_eq!(m.outcomes[21], EINVAL);
    assert_eq!(m.outcomes[23], EINVAL, "deleted by exec");
    assert_eq!(m.outcomes[24], Outcome::Ret(3), "numbering kept by exec");
    assert_eq!(m.outcomes[25], timer(false, 0));
}
