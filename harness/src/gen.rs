//! Generation of op sequences that are valid by construction from the model state.
//!
//! Every decision draws from a [`Choices`] source: a seeded PRNG for `forkspec check`, or a
//! proptest-generated list of numbers in the suites (shrinking the list toward zeros and
//! removing entries yields simpler sequences that are still valid, because each op is chosen
//! from the model's state at that point).

use forkspec_model::{
    Access, Advice, Case, CaseConfig, CaseDir, Clone3Args, CloneEntry, CloneFlags, CloneOp,
    FcntlCmd, FileName, FlockArg, FlockOp, HostName, InodeKind, LockType, MaskHow, Model, Op,
    OpKind, OpenFlags, Outcome, Profile, Region, SaFlags, SetTid, SigAction, SigSet, Signal,
    Snapshot, TaskState, WaitOptions, WaitTarget, WaitidOptions, WaitidTarget, Whence,
};

/// A source of decisions.
pub trait Choices {
    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: u32) -> u32;

    /// True with probability about `pct` percent.
    fn chance(&mut self, pct: u32) -> bool {
        self.below(100) < pct
    }
}

impl dyn Choices + '_ {
    /// One of `items` (non-empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u32) as usize]
    }
}

/// Decisions from a 64-bit seed (splitmix64): the same seed always gives the same case.
pub struct SeededChoices(u64);

impl SeededChoices {
    /// A source for `seed`.
    pub fn new(seed: u64) -> SeededChoices {
        SeededChoices(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Choices for SeededChoices {
    fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * u64::from(n)) >> 32) as u32
    }
}

/// Decisions replayed from a list; past its end every decision is 0 (the simplest choice).
pub struct ListChoices<'a> {
    values: &'a [u32],
    pos: usize,
}

impl<'a> ListChoices<'a> {
    /// A source reading `values` in order.
    pub fn new(values: &'a [u32]) -> ListChoices<'a> {
        ListChoices { values, pos: 0 }
    }
}

impl Choices for ListChoices<'_> {
    fn below(&mut self, n: u32) -> u32 {
        let v = self.values.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        v % n
    }
}

/// Which area the generated ops concentrate on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mix {
    /// fork, exit, wait and copy-on-write memory.
    Fork,
    /// fork and fd tables, open file descriptions, pipes.
    Fd,
    /// vfork, clone and clone3 with mixed flags, with memory and fd ops around them.
    Clone,
    /// Everything.
    All,
}

impl Mix {
    fn weights(self) -> &'static [(Kind, u32)] {
        use Kind::*;
        match self {
            Mix::Fork => &[
                (Fork, 14),
                (Exec, 1),
                (Exit, 4),
                (Wait, 4),
                (MemWrite, 26),
                (MemRead, 14),
                (Madvise, 10),
                (Open, 2),
                (Write, 1),
                (Pipe, 1),
                (Waitid, 3),
                (Mmap, 4),
                (Munmap, 1),
                (Mprotect, 2),
                (Mremap, 3),
                (Mlock, 1),
            ],
            Mix::Fd => &[
                (Fork, 12),
                (Exec, 3),
                (Exit, 3),
                (Wait, 3),
                (MemWrite, 3),
                (Open, 10),
                (Close, 6),
                (Dup, 4),
                (Dup2, 3),
                (Read, 8),
                (Write, 8),
                (Pread, 3),
                (Pwrite, 3),
                (Lseek, 5),
                (Fcntl, 6),
                (Pipe, 5),
                (Ftruncate, 2),
                (RecordLock, 14),
                (Flock, 6),
                (Waitid, 1),
            ],
            Mix::Clone => &[
                (Fork, 4),
                (Exec, 4),
                (Vfork, 5),
                (Clone, 22),
                (Exit, 7),
                (Wait, 6),
                (MemWrite, 14),
                (MemRead, 6),
                (Madvise, 3),
                (Open, 6),
                (Close, 4),
                (Dup, 2),
                (Read, 2),
                (Write, 3),
                (Lseek, 2),
                (Fcntl, 3),
                (Pipe, 2),
                (Kill, 5),
                (Sigaction, 4),
                (Sigprocmask, 4),
                (Chdir, 2),
                (Umask, 2),
                (Sethostname, 2),
                (Uname, 2),
                (Waitid, 4),
                (Prctl, 3),
                (CloseRange, 2),
                (Unshare, 3),
                (Seccomp, 1),
                (Mmap, 2),
                (Munmap, 1),
                (Mprotect, 1),
                (Mremap, 1),
                (Mlock, 1),
                (Itimer, 1),
                (PosixTimer, 1),
                (Sigaltstack, 1),
                (Setns, 1),
                (Sched, 1),
                (Rlimit, 1),
            ],
            Mix::All => &[
                (Fork, 13),
                (Exec, 2),
                (Vfork, 2),
                (Clone, 4),
                (Exit, 4),
                (Wait, 4),
                (MemWrite, 14),
                (MemRead, 8),
                (Madvise, 6),
                (Open, 6),
                (Close, 4),
                (Dup, 3),
                (Dup2, 2),
                (Read, 5),
                (Write, 5),
                (Pread, 2),
                (Pwrite, 2),
                (Lseek, 3),
                (Fcntl, 4),
                (Pipe, 3),
                (Ftruncate, 1),
                (RecordLock, 3),
                (Flock, 2),
                (Kill, 3),
                (Sigaction, 3),
                (Sigprocmask, 2),
                (Chdir, 1),
                (Umask, 1),
                (Sethostname, 1),
                (Uname, 1),
                (Waitid, 3),
                (Prctl, 1),
                (CloseRange, 1),
                (Unshare, 1),
                (Seccomp, 1),
                (Setpgid, 3),
                (Getpgid, 1),
                (Setsid, 1),
                (Getsid, 1),
                (KillPgrp, 1),
                (PidfdOpen, 2),
                (PidfdSendSignal, 1),
                (PidfdGetfd, 1),
                (Poll, 1),
                (Mmap, 3),
                (Munmap, 1),
                (Mprotect, 2),
                (Mremap, 1),
                (Mlock, 1),
                (Itimer, 2),
                (PosixTimer, 2),
                (Sigaltstack, 1),
                (Setns, 1),
                (Sched, 1),
                (Rlimit, 1),
            ],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Fork,
    Exec,
    Vfork,
    Clone,
    Exit,
    Wait,
    MemWrite,
    MemRead,
    Madvise,
    Open,
    Close,
    Dup,
    Dup2,
    Read,
    Write,
    Pread,
    Pwrite,
    Lseek,
    Fcntl,
    Pipe,
    Ftruncate,
    RecordLock,
    Flock,
    Kill,
    Sigaction,
    Sigprocmask,
    Chdir,
    Umask,
    Sethostname,
    Uname,
    Waitid,
    Prctl,
    CloseRange,
    Unshare,
    Seccomp,
    Setpgid,
    Getpgid,
    Setsid,
    Getsid,
    KillPgrp,
    PidfdOpen,
    PidfdSendSignal,
    PidfdGetfd,
    Poll,
    Mmap,
    Munmap,
    Mprotect,
    Mremap,
    Mlock,
    Itimer,
    PosixTimer,
    Sigaltstack,
    Setns,
    Sched,
    Rlimit,
}

impl Kind {
    /// The op kinds (`kind` tags) this generator kind can produce.
    fn op_kinds(self) -> &'static [&'static str] {
        match self {
            Kind::Fork => &["fork"],
            Kind::Exit => &["exit"],
            Kind::Wait => &["wait"],
            Kind::MemWrite => &["mem_write"],
            Kind::MemRead => &["mem_read"],
            Kind::Madvise => &["madvise"],
            Kind::Open => &["open"],
            Kind::Close => &["close"],
            Kind::Dup => &["dup"],
            Kind::Dup2 => &["dup2", "dup3"],
            Kind::Read => &["read"],
            Kind::Write => &["write"],
            Kind::Pread => &["pread"],
            Kind::Pwrite => &["pwrite"],
            Kind::Lseek => &["lseek"],
            Kind::Fcntl => &["fcntl"],
            Kind::Pipe => &["pipe2"],
            Kind::Ftruncate => &["ftruncate"],
            Kind::RecordLock => &["fcntl"],
            Kind::Flock => &["flock"],
            Kind::Vfork => &["vfork"],
            Kind::Exec => &["exec"],
            Kind::Clone => &["clone"],
            Kind::Kill => &["kill"],
            Kind::Sigaction => &["sigaction"],
            Kind::Sigprocmask => &["sigprocmask"],
            Kind::Chdir => &["chdir"],
            Kind::Umask => &["umask"],
            Kind::Sethostname => &["sethostname"],
            Kind::Uname => &["uname"],
            Kind::Waitid => &["waitid"],
            Kind::Prctl => &["prctl"],
            Kind::CloseRange => &["close_range"],
            Kind::Unshare => &["unshare"],
            Kind::Seccomp => &["seccomp"],
            Kind::Setpgid => &["setpgid"],
            Kind::Getpgid => &["getpgid"],
            Kind::Setsid => &["setsid"],
            Kind::Getsid => &["getsid"],
            Kind::KillPgrp => &["kill_pgrp"],
            Kind::PidfdOpen => &["pidfd_open"],
            Kind::PidfdSendSignal => &["pidfd_send_signal"],
            Kind::PidfdGetfd => &["pidfd_getfd"],
            Kind::Poll => &["poll"],
            Kind::Mmap => &["mmap"],
            Kind::Munmap => &["munmap"],
            Kind::Mprotect => &["mprotect"],
            Kind::Mremap => &["mremap"],
            Kind::Mlock => &["mlock", "munlock", "mlockall", "munlockall"],
            Kind::Itimer => &["setitimer", "getitimer", "alarm"],
            Kind::PosixTimer => &[
                "timer_create",
                "timer_settime",
                "timer_gettime",
                "timer_delete",
            ],
            Kind::Sigaltstack => &["sigaltstack"],
            Kind::Setns => &["setns"],
            Kind::Sched => &[
                "setpriority",
                "getpriority",
                "sched_setscheduler",
                "sched_getscheduler",
                "personality",
                "sched_setaffinity",
                "sched_getaffinity",
            ],
            Kind::Rlimit => &["prlimit"],
        }
    }
}

/// Every op kind (its JSON `kind` tag) the generator can produce, in a fixed order.
pub const GEN_OP_KINDS: [&str; 69] = [
    "fork",
    "exit",
    "wait",
    "mem_read",
    "mem_write",
    "madvise",
    "open",
    "close",
    "dup",
    "dup2",
    "dup3",
    "read",
    "write",
    "pread",
    "pwrite",
    "lseek",
    "fcntl",
    "pipe2",
    "ftruncate",
    "vfork",
    "clone",
    "exec",
    "flock",
    "kill",
    "sigaction",
    "sigprocmask",
    "chdir",
    "umask",
    "sethostname",
    "uname",
    "waitid",
    "prctl",
    "close_range",
    "unshare",
    "seccomp",
    "setpgid",
    "getpgid",
    "setsid",
    "getsid",
    "kill_pgrp",
    "pidfd_open",
    "pidfd_send_signal",
    "pidfd_getfd",
    "poll",
    "mmap",
    "munmap",
    "mprotect",
    "mremap",
    "mlock",
    "munlock",
    "mlockall",
    "munlockall",
    "setitimer",
    "getitimer",
    "alarm",
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_delete",
    "sigaltstack",
    "setns",
    "setpriority",
    "getpriority",
    "sched_setscheduler",
    "sched_getscheduler",
    "personality",
    "prlimit",
    "sched_setaffinity",
    "sched_getaffinity",
];

/// A set of the op kinds of [`GEN_OP_KINDS`]: what a backend implements, and so what the
/// generator may draw. Kinds outside the set are never generated (and reported as not
/// compared).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpSet(u128);

impl OpSet {
    /// Every kind.
    pub const ALL: OpSet = OpSet((1u128 << GEN_OP_KINDS.len()) - 1);

    /// The kinds named in `names` (a backend's hello `ops` list); names this generator does
    /// not know are returned apart, in order.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> (OpSet, Vec<String>) {
        let mut set = OpSet(0);
        let mut unknown = Vec::new();
        for n in names {
            match GEN_OP_KINDS.iter().position(|k| *k == n.as_ref()) {
                Some(i) => set.0 |= 1u128 << i,
                None => unknown.push(n.as_ref().to_string()),
            }
        }
        (set, unknown)
    }

    /// The set a hello announces: its `ops` list, or every kind when it has none.
    pub fn from_hello(ops: Option<&[String]>) -> (OpSet, Vec<String>) {
        match ops {
            None => (OpSet::ALL, Vec::new()),
            Some(names) => OpSet::from_names(names),
        }
    }

    /// Whether the set holds the kind named `name` (false for names it does not know).
    pub fn contains(self, name: &str) -> bool {
        GEN_OP_KINDS
            .iter()
            .position(|k| *k == name)
            .is_some_and(|i| self.0 & (1u128 << i) != 0)
    }

    /// The kinds of [`GEN_OP_KINDS`] outside the set.
    pub fn missing(self) -> Vec<&'static str> {
        GEN_OP_KINDS
            .iter()
            .copied()
            .filter(|k| !self.contains(k))
            .collect()
    }
}

/// Limits of generated cases.
#[derive(Clone, Copy, Debug)]
pub struct GenConfig {
    /// Area.
    pub mix: Mix,
    /// Longest sequence.
    pub max_len: u32,
    /// Region size in pages.
    pub pages: u32,
    /// Most tasks a case creates.
    pub max_tasks: u32,
    /// The op kinds that may be generated (a backend's supported ops).
    pub ops: OpSet,
    /// Whether ops the model predicts to block may be generated ([`may_block`]): not for a
    /// backend that tells a blocked op only by its deadline (its hello's
    /// `blocked_by_deadline`), where each would cost a whole deadline.
    pub blocking: bool,
    /// Whether orphans are observed (the backend's `orphans` capability). Without it a
    /// reaper outside the backend adopts them and may reap them at any moment, so no op
    /// names one (its outcome would depend on when that reaper runs).
    pub orphans: bool,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            mix: Mix::All,
            max_len: 24,
            pages: 8,
            max_tasks: 24,
            ops: OpSet::ALL,
            blocking: true,
            orphans: true,
        }
    }
}

/// Generates one case.
pub fn generate(src: &mut dyn Choices, cfg: &GenConfig, profile: &Profile) -> Case {
    let config = CaseConfig { pages: cfg.pages };
    let mut model = Model::new(config, profile);
    let len = 1 + src.below(cfg.max_len.max(1));
    let mut ops = Vec::new();
    let mut created = 1u32;
    let mut newest = 0u32;
    // The task the last accepted blocking op left asleep, while the model says it sleeps.
    let mut sleeper: Option<u32> = None;
    for _ in 0..len {
        let snap = model.snapshot();
        sleeper = sleeper.filter(|&b| snap.task(b).is_some_and(|t| t.state == TaskState::Blocked));
        if let Some(b) = sleeper {
            if src.chance(WAKE_PCT) {
                if let Some((op, after)) = waker(src, cfg, &model, &snap, b) {
                    model = after;
                    ops.push(op);
                    continue;
                }
            }
        } else if snap
            .locks
            .iter()
            .any(|l| l.kind == forkspec_model::LockKind::Flock)
            && cfg.ops.contains("flock")
            && cfg.blocking
            && src.chance(FLOCK_WAIT_PCT)
        {
            // The random mix seldom lines up a flock behind another description's lock.
            if let Some(op) = queue_flock(src, &snap) {
                let mut probe = model.clone();
                if probe.step(&op, None).taken == Outcome::Blocked && may_block(&snap, &op) {
                    sleeper = Some(op.task);
                    model = probe;
                    ops.push(op);
                    continue;
                }
            }
        }
        let live: Vec<u32> = snap
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Live)
            .map(|t| t.task)
            .collect();
        if live.is_empty() {
            break;
        }
        let mut accepted = None;
        for _attempt in 0..6 {
            let task = if live.contains(&newest) && src.chance(50) {
                newest
            } else {
                *src.pick(&live)
            };
            let own_uts = !model.in_lab_uts(task);
            let Some(op) = propose(src, cfg, &model, &snap, task, created, own_uts) else {
                continue;
            };
            if !cfg.ops.contains(crate::run::op_kind_name(&op)) {
                continue;
            }
            if !cfg.orphans && names_an_orphan(&snap, &op.kind) {
                continue;
            }
            // An op the model predicts to block is kept only as one of the blocking kinds
            // whose wake-up is determined ([`may_block`]); the lab sees it asleep at once
            // (lab/settle.rs), so it costs no deadline. The probe that ran the op becomes the
            // model (a step is deterministic): no second step.
            let mut probe = model.clone();
            let taken = probe.step(&op, None).taken;
            if matches!(op.kind, OpKind::KillPgrp { .. })
                && kills_parent_and_child(&snap, &probe.snapshot())
            {
                continue;
            }
            if matches!(op.kind, OpKind::Setpgid { .. })
                && pins_a_pid_namespace(&probe, &probe.snapshot())
            {
                continue;
            }
            // A second child into a namespace its creator unshared has its parent outside
            // it: that namespace's dying init would wait for it to be reaped, which the
            // model does not follow (README, deliberate exceptions).
            if matches!(op.kind, OpKind::Fork | OpKind::Vfork | OpKind::Clone(_))
                && probe.pidns_has_outer_child()
            {
                continue;
            }
            if taken != Outcome::Blocked {
                accepted = Some((op, taken, probe));
                break;
            }
            if cfg.blocking && may_block(&snap, &op) && src.chance(BLOCK_PCT) {
                sleeper = Some(op.task);
                accepted = Some((op, taken, probe));
                break;
            }
        }
        let Some((op, taken, after)) = accepted else {
            continue;
        };
        model = after;
        if let Outcome::Child(c) = taken {
            created += 1;
            newest = c;
        }
        ops.push(op);
    }
    Case { config, ops }
}

/// Percent of the ops the model predicts to block (of the kinds [`may_block`] allows) that
/// are kept: enough for every wake-up kind to come up in a few thousand cases, few enough
/// that cases with a sleeper stay a small part of the mix.
const BLOCK_PCT: u32 = 50;
/// Percent of the steps after a blocking op that try to wake its task ([`waker`]), so the
/// wake-up usually comes a few ops later, after other ops ran around the sleeper.
const WAKE_PCT: u32 = 30;

/// Percent of the steps with a flock lock held (and nobody asleep) that try to queue a
/// blocking flock behind it ([`queue_flock`]).
const FLOCK_WAIT_PCT: u32 = 20;

/// A blocking `flock` on a file some flock lock is held on, by a live task through one of
/// its fds of that file (the model then says whether another description holds the lock).
fn queue_flock(src: &mut dyn Choices, snap: &Snapshot) -> Option<Op> {
    let mut found = Vec::new();
    for t in snap.tasks.iter().filter(|t| t.state == TaskState::Live) {
        for f in &t.fds {
            let inode = snap.ofds.iter().find(|o| o.id == f.ofd).map(|o| o.inode);
            let held = snap
                .locks
                .iter()
                .find(|l| Some(l.inode) == inode && l.kind == forkspec_model::LockKind::Flock);
            if let Some(l) = held {
                found.push((t.task, f.fd, l.ty));
            }
        }
    }
    if found.is_empty() {
        return None;
    }
    let (task, fd, held) = *src.pick(&found);
    // Behind an exclusive lock any request waits; behind a shared one, an exclusive one.
    let op = if held == LockType::Wr && src.chance(50) {
        FlockOp::Sh
    } else {
        FlockOp::Ex
    };
    Some(Op {
        task,
        kind: OpKind::Flock {
            fd,
            op,
            nonblock: false,
        },
    })
}

/// Whether `op`, which the model predicts to block, may be generated: a blocking op whose
/// wake-up Linux determines, and nothing else asleep in the case (the model's snapshot
/// before it), so every wake-up has one candidate:
/// - `wait` for one given child (`WaitTarget::Task`): woken by that child's exit or death.
///   A wait for any child is left out: one op can end several children at once (a pid
///   namespace's init takes its members down), and which zombie a woken wait finds first
///   then depends on when it runs.
/// - `read` of an empty pipe with writers: woken by a write (it reads what that write put
///   there) or the last writer's close (EOF).
/// - `flock` without `LOCK_NB` behind another description's lock: woken by that lock's
///   unlock or the close of its last fd. With one waiter the waiter gets the lock; with
///   several waiters on one lock Linux wakes them all and the scheduler picks the winner
///   (fs/locks.c: locks_wake_up_blocks), so a second waiter is never generated.
///
/// A read or flock may sleep in a task whose fd table others share (threads, CLONE_FILES):
/// the call holds its file (fdget), so a close of the fd by another task of the table does
/// not end the wait (close(2), "Multithreaded processes and close()"), and the model follows
/// that (rule fd.blocked-call-holds-its-description).
fn may_block(snap: &Snapshot, op: &Op) -> bool {
    let nobody_asleep = snap.tasks.iter().all(|t| t.state != TaskState::Blocked);
    let kind_ok = match &op.kind {
        OpKind::Wait { target, options } => {
            matches!(target, WaitTarget::Task(_)) && !options.nohang
        }
        // One child named by pid or pidfd, as for wait4 (a pidfd opened O_NONBLOCK never
        // blocks).
        OpKind::Waitid { target, options } => {
            matches!(target, WaitidTarget::Pid(_) | WaitidTarget::Pidfd(_)) && !options.nohang
        }
        OpKind::Read { fd, .. } => snap.task(op.task).is_some_and(|v| {
            v.fds
                .iter()
                .find(|f| f.fd == *fd)
                .and_then(|f| snap.ofds.iter().find(|o| o.id == f.ofd))
                .and_then(|o| snap.inodes.iter().find(|i| i.id == o.inode))
                .is_some_and(|i| i.kind == InodeKind::Pipe)
        }),
        OpKind::Flock { nonblock, .. } => !nonblock,
        _ => false,
    };
    nobody_asleep && kind_ok
}

/// An op that wakes the sleeping task `b`, as the model says (`b` is live after it and the
/// op itself does not block), drawn among the ops that can: a child's exit or a kill of it,
/// a write to a pipe or a close of one of its fds, an unlock or a close of a locked file's
/// fd. Returns the op and the model after it.
fn waker(
    src: &mut dyn Choices,
    cfg: &GenConfig,
    model: &Model,
    snap: &Snapshot,
    b: u32,
) -> Option<(Op, Model)> {
    let mut candidates = Vec::new();
    let live: Vec<u32> = snap
        .tasks
        .iter()
        .filter(|t| t.state == TaskState::Live)
        .map(|t| t.task)
        .collect();
    for t in snap.tasks.iter().filter(|t| t.state == TaskState::Live) {
        let task = t.task;
        if t.parent == forkspec_model::Parent::Task(b) {
            candidates.push(Op {
                task,
                kind: OpKind::Exit {
                    code: src.below(4) as i32,
                    thread: false,
                },
            });
            candidates.push(Op {
                task: *src.pick(&live),
                kind: OpKind::Kill {
                    target: task,
                    sig: *src.pick(&[Signal::SIGKILL, Signal::SIGTERM]),
                },
            });
        }
        for f in &t.fds {
            let inode = snap
                .ofds
                .iter()
                .find(|o| o.id == f.ofd)
                .and_then(|o| Some((o, snap.inodes.iter().find(|i| i.id == o.inode)?)));
            match inode {
                Some((o, i)) if i.kind == InodeKind::Pipe && o.access.writable() => {
                    candidates.push(Op {
                        task,
                        kind: OpKind::Write {
                            fd: f.fd,
                            data: (0..1 + src.below(6))
                                .map(|_| b'a' + src.below(26) as u8)
                                .collect(),
                        },
                    });
                }
                Some((_, i)) if matches!(i.kind, InodeKind::File(_)) => {
                    candidates.push(Op {
                        task,
                        kind: OpKind::Flock {
                            fd: f.fd,
                            op: FlockOp::Un,
                            nonblock: true,
                        },
                    });
                }
                _ => {}
            }
            candidates.push(Op {
                task,
                kind: OpKind::Close { fd: f.fd },
            });
        }
    }
    // Tried in a random order; the first that wakes `b` wins.
    while !candidates.is_empty() {
        let op = candidates.swap_remove(src.below(candidates.len() as u32) as usize);
        if !cfg.ops.contains(crate::run::op_kind_name(&op)) {
            continue;
        }
        let mut probe = model.clone();
        if probe.step(&op, None).taken == Outcome::Blocked {
            continue;
        }
        let woken = probe
            .snapshot()
            .task(b)
            .is_some_and(|t| t.state == TaskState::Live);
        if woken {
            return Some((op, probe));
        }
    }
    None
}

/// Signals the random mix uses: no stop signals (the model does not stop tasks), no
/// core-dumping ones (a core file per kill), a few real-time ones (which queue).
pub(crate) const GEN_SIGNALS: [Signal; 14] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGPIPE,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGCHLD,
    Signal::SIGCONT,
    Signal::SIGURG,
    Signal::SIGWINCH,
    Signal(34),
    Signal(40),
    Signal(64),
];

/// Whether a stop signal from `caller` to `target` stops a group the lab can settle: every
/// task of the target's thread group is Live (not blocked in an op, which a stop would
/// interrupt and restart, nor exited) and none blocks a stop signal, and the caller is
/// outside that group (a task that stops itself never answers its kill).
fn stoppable(snap: &Snapshot, caller: u32, target: u32) -> bool {
    let group_of = |t: u32| snap.task(t).map(|v| v.thread_of.unwrap_or(t));
    let Some(g) = group_of(target) else {
        return false;
    };
    let stop_bits = [19, 20, 21, 22]
        .iter()
        .fold(0u64, |m, &s| m | SigSet::bit(s));
    group_of(caller) != Some(g)
        && snap
            .tasks
            .iter()
            .filter(|v| v.thread_of.unwrap_or(v.task) == g)
            .all(|v| {
                v.state == TaskState::Live && v.signals.is_none_or(|s| s.blocked.0 & stop_bits == 0)
            })
}

fn propose(
    src: &mut dyn Choices,
    cfg: &GenConfig,
    model: &Model,
    snap: &Snapshot,
    task: u32,
    created: u32,
    own_uts: bool,
) -> Option<Op> {
    let slot = &model.slot_pages(task);
    let weights: Vec<(Kind, u32)> = cfg
        .mix
        .weights()
        .iter()
        .copied()
        .filter(|(k, _)| k.op_kinds().iter().any(|n| cfg.ops.contains(n)))
        .collect();
    let total: u32 = weights.iter().map(|w| w.1).sum();
    if total == 0 {
        return None;
    }
    let mut x = src.below(total);
    let mut kind = weights[0].0;
    for &(k, w) in &weights {
        if x < w {
            kind = k;
            break;
        }
        x -= w;
    }
    let view = snap.task(task)?;
    let fds: Vec<i32> = view.fds.iter().map(|f| f.fd).collect();
    let pages = cfg.pages;
    let fd_of_kind = |src: &mut dyn Choices, want: &dyn Fn(&InodeKind, Access) -> bool| {
        let matching: Vec<i32> = view
            .fds
            .iter()
            .filter(|f| {
                let o = snap.ofds.iter().find(|o| o.id == f.ofd);
                let i = o.and_then(|o| snap.inodes.iter().find(|i| i.id == o.inode));
                matches!((o, i), (Some(o), Some(i)) if want(&i.kind, o.access))
            })
            .map(|f| f.fd)
            .collect();
        if !matching.is_empty() && !src.chance(8) {
            *src.pick(&matching)
        } else if !fds.is_empty() && src.chance(70) {
            *src.pick(&fds)
        } else {
            src.below(6) as i32
        }
    };
    let any_fd = |src: &mut dyn Choices| fd_of_kind(src, &|_, _| true);
    // Lock ops on a task without a regular file mostly answer EBADF: draw them rarely then.
    let has_file = view.fds.iter().any(|f| {
        snap.ofds
            .iter()
            .find(|o| o.id == f.ofd)
            .and_then(|o| snap.inodes.iter().find(|i| i.id == o.inode))
            .is_some_and(|i| matches!(i.kind, InodeKind::File(_)))
    });
    let region = |src: &mut dyn Choices| *src.pick(&Region::ALL);
    let data = |src: &mut dyn Choices| {
        let n = 1 + src.below(6) as usize;
        (0..n)
            .map(|_| b'a' + src.below(26) as u8)
            .collect::<Vec<u8>>()
    };
    let is_data_file = |fd: i32| {
        view.fds
            .iter()
            .find(|f| f.fd == fd)
            .and_then(|f| snap.ofds.iter().find(|o| o.id == f.ofd))
            .and_then(|o| snap.inodes.iter().find(|i| i.id == o.inode))
            .is_some_and(|i| i.kind == InodeKind::File(FileName::Data))
    };
    // After an exec the case's regions are gone: memory ops there mostly just die of SIGSEGV.
    let has_regions = view.memory.iter().any(|r| r.pages.iter().any(|p| p.mapped));
    if matches!(kind, Kind::MemWrite | Kind::MemRead | Kind::Madvise)
        && !has_regions
        && !src.chance(10)
    {
        return None;
    }
    let kind = match kind {
        Kind::Exec => OpKind::Exec,
        Kind::Fork => {
            if created >= cfg.max_tasks {
                return None;
            }
            OpKind::Fork
        }
        Kind::Vfork => {
            if created >= cfg.max_tasks {
                return None;
            }
            OpKind::Vfork
        }
        Kind::Clone => {
            if created >= cfg.max_tasks {
                return None;
            }
            OpKind::Clone(random_clone(src))
        }
        Kind::Exit => {
            // t0 exiting early ends most of a case; keep it rare.
            if task == 0 && !src.chance(10) {
                return None;
            }
            OpKind::Exit {
                code: src.below(4) as i32,
                thread: false,
            }
        }
        Kind::Wait => {
            let children = children_of(snap, task);
            let target = if children.is_empty() || src.chance(15) {
                if src.chance(50) {
                    WaitTarget::Any
                } else {
                    WaitTarget::Task(src.below(created))
                }
            } else if src.chance(40) {
                WaitTarget::Any
            } else {
                WaitTarget::Task(*src.pick(&children))
            };
            // Process-group targets and the stop/continue options came with waitid: a
            // backend that does not implement waitid gets the wait4 of before.
            let extended = cfg.ops.contains("waitid");
            let target = match target {
                WaitTarget::Any if extended && src.chance(30) => {
                    if src.chance(70) {
                        WaitTarget::OwnGroup
                    } else {
                        WaitTarget::Group(src.below(created))
                    }
                }
                t => t,
            };
            let options = WaitOptions {
                nohang: src.chance(10),
                clone: src.chance(10),
                all: src.chance(30),
                untraced: extended && src.chance(10),
                continued: extended && src.chance(10),
            };
            OpKind::Wait { target, options }
        }
        Kind::Waitid => {
            let children: Vec<u32> = snap
                .tasks
                .iter()
                .filter(|t| t.parent == forkspec_model::Parent::Task(task))
                .map(|t| t.task)
                .collect();
            let target = match src.below(20) {
                0..=5 => WaitidTarget::All,
                6..=12 => WaitidTarget::Pid(if children.is_empty() || src.chance(15) {
                    src.below(created)
                } else {
                    *src.pick(&children)
                }),
                13..=15 => WaitidTarget::OwnPgid,
                16 => WaitidTarget::Pgid(src.below(created)),
                _ => WaitidTarget::Pidfd(fd_of_kind(src, &|k, _| *k == InodeKind::Pidfd)),
            };
            let options = WaitidOptions {
                exited: src.chance(90),
                stopped: src.chance(20),
                continued: src.chance(10),
                nowait: src.chance(25),
                nohang: src.chance(35),
                clone: src.chance(10),
                all: src.chance(30),
            };
            OpKind::Waitid { target, options }
        }
        Kind::MemWrite => {
            let byte = 1 + src.below(255) as u8;
            match crate::gen_mm::access(src, slot, Some(byte)) {
                Some(op) => op,
                None => OpKind::MemWrite {
                    region: region(src),
                    page: src.below(pages),
                    byte,
                },
            }
        }
        Kind::MemRead => match crate::gen_mm::access(src, slot, None) {
            Some(op) => op,
            None => OpKind::MemRead {
                region: region(src),
                page: src.below(pages),
            },
        },
        Kind::Mmap => crate::gen_mm::mmap(src, slot),
        Kind::Munmap => crate::gen_mm::munmap(src, slot),
        Kind::Mprotect => crate::gen_mm::mprotect(src, slot),
        Kind::Mremap => crate::gen_mm::mremap(src, slot, pages),
        Kind::Mlock => crate::gen_mlock::op(src, slot, pages, model.mlock_limit(task).is_some()),
        Kind::Madvise => {
            let first = src.below(pages);
            let count = 1 + src.below(pages - first);
            let advice = *src.pick(&[
                Advice::DontFork,
                Advice::DoFork,
                Advice::WipeOnFork,
                Advice::KeepOnFork,
                Advice::DontNeed,
            ]);
            let region = if advice == Advice::WipeOnFork && src.chance(75) {
                Region::AnonPrivate
            } else {
                region(src)
            };
            OpKind::Madvise {
                region,
                first,
                count,
                advice,
            }
        }
        Kind::Open => {
            // Often a file this task has open already: two descriptions of one file are
            // what lock conflicts (OFD and flock locks) need.
            let open_files: Vec<FileName> = view
                .fds
                .iter()
                .filter_map(|f| snap.ofds.iter().find(|o| o.id == f.ofd))
                .filter_map(|o| snap.inodes.iter().find(|i| i.id == o.inode))
                .filter_map(|i| match i.kind {
                    InodeKind::File(n) => Some(n),
                    _ => None,
                })
                .collect();
            let file = if !open_files.is_empty() && src.chance(35) {
                *src.pick(&open_files)
            } else {
                *src.pick(&FileName::ALL)
            };
            let access = *src.pick(&[Access::RdOnly, Access::WrOnly, Access::RdWr, Access::RdWr]);
            let flags = OpenFlags {
                access,
                creat: file != FileName::Data && src.chance(70),
                excl: src.chance(5),
                // Truncating the mapped file would turn later loads into SIGBUS; that is
                // for known cases, not the random mix.
                trunc: file != FileName::Data && src.chance(10),
                append: src.chance(15),
                cloexec: src.chance(25),
                nonblock: src.chance(5),
            };
            OpKind::Open { file, flags }
        }
        Kind::Close => OpKind::Close { fd: any_fd(src) },
        Kind::Dup => OpKind::Dup { fd: any_fd(src) },
        Kind::Dup2 => {
            let old = any_fd(src);
            let new = if src.chance(50) {
                any_fd(src)
            } else {
                src.below(8) as i32
            };
            if src.chance(30) {
                OpKind::Dup3 {
                    old,
                    new,
                    cloexec: src.chance(50),
                }
            } else {
                OpKind::Dup2 { old, new }
            }
        }
        Kind::Read => OpKind::Read {
            fd: fd_of_kind(src, &|k, a| a.readable() && *k != InodeKind::Pidfd),
            len: 1 + src.below(12),
        },
        Kind::Write => OpKind::Write {
            fd: fd_of_kind(src, &|k, a| a.writable() && *k != InodeKind::Pidfd),
            data: data(src),
        },
        Kind::Pread => OpKind::Pread {
            fd: fd_of_kind(src, &|k, a| a.readable() && *k != InodeKind::Pipe),
            len: 1 + src.below(12),
            offset: src.below(24) as i64,
        },
        Kind::Pwrite => OpKind::Pwrite {
            fd: fd_of_kind(src, &|k, a| a.writable() && *k != InodeKind::Pipe),
            data: data(src),
            offset: src.below(24) as i64,
        },
        Kind::Lseek => {
            let whence = *src.pick(&[Whence::Set, Whence::Cur, Whence::End]);
            let offset = src.below(24) as i64 - if whence == Whence::Set { 0 } else { 8 };
            OpKind::Lseek {
                fd: fd_of_kind(src, &|k, _| *k != InodeKind::Pipe),
                offset,
                whence,
            }
        }
        Kind::Fcntl => {
            let cmd = match src.below(6) {
                0 => FcntlCmd::GetFd,
                1 => FcntlCmd::SetFd {
                    cloexec: src.chance(50),
                },
                2 => FcntlCmd::GetFl,
                3 => FcntlCmd::SetFl {
                    append: src.chance(50),
                    nonblock: src.chance(30),
                },
                4 => FcntlCmd::DupFd {
                    min: src.below(10) as i32,
                },
                _ => FcntlCmd::DupFdCloexec {
                    min: src.below(10) as i32,
                },
            };
            OpKind::Fcntl {
                fd: any_fd(src),
                cmd,
            }
        }
        Kind::Pipe => OpKind::Pipe2 {
            cloexec: src.chance(25),
            nonblock: src.chance(25),
        },
        Kind::Ftruncate => {
            let fd = fd_of_kind(src, &|k, a| a.writable() && *k != InodeKind::Pipe);
            let len = src.below(40) as i64;
            // Shrinking the mapped file is SIGBUS territory, kept out of the random mix.
            let len = if is_data_file(fd) {
                (u64::from(pages) * forkspec_model::PAGE_SIZE) as i64 + len
            } else {
                len
            };
            OpKind::Ftruncate { fd, len }
        }
        Kind::RecordLock => {
            // Mostly regular files (pipes and pidfds take locks too), a type the access mode
            // permits, small ranges that overlap often.
            if !has_file && !src.chance(10) {
                return None;
            }
            let mut access = Access::RdWr;
            let fd = fd_of_kind(src, &|k, _| {
                matches!(k, InodeKind::File(_)) || *k == InodeKind::Pipe
            });
            if let Some(o) = view
                .fds
                .iter()
                .find(|f| f.fd == fd)
                .and_then(|f| snap.ofds.iter().find(|o| o.id == f.ofd))
            {
                access = o.access;
            }
            let which = src.below(100);
            let get = (35..60).contains(&which) || which >= 80;
            let ty = if src.chance(if get { 4 } else { 20 }) {
                LockType::Un
            } else if get {
                // A write-lock test finds every other owner's lock over the range.
                if src.chance(75) {
                    LockType::Wr
                } else {
                    LockType::Rd
                }
            } else if src.chance(8) {
                *src.pick(&[LockType::Rd, LockType::Wr])
            } else {
                match access {
                    Access::RdOnly => LockType::Rd,
                    Access::WrOnly => LockType::Wr,
                    // Write locks conflict with every other owner's lock.
                    Access::RdWr => *src.pick(&[LockType::Rd, LockType::Wr, LockType::Wr]),
                }
            };
            let start = src.below(6) as i64;
            let len = if src.chance(5) {
                -(src.below(4) as i64) - 1
            } else if src.chance(30) {
                0
            } else {
                1 + src.below(3) as i64
            };
            let pid = if src.chance(3) { 1 } else { 0 };
            let lock = FlockArg {
                ty,
                start,
                len,
                pid,
            };
            let cmd = match which {
                0..=34 => FcntlCmd::SetLk { lock },
                35..=59 => FcntlCmd::GetLk { lock },
                60..=79 => FcntlCmd::OfdSetLk { lock },
                _ => FcntlCmd::OfdGetLk { lock },
            };
            OpKind::Fcntl { fd, cmd }
        }
        Kind::Flock if !has_file && !src.chance(10) => return None,
        Kind::Flock => OpKind::Flock {
            fd: fd_of_kind(src, &|k, _| matches!(k, InodeKind::File(_))),
            op: *src.pick(&[FlockOp::Sh, FlockOp::Ex, FlockOp::Ex, FlockOp::Un]),
            // A blocking call the model predicts to block is mostly dropped by `generate`
            // ([`may_block`]); the others check that an uncontended lock does not block.
            nonblock: !src.chance(20),
        },
        Kind::Kill => {
            let targets: Vec<u32> = snap.tasks.iter().map(|t| t.task).collect();
            let target = if src.chance(5) {
                src.below(created)
            } else if src.chance(30) {
                task
            } else {
                *src.pick(&targets)
            };
            // Often a signal the target blocks: it pends, and forks, unblocks and sigactions
            // then have something to act on.
            let blocked: Vec<Signal> = snap
                .task(target)
                .and_then(|t| t.signals)
                .map(|s| {
                    s.blocked
                        .signals()
                        .into_iter()
                        .filter(|x| GEN_SIGNALS.contains(x))
                        .collect()
                })
                .unwrap_or_default();
            let stopped = snap
                .task(target)
                .is_some_and(|t| t.state == TaskState::Stopped);
            let stop_targets: Vec<u32> = if cfg.ops.contains("waitid") {
                targets
                    .iter()
                    .copied()
                    .filter(|&x| stoppable(snap, task, x))
                    .collect()
            } else {
                Vec::new()
            };
            let mut target = target;
            let sig = match src.below(40) {
                0 => Signal(0),
                1 => Signal::SIGKILL,
                2 => *src.pick(&[Signal(65), Signal(-1)]),
                3..=5 if !stop_targets.is_empty() => {
                    target = *src.pick(&stop_targets);
                    // SIGTSTP/TTIN/TTOU stop only outside an orphaned process group: while
                    // t0 lives, its parent (the lab) keeps the case's group from being one.
                    let t0_live = snap.task(0).is_some_and(|t| t.state == TaskState::Live);
                    if t0_live && src.chance(40) {
                        *src.pick(&[Signal::SIGTSTP, Signal::SIGTTIN, Signal::SIGTTOU])
                    } else {
                        Signal::SIGSTOP
                    }
                }
                _ if stopped && src.chance(50) => Signal::SIGCONT,
                _ if !blocked.is_empty() && src.chance(40) => *src.pick(&blocked),
                _ => *src.pick(&GEN_SIGNALS),
            };
            // Killing t0 ends most of a case; keep it rare.
            if target == 0 && sig != Signal(0) && !src.chance(15) {
                return None;
            }
            OpKind::Kill { target, sig }
        }
        Kind::Sigaction => {
            let sig = match src.below(30) {
                0 => *src.pick(&[Signal::SIGKILL, Signal::SIGSTOP, Signal(0), Signal(65)]),
                // A fault signal may be ignored or reset (a fault forces it back to SIG_DFL),
                // never caught: the handler would return to the fault forever.
                1 => *src.pick(&[Signal::SIGSEGV, Signal::SIGBUS]),
                _ => *src.pick(&GEN_SIGNALS),
            };
            let action = match src.below(10) {
                0..=3 if sig != Signal::SIGSEGV && sig != Signal::SIGBUS => SigAction::Handler,
                0..=6 => SigAction::Ignore,
                _ => SigAction::Default,
            };
            // SIGCHLD's SA_NOCLDWAIT / SA_NOCLDSTOP came with waitid (see Kind::Wait).
            let flags = if sig == Signal::SIGCHLD && cfg.ops.contains("waitid") && src.chance(50) {
                SaFlags {
                    nocldwait: src.chance(70),
                    nocldstop: src.chance(40),
                }
            } else {
                SaFlags::default()
            };
            OpKind::Sigaction { sig, action, flags }
        }
        Kind::Sigprocmask => {
            let how = *src.pick(&[
                MaskHow::Block,
                MaskHow::Block,
                MaskHow::Unblock,
                MaskHow::SetMask,
            ]);
            let n = src.below(4);
            // Unblocking usually names a signal that is blocked (and maybe pending).
            let blocked = view
                .signals
                .map(|s| s.blocked.signals())
                .unwrap_or_default();
            let set = (0..n)
                .map(|_| match src.below(20) {
                    0 => Signal::SIGKILL,
                    1 => Signal::SIGSEGV,
                    _ if how != MaskHow::Block && !blocked.is_empty() && src.chance(60) => {
                        *src.pick(&blocked)
                    }
                    _ => *src.pick(&GEN_SIGNALS),
                })
                .collect();
            OpKind::Sigprocmask { how, set }
        }
        Kind::Chdir => OpKind::Chdir {
            dir: *src.pick(&CaseDir::ALL),
        },
        // Masks that keep the owner's read and write bits: the model does not track file
        // modes, and files the case creates (mode 0600) must stay openable by their owner.
        Kind::Umask => OpKind::Umask {
            mask: *src.pick(&[0o022, 0o077, 0o000, 0o027, 0o002, 0o007, 0o070]),
        },
        Kind::Sethostname => {
            // Never in the lab's own UTS namespace (the lab refuses it: it would rename the
            // machine).
            if !own_uts {
                return None;
            }
            OpKind::Sethostname {
                name: *src.pick(&HostName::ALL),
            }
        }
        Kind::Uname => OpKind::Uname,
        Kind::Prctl => crate::gen_inherit::prctl(src),
        Kind::CloseRange => crate::gen_inherit::close_range(src, &fds),
        Kind::Unshare => crate::gen_inherit::unshare(src),
        Kind::Seccomp => crate::gen_inherit::seccomp(src),
        Kind::Itimer => crate::gen_timers::itimer(src),
        Kind::PosixTimer => crate::gen_timers::posix_timer(src),
        Kind::Sigaltstack => crate::gen_altstack::sigaltstack(src),
        Kind::Setns => crate::gen_setns::setns(src, model, snap, task)?,
        Kind::Sched => crate::gen_sched::sched(src),
        Kind::Rlimit => crate::gen_sched::prlimit(src),
        Kind::Setpgid | Kind::Getpgid | Kind::Setsid | Kind::Getsid | Kind::KillPgrp => {
            crate::gen_groups::propose(src, snap, task, created, kind_group(kind))?
        }
        Kind::PidfdOpen | Kind::PidfdSendSignal | Kind::PidfdGetfd | Kind::Poll => {
            use crate::gen_pidfd::PidfdKind as P;
            let k = match kind {
                Kind::PidfdOpen => P::Open,
                Kind::PidfdSendSignal => P::SendSignal,
                Kind::PidfdGetfd => P::Getfd,
                _ => P::Poll,
            };
            crate::gen_pidfd::propose(src, model, snap, task, created, k)?
        }
    };
    Some(Op { task, kind })
}

fn kind_group(k: Kind) -> crate::gen_groups::GroupKind {
    use crate::gen_groups::GroupKind as G;
    match k {
        Kind::Setpgid => G::Setpgid,
        Kind::Getpgid => G::Getpgid,
        Kind::Setsid => G::Setsid,
        Kind::Getsid => G::Getsid,
        _ => G::KillPgrp,
    }
}

/// Whether a process and one of its children, both alive in `before`, are dead in `after`.
/// A kill to a group that ends both leaves their order to the scheduler: a child that dies
/// first is a zombie of a parent that may reap it at once (one that ignores SIGCHLD), one
/// that dies last goes to the reaper, which keeps it. The model cannot tell which, so such
/// kills are left out of the mix (seed 1405 of the acceptance run showed both).
fn kills_parent_and_child(before: &Snapshot, after: &Snapshot) -> bool {
    let dead = |t: u32| {
        after
            .task(t)
            .is_none_or(|v| matches!(v.state, TaskState::Zombie(_)))
    };
    let alive = |v: &forkspec_model::TaskView| !matches!(v.state, TaskState::Zombie(_));
    before.tasks.iter().filter(|c| alive(c)).any(|c| {
        let forkspec_model::Parent::Task(p) = c.parent else {
            return false;
        };
        dead(c.task) && before.task(p).is_some_and(alive) && dead(p)
    })
}

/// Whether a task is in a process group named by a task of a pid namespace it is not in
/// below its own, or a namespace's init in a group named by another task of its namespace.
/// Such a membership keeps a pid of that namespace in use, and a dying init waits in
/// `zap_pid_ns_processes` until no pid but its own is (kernel/pid_namespace.c): it would
/// never finish exiting, which the model does not follow (README, deliberate exceptions).
fn pins_a_pid_namespace(model: &Model, snap: &Snapshot) -> bool {
    let pidns = |t: u32| snap.task(t).and_then(|v| v.namespaces).map(|n| n.pid);
    snap.tasks.iter().any(|v| {
        let Some(forkspec_model::PidRef::Task(leader)) = v.group.map(|g| g.pgrp) else {
            return false;
        };
        let group_of = v.thread_of.unwrap_or(v.task);
        leader != group_of
            && (pidns(leader) != pidns(v.task) || model.is_pid_namespace_init(v.task))
    })
}

/// Whether `kind` names, as its target, a task adopted by the reaper outside the backend.
fn names_an_orphan(snap: &Snapshot, kind: &OpKind) -> bool {
    let mut k = kind.clone();
    let mut named: Vec<u32> = k.task_args_mut().into_iter().map(|t| *t).collect();
    if let OpKind::Kill { target, .. } = kind {
        named.push(*target);
    }
    named.iter().any(|&t| {
        snap.task(t)
            .is_some_and(|v| v.parent == forkspec_model::Parent::Reaper && t != 0)
    })
}

/// The labels of `task`'s children in `snap`.
pub(crate) fn children_of(snap: &Snapshot, task: u32) -> Vec<u32> {
    snap.tasks
        .iter()
        .filter(|t| t.parent == forkspec_model::Parent::Task(task))
        .map(|t| t.task)
        .collect()
}

/// Flags the random mix draws from, with weights in percent. CLONE_NEWNET is left out (a
/// network namespace costs milliseconds and is torn down asynchronously); CLONE_THREAD
/// appears, but the generator keeps only its invalid uses.
const RANDOM_FLAGS: &[(CloneFlags, u32)] = &[
    (CloneFlags::VM, 45),
    (CloneFlags::FS, 30),
    (CloneFlags::FILES, 35),
    (CloneFlags::SIGHAND, 20),
    (CloneFlags::VFORK, 12),
    (CloneFlags::PARENT, 8),
    (CloneFlags::THREAD, 4),
    (CloneFlags::SYSVSEM, 15),
    (CloneFlags::IO, 10),
    (CloneFlags::PIDFD, 15),
    (CloneFlags::SETTLS, 8),
    (CloneFlags::PARENT_SETTID, 8),
    (CloneFlags::CHILD_SETTID, 8),
    (CloneFlags::CHILD_CLEARTID, 8),
    (CloneFlags::DETACHED, 3),
    (CloneFlags::CLEAR_SIGHAND, 8),
    (CloneFlags::NEWUTS, 5),
    (CloneFlags::NEWIPC, 4),
    (CloneFlags::NEWNS, 3),
    (CloneFlags::NEWPID, 6),
    (CloneFlags::NEWUSER, 4),
    (CloneFlags::NEWCGROUP, 3),
    (CloneFlags::NEWTIME, 2),
    (CloneFlags::INTO_CGROUP, 2),
];

/// A random clone/clone3 op: mostly valid combinations, some invalid ones.
fn random_clone(src: &mut dyn Choices) -> CloneOp {
    let mut flags = CloneFlags::EMPTY;
    for &(f, pct) in RANDOM_FLAGS {
        if src.chance(pct) {
            flags = flags.with(f);
        }
    }
    // SIGHAND needs VM: usually honour it, so that valid combinations dominate.
    if flags.has(CloneFlags::SIGHAND) && src.chance(85) {
        flags = flags.with(CloneFlags::VM);
    }
    let entry = if src.chance(50) {
        CloneEntry::Clone
    } else {
        CloneEntry::Clone3
    };
    // Exit signals whose default action is harmless to the parent: SIGCHLD, none, SIGURG
    // (ignored by default); with THREAD/PARENT clone3 wants 0.
    let exit_signal = if entry == CloneEntry::Clone3
        && flags.any(CloneFlags::THREAD | CloneFlags::PARENT)
        && src.chance(85)
    {
        0
    } else {
        match src.below(20) {
            0..=14 => 17,
            15..=17 => 0,
            18 => 23,
            _ => *src.pick(&[65, 255, 256, -1]),
        }
    };
    let entry_ok_signal = entry == CloneEntry::Clone3 || (0..=64).contains(&exit_signal);
    let exit_signal = if entry_ok_signal { exit_signal } else { 17 };
    let mut args = Clone3Args::default();
    if entry == CloneEntry::Clone3 && src.chance(20) {
        match src.below(7) {
            0 => args.size = *src.pick(&[32, 64, 72, 80, 96, 104, 4097]),
            1 => {
                args.size = *src.pick(&[96, 104, 128]);
                args.tail_nonzero = true;
            }
            2 => args.stack = false,
            3 => args.stack_size = false,
            4 => {
                args.set_tid = *src.pick(&[
                    SetTid::Pid1,
                    SetTid::NullWithSize,
                    SetTid::PtrWithoutSize,
                    SetTid::TooMany,
                ])
            }
            5 => args.cgroup_big = true,
            _ => {
                args.stack = false;
                args.stack_size = false;
            }
        }
    }
    CloneOp {
        entry,
        flags,
        exit_signal,
        args,
    }
}

/// Fork generations in a case: the longest parent chain below `t0` among the tasks created
/// (a child of `t0` is generation 1).
pub fn fork_depth(case: &Case, profile: &Profile) -> u32 {
    let mut model = Model::new(case.config, profile);
    let mut depth = vec![0u32];
    let mut max = 0;
    for op in &case.ops {
        if let Outcome::Child(c) = model.step(op, None).taken {
            let d = depth.get(op.task as usize).copied().unwrap_or(0) + 1;
            if depth.len() <= c as usize {
                depth.resize(c as usize + 1, 0);
            }
            depth[c as usize] = d;
            max = max.max(d);
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The case the default configuration generates from `seed`.
    fn default_case(seed: u64, profile: &Profile) -> Case {
        generate(
            &mut SeededChoices::new(seed),
            &GenConfig::default(),
            profile,
        )
    }

    #[test]
    fn only_supported_kinds_are_generated() {
        let (ops, unknown) = OpSet::from_names(&["fork", "mem_write", "open", "dup3", "teleport"]);
        assert_eq!(unknown, vec!["teleport".to_string()]);
        let cfg = GenConfig {
            ops,
            ..GenConfig::default()
        };
        let profile = Profile::default();
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let case = generate(&mut SeededChoices::new(seed), &cfg, &profile);
            for op in &case.ops {
                seen.insert(crate::run::op_kind_name(op));
            }
        }
        let expected: std::collections::BTreeSet<&str> =
            ["fork", "mem_write", "open", "dup3"].into_iter().collect();
        assert_eq!(seen, expected);
        assert!(OpSet::ALL.missing().is_empty());
        assert!(ops.missing().contains(&"wait"));
    }

    /// How many ops of `cases` generated cases the model says block.
    fn blocked_ops(cfg: &GenConfig, cases: u64) -> usize {
        let profile = Profile::default();
        (0..cases)
            .map(|seed| {
                let case = generate(&mut SeededChoices::new(seed), cfg, &profile);
                let mut m = Model::new(case.config, &profile);
                case.ops
                    .iter()
                    .filter(|op| m.step(op, None).taken == Outcome::Blocked)
                    .count()
            })
            .sum()
    }

    #[test]
    fn without_blocking_no_op_blocks() {
        let off = GenConfig {
            blocking: false,
            ..GenConfig::default()
        };
        assert_eq!(blocked_ops(&off, 400), 0);
        assert!(blocked_ops(&GenConfig::default(), 400) > 0);
    }

    #[test]
    fn every_generated_kind_is_listed() {
        let profile = Profile::default();
        for seed in 0..300 {
            let case = default_case(seed, &profile);
            for op in &case.ops {
                assert!(GEN_OP_KINDS.contains(&crate::run::op_kind_name(op)));
            }
        }
    }

    /// What the standard mix draws in `cases` generated cases: op kinds, (entry point, clone
    /// flag) pairs, regions of memory ops, madvise advice, and the blocking ops (by kind) a
    /// later op of the case wakes, as the model runs the case.
    fn drawn(cases: u64) -> [std::collections::BTreeSet<String>; 5] {
        use forkspec_model::CloneFlags;
        let profile = Profile::default();
        let mut seen: [std::collections::BTreeSet<String>; 5] = Default::default();
        for seed in 0..cases {
            let case = default_case(seed, &profile);
            let mut model = Model::new(case.config, &profile);
            let mut asleep: Vec<(u32, &'static str)> = Vec::new();
            for op in &case.ops {
                if model.step(op, None).taken == Outcome::Blocked {
                    asleep.push((op.task, crate::run::op_kind_name(op)));
                }
                let snap = model.snapshot();
                asleep.retain(|&(t, kind)| {
                    let still = snap.task(t).is_some_and(|v| v.state == TaskState::Blocked);
                    if !still && snap.task(t).is_some_and(|v| v.state == TaskState::Live) {
                        seen[4].insert(kind.to_string());
                    }
                    still
                });
                seen[0].insert(crate::run::op_kind_name(op).to_string());
                match &op.kind {
                    OpKind::Clone(c) => {
                        for (f, name) in CloneFlags::NAMED {
                            if c.flags.has(*f) {
                                seen[1].insert(format!("{:?} {name}", c.entry));
                            }
                        }
                    }
                    OpKind::MemRead { region, .. } | OpKind::MemWrite { region, .. } => {
                        seen[2].insert(format!("{region:?}"));
                    }
                    OpKind::Madvise { region, advice, .. } => {
                        seen[2].insert(format!("{region:?}"));
                        seen[3].insert(format!("{advice:?}"));
                    }
                    _ => {}
                }
            }
        }
        seen
    }

    #[test]
    fn the_standard_mix_draws_every_kind_flag_region_and_advice() {
        use forkspec_model::{Advice, CloneEntry, CloneFlags, Region};
        // 24000 cases since the mix grew (mappings, timers, sigaltstack): the same
        // requirements. A blocked flock that a later op wakes is the rarest (with
        // sigaltstack in the mix, none in the first 16000 seeds).
        let [kinds, flags, regions, advice, woken] = drawn(24000);
        let all: std::collections::BTreeSet<String> =
            GEN_OP_KINDS.iter().map(|k| k.to_string()).collect();
        assert_eq!(
            kinds,
            all,
            "op kinds never drawn: {:?}",
            all.difference(&kinds).collect::<Vec<_>>()
        );
        for entry in [CloneEntry::Clone, CloneEntry::Clone3] {
            for (f, _) in RANDOM_FLAGS {
                let (_, name) = CloneFlags::NAMED.iter().find(|n| n.0 == *f).unwrap();
                let pair = format!("{entry:?} {name}");
                assert!(flags.contains(&pair), "never drawn: {pair}");
            }
        }
        // The four regions and the mapping slot (loads and stores of mmap'ed pages).
        let all: std::collections::BTreeSet<String> = Region::ALL
            .iter()
            .chain(&[Region::Mapped])
            .map(|r| format!("{r:?}"))
            .collect();
        assert_eq!(regions, all);
        let all: std::collections::BTreeSet<String> = [
            Advice::DontFork,
            Advice::DoFork,
            Advice::WipeOnFork,
            Advice::KeepOnFork,
            Advice::DontNeed,
        ]
        .iter()
        .map(|a| format!("{a:?}"))
        .collect();
        assert_eq!(advice, all);
        // Blocked, then woken by a later op: a wait (its child's exit), a pipe read (a
        // write or the last writer's close), a flock (the holder's unlock or close).
        let all: std::collections::BTreeSet<String> = ["flock", "read", "wait"]
            .iter()
            .map(|k| k.to_string())
            .collect();
        assert!(woken.is_superset(&all), "woken: {woken:?}");
    }

    /// The mix draws `unshare(CLONE_NEWPID)`, successful ones followed by a child that is
    /// the new namespace's init, and never a second child into such a namespace (its parent
    /// would be outside it: [`Model::pidns_has_outer_child`]).
    #[test]
    fn the_mix_unshares_pid_namespaces_without_children_outside() {
        let profile = Profile::default();
        let (mut unshared, mut inits) = (0, 0);
        for seed in 0..4000 {
            let case = default_case(seed, &profile);
            let mut model = Model::new(case.config, &profile);
            let mut unsharers = Vec::new();
            for op in &case.ops {
                let out = model.step(op, None).taken;
                match (&op.kind, &out) {
                    (OpKind::Unshare { flags }, Outcome::Ret(0)) if flags.newpid => {
                        unshared += 1;
                        unsharers.push(op.task);
                    }
                    (_, Outcome::Child(c))
                        if unsharers.contains(&op.task) && model.is_pid_namespace_init(*c) =>
                    {
                        inits += 1;
                    }
                    _ => {}
                }
                assert!(!model.pidns_has_outer_child(), "seed {seed}: {op}");
            }
        }
        assert!(
            unshared > 10 && inits > 2,
            "{unshared} unshares, {inits} inits"
        );
    }

    /// No generated kill to a group ends a process and its child together (their order is
    /// the scheduler's), while kills to a group that end one of them still come up.
    #[test]
    fn no_group_kill_ends_a_parent_and_its_child_together() {
        let profile = Profile::default();
        let mut fatal = 0;
        // More seeds since the mix grew (mremap, sigaltstack): the same threshold.
        for seed in 0..6000 {
            let case = default_case(seed, &profile);
            let mut model = Model::new(case.config, &profile);
            for op in &case.ops {
                let before = model.snapshot();
                model.step(op, None);
                if let OpKind::KillPgrp { .. } = op.kind {
                    let after = model.snapshot();
                    assert!(
                        !kills_parent_and_child(&before, &after),
                        "seed {seed}: {op}"
                    );
                    fatal += usize::from(before.tasks.iter().any(|t| {
                        t.state == TaskState::Live
                            && after
                                .task(t.task)
                                .is_none_or(|v| v.state != TaskState::Live)
                    }));
                }
            }
        }
        assert!(fatal > 10, "{fatal} group kills ended a task");
    }

    /// No generated setpgid leaves a pid namespace pinned (an init that could never finish
    /// exiting), while setpgid into a group named by another task still comes up, in cases
    /// with pid namespaces too.
    #[test]
    fn no_setpgid_pins_a_pid_namespace() {
        let profile = Profile::default();
        let (mut joins, mut joins_with_pidns) = (0, 0);
        // More seeds since the mix grew (mappings, timers): the same thresholds.
        for seed in 0..5000 {
            let case = default_case(seed, &profile);
            let mut model = Model::new(case.config, &profile);
            for op in &case.ops {
                model.step(op, None);
                if let OpKind::Setpgid { target, pgid } = op.kind {
                    let snap = model.snapshot();
                    assert!(!pins_a_pid_namespace(&model, &snap), "seed {seed}: {op}");
                    let moved = target.unwrap_or(op.task);
                    if pgid.is_some_and(|g| g != moved) {
                        joins += 1;
                        let classes: std::collections::BTreeSet<u64> = snap
                            .tasks
                            .iter()
                            .filter_map(|t| t.namespaces.map(|n| n.pid))
                            .collect();
                        joins_with_pidns += usize::from(classes.len() > 1);
                    }
                }
            }
        }
        assert!(
            joins > 50 && joins_with_pidns > 0,
            "{joins} joins, {joins_with_pidns} with pid namespaces"
        );
    }

    /// Ops the model predicts to block come up, always with one sleeper at a time and only
    /// of the kinds whose wake-up is determined, and in a modest share of the cases.
    #[test]
    fn blocking_ops_are_few_and_one_at_a_time() {
        let profile = Profile::default();
        let (mut with_sleeper, cases) = (0u64, 2000u64);
        for seed in 0..cases {
            let case = default_case(seed, &profile);
            let mut model = Model::new(case.config, &profile);
            let mut any = false;
            for op in &case.ops {
                let before = model.snapshot();
                if model.step(op, None).taken == Outcome::Blocked {
                    assert!(may_block(&before, op), "seed {seed}: {op}");
                    assert!(
                        before.tasks.iter().all(|t| t.state != TaskState::Blocked),
                        "seed {seed}: a second sleeper: {op}"
                    );
                    any = true;
                }
            }
            with_sleeper += u64::from(any);
        }
        // At least 1 in 100: every new op kind takes a share of the draws (37 in 2000 once
        // the mlock, setns and scheduling ops joined the mix).
        assert!(
            (cases / 100..cases / 5).contains(&with_sleeper),
            "{with_sleeper} of {cases} cases have a blocking op"
        );
    }
}
