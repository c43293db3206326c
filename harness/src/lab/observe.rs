//! Observation inside the lab: /proc readers, pagemap, kcmp, pidfd_getfd, and the snapshot
//! built from them.

use super::agent::page_addr;
use super::channel::{Cmd, AGENT_FD_BASE};
use super::selfobs::{self, Answer, FdAnswer, ProcTrust, SelfView};
use forkspec_model::{
    Access, Capabilities, CaseDir, ExitStatus, FdEntry, FileName, Frame, FsView, HeldLock, Inode,
    InodeKind, LockKind, LockType, NsClasses, Ofd, Page, Parent, Region, RegionView, Sharing,
    SigSet, Signal, SignalView, Snapshot, TaskId, TaskState, TaskView,
};
use std::collections::{BTreeSet, HashMap};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileExt;

/// `kcmp(2)` types.
pub const KCMP_FILE: i32 = 0;
const KCMP_TYPES: [i32; 6] = [1, 2, 3, 4, 5, 6]; // VM, FILES, FS, SIGHAND, IO, SYSVSEM

/// Fields of /proc/PID/stat the lab uses.
#[derive(Clone, Copy, Debug)]
pub struct Stat {
    /// Field 3.
    pub state: u8,
    /// Field 4.
    pub ppid: i32,
    /// Field 38.
    pub exit_signal: i32,
    /// Field 52: the wait status of a zombie.
    pub exit_code: i32,
}

/// Reads /proc/PID/stat; `None` when the pid is gone.
pub fn stat(pid: i32) -> Option<Stat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&s)
}

/// An open /proc/PID directory: every file of one task's snapshot is opened relative to it,
/// so the path walk to /proc/PID happens once per task and snapshot.
pub struct ProcDir(OwnedFd);

impl ProcDir {
    /// Opens /proc/PID; `None` when the pid is gone.
    pub fn open(pid: i32) -> Option<ProcDir> {
        let path = CString::new(format!("/proc/{pid}")).ok()?;
        // SAFETY: open on a NUL-terminated path; a non-negative result is a new fd we own.
        let fd = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        // SAFETY: see above.
        (fd >= 0).then(|| ProcDir(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Opens `name` (relative to /proc/PID) with `flags`.
    fn open_at(&self, name: &CStr, flags: i32) -> Option<File> {
        // SAFETY: openat on our dirfd and a NUL-terminated name; the result is owned.
        let fd =
            unsafe { libc::openat(self.0.as_raw_fd(), name.as_ptr(), flags | libc::O_CLOEXEC) };
        // SAFETY: see above.
        (fd >= 0).then(|| unsafe { File::from_raw_fd(fd) })
    }

    /// Reads the whole of small file `name` into `buf` (cleared first). Plain reads until
    /// EOF: `read_to_end` would first stat and seek the file to size its buffer, two system
    /// calls per /proc file that tell nothing (they report size 0).
    fn read_into(&self, name: &CStr, buf: &mut Vec<u8>) -> Option<()> {
        buf.clear();
        let f = self.open_at(name, libc::O_RDONLY)?;
        loop {
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(4096);
            }
            let spare = buf.spare_capacity_mut();
            // SAFETY: reads at most `spare.len()` bytes into the vector's spare capacity,
            // which the kernel initializes before `set_len` below covers them.
            let n = unsafe { libc::read(f.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len()) };
            match n {
                0 => return Some(()),
                n if n > 0 => {
                    // SAFETY: the kernel wrote `n` bytes right after the current length.
                    unsafe { buf.set_len(buf.len() + n as usize) }
                }
                _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
                _ => return None,
            }
        }
    }

    /// /proc/PID/stat through this directory.
    pub fn stat(&self, buf: &mut Vec<u8>) -> Option<Stat> {
        self.read_into(c"stat", buf)?;
        parse_stat(std::str::from_utf8(buf).ok()?)
    }
}

/// Parses the text of /proc/PID/stat.
fn parse_stat(s: &str) -> Option<Stat> {
    // comm may contain spaces and parentheses: fields start after the last ')'.
    let rest = &s[s.rfind(')')? + 1..];
    // Field n (from 1) is f[n - 3]: f[0] is field 3.
    let mut state = None;
    let (mut ppid, mut exit_signal, mut exit_code) = (None, 0, 0);
    for (i, v) in rest.split_ascii_whitespace().enumerate() {
        match i + 3 {
            3 => state = v.as_bytes().first().copied(),
            4 => ppid = v.parse::<i64>().ok(),
            38 => exit_signal = v.parse::<i64>().unwrap_or(0),
            52 => {
                exit_code = v.parse::<i64>().unwrap_or(0);
                break;
            }
            _ => {}
        }
    }
    Some(Stat {
        state: state?,
        ppid: ppid? as i32,
        exit_signal: exit_signal as i32,
        exit_code: exit_code as i32,
    })
}

/// Raw `kcmp(2)`: 0 when the objects are the same, negative `-errno` on failure.
pub fn kcmp(p1: i32, p2: i32, ty: i32, i1: u64, i2: u64) -> i64 {
    // SAFETY: kcmp takes no pointers.
    let r = unsafe { libc::syscall(libc::SYS_kcmp, p1, p2, ty, i1, i2) };
    if r < 0 {
        -(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL) as i64)
    } else {
        r
    }
}

/// Bytes buffered in the pipe behind `fd` of the task `pidfd` refers to, via a duplicate
/// taken with pidfd_getfd(2); `None` if that is not permitted.
pub fn pipe_bytes(pidfd: i32, fd: i32) -> Option<u64> {
    // SAFETY: pidfd_getfd returns a new fd owned by us, closed below; FIONREAD writes an int.
    unsafe {
        let dup = libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) as i32;
        if dup < 0 {
            return None;
        }
        let mut n: libc::c_int = 0;
        let r = libc::ioctl(dup, libc::FIONREAD, &mut n);
        libc::close(dup);
        (r == 0).then_some(n as u64)
    }
}

/// Reads the pagemap entries of `count` pages from `addr` in `file` (a pagemap).
pub fn pagemap(file: &File, addr: u64, count: usize, out: &mut Vec<u64>) -> bool {
    out.clear();
    out.resize(count, 0);
    // SAFETY: u64 has no invalid bit patterns; we view the buffer as bytes to read into it.
    let bytes = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), count * 8) };
    file.read_exact_at(bytes, (addr / 4096) * 8).is_ok()
}

/// Pagemap bits.
pub const PM_PRESENT: u64 = 1 << 63;
/// Page exclusively mapped.
pub const PM_EXCLUSIVE: u64 = 1 << 56;
/// PFN field.
pub const PM_PFN: u64 = (1 << 55) - 1;

/// What the snapshot needs to know about one task from the case's bookkeeping.
#[derive(Clone, Copy, Debug)]
pub struct TaskRef {
    /// Label.
    pub label: TaskId,
    /// Pid.
    pub pid: i32,
    /// Its pidfd, if one could be opened.
    pub pidfd: Option<i32>,
    /// Blocked in an op, per the lab's bookkeeping.
    pub blocked: bool,
    /// Its thread group leader, for a CLONE_THREAD child.
    pub thread_of: Option<TaskId>,
    /// Its namespaces as last observed, if it ran no op since: only the task itself changes
    /// its namespaces and credentials (unshare, setns, exec, commit_creds all act on
    /// `current`), so they are not read again.
    pub namespaces: Option<NsClasses>,
}

/// Lab-wide facts the snapshot needs.
#[derive(Clone, Copy, Debug)]
pub struct Observer {
    /// The lab's pid (the parent of `t0` and the subreaper).
    pub lab_pid: i32,
    /// What can be observed.
    pub caps: Capabilities,
    /// PFN of the shared zero page, when PFNs are visible.
    pub zero_pfn: Option<u64>,
    /// /proc/PID/fd lists fds in ascending order ([`fd_listing_ascending`]).
    pub fds_ascending: bool,
    /// Which /proc files may stand in for a task that cannot observe itself.
    pub proc_trust: ProcTrust,
}

/// A snapshot plus the labels found to be gone (reaped by someone the lab did not see).
pub struct Observed {
    /// The canonical snapshot.
    pub snapshot: Snapshot,
    /// Tasks whose pid no longer belongs to them.
    pub gone: Vec<TaskId>,
    /// The raw namespace identities read (or reused) for each live task.
    pub namespaces: Vec<(TaskId, NsClasses)>,
    /// What each task that answered said of its process group and session (`getpgid(0)`,
    /// `getsid(0)`: ids in its own pid namespace); the case turns them into labels.
    pub groups: Vec<(TaskId, i64, i64)>,
}

fn status_of(code: i32) -> ExitStatus {
    super::ops::exit_status(code)
}

struct Fdinfo {
    pos: u64,
    flags: u32,
}

fn fdinfo(dir: &ProcDir, fd: i32, buf: &mut Vec<u8>) -> Option<Fdinfo> {
    let name = CString::new(format!("fdinfo/{fd}")).ok()?;
    dir.read_into(&name, buf)?;
    let (pos, flags) = selfobs::parse_fdinfo(std::str::from_utf8(buf).ok()?)?;
    Some(Fdinfo { pos, flags })
}

/// An fd's offset and flags as its task's own system calls report them, in fdinfo's terms.
/// `lseek` on a pipe or pidfd fails with ESPIPE (no `llseek` in their file operations): their
/// offset is reported as 0, as fdinfo's `pos` shows it.
fn fdinfo_from_calls(a: &FdAnswer, kind: InodeKind, fd: i32, t: TaskId) -> Result<Fdinfo, String> {
    let bad = |what: &str, r: i64| {
        format!(
            "task {t} cannot observe its fd {fd}: {what} fails with {}",
            forkspec_model::Errno(-r as i32)
        )
    };
    if a.fd_flags < 0 {
        return Err(bad("F_GETFD", a.fd_flags.into()));
    }
    if a.status_flags < 0 {
        return Err(bad("F_GETFL", a.status_flags.into()));
    }
    let pos = match (a.offset, kind) {
        (off, _) if off >= 0 => off as u64,
        (off, InodeKind::Pipe | InodeKind::Pidfd) if off == -(libc::ESPIPE as i64) => 0,
        (off, _) => return Err(bad("lseek", off)),
    };
    let cloexec = if a.fd_flags & libc::FD_CLOEXEC != 0 {
        libc::O_CLOEXEC as u32
    } else {
        0
    };
    Ok(Fdinfo {
        pos,
        flags: (a.status_flags as u32 & !(libc::O_CLOEXEC as u32)) | cloexec,
    })
}

fn file_kind(target: &std::path::Path) -> Result<InodeKind, String> {
    let s = target.to_string_lossy();
    if s.starts_with("pipe:[") {
        return Ok(InodeKind::Pipe);
    }
    if s == "anon_inode:[pidfd]" || s.starts_with("pidfd:") {
        return Ok(InodeKind::Pidfd);
    }
    let base = s.rsplit('/').next().unwrap_or("");
    let base = base.strip_suffix(" (deleted)").unwrap_or(base);
    FileName::ALL
        .into_iter()
        .find(|f| f.as_str() == base)
        .map(InodeKind::File)
        .ok_or_else(|| format!("unexpected fd target {s:?}"))
}

/// One task's fds, appending descriptions and inodes.
struct FdWalk<'a> {
    kcmp: bool,
    pipe_size: bool,
    /// Representatives of each description class: (pid, fd, inode key, id).
    reps: Vec<(i32, i32, (u64, u64), u64)>,
    inode_ids: HashMap<(u64, u64), u64>,
    snap: &'a mut Snapshot,
    /// Reused read buffer.
    buf: Vec<u8>,
    /// The locks of the `lock:` lines of the fdinfo files read, when they are collected
    /// (see [`FdLock`]).
    locks: Option<BTreeSet<FdLock>>,
    /// Descriptions whose offset and flags no fd seen so far could observe.
    unobserved_ofds: Vec<u64>,
}

/// Who a lock shown in an fdinfo file belongs to, so that one lock shown through several
/// fds (or by several tasks sharing an fd table) is counted once: fs/locks.c
/// `__show_fd_locks` lists a lock in the fdinfo of an fd whose file is the lock's file and,
/// for a POSIX lock, whose task's fd table is the lock's owner; flock and OFD locks are
/// owned by the file itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum FdLockOwner {
    /// A POSIX lock: the kcmp class of the owning fd table.
    Table(u64),
    /// A flock or OFD lock: the description (canonical id of this walk).
    Ofd(u64),
}

/// One lock read from an fdinfo `lock:` line, with its raw `fl_pid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct FdLock {
    owner: FdLockOwner,
    inode: u64,
    kind: LockKind,
    ty: LockType,
    start: i64,
    end: Option<i64>,
    pid: i32,
}

/// readlinkat(2) relative to a /proc/PID directory.
fn readlink_at(dir: &ProcDir, name: &CStr) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut b = [0u8; 4096];
    // SAFETY: readlinkat writes at most `b.len()` bytes into `b`.
    let n = unsafe {
        libc::readlinkat(
            dir.0.as_raw_fd(),
            name.as_ptr(),
            b.as_mut_ptr().cast(),
            b.len(),
        )
    };
    (n >= 0).then(|| std::ffi::OsStr::from_bytes(&b[..n as usize]).into())
}

/// stat(2) (following the link) relative to a /proc/PID directory.
fn fstat_at(dir: &ProcDir, name: &CStr) -> Option<libc::stat> {
    // SAFETY: fstatat fills a zeroed local stat struct.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        (libc::fstatat(dir.0.as_raw_fd(), name.as_ptr(), &mut st, 0) == 0).then_some(st)
    }
}

/// The fds of the task behind `dir` below [`AGENT_FD_BASE`], ascending. Reads /proc/PID/fd
/// a few entries at a time and, where the listing is known to be ascending (Linux), stops at
/// the first agent fd: listing an fd makes the kernel build a dentry and an inode for it, and
/// the 65 agent fds of every task would otherwise dominate a snapshot (and its teardown,
/// which invalidates them).
fn case_fds(dir: &ProcDir, ascending: bool) -> Vec<i32> {
    let mut fds = Vec::new();
    let Some(d) = dir.open_at(c"fd", libc::O_RDONLY | libc::O_DIRECTORY) else {
        return fds;
    };
    // Room for three entries (24 bytes each for names of up to four digits): every entry
    // listed, and the one after it that did not fit, costs a dentry and an inode, built now
    // and torn down when the task is released. A task with few case fds (the usual) stops
    // after one or two agent fds instead of eight; a few more calls for many fds are cheaper.
    let mut buf = [0u64; 9];
    'outer: loop {
        // SAFETY: getdents64 writes at most the buffer's size into it.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                d.as_raw_fd(),
                buf.as_mut_ptr(),
                std::mem::size_of_val(&buf),
            )
        };
        if n <= 0 {
            break;
        }
        // SAFETY: the kernel filled `n` bytes of `buf` with linux_dirent64 records.
        let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n as usize) };
        let mut off = 0;
        while off + 19 < bytes.len() {
            let reclen = u16::from_ne_bytes([bytes[off + 16], bytes[off + 17]]) as usize;
            if reclen == 0 {
                break 'outer;
            }
            let name = &bytes[off + 19..(off + reclen).min(bytes.len())];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            off += reclen;
            let Some(fd) = std::str::from_utf8(name)
                .ok()
                .and_then(|v| v.parse::<i32>().ok())
            else {
                continue;
            };
            if fd < AGENT_FD_BASE {
                fds.push(fd);
            } else if ascending {
                break 'outer;
            }
        }
    }
    fds.sort_unstable();
    fds
}

/// Whether /proc/self/fd lists this process's fds in ascending order (the lab holds fds
/// below and above [`AGENT_FD_BASE`], so this is a real test of the order [`case_fds`] relies
/// on to stop early).
pub fn fd_listing_ascending() -> bool {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return false;
    };
    // read_dir yields entries in the order the kernel lists them.
    let fds: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.iter().any(|&f| f >= AGENT_FD_BASE) && fds.windows(2).all(|w| w[0] < w[1])
}

impl FdWalk<'_> {
    /// The entries of `fds` of task `t`: which description and inode from /proc and kcmp;
    /// `FD_CLOEXEC`, offset and status flags from the task's `answers` when it gave them,
    /// else from fdinfo when `fdinfo_trusted`, else not observed.
    /// `files` is the kcmp class of the task's fd table (needed when locks are collected).
    fn task(
        &mut self,
        t: &TaskRef,
        dir: &ProcDir,
        fds: &[i32],
        answers: Option<&[(i32, FdAnswer)]>,
        fdinfo_trusted: bool,
        files: Option<u64>,
    ) -> Result<Vec<FdEntry>, String> {
        let mut out = Vec::with_capacity(fds.len());
        for &fd in fds {
            let name = CString::new(format!("fd/{fd}")).expect("no NUL");
            let (Some(target), Some(meta)) = (readlink_at(dir, &name), fstat_at(dir, &name)) else {
                return Err(format!("cannot inspect fd {fd} of task {}", t.label));
            };
            let kind = file_kind(&target)?;
            let answer = answers.and_then(|a| a.iter().find(|x| x.0 == fd));
            let info = match answer {
                Some((_, a)) => Some(fdinfo_from_calls(a, kind, fd, t.label)?),
                None if fdinfo_trusted => Some(
                    fdinfo(dir, fd, &mut self.buf)
                        .ok_or_else(|| format!("cannot inspect fd {fd} of task {}", t.label))?,
                ),
                None => None,
            };
            let unobserved = info.is_none();
            let info = info.unwrap_or(Fdinfo { pos: 0, flags: 0 });
            let key = (meta.st_dev, meta.st_ino);
            let next_inode = self.inode_ids.len() as u64;
            let inode = *self.inode_ids.entry(key).or_insert_with(|| {
                let size = match kind {
                    InodeKind::File(_) => Some(meta.st_size as u64),
                    InodeKind::Pipe if self.pipe_size => t.pidfd.and_then(|p| pipe_bytes(p, fd)),
                    InodeKind::Pipe => None,
                    InodeKind::Pidfd => Some(meta.st_size as u64),
                };
                self.snap.inodes.push(Inode {
                    id: next_inode,
                    kind,
                    size,
                });
                next_inode
            });
            // Same description only if same inode; kcmp decides among those.
            let found = if self.kcmp {
                self.reps
                    .iter()
                    .find(|r| r.2 == key && kcmp(t.pid, r.0, KCMP_FILE, fd as u64, r.1 as u64) == 0)
                    .map(|r| r.3)
            } else {
                None
            };
            let id = match found {
                // A description first met through an fd that could not be observed takes its
                // offset and flags from the first fd that can.
                Some(id) if !unobserved && self.unobserved_ofds.contains(&id) => {
                    self.unobserved_ofds.retain(|&o| o != id);
                    let o = &mut self.snap.ofds[id as usize];
                    o.offset = if kind == InodeKind::Pipe { 0 } else { info.pos };
                    (o.access, o.append, o.nonblock) = status_flags(info.flags);
                    id
                }
                Some(id) => id,
                None => {
                    if unobserved {
                        self.unobserved_ofds.push(self.snap.ofds.len() as u64);
                    }
                    let id = self.snap.ofds.len() as u64;
                    self.reps.push((t.pid, fd, key, id));
                    let (access, append, nonblock) = status_flags(info.flags);
                    self.snap.ofds.push(Ofd {
                        id,
                        inode,
                        offset: if kind == InodeKind::Pipe { 0 } else { info.pos },
                        access,
                        append,
                        nonblock,
                    });
                    id
                }
            };
            if self.locks.is_some() {
                // The fdinfo text is in `buf` only when the offset and flags came from it.
                let from_fdinfo = answer.is_none() && fdinfo_trusted;
                let name = CString::new(format!("fdinfo/{fd}")).expect("no NUL");
                if !from_fdinfo && dir.read_into(&name, &mut self.buf).is_none() {
                    return Err(format!(
                        "cannot read the locks of fd {fd} of task {}",
                        t.label
                    ));
                }
                if let Some(locks) = &mut self.locks {
                    fdinfo_locks(&self.buf, inode, id, files, locks)?;
                }
            }
            out.push(FdEntry {
                fd,
                cloexec: info.flags & libc::O_CLOEXEC as u32 != 0,
                ofd: id,
                unobserved,
            });
        }
        Ok(out)
    }
}

/// Adds the locks of the `lock:` lines of one fdinfo text (fs/locks.c `show_fd_locks`, which
/// prints them under the inode's `flc_lock`, so each file's list is a consistent picture)
/// for the fd's `inode` and description `ofd`, in a task whose fd table is of class `files`.
fn fdinfo_locks(
    text: &[u8],
    inode: u64,
    ofd: u64,
    files: Option<u64>,
    out: &mut BTreeSet<FdLock>,
) -> Result<(), String> {
    let text = std::str::from_utf8(text).map_err(|_| "fdinfo is not text".to_string())?;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("lock:") else {
            continue;
        };
        let Some(l) = lock_line(rest) else { continue };
        let owner = match l.kind {
            LockKind::Posix => FdLockOwner::Table(
                files.ok_or_else(|| "a POSIX lock without the fd table's class".to_string())?,
            ),
            LockKind::Ofd | LockKind::Flock => FdLockOwner::Ofd(ofd),
        };
        out.insert(FdLock {
            owner,
            inode,
            kind: l.kind,
            ty: l.ty,
            start: l.start,
            end: l.end,
            pid: l.pid,
        });
    }
    Ok(())
}

/// The locks collected from fdinfo files, each once, with `fl_pid` turned into a label as in
/// [`proc_locks`].
fn held_locks(locks: BTreeSet<FdLock>, leaders: &[(i32, TaskId)]) -> Vec<HeldLock> {
    locks
        .into_iter()
        .map(|l| HeldLock {
            inode: l.inode,
            kind: l.kind,
            ty: l.ty,
            start: l.start,
            end: l.end,
            pid: leaders.iter().find(|p| p.0 == l.pid).map(|p| p.1),
        })
        .collect()
}

/// The fields of one lock line of /proc/locks or of an fdinfo `lock:` line (without the
/// prefix), e.g. `1: POSIX  ADVISORY  WRITE 4711 00:1b:4242 0 EOF`; `None` for waiters
/// (`->`), leases and lines that do not parse.
struct LockLine {
    kind: LockKind,
    ty: LockType,
    pid: i32,
    /// (major, minor, inode number).
    dev_ino: (u64, u64, u64),
    start: i64,
    end: Option<i64>,
}

fn lock_line(line: &str) -> Option<LockLine> {
    let mut it = line.split_whitespace().skip(1);
    let kind = match it.next()? {
        "POSIX" => LockKind::Posix,
        "OFDLCK" => LockKind::Ofd,
        "FLOCK" => LockKind::Flock,
        _ => return None,
    };
    let _advisory = it.next();
    let ty = match it.next() {
        Some("READ") => LockType::Rd,
        Some("WRITE") => LockType::Wr,
        _ => LockType::Un,
    };
    let pid = it.next()?.parse::<i32>().ok()?;
    let mut parts = it.next()?.split(':');
    let (maj, min, ino) = (parts.next()?, parts.next()?, parts.next()?);
    let dev_ino = (
        u64::from_str_radix(maj, 16).ok()?,
        u64::from_str_radix(min, 16).ok()?,
        ino.parse::<u64>().ok()?,
    );
    let start = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let end = it.next().and_then(|s| s.parse().ok());
    Some(LockLine {
        kind,
        ty,
        pid,
        dev_ino,
        start,
        end,
    })
}

/// Access mode, `O_APPEND` and `O_NONBLOCK` of a status-flags word.
fn status_flags(flags: u32) -> (Access, bool, bool) {
    let access = match flags & libc::O_ACCMODE as u32 {
        0 => Access::RdOnly,
        1 => Access::WrOnly,
        _ => Access::RdWr,
    };
    (
        access,
        flags & libc::O_APPEND as u32 != 0,
        flags & libc::O_NONBLOCK as u32 != 0,
    )
}

/// The locks /proc/locks lists on the inodes of `inode_ids` (keyed by `(st_dev, st_ino)`),
/// with `fl_pid` turned into the label of a task of `leaders` (pid, label), or `None` for -1
/// (OFD locks) and for a pid that is no unreaped task of the case. Lines of waiting requests
/// (`->`) and leases are skipped. Format: fs/locks.c `lock_get_status`, e.g.
/// `1: POSIX  ADVISORY  WRITE 4711 00:1b:4242 0 EOF`.
pub fn proc_locks(
    text: &str,
    inode_ids: &HashMap<(u64, u64), u64>,
    leaders: &[(i32, TaskId)],
) -> Vec<HeldLock> {
    let by_dev: HashMap<(u64, u64, u64), u64> = inode_ids
        .iter()
        .map(|(&(dev, ino), &id)| {
            (
                (
                    u64::from(libc::major(dev)),
                    u64::from(libc::minor(dev)),
                    ino,
                ),
                id,
            )
        })
        .collect();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(l) = lock_line(line) else { continue };
        let Some(&inode) = by_dev.get(&l.dev_ino) else {
            continue;
        };
        out.push(HeldLock {
            inode,
            kind: l.kind,
            ty: l.ty,
            start: l.start,
            end: l.end,
            pid: leaders.iter().find(|p| p.0 == l.pid).map(|p| p.1),
        });
    }
    out
}

/// The pages of the four regions as maps and pagemap show them; values read through `mem`
/// (/proc/PID/mem) when given, else left for the task's own loads ([`fill_values`]).
fn memory(
    o: &Observer,
    dir: &ProcDir,
    pages: u32,
    entries: &mut Vec<u64>,
    buf: &mut Vec<u8>,
    mem: Option<&File>,
) -> Vec<RegionView> {
    let spans: Vec<(u64, u64)> = Region::ALL
        .iter()
        .map(|r| {
            let base = page_addr(r.index(), 0);
            (base, base + u64::from(pages) * 4096)
        })
        .collect();
    let ranges = dir
        .open_at(c"maps", libc::O_RDONLY)
        .map_or_else(Vec::new, |mut f| super::vmas::mapped(&mut f, &spans, buf));
    let pm = if o.caps.pagemap {
        dir.open_at(c"pagemap", libc::O_RDONLY)
    } else {
        None
    };
    let mut out = Vec::with_capacity(4);
    for region in Region::ALL {
        let base = page_addr(region.index(), 0);
        let have = pm
            .as_ref()
            .is_some_and(|f| pagemap(f, base, pages as usize, entries));
        let mut v = Vec::with_capacity(pages as usize);
        let mut run = MemRun::default();
        for p in 0..pages as u64 {
            let addr = base + p * 4096;
            let mapped = ranges.iter().any(|&(a, b)| a <= addr && addr < b);
            let e = if have { entries[p as usize] } else { 0 };
            let present = e & PM_PRESENT != 0;
            let pfn = e & PM_PFN;
            let mut page = Page {
                mapped,
                present,
                exclusive: present && e & PM_EXCLUSIVE != 0,
                value: None,
                frame: None,
            };
            if present {
                if let Some(m) = mem {
                    page.value = present_byte(m, &mut run, addr, &entries[p as usize..]);
                }
                if o.caps.pfn && pfn != 0 {
                    page.frame = Some(if Some(pfn) == o.zero_pfn {
                        Frame::Zero
                    } else {
                        Frame::Class(pfn)
                    });
                }
            }
            v.push(page);
        }
        out.push(RegionView { region, pages: v });
    }
    out
}

/// The addresses of the present pages of `regions`, ascending: the pages a task may load
/// without changing what is observed.
fn present_pages(regions: &[RegionView]) -> Vec<u64> {
    let mut v = Vec::new();
    for r in regions {
        for (p, page) in r.pages.iter().enumerate() {
            if page.present {
                v.push(page_addr(r.region.index(), p as u64));
            }
        }
    }
    v
}

/// Puts the bytes a task loaded into its pages.
fn fill_values(regions: &mut [RegionView], loaded: &[(u64, u8)]) {
    for r in regions {
        for (p, page) in r.pages.iter_mut().enumerate() {
            let addr = page_addr(r.region.index(), p as u64);
            if let Some(&(_, b)) = loaded.iter().find(|x| x.0 == addr) {
                page.value = Some(b);
            }
        }
    }
}

/// Asks task `t` about itself (signals, `fds`, the pages at `pages`); `Ok(None)` when the
/// task refused (an observation call failed in it), `Err` when it did not answer at all.
fn ask_task(
    t: &TaskRef,
    fds: &[i32],
    pages: &[u64],
    ask: &mut dyn FnMut(TaskId, Cmd) -> Answer,
) -> Result<Option<SelfView>, String> {
    let cmds = selfobs::commands(fds, pages);
    let mut answers = Vec::with_capacity(cmds.len());
    for c in &cmds {
        match ask(t.label, *c) {
            Answer::Data(d) => answers.push(d),
            Answer::Failed => return Ok(None),
            Answer::Silent => {
                return Err(format!(
                    "task {} did not answer its observation command",
                    t.label
                ))
            }
        }
    }
    selfobs::decode(&cmds, &answers).map(Some)
}

/// Bytes read from /proc/PID/mem for a run of consecutive present pages: one `pread` for the
/// run instead of one per page. Not process_vm_readv, though it would need no open: it pins
/// the pages it reads (FOLL_PIN), and pinning an anonymous page shared copy-on-write makes
/// the kernel unshare it first (mm/gup.c: gup_must_unshare), so the read itself would break
/// the sharing it is there to observe. /proc/PID/mem only takes references (FOLL_GET).
#[derive(Default)]
struct MemRun {
    /// Address of the first page read.
    start: u64,
    /// The run's bytes (empty: nothing read yet, or the read failed).
    bytes: Vec<u8>,
}

/// The first byte of present page `addr`, whose pagemap entry starts `rest`. Only present
/// pages are read: reading an absent page through /proc/PID/mem would fault it in and change
/// what is observed. So the run read at the first page of a run stops before the next absent
/// page.
fn present_byte(mem: &File, run: &mut MemRun, addr: u64, rest: &[u64]) -> Option<u8> {
    let inside = addr >= run.start && addr + 4096 <= run.start + run.bytes.len() as u64;
    if !inside {
        let len = rest
            .iter()
            .take_while(|&&e| e & PM_PRESENT != 0)
            .count()
            .max(1);
        run.start = addr;
        run.bytes.resize(len * 4096, 0);
        if mem.read_exact_at(&mut run.bytes, addr).is_err() {
            run.bytes.clear();
            // One page at a time, as before, if the run cannot be read whole.
            let mut b = [0u8; 1];
            return mem.read_exact_at(&mut b, addr).ok().map(|()| b[0]);
        }
    }
    Some(run.bytes[(addr - run.start) as usize])
}

/// The `Sig*`/`ShdPnd` and `Umask` lines of /proc/PID/status. No mask is applied: the agent
/// itself blocks, ignores and catches nothing (t0 resets every disposition and the mask before
/// the first op, and the pdeath signal is not part of these sets), so every bit is the case's.
fn status_context(dir: &ProcDir, buf: &mut Vec<u8>) -> Option<(SignalView, u32)> {
    dir.read_into(c"status", buf)?;
    let s = std::str::from_utf8(buf).ok()?;
    let mut v = SignalView::default();
    let mut umask = None;
    let mut seen = 0;
    for line in s.lines() {
        let Some((key, val)) = line.split_once(':') else {
            continue;
        };
        let val = val.trim();
        let set = |x: &mut SigSet| -> Option<()> {
            *x = SigSet(u64::from_str_radix(val, 16).ok()?);
            Some(())
        };
        match key {
            "SigPnd" => set(&mut v.pending)?,
            "ShdPnd" => set(&mut v.shared_pending)?,
            "SigBlk" => set(&mut v.blocked)?,
            "SigIgn" => set(&mut v.ignored)?,
            "SigCgt" => set(&mut v.caught)?,
            "Umask" => umask = u32::from_str_radix(val, 8).ok(),
            _ => continue,
        }
        seen += 1;
    }
    (seen == 6).then_some((v, umask?))
}

/// The working directory of the task behind `dir` as one of the case's directories.
fn cwd(dir: &ProcDir, case_dir: &std::path::Path) -> Result<CaseDir, String> {
    let target = readlink_at(dir, c"cwd").ok_or("cannot read a task's cwd")?;
    CaseDir::ALL
        .into_iter()
        .filter(|d| d.is_dir())
        .find(|d| {
            let p = if d.rel_path().is_empty() {
                case_dir.to_path_buf()
            } else {
                case_dir.join(d.rel_path())
            };
            p == target
        })
        .ok_or_else(|| format!("a task's cwd is outside the case's directories: {target:?}"))
}

/// The identities (inode numbers) of a task's namespaces through its pidfd (Linux 6.11:
/// PIDFD_GET_*_NAMESPACE opens each namespace, whose nsfs inode number is its identity, the
/// number /proc/PID/ns/* shows). Cheaper than the /proc links: those make the kernel build
/// nine dentries and inodes per task, and tear them down again when the task is released.
/// `None` where the kernel lacks the ioctls.
fn namespaces_by_pidfd(pidfd: i32) -> Option<NsClasses> {
    // include/uapi/linux/pidfd.h: _IO(PIDFS_IOCTL_MAGIC 0xFF, n).
    let id = |n: u64| -> Option<u64> {
        // SAFETY: a pidfs ioctl without argument; a non-negative result is a new fd we own.
        let fd = unsafe { libc::ioctl(pidfd, (0xFF << 8) | n, 0) };
        if fd < 0 {
            return None;
        }
        // SAFETY: the fd was just opened for us.
        let f = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: fstat fills a zeroed local stat struct.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            (libc::fstat(f.as_raw_fd(), &mut st) == 0).then_some(st.st_ino)
        }
    };
    Some(NsClasses {
        cgroup: id(1)?,
        ipc: id(2)?,
        mnt: id(3)?,
        net: id(4)?,
        pid: id(5)?,
        time: id(7)?,
        user: id(9)?,
        uts: id(10)?,
    })
}

/// The identities (inode numbers) of the task's namespaces, from /proc/PID/ns/*.
fn namespaces(dir: &ProcDir) -> Option<NsClasses> {
    let id = |name: &CStr| -> Option<u64> {
        let t = readlink_at(dir, name)?;
        let s = t.to_str()?;
        s[s.find('[')? + 1..s.find(']')?].parse().ok()
    };
    Some(NsClasses {
        uts: id(c"ns/uts")?,
        pid: id(c"ns/pid")?,
        user: id(c"ns/user")?,
        mnt: id(c"ns/mnt")?,
        ipc: id(c"ns/ipc")?,
        net: id(c"ns/net")?,
        cgroup: id(c"ns/cgroup")?,
        time: id(c"ns/time")?,
    })
}

/// Takes the canonical snapshot of `tasks` (not yet reaped, in label order). `case_dir` is the
/// case directory with symbolic links resolved (how /proc/PID/cwd shows it).
///
/// Every live task that is not blocked observes itself through `ask` ([`selfobs`]): its
/// signal state, its fds' offsets and flags and its present pages' values come from its own
/// system calls. A blocked task cannot answer: those fields come from /proc where
/// [`Observer::proc_trust`] says /proc agrees with the calls, else they are not compared.
pub fn snapshot(
    o: &Observer,
    tasks: &[TaskRef],
    pages: u32,
    case_dir: &std::path::Path,
    ask: &mut dyn FnMut(TaskId, Cmd) -> Answer,
) -> Result<Observed, String> {
    let mut snap = Snapshot::default();
    let mut gone = Vec::new();
    // First pass: identity, so parents and liveness are known before sharing is compared.
    let mut rows: Vec<(TaskRef, Stat)> = Vec::with_capacity(tasks.len());
    let mut dirs: Vec<(TaskId, ProcDir)> = Vec::with_capacity(tasks.len());
    let mut buf = Vec::with_capacity(4096);
    for t in tasks {
        let dir = ProcDir::open(t.pid);
        match dir.as_ref().and_then(|d| d.stat(&mut buf)) {
            Some(s) if s.state != b'X' => {
                rows.push((*t, s));
                dirs.extend(dir.map(|d| (t.label, d)));
            }
            _ => gone.push(t.label),
        }
    }
    let dir_of = |l: TaskId| dirs.iter().find(|d| d.0 == l).map(|d| &d.1);
    let label_of = |pid: i32| {
        rows.iter()
            .find(|(t, _)| t.pid == pid)
            .map(|(t, _)| t.label)
    };
    let mut views = Vec::with_capacity(rows.len());
    for (t, s) in &rows {
        let parent = if s.ppid == o.lab_pid {
            Parent::Reaper
        } else if let Some(l) = label_of(s.ppid) {
            Parent::Task(l)
        } else if !o.caps.orphans {
            // Not a subreaper: an orphan's parent is a reaper outside the lab.
            Parent::Reaper
        } else {
            // The parent is neither the lab nor a task: the pid was reused by a stranger.
            gone.push(t.label);
            continue;
        };
        let state = if s.state == b'Z' {
            TaskState::Zombie(status_of(s.exit_code))
        } else if t.blocked {
            TaskState::Blocked
        } else {
            TaskState::Live
        };
        views.push(TaskView {
            task: t.label,
            parent,
            state,
            exit_signal: o.caps.exit_signal.then_some(Signal(s.exit_signal)),
            sharing: None,
            thread_of: t.thread_of,
            fds: Vec::new(),
            memory: Vec::new(),
            tid_words: Vec::new(),
            signals: None,
            fs_context: None,
            namespaces: None,
            group: None,
        });
    }
    let live: Vec<(usize, TaskRef)> = views
        .iter()
        .enumerate()
        .filter(|(_, v)| !matches!(v.state, TaskState::Zombie(_)))
        .map(|(i, v)| (i, *tasks.iter().find(|t| t.label == v.task).unwrap()))
        .collect();
    // Sharing classes: each live task joins the class of the first earlier task the kernel
    // says shares the object, else starts its own (named by its label).
    if o.caps.kcmp {
        let mut reps: [Vec<(i32, u64)>; 6] = Default::default();
        for (i, t) in &live {
            let mut ids = [None; 6];
            for (k, ty) in KCMP_TYPES.iter().enumerate() {
                let found = reps[k]
                    .iter()
                    .find(|r| kcmp(t.pid, r.0, *ty, 0, 0) == 0)
                    .map(|r| r.1);
                ids[k] = Some(found.unwrap_or_else(|| {
                    reps[k].push((t.pid, t.label as u64));
                    t.label as u64
                }));
            }
            views[*i].sharing = Some(Sharing {
                vm: ids[0],
                files: ids[1],
                fs: ids[2],
                sighand: ids[3],
                io: ids[4],
                sysvsem: ids[5],
            });
        }
    } else {
        for (i, _) in &live {
            views[*i].sharing = Some(Sharing::default());
        }
    }
    // What each live task lists (fds, present pages), then what it says about them.
    let mut entries = Vec::new();
    let mut prepared: Vec<(Vec<i32>, Vec<RegionView>, Option<SelfView>)> =
        Vec::with_capacity(live.len());
    for (_, t) in &live {
        let Some(d) = dir_of(t.label) else {
            prepared.push(Default::default());
            continue;
        };
        let fds = case_fds(d, o.fds_ascending);
        let mem = if t.blocked && o.proc_trust.mem {
            d.open_at(c"mem", libc::O_RDONLY)
        } else {
            None
        };
        let mut regions = memory(o, d, pages, &mut entries, &mut buf, mem.as_ref());
        let answers = if t.blocked {
            None
        } else {
            let present = present_pages(&regions);
            let a = ask_task(t, &fds, &present, ask)?;
            if let Some(a) = &a {
                fill_values(&mut regions, &a.pages);
            }
            a
        };
        prepared.push((fds, regions, answers));
    }
    {
        // Locks are read per file from fdinfo (each file's list printed under its inode's
        // lock) rather than from /proc/locks: that is one list of every lock of the machine,
        // read in chunks, in which other processes taking and dropping locks between two
        // reads shift entries so that one is listed twice or not at all. fdinfo tells POSIX
        // locks of tasks sharing an fd table apart only by that table's kcmp class, so
        // without kcmp /proc/locks stays the source.
        let by_fdinfo = o.caps.locks && o.caps.kcmp;
        let mut walk = FdWalk {
            kcmp: o.caps.kcmp,
            pipe_size: o.caps.pipe_size,
            reps: Vec::new(),
            inode_ids: HashMap::new(),
            snap: &mut snap,
            buf: std::mem::take(&mut buf),
            locks: by_fdinfo.then(BTreeSet::new),
            unobserved_ofds: Vec::new(),
        };
        for ((i, t), (fds, _, answers)) in live.iter().zip(&prepared) {
            if let Some(d) = dir_of(t.label) {
                let files = views[*i].sharing.and_then(|s| s.files);
                let a = answers.as_ref().map(|a| &a.fds[..]);
                views[*i].fds = walk.task(t, d, fds, a, o.proc_trust.fdinfo, files)?;
            }
        }
        buf = walk.buf;
        if o.caps.locks {
            // fl_pid is a thread group id: the pid of the group's leader.
            // A task found gone (released at exit: its parent ignores SIGCHLD) names
            // nobody any more, as in the model.
            let leaders: Vec<(i32, TaskId)> = tasks
                .iter()
                .filter(|t| t.thread_of.is_none() && !gone.contains(&t.label))
                .map(|t| (t.pid, t.label))
                .collect();
            walk.snap.locks = match walk.locks {
                Some(locks) => held_locks(locks, &leaders),
                None => {
                    let text = std::fs::read_to_string("/proc/locks")
                        .map_err(|e| format!("reading /proc/locks: {e}"))?;
                    proc_locks(&text, &walk.inode_ids, &leaders)
                }
            };
        }
    }
    let mut namespaces_seen = Vec::new();
    let mut groups = Vec::new();
    for ((i, t), (_, regions, answers)) in live.iter().zip(prepared) {
        views[*i].memory = regions;
        if let Some((pgrp, sid)) = answers.as_ref().and_then(|a| a.group) {
            if pgrp >= 0 && sid >= 0 {
                groups.push((t.label, pgrp, sid));
            }
        }
        if let Some(d) = dir_of(t.label) {
            if o.caps.signals || o.caps.fs_context {
                let (mut sig, umask) = status_context(d, &mut buf)
                    .ok_or_else(|| format!("cannot read the status of task {}", t.label))?;
                if o.caps.signals {
                    views[*i].signals = match answers.as_ref().and_then(|a| a.signals) {
                        Some(own) => {
                            sig.blocked = SigSet(own.blocked);
                            sig.ignored = SigSet(own.ignored);
                            sig.caught = SigSet(own.caught);
                            sig.asked_pending = Some(SigSet(own.sigpending));
                            sig.unknown = SigSet(own.unknown);
                            Some(sig)
                        }
                        None if o.proc_trust.signals => Some(sig),
                        // Not asked, and /proc is not known to tell the truth.
                        None => None,
                    };
                }
                if o.caps.fs_context {
                    views[*i].fs_context = Some(FsView {
                        cwd: cwd(d, case_dir)?,
                        umask,
                    });
                }
            }
            if o.caps.namespaces {
                let ns = t
                    .namespaces
                    .or_else(|| {
                        t.pidfd
                            .filter(|_| super::facility::get().pidfd_ns)
                            .and_then(namespaces_by_pidfd)
                    })
                    .or_else(|| namespaces(d))
                    .ok_or_else(|| format!("cannot read the namespaces of task {}", t.label))?;
                views[*i].namespaces = Some(ns);
                namespaces_seen.push((t.label, ns));
            }
        }
    }
    snap.tasks = views;
    snap.canonicalize();
    Ok(Observed {
        snapshot: snap,
        gone,
        namespaces: namespaces_seen,
        groups,
    })
}

#[cfg(test)]
mod lock_tests {
    use super::*;

    #[test]
    fn proc_locks_lines_parse() {
        let dev = libc::makedev(0, 0x1b);
        let ids = HashMap::from([((dev, 42), 3), ((dev, 43), 4)]);
        let text = "1: POSIX  ADVISORY  WRITE 100 00:1b:42 0 EOF\n\
                    1: -> POSIX  ADVISORY  WRITE 101 00:1b:42 0 EOF\n\
                    2: OFDLCK ADVISORY  READ -1 00:1b:43 2 5\n\
                    3: FLOCK  ADVISORY  WRITE 7 00:1b:43 0 EOF\n\
                    4: POSIX  ADVISORY  READ 100 08:01:42 0 EOF\n";
        let locks = proc_locks(text, &ids, &[(100, 0)]);
        assert_eq!(
            locks,
            vec![
                HeldLock {
                    inode: 3,
                    kind: LockKind::Posix,
                    ty: LockType::Wr,
                    start: 0,
                    end: None,
                    pid: Some(0),
                },
                HeldLock {
                    inode: 4,
                    kind: LockKind::Ofd,
                    ty: LockType::Rd,
                    start: 2,
                    end: Some(5),
                    pid: None,
                },
                HeldLock {
                    inode: 4,
                    kind: LockKind::Flock,
                    ty: LockType::Wr,
                    start: 0,
                    end: None,
                    pid: None,
                },
            ]
        );
    }
}

#[cfg(test)]
mod fdinfo_lock_tests {
    use super::*;

    const FDINFO: &[u8] = b"pos:\t0\nflags:\t02\nmnt_id:\t25\nino:\t42\n\
        lock:\t1: FLOCK  ADVISORY  WRITE 7 00:1b:42 0 EOF\n\
        lock:\t2: POSIX  ADVISORY  READ 100 00:1b:42 4 9\n";

    fn lock(kind: LockKind, ty: LockType, start: i64, end: Option<i64>, pid: i32) -> HeldLock {
        let pid = [(100, 0), (7, 1)].iter().find(|l| l.0 == pid).map(|l| l.1);
        HeldLock {
            inode: 3,
            kind,
            ty,
            start,
            end,
            pid,
        }
    }

    #[test]
    fn a_lock_seen_through_several_fds_counts_once() {
        let mut set = BTreeSet::new();
        // The same description through two fds of one table, then of a task sharing it.
        for _ in 0..3 {
            fdinfo_locks(FDINFO, 3, 5, Some(0), &mut set).unwrap();
        }
        assert_eq!(
            held_locks(set, &[(100, 0), (7, 1)]),
            vec![
                lock(LockKind::Posix, LockType::Rd, 4, Some(9), 100),
                lock(LockKind::Flock, LockType::Wr, 0, None, 7),
            ]
        );
    }

    #[test]
    fn equal_posix_locks_of_two_fd_tables_are_two_locks() {
        // Two threads of one group with fd tables of their own hold equal read locks.
        let mut set = BTreeSet::new();
        fdinfo_locks(FDINFO, 3, 5, Some(0), &mut set).unwrap();
        fdinfo_locks(FDINFO, 3, 5, Some(2), &mut set).unwrap();
        let locks = held_locks(set, &[(100, 0), (7, 1)]);
        let posix = lock(LockKind::Posix, LockType::Rd, 4, Some(9), 100);
        assert_eq!(locks.iter().filter(|l| **l == posix).count(), 2);
        // The flock lock belongs to the description: still one.
        assert_eq!(locks.len(), 3);
    }

    #[test]
    fn flock_locks_of_two_descriptions_are_two_locks() {
        let mut set = BTreeSet::new();
        fdinfo_locks(FDINFO, 3, 5, Some(0), &mut set).unwrap();
        fdinfo_locks(FDINFO, 3, 6, Some(0), &mut set).unwrap();
        assert_eq!(held_locks(set, &[]).len(), 3);
    }

    #[test]
    fn a_posix_lock_needs_the_table_class() {
        let mut set = BTreeSet::new();
        assert!(fdinfo_locks(FDINFO, 3, 5, None, &mut set).is_err());
        let mut set = BTreeSet::new();
        let no_locks = b"pos:\t0\nflags:\t02\n";
        fdinfo_locks(no_locks, 3, 5, None, &mut set).unwrap();
        assert!(set.is_empty());
    }
}
