//! The JSON-lines wire protocol between the harness and a backend (the Linux lab, or any
//! simulator). One request per line on the backend's stdin, one response per line on its stdout.
//!
//! ```text
//! → {"cmd":"hello","protocol":1}
//! ← {"hello":{"protocol":1,"implementation":"linux-lab","profile":{..},"capabilities":{..},"ops":[..]}}
//! → {"cmd":"setup","config":{"pages":8}}
//! ← "ready"
//! → {"cmd":"op","op":{"task":0,"kind":"fork"},"snapshot":true}
//! ← {"done":{"outcome":{"child":1},"snapshot":{..}}}
//! → {"cmd":"snapshot"}
//! ← {"snapshot":{..}}
//! → {"cmd":"end"}
//! ← "ended"
//! ```
//! Any request may instead be answered with `{"error":"message"}`.

use crate::obs::{Outcome, Snapshot};
use crate::op::{CaseConfig, Op};
use crate::profile::{Capabilities, Profile};
use serde::{Deserialize, Serialize};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// A request from the harness.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// First message: version negotiation.
    Hello {
        /// The harness's protocol version.
        protocol: u32,
    },
    /// Start a fresh case: a new root task `t0` with the four regions mapped.
    Setup {
        /// Case configuration.
        config: CaseConfig,
        /// Deadline for each op in milliseconds; an op not done by then is `blocked`.
        #[serde(default = "default_deadline_ms")]
        deadline_ms: u64,
    },
    /// Run one op; with `snapshot` the state after it comes back too.
    Op {
        /// The op.
        op: Op,
        /// Whether to take a snapshot after the op.
        #[serde(default)]
        snapshot: bool,
    },
    /// Take a snapshot now.
    Snapshot,
    /// Tear the case down: every task killed and reaped, the case directory removed.
    End,
}

/// Default per-op deadline.
pub fn default_deadline_ms() -> u64 {
    2000
}

/// What a backend says about itself.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Hello {
    /// Protocol version spoken.
    pub protocol: u32,
    /// A name for reports, e.g. `linux-lab 6.18.44`.
    pub implementation: String,
    /// Environment facts.
    #[serde(default)]
    pub profile: Profile,
    /// What it can observe.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// Op kinds it implements (the `kind` tag values); `None` means all.
    #[serde(default)]
    pub ops: Option<Vec<String>>,
    /// How fast the implementation is, measured inside it at start-up; the harness never
    /// grants an op less time than this shows it needs (see [`Speed`]). `None` when the
    /// backend does not measure it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<Speed>,
    /// How an exec of the Linux lab re-enters the implementation under test, and what the
    /// lab's probe at start-up showed. `None` from backends that run no programs of their
    /// own (simulators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec_route: Option<ExecRoute>,
    /// Why the backend can tell that an op blocks only once the op deadline has passed
    /// (the Linux lab without a readable /proc/PID/syscall); `None` when it sees a blocked
    /// task asleep in its op at once. With a reason, the harness generates no op that the
    /// model predicts to block (each would cost a whole deadline) and reports those forms
    /// as not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by_deadline: Option<String>,
}

/// How the lab's execs (the `exec` op, the zygote, every re-executed agent) stay inside the
/// implementation under test (a runner: an emulator, a sandbox, a tracer), as the lab proved
/// it at start-up by executing a probe of itself both ways.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExecRoute {
    /// `direct`: an execve of the lab's own binary stays inside (the runner follows exec,
    /// or there is no runner); `runner`: every exec goes through the runner's command
    /// line; `none`: neither could be confirmed, so the `exec` op is not generated (never
    /// run on the host kernel instead).
    pub via: String,
    /// The program and leading arguments every exec starts (the agent's own arguments
    /// follow); empty with `via: none`.
    pub argv: Vec<String>,
    /// What the probe showed: the signatures compared, or why no route was confirmed.
    pub proof: String,
}

/// Costs measured by a backend inside the implementation under test (medians, in
/// microseconds). Under software emulation they are 10–50 times those of the machine itself,
/// and every deadline the harness applies scales with them.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Speed {
    /// fork of a small process, its `_exit(0)` and the parent's `waitpid`.
    pub fork_wait_us: u64,
    /// One byte to another process through a pipe and back.
    pub round_trip_us: u64,
}

/// A backend's answer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Answer to hello.
    Hello(Hello),
    /// Answer to setup.
    Ready,
    /// Answer to op.
    Done {
        /// What the op did.
        outcome: Outcome,
        /// State after it, when asked for.
        #[serde(default)]
        snapshot: Option<Snapshot>,
    },
    /// Answer to snapshot.
    Snapshot(Snapshot),
    /// Answer to end.
    Ended,
    /// The request could not be carried out.
    Error(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes() {
        let r: Request =
            serde_json::from_str(r#"{"cmd":"op","op":{"task":0,"kind":"fork"},"snapshot":true}"#)
                .unwrap();
        assert!(matches!(r, Request::Op { snapshot: true, .. }));
        assert_eq!(
            serde_json::to_string(&Response::Ready).unwrap(),
            r#""ready""#
        );
        let d: Response = serde_json::from_str(r#"{"done":{"outcome":{"child":1}}}"#).unwrap();
        assert_eq!(
            d,
            Response::Done {
                outcome: Outcome::Child(1),
                snapshot: None
            }
        );
    }
}
