//! The op language: a case is a configuration plus a sequence of ops, each run by one task.
//!
//! Tasks are named by labels in creation order (`0` is `t0`, the root task; every successful
//! fork creates the next label). File descriptors appear raw because "lowest free fd" is part
//! of the semantics under test. Everything here is plain data with a stable JSON form: it is the
//! wire format of case files, traces and the backend protocol.

use crate::obs::{Errno, Signal};
pub use crate::timer::{Itimer, TimerClock, TimerNotify, TimerReport};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A task label: `0` is the root task `t0`, then one per successful fork, in creation order.
pub type TaskId = u32;

/// A raw file descriptor number as the program sees it.
pub type Fd = i32;

/// The four memory regions every case maps before its first op (DESIGN §3), and the slot
/// where `mmap` ops place mappings of their own ([`Region::Mapped`]).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    /// `MAP_PRIVATE | MAP_ANONYMOUS`.
    AnonPrivate,
    /// `MAP_SHARED | MAP_ANONYMOUS` (shmem).
    AnonShared,
    /// `MAP_PRIVATE` over the case's `data` file.
    FilePrivate,
    /// `MAP_SHARED` over the case's `data` file.
    FileShared,
    /// The mapping slot: [`SLOT_PAGES`] pages where nothing is mapped at case start, far from
    /// the four regions, where [`OpKind::Mmap`], [`OpKind::Munmap`] and [`OpKind::Mprotect`]
    /// work. Snapshots leave it out (its pages are observed by the ops that touch them).
    Mapped,
}

/// Pages of the mapping slot ([`Region::Mapped`]) the mapping ops may name.
pub const SLOT_PAGES: u32 = 16;

/// The kind of a new mapping an [`OpKind::Mmap`] makes: anonymous, private or shared.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum MapKind {
    /// `MAP_PRIVATE | MAP_ANONYMOUS`.
    #[default]
    AnonPrivate,
    /// `MAP_SHARED | MAP_ANONYMOUS`: a new shmem object of its own, shared with the fork
    /// children made after the mmap only.
    AnonShared,
}

impl MapKind {
    /// The region whose kind of memory the mapping is.
    pub fn region(self) -> Region {
        match self {
            MapKind::AnonPrivate => Region::AnonPrivate,
            MapKind::AnonShared => Region::AnonShared,
        }
    }
}

/// The target of an [`OpKind::Mremap`] move.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MremapTo {
    /// The address area of the new range.
    pub region: Region,
    /// Its first page.
    pub page: u32,
    /// `MREMAP_FIXED` alone, without `MREMAP_MAYMOVE` (EINVAL).
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_maymove: bool,
}

/// The protection of a mapping (`PROT_*`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum Prot {
    /// `PROT_READ | PROT_WRITE`.
    #[default]
    ReadWrite,
    /// `PROT_READ`: a store is SIGSEGV.
    Read,
    /// `PROT_NONE`: any access is SIGSEGV.
    None,
}

impl Prot {
    /// The `PROT_*` bits.
    pub fn bits(self) -> u64 {
        match self {
            Prot::ReadWrite => 3,
            Prot::Read => 1,
            Prot::None => 0,
        }
    }

    /// Whether it is the default, `PROT_READ | PROT_WRITE`.
    pub fn is_default(&self) -> bool {
        *self == Prot::ReadWrite
    }
}

impl Region {
    /// All regions in their fixed traversal order.
    pub const ALL: [Region; 4] = [
        Region::AnonPrivate,
        Region::AnonShared,
        Region::FilePrivate,
        Region::FileShared,
    ];

    /// Position in [`Region::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// True for the two regions backed by the `data` file.
    pub fn is_file(self) -> bool {
        matches!(self, Region::FilePrivate | Region::FileShared)
    }

    /// True for the two `MAP_SHARED` regions.
    pub fn is_shared(self) -> bool {
        matches!(self, Region::AnonShared | Region::FileShared)
    }
}

/// `madvise(2)` advice values the op language covers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Advice {
    /// `MADV_DONTFORK`: the range is not mapped in a fork child.
    DontFork,
    /// `MADV_DOFORK`: undoes `MADV_DONTFORK`.
    DoFork,
    /// `MADV_WIPEONFORK`: a fork child sees the range zero-filled (private anonymous only).
    WipeOnFork,
    /// `MADV_KEEPONFORK`: undoes `MADV_WIPEONFORK`.
    KeepOnFork,
    /// `MADV_DONTNEED`: drop the range's page-table entries.
    DontNeed,
}

/// The small fixed set of file names a case can open, all inside the case directory.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum FileName {
    /// The file behind the two file-backed regions; exists at setup with `pages` pages.
    Data,
    /// Absent at setup.
    A,
    /// Absent at setup.
    B,
}

impl FileName {
    /// Every name, in traversal order.
    pub const ALL: [FileName; 3] = [FileName::Data, FileName::A, FileName::B];

    /// The name as it appears in the case directory.
    pub fn as_str(self) -> &'static str {
        match self {
            FileName::Data => "data",
            FileName::A => "a",
            FileName::B => "b",
        }
    }
}

/// Access mode of `open(2)`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// `O_RDONLY`
    #[default]
    RdOnly,
    /// `O_WRONLY`
    WrOnly,
    /// `O_RDWR`
    RdWr,
}

impl Access {
    /// Whether `read(2)` is permitted on a description opened with this mode.
    pub fn readable(self) -> bool {
        matches!(self, Access::RdOnly | Access::RdWr)
    }
    /// Whether `write(2)` is permitted on a description opened with this mode.
    pub fn writable(self) -> bool {
        matches!(self, Access::WrOnly | Access::RdWr)
    }
}

/// Flags of `open(2)`; every boolean defaults to false in JSON.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(default)]
pub struct OpenFlags {
    /// Access mode.
    pub access: Access,
    /// `O_CREAT` (mode 0600).
    pub creat: bool,
    /// `O_EXCL`.
    pub excl: bool,
    /// `O_TRUNC`.
    pub trunc: bool,
    /// `O_APPEND`.
    pub append: bool,
    /// `O_CLOEXEC`.
    pub cloexec: bool,
    /// `O_NONBLOCK`.
    pub nonblock: bool,
}

/// `lseek(2)` whence.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Whence {
    /// `SEEK_SET`
    Set,
    /// `SEEK_CUR`
    Cur,
    /// `SEEK_END`
    End,
}

/// The `fcntl(2)` commands the op language covers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum FcntlCmd {
    /// `F_GETFD`: returns 1 when `FD_CLOEXEC` is set.
    GetFd,
    /// `F_SETFD`
    SetFd {
        /// New `FD_CLOEXEC` value.
        cloexec: bool,
    },
    /// `F_GETFL`: returns access mode | `O_APPEND` | `O_NONBLOCK` (Linux numeric values).
    GetFl,
    /// `F_SETFL`: only `O_APPEND` and `O_NONBLOCK` of these are changeable.
    SetFl {
        /// `O_APPEND`
        append: bool,
        /// `O_NONBLOCK`
        nonblock: bool,
    },
    /// `F_DUPFD`: lowest free fd ≥ `min`.
    DupFd {
        /// Lowest acceptable fd.
        min: Fd,
    },
    /// `F_DUPFD_CLOEXEC`
    DupFdCloexec {
        /// Lowest acceptable fd.
        min: Fd,
    },
    /// `F_SETLK`: a process-associated (POSIX) record lock, owned by the fd table.
    SetLk {
        /// The `struct flock` argument.
        lock: FlockArg,
    },
    /// `F_GETLK`: the first lock of another owner that would conflict with `lock`.
    GetLk {
        /// The `struct flock` argument.
        lock: FlockArg,
    },
    /// `F_OFD_SETLK`: a record lock owned by the open file description.
    OfdSetLk {
        /// The `struct flock` argument.
        lock: FlockArg,
    },
    /// `F_OFD_GETLK`: as `F_GETLK` with the description as the owner (`un` asks for the
    /// description's own lock over the range).
    OfdGetLk {
        /// The `struct flock` argument.
        lock: FlockArg,
    },
}

impl FcntlCmd {
    /// The lock argument of the record-lock commands.
    pub fn lock(&self) -> Option<&FlockArg> {
        match self {
            FcntlCmd::SetLk { lock }
            | FcntlCmd::GetLk { lock }
            | FcntlCmd::OfdSetLk { lock }
            | FcntlCmd::OfdGetLk { lock } => Some(lock),
            _ => None,
        }
    }
}

/// `l_type` of a `struct flock`, and the type of a held record lock.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum LockType {
    /// `F_RDLCK`: shared.
    Rd,
    /// `F_WRLCK`: exclusive.
    Wr,
    /// `F_UNLCK`.
    Un,
}

impl fmt::Display for LockType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LockType::Rd => "RD",
            LockType::Wr => "WR",
            LockType::Un => "UN",
        })
    }
}

/// The `struct flock` of a record-lock command, with `l_whence = SEEK_SET`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlockArg {
    /// `l_type`.
    #[serde(rename = "type")]
    pub ty: LockType,
    /// `l_start` (from the start of the file).
    pub start: i64,
    /// `l_len`: 0 means "to the end of the file, however far it grows"; negative covers
    /// `start + len .. start`.
    pub len: i64,
    /// `l_pid` on input: the OFD commands require 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pid: i32,
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

impl fmt::Display for FlockArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{} start={} len={}", self.ty, self.start, self.len)?;
        if self.pid != 0 {
            write!(f, " pid={}", self.pid)?;
        }
        write!(f, "}}")
    }
}

/// The operation of `flock(2)`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum FlockOp {
    /// `LOCK_SH`
    Sh,
    /// `LOCK_EX`
    Ex,
    /// `LOCK_UN`
    Un,
}

/// Which child a `wait` op waits for.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum WaitTarget {
    /// `wait4(-1, ...)`
    Any,
    /// `wait4(pid of this label, ...)`
    Task(TaskId),
    /// `wait4(0, ...)`: any child in the caller's process group.
    OwnGroup,
    /// `wait4(-pgid, ...)` with the pid of this label as the process group id: any child in
    /// that process group.
    Group(TaskId),
}

/// The disposition a `sigaction` op installs (sigaction(2)).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SigAction {
    /// `SIG_DFL`.
    Default,
    /// `SIG_IGN`.
    Ignore,
    /// A handler that does nothing (`SA_RESTART`, empty `sa_mask`): the signal is caught.
    Handler,
}

/// The `sa_flags` bits of a `sigaction` op that change how a parent hears of its children
/// (sigaction(2)); both default to false in JSON.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(default)]
pub struct SaFlags {
    /// `SA_NOCLDSTOP`: no SIGCHLD when a child stops or continues (SIGCHLD only).
    #[serde(skip_serializing_if = "is_false")]
    pub nocldstop: bool,
    /// `SA_NOCLDWAIT`: children are released at exit instead of becoming zombies
    /// (SIGCHLD only).
    #[serde(skip_serializing_if = "is_false")]
    pub nocldwait: bool,
}

impl SaFlags {
    /// Neither flag.
    pub fn is_empty(&self) -> bool {
        *self == SaFlags::default()
    }
}

/// How `sigprocmask` combines its set with the blocked mask (sigprocmask(2)).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum MaskHow {
    /// `SIG_BLOCK`: add the set.
    Block,
    /// `SIG_UNBLOCK`: remove the set.
    Unblock,
    /// `SIG_SETMASK`: the set becomes the mask.
    SetMask,
}

/// The small fixed set of directories a `chdir` op names, all given as paths inside the case
/// directory (the lab passes absolute paths, so the result never depends on the current
/// directory).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseDir {
    /// The case directory itself (every task's initial cwd).
    #[serde(rename = "case")]
    Case,
    /// `d`, a subdirectory the case setup creates.
    #[serde(rename = "d")]
    D,
    /// `d/e`, a subdirectory of `d` the case setup creates.
    #[serde(rename = "d/e")]
    DE,
    /// `missing`, which never exists: ENOENT.
    #[serde(rename = "missing")]
    Missing,
    /// `data`, a regular file: ENOTDIR.
    #[serde(rename = "data")]
    Data,
}

impl CaseDir {
    /// Every name, in traversal order.
    pub const ALL: [CaseDir; 5] = [
        CaseDir::Case,
        CaseDir::D,
        CaseDir::DE,
        CaseDir::Missing,
        CaseDir::Data,
    ];

    /// The path relative to the case directory (empty for the case directory itself).
    pub fn rel_path(self) -> &'static str {
        match self {
            CaseDir::Case => "",
            CaseDir::D => "d",
            CaseDir::DE => "d/e",
            CaseDir::Missing => "missing",
            CaseDir::Data => "data",
        }
    }

    /// The path relative to the case directory, `.` for the case directory itself.
    pub fn rel_path_or_dot(self) -> &'static str {
        match self {
            CaseDir::Case => ".",
            other => other.rel_path(),
        }
    }

    /// Whether the case setup makes this a directory.
    pub fn is_dir(self) -> bool {
        matches!(self, CaseDir::Case | CaseDir::D | CaseDir::DE)
    }
}

/// The small fixed set of host names a `sethostname` op may set.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum HostName {
    /// `alpha`
    Alpha,
    /// `beta`
    Beta,
}

impl HostName {
    /// Every name.
    pub const ALL: [HostName; 2] = [HostName::Alpha, HostName::Beta];

    /// The name as `uname(2)` reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            HostName::Alpha => "alpha",
            HostName::Beta => "beta",
        }
    }
}

/// The `prctl(2)` options the op language covers. A `get_*` option's outcome is the value
/// the task reads back (`Ret(value)`), whether the kernel returns it or writes it through
/// `arg2`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PrctlOption {
    /// `PR_SET_CHILD_SUBREAPER, arg`: non-zero makes the caller's process a subreaper.
    SetChildSubreaper,
    /// `PR_GET_CHILD_SUBREAPER, &int`: 1 when the caller's process is a subreaper.
    GetChildSubreaper,
    /// `PR_SET_PDEATHSIG, arg`: the signal the calling thread gets when its parent thread
    /// exits (0 clears it).
    SetPdeathsig,
    /// `PR_GET_PDEATHSIG, &int`: the calling thread's parent-death signal.
    GetPdeathsig,
    /// `PR_SET_NO_NEW_PRIVS, arg`: sets the calling thread's `no_new_privs` (only `arg` 1
    /// is valid; it is never cleared).
    SetNoNewPrivs,
    /// `PR_GET_NO_NEW_PRIVS`: 1 when the calling thread has `no_new_privs` (the return value).
    GetNoNewPrivs,
    /// `PR_GET_SECCOMP`: the calling thread's seccomp mode (the return value): 0, or 2 under
    /// a filter.
    GetSeccomp,
}

impl PrctlOption {
    /// Every option, in a fixed order.
    pub const ALL: [PrctlOption; 7] = [
        PrctlOption::SetChildSubreaper,
        PrctlOption::GetChildSubreaper,
        PrctlOption::SetPdeathsig,
        PrctlOption::GetPdeathsig,
        PrctlOption::SetNoNewPrivs,
        PrctlOption::GetNoNewPrivs,
        PrctlOption::GetSeccomp,
    ];

    /// The `PR_*` name.
    pub fn name(self) -> &'static str {
        match self {
            PrctlOption::SetChildSubreaper => "PR_SET_CHILD_SUBREAPER",
            PrctlOption::GetChildSubreaper => "PR_GET_CHILD_SUBREAPER",
            PrctlOption::SetPdeathsig => "PR_SET_PDEATHSIG",
            PrctlOption::GetPdeathsig => "PR_GET_PDEATHSIG",
            PrctlOption::SetNoNewPrivs => "PR_SET_NO_NEW_PRIVS",
            PrctlOption::GetNoNewPrivs => "PR_GET_NO_NEW_PRIVS",
            PrctlOption::GetSeccomp => "PR_GET_SECCOMP",
        }
    }

    /// Whether the option reads a value back (its `arg` is ignored).
    pub fn is_get(self) -> bool {
        matches!(
            self,
            PrctlOption::GetChildSubreaper
                | PrctlOption::GetPdeathsig
                | PrctlOption::GetNoNewPrivs
                | PrctlOption::GetSeccomp
        )
    }
}

/// The flags of an `unshare` op (unshare(2)), one `CLONE_*` flag each. The op language leaves
/// out the flags that change the caller's credentials (`CLONE_NEWUSER`), `CLONE_NEWTIME`, and
/// `CLONE_NEWNET`, whose teardown is asynchronous. `CLONE_NEWPID` is in: the caller stays in
/// its pid namespace, its next child is the init of the new one.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(default)]
pub struct UnshareFlags {
    /// `CLONE_FILES`: a private copy of a shared fd table.
    #[serde(skip_serializing_if = "is_false")]
    pub files: bool,
    /// `CLONE_FS`: a private copy of a shared cwd/umask/root.
    #[serde(skip_serializing_if = "is_false")]
    pub fs: bool,
    /// `CLONE_SYSVSEM`: leave the SysV semaphore undo list.
    #[serde(skip_serializing_if = "is_false")]
    pub sysvsem: bool,
    /// `CLONE_NEWNS` (implies `CLONE_FS`).
    #[serde(skip_serializing_if = "is_false")]
    pub newns: bool,
    /// `CLONE_NEWUTS`.
    #[serde(skip_serializing_if = "is_false")]
    pub newuts: bool,
    /// `CLONE_NEWIPC`.
    #[serde(skip_serializing_if = "is_false")]
    pub newipc: bool,
    /// `CLONE_THREAD`: allowed only when the caller's thread group has one thread.
    #[serde(skip_serializing_if = "is_false")]
    pub thread: bool,
    /// `CLONE_SIGHAND` (implies `CLONE_THREAD`): allowed only with an unshared table.
    #[serde(skip_serializing_if = "is_false")]
    pub sighand: bool,
    /// `CLONE_VM` (implies `CLONE_SIGHAND`): allowed only with an unshared address space.
    #[serde(skip_serializing_if = "is_false")]
    pub vm: bool,
    /// `CLONE_NEWPID`: a new pid namespace for the caller's later children (not for the
    /// caller itself).
    #[serde(skip_serializing_if = "is_false")]
    pub newpid: bool,
}

impl UnshareFlags {
    /// The `CLONE_*` bits.
    pub fn clone_flags(self) -> CloneFlags {
        let mut f = CloneFlags::EMPTY;
        for (on, bit) in [
            (self.files, CloneFlags::FILES),
            (self.fs, CloneFlags::FS),
            (self.sysvsem, CloneFlags::SYSVSEM),
            (self.newns, CloneFlags::NEWNS),
            (self.newuts, CloneFlags::NEWUTS),
            (self.newipc, CloneFlags::NEWIPC),
            (self.thread, CloneFlags::THREAD),
            (self.sighand, CloneFlags::SIGHAND),
            (self.vm, CloneFlags::VM),
            (self.newpid, CloneFlags::NEWPID),
        ] {
            if on {
                f = f.with(bit);
            }
        }
        f
    }
}

/// What one op does. `wait`, reads of an empty pipe and the like can block; a blocked task
/// reports [`crate::Outcome::Blocked`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpKind {
    /// `fork(2)`: on success the child is the next task label.
    Fork,
    /// `exit_group(code)`, or with `thread` the single-thread `exit(code)` (exit(2)).
    Exit {
        /// Exit code (low 8 bits are what a waiter sees).
        code: i32,
        /// `SYS_exit` instead of `SYS_exit_group`: only the calling thread ends.
        #[serde(default, skip_serializing_if = "is_false")]
        thread: bool,
    },
    /// `wait4(target, &status, options, NULL)`.
    Wait {
        /// Which child.
        target: WaitTarget,
        /// `WNOHANG`, `__WCLONE`, `__WALL`.
        #[serde(default, skip_serializing_if = "WaitOptions::is_empty")]
        options: WaitOptions,
    },
    /// `vfork(2)`: the child shares the address space and the parent is suspended until the
    /// child exits (kernel/fork.c: `SYSCALL_DEFINE0(vfork)` = `CLONE_VFORK | CLONE_VM`,
    /// `SIGCHLD`). The outcome is the child's label as soon as the child exists; the parent
    /// stays `blocked` until the child exits.
    Vfork,
    /// `clone(2)` or `clone3(2)` with named flags; see [`CloneOp`].
    Clone(CloneOp),
    /// `execve(2)` of the agent itself: the task keeps its pid, parent and fds without
    /// `FD_CLOEXEC`, gets an address space without the case's regions, and keeps running
    /// the agent (a backend re-executes its own agent and reattaches it to the task's
    /// label). Returns 0 to the new program.
    Exec,
    /// Load the byte at offset 0 of a region page.
    MemRead {
        /// Region.
        region: Region,
        /// Page index within the region.
        page: u32,
    },
    /// Store `byte` at offset 0 of a region page.
    MemWrite {
        /// Region.
        region: Region,
        /// Page index within the region.
        page: u32,
        /// Value stored.
        byte: u8,
    },
    /// `madvise(region + first page, count pages, advice)`.
    Madvise {
        /// Region.
        region: Region,
        /// First page of the range.
        first: u32,
        /// Number of pages.
        count: u32,
        /// Advice.
        advice: Advice,
    },
    /// `openat(case dir, name, flags, 0600)`.
    Open {
        /// File name.
        file: FileName,
        /// Flags.
        flags: OpenFlags,
    },
    /// `close(fd)`.
    Close {
        /// fd
        fd: Fd,
    },
    /// `dup(fd)`.
    Dup {
        /// fd
        fd: Fd,
    },
    /// `dup2(old, new)`.
    Dup2 {
        /// Source fd.
        old: Fd,
        /// Target fd.
        new: Fd,
    },
    /// `dup3(old, new, cloexec ? O_CLOEXEC : 0)`.
    Dup3 {
        /// Source fd.
        old: Fd,
        /// Target fd.
        new: Fd,
        /// `O_CLOEXEC`.
        cloexec: bool,
    },
    /// `read(fd, buf, len)`.
    Read {
        /// fd
        fd: Fd,
        /// Buffer length (at most 64).
        len: u32,
    },
    /// `write(fd, data, data.len())`.
    Write {
        /// fd
        fd: Fd,
        /// Bytes written (at most 64).
        data: Vec<u8>,
    },
    /// `pread(fd, buf, len, offset)`.
    Pread {
        /// fd
        fd: Fd,
        /// Buffer length (at most 64).
        len: u32,
        /// File offset.
        offset: i64,
    },
    /// `pwrite(fd, data, data.len(), offset)`.
    Pwrite {
        /// fd
        fd: Fd,
        /// Bytes written (at most 64).
        data: Vec<u8>,
        /// File offset.
        offset: i64,
    },
    /// `lseek(fd, offset, whence)`.
    Lseek {
        /// fd
        fd: Fd,
        /// Offset.
        offset: i64,
        /// Whence.
        whence: Whence,
    },
    /// `fcntl(fd, cmd, ...)`.
    Fcntl {
        /// fd
        fd: Fd,
        /// Command and argument.
        #[serde(flatten)]
        cmd: FcntlCmd,
    },
    /// `pipe2(fds, flags)`.
    Pipe2 {
        /// `O_CLOEXEC`
        #[serde(default)]
        cloexec: bool,
        /// `O_NONBLOCK`
        #[serde(default)]
        nonblock: bool,
    },
    /// `ftruncate(fd, len)`.
    Ftruncate {
        /// fd
        fd: Fd,
        /// New length.
        len: i64,
    },
    /// `flock(fd, op | (nonblock ? LOCK_NB : 0))`.
    Flock {
        /// fd
        fd: Fd,
        /// Shared, exclusive or unlock.
        op: FlockOp,
        /// `LOCK_NB`: fail with EWOULDBLOCK instead of waiting for a conflicting lock.
        #[serde(default = "yes")]
        nonblock: bool,
    },
    /// `kill(pid of target as the caller sees it, sig)`; `sig` 0 checks existence only.
    Kill {
        /// The task signalled (its thread group: kill(2) sends to the process).
        target: TaskId,
        /// Signal number (any number: out of range is EINVAL).
        sig: Signal,
    },
    /// `rt_sigaction(sig, &act, NULL, 8)`: installs a disposition, returns 0 or an errno.
    Sigaction {
        /// Signal number.
        sig: Signal,
        /// Disposition.
        action: SigAction,
        /// `SA_NOCLDSTOP` / `SA_NOCLDWAIT` in `sa_flags`.
        #[serde(default, skip_serializing_if = "SaFlags::is_empty")]
        flags: SaFlags,
    },
    /// `rt_sigprocmask(how, &set, NULL, 8)`.
    Sigprocmask {
        /// How the set combines with the mask.
        how: MaskHow,
        /// The signals of the set (numbers outside 1..=64 have no bit and are left out).
        set: Vec<Signal>,
    },
    /// `chdir(case directory / dir)`.
    Chdir {
        /// Directory.
        dir: CaseDir,
    },
    /// `umask(mask)`: returns the old mask.
    Umask {
        /// New mask (the kernel keeps the low 9 bits).
        mask: u32,
    },
    /// `sethostname(name, len)`.
    Sethostname {
        /// Host name.
        name: HostName,
    },
    /// `uname(&buf)`: the outcome is the node name (`Outcome::Data`).
    Uname,
    /// `close_range(first, last, flags)`. `last` above 1023 stands for "every fd from
    /// `first` on": a case's fds lie below its `RLIMIT_NOFILE` of 1024, and a backend's own
    /// fds above it are not the case's.
    CloseRange {
        /// First fd.
        first: u32,
        /// Last fd (inclusive).
        last: u32,
        /// `CLOSE_RANGE_CLOEXEC`: set `FD_CLOEXEC` instead of closing.
        #[serde(default, skip_serializing_if = "is_false")]
        cloexec: bool,
        /// `CLOSE_RANGE_UNSHARE`: first give the caller a private copy of a shared table.
        #[serde(default, skip_serializing_if = "is_false")]
        unshare: bool,
    },
    /// `unshare(flags)`.
    Unshare {
        /// The flags.
        flags: UnshareFlags,
    },
    /// `setns(fd, flags)` with a pidfd (Linux 5.8): the caller joins the namespaces of the
    /// pidfd's task that `flags` names (`CLONE_NEW*`; `CLONE_NEWPID` sets the namespace of
    /// its later children), all or none.
    Setns {
        /// The pidfd (any fd: a description that is no pidfd is EINVAL).
        fd: Fd,
        /// The `CLONE_NEW*` flags (any bits: 0 and others are EINVAL).
        flags: CloneFlags,
    },
    /// `seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)` with a filter that makes `umask(2)` fail
    /// with `errno` and allows every other call (the agents never call umask themselves, so
    /// a filtered task keeps working; its `umask` ops show the filter).
    Seccomp {
        /// The error the filtered `umask` returns.
        errno: Errno,
    },
    /// `sigaltstack(set, &old)`: sets the alternate signal stack (`set`, a stack named by
    /// index, see [`crate::altstack`]) or only queries it (no `set`: `ss` is NULL). The
    /// outcome is the old setting, [`crate::Outcome::AltStack`].
    Sigaltstack {
        /// The new `stack_t`, or none to only query.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        set: Option<crate::altstack::AltStackSet>,
    },
    /// `setpriority(PRIO_PROCESS, 0, nice)`: the calling thread's nice (see
    /// [`crate::sched`]); the kernel clamps it to `-20..=19`.
    Setpriority {
        /// The nice value asked for.
        nice: i32,
    },
    /// `getpriority(PRIO_PROCESS, 0)`: the outcome is the calling thread's nice (the system
    /// call's `20 - nice` converted back, as the C library does).
    Getpriority,
    /// `sched_setscheduler(0, policy, {priority})`: `policy` may carry
    /// `SCHED_RESET_ON_FORK` (see [`crate::sched`]).
    SchedSetscheduler {
        /// The policy word.
        policy: u32,
        /// `sched_priority`.
        #[serde(default, skip_serializing_if = "crate::timer::is_zero_u32")]
        priority: u32,
    },
    /// `sched_getscheduler(0)`: the outcome is the policy, with `SCHED_RESET_ON_FORK` when
    /// set.
    SchedGetscheduler,
    /// `sched_setaffinity(0, size, mask)`: the calling thread's CPUs, named by index into
    /// the CPUs a backend's tasks may use (see [`crate::sched`]).
    SchedSetaffinity {
        /// Bit `i`: CPU `i` of the backend's list.
        cpus: u32,
    },
    /// `sched_getaffinity(0, size, mask)`: the outcome is the calling thread's CPUs as such
    /// a mask.
    SchedGetaffinity,
    /// `personality(persona)`: sets the calling thread's execution domain, or only reads it
    /// (`0xffffffff`); the outcome is the old persona.
    Personality {
        /// The new persona.
        persona: u32,
    },
    /// `prlimit(0, resource, set, &old)`: the caller's process's limits of `resource`; the
    /// outcome is the old ones, [`crate::Outcome::Rlimit`]. With `no_old`, `old` is NULL
    /// (what `setrlimit(2)` does) and the outcome is the return value.
    Prlimit {
        /// `RLIMIT_*`.
        resource: u32,
        /// The new limits, or none to only read them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        set: Option<crate::sched::Rlim>,
        /// `old` is NULL.
        #[serde(default, skip_serializing_if = "is_false")]
        no_old: bool,
    },
    /// `prctl(option, arg, 0, 0, 0)`; see [`PrctlOption`].
    Prctl {
        /// The option.
        option: PrctlOption,
        /// `arg2` of a `set_*` option (ignored by the `get_*` ones).
        #[serde(default, skip_serializing_if = "is_zero_i64")]
        arg: i64,
    },
    /// `setpgid(pid, pgid)` (setpgid(2)). Each argument is a task label, passed as that
    /// task's pid in the caller's pid namespace, or absent for 0 (the caller; the target's
    /// own pid). A label of a reaped task, or of one the caller's namespace does not see,
    /// is passed as a pid no task has.
    Setpgid {
        /// The process moved; absent: the caller.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<TaskId>,
        /// The group joined, named by its id (a task's pid); absent: the target's own pid.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pgid: Option<TaskId>,
    },
    /// `getpgid(pid)`: the outcome is the group id ([`crate::Outcome::Pid`]).
    Getpgid {
        /// The task asked about; absent: 0, the caller.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<TaskId>,
    },
    /// `setsid()`: the outcome is the new session id ([`crate::Outcome::Pid`]).
    Setsid,
    /// `getsid(pid)`: the outcome is the session id ([`crate::Outcome::Pid`]).
    Getsid {
        /// The task asked about; absent: 0, the caller.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<TaskId>,
    },
    /// `mmap(slot page first, count pages, prot, MAP_FIXED_NOREPLACE | kind, -1, 0)` in the
    /// mapping slot ([`Region::Mapped`]): returns 0 when the mapping lands at its place,
    /// EEXIST when a page of the range is mapped already.
    Mmap {
        /// First slot page.
        first: u32,
        /// Number of pages.
        count: u32,
        /// Anonymous private or shared.
        #[serde(default, skip_serializing_if = "is_default")]
        map: MapKind,
        /// Protection.
        #[serde(default, skip_serializing_if = "Prot::is_default")]
        prot: Prot,
        /// `MAP_LOCKED`: the mapping is `VM_LOCKED` and populated like `MAP_POPULATE`.
        #[serde(default, skip_serializing_if = "is_false")]
        locked: bool,
    },
    /// `munmap(slot page first, count pages)`.
    Munmap {
        /// First slot page.
        first: u32,
        /// Number of pages.
        count: u32,
    },
    /// `mprotect(slot page first, count pages, prot)`.
    Mprotect {
        /// First slot page.
        first: u32,
        /// Number of pages.
        count: u32,
        /// New protection.
        prot: Prot,
    },
    /// `mremap(region page first, count pages, new_count pages, flags, new_address)`: with
    /// `to` absent, flags 0 (resize in place: shrink, or grow when the pages after the mapping
    /// are free, else ENOMEM); with `to`, `MREMAP_MAYMOVE | MREMAP_FIXED` to that page (the
    /// result is that address, reported as 0). Only forms whose resulting address the caller
    /// names: a kernel-chosen one would leave the case's address areas.
    Mremap {
        /// The address area of the old range (a region or the mapping slot).
        region: Region,
        /// First page of the old range.
        first: u32,
        /// `old_size` in pages (0: the "duplicate a shared mapping" form).
        count: u32,
        /// `new_size` in pages (0 is EINVAL).
        new_count: u32,
        /// Where a move goes; absent: no move.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<MremapTo>,
        /// Pass `old_address + 1` (EINVAL: not page-aligned).
        #[serde(default, skip_serializing_if = "is_false")]
        unaligned: bool,
    },
    /// `mlock(region page first, count pages)`, or with `flags` given
    /// `mlock2(addr, len, flags)` (`MLOCK_ONFAULT` is 1; other bits are EINVAL).
    Mlock {
        /// The address area (a region or the mapping slot).
        region: Region,
        /// First page.
        first: u32,
        /// Number of pages.
        count: u32,
        /// `mlock2`'s flags; absent: plain `mlock`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        flags: Option<u32>,
    },
    /// `munlock(region page first, count pages)`.
    Munlock {
        /// The address area (a region or the mapping slot).
        region: Region,
        /// First page.
        first: u32,
        /// Number of pages.
        count: u32,
    },
    /// `mlockall(flags)`: `MCL_CURRENT` 1, `MCL_FUTURE` 2, `MCL_ONFAULT` 4 (0, other bits or
    /// `MCL_ONFAULT` alone are EINVAL).
    Mlockall {
        /// The flags, raw.
        flags: u32,
    },
    /// `munlockall()`.
    Munlockall,
    /// `kill(-pgid, sig)`, or `kill(0, sig)` for the caller's own group: every process of
    /// the group gets the signal.
    KillPgrp {
        /// The group, named by its id (a task's pid, passed as the caller's pid namespace
        /// numbers it); absent: 0, the caller's group.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pgid: Option<TaskId>,
        /// Signal number (any number: out of range is EINVAL).
        sig: Signal,
    },
    /// `setitimer(which, &{interval, value}, NULL)` with whole seconds.
    Setitimer {
        /// The timer.
        #[serde(default, skip_serializing_if = "is_default")]
        which: Itimer,
        /// `it_value` in seconds; 0 disarms.
        #[serde(default, skip_serializing_if = "crate::timer::is_zero_u32")]
        value_s: u32,
        /// `it_interval` in seconds.
        #[serde(default, skip_serializing_if = "crate::timer::is_zero_u32")]
        interval_s: u32,
    },
    /// `getitimer(which, &v)`: the outcome is [`crate::Outcome::Timer`].
    Getitimer {
        /// The timer.
        #[serde(default, skip_serializing_if = "is_default")]
        which: Itimer,
    },
    /// `alarm(seconds)`: the outcome is [`crate::Outcome::Timer`], armed when an alarm was
    /// pending (alarm(2) returns its seconds left, which depend on when the call ran).
    Alarm {
        /// Seconds; 0 cancels.
        #[serde(default, skip_serializing_if = "crate::timer::is_zero_u32")]
        seconds: u32,
    },
    /// `timer_create(clock, &sigevent, &id)`: the outcome is the id written back (`Ret`).
    TimerCreate {
        /// The clock.
        #[serde(default, skip_serializing_if = "is_default")]
        clock: TimerClock,
        /// The notification.
        #[serde(default, skip_serializing_if = "is_default")]
        notify: TimerNotify,
    },
    /// `timer_settime(timer, 0, &{interval, value}, NULL)` with whole seconds.
    TimerSettime {
        /// The timer id.
        #[serde(default, skip_serializing_if = "is_zero")]
        timer: i32,
        /// `it_value` in seconds; 0 disarms.
        #[serde(default, skip_serializing_if = "crate::timer::is_zero_u32")]
        value_s: u32,
        /// `it_interval` in seconds.
        #[serde(default, skip_serializing_if = "crate::timer::is_zero_u32")]
        interval_s: u32,
    },
    /// `timer_gettime(timer, &v)`: the outcome is [`crate::Outcome::Timer`].
    TimerGettime {
        /// The timer id.
        #[serde(default, skip_serializing_if = "is_zero")]
        timer: i32,
    },
    /// `timer_delete(timer)`.
    TimerDelete {
        /// The timer id.
        #[serde(default, skip_serializing_if = "is_zero")]
        timer: i32,
    },
    /// `waitid(idtype, id, &info, options, NULL)`: the outcome is what the kernel wrote into
    /// the `siginfo_t` ([`crate::Outcome::Waited`]), or 0 with `si_pid` 0 under `WNOHANG`.
    Waitid {
        /// `idtype` and `id`.
        target: WaitidTarget,
        /// Options.
        #[serde(default, skip_serializing_if = "WaitidOptions::is_empty")]
        options: WaitidOptions,
    },
    /// `pidfd_open(pid, flags)` (pidfd_open(2)): the outcome is the new fd, always
    /// `O_CLOEXEC`.
    PidfdOpen {
        /// The task, passed as its pid in the caller's pid namespace (a reaped task's
        /// label, or one the caller cannot see, as a pid no task has).
        target: TaskId,
        /// `PIDFD_NONBLOCK` (`O_NONBLOCK`).
        #[serde(default, skip_serializing_if = "is_false")]
        nonblock: bool,
        /// `PIDFD_THREAD` (`O_EXCL`, Linux 6.9+): a pidfd for the thread, not its group.
        #[serde(default, skip_serializing_if = "is_false")]
        thread: bool,
    },
    /// `pidfd_send_signal(fd, sig, NULL, 0)`.
    PidfdSendSignal {
        /// The pidfd.
        fd: Fd,
        /// Signal number (0 checks only; out of range is EINVAL).
        sig: Signal,
    },
    /// `pidfd_getfd(pidfd, fd, 0)`: a duplicate of the target's `fd`, on the same open file
    /// description, as the caller's lowest free fd with `FD_CLOEXEC`.
    PidfdGetfd {
        /// The caller's pidfd.
        pidfd: Fd,
        /// The fd number in the target's table (below the case's `RLIMIT_NOFILE`).
        fd: Fd,
    },
    /// `poll([{fd, POLLIN}], 1, 0)`: never waits; the outcome is the `revents` the kernel
    /// wrote (`POLLIN` 1, `POLLERR` 8, `POLLHUP` 16, `POLLNVAL` 32; 0 when nothing is ready).
    Poll {
        /// The fd.
        fd: Fd,
    },
}

/// The `idtype` and `id` of a `waitid` op (waitid(2)).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum WaitidTarget {
    /// `P_ALL`: any child.
    All,
    /// `P_PID` with the pid of this label (as the caller's pid namespace numbers it).
    Pid(TaskId),
    /// `P_PGID` with id 0: any child in the caller's process group (Linux 5.4+).
    OwnPgid,
    /// `P_PGID` with the pid of this label as the process group id.
    Pgid(TaskId),
    /// `P_PIDFD` with this fd.
    Pidfd(Fd),
}

/// `waitid(2)` options; every flag defaults to false in JSON.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(default)]
pub struct WaitidOptions {
    /// `WEXITED`: report children that exited.
    #[serde(skip_serializing_if = "is_false")]
    pub exited: bool,
    /// `WSTOPPED`: report children stopped by a signal.
    #[serde(skip_serializing_if = "is_false")]
    pub stopped: bool,
    /// `WCONTINUED`: report stopped children resumed by SIGCONT.
    #[serde(skip_serializing_if = "is_false")]
    pub continued: bool,
    /// `WNOWAIT`: leave the child in a waitable state.
    #[serde(skip_serializing_if = "is_false")]
    pub nowait: bool,
    /// `WNOHANG`: return 0 (with `si_pid` 0) instead of blocking.
    #[serde(skip_serializing_if = "is_false")]
    pub nohang: bool,
    /// `__WCLONE`: only "clone" children (exit signal other than SIGCHLD).
    #[serde(skip_serializing_if = "is_false")]
    pub clone: bool,
    /// `__WALL`: every child whatever its exit signal.
    #[serde(skip_serializing_if = "is_false")]
    pub all: bool,
}

impl WaitidOptions {
    /// No option set (waitid then fails with EINVAL).
    pub fn is_empty(&self) -> bool {
        *self == WaitidOptions::default()
    }
}

fn yes() -> bool {
    true
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

/// `wait4(2)` options.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(default)]
pub struct WaitOptions {
    /// `WNOHANG`: return 0 instead of blocking.
    pub nohang: bool,
    /// `__WCLONE`: wait only for "clone" children (exit signal other than SIGCHLD).
    pub clone: bool,
    /// `__WALL`: wait for every child whatever its exit signal.
    pub all: bool,
    /// `WUNTRACED`: also report children stopped by a signal.
    #[serde(skip_serializing_if = "is_false")]
    pub untraced: bool,
    /// `WCONTINUED`: also report stopped children resumed by SIGCONT.
    #[serde(skip_serializing_if = "is_false")]
    pub continued: bool,
}

impl WaitOptions {
    /// No option set.
    pub fn is_empty(&self) -> bool {
        *self == WaitOptions::default()
    }
}

/// `mlock2` flags as the call reads them.
fn mlock_flags_name(flags: u32) -> String {
    match flags {
        0 => "0".into(),
        1 => "MLOCK_ONFAULT".into(),
        _ => format!("{flags:#x}"),
    }
}

/// `mlockall` flags as the call reads them (unknown bits in hex).
fn mcl_flags_name(flags: u32) -> String {
    let mut parts: Vec<String> = [(1, "MCL_CURRENT"), (2, "MCL_FUTURE"), (4, "MCL_ONFAULT")]
        .iter()
        .filter(|(b, _)| flags & b != 0)
        .map(|(_, n)| (*n).to_string())
        .collect();
    if flags & !7 != 0 {
        parts.push(format!("{:#x}", flags & !7));
    }
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join("|")
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Which system call a [`CloneOp`] uses.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum CloneEntry {
    /// Legacy `clone(flags | exit_signal, stack, parent_tid, child_tid, tls)` (x86_64 order):
    /// only the low 32 bits of the flags exist, the low 8 bits are the exit signal, and the
    /// pidfd is returned through `parent_tid` (kernel/fork.c: `SYSCALL_DEFINE5(clone)`).
    #[default]
    Clone,
    /// `clone3(&clone_args, size)` (kernel/fork.c: `SYSCALL_DEFINE2(clone3)`).
    Clone3,
}

macro_rules! clone_flags {
    ($($name:ident = $val:expr, $s:literal;)*) => {
        /// A set of `CLONE_*` flags (clone(2)), serialized as a list of lower-case names.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
        pub struct CloneFlags(pub u64);
        impl CloneFlags {
            $(
                #[doc = concat!("`CLONE_", stringify!($name), "`")]
                pub const $name: CloneFlags = CloneFlags($val);
            )*
            /// Every named flag with its name, in bit order of the table.
            pub const NAMED: &'static [(CloneFlags, &'static str)] = &[$((CloneFlags($val), $s)),*];
        }
    };
}

clone_flags! {
    NEWTIME = 0x80, "newtime";
    VM = 0x100, "vm";
    FS = 0x200, "fs";
    FILES = 0x400, "files";
    SIGHAND = 0x800, "sighand";
    PIDFD = 0x1000, "pidfd";
    VFORK = 0x4000, "vfork";
    PARENT = 0x8000, "parent";
    THREAD = 0x10000, "thread";
    NEWNS = 0x20000, "newns";
    SYSVSEM = 0x40000, "sysvsem";
    SETTLS = 0x80000, "settls";
    PARENT_SETTID = 0x100000, "parent_settid";
    CHILD_CLEARTID = 0x200000, "child_cleartid";
    DETACHED = 0x400000, "detached";
    CHILD_SETTID = 0x1000000, "child_settid";
    NEWCGROUP = 0x2000000, "newcgroup";
    NEWUTS = 0x4000000, "newuts";
    NEWIPC = 0x8000000, "newipc";
    NEWUSER = 0x10000000, "newuser";
    NEWPID = 0x20000000, "newpid";
    NEWNET = 0x40000000, "newnet";
    IO = 0x80000000, "io";
    CLEAR_SIGHAND = 0x1_0000_0000, "clear_sighand";
    INTO_CGROUP = 0x2_0000_0000, "into_cgroup";
}

impl CloneFlags {
    /// No flag.
    pub const EMPTY: CloneFlags = CloneFlags(0);

    /// Whether every flag of `f` is set.
    pub fn has(self, f: CloneFlags) -> bool {
        self.0 & f.0 == f.0 && f.0 != 0
    }

    /// Whether any flag of `f` is set.
    pub fn any(self, f: CloneFlags) -> bool {
        self.0 & f.0 != 0
    }

    /// Union.
    pub fn with(self, f: CloneFlags) -> CloneFlags {
        CloneFlags(self.0 | f.0)
    }

    /// The names of the set flags (unknown bits as hex).
    pub fn names(self) -> Vec<String> {
        let mut rest = self.0;
        let mut v = Vec::new();
        for (f, n) in Self::NAMED {
            if self.0 & f.0 != 0 {
                v.push(n.to_string());
                rest &= !f.0;
            }
        }
        if rest != 0 {
            v.push(format!("{rest:#x}"));
        }
        v
    }
}

impl std::ops::BitOr for CloneFlags {
    type Output = CloneFlags;
    fn bitor(self, o: CloneFlags) -> CloneFlags {
        CloneFlags(self.0 | o.0)
    }
}

impl Serialize for CloneFlags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(s)
    }
}

impl<'de> Deserialize<'de> for CloneFlags {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<CloneFlags, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        let mut f = 0u64;
        for n in names {
            let bit = CloneFlags::NAMED
                .iter()
                .find(|(_, s)| *s == n)
                .map(|(b, _)| b.0)
                .or_else(|| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok())
                .ok_or_else(|| serde::de::Error::custom(format!("unknown clone flag {n:?}")))?;
            f |= bit;
        }
        Ok(CloneFlags(f))
    }
}

/// The `set_tid` / `set_tid_size` pair of `clone3` (clone3(2)).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum SetTid {
    /// Both zero.
    #[default]
    None,
    /// `set_tid = [1]`, size 1: pid 1 in the innermost pid namespace of the child.
    Pid1,
    /// `set_tid` NULL with size 1.
    NullWithSize,
    /// `set_tid` non-NULL with size 0.
    PtrWithoutSize,
    /// Size 33, above `MAX_PID_NS_LEVEL` (32).
    TooMany,
}

/// The `clone_args` variants of `clone3`, beyond flags and exit signal.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(default)]
pub struct Clone3Args {
    /// The `size` argument: 64 (`CLONE_ARGS_SIZE_VER0`), 80 (VER1), 88 (VER2, the default),
    /// anything up to 192, or above the page size.
    pub size: u32,
    /// A non-zero byte at `size - 1` when `size` is above 88 (the part the kernel does not
    /// know must be zero: copy_struct_from_user).
    pub tail_nonzero: bool,
    /// A stack pointer is passed.
    pub stack: bool,
    /// A stack size is passed.
    pub stack_size: bool,
    /// `set_tid` variant.
    pub set_tid: SetTid,
    /// `cgroup` above `INT_MAX`.
    pub cgroup_big: bool,
}

/// `CLONE_ARGS_SIZE_VER2`: the size of `struct clone_args` this crate knows.
pub const CLONE_ARGS_SIZE: u32 = 88;

impl Default for Clone3Args {
    fn default() -> Self {
        Clone3Args {
            size: CLONE_ARGS_SIZE,
            tail_nonzero: false,
            stack: true,
            stack_size: true,
            set_tid: SetTid::None,
            cgroup_big: false,
        }
    }
}

/// One `clone`/`clone3` call. Pointers the flags need (`parent_tid`, `child_tid`, the pidfd
/// slot, the stack, `tls`) are supplied by the backend and point to memory no observation
/// covers: the lab passes its own stack for the child and the current TLS base for SETTLS.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CloneOp {
    /// System call.
    #[serde(default)]
    pub entry: CloneEntry,
    /// Flags.
    #[serde(default)]
    pub flags: CloneFlags,
    /// Exit signal: the low 8 bits of the legacy flags word, or `clone_args.exit_signal`
    /// (sign-extended to 64 bits, so a negative value has high bits set).
    #[serde(default = "sigchld")]
    pub exit_signal: i32,
    /// clone3 argument variants (ignored by the legacy entry).
    #[serde(default)]
    pub args: Clone3Args,
}

fn sigchld() -> i32 {
    17
}

impl OpKind {
    /// The fd numbers the op passes as descriptors (`dup2`/`dup3`: old, then new), in a fixed
    /// order: what the shrinker renumbers and what the lab checks against its own fds.
    pub fn fd_args_mut(&mut self) -> Vec<&mut Fd> {
        match self {
            OpKind::Close { fd }
            | OpKind::Dup { fd }
            | OpKind::Read { fd, .. }
            | OpKind::Write { fd, .. }
            | OpKind::Pread { fd, .. }
            | OpKind::Pwrite { fd, .. }
            | OpKind::Lseek { fd, .. }
            | OpKind::Fcntl { fd, .. }
            | OpKind::Ftruncate { fd, .. }
            | OpKind::Flock { fd, .. } => vec![fd],
            OpKind::Dup2 { old, new } | OpKind::Dup3 { old, new, .. } => vec![old, new],
            OpKind::Waitid {
                target: WaitidTarget::Pidfd(fd),
                ..
            } => vec![fd],
            OpKind::PidfdSendSignal { fd, .. }
            | OpKind::PidfdGetfd { pidfd: fd, .. }
            | OpKind::Setns { fd, .. }
            | OpKind::Poll { fd } => vec![fd],
            _ => vec![],
        }
    }

    /// The task labels the group ops pass as pids (setpgid's target and group, getpgid's and
    /// getsid's target, the group of a kill to a group): what the shrinker renumbers.
    pub fn task_args_mut(&mut self) -> Vec<&mut TaskId> {
        match self {
            OpKind::Setpgid { target, pgid } => target.iter_mut().chain(pgid.iter_mut()).collect(),
            OpKind::Getpgid { target } | OpKind::Getsid { target } => target.iter_mut().collect(),
            OpKind::KillPgrp { pgid, .. } => pgid.iter_mut().collect(),
            OpKind::PidfdOpen { target, .. } => vec![target],
            _ => vec![],
        }
    }

    /// The values of [`OpKind::fd_args_mut`].
    pub fn fd_args(&self) -> Vec<Fd> {
        self.clone().fd_args_mut().into_iter().map(|f| *f).collect()
    }
}

/// One step of a case: which task runs which op.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Op {
    /// The task that runs the op.
    pub task: TaskId,
    /// The op.
    #[serde(flatten)]
    pub kind: OpKind,
}

/// Largest buffer a read-like op may ask for and a write-like op may carry.
pub const MAX_IO: u32 = 64;

/// Per-case configuration.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(default)]
pub struct CaseConfig {
    /// Pages in each of the four regions (and in the `data` file).
    pub pages: u32,
}

impl Default for CaseConfig {
    fn default() -> Self {
        CaseConfig { pages: 8 }
    }
}

/// Largest region size a case may ask for, in pages.
pub const MAX_PAGES: u32 = 256;

/// A case: configuration plus ops. The JSON form is the case file format.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Case {
    /// Configuration.
    #[serde(default)]
    pub config: CaseConfig,
    /// Ops in order.
    pub ops: Vec<Op>,
}

/// The initial byte at offset `off` of the `data` file: page `p` starts with `0x80 | p`, so
/// file-backed values never look like fresh anonymous memory.
pub fn data_file_byte(off: u64) -> u8 {
    let page = off / PAGE_SIZE;
    let within = off % PAGE_SIZE;
    if within == 0 {
        0x80 | (page as u8 & 0x7f)
    } else {
        (within % 251) as u8
    }
}

/// The page size the model assumes (x86_64).
pub const PAGE_SIZE: u64 = 4096;

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Region::AnonPrivate => "anon_private",
            Region::AnonShared => "anon_shared",
            Region::FilePrivate => "file_private",
            Region::FileShared => "file_shared",
            Region::Mapped => "mapped",
        };
        f.write_str(s)
    }
}

impl fmt::Display for Op {
    /// A compact one-line form used in reports, e.g. `t1: write(3, "ab")`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}: ", self.task)?;
        match &self.kind {
            OpKind::Fork => write!(f, "fork()"),
            OpKind::Exit { code, thread } => {
                write!(
                    f,
                    "{}({code})",
                    if *thread { "exit_thread" } else { "exit" }
                )
            }
            OpKind::Wait { target, options } => {
                match target {
                    WaitTarget::Any => write!(f, "wait(any")?,
                    WaitTarget::Task(t) => write!(f, "wait(t{t}")?,
                    WaitTarget::OwnGroup => write!(f, "wait(0")?,
                    WaitTarget::Group(t) => write!(f, "wait(-pgid(t{t})")?,
                }
                for (on, n) in [
                    (options.nohang, "WNOHANG"),
                    (options.clone, "__WCLONE"),
                    (options.all, "__WALL"),
                    (options.untraced, "WUNTRACED"),
                    (options.continued, "WCONTINUED"),
                ] {
                    if on {
                        write!(f, ", {n}")?;
                    }
                }
                write!(f, ")")
            }
            OpKind::Vfork => write!(f, "vfork()"),
            OpKind::Exec => write!(f, "execve(agent)"),
            OpKind::Clone(c) => {
                let flags = c.flags.names().join("|").to_uppercase();
                match c.entry {
                    CloneEntry::Clone => write!(f, "clone({flags}, sig={})", c.exit_signal),
                    CloneEntry::Clone3 => {
                        write!(f, "clone3({flags}, sig={}", c.exit_signal)?;
                        let a = c.args;
                        if a != Clone3Args::default() {
                            write!(f, ", size={}", a.size)?;
                            if a.tail_nonzero {
                                write!(f, ", tail!=0")?;
                            }
                            if a.stack != a.stack_size {
                                write!(f, ", stack={} stack_size={}", a.stack, a.stack_size)?;
                            }
                            if a.set_tid != SetTid::None {
                                write!(f, ", set_tid={:?}", a.set_tid)?;
                            }
                            if a.cgroup_big {
                                write!(f, ", cgroup>INT_MAX")?;
                            }
                        }
                        write!(f, ")")
                    }
                }
            }
            OpKind::MemRead { region, page } => write!(f, "load {region}[{page}]"),
            OpKind::MemWrite { region, page, byte } => {
                write!(f, "store {region}[{page}] = {byte:#04x}")
            }
            OpKind::Madvise {
                region,
                first,
                count,
                advice,
            } => write!(f, "madvise({region}[{first}..+{count}], {advice:?})"),
            OpKind::Open { file, flags } => {
                write!(f, "open({:?}, {:?}", file.as_str(), flags.access)?;
                for (on, name) in [
                    (flags.creat, "CREAT"),
                    (flags.excl, "EXCL"),
                    (flags.trunc, "TRUNC"),
                    (flags.append, "APPEND"),
                    (flags.cloexec, "CLOEXEC"),
                    (flags.nonblock, "NONBLOCK"),
                ] {
                    if on {
                        write!(f, "|{name}")?;
                    }
                }
                write!(f, ")")
            }
            OpKind::Close { fd } => write!(f, "close({fd})"),
            OpKind::Dup { fd } => write!(f, "dup({fd})"),
            OpKind::Dup2 { old, new } => write!(f, "dup2({old}, {new})"),
            OpKind::Dup3 { old, new, cloexec } => {
                write!(
                    f,
                    "dup3({old}, {new}, {})",
                    if *cloexec { "CLOEXEC" } else { "0" }
                )
            }
            OpKind::Read { fd, len } => write!(f, "read({fd}, {len})"),
            OpKind::Write { fd, data } => write!(f, "write({fd}, {})", ByteStr(data)),
            OpKind::Pread { fd, len, offset } => write!(f, "pread({fd}, {len}, @{offset})"),
            OpKind::Pwrite { fd, data, offset } => {
                write!(f, "pwrite({fd}, {}, @{offset})", ByteStr(data))
            }
            OpKind::Lseek { fd, offset, whence } => write!(f, "lseek({fd}, {offset}, {whence:?})"),
            OpKind::Fcntl { fd, cmd } => match cmd {
                FcntlCmd::SetLk { lock } => write!(f, "fcntl({fd}, F_SETLK, {lock})"),
                FcntlCmd::GetLk { lock } => write!(f, "fcntl({fd}, F_GETLK, {lock})"),
                FcntlCmd::OfdSetLk { lock } => write!(f, "fcntl({fd}, F_OFD_SETLK, {lock})"),
                FcntlCmd::OfdGetLk { lock } => write!(f, "fcntl({fd}, F_OFD_GETLK, {lock})"),
                _ => write!(f, "fcntl({fd}, {cmd:?})"),
            },
            OpKind::Pipe2 { cloexec, nonblock } => {
                write!(f, "pipe2(cloexec={cloexec}, nonblock={nonblock})")
            }
            OpKind::Ftruncate { fd, len } => write!(f, "ftruncate({fd}, {len})"),
            OpKind::Flock { fd, op, nonblock } => {
                let op = match op {
                    FlockOp::Sh => "LOCK_SH",
                    FlockOp::Ex => "LOCK_EX",
                    FlockOp::Un => "LOCK_UN",
                };
                let nb = if *nonblock { "|LOCK_NB" } else { "" };
                write!(f, "flock({fd}, {op}{nb})")
            }
            OpKind::Kill { target, sig } => write!(f, "kill(t{target}, {sig})"),
            OpKind::Sigaction { sig, action, flags } => {
                write!(f, "sigaction({sig}, {}", action_name(*action))?;
                for (on, n) in [
                    (flags.nocldstop, "SA_NOCLDSTOP"),
                    (flags.nocldwait, "SA_NOCLDWAIT"),
                ] {
                    if on {
                        write!(f, ", {n}")?;
                    }
                }
                write!(f, ")")
            }
            OpKind::Sigprocmask { how, set } => {
                let how = match how {
                    MaskHow::Block => "BLOCK",
                    MaskHow::Unblock => "UNBLOCK",
                    MaskHow::SetMask => "SETMASK",
                };
                let names: Vec<String> = set.iter().map(|s| s.to_string()).collect();
                write!(f, "sigprocmask({how}, [{}])", names.join(", "))
            }
            OpKind::Chdir { dir } => write!(f, "chdir({:?})", dir.rel_path_or_dot()),
            OpKind::Umask { mask } => write!(f, "umask({mask:#05o})"),
            OpKind::Sethostname { name } => write!(f, "sethostname({:?})", name.as_str()),
            OpKind::Uname => write!(f, "uname()"),
            OpKind::Waitid { target, options } => {
                match target {
                    WaitidTarget::All => write!(f, "waitid(P_ALL")?,
                    WaitidTarget::Pid(t) => write!(f, "waitid(P_PID, t{t}")?,
                    WaitidTarget::OwnPgid => write!(f, "waitid(P_PGID, 0")?,
                    WaitidTarget::Pgid(t) => write!(f, "waitid(P_PGID, pgid(t{t})")?,
                    WaitidTarget::Pidfd(fd) => write!(f, "waitid(P_PIDFD, {fd}")?,
                }
                let names: Vec<&str> = [
                    (options.exited, "WEXITED"),
                    (options.stopped, "WSTOPPED"),
                    (options.continued, "WCONTINUED"),
                    (options.nowait, "WNOWAIT"),
                    (options.nohang, "WNOHANG"),
                    (options.clone, "__WCLONE"),
                    (options.all, "__WALL"),
                ]
                .into_iter()
                .filter_map(|(on, n)| on.then_some(n))
                .collect();
                let names = if names.is_empty() {
                    "0".to_string()
                } else {
                    names.join("|")
                };
                write!(f, ", {names})")
            }
            OpKind::CloseRange {
                first,
                last,
                cloexec,
                unshare,
            } => {
                write!(f, "close_range({first}, {last}")?;
                let mut flags = Vec::new();
                if *cloexec {
                    flags.push("CLOEXEC");
                }
                if *unshare {
                    flags.push("UNSHARE");
                }
                if flags.is_empty() {
                    write!(f, ", 0)")
                } else {
                    write!(f, ", {})", flags.join("|"))
                }
            }
            OpKind::Unshare { flags } => {
                let names = flags.clone_flags().names().join("|").to_uppercase();
                write!(f, "unshare({names})")
            }
            OpKind::Setns { fd, flags } => {
                let names: Vec<String> = flags
                    .names()
                    .into_iter()
                    .map(|n| match n.starts_with("0x") {
                        true => n,
                        false => format!("CLONE_{}", n.to_uppercase()),
                    })
                    .collect();
                match names.is_empty() {
                    true => write!(f, "setns({fd}, 0)"),
                    false => write!(f, "setns({fd}, {})", names.join("|")),
                }
            }
            OpKind::Seccomp { errno } => {
                write!(f, "seccomp(SET_MODE_FILTER, umask -> {errno})")
            }
            OpKind::Sigaltstack { set } => match set {
                Some(ss) => write!(f, "sigaltstack({ss}, &old)"),
                None => write!(f, "sigaltstack(NULL, &old)"),
            },
            OpKind::Setpriority { nice } => write!(f, "setpriority(PRIO_PROCESS, 0, {nice})"),
            OpKind::Getpriority => write!(f, "getpriority(PRIO_PROCESS, 0)"),
            OpKind::SchedSetscheduler { policy, priority } => write!(
                f,
                "sched_setscheduler(0, {}, {{{priority}}})",
                crate::sched::policy_name(*policy)
            ),
            OpKind::SchedGetscheduler => write!(f, "sched_getscheduler(0)"),
            OpKind::SchedSetaffinity { cpus } => {
                write!(f, "sched_setaffinity(0, cpus {cpus:#b})")
            }
            OpKind::SchedGetaffinity => write!(f, "sched_getaffinity(0)"),
            OpKind::Personality { persona } => write!(f, "personality({persona:#x})"),
            OpKind::Prlimit {
                resource,
                set,
                no_old,
            } => {
                write!(f, "prlimit(0, {}, ", crate::sched::resource_name(*resource))?;
                match set {
                    Some(l) => write!(f, "{l}")?,
                    None => write!(f, "NULL")?,
                }
                write!(f, ", {})", if *no_old { "NULL" } else { "&old" })
            }
            OpKind::Prctl { option, arg } => {
                if option.is_get() {
                    write!(f, "prctl({})", option.name())
                } else {
                    write!(f, "prctl({}, {arg})", option.name())
                }
            }
            OpKind::Setpgid { target, pgid } => {
                write!(f, "setpgid({}, {})", PidArg(*target), PidArg(*pgid))
            }
            OpKind::Getpgid { target } => write!(f, "getpgid({})", PidArg(*target)),
            OpKind::Setitimer { .. }
            | OpKind::Getitimer { .. }
            | OpKind::Alarm { .. }
            | OpKind::TimerCreate { .. }
            | OpKind::TimerSettime { .. }
            | OpKind::TimerGettime { .. }
            | OpKind::TimerDelete { .. } => crate::timer::display_op(&self.kind, f),
            OpKind::Setsid => write!(f, "setsid()"),
            OpKind::Getsid { target } => write!(f, "getsid({})", PidArg(*target)),
            OpKind::Mmap {
                first,
                count,
                map,
                prot,
                locked,
            } => {
                let share = match map {
                    MapKind::AnonPrivate => "PRIVATE",
                    MapKind::AnonShared => "SHARED",
                };
                let lock = if *locked { "|LOCKED" } else { "" };
                write!(
                    f,
                    "mmap(mapped[{first}..+{count}], {}, {share}|ANONYMOUS|FIXED_NOREPLACE{lock})",
                    prot_name(*prot)
                )
            }
            OpKind::Mlock {
                region,
                first,
                count,
                flags,
            } => match flags {
                None => write!(f, "mlock({region}[{first}..+{count}])"),
                Some(fl) => write!(
                    f,
                    "mlock2({region}[{first}..+{count}], {})",
                    mlock_flags_name(*fl)
                ),
            },
            OpKind::Munlock {
                region,
                first,
                count,
            } => write!(f, "munlock({region}[{first}..+{count}])"),
            OpKind::Mlockall { flags } => write!(f, "mlockall({})", mcl_flags_name(*flags)),
            OpKind::Munlockall => write!(f, "munlockall()"),
            OpKind::Munmap { first, count } => write!(f, "munmap(mapped[{first}..+{count}])"),
            OpKind::Mprotect { first, count, prot } => {
                write!(
                    f,
                    "mprotect(mapped[{first}..+{count}], {})",
                    prot_name(*prot)
                )
            }
            OpKind::Mremap {
                region,
                first,
                count,
                new_count,
                to,
                unaligned,
            } => {
                let plus = if *unaligned { "+1" } else { "" };
                write!(f, "mremap({region}[{first}]{plus}, {count}, {new_count}")?;
                match to {
                    None => write!(f, ", 0)"),
                    Some(to) => {
                        let flags = if to.no_maymove {
                            "FIXED"
                        } else {
                            "MAYMOVE|FIXED"
                        };
                        write!(f, ", {flags}, {}[{}])", to.region, to.page)
                    }
                }
            }
            OpKind::KillPgrp { pgid: None, sig } => write!(f, "kill(0, {sig})"),
            OpKind::KillPgrp { pgid: Some(g), sig } => write!(f, "kill(-t{g}, {sig})"),
            OpKind::PidfdOpen {
                target,
                nonblock,
                thread,
            } => {
                let flags: Vec<&str> = [(*nonblock, "PIDFD_NONBLOCK"), (*thread, "PIDFD_THREAD")]
                    .into_iter()
                    .filter_map(|(on, n)| on.then_some(n))
                    .collect();
                let flags = if flags.is_empty() {
                    "0".to_string()
                } else {
                    flags.join("|")
                };
                write!(f, "pidfd_open(t{target}, {flags})")
            }
            OpKind::PidfdSendSignal { fd, sig } => write!(f, "pidfd_send_signal({fd}, {sig})"),
            OpKind::PidfdGetfd { pidfd, fd } => write!(f, "pidfd_getfd({pidfd}, {fd})"),
            OpKind::Poll { fd } => write!(f, "poll({fd}, POLLIN, 0)"),
        }
    }
}

/// A pid argument of a group op: a label, or 0.
struct PidArg(Option<TaskId>);

impl fmt::Display for PidArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(t) => write!(f, "t{t}"),
            None => write!(f, "0"),
        }
    }
}

fn prot_name(p: Prot) -> &'static str {
    match p {
        Prot::ReadWrite => "PROT_READ|PROT_WRITE",
        Prot::Read => "PROT_READ",
        Prot::None => "PROT_NONE",
    }
}

fn action_name(a: SigAction) -> &'static str {
    match a {
        SigAction::Default => "SIG_DFL",
        SigAction::Ignore => "SIG_IGN",
        SigAction::Handler => "handler",
    }
}

/// Displays bytes as a quoted string with escapes.
pub struct ByteStr<'a>(pub &'a [u8]);

impl fmt::Display for ByteStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"")?;
        for &b in self.0 {
            if b.is_ascii_graphic() || b == b' ' {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        write!(f, "\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lab matches a task's cwd against the directories of the case only: `missing`
    /// does not exist and `data` is a file.
    #[test]
    fn only_the_case_directory_d_and_d_e_are_directories() {
        let dirs: Vec<&str> = CaseDir::ALL
            .into_iter()
            .filter(|d| d.is_dir())
            .map(|d| d.rel_path_or_dot())
            .collect();
        assert_eq!(dirs, [".", "d", "d/e"]);
    }

    /// An op prints the paths the lab really uses: the case files by name, the case
    /// directory as `.` and the others relative to it.
    #[test]
    fn printed_ops_name_the_case_paths() {
        let print = |kind| Op { task: 0, kind }.to_string();
        let open = |file| {
            print(OpKind::Open {
                file,
                flags: OpenFlags::default(),
            })
        };
        assert_eq!(open(FileName::Data), r#"t0: open("data", RdOnly)"#);
        assert_eq!(open(FileName::A), r#"t0: open("a", RdOnly)"#);
        assert_eq!(open(FileName::B), r#"t0: open("b", RdOnly)"#);
        let chdir = |dir| print(OpKind::Chdir { dir });
        assert_eq!(chdir(CaseDir::Case), r#"t0: chdir(".")"#);
        assert_eq!(chdir(CaseDir::DE), r#"t0: chdir("d/e")"#);
        assert_eq!(chdir(CaseDir::Missing), r#"t0: chdir("missing")"#);
        assert_eq!(CaseDir::Case.rel_path(), "");
        assert_eq!(CaseDir::Data.rel_path_or_dot(), "data");
    }

    /// The shrinker renumbers a kill's group like setpgid's and getpgid's task arguments.
    #[test]
    fn task_args_of_the_group_ops_are_the_labels_they_name() {
        let mut kill = OpKind::KillPgrp {
            pgid: Some(3),
            sig: crate::obs::Signal::SIGTERM,
        };
        for a in kill.task_args_mut() {
            *a = 1;
        }
        assert_eq!(
            kill,
            OpKind::KillPgrp {
                pgid: Some(1),
                sig: crate::obs::Signal::SIGTERM
            }
        );
        let mut own = OpKind::KillPgrp {
            pgid: None,
            sig: crate::obs::Signal::SIGTERM,
        };
        assert!(own.task_args_mut().is_empty());
        let mut set = OpKind::Setpgid {
            target: Some(2),
            pgid: Some(4),
        };
        assert_eq!(set.task_args_mut().len(), 2);
        for mut op in [
            OpKind::Getpgid { target: Some(5) },
            OpKind::Getsid { target: Some(5) },
            OpKind::PidfdOpen {
                target: 5,
                nonblock: false,
                thread: false,
            },
        ] {
            let args = op.task_args_mut();
            assert_eq!(args.len(), 1, "{op:?}");
            for a in args {
                *a = 2;
            }
            assert!(format!("{op:?}").contains('2'), "{op:?}");
        }
        assert!(OpKind::Getpgid { target: None }.task_args_mut().is_empty());
    }

    /// `newpid` is serialized only when set (older case files and the wire protocol keep
    /// their form), maps to `CLONE_NEWPID` and prints as such.
    #[test]
    fn unshare_newpid_serializes_only_when_set() {
        let files = OpKind::Unshare {
            flags: UnshareFlags {
                files: true,
                ..Default::default()
            },
        };
        let json = serde_json::to_string(&files).unwrap();
        assert_eq!(json, r#"{"kind":"unshare","flags":{"files":true}}"#);
        let newpid = UnshareFlags {
            newpid: true,
            ..Default::default()
        };
        assert_eq!(newpid.clone_flags(), CloneFlags::NEWPID);
        let op = OpKind::Unshare { flags: newpid };
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(json, r#"{"kind":"unshare","flags":{"newpid":true}}"#);
        assert_eq!(serde_json::from_str::<OpKind>(&json).unwrap(), op);
        let shown = Op { task: 0, kind: op }.to_string();
        assert!(shown.ends_with("unshare(NEWPID)"), "{shown}");
    }

    /// Each prctl option prints as its `PR_*` constant, each a different one.
    #[test]
    fn prctl_options_are_named_by_their_constants() {
        let names: std::collections::BTreeSet<&str> =
            PrctlOption::ALL.iter().map(|o| o.name()).collect();
        assert_eq!(names.len(), PrctlOption::ALL.len());
        assert!(names.iter().all(|n| n.starts_with("PR_")), "{names:?}");
        assert_eq!(
            PrctlOption::SetChildSubreaper.name(),
            "PR_SET_CHILD_SUBREAPER"
        );
        assert_eq!(PrctlOption::GetSeccomp.name(), "PR_GET_SECCOMP");
    }

    /// A clone3 op prints a stack or a stack size passed alone, and nothing when both are.
    #[test]
    fn clone3_display_names_a_stack_without_its_size() {
        let op = |stack, stack_size| Op {
            task: 0,
            kind: OpKind::Clone(CloneOp {
                entry: CloneEntry::Clone3,
                flags: CloneFlags::VM,
                exit_signal: 17,
                args: Clone3Args {
                    stack,
                    stack_size,
                    ..Clone3Args::default()
                },
            }),
        };
        assert!(!op(true, true).to_string().contains("stack="));
        assert!(!op(false, false).to_string().contains("stack="));
        let alone = op(true, false).to_string();
        assert!(alone.contains("stack=true stack_size=false"), "{alone}");
    }

    #[test]
    fn wait_options_survive_a_round_trip_and_are_left_out_only_when_empty() {
        for options in [
            WaitOptions::default(),
            WaitOptions {
                nohang: true,
                ..WaitOptions::default()
            },
            WaitOptions {
                clone: true,
                all: true,
                ..WaitOptions::default()
            },
        ] {
            let op = OpKind::Wait {
                target: WaitTarget::Any,
                options,
            };
            let json = serde_json::to_string(&op).unwrap();
            let set = options != WaitOptions::default();
            assert_eq!(options.is_empty(), !set);
            assert_eq!(json.contains("options"), set, "{json}");
            assert_eq!(serde_json::from_str::<OpKind>(&json).unwrap(), op);
        }
    }

    #[test]
    fn clone_flags_are_named_in_order_and_unknown_bits_in_hex() {
        let names = (CloneFlags::VM | CloneFlags::FILES | CloneFlags(1 << 40)).names();
        let name = |f: CloneFlags| {
            CloneFlags::NAMED
                .iter()
                .find(|n| n.0 == f)
                .map(|n| n.1.to_string())
                .unwrap()
        };
        let mut want = vec![name(CloneFlags::VM), name(CloneFlags::FILES)];
        // NAMED's order decides the order of the names.
        let pos = |f: CloneFlags| CloneFlags::NAMED.iter().position(|n| n.0 == f);
        if pos(CloneFlags::FILES) < pos(CloneFlags::VM) {
            want.reverse();
        }
        want.push("0x10000000000".into());
        assert_eq!(names, want);
        assert!(CloneFlags::EMPTY.names().is_empty());
    }

    #[test]
    fn the_fd_arguments_of_an_op_are_its_descriptors_in_order() {
        assert_eq!(OpKind::Dup2 { old: 4, new: 9 }.fd_args(), vec![4, 9]);
        assert_eq!(OpKind::Close { fd: 7 }.fd_args(), vec![7]);
        assert!(OpKind::Fork.fd_args().is_empty());
        let mut op = OpKind::Dup2 { old: 4, new: 9 };
        for f in op.fd_args_mut() {
            *f += 1;
        }
        assert_eq!(op, OpKind::Dup2 { old: 5, new: 10 });
    }

    #[test]
    fn clone_flags_combine_with_or() {
        let both = CloneFlags::VM | CloneFlags::FILES;
        assert_eq!(both.0, CloneFlags::VM.0 | CloneFlags::FILES.0);
        assert_ne!(both, CloneFlags::VM);
    }

    #[test]
    fn zero_arguments_are_left_out_of_the_json() {
        use crate::timer::Itimer;
        let zero_and_set = [
            (
                OpKind::Prctl {
                    option: PrctlOption::SetPdeathsig,
                    arg: 0,
                },
                OpKind::Prctl {
                    option: PrctlOption::SetPdeathsig,
                    arg: 9,
                },
                "arg",
            ),
            (
                OpKind::Alarm { seconds: 0 },
                OpKind::Alarm { seconds: 3 },
                "seconds",
            ),
            (
                OpKind::Setitimer {
                    which: Itimer::Real,
                    value_s: 0,
                    interval_s: 0,
                },
                OpKind::Setitimer {
                    which: Itimer::Real,
                    value_s: 5,
                    interval_s: 0,
                },
                "value_s",
            ),
        ];
        for (zero, set, key) in zero_and_set {
            let key = format!("\"{key}\"");
            let z = serde_json::to_string(&zero).unwrap();
            let s = serde_json::to_string(&set).unwrap();
            assert!(!z.contains(&key), "{z}");
            assert!(s.contains(&key), "{s}");
            assert_eq!(serde_json::from_str::<OpKind>(&z).unwrap(), zero);
        }
    }

    #[test]
    fn op_json_round_trip() {
        let ops = vec![
            Op {
                task: 1,
                kind: OpKind::Fcntl {
                    fd: 3,
                    cmd: FcntlCmd::SetFl {
                        append: true,
                        nonblock: false,
                    },
                },
            },
            Op {
                task: 0,
                kind: OpKind::Wait {
                    target: WaitTarget::Task(2),
                    options: Default::default(),
                },
            },
            Op {
                task: 0,
                kind: OpKind::Open {
                    file: FileName::A,
                    flags: OpenFlags {
                        access: Access::RdWr,
                        creat: true,
                        ..Default::default()
                    },
                },
            },
        ];
        for op in ops {
            let s = serde_json::to_string(&op).unwrap();
            let back: Op = serde_json::from_str(&s).unwrap();
            assert_eq!(op, back, "{s}");
        }
        let op: Op = serde_json::from_str(
            r#"{"task":1,"kind":"fcntl","fd":0,"cmd":"ofd_get_lk","lock":{"type":"wr","start":2,"len":0}}"#,
        )
        .unwrap();
        assert_eq!(
            op.kind,
            OpKind::Fcntl {
                fd: 0,
                cmd: FcntlCmd::OfdGetLk {
                    lock: FlockArg {
                        ty: LockType::Wr,
                        start: 2,
                        len: 0,
                        pid: 0
                    }
                }
            }
        );
        assert_eq!(
            op.to_string(),
            "t1: fcntl(0, F_OFD_GETLK, {WR start=2 len=0})"
        );
        let op: Op = serde_json::from_str(r#"{"task":0,"kind":"flock","fd":3,"op":"ex"}"#).unwrap();
        assert_eq!(
            op.kind,
            OpKind::Flock {
                fd: 3,
                op: FlockOp::Ex,
                nonblock: true
            }
        );
        assert_eq!(op.to_string(), "t0: flock(3, LOCK_EX|LOCK_NB)");
        let op: Op =
            serde_json::from_str(r#"{"task":0,"kind":"fcntl","fd":3,"cmd":"get_fl"}"#).unwrap();
        assert_eq!(
            op.kind,
            OpKind::Fcntl {
                fd: 3,
                cmd: FcntlCmd::GetFl
            }
        );
    }

    #[test]
    fn mapping_ops_leave_default_kind_and_protection_out_of_json() {
        let op = OpKind::Mmap {
            first: 1,
            count: 2,
            map: MapKind::AnonPrivate,
            prot: Prot::ReadWrite,
            locked: false,
        };
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(json, r#"{"kind":"mmap","first":1,"count":2}"#);
        assert_eq!(serde_json::from_str::<OpKind>(&json).unwrap(), op);
        let op: Op = serde_json::from_str(
            r#"{"task":1,"kind":"mprotect","first":0,"count":2,"prot":"none"}"#,
        )
        .unwrap();
        assert_eq!(op.to_string(), "t1: mprotect(mapped[0..+2], PROT_NONE)");
        let op: Op = serde_json::from_str(
            r#"{"task":0,"kind":"mmap","first":3,"count":1,"map":"anon_shared","prot":"read"}"#,
        )
        .unwrap();
        assert_eq!(
            op.to_string(),
            "t0: mmap(mapped[3..+1], PROT_READ, SHARED|ANONYMOUS|FIXED_NOREPLACE)"
        );
    }

    #[test]
    fn lock_ops_leave_defaults_out_of_json_and_read_like_the_calls() {
        let cases: [(&str, &str); 6] = [
            (
                r#"{"task":0,"kind":"mlock","region":"anon_private","first":1,"count":2}"#,
                "t0: mlock(anon_private[1..+2])",
            ),
            (
                r#"{"task":0,"kind":"mlock","region":"mapped","first":0,"count":1,"flags":1}"#,
                "t0: mlock2(mapped[0..+1], MLOCK_ONFAULT)",
            ),
            (
                r#"{"task":1,"kind":"munlock","region":"file_shared","first":0,"count":8}"#,
                "t1: munlock(file_shared[0..+8])",
            ),
            (
                r#"{"task":0,"kind":"mlockall","flags":14}"#,
                "t0: mlockall(MCL_FUTURE|MCL_ONFAULT|0x8)",
            ),
            (r#"{"task":0,"kind":"munlockall"}"#, "t0: munlockall()"),
            (
                r#"{"task":0,"kind":"mmap","first":0,"count":1,"locked":true}"#,
                "t0: mmap(mapped[0..+1], PROT_READ|PROT_WRITE, PRIVATE|ANONYMOUS|FIXED_NOREPLACE|LOCKED)",
            ),
        ];
        for (json, shown) in cases {
            let op: Op = serde_json::from_str(json).unwrap();
            assert_eq!(op.to_string(), shown);
            assert_eq!(serde_json::to_string(&op).unwrap(), json);
        }
        assert_eq!(mcl_flags_name(0), "0");
        assert_eq!(mlock_flags_name(0), "0");
        assert_eq!(mlock_flags_name(6), "0x6");
    }

    #[test]
    fn mremap_leaves_defaults_out_of_json_and_reads_like_the_call() {
        let op: Op = serde_json::from_str(
            r#"{"task":0,"kind":"mremap","region":"anon_private","first":1,"count":2,"new_count":3}"#,
        )
        .unwrap();
        assert_eq!(op.to_string(), "t0: mremap(anon_private[1], 2, 3, 0)");
        let op = OpKind::Mremap {
            region: Region::Mapped,
            first: 0,
            count: 1,
            new_count: 1,
            to: Some(MremapTo {
                region: Region::AnonShared,
                page: 9,
                no_maymove: false,
            }),
            unaligned: true,
        };
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"mremap","region":"mapped","first":0,"count":1,"new_count":1,"to":{"region":"anon_shared","page":9},"unaligned":true}"#
        );
        assert_eq!(serde_json::from_str::<OpKind>(&json).unwrap(), op);
        let op = Op { task: 1, kind: op };
        assert_eq!(
            op.to_string(),
            "t1: mremap(mapped[0]+1, 1, 1, MAYMOVE|FIXED, anon_shared[9])"
        );
    }

    #[test]
    fn data_file_pages_start_with_marked_byte() {
        assert_eq!(data_file_byte(0), 0x80);
        assert_eq!(data_file_byte(3 * PAGE_SIZE), 0x83);
        assert_eq!(data_file_byte(1), 1);
    }
}
