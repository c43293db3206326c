//! Ops from arbitrary bytes: every op kind, with any task, fd, page, length or signal,
//! including the absurd ones (unknown and exited tasks, closed and huge fds, pages out of
//! range, lengths and offsets at the limits). The fuzz target `model_ops` feeds them to the
//! model, and so does a test here with seeded bytes: the model must never panic, whatever
//! the sequence. [`KINDS`] and the exhaustive [`kind_index`] keep the builder complete: a
//! new op kind does not compile until it has a place here.

use crate::op::*;
use crate::timer::{Itimer, TimerClock, TimerNotify};
use crate::{CaseConfig, CaseFs, Errno, Model, Profile, Signal};

/// A cursor over the input bytes; past the end it reads zeros.
pub struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data, at: 0 }
    }

    /// The next byte.
    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    /// A small number around 0, or one of the limits.
    pub fn i32(&mut self) -> i32 {
        match self.u8() {
            0xff => i32::MAX,
            0xfe => i32::MIN,
            0xfd => 1024,
            b => i32::from(b % 12) - 1,
        }
    }

    /// A length or offset, or one of the limits.
    pub fn i64(&mut self) -> i64 {
        match self.u8() {
            0xff => i64::MAX,
            0xfe => i64::MIN,
            0xfd => 1 << 44,
            b => i64::from(b) * 97 - 500,
        }
    }

    /// One of `items`.
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[usize::from(self.u8()) % items.len()]
    }

    /// Whether the input is used up.
    pub fn done(&self) -> bool {
        self.at >= self.data.len()
    }
}

/// The number of op kinds [`op`] draws from, one per [`OpKind`] variant.
pub const KINDS: usize = 69;

/// The index of `k`'s variant in [`op`]'s choice: exhaustive, so that a new variant must be
/// given a place.
pub fn kind_index(k: &OpKind) -> usize {
    match k {
        OpKind::Fork => 0,
        OpKind::Exit { .. } => 1,
        OpKind::Wait { .. } => 2,
        OpKind::Vfork => 3,
        OpKind::Clone(_) => 4,
        OpKind::Exec => 5,
        OpKind::MemRead { .. } => 6,
        OpKind::MemWrite { .. } => 7,
        OpKind::Madvise { .. } => 8,
        OpKind::Open { .. } => 9,
        OpKind::Close { .. } => 10,
        OpKind::Dup { .. } => 11,
        OpKind::Dup2 { .. } => 12,
        OpKind::Dup3 { .. } => 13,
        OpKind::Read { .. } => 14,
        OpKind::Write { .. } => 15,
        OpKind::Pread { .. } => 16,
        OpKind::Pwrite { .. } => 17,
        OpKind::Lseek { .. } => 18,
        OpKind::Fcntl { .. } => 19,
        OpKind::Pipe2 { .. } => 20,
        OpKind::Ftruncate { .. } => 21,
        OpKind::Flock { .. } => 22,
        OpKind::Kill { .. } => 23,
        OpKind::Sigaction { .. } => 24,
        OpKind::Sigprocmask { .. } => 25,
        OpKind::Chdir { .. } => 26,
        OpKind::Umask { .. } => 27,
        OpKind::Sethostname { .. } => 28,
        OpKind::Uname => 29,
        OpKind::CloseRange { .. } => 30,
        OpKind::Unshare { .. } => 31,
        OpKind::Seccomp { .. } => 32,
        OpKind::Prctl { .. } => 33,
        OpKind::Setpgid { .. } => 34,
        OpKind::Getpgid { .. } => 35,
        OpKind::Setsid => 36,
        OpKind::Getsid { .. } => 37,
        OpKind::Mmap { .. } => 38,
        OpKind::Munmap { .. } => 39,
        OpKind::Mprotect { .. } => 40,
        OpKind::KillPgrp { .. } => 41,
        OpKind::Setitimer { .. } => 42,
        OpKind::Getitimer { .. } => 43,
        OpKind::Alarm { .. } => 44,
        OpKind::TimerCreate { .. } => 45,
        OpKind::TimerSettime { .. } => 46,
        OpKind::TimerGettime { .. } => 47,
        OpKind::TimerDelete { .. } => 48,
        OpKind::Waitid { .. } => 49,
        OpKind::PidfdOpen { .. } => 50,
        OpKind::PidfdSendSignal { .. } => 51,
        OpKind::PidfdGetfd { .. } => 52,
        OpKind::Poll { .. } => 53,
        OpKind::Mremap { .. } => 54,
        OpKind::Sigaltstack { .. } => 55,
        OpKind::Setns { .. } => 56,
        OpKind::Mlock { .. } => 57,
        OpKind::Munlock { .. } => 58,
        OpKind::Mlockall { .. } => 59,
        OpKind::Munlockall => 60,
        OpKind::Setpriority { .. } => 61,
        OpKind::Getpriority => 62,
        OpKind::SchedSetscheduler { .. } => 63,
        OpKind::SchedGetscheduler => 64,
        OpKind::Personality { .. } => 65,
        OpKind::Prlimit { .. } => 66,
        OpKind::SchedSetaffinity { .. } => 67,
        OpKind::SchedGetaffinity => 68,
    }
}

/// The next op: a task (mostly one of the first four, now and then up to 9, which may never
/// exist), then the op kind, then its arguments.
pub fn op(b: &mut Bytes) -> Op {
    let task = match b.u8() {
        t @ 0..=199 => u32::from(t % 4),
        t => u32::from(t % 10),
    };
    // Forks often enough that later ops find tasks to act on.
    let kind = match b.u8() {
        k @ 0..=29 => [0, 3, 4][usize::from(k % 3)],
        k => usize::from(k) % KINDS,
    };
    Op {
        task,
        kind: op_kind(kind, b),
    }
}

/// A task label that may not exist.
fn label(b: &mut Bytes) -> TaskId {
    u32::from(b.u8() % 12)
}

/// A task label, or none (the caller, or its own group).
fn maybe_label(b: &mut Bytes) -> Option<TaskId> {
    match b.u8() % 13 {
        12 => None,
        n => Some(u32::from(n)),
    }
}

fn signal(b: &mut Bytes) -> Signal {
    Signal(b.i32().wrapping_add(i32::from(b.u8()) % 66))
}

fn lock(b: &mut Bytes) -> FlockArg {
    let bits = b.u8();
    FlockArg {
        ty: [LockType::Rd, LockType::Wr, LockType::Un][usize::from(bits % 3)],
        start: b.i64() % 16,
        len: b.i64() % 8,
        pid: i32::from(bits & 8),
    }
}

/// A slot page or count, now and then far out of range.
fn slot_pages(b: &mut Bytes) -> u32 {
    match b.u8() {
        0xff => u32::MAX,
        0xfe => 1 << 20,
        n => u32::from(n % 20),
    }
}

fn op_kind(kind: usize, b: &mut Bytes) -> OpKind {
    let bits = b.u8();
    let on = |bit: u8| bits & (1 << bit) != 0;
    match kind {
        0 => OpKind::Fork,
        1 => OpKind::Exit {
            code: b.i32(),
            thread: on(0),
        },
        2 => OpKind::Wait {
            target: match bits % 4 {
                0 => WaitTarget::Any,
                1 => WaitTarget::Task(label(b)),
                2 => WaitTarget::OwnGroup,
                _ => WaitTarget::Group(label(b)),
            },
            options: WaitOptions {
                nohang: on(2),
                clone: on(3),
                all: on(4),
                untraced: on(5),
                continued: on(6),
            },
        },
        3 => OpKind::Vfork,
        4 => {
            // Any 34 bits of flags: every named flag and the unknown ones between them.
            let f = u64::from_le_bytes([b.u8(), b.u8(), b.u8(), b.u8(), b.u8() & 3, 0, 0, 0]);
            OpKind::Clone(CloneOp {
                entry: if on(0) {
                    CloneEntry::Clone3
                } else {
                    CloneEntry::Clone
                },
                flags: CloneFlags(f),
                exit_signal: b.pick(&[17, 0, 23, 65, -1]),
                args: Clone3Args {
                    size: b.pick(&[64, 80, 88, 96, 4097]),
                    tail_nonzero: on(1),
                    stack: on(2),
                    stack_size: on(3),
                    set_tid: b.pick(&[
                        SetTid::None,
                        SetTid::Pid1,
                        SetTid::NullWithSize,
                        SetTid::PtrWithoutSize,
                        SetTid::TooMany,
                    ]),
                    cgroup_big: on(4),
                },
            })
        }
        5 => OpKind::Exec,
        6 => OpKind::MemRead {
            region: b.pick(&REGIONS),
            page: u32::from(b.u8()),
        },
        7 => OpKind::MemWrite {
            region: b.pick(&REGIONS),
            page: u32::from(b.u8() % 20),
            byte: b.u8(),
        },
        8 => OpKind::Madvise {
            region: b.pick(&REGIONS),
            first: u32::from(b.u8()) * 1000,
            count: u32::from(b.u8()).wrapping_mul(0x0100_0001),
            advice: b.pick(&[
                Advice::DontFork,
                Advice::DoFork,
                Advice::WipeOnFork,
                Advice::KeepOnFork,
                Advice::DontNeed,
            ]),
        },
        9 => OpKind::Open {
            file: b.pick(&FileName::ALL),
            flags: OpenFlags {
                access: [Access::RdOnly, Access::WrOnly, Access::RdWr][usize::from(bits % 3)],
                creat: on(2),
                excl: on(3),
                trunc: on(4),
                append: on(5),
                cloexec: on(6),
                nonblock: on(7),
            },
        },
        10 => OpKind::Close { fd: b.i32() },
        11 => OpKind::Dup { fd: b.i32() },
        12 => OpKind::Dup2 {
            old: b.i32(),
            new: b.i32(),
        },
        13 => OpKind::Dup3 {
            old: b.i32(),
            new: b.i32(),
            cloexec: on(1),
        },
        14 => OpKind::Read {
            fd: b.i32(),
            len: u32::from(b.u8()) * 1000,
        },
        15 => OpKind::Write {
            fd: b.i32(),
            data: (0..b.u8() % 80).collect(),
        },
        16 => OpKind::Pread {
            fd: b.i32(),
            len: u32::from(b.u8()),
            offset: b.i64(),
        },
        17 => OpKind::Pwrite {
            fd: b.i32(),
            data: (0..b.u8() % 80).collect(),
            offset: b.i64(),
        },
        18 => OpKind::Lseek {
            fd: b.i32(),
            offset: b.i64(),
            whence: [Whence::Set, Whence::Cur, Whence::End][usize::from(bits % 3)],
        },
        19 => OpKind::Fcntl {
            fd: b.i32(),
            cmd: match bits % 10 {
                0 => FcntlCmd::GetFd,
                1 => FcntlCmd::SetFd { cloexec: on(4) },
                2 => FcntlCmd::GetFl,
                3 => FcntlCmd::SetFl {
                    append: on(4),
                    nonblock: on(5),
                },
                4 => FcntlCmd::DupFd { min: b.i32() },
                5 => FcntlCmd::DupFdCloexec { min: b.i32() },
                6 => FcntlCmd::SetLk { lock: lock(b) },
                7 => FcntlCmd::GetLk { lock: lock(b) },
                8 => FcntlCmd::OfdSetLk { lock: lock(b) },
                _ => FcntlCmd::OfdGetLk { lock: lock(b) },
            },
        },
        20 => OpKind::Pipe2 {
            cloexec: on(1),
            nonblock: on(2),
        },
        21 => OpKind::Ftruncate {
            fd: b.i32(),
            len: b.i64(),
        },
        22 => OpKind::Flock {
            fd: b.i32(),
            op: [FlockOp::Sh, FlockOp::Ex, FlockOp::Un][usize::from(bits % 3)],
            nonblock: on(3),
        },
        23 => OpKind::Kill {
            target: label(b),
            sig: signal(b),
        },
        24 => OpKind::Sigaction {
            sig: signal(b),
            action: [SigAction::Default, SigAction::Ignore, SigAction::Handler]
                [usize::from(bits % 3)],
            flags: SaFlags {
                nocldstop: on(3),
                nocldwait: on(4),
            },
        },
        25 => OpKind::Sigprocmask {
            how: [MaskHow::Block, MaskHow::Unblock, MaskHow::SetMask][usize::from(bits % 3)],
            set: vec![signal(b), Signal(i32::from(b.u8() % 70))],
        },
        26 => OpKind::Chdir {
            dir: b.pick(&CaseDir::ALL),
        },
        27 => OpKind::Umask {
            mask: u32::from(b.u8()) * 7,
        },
        28 => OpKind::Sethostname {
            name: b.pick(&HostName::ALL),
        },
        29 => OpKind::Uname,
        30 => OpKind::CloseRange {
            first: b.i32() as u32,
            last: b.i32() as u32,
            cloexec: on(0),
            unshare: on(1),
        },
        31 => OpKind::Unshare {
            // One byte for VM and NEWPID, so inputs decode as before NEWPID was added.
            flags: {
                let last = b.u8();
                UnshareFlags {
                    files: on(0),
                    fs: on(1),
                    sysvsem: on(2),
                    newns: on(3),
                    newuts: on(4),
                    newipc: on(5),
                    thread: on(6),
                    sighand: on(7),
                    vm: last & 1 != 0,
                    newpid: last & 2 != 0,
                }
            },
        },
        32 => OpKind::Seccomp {
            errno: b.pick(&[
                Errno::EPERM,
                Errno::EBUSY,
                Errno::ENOSYS,
                Errno(0),
                Errno(4096),
            ]),
        },
        33 => OpKind::Prctl {
            option: b.pick(&PrctlOption::ALL),
            arg: b.i64(),
        },
        34 => OpKind::Setpgid {
            target: maybe_label(b),
            pgid: maybe_label(b),
        },
        35 => OpKind::Getpgid {
            target: maybe_label(b),
        },
        36 => OpKind::Setsid,
        37 => OpKind::Getsid {
            target: maybe_label(b),
        },
        38 => OpKind::Mmap {
            first: slot_pages(b),
            count: slot_pages(b),
            map: [MapKind::AnonPrivate, MapKind::AnonShared][usize::from(bits % 2)],
            prot: PROTS[usize::from(bits / 2 % 3)],
            locked: bits & 0x80 != 0,
        },
        39 => OpKind::Munmap {
            first: slot_pages(b),
            count: slot_pages(b),
        },
        40 => OpKind::Mprotect {
            first: slot_pages(b),
            count: slot_pages(b),
            prot: PROTS[usize::from(bits % 3)],
        },
        41 => OpKind::KillPgrp {
            pgid: maybe_label(b),
            sig: signal(b),
        },
        42 => OpKind::Setitimer {
            which: ITIMERS[usize::from(bits % 3)],
            value_s: u32::from(b.u8() % 4) * 1000,
            interval_s: u32::from(b.u8() % 3),
        },
        43 => OpKind::Getitimer {
            which: ITIMERS[usize::from(bits % 3)],
        },
        44 => OpKind::Alarm {
            seconds: match b.u8() {
                0xff => u32::MAX,
                n => u32::from(n % 3) * 1000,
            },
        },
        45 => OpKind::TimerCreate {
            clock: [TimerClock::Monotonic, TimerClock::Realtime][usize::from(bits % 2)],
            notify: [
                TimerNotify::Signal,
                TimerNotify::None,
                TimerNotify::BadSignal,
            ][usize::from(bits / 2 % 3)],
        },
        46 => OpKind::TimerSettime {
            timer: b.i32(),
            value_s: u32::from(b.u8() % 4) * 1000,
            interval_s: u32::from(b.u8() % 3),
        },
        47 => OpKind::TimerGettime { timer: b.i32() },
        48 => OpKind::TimerDelete { timer: b.i32() },
        49 => OpKind::Waitid {
            target: match bits % 5 {
                0 => WaitidTarget::All,
                1 => WaitidTarget::Pid(label(b)),
                2 => WaitidTarget::OwnPgid,
                3 => WaitidTarget::Pgid(label(b)),
                _ => WaitidTarget::Pidfd(b.i32()),
            },
            options: {
                let o = b.u8();
                let set = |bit: u8| o & (1 << bit) != 0;
                WaitidOptions {
                    exited: set(0),
                    stopped: set(1),
                    continued: set(2),
                    nowait: set(3),
                    nohang: set(4),
                    clone: set(5),
                    all: set(6),
                }
            },
        },
        50 => OpKind::PidfdOpen {
            target: label(b),
            nonblock: on(0),
            thread: on(1),
        },
        51 => OpKind::PidfdSendSignal {
            fd: b.i32(),
            sig: signal(b),
        },
        52 => OpKind::PidfdGetfd {
            pidfd: b.i32(),
            fd: b.i32(),
        },
        53 => OpKind::Poll { fd: b.i32() },
        54 => OpKind::Mremap {
            region: REGIONS[usize::from(bits % 5)],
            first: slot_pages(b),
            count: slot_pages(b),
            new_count: slot_pages(b),
            to: (bits & 0x20 != 0).then(|| crate::op::MremapTo {
                region: REGIONS[usize::from(b.u8() % 5)],
                page: slot_pages(b),
                no_maymove: bits & 0x40 != 0,
            }),
            unaligned: bits & 0x80 != 0,
        },
        56 => OpKind::Setns {
            fd: b.i32() % 8,
            // The low byte picks among the namespace flags setns takes, bit 7 adds noise.
            flags: crate::op::CloneFlags(
                [
                    crate::op::CloneFlags::NEWUTS.0,
                    crate::op::CloneFlags::NEWIPC.0,
                    crate::op::CloneFlags::NEWPID.0,
                    crate::op::CloneFlags::NEWNS.0,
                    crate::op::CloneFlags::NEWUSER.0,
                    crate::op::CloneFlags::NEWNET.0,
                    crate::op::CloneFlags::NEWCGROUP.0,
                    crate::op::CloneFlags::NEWTIME.0,
                ]
                .iter()
                .enumerate()
                .filter(|(i, _)| on(*i as u8))
                .fold(0, |a, (_, f)| a | f)
                    | if b.u8() & 0x80 != 0 { 0x100 } else { 0 },
            ),
        },
        57 => OpKind::Mlock {
            region: REGIONS[usize::from(bits % 5)],
            first: slot_pages(b),
            count: slot_pages(b),
            flags: (bits & 0x20 != 0).then(|| u32::from(b.u8() % 4)),
        },
        58 => OpKind::Munlock {
            region: REGIONS[usize::from(bits % 5)],
            first: slot_pages(b),
            count: slot_pages(b),
        },
        59 => OpKind::Mlockall {
            flags: u32::from(bits % 16),
        },
        55 => OpKind::Sigaltstack {
            set: on(0).then(|| crate::altstack::AltStackSet {
                stack: b.u8() % crate::altstack::ALT_STACKS,
                size: match b.u8() {
                    0xff => u32::MAX,
                    n => u32::from(n % 8) * 1024,
                },
                flags: match bits % 8 {
                    7 => b.i32() as u32,
                    n => [0, 1, 2, 3, 1 << 31, (1 << 31) | 2, 4][usize::from(n)],
                },
            }),
        },
        60 => OpKind::Munlockall,
        61 => OpKind::Setpriority { nice: b.i32() },
        62 => OpKind::Getpriority,
        63 => OpKind::SchedSetscheduler {
            policy: match bits % 4 {
                3 => b.i32() as u32,
                n => u32::from(b.u8() % 8) | [0, 0x4000_0000, 0, 0][usize::from(n)],
            },
            priority: u32::from(b.u8()),
        },
        64 => OpKind::SchedGetscheduler,
        65 => OpKind::Personality {
            persona: b.i32() as u32,
        },
        66 => OpKind::Prlimit {
            resource: u32::from(b.u8() % 20),
            set: on(0).then(|| crate::sched::Rlim {
                cur: u64::from(b.u8()),
                max: if on(1) { u64::MAX } else { u64::from(b.u8()) },
            }),
            no_old: on(2),
        },
        67 => OpKind::SchedSetaffinity {
            cpus: b.i32() as u32,
        },
        _ => OpKind::SchedGetaffinity,
    }
}

/// Every region, the mapping slot included.
const REGIONS: [Region; 5] = [
    Region::AnonPrivate,
    Region::AnonShared,
    Region::FilePrivate,
    Region::FileShared,
    Region::Mapped,
];

const PROTS: [Prot; 3] = [Prot::ReadWrite, Prot::Read, Prot::None];

const ITIMERS: [Itimer; 3] = [Itimer::Real, Itimer::Virtual, Itimer::Prof];

/// Runs the ops `data` encodes through a model (first byte: pages per region; second: the
/// case's file system), snapshotting now and then; returns the number of ops run. Panics
/// only when the model does, takes an outcome outside those it allows, or makes a snapshot
/// that is not in canonical form.
pub fn run_bytes(data: &[u8]) -> usize {
    let mut b = Bytes::new(data);
    let pages = match b.u8() {
        0xff => 300,
        0xfe => 0,
        n => u32::from(n % 20) + 1,
    };
    let case_fs = if b.u8() & 1 == 0 {
        CaseFs::Tmpfs
    } else {
        CaseFs::Ext4
    };
    let profile = Profile {
        case_fs,
        ..Profile::default()
    };
    let mut m = Model::new(CaseConfig { pages }, &profile);
    let mut n = 0;
    while !b.done() && n < 200 {
        let o = op(&mut b);
        let step = m.step(&o, None);
        assert!(
            step.allowed.contains(&step.taken),
            "{o}: took {:?}, allows {:?}",
            step.taken,
            step.allowed
        );
        if n % 16 == 0 {
            canonical(&m);
        }
        n += 1;
    }
    canonical(&m);
    n
}

/// Takes a snapshot of `m`, which must be in canonical form already.
fn canonical(m: &Model) {
    let s = m.snapshot();
    let mut again = s.clone();
    again.canonicalize();
    assert_eq!(s, again, "a snapshot not in canonical form");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_builds_its_own_kind() {
        for kind in 0..KINDS {
            for fill in [0u8, 1, 2, 3, 7, 0x55, 0xaa, 0xfd, 0xfe, 0xff] {
                let bytes = [fill; 16];
                let built = op_kind(kind, &mut Bytes::new(&bytes));
                assert_eq!(kind_index(&built), kind, "{built:?}");
            }
        }
    }

    /// A xorshift64 stream: seeded, so a failure names the seed that shows it.
    fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect()
    }

    #[test]
    fn the_model_never_panics_on_any_op_sequence() {
        let mut ops = 0;
        let mut by_live = 0;
        for seed in 0..3000u64 {
            let data = bytes(0x5eed_0000 + seed, 2 + 40 * (1 + (seed % 10) as usize));
            let (n, live) = run_counting(&data);
            ops += n;
            by_live += live;
            let outcome = std::panic::catch_unwind(|| run_bytes(&data));
            assert!(
                outcome.is_ok(),
                "the model panicked on the ops of seed {} (bytes {data:?})",
                0x5eed_0000 + seed
            );
        }
        // The sequences do something: a good share of the ops are by tasks that exist.
        assert!(
            ops > 50_000 && by_live * 3 > ops,
            "{by_live} of {ops} ops by live tasks"
        );
    }

    /// The ops of `data` and how many of them named a task that existed then.
    fn run_counting(data: &[u8]) -> (usize, usize) {
        let mut b = Bytes::new(data);
        b.u8();
        b.u8();
        let mut m = Model::new(CaseConfig { pages: 8 }, &Profile::default());
        let (mut n, mut live) = (0, 0);
        while !b.done() && n < 200 {
            let o = op(&mut b);
            live += usize::from(m.snapshot().tasks.len() > o.task as usize);
            m.step(&o, None);
            n += 1;
        }
        (n, live)
    }
}

/// Every op kind survives its JSON form (a case file) and prints as its own call: the serde
/// attributes that leave defaults out, and the flag lists, lose nothing.
#[cfg(test)]
mod encoding_tests {
    use super::*;

    #[test]
    fn every_op_round_trips_through_json_and_prints() {
        let mut kinds = std::collections::BTreeSet::new();
        for seed in 0..4000u32 {
            let bytes: Vec<u8> = (0..24u32)
                .map(|i| (seed.wrapping_mul(2_654_435_761).rotate_left(i) >> 7) as u8)
                .collect();
            let o = op(&mut Bytes::new(&bytes));
            kinds.insert(kind_index(&o.kind));
            let json = serde_json::to_string(&o).expect("ops serialize");
            let back: Op = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(back, o, "{json}");
            let text = o.to_string();
            assert!(text.starts_with(&format!("t{}: ", o.task)), "{text}");
            // No argument prints as nothing (the data of a write may hold anything).
            if !matches!(o.kind, OpKind::Write { .. } | OpKind::Pwrite { .. }) {
                let empty = ["(,", ", )", ", ,", "()"]
                    .iter()
                    .any(|e| text.contains(e) && !text.ends_with("()"));
                assert!(!empty, "{text}");
            }
        }
        assert_eq!(kinds.len(), KINDS, "every kind was built");
    }

    #[test]
    fn timer_reports_round_trip_and_timer_notifications_encode_as_linux_does() {
        use crate::timer::TimerReport;
        for r in [TimerReport::new(true, 2), TimerReport::new(false, 0)] {
            let json = serde_json::to_string(&r).expect("reports serialize");
            assert_eq!(
                serde_json::from_str::<TimerReport>(&json).ok(),
                Some(r),
                "{json}"
            );
        }
        // include/uapi/asm-generic/siginfo.h: SIGEV_SIGNAL 0, SIGEV_NONE 1; SIGALRM is 14.
        assert_eq!(TimerNotify::Signal.sigevent(), (0, 14));
        assert_eq!(TimerNotify::None.sigevent(), (1, 0));
        assert_eq!(TimerNotify::BadSignal.sigevent(), (0, 0));
    }

    #[test]
    fn a_signal_set_lists_and_prints_its_members() {
        let set =
            crate::SigSet(crate::SigSet::bit(2) | crate::SigSet::bit(17) | crate::SigSet::bit(64));
        assert_eq!(set.signals(), vec![Signal(2), Signal(17), Signal(64)]);
        assert_eq!(format!("{set:?}"), "{SIGINT,SIGCHLD,64}");
    }

    #[test]
    fn a_clone_without_an_exit_signal_in_json_sends_sigchld() {
        let o: Op = serde_json::from_str(r#"{"task": 0, "kind": "clone", "entry": "clone"}"#)
            .expect("a clone op");
        match o.kind {
            OpKind::Clone(c) => assert_eq!(c.exit_signal, 17),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn regions_and_case_dirs_name_what_they_are() {
        let shared: Vec<bool> = REGIONS.iter().map(|r| r.is_shared()).collect();
        assert_eq!(shared, [false, true, false, true, false]);
        let paths: Vec<&str> = CaseDir::ALL.iter().map(|d| d.rel_path()).collect();
        assert_eq!(paths, ["", "d", "d/e", "missing", "data"]);
    }
}
