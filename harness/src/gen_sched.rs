//! Generation of the scheduling and resource state ops: nice, policy (with
//! `SCHED_RESET_ON_FORK`), CPU affinity, persona and resource limits, set in one task and read back in it
//! or in the children the mix forks from it.

use crate::gen::Choices;
use forkspec_model::sched::{
    Rlim, ADDR_NO_RANDOMIZE, PERSONALITY_QUERY, RLIMIT_LOCKS, RLIMIT_MSGQUEUE, RLIMIT_NICE,
    RLIMIT_NPROC, RLIMIT_RTPRIO, RLIM_INFINITY, SCHED_BATCH, SCHED_DEADLINE, SCHED_FIFO,
    SCHED_IDLE, SCHED_OTHER, SCHED_RESET_ON_FORK, SCHED_RR, SHORT_INODE, STICKY_TIMEOUTS,
    WHOLE_SECONDS,
};
use forkspec_model::OpKind;

/// A nice, policy or persona op: reads half of the time (what a child inherited), else a
/// nice from the whole range and beyond it (clamped), a policy (fair ones mostly, real-time
/// at priorities 1 to 3, now and then an invalid one) with `SCHED_RESET_ON_FORK` a third of
/// the time, or a persona from the flags that change nothing the lab or the other ops rely
/// on (`READ_IMPLIES_EXEC` would make the mix's `PROT_READ` mappings executable, and so
/// change how they merge; `ADDR_COMPAT_LAYOUT` and `MMAP_PAGE_ZERO` would change an exec's
/// layout).
pub(crate) fn sched(src: &mut dyn Choices) -> OpKind {
    match src.below(15) {
        12 => return OpKind::SchedGetaffinity,
        // CPU 0 (the lab's own), 1 (another, when the lab may use two), both, or one
        // beyond the list alone (EINVAL).
        13..=14 => {
            return OpKind::SchedSetaffinity {
                cpus: *src.pick(&[1, 2, 3, 3, 4]),
            }
        }
        _ => {}
    }
    match src.below(12) {
        0..=1 => OpKind::Getpriority,
        2..=3 => OpKind::SchedGetscheduler,
        4 => OpKind::Personality {
            persona: PERSONALITY_QUERY,
        },
        5..=6 => OpKind::Setpriority {
            nice: *src.pick(&[-25, -5, -1, 0, 1, 3, 5, 10, 19, 30]),
        },
        7..=9 => {
            let policy = *src.pick(&[
                SCHED_OTHER,
                SCHED_OTHER,
                SCHED_BATCH,
                SCHED_BATCH,
                SCHED_IDLE,
                SCHED_FIFO,
                SCHED_RR,
            ]);
            let rt = policy == SCHED_FIFO || policy == SCHED_RR;
            let mut priority = if rt { 1 + src.below(3) } else { 0 };
            let mut policy = policy;
            match src.below(20) {
                0 => priority = if rt { 0 } else { 1 },
                1 => policy = *src.pick(&[4, SCHED_DEADLINE]),
                _ => {}
            }
            if src.chance(33) {
                policy |= SCHED_RESET_ON_FORK;
            }
            OpKind::SchedSetscheduler { policy, priority }
        }
        _ => OpKind::Personality {
            persona: *src.pick(&[
                0,
                0,
                ADDR_NO_RANDOMIZE,
                SHORT_INODE | WHOLE_SECONDS,
                STICKY_TIMEOUTS,
                ADDR_NO_RANDOMIZE | STICKY_TIMEOUTS,
            ]),
        },
    }
}

/// A `prlimit` op on the caller: a read a third of the time, else new limits for one of the
/// resources the model keeps, now and then a soft limit above the hard one (EINVAL) or an
/// unknown resource (EINVAL). `RLIMIT_NPROC` is only ever 0, 1 or a limit no count of tasks
/// reaches: between them whether a fork is refused depends on every task of the uid on the
/// machine, which no model knows.
pub(crate) fn prlimit(src: &mut dyn Choices) -> OpKind {
    let resource = if src.chance(4) {
        *src.pick(&[16, 40])
    } else {
        *src.pick(&[
            RLIMIT_NPROC,
            RLIMIT_NPROC,
            RLIMIT_NICE,
            RLIMIT_RTPRIO,
            RLIMIT_LOCKS,
            RLIMIT_MSGQUEUE,
        ])
    };
    if src.chance(33) {
        return OpKind::Prlimit {
            resource,
            set: None,
            no_old: false,
        };
    }
    let values: &[u64] = match resource {
        RLIMIT_NPROC => &[0, 1, 1 << 20, RLIM_INFINITY],
        RLIMIT_NICE => &[0, 10, 20, 25, 40],
        RLIMIT_RTPRIO => &[0, 1, 2, 99],
        _ => &[0, 7, 1000, RLIM_INFINITY],
    };
    let cur = *src.pick(values);
    let max = match src.below(10) {
        0..=3 => cur,
        4..=6 => RLIM_INFINITY,
        _ => *src.pick(values),
    };
    OpKind::Prlimit {
        resource,
        set: Some(Rlim { cur, max }),
        no_old: src.chance(25),
    }
}
