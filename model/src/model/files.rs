//! Files: the case directory's regular files, pipes, open file descriptions (OFDs) and fd
//! tables.
//!
//! An fd refers to an OFD (offset and status flags, shared by dup and fork); an OFD refers to
//! an inode. An OFD lives while some fd of a task that has not exited refers to it, and a pipe
//! end counts as open while its OFD lives (fs/pipe.c counts `readers`/`writers` per open
//! file, released on the last fput).

use super::tasks::BlockedOp;
use super::Model;
use crate::obs::{self, Errno, FdEntry, InodeKind, Outcome, Signal, Snapshot};
use crate::op::{
    data_file_byte, Access, FcntlCmd, Fd, FileName, FlockOp, OpenFlags, TaskId, Whence, PAGE_SIZE,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The soft `RLIMIT_NOFILE` of case tasks (the Linux default; the lab's own fds sit at 1024
/// and above, out of reach): fd allocation fails with EMFILE past it, `dup2`/`dup3` to an fd
/// at or above it fail with EBADF and `F_DUPFD` with EINVAL (fs/file.c: alloc_fd, ksys_dup3;
/// fs/fcntl.c: f_dupfd).
pub const NOFILE: Fd = 1024;

/// Largest file size on ext4 with 4 KiB blocks and extents: `s_maxbytes` =
/// `(2^32 - 1) * 4096` (fs/ext4/super.c: ext4_max_size).
pub const EXT4_MAX_BYTES: u64 = 0xffff_ffff * PAGE_SIZE;

/// Largest file size on tmpfs: `MAX_LFS_FILESIZE` (mm/shmem.c: shmem_fill_super).
pub const TMPFS_MAX_BYTES: u64 = i64::MAX as u64;

/// Pipe capacity in buffers (pages): the default `pipe_max_size` of 16 pages (fs/pipe.c).
pub const PIPE_BUFFERS: usize = 16;

/// Reads longer than this are modelled as this long (the op language caps them at 64 bytes;
/// the cap only bounds the model's memory for out-of-contract ops).
const READ_CAP: u64 = 1 << 20;

/// `O_APPEND` in `F_GETFL`.
const O_APPEND: i64 = 0o2000;
/// `O_NONBLOCK` in `F_GETFL`.
const O_NONBLOCK: i64 = 0o4000;
/// `O_LARGEFILE` in `F_GETFL`: open(2) forces it on 64-bit (fs/open.c: build_open_how →
/// force_o_largefile), pipe2(2) does not set it (fs/pipe.c: create_pipe_files passes only
/// the access mode and O_NONBLOCK).
const O_LARGEFILE: i64 = 0o100000;

/// The inode of `data`, the file behind the two file-backed regions.
const DATA_INODE: u64 = 0;

/// One slot of an fd table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FdSlot {
    pub(super) ofd: u64,
    cloexec: bool,
}

/// A task's fd table.
pub(super) type FdTable = BTreeMap<Fd, FdSlot>;

/// Content of a regular file, sparse: bytes written since set-up, over the initial content
/// (`data_file_byte` below `base_len` for `data`, zeros elsewhere).
#[derive(Clone, Debug)]
struct FileData {
    size: u64,
    base_len: u64,
    written: BTreeMap<u64, u8>,
}

impl FileData {
    fn byte(&self, off: u64) -> u8 {
        if off >= self.size {
            return 0;
        }
        match self.written.get(&off) {
            Some(&b) => b,
            None if off < self.base_len => data_file_byte(off),
            None => 0,
        }
    }

    fn write(&mut self, off: u64, data: &[u8]) {
        for (i, &b) in data.iter().enumerate() {
            self.written.insert(off + i as u64, b);
        }
        self.size = self.size.max(off + data.len() as u64);
    }

    /// Bytes past a shrink are gone: extending again reads zeros (truncate(2)).
    fn truncate(&mut self, len: u64) {
        if len < self.size {
            self.written.split_off(&len);
            self.base_len = self.base_len.min(len);
        }
        self.size = len;
    }
}

/// One pipe buffer: a page holding `data` from page offset `offset` on.
#[derive(Clone, Debug)]
struct PipeBuf {
    offset: usize,
    data: Vec<u8>,
}

/// A pipe's ring of buffers (fs/pipe.c).
#[derive(Clone, Debug, Default)]
struct Pipe {
    bufs: VecDeque<PipeBuf>,
}

impl Pipe {
    fn len(&self) -> u64 {
        self.bufs.iter().map(|b| b.data.len() as u64).sum()
    }

    /// pipe_read: copies from the oldest buffers; a buffer read empty is released.
    fn read(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while out.len() < len {
            let Some(front) = self.bufs.front_mut() else {
                break;
            };
            let k = (len - out.len()).min(front.data.len());
            out.extend(front.data.drain(..k));
            front.offset += k;
            if front.data.is_empty() {
                self.bufs.pop_front();
            }
        }
        out
    }

    /// pipe_write with readers present. A write whose sub-page tail fits in the last buffer
    /// is merged into it (only when the pipe is not empty); the rest goes into new buffers of
    /// up to one page while fewer than [`PIPE_BUFFERS`] are in use ([`Pipe::fill`]).
    /// Returns the outcome and how many bytes went in.
    fn write(&mut self, data: &[u8], nonblock: bool) -> (Outcome, usize) {
        let page = PAGE_SIZE as usize;
        let total = data.len();
        let mut written = 0;
        let chars = total & (page - 1);
        if chars != 0 {
            if let Some(last) = self.bufs.back_mut() {
                if last.offset + last.data.len() + chars <= page {
                    last.data.extend_from_slice(&data[..chars]);
                    written = chars;
                }
            }
        }
        written += self.fill(&data[written..]);
        let outcome = if written == total {
            Outcome::Ret(written as i64)
        } else if !nonblock {
            Outcome::Blocked
        } else if written == 0 {
            Outcome::Err(Errno::EAGAIN)
        } else {
            Outcome::Ret(written as i64)
        };
        (outcome, written)
    }

    /// The loop of pipe_write: new buffers of up to a page while the pipe is not full
    /// (a blocked writer resumes here, without merging). Returns the bytes taken.
    fn fill(&mut self, data: &[u8]) -> usize {
        let page = PAGE_SIZE as usize;
        let mut written = 0;
        while written < data.len() && self.bufs.len() < PIPE_BUFFERS {
            let k = (data.len() - written).min(page);
            self.bufs.push_back(PipeBuf {
                offset: 0,
                data: data[written..written + k].to_vec(),
            });
            written += k;
        }
        written
    }
}

#[derive(Clone, Debug)]
enum Inode {
    File {
        name: FileName,
        data: FileData,
    },
    Pipe(Pipe),
    /// The inode of pidfds (fs/pidfs.c: one inode per pid since 6.9, before the one
    /// anonymous inode; the file has no read, write or llseek operations).
    Pidfd,
}

/// What a pidfd description refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PidfdRef {
    /// The task whose `struct pid` the description holds (an exec by a non-leader thread
    /// hands its group's pid to that thread: [`Files::swap_pidfd_tasks`]).
    pub(super) task: TaskId,
    /// Opened with `PIDFD_THREAD` (= `O_EXCL`, kept in `f_flags`, which F_GETFL shows): the
    /// pidfd of a thread, not of its thread group.
    pub(super) thread: bool,
}

/// Whether pidfds are pidfs files (Linux 6.9+, commit cb12fd8e0dab "pidfd: add pidfs"):
/// one inode per pid, a regular-file mode, opened by dentry_open.
pub(super) fn pidfs(p: &crate::profile::Profile) -> bool {
    p.kernel_at_least(6, 9)
}

/// An open file description.
#[derive(Clone, Copy, Debug)]
struct OfdState {
    inode: u64,
    offset: u64,
    access: Access,
    append: bool,
    nonblock: bool,
}

/// Inodes, the case directory and the open file descriptions.
#[derive(Clone, Debug)]
pub(super) struct Files {
    /// `s_maxbytes` of the case directory's filesystem: writes at or past it fail with EFBIG
    /// (mm/filemap.c: generic_write_check_limits), seeks past it with EINVAL
    /// (fs/read_write.c: vfs_setpos), truncation past it with EFBIG (fs/attr.c:
    /// inode_newsize_ok).
    max_bytes: u64,
    inodes: BTreeMap<u64, Inode>,
    dir: BTreeMap<FileName, u64>,
    ofds: BTreeMap<u64, OfdState>,
    next_inode: u64,
    next_ofd: u64,
    /// Record locks and flock locks, per inode.
    pub(super) locks: super::locks::Locks,
    /// The task each pidfd description refers to (its `struct pid`), by description.
    pidfd_tasks: BTreeMap<u64, PidfdRef>,
}

impl Files {
    /// The case directory at set-up: `data` of `data_size` bytes; `a` and `b` absent.
    pub(super) fn new(data_size: u64, max_bytes: u64) -> Files {
        let mut inodes = BTreeMap::new();
        inodes.insert(
            DATA_INODE,
            Inode::File {
                name: FileName::Data,
                data: FileData {
                    size: data_size,
                    base_len: data_size,
                    written: BTreeMap::new(),
                },
            },
        );
        Files {
            max_bytes,
            inodes,
            dir: BTreeMap::from([(FileName::Data, DATA_INODE)]),
            ofds: BTreeMap::new(),
            next_inode: DATA_INODE + 1,
            next_ofd: 0,
            locks: Default::default(),
            pidfd_tasks: BTreeMap::new(),
        }
    }

    fn file(&self, ino: u64) -> Option<&FileData> {
        match self.inodes.get(&ino) {
            Some(Inode::File { data, .. }) => Some(data),
            _ => None,
        }
    }

    fn file_mut(&mut self, ino: u64) -> Option<&mut FileData> {
        match self.inodes.get_mut(&ino) {
            Some(Inode::File { data, .. }) => Some(data),
            _ => None,
        }
    }

    fn pipe_mut(&mut self, ino: u64) -> Option<&mut Pipe> {
        match self.inodes.get_mut(&ino) {
            Some(Inode::Pipe(p)) => Some(p),
            _ => None,
        }
    }

    fn is_pipe(&self, ino: u64) -> bool {
        matches!(self.inodes.get(&ino), Some(Inode::Pipe(_)))
    }

    /// Whether the description `ofd` still exists.
    pub(super) fn has_ofd(&self, ofd: u64) -> bool {
        self.ofds.contains_key(&ofd)
    }

    fn is_pidfd(&self, ino: u64) -> bool {
        matches!(self.inodes.get(&ino), Some(Inode::Pidfd))
    }

    // rule: pidfd.pidfs-inode
    /// A new pidfd and its `O_RDWR` description (kernel/pid.c: pidfd_prepare). With pidfs
    /// (`pidfs`: Linux 6.9+, commit cb12fd8e0dab "pidfd: add pidfs") every pid has an inode
    /// of its own, and each pidfd of the model names a new child. Before, pidfds were
    /// anonymous-inode files (fs/anon_inodes.c: anon_inode_getfile("[pidfd]")), and every
    /// anonymous-inode file shares the one `anon_inode_inode`: all pidfds are one inode.
    /// The pidfs inode is the pid's, whichever call made the pidfd (fs/pidfs.c:
    /// pidfs_alloc_file → path_from_stashed on `pid->stashed`): a second pidfd of the same
    /// pid (pidfd_open, or pidfd_open of a CLONE_PIDFD child) shares it.
    pub(super) fn new_pidfd(&mut self, r: PidfdRef, nonblock: bool, pidfs: bool) -> u64 {
        let shared = if pidfs {
            self.pidfd_tasks
                .iter()
                .filter(|(_, x)| x.task == r.task)
                .find_map(|(ofd, _)| self.ofds.get(ofd).map(|o| o.inode))
        } else {
            self.inodes
                .iter()
                .find(|(_, i)| matches!(i, Inode::Pidfd))
                .map(|(&ino, _)| ino)
        };
        let ino = match shared {
            Some(ino) => ino,
            None => {
                let ino = self.next_inode;
                self.next_inode += 1;
                self.inodes.insert(ino, Inode::Pidfd);
                ino
            }
        };
        let ofd = self.new_ofd(ino, Access::RdWr, false, nonblock);
        self.pidfd_tasks.insert(ofd, r);
        ofd
    }

    /// What pidfd description `ofd` refers to, if it is one.
    pub(super) fn pidfd_ref(&self, ofd: u64) -> Option<PidfdRef> {
        self.pidfd_tasks.get(&ofd).copied()
    }

    /// de_thread's `exchange_tids`: a non-leader thread `t` that execs takes its group
    /// leader `leader`'s `struct pid`, and the old leader (released) takes `t`'s, so the
    /// pidfds of either now refer to the other task.
    pub(super) fn swap_pidfd_tasks(&mut self, t: TaskId, leader: TaskId) {
        for r in self.pidfd_tasks.values_mut() {
            if r.task == t {
                r.task = leader;
            } else if r.task == leader {
                r.task = t;
            }
        }
    }

    /// Size of `data`.
    pub(super) fn data_size(&self) -> u64 {
        self.file(DATA_INODE).map_or(0, |d| d.size)
    }

    /// Byte at `off` of `data` (0 past EOF).
    pub(super) fn data_byte(&self, off: u64) -> u8 {
        self.file(DATA_INODE).map_or(0, |d| d.byte(off))
    }

    /// A store through a shared mapping of `data` (inside EOF: the caller checked).
    pub(super) fn data_write_byte(&mut self, off: u64, b: u8) {
        if let Some(d) = self.file_mut(DATA_INODE) {
            if off < d.size {
                d.written.insert(off, b);
            }
        }
    }

    fn new_ofd(&mut self, inode: u64, access: Access, append: bool, nonblock: bool) -> u64 {
        let id = self.next_ofd;
        self.next_ofd += 1;
        self.ofds.insert(
            id,
            OfdState {
                inode,
                offset: 0,
                access,
                append,
                nonblock,
            },
        );
        id
    }

    /// Snapshot entries of an fd table, sorted by fd.
    pub(super) fn fd_entries(fds: &FdTable) -> Vec<FdEntry> {
        fds.iter()
            .map(|(&fd, s)| FdEntry {
                fd,
                cloexec: s.cloexec,
                ofd: s.ofd,
                unobserved: false,
            })
            .collect()
    }

    /// Adds every OFD and every inode reachable from one to `snap`.
    pub(super) fn snapshot_into(&self, snap: &mut Snapshot) {
        let mut used = BTreeSet::new();
        for (&id, o) in &self.ofds {
            let pipe = self.is_pipe(o.inode);
            snap.ofds.push(obs::Ofd {
                id,
                inode: o.inode,
                offset: if pipe { 0 } else { o.offset },
                access: o.access,
                append: o.append,
                nonblock: o.nonblock,
            });
            used.insert(o.inode);
        }
        for ino in used {
            let (kind, size) = match self.inodes.get(&ino) {
                Some(Inode::File { name, data }) => (InodeKind::File(*name), data.size),
                Some(Inode::Pipe(p)) => (InodeKind::Pipe, p.len()),
                Some(Inode::Pidfd) => (InodeKind::Pidfd, 0),
                None => continue,
            };
            snap.inodes.push(obs::Inode {
                id: ino,
                kind,
                size: Some(size),
            });
        }
    }

    /// Drops OFDs no fd of a task that has not exited refers to (the last fput), and pipes
    /// no OFD refers to.
    /// Whether [`Files::collect_garbage`] would drop nothing (a check for debug builds).
    pub(super) fn has_no_garbage(&self, tables: &[&FdTable], held: &[u64]) -> bool {
        let live: BTreeSet<u64> = tables
            .iter()
            .flat_map(|t| t.values().map(|s| s.ofd))
            .chain(held.iter().copied())
            .collect();
        let inodes: BTreeSet<u64> = self.ofds.values().map(|o| o.inode).collect();
        self.ofds.keys().all(|id| live.contains(id))
            && self
                .inodes
                .iter()
                .all(|(id, i)| matches!(i, Inode::File { .. }) || inodes.contains(id))
    }

    /// Drops the descriptions no fd of `tables` refers to and no call in progress holds
    /// (`held`), then the pipes and locks they leave behind; returns whether it dropped any.
    pub(super) fn collect_garbage(&mut self, tables: &[&FdTable], held: &[u64]) -> bool {
        let live: BTreeSet<u64> = tables
            .iter()
            .flat_map(|t| t.values().map(|s| s.ofd))
            .chain(held.iter().copied())
            .collect();
        let before = self.ofds.len();
        self.ofds.retain(|id, _| live.contains(id));
        let inodes: BTreeSet<u64> = self.ofds.values().map(|o| o.inode).collect();
        self.inodes
            .retain(|id, i| matches!(i, Inode::File { .. }) || inodes.contains(id));
        let (ofds, inodes) = (&self.ofds, &self.inodes);
        self.locks
            .retain(|o| ofds.contains_key(&o), |i| inodes.contains_key(&i));
        self.ofds.len() != before
    }
}

impl Model {
    fn slot(&self, t: TaskId, fd: Fd) -> Option<FdSlot> {
        self.fdt(t).get(&fd).copied()
    }

    fn ofd_of(&self, t: TaskId, fd: Fd) -> Option<(u64, OfdState)> {
        let s = self.slot(t, fd)?;
        self.files.ofds.get(&s.ofd).map(|o| (s.ofd, *o))
    }

    // rule: fd.lowest-free
    /// Lowest fd ≥ `min` not in the table, if below [`NOFILE`] (fs/file.c: alloc_fd).
    pub(super) fn lowest_free(&self, t: TaskId, min: Fd) -> Option<Fd> {
        let fds = self.fdt(t);
        (min.max(0)..NOFILE).find(|fd| !fds.contains_key(fd))
    }

    pub(super) fn install(&mut self, t: TaskId, fd: Fd, ofd: u64, cloexec: bool) {
        self.fdt_mut(t).insert(fd, FdSlot { ofd, cloexec });
    }

    /// Whether some task that has not exited holds an fd on an OFD of pipe `ino` with a
    /// read end (`write == false`) or a write end.
    fn pipe_end_open(&self, ino: u64, write: bool) -> bool {
        self.live_fdts()
            .into_iter()
            .flat_map(|t| t.values().map(|s| s.ofd))
            .chain(super::tasks::in_flight_ofds(self))
            .filter_map(|o| self.files.ofds.get(&o))
            .any(|o| {
                o.inode == ino
                    && if write {
                        o.access.writable()
                    } else {
                        o.access.readable()
                    }
            })
    }

    /// Sets the size of a regular file; shrinking `data` unmaps its pages past the new EOF
    /// everywhere ([`Model::truncate_data_mappings`]).
    fn file_truncate(&mut self, ino: u64, len: u64) {
        let Some(d) = self.files.file_mut(ino) else {
            return;
        };
        let old = d.size;
        d.truncate(len);
        if ino == DATA_INODE && len < old {
            self.truncate_data_mappings(len);
        }
    }

    /// Reads of `data`. On ext4 they go through the page cache: the pages read are cached
    /// afterwards (readahead of further pages is not modelled). tmpfs reads of pages not in
    /// the cache (holes) copy the zero page and cache nothing (mm/shmem.c:
    /// shmem_file_read_iter).
    fn file_read(&mut self, ino: u64, pos: u64, len: u64) -> Vec<u8> {
        let Some(d) = self.files.file(ino) else {
            return Vec::new();
        };
        let n = len.min(READ_CAP).min(d.size.saturating_sub(pos));
        let out: Vec<u8> = (0..n).map(|i| d.byte(pos + i)).collect();
        if ino == DATA_INODE && n > 0 && self.case_fs == super::CaseFs::Ext4 {
            for p in pos / PAGE_SIZE..=(pos + n - 1) / PAGE_SIZE {
                self.mem.pcache_frame(p);
            }
        }
        out
    }

    /// Buffered write: the pages written are in the page cache afterwards.
    fn file_write(&mut self, ino: u64, pos: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if let Some(d) = self.files.file_mut(ino) {
            d.write(pos, data);
        }
        if ino == DATA_INODE {
            let last = pos + data.len() as u64 - 1;
            for p in pos / PAGE_SIZE..=last / PAGE_SIZE {
                self.mem.pcache_frame(p);
            }
        }
    }

    // rule: fd.open-new-description
    // rule: fd.open-trunc-read-only-truncates
    /// `openat(dir, name, flags, 0600)` (open(2)).
    ///
    /// The fd is reserved first (fs/open.c: do_sys_openat2 → get_unused_fd_flags), so
    /// EMFILE wins over ENOENT. Missing without O_CREAT: ENOENT; O_CREAT|O_EXCL on an
    /// existing file: EEXIST. O_TRUNC truncates an existing regular file whatever the access
    /// mode, O_RDONLY included (fs/namei.c: do_open sets do_truncate for O_TRUNC on a regular
    /// file that was not just created; the owner has write permission); a file it creates is
    /// not truncated. The new OFD starts at offset 0 with the access mode, O_APPEND and
    /// O_NONBLOCK; FD_CLOEXEC comes from O_CLOEXEC.
    pub(super) fn op_open(&mut self, t: TaskId, file: FileName, flags: OpenFlags) -> Outcome {
        let Some(fd) = self.lowest_free(t, 0) else {
            return Outcome::Err(Errno::EMFILE);
        };
        let ino = match self.files.dir.get(&file) {
            Some(&ino) => {
                if flags.creat && flags.excl {
                    return Outcome::Err(Errno::EEXIST);
                }
                if flags.trunc {
                    self.file_truncate(ino, 0);
                }
                ino
            }
            None => {
                if !flags.creat {
                    return Outcome::Err(Errno::ENOENT);
                }
                let ino = self.files.next_inode;
                self.files.next_inode += 1;
                self.files.inodes.insert(
                    ino,
                    Inode::File {
                        name: file,
                        data: FileData {
                            size: 0,
                            base_len: 0,
                            written: BTreeMap::new(),
                        },
                    },
                );
                self.files.dir.insert(file, ino);
                ino
            }
        };
        let ofd = self
            .files
            .new_ofd(ino, flags.access, flags.append, flags.nonblock);
        self.install(t, fd, ofd, flags.cloexec);
        Outcome::Ret(i64::from(fd))
    }

    // rule: fd.close-per-table
    /// `close(fd)`: EBADF when not open. Only this task's table changes (close(2)).
    pub(super) fn op_close(&mut self, t: TaskId, fd: Fd) -> Outcome {
        let Some((_, o)) = self.ofd_of(t, fd) else {
            return Outcome::Err(Errno::EBADF);
        };
        self.fdt_mut(t).remove(&fd);
        self.locks_on_close(t, o.inode);
        Outcome::Ret(0)
    }

    /// Sets `FD_CLOEXEC` on every open fd of `t` in `first..=last`.
    pub(super) fn cloexec_range(&mut self, t: TaskId, first: Fd, last: Fd) {
        for (_, s) in self.fdt_mut(t).range_mut(first..=last) {
            s.cloexec = true;
        }
    }

    /// Closes every `FD_CLOEXEC` fd of `t`'s table, lowest first, as close(2) would
    /// (fs/file.c: do_close_on_exec → filp_close).
    pub(super) fn close_on_exec(&mut self, t: TaskId) {
        let fds: Vec<Fd> = self
            .fdt(t)
            .iter()
            .filter(|(_, s)| s.cloexec)
            .map(|(fd, _)| *fd)
            .collect();
        for fd in fds {
            self.op_close(t, fd);
        }
    }

    /// `dup(fd)`: the lowest free fd, same OFD, FD_CLOEXEC clear (dup(2)).
    pub(super) fn op_dup(&mut self, t: TaskId, fd: Fd) -> Outcome {
        let Some(s) = self.slot(t, fd) else {
            return Outcome::Err(Errno::EBADF);
        };
        let Some(new) = self.lowest_free(t, 0) else {
            return Outcome::Err(Errno::EMFILE);
        };
        self.install(t, new, s.ofd, false);
        Outcome::Ret(i64::from(new))
    }

    // rule: fd.dup-family
    /// `dup2(old, new)` (dup(2); fs/file.c): `old == new` returns `new` when `old` is open,
    /// else EBADF; otherwise like `dup3(old, new, 0)`.
    pub(super) fn op_dup2(&mut self, t: TaskId, old: Fd, new: Fd) -> Outcome {
        if old == new {
            return match self.slot(t, old) {
                Some(_) => Outcome::Ret(i64::from(new)),
                None => Outcome::Err(Errno::EBADF),
            };
        }
        self.op_dup3(t, old, new, false)
    }

    /// `dup3(old, new, flags)` (fs/file.c: ksys_dup3, in this order): `old == new` EINVAL;
    /// `new` outside `[0, RLIMIT_NOFILE)` EBADF (the kernel takes it unsigned); `old` not
    /// open EBADF. `new` is closed silently if open; FD_CLOEXEC from the flag.
    pub(super) fn op_dup3(&mut self, t: TaskId, old: Fd, new: Fd, cloexec: bool) -> Outcome {
        if old == new {
            return Outcome::Err(Errno::EINVAL);
        }
        if !(0..NOFILE).contains(&new) {
            return Outcome::Err(Errno::EBADF);
        }
        let Some(s) = self.slot(t, old) else {
            return Outcome::Err(Errno::EBADF);
        };
        // The fd replaced is closed (fs/file.c do_dup2 → filp_close).
        let replaced = self.ofd_of(t, new).map(|(_, o)| o.inode);
        self.install(t, new, s.ofd, cloexec);
        if let Some(inode) = replaced {
            self.locks_on_close(t, inode);
        }
        Outcome::Ret(i64::from(new))
    }

    // rule: pidfd.pidfs-inode
    /// The checks read-like (`write == false`) and write-like ops share, in Linux's order:
    /// pread/pwrite's `pos < 0` (EINVAL) before the fd (EBADF); a pidfd has neither a read
    /// nor a write method (pidfs files are opened by dentry_open, which grants
    /// FMODE_PREAD/PWRITE: vfs_read/vfs_write say EINVAL); a positioned op on a pipe is
    /// ESPIPE before the access mode is checked (ksys_pread64/ksys_pwrite64); then the
    /// access mode (EBADF). Gives the description, its state and whether it is a pipe.
    fn rw_target(
        &self,
        t: TaskId,
        fd: Fd,
        pos: Option<i64>,
        write: bool,
    ) -> Result<(u64, OfdState, bool), Outcome> {
        if pos.is_some_and(|p| p < 0) {
            return Err(Outcome::Err(Errno::EINVAL));
        }
        let Some((id, o)) = self.ofd_of(t, fd) else {
            return Err(Outcome::Err(Errno::EBADF));
        };
        if self.files.is_pidfd(o.inode) {
            // Before pidfs (Linux 6.9, cb12fd8e0dab) a pidfd came from anon_inode_getfile,
            // which does not grant FMODE_PREAD/FMODE_PWRITE: a positioned op is ESPIPE
            // (fs/read_write.c: ksys_pread64); read and write are EINVAL either way.
            if pos.is_some() && !pidfs(&self.profile) {
                return Err(Outcome::Err(Errno::ESPIPE));
            }
            return Err(Outcome::Err(Errno::EINVAL));
        }
        let pipe = self.files.is_pipe(o.inode);
        if pipe && pos.is_some() {
            return Err(Outcome::Err(Errno::ESPIPE));
        }
        let permitted = if write {
            o.access.writable()
        } else {
            o.access.readable()
        };
        if !permitted {
            return Err(Outcome::Err(Errno::EBADF));
        }
        Ok((id, o, pipe))
    }

    // rule: fd.read-moves-shared-offset
    // rule: fd.pread-keeps-offset
    /// `read(fd, buf, len)` (`pos == None`) or `pread(fd, buf, len, pos)`.
    ///
    /// pread checks `pos < 0` (EINVAL) before the fd, and answers ESPIPE on a pipe before
    /// checking the access mode (fs/read_write.c: ksys_pread64); then not open for reading:
    /// EBADF (vfs_read); `pos + len` overflowing: EINVAL (rw_verify_area). Regular files
    /// return the bytes between the offset and EOF; read advances the OFD offset, pread does
    /// not. Pipes: see [`Model::pipe_read`].
    pub(super) fn op_read(&mut self, t: TaskId, fd: Fd, len: u32, pos: Option<i64>) -> Outcome {
        let (id, o, pipe) = match self.rw_target(t, fd, pos, false) {
            Ok(v) => v,
            Err(e) => return e,
        };
        if pipe {
            return self.pipe_read(id, o, len);
        }
        let at = pos.map_or(o.offset, |p| p as u64);
        if (at as i64).checked_add(i64::from(len)).is_none() {
            return Outcome::Err(Errno::EINVAL);
        }
        let data = self.file_read(o.inode, at, u64::from(len));
        if pos.is_none() {
            if let Some(ofd) = self.files.ofds.get_mut(&id) {
                ofd.offset = at + data.len() as u64;
            }
        }
        Outcome::Data(data)
    }

    // rule: pipe.eof-after-every-writer
    // rule: pipe.empty-read-blocks-or-eagain
    /// pipe_read (fs/pipe.c): `len == 0` returns at once; available bytes up to `len`; an
    /// empty pipe reads EOF when no write end is open anywhere, else EAGAIN with O_NONBLOCK
    /// on the reader's OFD, else blocks.
    fn pipe_read(&mut self, id: u64, o: OfdState, len: u32) -> Outcome {
        if len == 0 {
            return Outcome::Data(Vec::new());
        }
        let empty = match self.files.inodes.get(&o.inode) {
            Some(Inode::Pipe(p)) => p.bufs.is_empty(),
            _ => true,
        };
        if empty {
            return if !self.pipe_end_open(o.inode, true) {
                Outcome::Data(Vec::new())
            } else if o.nonblock {
                Outcome::Err(Errno::EAGAIN)
            } else {
                self.pending_block = Some(BlockedOp::PipeRead { ofd: id, len });
                Outcome::Blocked
            };
        }
        let data = self
            .files
            .pipe_mut(o.inode)
            .map_or_else(Vec::new, |p| p.read(len as usize));
        Outcome::Data(data)
    }

    // rule: pipe.write-without-reader-sigpipe
    // rule: fd.append-writes-at-eof
    /// `write(fd, data)` (`pos == None`) or `pwrite(fd, data, pos)`.
    ///
    /// Check order as for reads (pwrite: EINVAL for `pos < 0`, EBADF, ESPIPE on pipes, then
    /// EBADF when not open for writing). An empty write returns 0 and changes nothing (for
    /// pipes before the reader check: pipe_write returns early, no SIGPIPE). Regular files:
    /// O_APPEND writes at EOF, for pwrite too (pwrite(2) BUGS; mm/filemap.c:
    /// generic_write_checks_count sets `ki_pos = i_size` for IOCB_APPEND); at or past
    /// the filesystem's maximum file size EFBIG, else the write is cut at it. write advances the offset to the
    /// end of the data written, pwrite leaves it.
    /// Pipes: no read end open anywhere → SIGPIPE to the writing thread and EPIPE; with the
    /// default disposition the task dies before it sees EPIPE — except the init of a pid
    /// namespace, which ignores a signal with the default action sent from inside its
    /// namespace (kernel/signal.c sig_task_ignored: SIGNAL_UNKILLABLE); a blocked SIGPIPE
    /// stays pending, an ignored or caught one lets EPIPE through; else [`Pipe::write`].
    pub(super) fn op_write(&mut self, t: TaskId, fd: Fd, data: &[u8], pos: Option<i64>) -> Outcome {
        let (id, o, pipe) = match self.rw_target(t, fd, pos, true) {
            Ok(v) => v,
            Err(e) => return e,
        };
        if pipe {
            if data.is_empty() {
                return Outcome::Ret(0);
            }
            if !self.pipe_end_open(o.inode, false) {
                // pipe_write: send_sig(SIGPIPE, current, 0), then EPIPE; the signal's
                // disposition decides whether the caller lives to see it.
                self.send_signal(t, Signal::SIGPIPE.0, false, false);
                return Outcome::Err(Errno::EPIPE);
            }
            let Some(pipe) = self.files.pipe_mut(o.inode) else {
                return Outcome::Err(Errno::EBADF);
            };
            let (outcome, written) = pipe.write(data, o.nonblock);
            if outcome == Outcome::Blocked {
                self.pending_block = Some(BlockedOp::PipeWrite {
                    ofd: id,
                    rest: data[written..].to_vec(),
                });
            }
            return outcome;
        }
        let requested = pos.map_or(o.offset, |p| p as u64);
        if (requested as i64).checked_add(data.len() as i64).is_none() {
            return Outcome::Err(Errno::EINVAL);
        }
        if data.is_empty() {
            return Outcome::Ret(0);
        }
        let at = if o.append {
            self.files.file(o.inode).map_or(0, |d| d.size)
        } else {
            requested
        };
        let max = self.files.max_bytes;
        if at >= max {
            return Outcome::Err(Errno::EFBIG);
        }
        let n = (data.len() as u64).min(max - at) as usize;
        self.file_write(o.inode, at, &data[..n]);
        if pos.is_none() {
            if let Some(ofd) = self.files.ofds.get_mut(&id) {
                ofd.offset = at + n as u64;
            }
        }
        Outcome::Ret(n as i64)
    }

    /// `lseek(fd, offset, whence)` (lseek(2); fs/read_write.c: generic_file_llseek_size):
    /// EBADF; ESPIPE on pipes; a result below 0 (or overflowing) or above
    /// the filesystem's maximum file size is EINVAL; seeking past EOF is allowed.
    pub(super) fn op_lseek(&mut self, t: TaskId, fd: Fd, offset: i64, whence: Whence) -> Outcome {
        let Some((id, o)) = self.ofd_of(t, fd) else {
            return Outcome::Err(Errno::EBADF);
        };
        if self.files.is_pipe(o.inode) || self.files.is_pidfd(o.inode) {
            return Outcome::Err(Errno::ESPIPE);
        }
        let size = self.files.file(o.inode).map_or(0, |d| d.size);
        let new = match whence {
            Whence::Set => Some(offset),
            Whence::Cur => (o.offset as i64).checked_add(offset),
            Whence::End => (size as i64).checked_add(offset),
        };
        match new {
            Some(n) if n >= 0 && n as u64 <= self.files.max_bytes => {
                if let Some(ofd) = self.files.ofds.get_mut(&id) {
                    ofd.offset = n as u64;
                }
                Outcome::Ret(n)
            }
            _ => Outcome::Err(Errno::EINVAL),
        }
    }

    // rule: clone.pidfd-thread-flag
    // rule: fd.status-flags-shared-cloexec-per-fd
    /// `fcntl(fd, cmd, ...)` (fcntl(2); fs/fcntl.c). EBADF first. F_GETFL reports the access
    /// mode, O_APPEND, O_NONBLOCK and, for files opened by open(2), O_LARGEFILE (O_CLOEXEC
    /// is never in `f_flags`: fs/open.c build_open_flags strips it). F_SETFL changes O_APPEND
    /// and O_NONBLOCK of the OFD, for every fd and task sharing it. F_DUPFD[_CLOEXEC]: `min`
    /// outside `[0, RLIMIT_NOFILE)` EINVAL (taken unsigned), else the lowest free fd ≥ `min`.
    /// The task pidfd `fd` of `t` refers to, and whether its description is `O_NONBLOCK`
    /// (kernel/pid.c: pidfd_get_pid): EBADF for an fd that is not open or not a pidfd.
    pub(super) fn pidfd_target(&self, t: TaskId, fd: Fd) -> Result<(TaskId, bool), Errno> {
        let s = self.slot(t, fd).ok_or(Errno::EBADF)?;
        let o = self.files.ofds.get(&s.ofd).ok_or(Errno::EBADF)?;
        let r = self.files.pidfd_tasks.get(&s.ofd).ok_or(Errno::EBADF)?;
        Ok((r.task, o.nonblock))
    }

    /// The `revents` of `poll` with `POLLIN` on description `ofd` of a file or a pipe
    /// (see [`Model::op_poll`]).
    pub(super) fn file_poll(&self, ofd: u64) -> i64 {
        use super::pidfd::{POLLERR, POLLHUP, POLLIN};
        let Some(o) = self.files.ofds.get(&ofd).copied() else {
            return 0;
        };
        match self.files.inodes.get(&o.inode) {
            Some(Inode::Pipe(p)) => {
                let mut v = 0;
                if o.access.readable() {
                    if !p.bufs.is_empty() {
                        v |= POLLIN;
                    }
                    if !self.pipe_end_open(o.inode, true) {
                        v |= POLLHUP;
                    }
                }
                if o.access.writable() && !self.pipe_end_open(o.inode, false) {
                    v |= POLLERR;
                }
                v
            }
            _ => POLLIN,
        }
    }

    pub(super) fn op_fcntl(&mut self, t: TaskId, fd: Fd, cmd: FcntlCmd) -> Outcome {
        let Some(s) = self.slot(t, fd) else {
            return Outcome::Err(Errno::EBADF);
        };
        let Some(o) = self.files.ofds.get(&s.ofd).copied() else {
            return Outcome::Err(Errno::EBADF);
        };
        match cmd {
            FcntlCmd::GetFd => Outcome::Ret(i64::from(s.cloexec)),
            FcntlCmd::SetFd { cloexec } => {
                self.install(t, fd, s.ofd, cloexec);
                Outcome::Ret(0)
            }
            FcntlCmd::GetFl => {
                let mut v = match o.access {
                    Access::RdOnly => 0,
                    Access::WrOnly => 1,
                    Access::RdWr => 2,
                };
                if o.append {
                    v |= O_APPEND;
                }
                if o.nonblock {
                    v |= O_NONBLOCK;
                }
                // pipe2 and pidfds do not go through open(2)'s force_o_largefile.
                if !self.files.is_pipe(o.inode) && !self.files.is_pidfd(o.inode) {
                    v |= O_LARGEFILE;
                }
                // A CLONE_THREAD child's pidfd is a thread pidfd: kernel/fork.c copy_process
                // passes PIDFD_THREAD (O_EXCL) to pidfd_prepare, and it stays in f_flags.
                if self.files.pidfd_ref(s.ofd).is_some_and(|r| r.thread) {
                    v |= 0o200;
                }
                Outcome::Ret(v)
            }
            FcntlCmd::SetFl { append, nonblock } => {
                if let Some(ofd) = self.files.ofds.get_mut(&s.ofd) {
                    ofd.append = append;
                    ofd.nonblock = nonblock;
                }
                Outcome::Ret(0)
            }
            FcntlCmd::SetLk { .. }
            | FcntlCmd::GetLk { .. }
            | FcntlCmd::OfdSetLk { .. }
            | FcntlCmd::OfdGetLk { .. } => self.op_record_lock(t, s.ofd, o.inode, o.access, cmd),
            FcntlCmd::DupFd { min } | FcntlCmd::DupFdCloexec { min } => {
                if !(0..NOFILE).contains(&min) {
                    return Outcome::Err(Errno::EINVAL);
                }
                let Some(new) = self.lowest_free(t, min) else {
                    return Outcome::Err(Errno::EMFILE);
                };
                let cloexec = matches!(cmd, FcntlCmd::DupFdCloexec { .. });
                self.install(t, new, s.ofd, cloexec);
                Outcome::Ret(i64::from(new))
            }
        }
    }

    /// `flock(fd, op)`: EBADF when `fd` is not open, else [`Model::op_flock`].
    pub(super) fn op_flock_fd(
        &mut self,
        t: TaskId,
        fd: Fd,
        op: FlockOp,
        nonblock: bool,
    ) -> Outcome {
        let Some((id, o)) = self.ofd_of(t, fd) else {
            return Outcome::Err(Errno::EBADF);
        };
        self.op_flock(t, id, o.inode, op, nonblock)
    }

    /// `pipe2(fds, flags)` (pipe(2)): the two lowest free fds, read end first; two OFDs
    /// (O_RDONLY and O_WRONLY, both with O_NONBLOCK if asked) on one new pipe; EMFILE when
    /// two fds are not free.
    pub(super) fn op_pipe2(&mut self, t: TaskId, cloexec: bool, nonblock: bool) -> Outcome {
        let Some(r) = self.lowest_free(t, 0) else {
            return Outcome::Err(Errno::EMFILE);
        };
        let fds = self.fdt(t);
        let Some(w) = (r + 1..NOFILE).find(|fd| !fds.contains_key(fd)) else {
            return Outcome::Err(Errno::EMFILE);
        };
        let ino = self.files.next_inode;
        self.files.next_inode += 1;
        self.files.inodes.insert(ino, Inode::Pipe(Pipe::default()));
        let ro = self.files.new_ofd(ino, Access::RdOnly, false, nonblock);
        let wo = self.files.new_ofd(ino, Access::WrOnly, false, nonblock);
        self.install(t, r, ro, cloexec);
        self.install(t, w, wo, cloexec);
        Outcome::Pipe([r, w])
    }

    // rule: pidfd.pidfs-inode
    // rule: fd.ftruncate-rules
    /// `ftruncate(fd, len)` (ftruncate(2); fs/open.c: do_sys_ftruncate, do_ftruncate):
    /// `len < 0` EINVAL (checked before the fd); EBADF; not a regular file or not open for
    /// writing EINVAL; past the filesystem's maximum file size EFBIG. Offsets do not move.
    pub(super) fn op_ftruncate(&mut self, t: TaskId, fd: Fd, len: i64) -> Outcome {
        if len < 0 {
            return Outcome::Err(Errno::EINVAL);
        }
        let Some((_, o)) = self.ofd_of(t, fd) else {
            return Outcome::Err(Errno::EBADF);
        };
        if self.files.is_pipe(o.inode) || !o.access.writable() {
            return Outcome::Err(Errno::EINVAL);
        }
        if self.files.is_pidfd(o.inode) {
            // Before pidfs (Linux 6.9, cb12fd8e0dab) the anonymous inode has no file type
            // in its mode, so do_ftruncate's `!S_ISREG` check answers EINVAL.
            if !pidfs(&self.profile) {
                return Outcome::Err(Errno::EINVAL);
            }
            // A pidfs inode has a regular-file mode but refuses attribute changes
            // (fs/pidfs.c: pidfs_setattr returns EOPNOTSUPP); without O_LARGEFILE a length
            // above 2^31 - 1 is EINVAL first (fs/open.c: do_ftruncate).
            return Outcome::Err(if len > i64::from(i32::MAX) {
                Errno::EINVAL
            } else {
                Errno::EOPNOTSUPP
            });
        }
        if len as u64 > self.files.max_bytes {
            return Outcome::Err(Errno::EFBIG);
        }
        self.file_truncate(o.inode, len as u64);
        Outcome::Ret(0)
    }

    /// A reader blocked on pipe OFD `ofd` re-checks (fs/pipe.c: pipe_read sleeps until the
    /// pipe has data or no writer is left): returns true when it completes (it then takes up
    /// to `len` bytes, or sees EOF).
    pub(super) fn pipe_read_wakes(&mut self, ofd: u64, len: u32) -> bool {
        let Some(o) = self.files.ofds.get(&ofd).copied() else {
            return true;
        };
        let has_data =
            matches!(self.files.inodes.get(&o.inode), Some(Inode::Pipe(p)) if !p.bufs.is_empty());
        if has_data {
            if let Some(p) = self.files.pipe_mut(o.inode) {
                p.read(len as usize);
            }
            return true;
        }
        !self.pipe_end_open(o.inode, true)
    }

    /// A writer blocked on pipe OFD `ofd` with `rest` still to write re-checks: no reader
    /// left → it dies of SIGPIPE (`Err(())`); else it writes what fits and returns the bytes
    /// still to write (`Ok(empty)` when done).
    pub(super) fn pipe_write_wakes(&mut self, ofd: u64, rest: &[u8]) -> Result<Vec<u8>, ()> {
        let Some(o) = self.files.ofds.get(&ofd).copied() else {
            return Ok(Vec::new());
        };
        if !self.pipe_end_open(o.inode, false) {
            return Err(());
        }
        let n = self
            .files
            .pipe_mut(o.inode)
            .map_or(rest.len(), |p| p.fill(rest));
        Ok(rest[n..].to_vec())
    }
}
