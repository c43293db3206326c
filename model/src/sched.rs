//! The op language of scheduling and resource state a task inherits: nice
//! (`setpriority(2)`), scheduling policy (`sched_setscheduler(2)`, with
//! `SCHED_RESET_ON_FORK`), execution domain (`personality(2)`) and resource limits
//! (`prlimit(2)` on the caller), and what a call reports.
//!
//! CPUs are named by index: a backend lists the CPUs its tasks may use (the lab: its own
//! CPU first, then the others its cpuset allows, in order), and a mask's bit `i` stands for
//! CPU `i` of that list, so that two labs pinned to different CPUs answer alike.
//!
//! Values are the kernel's ABI numbers (include/uapi/linux/sched.h, resource.h,
//! personality.h), so ops may carry invalid ones too.

use serde::{Deserialize, Serialize};
use std::fmt;

/// `SCHED_OTHER` (`SCHED_NORMAL`).
pub const SCHED_OTHER: u32 = 0;
/// `SCHED_FIFO`.
pub const SCHED_FIFO: u32 = 1;
/// `SCHED_RR`.
pub const SCHED_RR: u32 = 2;
/// `SCHED_BATCH`.
pub const SCHED_BATCH: u32 = 3;
/// `SCHED_IDLE`.
pub const SCHED_IDLE: u32 = 5;
/// `SCHED_DEADLINE` (settable only with `sched_setattr`: EINVAL through `sched_setscheduler`).
pub const SCHED_DEADLINE: u32 = 6;
/// `SCHED_RESET_ON_FORK`, or'ed into the policy of `sched_setscheduler` and reported by
/// `sched_getscheduler`.
pub const SCHED_RESET_ON_FORK: u32 = 0x4000_0000;

/// `RLIMIT_NPROC`: tasks of the caller's real uid.
pub const RLIMIT_NPROC: u32 = 6;
/// `RLIMIT_LOCKS` (no longer enforced: only kept and inherited).
pub const RLIMIT_LOCKS: u32 = 10;
/// `RLIMIT_MSGQUEUE` (POSIX message queues, which no op makes).
pub const RLIMIT_MSGQUEUE: u32 = 12;
/// `RLIMIT_NICE`: the lowest nice a task may set itself, as `20 - nice`.
pub const RLIMIT_NICE: u32 = 13;
/// `RLIMIT_RTPRIO`: the highest real-time priority a task may set itself.
pub const RLIMIT_RTPRIO: u32 = 14;
/// `RLIM_NLIMITS`: resources at or above it are EINVAL.
pub const RLIM_NLIMITS: u32 = 16;
/// `RLIM_INFINITY` (and `RLIM64_INFINITY`).
pub const RLIM_INFINITY: u64 = u64::MAX;
/// The resources the model keeps: the ones whose limits change nothing else a case does
/// (`NOFILE`, `STACK`, `AS`, `CORE` ... would change other ops' outcomes), plus the two the
/// scheduling rules read and the one fork checks.
pub const RLIMITS: [u32; 5] = [
    RLIMIT_NPROC,
    RLIMIT_LOCKS,
    RLIMIT_MSGQUEUE,
    RLIMIT_NICE,
    RLIMIT_RTPRIO,
];

/// `ADDR_NO_RANDOMIZE` (include/uapi/linux/personality.h).
pub const ADDR_NO_RANDOMIZE: u32 = 0x004_0000;
/// `READ_IMPLIES_EXEC`: `PROT_READ` mappings are executable.
pub const READ_IMPLIES_EXEC: u32 = 0x040_0000;
/// `SHORT_INODE`.
pub const SHORT_INODE: u32 = 0x100_0000;
/// `WHOLE_SECONDS`.
pub const WHOLE_SECONDS: u32 = 0x200_0000;
/// `STICKY_TIMEOUTS`.
pub const STICKY_TIMEOUTS: u32 = 0x400_0000;
/// `personality(0xffffffff)` only reads the persona.
pub const PERSONALITY_QUERY: u32 = 0xffff_ffff;

/// Bit of a CPU mask that stands for a CPU a backend does not know (reported by
/// `sched_getaffinity` for a CPU outside its list).
pub const UNKNOWN_CPU: u32 = 1 << 31;

/// A soft and a hard limit (`struct rlimit64`); [`RLIM_INFINITY`] for none.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rlim {
    /// `rlim_cur`, the soft limit.
    pub cur: u64,
    /// `rlim_max`, the hard limit.
    pub max: u64,
}

impl Rlim {
    /// No limit.
    pub const INFINITY: Rlim = Rlim {
        cur: RLIM_INFINITY,
        max: RLIM_INFINITY,
    };
}

fn limit(f: &mut fmt::Formatter<'_>, v: u64) -> fmt::Result {
    if v == RLIM_INFINITY {
        write!(f, "inf")
    } else {
        write!(f, "{v}")
    }
}

impl fmt::Display for Rlim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{cur ")?;
        limit(f, self.cur)?;
        write!(f, ", max ")?;
        limit(f, self.max)?;
        write!(f, "}}")
    }
}

/// A resource limit a backend's tasks start with (an environment fact of the
/// [`crate::profile::Profile`]).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RlimitStart {
    /// The resource (`RLIMIT_*`).
    pub resource: u32,
    /// Its limits.
    #[serde(flatten)]
    pub limit: Rlim,
}

/// The name of a resource, `RLIMIT_` left off (its number when unknown).
pub fn resource_name(resource: u32) -> String {
    let name = match resource {
        0 => "CPU",
        1 => "FSIZE",
        2 => "DATA",
        3 => "STACK",
        4 => "CORE",
        5 => "RSS",
        RLIMIT_NPROC => "NPROC",
        7 => "NOFILE",
        8 => "MEMLOCK",
        9 => "AS",
        RLIMIT_LOCKS => "LOCKS",
        11 => "SIGPENDING",
        RLIMIT_MSGQUEUE => "MSGQUEUE",
        RLIMIT_NICE => "NICE",
        RLIMIT_RTPRIO => "RTPRIO",
        15 => "RTTIME",
        _ => return resource.to_string(),
    };
    format!("RLIMIT_{name}")
}

/// A policy as `sched_getscheduler` reports it: its name, `|SCHED_RESET_ON_FORK` when set.
pub fn policy_name(policy: u32) -> String {
    let base = match policy & !SCHED_RESET_ON_FORK {
        SCHED_OTHER => "SCHED_OTHER".to_string(),
        SCHED_FIFO => "SCHED_FIFO".to_string(),
        SCHED_RR => "SCHED_RR".to_string(),
        SCHED_BATCH => "SCHED_BATCH".to_string(),
        SCHED_IDLE => "SCHED_IDLE".to_string(),
        SCHED_DEADLINE => "SCHED_DEADLINE".to_string(),
        other => other.to_string(),
    };
    if policy & SCHED_RESET_ON_FORK != 0 {
        format!("{base}|SCHED_RESET_ON_FORK")
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_limits_policies_and_resources() {
        assert_eq!(Rlim::INFINITY.to_string(), "{cur inf, max inf}");
        assert_eq!(Rlim { cur: 0, max: 5 }.to_string(), "{cur 0, max 5}");
        assert_eq!(resource_name(RLIMIT_NPROC), "RLIMIT_NPROC");
        assert_eq!(resource_name(99), "99");
        // include/uapi/asm-generic/resource.h, in order.
        let names: Vec<String> = (0..=16).map(resource_name).collect();
        let want = [
            "CPU",
            "FSIZE",
            "DATA",
            "STACK",
            "CORE",
            "RSS",
            "NPROC",
            "NOFILE",
            "MEMLOCK",
            "AS",
            "LOCKS",
            "SIGPENDING",
            "MSGQUEUE",
            "NICE",
            "RTPRIO",
            "RTTIME",
        ];
        let mut want: Vec<String> = want.iter().map(|n| format!("RLIMIT_{n}")).collect();
        want.push("16".to_string());
        assert_eq!(names, want);
        assert_eq!(
            policy_name(SCHED_IDLE | SCHED_RESET_ON_FORK),
            "SCHED_IDLE|SCHED_RESET_ON_FORK"
        );
        assert_eq!(policy_name(4), "4");
    }
}
