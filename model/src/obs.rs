//! Observations: the outcome of each op and the canonical snapshot of every task (DESIGN §4).
//!
//! Numbers the kernel chooses freely (pids, inode numbers, physical frames, kernel object
//! addresses) never appear raw: a backend may report any `u64` identity for them and
//! [`Snapshot::canonicalize`] turns identities into labels by first appearance in one fixed
//! traversal order, so two backends compare with `==`.

use crate::op::{Fd, Region, TaskId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

macro_rules! named_numbers {
    ($(#[$m:meta])* $ty:ident { $($name:ident = $num:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $ty(pub i32);
        impl $ty {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                pub const $name: $ty = $ty($num);
            )*
            /// The symbolic name, or `None` for a number this table does not know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 { $($num => Some(stringify!($name)),)* _ => None }
            }
            /// Parses a symbolic name or a decimal number.
            pub fn parse(s: &str) -> Option<$ty> {
                match s { $(stringify!($name) => Some($ty($num)),)* _ => s.parse().ok().map($ty) }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() { Some(n) => f.write_str(n), None => write!(f, "{}", self.0) }
            }
        }
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.name() { Some(n) => s.serialize_str(n), None => s.serialize_i32(self.0) }
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Repr { Num(i32), Name(String) }
                match Repr::deserialize(d)? {
                    Repr::Num(n) => Ok($ty(n)),
                    Repr::Name(s) => $ty::parse(&s).ok_or_else(|| {
                        serde::de::Error::custom(format!(concat!("unknown ", stringify!($ty), " {:?}"), s))
                    }),
                }
            }
        }
    };
}

named_numbers!(
    /// A Linux errno (x86_64 numbering); serialized by name.
    Errno {
        EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, E2BIG = 7, EBADF = 9, ECHILD = 10,
        EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17,
        ENOTDIR = 20, EISDIR = 21, EINVAL = 22, EMFILE = 24, EFBIG = 27, ENOSPC = 28,
        ESPIPE = 29, EPIPE = 32, ERANGE = 34, ENOLCK = 37, ENOSYS = 38, EOVERFLOW = 75,
        EOPNOTSUPP = 95, EUSERS = 87,
    }
);

named_numbers!(
    /// A Linux signal number (x86_64 numbering); serialized by name.
    Signal {
        SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7,
        SIGFPE = 8, SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13,
        SIGALRM = 14, SIGTERM = 15, SIGSTKFLT = 16, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19,
        SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22, SIGURG = 23, SIGXCPU = 24, SIGXFSZ = 25,
        SIGVTALRM = 26, SIGPROF = 27, SIGWINCH = 28, SIGIO = 29, SIGPWR = 30, SIGSYS = 31,
    }
);

/// How a task ended, as `wait4` reports it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    /// `WIFEXITED`, with `WEXITSTATUS`.
    Exited(u8),
    /// `WIFSIGNALED`, with `WTERMSIG`.
    Signaled(Signal),
}

/// What one op did, as the task that ran it sees it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A plain non-negative return value (fds raw, offsets, byte counts, flag words).
    Ret(i64),
    /// The call failed with this errno.
    Err(Errno),
    /// fork in the parent: the new task's label.
    Child(TaskId),
    /// Bytes produced by read, pread or a memory load.
    Data(Vec<u8>),
    /// pipe2: the read end and the write end.
    Pipe([Fd; 2]),
    /// wait: the reaped child and its status.
    Reaped {
        /// The child.
        task: TaskId,
        /// Its status.
        status: ExitStatus,
    },
    /// exit: the task is gone (there is no return).
    Exited,
    /// The task was killed by a signal while running the op (e.g. SIGSEGV on an unmapped page).
    Killed(Signal),
    /// The op did not complete by the deadline; the task stays blocked in it.
    Blocked,
    /// The task died while running the op, and how (its exit status) could not be observed:
    /// it was reaped before the backend saw its zombie, on a kernel that keeps no status for
    /// it (no `PIDFD_INFO_EXIT`, Linux 6.15). Only a backend without
    /// [`crate::Capabilities::reaped_status`] reports it; it then stands for any death the
    /// model allows (an exit or any fatal signal), and says so under "not compared".
    Died,
    /// `F_GETLK` / `F_OFD_GETLK`: the `struct flock` the kernel wrote back.
    Lock(LockReport),
    /// waitid: the child it reported (`si_pid`), `si_code` and `si_status`.
    Waited(ChildInfo),
    /// `getpgid`, `getsid`, `setsid`: a process group or session id as the caller's pid
    /// namespace numbers it.
    Pid(PidRef),
    /// `getitimer`, `timer_gettime`, `alarm`: whether the timer was armed, and its interval.
    Timer(crate::timer::TimerReport),
    /// `sigaltstack`: the old setting it wrote back.
    AltStack(crate::altstack::AltStackReport),
    /// `prlimit`: the old limits it wrote back.
    Rlimit(crate::sched::Rlim),
}

/// A pid a system call returned (a process group or session id), as a label: the task whose
/// pid it is, a pid outside the case (the lab's own group and session), or 0 because the
/// caller's pid namespace has no number for it (`pid_vnr`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PidRef {
    /// The pid of this task (a group or session keeps its leader's pid after the leader is
    /// reaped, while it has members).
    Task(TaskId),
    /// A pid of no task of the case: the lab's process group or session.
    Outside,
    /// `0`: not visible in the caller's pid namespace.
    Invisible,
}

impl fmt::Display for PidRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PidRef::Task(t) => write!(f, "t{t}"),
            PidRef::Outside => write!(f, "outside"),
            PidRef::Invisible => write!(f, "0"),
        }
    }
}

/// A task's process group and session as the task itself sees them (`getpgid(0)`,
/// `getsid(0)`). Semantic.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GroupView {
    /// The process group id.
    pub pgrp: PidRef,
    /// The session id.
    pub session: PidRef,
}

impl GroupView {
    /// What every task has in a case that never changes groups: `t0`'s group (the lab makes
    /// `t0` a group leader) in the lab's session, or, seen from a pid namespace the case
    /// created, neither visible.
    pub fn is_inherited_from_t0(&self) -> bool {
        matches!(
            (self.pgrp, self.session),
            (PidRef::Task(0), PidRef::Outside) | (PidRef::Invisible, PidRef::Invisible)
        )
    }
}

/// What `waitid` wrote into its `siginfo_t` for a child (`si_signo` is SIGCHLD).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChildInfo {
    /// `si_pid`, as a label.
    pub task: TaskId,
    /// `si_code`.
    pub code: ChildCode,
    /// `si_status`: the exit code for [`ChildCode::Exited`], else a signal number.
    pub status: i32,
}

/// The `si_code` of a SIGCHLD `siginfo_t` (sigaction(2), "SIGCHLD fills in").
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ChildCode {
    /// `CLD_EXITED`
    Exited,
    /// `CLD_KILLED`
    Killed,
    /// `CLD_DUMPED`
    Dumped,
    /// `CLD_TRAPPED`
    Trapped,
    /// `CLD_STOPPED`
    Stopped,
    /// `CLD_CONTINUED`
    Continued,
}

impl ChildCode {
    /// From the kernel's number (`CLD_EXITED` = 1 .. `CLD_CONTINUED` = 6).
    pub fn from_raw(code: i32) -> Option<ChildCode> {
        Some(match code {
            1 => ChildCode::Exited,
            2 => ChildCode::Killed,
            3 => ChildCode::Dumped,
            4 => ChildCode::Trapped,
            5 => ChildCode::Stopped,
            6 => ChildCode::Continued,
            _ => return None,
        })
    }

    /// The `CLD_*` name.
    pub fn name(self) -> &'static str {
        match self {
            ChildCode::Exited => "CLD_EXITED",
            ChildCode::Killed => "CLD_KILLED",
            ChildCode::Dumped => "CLD_DUMPED",
            ChildCode::Trapped => "CLD_TRAPPED",
            ChildCode::Stopped => "CLD_STOPPED",
            ChildCode::Continued => "CLD_CONTINUED",
        }
    }
}

/// What `F_GETLK` / `F_OFD_GETLK` reports.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum LockReport {
    /// `l_type == F_UNLCK`: nothing would conflict (the other fields are left as passed).
    Unlocked,
    /// The first conflicting lock in the kernel's list (`l_whence` is `SEEK_SET`).
    Held {
        /// `l_type`.
        #[serde(rename = "type")]
        ty: crate::op::LockType,
        /// `l_start`.
        start: i64,
        /// `l_len` (0: to the end of the file).
        len: i64,
        /// `l_pid`, as a label.
        owner: LockOwner,
    },
}

/// The `l_pid` of a reported lock.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum LockOwner {
    /// The thread group (its leader's label) that set the lock, as the caller's pid
    /// namespace numbers it.
    Task(TaskId),
    /// `-1`: an open-file-description lock has no owning process.
    Ofd,
    /// `0`: the owner has no pid in the caller's pid namespace.
    Invisible,
    /// A pid that belongs to no task of the case (never predicted).
    Foreign,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ret(v) => write!(f, "= {v}"),
            Outcome::Err(e) => write!(f, "= -1 {e}"),
            Outcome::Child(t) => write!(f, "= t{t}"),
            Outcome::Data(d) => write!(f, "= {}", crate::op::ByteStr(d)),
            Outcome::Pipe([r, w]) => write!(f, "= [{r}, {w}]"),
            Outcome::Reaped { task, status } => write!(f, "= t{task} {status:?}"),
            Outcome::Exited => write!(f, "exited"),
            Outcome::Killed(s) => write!(f, "killed by {s}"),
            Outcome::Blocked => write!(f, "blocked"),
            Outcome::Died => write!(f, "died (exit status not observed)"),
            Outcome::Waited(i) => {
                write!(f, "= 0 t{} {} status {}", i.task, i.code.name(), i.status)
            }
            Outcome::Pid(p) => write!(f, "= {p}"),
            Outcome::Timer(r) => write!(f, "= {r}"),
            Outcome::AltStack(r) => write!(f, "= {r}"),
            Outcome::Rlimit(l) => write!(f, "= {l}"),
            Outcome::Lock(LockReport::Unlocked) => write!(f, "= 0 unlocked"),
            Outcome::Lock(LockReport::Held {
                ty,
                start,
                len,
                owner,
            }) => {
                write!(f, "= 0 {ty} start={start} len={len} pid=")?;
                match owner {
                    LockOwner::Task(t) => write!(f, "t{t}"),
                    LockOwner::Ofd => write!(f, "-1"),
                    LockOwner::Invisible => write!(f, "0"),
                    LockOwner::Foreign => write!(f, "?"),
                }
            }
        }
    }
}

/// A task's parent as a label: another task of the case, or the lab's reaper (the parent of
/// `t0` and the subreaper that adopts orphans).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Parent {
    /// A task of the case.
    Task(TaskId),
    /// The reaper outside the case.
    Reaper,
}

/// Whether a task runs or waits to be reaped.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Alive (running or sleeping in the agent loop).
    Live,
    /// Blocked in an op that has not completed.
    Blocked,
    /// Exited, not yet reaped.
    Zombie(ExitStatus),
    /// Its thread group is stopped by a stop signal (group stop) until SIGCONT or SIGKILL.
    Stopped,
}

/// Kernel-object sharing classes of a live task (kcmp): equal ids mean the object is shared.
/// Internal level. `None` in a field means the backend could not observe it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Sharing {
    /// `KCMP_VM` (mm).
    pub vm: Option<u64>,
    /// `KCMP_FILES` (fd table).
    pub files: Option<u64>,
    /// `KCMP_FS` (cwd, root, umask).
    pub fs: Option<u64>,
    /// `KCMP_SIGHAND` (signal handlers).
    pub sighand: Option<u64>,
    /// `KCMP_IO` (io_context; tasks that never needed one all compare equal).
    pub io: Option<u64>,
    /// `KCMP_SYSVSEM` (semaphore undo list; tasks without one all compare equal).
    pub sysvsem: Option<u64>,
}

/// One entry of a task's fd table.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FdEntry {
    /// The fd number.
    pub fd: Fd,
    /// `FD_CLOEXEC`.
    pub cloexec: bool,
    /// Open-file-description identity (an index into [`Snapshot::ofds`] once canonical).
    pub ofd: u64,
    /// `FD_CLOEXEC`, and the offset and status flags of the description, could not be
    /// observed through this fd (its task could not answer, and nothing else that reports
    /// them is known to be right): they are not compared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unobserved: bool,
}

/// What kind of object an inode is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum InodeKind {
    /// A regular file of the case directory.
    File(crate::op::FileName),
    /// A pipe.
    Pipe,
    /// A pidfd (`anon_inode:[pidfd]`), from CLONE_PIDFD.
    Pidfd,
}

/// An open file description: shared by dup and fork, distinct per open.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ofd {
    /// Identity (canonical: its index).
    pub id: u64,
    /// Inode identity (an index into [`Snapshot::inodes`] once canonical).
    pub inode: u64,
    /// File offset (`pos` in fdinfo); pipes report 0.
    pub offset: u64,
    /// Status flags: access mode, `O_APPEND`, `O_NONBLOCK`.
    pub access: crate::op::Access,
    /// `O_APPEND`
    pub append: bool,
    /// `O_NONBLOCK`
    pub nonblock: bool,
}

/// An inode reachable from some fd.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Inode {
    /// Identity (canonical: its index).
    pub id: u64,
    /// Kind.
    pub kind: InodeKind,
    /// Size: file length, or bytes buffered in a pipe. `None` when not observable.
    pub size: Option<u64>,
}

/// Identity of the physical frame behind a present page.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// The shared zero page.
    Zero,
    /// Any other frame (canonical: class label).
    Class(u64),
}

/// One page of a region as one task sees it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Page {
    /// A VMA covers the page (false in a fork child for `MADV_DONTFORK` ranges).
    pub mapped: bool,
    /// Present in the page table (pagemap bit 63). Internal.
    pub present: bool,
    /// Mapped exactly once (pagemap bit 56). Internal.
    pub exclusive: bool,
    /// Byte at offset 0, observed only for present pages (observing an absent page would
    /// fault it in). Semantic.
    pub value: Option<u8>,
    /// Frame class for present pages (pagemap PFN; needs CAP_SYS_ADMIN). Internal.
    pub frame: Option<Frame>,
}

/// A region's pages as one task sees them.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegionView {
    /// Which region.
    pub region: Region,
    /// Its pages in order.
    pub pages: Vec<Page>,
}

/// One task's state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub struct TaskView {
    /// Label.
    pub task: TaskId,
    /// Parent.
    pub parent: Parent,
    /// State.
    pub state: TaskState,
    /// Signal sent to the parent at exit (stat field 38); `None` if unobservable.
    pub exit_signal: Option<Signal>,
    /// Sharing classes; `None` for zombies.
    pub sharing: Option<Sharing>,
    /// Thread group leader, when it is not the task itself (CLONE_THREAD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_of: Option<TaskId>,
    /// fd table sorted by fd (below the lab's reserved range); empty for zombies.
    pub fds: Vec<FdEntry>,
    /// The four regions in [`Region::ALL`] order; empty for zombies.
    pub memory: Vec<RegionView>,
    /// The non-zero thread-id words clone wrote into this task's memory, by child, sorted;
    /// empty for zombies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tid_words: Vec<TidEntry>,
    /// Signal masks and dispositions; `None` for zombies and when not observed. Semantic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signals: Option<SignalView>,
    /// Working directory and umask; `None` for zombies and when not observed. Semantic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_context: Option<FsView>,
    /// Namespace classes; `None` for zombies and when not observed. Internal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<NsClasses>,
    /// Process group and session; `None` for zombies and when not observed. Semantic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupView>,
}

/// Which of a clone child's two words: the backend passes one `parent_tid` and one
/// `child_tid` address per child, in memory each task has its own copy of unless shared.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum TidWord {
    /// `parent_tid`: CLONE_PARENT_SETTID writes the child's tid there (legacy clone's
    /// CLONE_PIDFD writes the pidfd there instead).
    ParentTid,
    /// `child_tid`: CLONE_CHILD_SETTID writes the child's tid there, CLONE_CHILD_CLEARTID
    /// zeroes it when the child exits or execs.
    ChildTid,
}

/// What a thread-id word holds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum TidValue {
    /// The tid of this task (in whichever pid namespace the writer sees it).
    Task(TaskId),
    /// Any other number (a pidfd).
    Raw(i64),
}

/// One non-zero thread-id word in a task's memory.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TidEntry {
    /// The clone child the word belongs to.
    pub child: TaskId,
    /// Which word.
    pub word: TidWord,
    /// Its value.
    pub value: TidValue,
}

/// A set of signals 1..=64 as the kernel's 64-bit `sigset_t` (bit `n - 1` is signal `n`), the
/// form of the `Sig*` lines of /proc/PID/status. Serialized as that number.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[serde(transparent)]
pub struct SigSet(pub u64);

impl SigSet {
    /// No signal.
    pub const EMPTY: SigSet = SigSet(0);

    /// The bit of `sig`, or 0 when `sig` is outside 1..=64.
    pub fn bit(sig: i32) -> u64 {
        if (1..=64).contains(&sig) {
            1u64 << (sig - 1)
        } else {
            0
        }
    }

    /// Whether `sig` is in the set.
    pub fn has(self, sig: i32) -> bool {
        self.0 & SigSet::bit(sig) != 0
    }

    /// The signals of the set, ascending.
    pub fn signals(self) -> Vec<Signal> {
        (1..=64).filter(|&s| self.has(s)).map(Signal).collect()
    }

    /// True when no signal is in the set.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for SigSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.signals().iter().map(|s| s.to_string()).collect();
        write!(f, "{{{}}}", names.join(","))
    }
}

/// A task's signal state.
///
/// Levels: `blocked`, `ignored`, `caught` and [`SignalView::sigpending`] are semantic (a
/// program sees them through `rt_sigprocmask`, `rt_sigaction` and `rt_sigpending`; the lab
/// asks the task itself). The split of pending signals into the task's own and its thread
/// group's (`pending`, `shared_pending`, the `SigPnd`/`ShdPnd` lines of /proc/PID/status) is
/// internal: no system call shows a program more than `rt_sigpending`'s union, and a signal
/// pending but not blocked (one a ptracer holds back, say) is invisible to it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SignalView {
    /// The task's blocked mask (`rt_sigprocmask`; `SigBlk`).
    pub blocked: SigSet,
    /// Signals whose disposition is `SIG_IGN` (`rt_sigaction`; `SigIgn`).
    pub ignored: SigSet,
    /// Signals with a handler (`rt_sigaction`; `SigCgt`).
    pub caught: SigSet,
    /// `SigPnd`: pending for this task alone. Internal.
    pub pending: SigSet,
    /// `ShdPnd`: pending for the whole thread group. Internal.
    pub shared_pending: SigSet,
    /// What `rt_sigpending(2)` returned to the task itself, when it was asked; `None`: the
    /// set follows from the other fields ([`SignalView::sigpending`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_pending: Option<SigSet>,
    /// Signals whose disposition could not be observed (`rt_sigaction` refused the query):
    /// `ignored` and `caught` are not compared for them.
    #[serde(default, skip_serializing_if = "SigSet::is_empty")]
    pub unknown: SigSet,
}

impl SignalView {
    /// The set `rt_sigpending(2)` reports: the signals pending for the task or its thread
    /// group that the task blocks (kernel/signal.c `do_sigpending`: `(pending ∪
    /// shared_pending) ∩ blocked`). The answer the task gave when it was asked, else derived.
    pub fn sigpending(&self) -> SigSet {
        self.asked_pending.unwrap_or(SigSet(
            (self.pending.0 | self.shared_pending.0) & self.blocked.0,
        ))
    }
}

/// A task's filesystem context (`fs_struct`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FsView {
    /// Working directory, inside the case directory.
    pub cwd: crate::op::CaseDir,
    /// `Umask` of /proc/PID/status.
    pub umask: u32,
}

/// Namespace classes of a task (/proc/PID/ns/*): equal labels mean the same namespace; the
/// lab's own namespaces get whatever label first appearance gives them (`t0` is in all of
/// them, so 0).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct NsClasses {
    /// uts
    pub uts: u64,
    /// pid (the namespace the task is in)
    pub pid: u64,
    /// user
    pub user: u64,
    /// mnt
    pub mnt: u64,
    /// ipc
    pub ipc: u64,
    /// net
    pub net: u64,
    /// cgroup
    pub cgroup: u64,
    /// time
    pub time: u64,
}

impl NsClasses {
    fn fields_mut(&mut self) -> [&mut u64; 8] {
        [
            &mut self.uts,
            &mut self.pid,
            &mut self.user,
            &mut self.mnt,
            &mut self.ipc,
            &mut self.net,
            &mut self.cgroup,
            &mut self.time,
        ]
    }

    /// The classes with their names, in a fixed order.
    pub fn named(&self) -> [(&'static str, u64); 8] {
        [
            ("uts", self.uts),
            ("pid", self.pid),
            ("user", self.user),
            ("mnt", self.mnt),
            ("ipc", self.ipc),
            ("net", self.net),
            ("cgroup", self.cgroup),
            ("time", self.time),
        ]
    }
}

/// Kernel-visible state of every task of a case that has not been reaped.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Snapshot {
    /// Tasks in label order.
    pub tasks: Vec<TaskView>,
    /// Open file descriptions reachable from some fd, in canonical id order.
    pub ofds: Vec<Ofd>,
    /// Inodes reachable from some description, in canonical id order.
    pub inodes: Vec<Inode>,
    /// File locks held on those inodes (/proc/locks), sorted. Semantic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locks: Vec<HeldLock>,
}

/// Which kind of lock a [`HeldLock`] is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum LockKind {
    /// A process-associated record lock (`F_SETLK`; /proc/locks `POSIX`).
    Posix,
    /// An open-file-description record lock (`F_OFD_SETLK`; /proc/locks `OFDLCK`).
    Ofd,
    /// A `flock(2)` lock (/proc/locks `FLOCK`).
    Flock,
}

/// One lock held on an inode, as /proc/locks lists it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HeldLock {
    /// Inode identity (an index into [`Snapshot::inodes`] once canonical).
    pub inode: u64,
    /// Kind.
    pub kind: LockKind,
    /// Read or write (shared or exclusive for flock).
    #[serde(rename = "type")]
    pub ty: crate::op::LockType,
    /// First byte (0 for flock).
    pub start: i64,
    /// Last byte, inclusive; `None` for "to the end of the file" (and for flock).
    pub end: Option<i64>,
    /// The thread group whose task set it (`fl_pid`); `None` for OFD locks, whose pid is
    /// -1, and once that thread group has been reaped (its pid may be free).
    pub pid: Option<TaskId>,
}

#[derive(Default)]
struct Labeler(HashMap<u64, u64>);

impl Labeler {
    fn label(&mut self, raw: u64) -> u64 {
        let next = self.0.len() as u64;
        *self.0.entry(raw).or_insert(next)
    }
}

impl Snapshot {
    /// Relabels every identity by first appearance in the fixed traversal order (tasks in label
    /// order; within a task: sharing fields, fds in order, then pages region by region), and
    /// orders tasks, fds, ofds and inodes. Idempotent: canonical snapshots are fixed points.
    pub fn canonicalize(&mut self) {
        self.tasks.sort_by_key(|t| t.task);
        let mut classes: [Labeler; 6] = Default::default();
        let mut ofd_ids = Labeler::default();
        let mut frames = Labeler::default();
        let mut ns_labels: [Labeler; 8] = Default::default();
        for t in &mut self.tasks {
            if let Some(ns) = &mut t.namespaces {
                for (f, l) in ns.fields_mut().into_iter().zip(ns_labels.iter_mut()) {
                    *f = l.label(*f);
                }
            }
            if let Some(s) = &mut t.sharing {
                let fields = [
                    &mut s.vm,
                    &mut s.files,
                    &mut s.fs,
                    &mut s.sighand,
                    &mut s.io,
                    &mut s.sysvsem,
                ];
                for (f, l) in fields.into_iter().zip(classes.iter_mut()) {
                    if let Some(v) = f {
                        *v = l.label(*v);
                    }
                }
            }
            t.fds.sort_by_key(|e| e.fd);
            for e in &mut t.fds {
                e.ofd = ofd_ids.label(e.ofd);
            }
            t.memory.sort_by_key(|r| r.region);
            for r in &mut t.memory {
                for p in &mut r.pages {
                    if let Some(Frame::Class(c)) = &mut p.frame {
                        *c = frames.label(*c);
                    }
                }
            }
        }
        let mut ofds: Vec<Ofd> = self
            .ofds
            .iter()
            .filter_map(|o| ofd_ids.0.get(&o.id).map(|&id| Ofd { id, ..*o }))
            .collect();
        ofds.sort_by_key(|o| o.id);
        ofds.dedup_by_key(|o| o.id);
        let mut inode_ids = Labeler::default();
        for o in &mut ofds {
            o.inode = inode_ids.label(o.inode);
        }
        let mut inodes: Vec<Inode> = self
            .inodes
            .iter()
            .filter_map(|i| inode_ids.0.get(&i.id).map(|&id| Inode { id, ..*i }))
            .collect();
        inodes.sort_by_key(|i| i.id);
        inodes.dedup_by_key(|i| i.id);
        let mut locks: Vec<HeldLock> = self
            .locks
            .iter()
            .filter_map(|l| {
                inode_ids
                    .0
                    .get(&l.inode)
                    .map(|&inode| HeldLock { inode, ..*l })
            })
            .collect();
        locks.sort();
        self.ofds = ofds;
        self.inodes = inodes;
        self.locks = locks;
    }

    /// The view of one task, if it has not been reaped.
    pub fn task(&self, t: TaskId) -> Option<&TaskView> {
        self.tasks.iter().find(|v| v.task == t)
    }
}

/// Semantic observations are what the ABI promises a program; internal ones show how the
/// kernel implements it (DESIGN §4).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// What a program can rely on.
    Semantic,
    /// How Linux implements it.
    Internal,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Semantic => "semantic",
            Level::Internal => "internal",
        })
    }
}

impl Snapshot {
    /// Blanks what `caps` cannot observe, so a snapshot from a backend that sees more compares
    /// equal on the rest. Without kcmp each fd gets a description of its own (sharing cannot be
    /// told) that keeps its offset and flags. Re-canonicalizes.
    pub fn mask(&mut self, caps: crate::profile::Capabilities) {
        let mut split_ofds: Vec<Ofd> = Vec::new();
        if !caps.orphans {
            // Adopted by a reaper outside the backend, which may have reaped them already.
            self.tasks
                .retain(|t| t.task == 0 || t.parent != Parent::Reaper);
        }
        for t in &mut self.tasks {
            if !caps.exit_signal {
                t.exit_signal = None;
            }
            if !caps.pagemap {
                // Read through /proc/PID/mem, like page values.
                t.tid_words.clear();
            }
            if !caps.signals {
                t.signals = None;
            }
            if !caps.fs_context {
                t.fs_context = None;
            }
            if !caps.namespaces {
                t.namespaces = None;
            }
            if !caps.kcmp {
                t.sharing = None;
                for e in &mut t.fds {
                    if let Some(o) = self.ofds.iter().find(|o| o.id == e.ofd) {
                        let id = (u64::from(t.task) << 32) | e.fd as u32 as u64;
                        split_ofds.push(Ofd { id, ..*o });
                        e.ofd = id;
                    }
                }
            }
            for r in &mut t.memory {
                for p in &mut r.pages {
                    if !caps.pagemap {
                        p.present = false;
                        p.exclusive = false;
                        p.value = None;
                    }
                    if !caps.pfn || !caps.pagemap {
                        p.frame = None;
                    }
                }
            }
        }
        if !caps.kcmp {
            self.ofds = split_ofds;
        }
        if !caps.locks {
            self.locks.clear();
        }
        if !caps.pipe_size {
            for i in &mut self.inodes {
                if i.kind == InodeKind::Pipe {
                    i.size = None;
                }
            }
        }
        self.canonicalize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reports tag each difference with its level in these words.
    #[test]
    fn levels_print_as_reports_name_them() {
        assert_eq!(Level::Semantic.to_string(), "semantic");
        assert_eq!(Level::Internal.to_string(), "internal");
    }

    fn task(label: TaskId, parent: Parent) -> TaskView {
        TaskView {
            task: label,
            parent,
            state: TaskState::Live,
            exit_signal: None,
            sharing: None,
            thread_of: None,
            fds: vec![],
            memory: vec![],
            tid_words: vec![],
            signals: None,
            fs_context: None,
            namespaces: None,
            group: None,
        }
    }

    /// Frame classes need both pagemap and PFNs: without pagemap a frame is dropped even
    /// where PFNs would be readable.
    #[test]
    fn mask_drops_frames_without_pagemap_even_with_pfns() {
        use crate::profile::Capabilities;
        let page = Page {
            mapped: true,
            present: true,
            exclusive: true,
            value: Some(7),
            frame: Some(Frame::Class(3)),
        };
        let mut t = task(0, Parent::Reaper);
        t.memory = vec![RegionView {
            region: crate::op::Region::AnonPrivate,
            pages: vec![page],
        }];
        let snap = Snapshot {
            tasks: vec![t],
            ..Snapshot::default()
        };
        let mut no_pagemap = snap.clone();
        no_pagemap.mask(Capabilities {
            pagemap: false,
            ..Capabilities::ALL
        });
        let p = no_pagemap.tasks[0].memory[0].pages[0];
        assert_eq!((p.present, p.value, p.frame), (false, None, None));
        let mut no_pfn = snap.clone();
        no_pfn.mask(Capabilities {
            pfn: false,
            ..Capabilities::ALL
        });
        let p = no_pfn.tasks[0].memory[0].pages[0];
        assert_eq!((p.present, p.value, p.frame), (true, Some(7), None));
    }

    /// Every `CLD_*` code reads back as itself; anything else is no code.
    #[test]
    fn child_codes_come_from_their_kernel_numbers() {
        let all = [
            ChildCode::Exited,
            ChildCode::Killed,
            ChildCode::Dumped,
            ChildCode::Trapped,
            ChildCode::Stopped,
            ChildCode::Continued,
        ];
        for (i, c) in all.iter().enumerate() {
            assert_eq!(ChildCode::from_raw(i as i32 + 1), Some(*c));
        }
        assert_eq!(ChildCode::from_raw(0), None);
        assert_eq!(ChildCode::from_raw(7), None);
    }

    /// Each capability a backend lacks removes exactly its own observations; with all of
    /// them a snapshot is unchanged.
    #[test]
    fn mask_drops_exactly_what_each_missing_capability_observes() {
        use crate::profile::Capabilities;
        let mut t = task(0, Parent::Reaper);
        t.exit_signal = Some(Signal::SIGCHLD);
        t.signals = Some(SignalView::default());
        t.fs_context = Some(FsView {
            cwd: crate::op::CaseDir::Case,
            umask: 0o22,
        });
        t.namespaces = Some(NsClasses::default());
        let full = Snapshot {
            tasks: vec![t],
            ..Snapshot::default()
        };
        let mut same = full.clone();
        same.mask(Capabilities::ALL);
        assert_eq!(same, full);
        type Pick = fn(&TaskView) -> bool;
        type Deny = fn(&mut Capabilities);
        let fields: [(&str, Deny, Pick); 4] = [
            (
                "exit_signal",
                |c| c.exit_signal = false,
                |t| t.exit_signal.is_some(),
            ),
            ("signals", |c| c.signals = false, |t| t.signals.is_some()),
            (
                "fs_context",
                |c| c.fs_context = false,
                |t| t.fs_context.is_some(),
            ),
            (
                "namespaces",
                |c| c.namespaces = false,
                |t| t.namespaces.is_some(),
            ),
        ];
        for (name, deny, _) in fields {
            let mut caps = Capabilities::ALL;
            deny(&mut caps);
            let mut s = full.clone();
            s.mask(caps);
            for (other, _, present) in fields {
                assert_eq!(
                    present(&s.tasks[0]),
                    other != name,
                    "without {name}: {other}"
                );
            }
        }
    }

    #[test]
    fn a_signal_set_is_empty_only_without_signals() {
        assert!(SigSet::default().is_empty());
        assert!(!SigSet(1 << 9).is_empty());
    }

    /// Without kcmp two fds of one description cannot be told to share it: each fd gets a
    /// description of its own, with the same offset, flags and inode.
    #[test]
    fn mask_without_kcmp_gives_each_fd_its_own_description() {
        use crate::profile::Capabilities;
        let mut t = task(0, Parent::Reaper);
        let fd = |fd| FdEntry {
            fd,
            cloexec: false,
            ofd: 0,
            unobserved: false,
        };
        t.fds = vec![fd(3), fd(4)];
        // Another task with the same fd number: its own description too.
        let mut t1 = task(1, Parent::Task(0));
        t1.fds = vec![fd(3)];
        let ofd = Ofd {
            id: 0,
            inode: 0,
            offset: 5,
            access: crate::op::Access::RdWr,
            append: false,
            nonblock: false,
        };
        let mut s = Snapshot {
            tasks: vec![t, t1],
            ofds: vec![ofd],
            ..Snapshot::default()
        };
        let mut caps = Capabilities::ALL;
        caps.kcmp = false;
        s.mask(caps);
        let mut ids: Vec<u64> = s.tasks[0].fds.iter().map(|e| e.ofd).collect();
        ids.push(s.tasks[1].fds[0].ofd);
        assert_ne!(ids[0], ids[1]);
        assert_ne!(ids[0], ids[2], "t0's fd 3 and t1's fd 3");
        for id in ids {
            let o = s.ofds.iter().find(|o| o.id == id).expect("its description");
            assert_eq!(Ofd { id: 0, ..*o }, ofd);
        }
    }

    /// Without a subreaper, the tasks the reaper outside adopted are left out (t0, the
    /// lab's own child, and children of tasks stay).
    #[test]
    fn mask_without_orphans_drops_the_outside_reapers_children_but_t0() {
        let mut s = Snapshot {
            tasks: vec![
                task(0, Parent::Reaper),
                task(1, Parent::Reaper),
                task(2, Parent::Task(0)),
            ],
            ..Snapshot::default()
        };
        let mut kept = s.clone();
        kept.mask(crate::profile::Capabilities::ALL);
        assert_eq!(kept.tasks.len(), 3);
        s.mask(crate::profile::Capabilities {
            orphans: false,
            ..crate::profile::Capabilities::ALL
        });
        let labels: Vec<TaskId> = s.tasks.iter().map(|t| t.task).collect();
        assert_eq!(labels, vec![0, 2]);
    }

    fn page(frame: u64) -> Page {
        Page {
            mapped: true,
            present: true,
            exclusive: false,
            value: Some(1),
            frame: Some(Frame::Class(frame)),
        }
    }

    #[test]
    fn canonicalize_is_idempotent_and_ignores_raw_numbers() {
        let mk = |pfn_a: u64, pfn_b: u64, ofd: u64, ino: u64| {
            let mut s = Snapshot {
                tasks: vec![TaskView {
                    task: 0,
                    parent: Parent::Reaper,
                    state: TaskState::Live,
                    exit_signal: Some(Signal::SIGCHLD),
                    sharing: None,
                    thread_of: None,
                    fds: vec![FdEntry {
                        fd: 3,
                        cloexec: false,
                        ofd,
                        unobserved: false,
                    }],
                    memory: vec![RegionView {
                        region: Region::AnonPrivate,
                        pages: vec![page(pfn_a), page(pfn_b), page(pfn_a)],
                    }],
                    tid_words: vec![],
                    signals: None,
                    fs_context: None,
                    namespaces: None,
                    group: None,
                }],
                ofds: vec![Ofd {
                    id: ofd,
                    inode: ino,
                    offset: 0,
                    access: crate::op::Access::RdOnly,
                    append: false,
                    nonblock: false,
                }],
                inodes: vec![Inode {
                    id: ino,
                    kind: InodeKind::Pipe,
                    size: Some(0),
                }],
                locks: vec![
                    HeldLock {
                        inode: ino,
                        kind: LockKind::Flock,
                        ty: crate::op::LockType::Wr,
                        start: 0,
                        end: None,
                        pid: Some(0),
                    },
                    // On an inode no fd reaches: dropped.
                    HeldLock {
                        inode: ino + 1,
                        kind: LockKind::Posix,
                        ty: crate::op::LockType::Rd,
                        start: 0,
                        end: Some(1),
                        pid: Some(0),
                    },
                ],
            };
            s.canonicalize();
            s
        };
        let a = mk(900, 17, 0xffff_8888, 12345);
        let b = mk(5, 6, 1, 2);
        assert_eq!(a, b);
        let mut c = a.clone();
        c.canonicalize();
        assert_eq!(a, c);
        let pages = &a.tasks[0].memory[0].pages;
        assert_eq!(pages[0].frame, Some(Frame::Class(0)));
        assert_eq!(pages[1].frame, Some(Frame::Class(1)));
        assert_eq!(pages[2].frame, Some(Frame::Class(0)));
    }

    #[test]
    fn errno_serializes_by_name_and_accepts_numbers() {
        assert_eq!(
            serde_json::to_string(&Outcome::Err(Errno::EBADF)).unwrap(),
            r#"{"err":"EBADF"}"#
        );
        let o: Outcome = serde_json::from_str(r#"{"err":9}"#).unwrap();
        assert_eq!(o, Outcome::Err(Errno::EBADF));
        assert!(serde_json::from_str::<Outcome>(r#"{"err":"EBOGUS"}"#).is_err());
    }
}
