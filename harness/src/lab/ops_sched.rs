//! Op → agent command for the scheduling and resource state ops (`setpriority`,
//! `getpriority`, `sched_setscheduler`, `sched_getscheduler`, `personality`, `prlimit`),
//! and the replies that need converting. Every call is the task's own, on itself.

use super::channel::{Cmd, Reply, FIX_CMD_DATA, FIX_REPLY_DATA};
use super::ops::Expect;
use forkspec_model::sched::Rlim;
use forkspec_model::Outcome;

/// `PRIO_PROCESS`.
const PRIO_PROCESS: u64 = 0;

fn syscall(nr: i64, args: [u64; 6]) -> Cmd {
    Cmd {
        nr: nr as u64,
        args,
        ..Cmd::ZERO
    }
}

/// `setpriority(PRIO_PROCESS, 0, nice)`.
pub fn encode_setpriority(nice: i32) -> (Cmd, Expect) {
    let c = syscall(
        libc::SYS_setpriority,
        [PRIO_PROCESS, 0, nice as i64 as u64, 0, 0, 0],
    );
    (c, Expect::Ret)
}

/// `getpriority(PRIO_PROCESS, 0)`: the system call returns `20 - nice`
/// ([`Expect::Nice`] converts it back).
pub fn encode_getpriority() -> (Cmd, Expect) {
    (
        syscall(libc::SYS_getpriority, [PRIO_PROCESS, 0, 0, 0, 0, 0]),
        Expect::Nice,
    )
}

/// `sched_setscheduler(0, policy, &param)` with `struct sched_param` in the command's data.
pub fn encode_setscheduler(policy: u32, priority: u32) -> (Cmd, Expect) {
    let mut c = syscall(
        libc::SYS_sched_setscheduler,
        [0, u64::from(policy) as i32 as i64 as u64, 0, 0, 0, 0],
    );
    c.data[0..4].copy_from_slice(&priority.to_ne_bytes());
    c.len = 4;
    c.fix = FIX_CMD_DATA << 2;
    (c, Expect::Ret)
}

/// `sched_getscheduler(0)`.
pub fn encode_getscheduler() -> (Cmd, Expect) {
    (syscall(libc::SYS_sched_getscheduler, [0; 6]), Expect::Ret)
}

/// `personality(persona)`: the kernel takes an `unsigned int` and returns the old one.
pub fn encode_personality(persona: u32) -> (Cmd, Expect) {
    (
        syscall(libc::SYS_personality, [u64::from(persona), 0, 0, 0, 0, 0]),
        Expect::Ret,
    )
}

/// `prlimit64(0, resource, new or NULL, &old or NULL)`: `new` in the command's data, `old`
/// written to the reply's.
pub fn encode_prlimit(resource: u32, set: Option<Rlim>, no_old: bool) -> (Cmd, Expect) {
    let mut c = syscall(libc::SYS_prlimit64, [0, u64::from(resource), 0, 0, 0, 0]);
    let expect = if no_old {
        Expect::Ret
    } else {
        c.fix = FIX_REPLY_DATA << 3;
        Expect::Rlimit
    };
    if let Some(l) = set {
        c.data[0..8].copy_from_slice(&l.cur.to_ne_bytes());
        c.data[8..16].copy_from_slice(&l.max.to_ne_bytes());
        c.len = 16;
        c.fix |= FIX_CMD_DATA << 2;
    }
    (c, expect)
}

/// The nice value of a successful `getpriority`: `20 - ret`.
pub fn nice_report(r: &Reply) -> Outcome {
    Outcome::Ret(20 - r.ret)
}

/// The old limits a successful `prlimit64` wrote back.
pub fn rlimit_report(r: &Reply) -> Outcome {
    let word = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&r.data[o..o + 8]);
        u64::from_ne_bytes(b)
    };
    Outcome::Rlimit(Rlim {
        cur: word(0),
        max: word(8),
    })
}

/// Bytes of the CPU masks the affinity commands pass (1024 CPUs, glibc's `cpu_set_t`).
const MASK_BYTES: usize = 128;

/// The CPUs the case's tasks may use, in the order the op language names them: the lab's
/// own first (those of its affinity at start-up, normally the one CPU it is pinned to), then
/// the others its cpuset allows, each in increasing order. The allowed set is what the
/// kernel keeps of an affinity of every CPU; the lab's own is set back at once.
pub fn cpu_list() -> &'static [usize] {
    static CPUS: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
    CPUS.get_or_init(|| {
        let bits = |set: &[u8; MASK_BYTES]| -> Vec<usize> {
            (0..MASK_BYTES * 8)
                .filter(|&c| set[c / 8] & (1 << (c % 8)) != 0)
                .collect()
        };
        let mut own = [0u8; MASK_BYTES];
        let mut allowed = [0u8; MASK_BYTES];
        let all = [0xffu8; MASK_BYTES];
        // SAFETY: the calls read and write 128-byte masks that are locals of this frame.
        let (got, widened) = unsafe {
            let got =
                libc::syscall(libc::SYS_sched_getaffinity, 0, MASK_BYTES, own.as_mut_ptr()) > 0;
            let widened =
                got && libc::syscall(libc::SYS_sched_setaffinity, 0, MASK_BYTES, all.as_ptr()) == 0;
            if widened {
                libc::syscall(
                    libc::SYS_sched_getaffinity,
                    0,
                    MASK_BYTES,
                    allowed.as_mut_ptr(),
                );
                libc::syscall(libc::SYS_sched_setaffinity, 0, MASK_BYTES, own.as_ptr());
            }
            (got, widened)
        };
        if !got {
            return vec![0];
        }
        let mut list = bits(&own);
        if widened {
            let others: Vec<usize> = bits(&allowed)
                .into_iter()
                .filter(|c| !list.contains(c))
                .collect();
            list.extend(others);
        }
        list
    })
}

/// The profile's facts about CPUs: how many the tasks may use, and the mask they start with
/// (the lab's own).
pub fn cpu_facts() -> (u32, u32) {
    let list = cpu_list();
    let n = list.len().min(31);
    // SAFETY: reads a 128-byte mask into a local.
    let mut own = [0u8; MASK_BYTES];
    let ok =
        unsafe { libc::syscall(libc::SYS_sched_getaffinity, 0, MASK_BYTES, own.as_mut_ptr()) > 0 };
    let mask = if ok { to_indices(&own) } else { 1 };
    (n as u32, mask & !forkspec_model::sched::UNKNOWN_CPU)
}

/// A kernel CPU mask as a mask over [`cpu_list`]; a CPU outside it sets
/// [`forkspec_model::sched::UNKNOWN_CPU`].
fn to_indices(set: &[u8]) -> u32 {
    let list = cpu_list();
    let mut mask = 0u32;
    for c in 0..set.len().min(MASK_BYTES) * 8 {
        if set[c / 8] & (1 << (c % 8)) != 0 {
            mask |= match list.iter().position(|&x| x == c) {
                Some(i) if i < 31 => 1 << i,
                _ => forkspec_model::sched::UNKNOWN_CPU,
            };
        }
    }
    mask
}

/// `sched_setaffinity(0, 128, mask)`: bit `i` of `cpus` is CPU `i` of [`cpu_list`]; bits
/// beyond the list name no CPU (the kernel would drop them all the same).
pub fn encode_setaffinity(cpus: u32) -> (Cmd, Expect) {
    let mut c = syscall(
        libc::SYS_sched_setaffinity,
        [0, MASK_BYTES as u64, 0, 0, 0, 0],
    );
    for (i, &cpu) in cpu_list().iter().enumerate().take(31) {
        if cpus & (1 << i) != 0 && cpu < MASK_BYTES * 8 {
            c.data[cpu / 8] |= 1 << (cpu % 8);
        }
    }
    c.len = MASK_BYTES as u32;
    c.fix = FIX_CMD_DATA << 2;
    (c, Expect::Ret)
}

/// `sched_getaffinity(0, 128, mask)`, the mask written to the reply's data.
pub fn encode_getaffinity() -> (Cmd, Expect) {
    let mut c = syscall(
        libc::SYS_sched_getaffinity,
        [0, MASK_BYTES as u64, 0, 0, 0, 0],
    );
    c.fix = FIX_REPLY_DATA << 2;
    (c, Expect::Affinity)
}

/// The mask of a successful `sched_getaffinity` (which returns the bytes it wrote).
pub fn affinity_report(r: &Reply) -> Outcome {
    let n = (r.ret as usize).min(MASK_BYTES);
    Outcome::Ret(i64::from(to_indices(&r.data[..n])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prlimit_passes_new_and_reads_old_and_getpriority_converts() {
        let (c, e) = encode_prlimit(
            6,
            Some(Rlim {
                cur: 1,
                max: u64::MAX,
            }),
            false,
        );
        assert_eq!(e, Expect::Rlimit);
        assert_eq!(c.fix, (FIX_REPLY_DATA << 3) | (FIX_CMD_DATA << 2));
        let mut r = Reply::ZERO;
        r.data[..16].copy_from_slice(&c.data[..16]);
        assert_eq!(
            rlimit_report(&r),
            Outcome::Rlimit(Rlim {
                cur: 1,
                max: u64::MAX
            })
        );
        let (q, _) = encode_prlimit(6, None, false);
        assert_eq!(q.fix, FIX_REPLY_DATA << 3);
        let (n, e) = encode_prlimit(6, Some(Rlim { cur: 0, max: 0 }), true);
        assert_eq!((n.fix, e), (FIX_CMD_DATA << 2, Expect::Ret));
        r.ret = 25;
        assert_eq!(nice_report(&r), Outcome::Ret(-5));
        let (s, _) = encode_setscheduler(0x4000_0001, 3);
        assert_eq!(s.args[1], 0x4000_0001);
        assert_eq!(s.data[0], 3);
    }
}
