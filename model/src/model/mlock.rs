//! Locked memory: `mlock`, `mlock2`, `munlock`, `mlockall`, `munlockall` and `MAP_LOCKED`
//! (mlock(2); mm/mlock.c, mm/gup.c).
//!
//! Locking is a VMA flag ([`Lock`]): it splits and merges VMAs like the other flags, it is
//! per address space (a `CLONE_VM` or vfork child shares it), a fork child's VMAs lose it
//! and its mm starts without `MCL_FUTURE` ([`Memory::fork_mm`]), and exec's fresh mm has
//! none. Locking populates: every page of the range is faulted in as `mlock` returns
//! ([`Model::populate`]), which is what a program can see of it besides `MADV_DONTNEED`
//! failing with EINVAL on a locked VMA.

use super::memory::{area_of, global_page, FrameKind, Lock, Mm, Pte, VmaFlags};
use super::Model;
use crate::obs::{Errno, Outcome};
use crate::op::{Prot, Region, TaskId, PAGE_SIZE};

/// `MLOCK_ONFAULT` (the only `mlock2` flag).
const MLOCK_ONFAULT: u32 = 1;
/// `MCL_CURRENT`.
const MCL_CURRENT: u32 = 1;
/// `MCL_FUTURE`.
const MCL_FUTURE: u32 = 2;
/// `MCL_ONFAULT`.
const MCL_ONFAULT: u32 = 4;

/// The address area (a region, or the mapping slot past the four) holding page `gp`, and
/// the page's index there.
fn area_page(gp: u64) -> (Region, u32) {
    let region = Region::ALL
        .get(area_of(gp))
        .copied()
        .unwrap_or(Region::Mapped);
    (region, (gp - global_page(region, 0)) as u32)
}

impl Mm {
    /// `mm->locked_vm`: the pages of the `VM_LOCKED` VMAs (mlock_fixup counts them as it
    /// sets and clears the flag, munmap and mremap as they drop and move locked VMAs).
    pub(super) fn locked_pages(&self) -> u64 {
        self.vmas
            .iter()
            .filter(|v| v.flags.lock.locked())
            .map(|v| v.end - v.start)
            .sum()
    }

    /// Locked pages inside `[s, e)` (mm/mlock.c: count_mm_mlocked_page_nr).
    fn locked_in(&self, s: u64, e: u64) -> u64 {
        self.vmas
            .iter()
            .filter(|v| v.flags.lock.locked() && v.start < e && s < v.end)
            .map(|v| v.end.min(e) - v.start.max(s))
            .sum()
    }

    /// Sets the lock of `[s, e)` VMA by VMA (mm/mlock.c: apply_vma_lock_flags): an unmapped
    /// first page is ENOMEM with nothing changed, a hole later ENOMEM with the VMAs before
    /// it changed; each piece splits or merges ([`Mm::modify_flags`]).
    fn apply_lock(&mut self, s: u64, e: u64, lock: Lock) -> Result<(), Errno> {
        let mut cur = s;
        while cur < e {
            let vi = self.vma_at(cur).ok_or(Errno::ENOMEM)?;
            let piece_end = self.vmas[vi].end.min(e);
            let nf = VmaFlags {
                lock,
                ..self.vmas[vi].flags
            };
            if nf != self.vmas[vi].flags {
                self.modify_flags(vi, cur, piece_end, nf);
            }
            cur = piece_end;
        }
        Ok(())
    }

    /// Sets the lock of every VMA (mm/mlock.c: apply_mlockall_flags, mlock_fixup on each
    /// whole VMA, which may merge it with the one before).
    fn lock_all(&mut self, lock: Lock) {
        let mut cur = 0;
        while let Some(vi) = self.vmas.iter().position(|v| v.end > cur) {
            let (s, e) = (self.vmas[vi].start, self.vmas[vi].end);
            let nf = VmaFlags {
                lock,
                ..self.vmas[vi].flags
            };
            if nf != self.vmas[vi].flags {
                self.modify_flags(vi, s, e, nf);
            }
            cur = e;
        }
    }
}

impl Model {
    // rule: mm.mlock-rlimit-memlock
    /// `RLIMIT_MEMLOCK` in pages when it binds task `t`: without `CAP_IPC_LOCK` in the
    /// initial user namespace (mm/mlock.c and mm/mmap.c ask `capable()`, so a task in a user
    /// namespace the case made is bound even when the lab runs as root); `None` when it does
    /// not bind or is infinite.
    pub fn mlock_limit(&self, t: TaskId) -> Option<u64> {
        let in_userns = self.tasks.get(t as usize).is_some_and(|x| x.userns);
        if self.profile.cap_ipc_lock && !in_userns {
            None
        } else {
            self.profile.mlock_limit_pages
        }
    }

    // rule: mm.mlock-eperm-without-limit
    /// mm/mlock.c: can_do_mlock: a task may lock memory when it holds `CAP_IPC_LOCK` or its
    /// `RLIMIT_MEMLOCK` is not 0; else `mlock`, `mlock2`, `mlockall` and `MAP_LOCKED` are
    /// EPERM.
    fn can_do_mlock(&self, t: TaskId) -> bool {
        self.mlock_limit(t) != Some(0)
    }

    /// mm/mmap.c: mlock_future_ok: `extra` more locked pages fit `RLIMIT_MEMLOCK` (always,
    /// when it does not bind `t`). An mm whose lab mappings `MCL_CURRENT` locked
    /// ([`Mm::lab_locked`]) counts them too: more than any limit that binds (see
    /// [`Model::op_mlockall`]).
    pub(super) fn lock_budget_ok(&self, t: TaskId, mm: &Mm, extra: u64) -> bool {
        self.mlock_limit(t)
            .is_none_or(|limit| !mm.lab_locked && mm.locked_pages() + extra <= limit)
    }

    /// Faults in one page the way `__get_user_pages` does for populate: a store fault
    /// without a store (`FOLL_WRITE`) in a writable private VMA, which breaks copy-on-write
    /// and leaves nothing to do on an anonymous page mapped once; a load fault
    /// (`FOLL_FORCE`) elsewhere, nothing to do on a present page. `false` when the fault
    /// fails (SIGBUS past a file's or shmem object's end: `-EFAULT`).
    fn fault_in(&mut self, t: TaskId, gp: u64) -> bool {
        let mm = &self.mms[self.tasks[t as usize].mm];
        let Some(vi) = mm.vma_at(gp) else {
            return false;
        };
        let v = &mm.vmas[vi];
        let write = v.flags.prot == Prot::ReadWrite && !v.kind.is_shared();
        let pte = mm.pte(gp);
        let (region, page) = area_page(gp);
        let store = if !write {
            if pte.is_some() {
                return true;
            }
            None
        } else {
            // The page's current content, which the copy keeps.
            Some(match pte {
                Some(Pte::Frame(f)) => match self.mem.kind(f) {
                    Some(FrameKind::Anon) if self.mem.mapcount(f) == 1 => return true,
                    Some(FrameKind::PageCache { page }) => {
                        self.files.data_byte(page.saturating_mul(PAGE_SIZE))
                    }
                    _ => self.mem.byte(f),
                },
                Some(Pte::Zero) => 0,
                None if v.kind == Region::FilePrivate => self
                    .files
                    .data_byte(gp.wrapping_sub(v.base).saturating_mul(PAGE_SIZE)),
                None => 0,
            })
        };
        !matches!(self.op_mem(t, region, page, store), Outcome::Killed(_))
    }

    // rule: mm.mlock-populates
    // rule: mm.mlock-onfault-no-populate
    /// Faults in `[s, e)` of `t`'s VMAs (mm/gup.c: __mm_populate → populate_vma_page_range):
    /// VMA by VMA, nothing for a `VM_LOCKONFAULT` one, `-EFAULT` for a `PROT_NONE` one
    /// (never faulted in) or at the first page that cannot be faulted; with `ignore_errors`
    /// (mm_populate, after mmap and mlockall) the rest of that VMA is skipped, else the walk
    /// stops and the error is returned. Holes are skipped.
    pub(super) fn populate(&mut self, t: TaskId, s: u64, e: u64, ignore_errors: bool) -> bool {
        let mut cur = s;
        while cur < e {
            let mm = &self.mms[self.tasks[t as usize].mm];
            let Some(v) = mm.vmas.iter().find(|v| v.end > cur && v.start < e) else {
                break;
            };
            let (from, to) = (cur.max(v.start), v.end.min(e));
            let flags = v.flags;
            cur = to;
            if flags.lock == Lock::OnFault {
                continue;
            }
            let ok = flags.prot != Prot::None && (from..to).all(|gp| self.fault_in(t, gp));
            if !ok && !ignore_errors {
                return false;
            }
        }
        true
    }

    // rule: mm.mlock-range-enomem
    /// `mlock(area page first, count pages)`, or `mlock2` with `flags` (mm/mlock.c:
    /// do_mlock): unknown `mlock2` flags are EINVAL; a task that may not lock is EPERM
    /// ([`Model::can_do_mlock`]); more locked pages than `RLIMIT_MEMLOCK` allows (the pages
    /// of the range not locked yet count) is ENOMEM with nothing changed; then the range is
    /// locked ([`Mm::apply_lock`]: a hole is ENOMEM and nothing is populated) and populated
    /// ([`Model::populate`]; an `-EFAULT` there is ENOMEM: __mlock_posix_error_return, the
    /// range stays locked).
    pub(super) fn op_mlock(
        &mut self,
        t: TaskId,
        region: Region,
        first: u32,
        count: u32,
        flags: Option<u32>,
    ) -> Outcome {
        let flags = flags.unwrap_or(0);
        if flags & !MLOCK_ONFAULT != 0 {
            return Outcome::Err(Errno::EINVAL);
        }
        if !self.can_do_mlock(t) {
            return Outcome::Err(Errno::EPERM);
        }
        let s = global_page(region, first);
        let e = s + u64::from(count);
        let mm = &self.mms[self.tasks[t as usize].mm];
        if !self.lock_budget_ok(t, mm, u64::from(count) - mm.locked_in(s, e)) {
            return Outcome::Err(Errno::ENOMEM);
        }
        let lock = if flags & MLOCK_ONFAULT != 0 {
            Lock::OnFault
        } else {
            Lock::Locked
        };
        let mm = self.tasks[t as usize].mm;
        if let Err(e) = self.mms[mm].apply_lock(s, e, lock) {
            return Outcome::Err(e);
        }
        if self.populate(t, s, e, false) {
            Outcome::Ret(0)
        } else {
            Outcome::Err(Errno::ENOMEM)
        }
    }

    // rule: mm.munlock-clears
    /// `munlock(area page first, count pages)` (mm/mlock.c): the range loses its lock, the
    /// pages stay; no privilege is needed; holes are ENOMEM as for `mlock`.
    pub(super) fn op_munlock(
        &mut self,
        t: TaskId,
        region: Region,
        first: u32,
        count: u32,
    ) -> Outcome {
        let s = global_page(region, first);
        let mm = self.tasks[t as usize].mm;
        match self.mms[mm].apply_lock(s, s + u64::from(count), Lock::None) {
            Ok(()) => Outcome::Ret(0),
            Err(e) => Outcome::Err(e),
        }
    }

    // rule: mm.mlockall-flags
    // rule: mm.mlockall-future-locks-later-mappings
    /// `mlockall(flags)` (mm/mlock.c): 0, unknown bits and `MCL_ONFAULT` alone are EINVAL;
    /// then EPERM as for `mlock`. `MCL_CURRENT` under a finite `RLIMIT_MEMLOCK` compares the
    /// limit with the whole address space (`total_vm`), which holds the lab's own mappings
    /// beside the case's (its program, stacks, the agents' stack pool: far more than the
    /// 64 KiB or 8 MiB defaults): ENOMEM. Else `def_flags` get `MCL_FUTURE`'s lock (or lose
    /// it: `MCL_CURRENT` alone cancels an earlier `MCL_FUTURE`), `MCL_FUTURE` alone leaves
    /// the VMAs as they are, and `MCL_CURRENT` locks every VMA (on-fault with `MCL_ONFAULT`)
    /// and populates them all, errors ignored; the lab's own mappings in the address space
    /// are locked with them ([`Mm::lab_locked`]).
    pub(super) fn op_mlockall(&mut self, t: TaskId, flags: u32) -> Outcome {
        if flags == 0
            || flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0
            || flags == MCL_ONFAULT
        {
            return Outcome::Err(Errno::EINVAL);
        }
        if !self.can_do_mlock(t) {
            return Outcome::Err(Errno::EPERM);
        }
        if flags & MCL_CURRENT != 0 && self.mlock_limit(t).is_some() {
            return Outcome::Err(Errno::ENOMEM);
        }
        let lock = if flags & MCL_ONFAULT != 0 {
            Lock::OnFault
        } else {
            Lock::Locked
        };
        let mm = &mut self.mms[self.tasks[t as usize].mm];
        mm.def_lock = if flags & MCL_FUTURE != 0 {
            lock
        } else {
            Lock::None
        };
        if flags & MCL_CURRENT != 0 {
            mm.lab_locked = true;
            mm.lock_all(lock);
            self.populate(t, 0, u64::MAX, true);
        }
        Outcome::Ret(0)
    }

    // rule: mm.munlockall-clears
    /// `munlockall()` (mm/mlock.c: apply_mlockall_flags(0)): every VMA and `def_flags` lose
    /// the lock.
    pub(super) fn op_munlockall(&mut self, t: TaskId) -> Outcome {
        let mm = &mut self.mms[self.tasks[t as usize].mm];
        mm.def_lock = Lock::None;
        mm.lab_locked = false;
        mm.lock_all(Lock::None);
        Outcome::Ret(0)
    }
}
