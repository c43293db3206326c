//! Mappings made and changed after case start: `mmap`, `munmap` and `mprotect` in the
//! mapping slot ([`Region::Mapped`]).
//!
//! They change the caller's address space only: a fork child made before has a copy of its
//! own (mm/mmap.c: dup_mmap), so the other process keeps its mappings, and a
//! `MAP_SHARED | MAP_ANONYMOUS` mapping made after the fork is a new shmem object that only
//! the maker (and the children it forks later) maps. A `CLONE_VM` child or a vfork child
//! shares the caller's address space (one [`Mm`]), so the change is the same for both.

use super::memory::{global_page, AnonVma, Lock, Memory, Mm, Vma, VmaFlags};
use super::Model;
use crate::obs::{Errno, Outcome};
use crate::op::{MapKind, Prot, Region, TaskId};

/// Pages `[first, first + count)` of the slot, as the model's page numbers.
fn slot_range(first: u32, count: u32) -> (u64, u64) {
    let s = global_page(Region::Mapped, first);
    (s, s + u64::from(count))
}

impl Mm {
    /// Whether any VMA overlaps `[s, e)` (mm/mmap.c: find_vma_intersection).
    pub(super) fn overlaps(&self, s: u64, e: u64) -> bool {
        self.vmas.iter().any(|v| v.start < e && s < v.end)
    }

    /// Inserts a new VMA and merges it with a compatible neighbour that touches it
    /// (mm/vma.c: vma_merge_new_range, with the anon_vma rules of is_mergeable_anon_vma: a
    /// fork child's anon_vma is never shared with a new VMA).
    pub(super) fn insert_merged(&mut self, new: Vma) {
        let at = self.vmas.partition_point(|v| v.start < new.start);
        self.vmas.insert(at, new);
        let mergeable = |a: Option<AnonVma>, b: Option<AnonVma>| match (a, b) {
            (None, None) => true,
            (Some(x), None) | (None, Some(x)) => !x.forked,
            (Some(x), Some(y)) => x.id == y.id,
        };
        let fits = |this: &Mm, n: usize| {
            let (a, b) = (&this.vmas[n], &this.vmas[at]);
            let touches = a.end == b.start || b.end == a.start;
            touches && a.compatible(b, b.flags) && mergeable(a.anon_vma, b.anon_vma)
        };
        let next = (at + 1 < self.vmas.len() && fits(self, at + 1)).then_some(at + 1);
        let prev = at.checked_sub(1).filter(|&p| fits(self, p));
        let (prev, next) = match (prev, next) {
            (Some(p), Some(n)) if !mergeable(self.vmas[p].anon_vma, self.vmas[n].anon_vma) => {
                (Some(p), None)
            }
            pn => pn,
        };
        if let Some(n) = next {
            let nv = self.vmas.remove(n);
            let v = &mut self.vmas[at];
            v.end = nv.end;
            v.anon_vma = v.anon_vma.or(nv.anon_vma);
        }
        if let Some(p) = prev {
            let v = self.vmas.remove(at);
            let pv = &mut self.vmas[p];
            pv.end = v.end;
            pv.anon_vma = pv.anon_vma.or(v.anon_vma);
        }
    }

    /// Removes `[s, e)` from the VMAs, splitting the ones it cuts (split pieces keep the
    /// anon_vma: __split_vma → anon_vma_clone).
    pub(super) fn remove_range(&mut self, s: u64, e: u64) {
        let mut out = Vec::with_capacity(self.vmas.len() + 1);
        for v in self.vmas.drain(..) {
            if v.end <= s || e <= v.start {
                out.push(v);
                continue;
            }
            if v.start < s {
                out.push(Vma {
                    end: s,
                    ..v.clone()
                });
            }
            if e < v.end {
                out.push(Vma { start: e, ..v });
            }
        }
        self.vmas = out;
    }
}

impl Memory {
    /// Unmaps `[s, e)` of `mm` (mm/vma.c: do_vmi_munmap): its present pages lose their
    /// mapping (a private copy nobody maps any more is freed), the VMAs are cut, holes are
    /// fine, and an area left without VMAs loses its page table.
    pub(super) fn unmap(&mut self, mm: &mut Mm, s: u64, e: u64) {
        if e <= s {
            return;
        }
        for gp in mm.present_in(s, e) {
            self.zap(mm, gp);
        }
        mm.remove_range(s, e);
        mm.free_empty_page_table(s);
    }
}

// rule: mm.mlock-mprotect-write-breaks-cow
/// mm/mprotect.c: mprotect_fixup: a private `VM_LOCKED` VMA that was not writable and
/// becomes writable is populated (so that a later store finds its own page).
fn locked_private_made_writable(old: VmaFlags, prot: Prot, kind: Region) -> bool {
    old.lock.locked() && old.prot != Prot::ReadWrite && prot == Prot::ReadWrite && !kind.is_shared()
}

impl Model {
    // rule: mm.mmap-fixed-noreplace-eexist
    // rule: mm.mmap-after-fork-private-to-maker
    // rule: mm.clone-vm-shares-mapping-changes
    // rule: mm.map-locked-populates
    /// `mmap(slot page first, count pages, prot, kind | MAP_FIXED_NOREPLACE, -1, 0)`
    /// (mmap(2); mm/mmap.c: do_mmap): a zero length is EINVAL; a range that overlaps a
    /// mapping is EEXIST and changes nothing (MAP_FIXED_NOREPLACE never replaces); else the
    /// caller's address space gets a new VMA, nothing present. A private anonymous one
    /// merges with a compatible neighbour; a shared one is a new shmem object
    /// (shmem_zero_setup) with page offsets counted from its own start. The VMA takes the
    /// lock of `def_flags` (`MCL_FUTURE`), `MAP_LOCKED` locks it (calc_vm_flag_bits; EPERM
    /// when the task may not lock: can_do_mlock), a locked one beyond `RLIMIT_MEMLOCK` is
    /// EAGAIN (mlock_future_ok), and a locked one is populated like `MAP_POPULATE`, errors
    /// ignored (vm_mmap_pgoff → mm_populate).
    pub(super) fn op_mmap(
        &mut self,
        t: TaskId,
        first: u32,
        count: u32,
        map: MapKind,
        prot: Prot,
        locked: bool,
    ) -> Outcome {
        if count == 0 {
            return Outcome::Err(Errno::EINVAL);
        }
        let (s, e) = slot_range(first, count);
        let lock = match self.mms[self.tasks[t as usize].mm].def_lock {
            Lock::None if locked => Lock::Locked,
            l => l,
        };
        if self.mms[self.tasks[t as usize].mm].overlaps(s, e) {
            return Outcome::Err(Errno::EEXIST);
        }
        if locked && self.mlock_limit(t) == Some(0) {
            return Outcome::Err(Errno::EPERM);
        }
        let mm = &self.mms[self.tasks[t as usize].mm];
        if lock.locked() && !self.lock_budget_ok(t, mm, u64::from(count)) {
            return Outcome::Err(Errno::EAGAIN);
        }
        let Model {
            tasks, mms, mem, ..
        } = self;
        let mm = &mut mms[tasks[t as usize].mm];
        let (base, shm) = match map {
            // vm_pgoff = addr >> PAGE_SHIFT: every private anonymous page's offset is its
            // address (base 0, as AnonPrivate's region has), so fresh neighbours are always
            // contiguous; a VMA mremap moved after its first write keeps its old offsets.
            MapKind::AnonPrivate => (0, 0),
            MapKind::AnonShared => {
                mem.last_shm += 1;
                mem.set_shm_pages(mem.last_shm, u64::from(count));
                (s, mem.last_shm)
            }
        };
        mm.insert_merged(Vma {
            start: s,
            end: e,
            region: Region::Mapped,
            kind: map.region(),
            base,
            shm,
            flags: VmaFlags {
                prot,
                lock,
                ..VmaFlags::default()
            },
            anon_vma: None,
        });
        if lock.locked() {
            self.populate(t, s, e, true);
        }
        Outcome::Ret(0)
    }

    // rule: mm.munmap-unmaps-caller-only
    /// `munmap(slot page first, count pages)` (munmap(2); mm/vma.c: do_vmi_munmap): a zero
    /// length is EINVAL; else every mapped page of the range is unmapped (its frames lose a
    /// mapping; a private copy nobody maps any more is freed), holes are fine, and a later
    /// access there is SIGSEGV.
    pub(super) fn op_munmap(&mut self, t: TaskId, first: u32, count: u32) -> Outcome {
        if count == 0 {
            return Outcome::Err(Errno::EINVAL);
        }
        let (s, e) = slot_range(first, count);
        let Model {
            tasks, mms, mem, ..
        } = self;
        mem.unmap(&mut mms[tasks[t as usize].mm], s, e);
        Outcome::Ret(0)
    }

    // rule: mm.mprotect-access-sigsegv
    // rule: mm.mprotect-hole-enomem
    /// `mprotect(slot page first, count pages, prot)` (mprotect(2); mm/mprotect.c:
    /// do_mprotect_pkey): a zero length does nothing; an unmapped first page is ENOMEM with
    /// nothing changed; the VMAs are changed one by one (split and merged like madvise's
    /// flags: vma_modify_flags), and a hole after the first VMA stops the walk with ENOMEM,
    /// the earlier VMAs changed. Present pages stay as they are: a load where `PROT_READ` is
    /// missing, or a store where `PROT_WRITE` is, is SIGSEGV ([`Model::op_mem`]). A locked
    /// private VMA made writable is populated with store faults, breaking copy-on-write
    /// (mprotect_fixup → populate_vma_page_range, errors ignored).
    pub(super) fn op_mprotect(&mut self, t: TaskId, first: u32, count: u32, prot: Prot) -> Outcome {
        if count == 0 {
            return Outcome::Ret(0);
        }
        let (s, e) = slot_range(first, count);
        let mm = &mut self.mms[self.tasks[t as usize].mm];
        let mut cur = s;
        let mut out = Outcome::Ret(0);
        let mut cow = Vec::new();
        while cur < e {
            let Some(vi) = mm.vma_at(cur) else {
                out = Outcome::Err(Errno::ENOMEM);
                break;
            };
            let piece_end = mm.vmas[vi].end.min(e);
            let (old, kind) = (mm.vmas[vi].flags, mm.vmas[vi].kind);
            let nf = VmaFlags { prot, ..old };
            if nf != old {
                mm.modify_flags(vi, cur, piece_end, nf);
                if locked_private_made_writable(old, prot, kind) {
                    cow.push((cur, piece_end));
                }
            }
            cur = piece_end;
        }
        for (a, b) in cow {
            self.populate(t, a, b, true);
        }
        out
    }

    /// The slot pages task `t` has mapped, with their protection (for the generator, which
    /// aims loads and stores there; snapshots leave the slot out).
    pub fn slot_pages(&self, t: TaskId) -> Vec<(u32, Prot)> {
        let Some(task) = self.tasks.get(t as usize) else {
            return Vec::new();
        };
        let Some(mm) = self.mms.get(task.mm) else {
            return Vec::new();
        };
        let base = global_page(Region::Mapped, 0);
        mm.vmas
            .iter()
            .filter(|v| v.region == Region::Mapped)
            .flat_map(|v| (v.start..v.end).map(move |gp| ((gp - base) as u32, v.flags.prot)))
            .collect()
    }
}
