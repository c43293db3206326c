//! File locks (fs/locks.c): record locks set with `fcntl` and whole-file `flock` locks.
//!
//! Every inode has two lists, as in the kernel's `file_lock_context`:
//! - the record locks (`flc_posix`), where process-associated locks (`F_SETLK`, owned by the
//!   fd table: `fl_owner = current->files`) and open-file-description locks (`F_OFD_SETLK`,
//!   owned by the description) live side by side, in the kernel's list order, which decides
//!   which conflicting lock `F_GETLK` reports;
//! - the `flock` locks (`flc_flock`), owned by the description and independent of the record
//!   locks.
//!
//! Only the non-blocking commands exist for record locks; `flock` without `LOCK_NB` blocks
//! while a conflicting lock is held ([`super::tasks::BlockedOp::Flock`]). A waiter sleeps on
//! the first conflicting lock and retries when that lock goes (unlocked, converted or
//! dropped), in label order when several wait; Linux wakes them all and each retries when it
//! next runs, so cases with several waiters are not deterministic (the generator keeps one
//! sleeper at a time).

use super::Model;
use crate::obs::{Errno, LockOwner, LockReport, Outcome};
use crate::op::{FcntlCmd, FlockArg, FlockOp, LockType, TaskId};
use std::collections::BTreeMap;

/// `OFFSET_MAX`: the end of a lock that runs to the end of the file.
const OFFSET_MAX: i64 = i64::MAX;

/// Who owns a record lock (`fl_owner`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RecordOwner {
    /// A process-associated lock: the fd table (an index into `Model::fdts`).
    Table(usize),
    /// An open-file-description lock: the description.
    Ofd(u64),
}

/// One held record lock (or a request for one, with `ty == Un` for an unlock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Record {
    owner: RecordOwner,
    /// `fl_pid`: the thread group (its leader's label) of the task that set it.
    pid: TaskId,
    ty: LockType,
    start: i64,
    /// Inclusive; [`OFFSET_MAX`] for "to the end of the file".
    end: i64,
}

impl Record {
    fn overlaps(&self, o: &Record) -> bool {
        self.end >= o.start && o.end >= self.start
    }

    /// posix_locks_conflict: another owner's lock over part of the range, one of the two a
    /// write lock.
    fn conflicts(&self, held: &Record) -> bool {
        self.owner != held.owner
            && self.overlaps(held)
            && (self.ty == LockType::Wr || held.ty == LockType::Wr)
    }

    /// posix_test_locks_conflict: a test with `F_UNLCK` (only `F_OFD_GETLK` accepts it)
    /// finds the caller's own lock over the range; any other test finds a conflict.
    fn tested_by(&self, held: &Record) -> bool {
        if self.ty == LockType::Un {
            self.owner == held.owner && self.overlaps(held)
        } else {
            self.conflicts(held)
        }
    }
}

/// One `flock` lock: owned by the description it was taken through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FlockLock {
    ofd: u64,
    exclusive: bool,
    /// `fl_pid`: the thread group of the task that took it.
    pid: TaskId,
    /// Which lock this is (a conversion makes a new one): what a waiter is blocked on.
    serial: u64,
}

/// Every inode's record locks and flock locks.
#[derive(Clone, Debug, Default)]
pub(super) struct Locks {
    records: BTreeMap<u64, Vec<Record>>,
    flocks: BTreeMap<u64, Vec<FlockLock>>,
    /// The serial of the next flock lock.
    next_serial: u64,
}

impl Locks {
    /// locks_remove_posix: an unlock of the whole file for `owner`.
    fn unlock_all(&mut self, inode: u64, owner: RecordOwner) {
        if let Some(list) = self.records.get_mut(&inode) {
            list.retain(|r| r.owner != owner);
        }
    }

    /// Thread group `from` is now named `to` (an exec by a non-leader thread takes over the
    /// leader's pid: fs/exec.c `de_thread` → `exchange_tids`).
    pub(super) fn relabel_pid(&mut self, from: TaskId, to: TaskId) {
        for r in self.records.values_mut().flatten() {
            if r.pid == from {
                r.pid = to;
            }
        }
        for l in self.flocks.values_mut().flatten() {
            if l.pid == from {
                l.pid = to;
            }
        }
    }

    /// The fd table `table` is gone (the last task using it exited): close_files closes
    /// every fd, and each close drops the table's record locks on that file.
    pub(super) fn drop_table(&mut self, table: usize) {
        for list in self.records.values_mut() {
            list.retain(|r| r.owner != RecordOwner::Table(table));
        }
    }

    /// Keeps the locks of the descriptions `live` accepts and of the inodes `inode_live`
    /// accepts: the last reference to a description drops its OFD and flock locks
    /// (fs/file_table.c `__fput` → fs/locks.c `locks_remove_file`).
    pub(super) fn retain(&mut self, live: impl Fn(u64) -> bool, inode_live: impl Fn(u64) -> bool) {
        for list in self.records.values_mut() {
            list.retain(|r| match r.owner {
                RecordOwner::Ofd(o) => live(o),
                RecordOwner::Table(_) => true,
            });
        }
        for list in self.flocks.values_mut() {
            list.retain(|l| live(l.ofd));
        }
        self.records
            .retain(|&ino, list| !list.is_empty() && inode_live(ino));
        self.flocks
            .retain(|&ino, list| !list.is_empty() && inode_live(ino));
    }

    /// The first lock in list order that `req` finds (posix_test_lock).
    fn test(&self, inode: u64, req: &Record) -> Option<Record> {
        self.records
            .get(&inode)?
            .iter()
            .find(|held| req.tested_by(held))
            .copied()
    }

    /// posix_lock_inode without FL_SLEEP: EAGAIN on the first conflict, else the request
    /// is merged into the owner's locks.
    fn set(&mut self, inode: u64, req: Record) -> Result<(), Errno> {
        let list = self.records.entry(inode).or_default();
        if req.ty != LockType::Un && list.iter().any(|held| req.conflicts(held)) {
            return Err(Errno::EAGAIN);
        }
        apply_record(list, req);
        Ok(())
    }

    /// flock_lock_inode: the description's old lock goes first (so a conversion that then
    /// meets a conflict leaves the description without any lock), then the conflict check.
    /// On a conflict, `Err` with the first conflicting lock in list order: the one a
    /// sleeping request is blocked on (`locks_insert_block`).
    fn flock(&mut self, inode: u64, ofd: u64, op: FlockOp, pid: TaskId) -> Result<(), u64> {
        let list = self.flocks.entry(inode).or_default();
        let exclusive = op == FlockOp::Ex;
        if let Some(i) = list.iter().position(|l| l.ofd == ofd) {
            if op != FlockOp::Un && list[i].exclusive == exclusive {
                return Ok(());
            }
            list.remove(i);
        }
        if op == FlockOp::Un {
            return Ok(());
        }
        if let Some(l) = list
            .iter()
            .find(|l| l.ofd != ofd && (l.exclusive || exclusive))
        {
            return Err(l.serial);
        }
        self.next_serial += 1;
        list.push(FlockLock {
            ofd,
            exclusive,
            pid,
            serial: self.next_serial,
        });
        Ok(())
    }

    /// Whether flock lock `serial` of `inode` is still held (unchanged).
    fn flock_held(&self, inode: u64, serial: u64) -> bool {
        self.flocks
            .get(&inode)
            .is_some_and(|l| l.iter().any(|l| l.serial == serial))
    }
}

/// Merges `req` into the locks of its owner, keeping the kernel's list order
/// (fs/locks.c `posix_lock_inode`): an owner's locks are contiguous in the list and sorted
/// by start; a lock of the request's type that overlaps or touches it absorbs it (keeping
/// its own `fl_pid`); a lock of another type loses the covered part (a lock covering the
/// request on both sides is split in two); a new owner's first lock goes to the end.
fn apply_record(list: &mut Vec<Record>, mut req: Record) {
    let mut i = list
        .iter()
        .position(|r| r.owner == req.owner)
        .unwrap_or(list.len());
    // Where the request lives once it is in the list (merged into or replacing a lock).
    let mut placed: Option<usize> = None;
    // An unlock counts as done once it met a lock.
    let mut added = false;
    let mut left: Option<usize> = None;
    let mut right: Option<usize> = None;
    while i < list.len() && list[i].owner == req.owner {
        let fl = list[i];
        if fl.ty == req.ty {
            if fl.end < req.start.saturating_sub(1) {
                i += 1;
                continue;
            }
            if fl.start.saturating_sub(1) > req.end {
                break;
            }
            req.start = req.start.min(fl.start);
            req.end = req.end.max(fl.end);
            match placed {
                Some(p) => {
                    list[p].start = req.start;
                    list[p].end = req.end;
                    list.remove(i);
                }
                None => {
                    list[i].start = req.start;
                    list[i].end = req.end;
                    req = list[i];
                    placed = Some(i);
                    added = true;
                    i += 1;
                }
            }
            continue;
        }
        if fl.end < req.start {
            i += 1;
            continue;
        }
        if fl.start > req.end {
            break;
        }
        if req.ty == LockType::Un {
            added = true;
        }
        if fl.start < req.start {
            left = Some(i);
        }
        if fl.end > req.end {
            right = Some(i);
            break;
        }
        if fl.start >= req.start {
            if added {
                list.remove(i);
                continue;
            }
            list[i] = req;
            placed = Some(i);
            added = true;
        }
        i += 1;
    }
    // New locks go before the entry the walk stopped at (`i`).
    let anchor = i;
    let shift = |x: usize| if x >= anchor { x + 1 } else { x };
    if !added {
        if req.ty == LockType::Un {
            return;
        }
        list.insert(anchor, req);
        left = left.map(shift);
        right = right.map(shift);
    }
    if let Some(r) = right {
        if left == Some(r) {
            // The request cuts one lock in two: the left part is a copy of it, placed
            // before the request (or, for an unlock, before the right part).
            let copy = list[r];
            list.insert(anchor, copy);
            left = Some(anchor);
            right = Some(r + 1);
        }
    }
    if let Some(r) = right {
        list[r].start = req.end + 1;
    }
    if let Some(l) = left {
        list[l].end = req.start - 1;
    }
}

/// flock64_to_posix_lock with `SEEK_SET`: the byte range `[start, end]`.
fn range(a: &FlockArg) -> Result<(i64, i64), Errno> {
    let start = a.start;
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    match a.len {
        0 => Ok((start, OFFSET_MAX)),
        len if len > 0 => {
            if len - 1 > OFFSET_MAX - start {
                return Err(Errno::EOVERFLOW);
            }
            Ok((start, start + (len - 1)))
        }
        len => {
            if start + len < 0 {
                return Err(Errno::EINVAL);
            }
            Ok((start + len, start - 1))
        }
    }
}

impl Model {
    // rule: lock.close-drops-process-locks
    /// The record locks `t` owns through its fd table on the file of `fd`'s description are
    /// dropped: a close of any fd of the file, by any task sharing the table (fs/open.c
    /// `filp_flush` → fs/locks.c `locks_remove_posix`).
    pub(super) fn locks_on_close(&mut self, t: TaskId, inode: u64) {
        let table = self.tasks[t as usize].files;
        self.files
            .locks
            .unlock_all(inode, RecordOwner::Table(table));
    }

    // rule: lock.ofd-getlk-unlck-since-6.6
    // rule: lock.posix-owned-by-fd-table
    // rule: lock.ofd-owned-by-description
    // rule: lock.setlk-checks
    // rule: lock.getlk-first-conflict
    /// `fcntl(fd, F_SETLK | F_GETLK | F_OFD_SETLK | F_OFD_GETLK, &flock)` on the description
    /// `ofd` of inode `inode` opened with `access` (fs/fcntl.c `do_fcntl`; fs/locks.c
    /// `fcntl_setlk`, `fcntl_getlk`).
    ///
    /// F_GETLK accepts only `F_RDLCK`/`F_WRLCK` (EINVAL), F_OFD_GETLK also `F_UNLCK`, which
    /// looks for the description's own lock. Then the range: a negative start, or a
    /// negative length reaching below 0, is EINVAL, a range past `OFFSET_MAX` EOVERFLOW. A
    /// set checks the open mode next (`F_RDLCK` needs read, `F_WRLCK` write access: EBADF;
    /// fs/locks.c `check_fmode_for_setlk`), then the OFD commands require `l_pid == 0`
    /// (EINVAL). A set that meets another owner's overlapping lock where either is a write
    /// lock fails with EAGAIN. A get reports the first lock in the inode's list that would
    /// conflict (posix_test_lock), with `l_pid` the setter's thread group as the caller's pid
    /// namespace sees it, -1 for an OFD lock (fs/locks.c `locks_translate_pid`).
    pub(super) fn op_record_lock(
        &mut self,
        t: TaskId,
        ofd: u64,
        inode: u64,
        access: crate::op::Access,
        cmd: FcntlCmd,
    ) -> Outcome {
        let Some(arg) = cmd.lock().copied() else {
            return Outcome::Err(Errno::EINVAL);
        };
        let ofd_cmd = matches!(cmd, FcntlCmd::OfdSetLk { .. } | FcntlCmd::OfdGetLk { .. });
        let set = matches!(cmd, FcntlCmd::SetLk { .. } | FcntlCmd::OfdSetLk { .. });
        if matches!(cmd, FcntlCmd::GetLk { .. }) && arg.ty == LockType::Un {
            return Outcome::Err(Errno::EINVAL);
        }
        // F_OFD_GETLK accepts F_UNLCK since Linux 6.6 (commit 6c9007f65d14 "fs/locks:
        // F_UNLCK extension for F_OFD_GETLK"); before, fcntl_getlk refused every type but
        // F_RDLCK and F_WRLCK first, for both commands.
        if matches!(cmd, FcntlCmd::OfdGetLk { .. })
            && arg.ty == LockType::Un
            && !self.profile.kernel_at_least(6, 6)
        {
            return Outcome::Err(Errno::EINVAL);
        }
        let (start, end) = match range(&arg) {
            Ok(r) => r,
            Err(e) => return Outcome::Err(e),
        };
        if set {
            let permitted = match arg.ty {
                LockType::Rd => access.readable(),
                LockType::Wr => access.writable(),
                LockType::Un => true,
            };
            if !permitted {
                return Outcome::Err(Errno::EBADF);
            }
        }
        if ofd_cmd && arg.pid != 0 {
            return Outcome::Err(Errno::EINVAL);
        }
        let owner = if ofd_cmd {
            RecordOwner::Ofd(ofd)
        } else {
            RecordOwner::Table(self.tasks[t as usize].files)
        };
        let req = Record {
            owner,
            pid: self.tasks[t as usize].tgid,
            ty: arg.ty,
            start,
            end,
        };
        if set {
            return match self.files.locks.set(inode, req) {
                Ok(()) => Outcome::Ret(0),
                Err(e) => Outcome::Err(e),
            };
        }
        let Some(held) = self.files.locks.test(inode, &req) else {
            return Outcome::Lock(LockReport::Unlocked);
        };
        let owners = self.lock_owner(t, &held);
        let report = |owner| {
            Outcome::Lock(LockReport::Held {
                ty: held.ty,
                start: held.start,
                len: if held.end == OFFSET_MAX {
                    0
                } else {
                    held.end - held.start + 1
                },
                owner,
            })
        };
        self.also_allowed = owners[1..].iter().map(|&o| report(o)).collect();
        report(owners[0])
    }

    // rule: lock.getlk-pid-translation
    /// `l_pid` of a reported lock for a caller `t` (fs/locks.c `locks_translate_pid`): -1
    /// for an OFD lock; else the setter's thread group when it has a pid in the caller's
    /// pid namespace, 0 when not. Once the setter is reaped its pid is free: a caller in a
    /// nested namespace sees 0, and a caller in the lab's namespace sees the old number
    /// when that namespace is the initial one (no translation) or 0 when it is not, a fact
    /// of the environment this model does not know, so both are allowed.
    fn lock_owner(&self, t: TaskId, held: &Record) -> Vec<LockOwner> {
        if let RecordOwner::Ofd(_) = held.owner {
            return vec![LockOwner::Ofd];
        }
        let ns = self.tasks[t as usize].pidns;
        let owner = held.pid;
        if !self.in_pidns(owner as usize, ns) {
            return vec![LockOwner::Invisible];
        }
        if self.tasks[owner as usize].reaped {
            return if ns == 0 {
                vec![LockOwner::Task(owner), LockOwner::Invisible]
            } else {
                vec![LockOwner::Invisible]
            };
        }
        vec![LockOwner::Task(owner)]
    }

    // rule: lock.flock-owned-by-description
    // rule: lock.flock-conversion-not-atomic
    /// `flock(fd, op)` on description `ofd` of `inode` (flock(2); fs/locks.c `sys_flock`,
    /// `flock_lock_inode`). Every description here is open for reading or writing, so no
    /// EBADF past the fd lookup. A lock of the type the description already holds changes
    /// nothing; otherwise its old lock is removed first, then a lock of another description
    /// that conflicts (either exclusive) makes `LOCK_NB` fail with EWOULDBLOCK (= EAGAIN) and
    /// a blocking call wait. flock locks never meet record locks.
    pub(super) fn op_flock(
        &mut self,
        t: TaskId,
        ofd: u64,
        inode: u64,
        op: FlockOp,
        nonblock: bool,
    ) -> Outcome {
        let pid = self.tasks[t as usize].tgid;
        match self.files.locks.flock(inode, ofd, op, pid) {
            Ok(()) => Outcome::Ret(0),
            Err(_) if nonblock => Outcome::Err(Errno::EAGAIN),
            Err(blocker) => {
                self.pending_block = Some(super::tasks::BlockedOp::Flock {
                    ofd,
                    inode,
                    exclusive: op == FlockOp::Ex,
                    pid,
                    blocker,
                });
                Outcome::Blocked
            }
        }
    }

    // rule: lock.flock-waiter-retries-when-its-blocker-goes
    /// A task blocked in `flock` sleeps until the lock it is blocked on goes away (unlocked,
    /// converted, or dropped with its description's last reference: fs/locks.c
    /// `locks_delete_lock_ctx` → `locks_wake_up_blocks`); other locks coming and going do
    /// not wake it. Woken, it retries the whole call, which converts its description's own
    /// lock first (so a lock another task took meanwhile through the same description is
    /// dropped even when the retry meets a conflict and sleeps again, on that new
    /// conflict). True when it got the lock. The call holds its description (rule
    /// fd.blocked-call-holds-its-description): another task's close of the fd leaves it
    /// waiting, and the lock it then gets goes when the call lets go of the description.
    /// Only a call restarted after a stop can find the description gone: it ends (EBADF).
    pub(super) fn flock_wakes(
        &mut self,
        label: TaskId,
        ofd: u64,
        inode: u64,
        exclusive: bool,
        blocker: u64,
    ) -> bool {
        if !self.files.has_ofd(ofd) {
            return true;
        }
        if self.files.locks.flock_held(inode, blocker) {
            return false;
        }
        let op = if exclusive { FlockOp::Ex } else { FlockOp::Sh };
        let pid = self.tasks[label as usize].tgid;
        match self.files.locks.flock(inode, ofd, op, pid) {
            Ok(()) => true,
            Err(next) => {
                if let Some(super::tasks::BlockedOp::Flock { blocker, .. }) =
                    &mut self.tasks[label as usize].blocked_on
                {
                    *blocker = next;
                }
                false
            }
        }
    }

    // rule: lock.proc-locks-view
    /// The locks of the snapshot, as /proc/locks shows them (fs/locks.c `lock_get_status`):
    /// kind, type, range (`EOF` for a lock to the end of the file; flock locks cover the
    /// whole file), and `fl_pid`, which is -1 for OFD locks and, for a thread group that was
    /// reaped, a number that may be free (shown here as no task).
    pub(super) fn lock_views(&self, snap: &mut crate::obs::Snapshot) {
        use crate::obs::{HeldLock, LockKind};
        let pid = |p: TaskId| (!self.tasks[p as usize].reaped).then_some(p);
        for (&inode, list) in &self.files.locks.records {
            for r in list {
                let (kind, pid) = match r.owner {
                    RecordOwner::Table(_) => (LockKind::Posix, pid(r.pid)),
                    RecordOwner::Ofd(_) => (LockKind::Ofd, None),
                };
                snap.locks.push(HeldLock {
                    inode,
                    kind,
                    ty: r.ty,
                    start: r.start,
                    end: (r.end != OFFSET_MAX).then_some(r.end),
                    pid,
                });
            }
        }
        for (&inode, list) in &self.files.locks.flocks {
            for l in list {
                snap.locks.push(HeldLock {
                    inode,
                    kind: LockKind::Flock,
                    ty: if l.exclusive {
                        LockType::Wr
                    } else {
                        LockType::Rd
                    },
                    start: 0,
                    end: None,
                    pid: pid(l.pid),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(owner: usize, ty: LockType, start: i64, end: i64) -> Record {
        Record {
            owner: RecordOwner::Table(owner),
            pid: owner as TaskId,
            ty,
            start,
            end,
        }
    }

    fn ranges(list: &[Record]) -> Vec<(usize, LockType, i64, i64)> {
        list.iter()
            .map(|r| match r.owner {
                RecordOwner::Table(o) => (o, r.ty, r.start, r.end),
                RecordOwner::Ofd(o) => (o as usize + 100, r.ty, r.start, r.end),
            })
            .collect()
    }

    /// A lock request meets other owners' conflicting locks (EAGAIN); an unlock never does.
    #[test]
    fn a_set_conflicts_with_another_owner_and_an_unlock_never() {
        let mut l = Locks::default();
        assert_eq!(l.set(0, rec(1, LockType::Wr, 0, 9)), Ok(()));
        assert_eq!(l.set(0, rec(2, LockType::Wr, 5, 6)), Err(Errno::EAGAIN));
        assert_eq!(l.set(0, rec(2, LockType::Un, 0, 9)), Ok(()));
        assert_eq!(l.set(0, rec(1, LockType::Wr, 5, 6)), Ok(()));
        assert_eq!(ranges(&l.records[&0]), vec![(1, LockType::Wr, 0, 9)]);
    }

    /// An owner's lock that neither overlaps nor touches the request stays as it is; the
    /// request fills the gap between two and merges with neither when it touches neither.
    #[test]
    fn locks_apart_from_the_request_are_left_alone() {
        let mut list = vec![rec(1, LockType::Rd, 0, 4), rec(1, LockType::Rd, 20, 24)];
        apply_record(&mut list, rec(1, LockType::Rd, 10, 14));
        assert_eq!(
            ranges(&list),
            vec![
                (1, LockType::Rd, 0, 4),
                (1, LockType::Rd, 10, 14),
                (1, LockType::Rd, 20, 24)
            ]
        );
        // Touching both (5..=19): one lock.
        apply_record(&mut list, rec(1, LockType::Rd, 5, 19));
        assert_eq!(ranges(&list), vec![(1, LockType::Rd, 0, 24)]);
    }

    #[test]
    fn same_type_locks_merge_and_other_types_split() {
        use LockType::*;
        let mut l = Vec::new();
        apply_record(&mut l, rec(0, Rd, 0, 3));
        apply_record(&mut l, rec(0, Rd, 4, 5));
        assert_eq!(ranges(&l), vec![(0, Rd, 0, 5)]);
        apply_record(&mut l, rec(0, Wr, 2, 2));
        assert_eq!(
            ranges(&l),
            vec![(0, Rd, 0, 1), (0, Wr, 2, 2), (0, Rd, 3, 5)]
        );
        apply_record(&mut l, rec(1, Rd, 9, 9));
        apply_record(&mut l, rec(0, Un, 0, 2));
        assert_eq!(ranges(&l), vec![(0, Rd, 3, 5), (1, Rd, 9, 9)]);
        apply_record(&mut l, rec(0, Un, 4, 4));
        assert_eq!(
            ranges(&l),
            vec![(0, Rd, 3, 3), (0, Rd, 5, 5), (1, Rd, 9, 9)]
        );
        apply_record(&mut l, rec(0, Wr, 0, OFFSET_MAX));
        assert_eq!(ranges(&l), vec![(0, Wr, 0, OFFSET_MAX), (1, Rd, 9, 9)]);
        apply_record(&mut l, rec(0, Un, 0, OFFSET_MAX));
        apply_record(&mut l, rec(0, Rd, 1, 1));
        assert_eq!(ranges(&l), vec![(1, Rd, 9, 9), (0, Rd, 1, 1)]);
    }

    #[test]
    fn merged_lock_keeps_the_first_setters_pid() {
        let mut l = Vec::new();
        apply_record(&mut l, rec(0, LockType::Rd, 0, 1));
        let mut r = rec(0, LockType::Rd, 2, 3);
        r.pid = 7;
        apply_record(&mut l, r);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].pid, 0);
        let mut w = rec(0, LockType::Wr, 0, 3);
        w.pid = 7;
        apply_record(&mut l, w);
        assert_eq!(l[0].pid, 7);
    }

    #[test]
    fn lock_ranges_follow_flock64_to_posix_lock() {
        let a = |start, len| FlockArg {
            ty: LockType::Rd,
            start,
            len,
            pid: 0,
        };
        assert_eq!(range(&a(2, 0)), Ok((2, OFFSET_MAX)));
        assert_eq!(range(&a(2, 3)), Ok((2, 4)));
        assert_eq!(range(&a(4, -2)), Ok((2, 3)));
        assert_eq!(range(&a(1, -2)), Err(Errno::EINVAL));
        assert_eq!(range(&a(-1, 1)), Err(Errno::EINVAL));
        assert_eq!(range(&a(2, i64::MAX)), Err(Errno::EOVERFLOW));
        // The last byte may be OFFSET_MAX itself: start + len - 1, not start + len.
        assert_eq!(range(&a(1, i64::MAX)), Ok((1, OFFSET_MAX)));
    }
}
