//! Deadlines that follow the implementation's measured speed.
//!
//! A backend that measures itself reports [`Speed`] in its hello (the lab does, inside the
//! kernel it runs on). An op that the model does not predict to block must never be reported
//! as "blocked" just because the implementation is slow — under software emulation a kernel
//! is 10–50 times slower than the machine — so the harness never applies a per-op deadline
//! below what that speed shows an op needs, and says so when it raises `--deadline-ms`.

use forkspec_model::protocol::Speed;
use std::time::Duration;

/// The least per-op deadline, whatever the speed: the slowest ops the generator makes (an
/// exec of the forkspec binary, a clone into new namespaces, a fork of a task with every
/// region populated) take a few milliseconds each on this machine kind, and a loaded
/// machine can leave a runnable task waiting tens of milliseconds for a CPU.
pub const FLOOR: Duration = Duration::from_millis(250);
/// How many fork+exit+wait times an op may need: an exec or a clone into new namespaces
/// costs tens of forks, and scheduling delays grow with the same slowness.
pub const FORKS_PER_OP: u64 = 1000;
/// How many pipe round trips an op may need (each op is several round trips between the
/// lab and its agent, and the answer of an op in a new task waits for that task to run).
pub const ROUND_TRIPS_PER_OP: u64 = 2000;

/// How many op deadlines a backend may take to answer one request before it is hung.
/// Where the lab can see a task asleep in its op (/proc/PID/syscall), the deadline no
/// longer decides "blocked": it only scales this hang guard, far above anything an op
/// legitimately needs; the lab reports a hang as an error naming the task and what it was
/// doing, and the harness waits a little longer still before it calls the backend hung.
pub const HANG_FACTOR: u32 = 5;
/// The least hang guard, whatever the deadline: a deadline below the [`FLOOR`] (a test, or
/// a harness of its own) must not turn a slow exec into a hang.
pub const HANG_MIN: Duration = Duration::from_secs(5);

/// How long a backend may go without answering an op that is not blocked:
/// [`HANG_FACTOR`] deadlines, at least [`HANG_MIN`].
pub fn hang_guard(deadline: Duration) -> Duration {
    (deadline * HANG_FACTOR).max(HANG_MIN)
}

/// How many windows of a quarter hang guard a task that is starved of a CPU (waiting on a
/// run queue, not hung) gets beyond the guard: two more guards in all (lab/starve.rs).
pub const STARVED_WINDOWS: u32 = 8;

/// The longest a backend may wait for a task before it reports a hang: the hang guard and
/// the windows a starved task may get beyond it. The harness waits this plus its slack.
pub fn hang_guard_starved(deadline: Duration) -> Duration {
    let guard = hang_guard(deadline);
    guard + starved_window(guard) * STARVED_WINDOWS
}

/// One window beyond the hang guard `guard` (at least half a second).
pub fn starved_window(guard: Duration) -> Duration {
    (guard / 4).max(Duration::from_millis(500))
}

/// The least deadline `speed` allows.
pub fn needed(speed: Option<Speed>) -> Duration {
    let Some(s) = speed else {
        return FLOOR;
    };
    let us = s
        .fork_wait_us
        .saturating_mul(FORKS_PER_OP)
        .max(s.round_trip_us.saturating_mul(ROUND_TRIPS_PER_OP));
    FLOOR.max(Duration::from_micros(us))
}

/// The deadline to apply: `requested`, raised to what `speed` shows ops need. `Some(why)`
/// when it was raised, with a message for stderr.
pub fn effective(requested: Duration, speed: Option<Speed>) -> (Duration, Option<String>) {
    let need = needed(speed);
    if requested >= need {
        return (requested, None);
    }
    let measured = match speed {
        Some(s) => format!(
            "measured inside it: fork+exit+wait {} µs, pipe round trip {} µs",
            s.fork_wait_us, s.round_trip_us
        ),
        None => "it reports no speed".into(),
    };
    let why = format!(
        "--deadline-ms {} is below what this implementation needs for an op ({measured}); \
         using {} ms so that no op is reported blocked for being slow",
        requested.as_millis(),
        need.as_millis()
    );
    (need, Some(why))
}

/// Prints `msg` on stderr the first time a note about `topic` comes up in this process
/// (every worker's backend comes to the same conclusion, with its own figures).
pub fn note_once(topic: &str, msg: &str) {
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.iter().any(|m| m == topic) {
        eprintln!("forkspec: note: {msg}");
        said.push(topic.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speed(fork_wait_us: u64, round_trip_us: u64) -> Option<Speed> {
        Some(Speed {
            fork_wait_us,
            round_trip_us,
        })
    }

    #[test]
    fn native_speed_keeps_the_default_and_raises_one_ms() {
        let native = speed(150, 10);
        let (d, why) = effective(Duration::from_millis(2000), native);
        assert_eq!((d, why), (Duration::from_millis(2000), None));
        let (d, why) = effective(Duration::from_millis(1), native);
        assert_eq!(d, FLOOR);
        assert!(why.unwrap().contains("--deadline-ms 1 "));
        // No speed reported: the floor still holds.
        assert_eq!(effective(Duration::from_millis(1), None).0, FLOOR);
    }

    #[test]
    fn the_hang_guard_is_far_above_the_deadline() {
        assert_eq!(hang_guard(Duration::from_secs(2)), Duration::from_secs(10));
        assert_eq!(hang_guard(Duration::from_millis(1)), HANG_MIN);
    }

    #[test]
    fn emulation_scales_the_deadline() {
        // Software emulation: forks and round trips some 30 times slower.
        let (d, why) = effective(Duration::from_millis(2000), speed(6000, 300));
        assert_eq!(d, Duration::from_micros(6000 * FORKS_PER_OP));
        assert!(why.unwrap().contains("fork+exit+wait 6000 µs"));
        // Round trips can dominate too.
        let (d, _) = effective(Duration::from_millis(1), speed(100, 2000));
        assert_eq!(d, Duration::from_micros(2000 * ROUND_TRIPS_PER_OP));
        // A deadline above the need is kept.
        let (d, why) = effective(Duration::from_secs(60), speed(6000, 300));
        assert_eq!((d, why), (Duration::from_secs(60), None));
    }
}
