//! `mremap`: resizing a mapping in place and moving it to a named address
//! (mremap(2); mm/mremap.c).
//!
//! A move keeps the pages: the page-table entries move to the new address with their frames
//! (move_page_tables), so copy-on-write sharing with a fork child survives it and the
//! contents stay each process's own. Like the other mapping ops it changes the caller's
//! address space only (a `CLONE_VM` or vfork child shares it).
//!
//! The checks moved in Linux 6.17 (the series of "mm/mremap: permit mremap() move of
//! multiple VMAs", with "mm/mremap: check remap conditions earlier" and "mm/mremap: move
//! remap_is_valid() into check_prep_vma()"; seen on 6.18 and on Debian's 6.1): before,
//! a `MREMAP_FIXED` call unmapped the destination (and a shrink's tail) before finding out
//! that the old range spans VMAs (EFAULT) or is an empty private one (EINVAL), and an
//! overlap of the two ranges was seen only after the old address was found mapped; since,
//! those checks come first, and a plain move (`old_size == new_size`) may span several VMAs
//! and the holes between them.

use super::memory::{area_of, global_page, Memory, Mm, Vma};
use super::Model;
use crate::obs::{Errno, Outcome};
use crate::op::{MremapTo, Region, TaskId};

/// The arguments of an [`crate::OpKind::Mremap`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Remap {
    pub(super) region: Region,
    pub(super) first: u32,
    pub(super) count: u32,
    pub(super) new_count: u32,
    pub(super) to: Option<MremapTo>,
    pub(super) unaligned: bool,
}

/// The region whose address area holds page `gp` (the mapping slot past the four).
fn area_region(gp: u64) -> Region {
    Region::ALL
        .get(area_of(gp))
        .copied()
        .unwrap_or(Region::Mapped)
}

impl Memory {
    // rule: mm.mremap-move-keeps-frames
    /// Moves `count` pages at `s`, part of VMA `vi`, to a VMA of `new_count` pages at `to`
    /// (mm/mremap.c: move_vma): copy_vma makes the new VMA with the same flags, anon_vma
    /// (anon_vma_clone) and file offsets, merging it with a compatible neighbour
    /// (vma_merge_new_range, as an mmap would); an anonymous VMA that has no anon_vma yet
    /// takes the offsets of its new address instead (`pgoff = addr >> PAGE_SHIFT`), which is
    /// what lets it merge there. The page-table entries move with their frames
    /// (move_page_tables: no copy, no mapcount change), pages past `count` start empty, and
    /// the old range is unmapped (unmap_source_vma).
    fn move_vma(&mut self, mm: &mut Mm, vi: usize, s: u64, count: u64, to: u64, new_count: u64) {
        let v = mm.vmas[vi].clone();
        let pgoff = s.wrapping_sub(v.base);
        let base = if v.kind == Region::AnonPrivate && v.anon_vma.is_none() {
            0
        } else {
            to.wrapping_sub(pgoff)
        };
        mm.insert_merged(Vma {
            start: to,
            end: to + new_count,
            region: area_region(to),
            base,
            ..v
        });
        mm.move_ptes(s, s + count, to);
        // The entries are gone from the old range, so unmapping it frees nothing.
        self.unmap(mm, s, s + count);
    }

    // rule: mm.mremap-move-spans-vmas-since-6.17
    /// A plain move since Linux 6.17 (mm/mremap.c: remap_move): every VMA piece of the old
    /// range moves to the same offset in the new one, one by one (each piece's destination
    /// is unmapped, then the piece moved), so the destination pages facing the holes keep
    /// what they map. The old address must be mapped: a hole at the start, or no VMA at all,
    /// is EFAULT with nothing changed.
    fn move_pieces(&mut self, mm: &mut Mm, s: u64, e: u64, to: u64) -> Outcome {
        let pieces: Vec<(u64, u64)> = mm
            .vmas
            .iter()
            .filter(|v| v.start < e && s < v.end)
            .map(|v| (v.start.max(s), v.end.min(e)))
            .collect();
        if pieces.first().is_none_or(|&(a, _)| a > s) {
            return Outcome::Err(Errno::EFAULT);
        }
        for (a, b) in pieces {
            let dest = to + (a - s);
            self.unmap(mm, dest, dest + (b - a));
            if let Some(vi) = mm.vma_at(a) {
                self.move_vma(mm, vi, a, b - a, dest, b - a);
            }
        }
        Outcome::Ret(0)
    }
}

impl Model {
    // rule: mm.mremap-einval
    // rule: mm.mremap-unmapped-efault
    // rule: mm.mremap-fixed-checks-first-since-6.17
    // rule: mm.mremap-shrink-in-place
    // rule: mm.mremap-grow-in-place
    // rule: mm.mremap-shared-grow-sigbus
    /// `mremap(old, count pages, new_count pages, flags, new)` (mremap(2); mm/mremap.c:
    /// do_mremap). In order:
    ///
    /// 1. EINVAL (check_mremap_params): an unaligned old address, `new_size` 0,
    ///    `MREMAP_FIXED` without `MREMAP_MAYMOVE`; since 6.17 also overlapping old and new
    ///    ranges.
    /// 2. Since 6.17 a plain move (`MREMAP_FIXED`, equal sizes) is [`Memory::move_pieces`].
    /// 3. EFAULT when the old address is unmapped (vma_lookup).
    /// 4. In place (flags 0): equal sizes do nothing; a shrink unmaps the tail (which may
    ///    span VMAs and holes); a grow needs a shared mapping when `old_size` is 0 (EINVAL),
    ///    the old range inside one VMA (EFAULT), reaching that VMA's end and free pages
    ///    after it (else ENOMEM: no move allowed), and then extends the VMA (vma_merge_extend:
    ///    merging with a compatible next VMA it now touches). A shmem mapping grown past its
    ///    object's size maps pages that do not exist: touching them is SIGBUS.
    /// 5. A `MREMAP_FIXED` move (mremap_to): before 6.17 an overlap is EINVAL here; the
    ///    destination range is unmapped, a shrink's tail too, and only then an empty private
    ///    old range is EINVAL and one past its VMA's end EFAULT (vma_to_resize,
    ///    remap_is_valid), the unmaps done. Since 6.17 those two checks come before the
    ///    unmaps, on the part that moves (`min(old_size, new_size)`). Then
    ///    [`Memory::move_vma`]; a grown part starts empty (and is SIGBUS on shmem past its
    ///    size).
    pub(super) fn op_mremap(&mut self, t: TaskId, r: Remap) -> Outcome {
        let since_6_17 = self.profile.kernel_at_least(6, 17);
        if r.unaligned || r.new_count == 0 || r.to.is_some_and(|d| d.no_maymove) {
            return Outcome::Err(Errno::EINVAL);
        }
        let s = global_page(r.region, r.first);
        let (count, n) = (u64::from(r.count), u64::from(r.new_count));
        let e = s + count;
        let dest = r.to.map(|d| global_page(d.region, d.page));
        let overlaps = dest.is_some_and(|d| e > d && d + n > s);
        if since_6_17 && overlaps {
            return Outcome::Err(Errno::EINVAL);
        }
        let Model {
            tasks, mms, mem, ..
        } = self;
        let mm = &mut mms[tasks[t as usize].mm];
        if let Some(d) = dest {
            if since_6_17 && count == n {
                return mem.move_pieces(mm, s, e, d);
            }
        }
        let Some(vi) = mm.vma_at(s) else {
            return Outcome::Err(Errno::EFAULT);
        };
        let shared = mm.vmas[vi].kind.is_shared();
        let Some(d) = dest else {
            return grow_or_shrink(mem, mm, vi, s, count, n);
        };
        if overlaps {
            return Outcome::Err(Errno::EINVAL);
        }
        if since_6_17 {
            if count == 0 && !shared {
                return Outcome::Err(Errno::EINVAL);
            }
            if count.min(n) > mm.vmas[vi].end - s {
                return Outcome::Err(Errno::EFAULT);
            }
        }
        mem.unmap(mm, d, d + n);
        let moved = count.min(n);
        // A shrink's tail (nothing when the size does not shrink).
        mem.unmap(mm, s + n, e);
        let Some(vi) = mm.vma_at(s) else {
            return Outcome::Err(Errno::EFAULT);
        };
        if count == 0 && !shared {
            return Outcome::Err(Errno::EINVAL);
        }
        if moved > mm.vmas[vi].end - s {
            return Outcome::Err(Errno::EFAULT);
        }
        mem.move_vma(mm, vi, s, moved, d, n);
        Outcome::Ret(0)
    }
}

/// The in-place forms (flags 0) of [`Model::op_mremap`], step 4.
fn grow_or_shrink(mem: &mut Memory, mm: &mut Mm, vi: usize, s: u64, count: u64, n: u64) -> Outcome {
    if n <= count {
        if n < count {
            mem.unmap(mm, s + n, s + count);
        }
        return Outcome::Ret(0);
    }
    let v = mm.vmas[vi].clone();
    if count == 0 && !v.kind.is_shared() {
        return Outcome::Err(Errno::EINVAL);
    }
    if count > v.end - s {
        return Outcome::Err(Errno::EFAULT);
    }
    let grow = n - count;
    if s + count != v.end || mm.overlaps(v.end, v.end + grow) {
        return Outcome::Err(Errno::ENOMEM);
    }
    mm.insert_merged(Vma {
        start: v.end,
        end: v.end + grow,
        ..v
    });
    Outcome::Ret(0)
}
