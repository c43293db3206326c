//! Memory: VMAs, page tables and physical frames of the four regions.
//!
//! Addresses are page numbers in one address space shared by all regions, laid out like the
//! lab lays them out: region `i` starts at page `i * REGION_STRIDE_PAGES` (16 TiB apart,
//! `harness/src/lab/agent.rs: REGION_STRIDE`), so a page index past a region's end is
//! unmapped (SIGSEGV) and a `madvise` range may run into the next region exactly as it does
//! on Linux.
//!
//! A frame is one physical page with an identity (snapshots show it as a frame class) and a
//! mapcount (how many PTEs, in all tasks, map it). Anonymous and shmem frames carry their
//! byte 0; page-cache frames of `data` show the file's current content.

use super::Model;
use crate::obs::{Errno, Outcome, Signal, TidValue, TidWord};
use crate::op::{Advice, Prot, Region, TaskId, PAGE_SIZE};
use std::collections::BTreeMap;

/// Distance between the starts of two regions, in pages: the lab's 16 TiB stride.
pub const REGION_STRIDE_PAGES: u64 = 1 << 32;

/// Pages mapped around a read fault on a file or shmem mapping: the default
/// `fault_around_bytes` of 64 KiB (mm/memory.c: do_fault_around, should_fault_around).
pub const FAULT_AROUND_PAGES: u64 = 16;

/// The page number of `page` of `region` in the model's address space.
pub(super) fn global_page(region: Region, page: u32) -> u64 {
    region.index() as u64 * REGION_STRIDE_PAGES + u64::from(page)
}

/// Number of pages that hold `size` bytes: pages at or past it are beyond EOF.
pub(super) fn pages_of(size: u64) -> u64 {
    size.div_ceil(PAGE_SIZE)
}

/// Identity of a physical frame.
pub(super) type FrameId = u64;

/// What is behind a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FrameKind {
    /// A private anonymous page (AnonPrivate, or a private copy in FilePrivate).
    Anon,
    /// A page of the shmem object behind AnonShared.
    Shmem,
    /// The page-cache page of `data` at this page index.
    PageCache {
        /// Page index in the file.
        page: u64,
    },
}

#[derive(Clone, Debug)]
struct FrameInfo {
    kind: FrameKind,
    /// Byte 0 (anonymous and shmem frames; page-cache frames read the file instead).
    byte: u8,
    /// PTEs mapping the frame, in all tasks.
    mapcount: u32,
}

/// A present page-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pte {
    /// The shared zero page (mm/memory.c: do_anonymous_page, read fault).
    Zero,
    /// A real frame.
    Frame(FrameId),
}

/// An `anon_vma` as far as VMA merging and fork care: its identity, and whether the VMA's
/// `anon_vma_chain` has more than one entry (true for VMAs of a fork child: anon_vma_fork
/// links the child VMA to every anon_vma of the parent's chain plus its own), which blocks
/// merges with a VMA that has no anon_vma (mm/vma.c: vma_is_fork_child,
/// is_mergeable_anon_vma) and reuse by a neighbour (mm/rmap.c: reusable_anon_vma).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct AnonVma {
    pub(super) id: u64,
    pub(super) forked: bool,
}

/// The madvise- and mprotect-controlled VMA flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) struct VmaFlags {
    /// `VM_DONTCOPY` (MADV_DONTFORK).
    pub(super) dontcopy: bool,
    /// `VM_WIPEONFORK` (MADV_WIPEONFORK).
    pub(super) wipeonfork: bool,
    /// `VM_READ` / `VM_WRITE`.
    pub(super) prot: Prot,
    /// `VM_NOHUGEPAGE`: the lab advises `MADV_NOHUGEPAGE` on the four regions, not on the
    /// mappings the ops make, so a VMA of either kind never merges with one of the other
    /// (mm/vma.c: is_mergeable_vma compares the flags) unless the advice was not possible
    /// ([`crate::Profile::regions_without_thp_advice`]).
    pub(super) nohugepage: bool,
    /// `VM_LOCKED` / `VM_LOCKONFAULT` (mlock, mlockall, `MAP_LOCKED`): part of the flags, so
    /// locking a part of a VMA splits it and equal neighbours merge (mm/mlock.c: mlock_fixup
    /// → vma_modify_flags).
    pub(super) lock: Lock,
}

/// The lock state of a VMA, or of `mm->def_flags` for the mappings to come (`MCL_FUTURE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) enum Lock {
    /// Neither `VM_LOCKED` nor `VM_LOCKONFAULT`.
    #[default]
    None,
    /// `VM_LOCKED`: populated when locked.
    Locked,
    /// `VM_LOCKED | VM_LOCKONFAULT`: pages are locked as they fault in, none is populated.
    OnFault,
}

impl Lock {
    /// `VM_LOCKED` is set.
    pub(super) fn locked(self) -> bool {
        self != Lock::None
    }
}

/// A VMA: pages `[start, end)` of the address area of one region.
#[derive(Clone, Debug)]
pub(super) struct Vma {
    pub(super) start: u64,
    pub(super) end: u64,
    /// The address area it lies in (its page-table flag in [`Mm`]).
    pub(super) region: Region,
    /// The kind of memory: one of the four fixed regions' kinds.
    pub(super) kind: Region,
    /// The page whose offset in the backing object is 0 (`start - vm_pgoff`): the region's
    /// first page for the four regions, the slot's first page for an anonymous private
    /// mapping (whose pgoff is its address), the mapping's first page for a new shmem object.
    pub(super) base: u64,
    /// The shmem object behind a shared anonymous VMA: 0 for AnonShared's, a new one per
    /// `MAP_SHARED | MAP_ANONYMOUS` mmap (mm/shmem.c: shmem_zero_setup).
    pub(super) shm: u64,
    pub(super) flags: VmaFlags,
    pub(super) anon_vma: Option<AnonVma>,
}

impl Vma {
    fn base(&self) -> u64 {
        self.base
    }

    /// Same backing object at contiguous offsets and same flags: the merge compatibility of
    /// mm/vma.c: is_mergeable_vma.
    pub(super) fn compatible(&self, other: &Vma, flags: VmaFlags) -> bool {
        self.kind == other.kind
            && self.base == other.base
            && self.shm == other.shm
            && self.flags == flags
    }

    // rule: mem.anon-vma-reuse-ignores-protection
    /// The anon_vma-reuse compatibility of mm/vma.c: anon_vma_compatible: as for a merge, but
    /// the access flags (`VM_READ | VM_WRITE | VM_EXEC`) may differ, so a VMA that mprotect
    /// keeps apart from its neighbour still shares the neighbour's anon_vma, and the two merge
    /// once their protections match again.
    fn anon_compatible(&self, other: &Vma) -> bool {
        let without_prot = |f: VmaFlags| VmaFlags {
            prot: Prot::default(),
            ..f
        };
        self.kind == other.kind
            && self.base == other.base
            && self.shm == other.shm
            && without_prot(self.flags) == without_prot(other.flags)
    }
}

/// One task's address space.
#[derive(Clone, Debug, Default)]
pub(super) struct Mm {
    /// The thread-id words clone wrote into the agents' per-child scratch words (outside
    /// the regions; memory like any other, copied by fork), non-zero ones only.
    pub(super) tid_words: BTreeMap<(TaskId, TidWord), TidValue>,
    /// VMAs sorted by address, non-overlapping.
    pub(super) vmas: Vec<Vma>,
    /// Present PTEs by page.
    ptes: BTreeMap<u64, Pte>,
    /// The lock part of `mm->def_flags` (`mlockall(MCL_FUTURE)`): every later mapping gets it.
    /// A new mm starts without it: fork keeps only `VM_NOHUGEPAGE` of the parent's
    /// (kernel/fork.c: mm_init, `VM_INIT_DEF_MASK`), exec builds a fresh one.
    pub(super) def_lock: Lock,
    /// `MCL_CURRENT` locked every VMA, the lab's own (its program, stacks, the agents'
    /// stack pool) with the case's: `mm->locked_vm` then holds more than the case's pages,
    /// more than any `RLIMIT_MEMLOCK` that binds ([`crate::Model::mlock_limit`]) until
    /// `munlockall`. A new mm (fork, exec) starts without.
    pub(super) lab_locked: bool,
    /// Whether the page table (PTE page) covering each region exists. Every region fits in
    /// one PTE page (at most 256 pages, 2 MiB-aligned), so one flag per region. It appears
    /// with the first PTE installed there and stays until exit: MADV_DONTNEED frees PTE pages
    /// only when a whole PMD range is zapped (CONFIG_PT_RECLAIM), never the case here. It
    /// matters for fault-around on large folios (see [`Memory::file_read_fault`]).
    pt: [bool; 5],
}

impl Mm {
    /// `t0`'s address space at case start: each region one VMA of `pages` pages, no
    /// anon_vma, nothing present.
    pub(super) fn case_setup(pages: u64, nohugepage: bool) -> Mm {
        let vmas = if pages == 0 {
            Vec::new()
        } else {
            Region::ALL
                .iter()
                .map(|&region| {
                    let start = global_page(region, 0);
                    Vma {
                        start,
                        end: start + pages,
                        region,
                        kind: region,
                        base: start,
                        shm: 0,
                        flags: VmaFlags {
                            nohugepage,
                            ..VmaFlags::default()
                        },
                        anon_vma: None,
                    }
                })
                .collect()
        };
        Mm {
            vmas,
            ptes: BTreeMap::new(),
            pt: [false; 5],
            tid_words: BTreeMap::new(),
            def_lock: Lock::None,
            lab_locked: false,
        }
    }

    /// The VMA covering page `gp`.
    pub(super) fn vma_at(&self, gp: u64) -> Option<usize> {
        self.vmas.iter().position(|v| v.start <= gp && gp < v.end)
    }

    /// The pages of `[s, e)` with a present PTE.
    pub(super) fn present_in(&self, s: u64, e: u64) -> Vec<u64> {
        self.ptes.range(s..e).map(|(&k, _)| k).collect()
    }

    /// The PTE of page `gp`, if present.
    pub(super) fn pte(&self, gp: u64) -> Option<Pte> {
        self.ptes.get(&gp).copied()
    }

    /// Changes the flags of `[s, e)`, a part of VMA `vi`, splitting and merging like
    /// mm/vma.c: vma_modify_flags → vma_merge_existing_range: the range merges into an
    /// adjacent VMA only when it reaches that side of the VMA, the flags are equal and the
    /// anon_vmas are compatible (is_mergeable_anon_vma, and for a merge on both sides
    /// can_vma_merge_right's prev/next check); otherwise the VMA is split (split pieces share
    /// the anon_vma: __split_vma → anon_vma_clone).
    pub(super) fn modify_flags(&mut self, vi: usize, s: u64, e: u64, nf: VmaFlags) {
        let mid = self.vmas[vi].clone();
        let left_side = s == mid.start;
        let right_side = e == mid.end;
        let prev = vi
            .checked_sub(1)
            .filter(|&p| self.vmas[p].end == mid.start && self.vmas[p].compatible(&mid, nf));
        let next = Some(vi + 1).filter(|&n| {
            n < self.vmas.len()
                && self.vmas[n].start == mid.end
                && self.vmas[n].compatible(&mid, nf)
        });
        let src = mid.anon_vma;
        let merge_left =
            left_side && prev.is_some_and(|p| anon_mergeable(self.vmas[p].anon_vma, src));
        let merge_right = right_side
            && next.is_some_and(|n| {
                let na = self.vmas[n].anon_vma;
                anon_mergeable(na, src)
                    && (!merge_left || {
                        let pa = prev.and_then(|p| self.vmas[p].anon_vma);
                        pa.is_none() || na.is_none() || pa.map(|a| a.id) == na.map(|a| a.id)
                    })
            });
        match (
            merge_left.then_some(prev).flatten(),
            merge_right.then_some(next).flatten(),
        ) {
            (Some(p), Some(n)) => {
                let anon = self.vmas[p].anon_vma.or(src).or(self.vmas[n].anon_vma);
                self.vmas[p].end = self.vmas[n].end;
                self.vmas[p].anon_vma = anon;
                self.vmas.remove(n);
                self.vmas.remove(vi);
            }
            (Some(p), None) => {
                self.vmas[p].end = e;
                self.vmas[p].anon_vma = self.vmas[p].anon_vma.or(src);
                if e == mid.end {
                    self.vmas.remove(vi);
                } else {
                    self.vmas[vi].start = e;
                }
            }
            (None, Some(n)) => {
                self.vmas[n].start = s;
                self.vmas[n].anon_vma = self.vmas[n].anon_vma.or(src);
                if s == mid.start {
                    self.vmas.remove(vi);
                } else {
                    self.vmas[vi].end = s;
                }
            }
            (None, None) => {
                let mut pieces = Vec::with_capacity(3);
                if mid.start < s {
                    pieces.push(Vma {
                        end: s,
                        ..mid.clone()
                    });
                }
                pieces.push(Vma {
                    start: s,
                    end: e,
                    flags: nf,
                    ..mid.clone()
                });
                if e < mid.end {
                    pieces.push(Vma { start: e, ..mid });
                }
                self.vmas.splice(vi..=vi, pieces);
            }
        }
    }
}

impl Mm {
    /// Moves the PTEs of `[s, e)` to start at `to` (mm/mremap.c: move_page_tables): the
    /// same frames, no mapcount changes; the destination gets a page table wherever the
    /// source had one (move_pgt_entry or pte_alloc of the new PMD).
    pub(super) fn move_ptes(&mut self, s: u64, e: u64, to: u64) {
        let moved: Vec<(u64, Pte)> = self.ptes.range(s..e).map(|(&k, &v)| (k, v)).collect();
        for (gp, _) in &moved {
            self.ptes.remove(gp);
        }
        for (gp, pte) in moved {
            self.ptes.insert(gp - s + to, pte);
        }
        let (si, di) = (area_of(s), area_of(to));
        if self.pt.get(si).copied().unwrap_or(false) {
            if let Some(pt) = self.pt.get_mut(di) {
                *pt = true;
            }
        }
    }

    /// Frees the page table of the address area holding `gp` when no VMA is left there: an
    /// unmap frees the page tables of the PMD ranges no VMA covers any more (mm/memory.c:
    /// free_pgtables), and an area's mappings all lie in its first 2 MiB.
    pub(super) fn free_empty_page_table(&mut self, gp: u64) {
        let a = area_of(gp);
        if !self.vmas.iter().any(|v| area_of(v.start) == a) {
            if let Some(pt) = self.pt.get_mut(a) {
                *pt = false;
            }
        }
    }
}

/// The pages `[from, to)` a read fault at `gp` in the VMA `[start, end)` maps around
/// (mm/memory.c: do_fault_around): from the fault-around-aligned page before it, or the VMA's
/// start when that is later, up to [`FAULT_AROUND_PAGES`] pages on, within the VMA. A VMA
/// that starts inside a window (one mremap moved there) gets a whole window from its start.
/// The page-table end that also bounds it lies past every area's pages.
fn fault_around_window(gp: u64, start: u64, end: u64) -> (u64, u64) {
    let from = (gp & !(FAULT_AROUND_PAGES - 1)).max(start);
    (from, (from + FAULT_AROUND_PAGES).min(end))
}

/// The address area (a region's index, 4 for the mapping slot) page `gp` lies in.
pub(super) fn area_of(gp: u64) -> usize {
    (gp / REGION_STRIDE_PAGES) as usize
}

/// mm/vma.c: is_mergeable_anon_vma, with `src` the anon_vma of the VMA being changed and
/// `tgt` that of the neighbour it would merge into.
fn anon_mergeable(tgt: Option<AnonVma>, src: Option<AnonVma>) -> bool {
    match (tgt, src) {
        // Case 1: dup_anon_vma from src into tgt, refused for a fork child's VMA.
        (None, Some(s)) => !s.forked,
        // Case 2: src takes tgt's anon_vma, refused when tgt is a fork child's VMA.
        (Some(t), None) => !t.forked,
        (None, None) => true,
        // Case 3: already the same anon_vma.
        (Some(t), Some(s)) => t.id == s.id,
    }
}

/// Frames, the shmem object behind AnonShared and the page cache of `data`.
#[derive(Clone, Debug, Default)]
pub(super) struct Memory {
    frames: BTreeMap<FrameId, FrameInfo>,
    next_frame: FrameId,
    next_anon_vma: u64,
    /// Pages of the shmem objects allocated so far, by object (0: AnonShared's) and page
    /// index.
    shmem: BTreeMap<(u64, u64), FrameId>,
    /// The last shmem object made by an mmap.
    pub(super) last_shm: u64,
    /// Size in pages of each shmem object (its i_size: the mapping's length at mmap,
    /// mm/shmem.c: shmem_zero_setup); a page at or past it is SIGBUS (shmem_fault).
    shm_pages: BTreeMap<u64, u64>,
    /// Page-cache pages of `data`, by page index.
    pcache: BTreeMap<u64, FrameId>,
    /// Folios of `data`'s page cache: first page → number of pages. Every cached page is in
    /// exactly one folio. ext4 uses large folios (6.16+), so the lab's single write(2) of the
    /// file leaves power-of-two folios (see [`Memory::cache_written_file`]); on tmpfs every
    /// folio is one page.
    folios: BTreeMap<u64, u64>,
    /// `data` lives on tmpfs (shmem): exempt from the i_size checks of fault-around.
    shmem_file: bool,
}

impl Memory {
    /// Empty memory for a case whose `data` lives on tmpfs (`shmem_file`) or not.
    pub(super) fn new(shmem_file: bool) -> Memory {
        Memory {
            shmem_file,
            ..Memory::default()
        }
    }

    fn alloc(&mut self, kind: FrameKind, byte: u8) -> FrameId {
        let id = self.next_frame;
        self.next_frame += 1;
        self.frames.insert(
            id,
            FrameInfo {
                kind,
                byte,
                mapcount: 0,
            },
        );
        id
    }

    // rule: mem.exclusive-means-mapped-once
    /// PTEs mapping frame `f`.
    pub(super) fn mapcount(&self, f: FrameId) -> u32 {
        self.frames.get(&f).map_or(0, |i| i.mapcount)
    }

    /// What is behind frame `f`.
    pub(super) fn kind(&self, f: FrameId) -> Option<FrameKind> {
        self.frames.get(&f).map(|i| i.kind)
    }

    /// Records the size of shmem object `shm`.
    pub(super) fn set_shm_pages(&mut self, shm: u64, pages: u64) {
        self.shm_pages.insert(shm, pages);
    }

    /// Size in pages of shmem object `shm`.
    fn shm_pages(&self, shm: u64) -> u64 {
        self.shm_pages.get(&shm).copied().unwrap_or(0)
    }

    /// Byte 0 stored in an anonymous or shmem frame.
    pub(super) fn byte(&self, f: FrameId) -> u8 {
        self.frames.get(&f).map_or(0, |i| i.byte)
    }

    fn set_byte(&mut self, f: FrameId, b: u8) {
        if let Some(i) = self.frames.get_mut(&f) {
            i.byte = b;
        }
    }

    /// The page-cache frame of `data` page `page`, read into the cache if it is not there
    /// (as an order-0 folio: small writes, and reads of holes, are modelled without
    /// readahead or large-folio allocation).
    pub(super) fn pcache_frame(&mut self, page: u64) -> FrameId {
        if let Some(&f) = self.pcache.get(&page) {
            return f;
        }
        let f = self.alloc(FrameKind::PageCache { page }, 0);
        self.pcache.insert(page, f);
        if self.folio_of(page).is_none() {
            self.folios.insert(page, 1);
        }
        f
    }

    /// The page cache of `data` right after the lab wrote its `pages` pages with one
    /// write(2): generic_perform_write asks ext4 for a folio of the order of the bytes left
    /// (mm/filemap.c: fgf_set_order), reduced to the alignment of the index and to
    /// MAX_PAGECACHE_ORDER (PMD order, 512 pages) in __filemap_get_folio. This greedy
    /// power-of-two split was confirmed with /proc/kpageflags on the reference machine
    /// (8 pages: one folio; 12: 8 + 4; 17: 16 + 1). tmpfs with `huge=never` (the default,
    /// /dev/shm) caches order-0 folios only.
    pub(super) fn cache_written_file(&mut self, pages: u64, large_folios: bool) {
        if !large_folios {
            if self.frames.is_empty() && self.pcache.is_empty() && self.folios.is_empty() {
                // A fresh model (every case starts here): the state `pcache_frame` would
                // build page by page, built in one go from sorted keys.
                let first = self.next_frame;
                self.frames = (0..pages)
                    .map(|p| {
                        let info = FrameInfo {
                            kind: FrameKind::PageCache { page: p },
                            byte: 0,
                            mapcount: 0,
                        };
                        (first + p, info)
                    })
                    .collect();
                self.pcache = (0..pages).map(|p| (p, first + p)).collect();
                self.folios = (0..pages).map(|p| (p, 1)).collect();
                self.next_frame = first + pages;
                return;
            }
            for p in 0..pages {
                self.pcache_frame(p);
            }
            return;
        }
        let mut start = 0;
        while start < pages {
            let left = pages - start;
            let mut order = 63 - left.leading_zeros();
            if start != 0 {
                order = order.min(start.trailing_zeros());
            }
            let len = 1u64 << order.min(9);
            for p in start..start + len {
                self.pcache_frame(p);
            }
            self.folios.retain(|&s, _| s < start || s >= start + len);
            self.folios.insert(start, len);
            start += len;
        }
    }

    /// The folio holding cached page `page`: (first page, pages).
    fn folio_of(&self, page: u64) -> Option<(u64, u64)> {
        self.folios
            .range(..=page)
            .next_back()
            .map(|(&s, &l)| (s, l))
            .filter(|&(s, l)| page < s + l)
    }

    /// Cached folios overlapping pages `[lo, hi)`, in order.
    fn folios_overlapping(&self, lo: u64, hi: u64) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = self.folio_of(lo).into_iter().collect();
        let from = out.first().map_or(lo, |&(s, l)| s + l);
        if from < hi {
            out.extend(self.folios.range(from..hi).map(|(&s, &l)| (s, l)));
        }
        out
    }

    /// The shmem frame of AnonShared page `page`: shmem_fault allocates a zeroed page on any
    /// first touch, read or write (mm/shmem.c: shmem_get_folio_gfp with SGP_CACHE), never
    /// the zero page.
    fn shmem_frame(&mut self, shm: u64, page: u64) -> FrameId {
        if let Some(&f) = self.shmem.get(&(shm, page)) {
            return f;
        }
        let f = self.alloc(FrameKind::Shmem, 0);
        self.shmem.insert((shm, page), f);
        f
    }

    /// Installs `pte` at `gp` (replacing and releasing any old one).
    fn set_pte(&mut self, mm: &mut Mm, gp: u64, pte: Pte) {
        self.zap(mm, gp);
        if let Pte::Frame(f) = pte {
            if let Some(i) = self.frames.get_mut(&f) {
                i.mapcount += 1;
            }
        }
        mm.ptes.insert(gp, pte);
        if let Some(pt) = mm.pt.get_mut((gp / REGION_STRIDE_PAGES) as usize) {
            *pt = true;
        }
    }

    /// Clears the PTE at `gp`; an anonymous frame nobody maps any more is freed.
    pub(super) fn zap(&mut self, mm: &mut Mm, gp: u64) {
        if let Some(Pte::Frame(f)) = mm.ptes.remove(&gp) {
            if let Some(i) = self.frames.get_mut(&f) {
                i.mapcount = i.mapcount.saturating_sub(1);
                if i.mapcount == 0 && i.kind == FrameKind::Anon {
                    self.frames.remove(&f);
                }
            }
        }
    }

    /// Releases every PTE and VMA of `mm` (exit_mmap).
    pub(super) fn release_mm(&mut self, mm: &mut Mm) {
        let pages: Vec<u64> = mm.ptes.keys().copied().collect();
        for gp in pages {
            self.zap(mm, gp);
        }
        mm.vmas.clear();
        mm.pt = [false; 5];
    }

    // rule: mem.fork-shares-frames-cow
    // rule: mem.fork-copies-ptes-only-with-anon-vma
    // rule: mm.mlock-not-inherited-by-fork
    // rule: mem.dontfork-absent-in-child
    // rule: mem.wipeonfork-empty-in-child
    /// A fork child's address space (mm/mmap.c: dup_mmap): every VMA but the `VM_DONTCOPY`
    /// ones; `VM_WIPEONFORK` VMAs start empty with no anon_vma; the others get a new
    /// anon_vma of their own (anon_vma_fork) when the parent's has one. PTEs are copied only
    /// for VMAs with an anon_vma (mm/memory.c: vma_needs_copy; a page fault refills the
    /// others: shared mappings, shmem, never-written private mappings). Copied frames gain
    /// one mapping each (anonymous ones become copy-on-write shared); the zero page stays.
    /// The child's VMAs lose `VM_LOCKED | VM_LOCKONFAULT` (dup_mmap: `vm_flags_clear(tmp,
    /// VM_LOCKED_MASK)`) and keep their boundaries (no merge), and its `def_flags` lose
    /// `MCL_FUTURE`'s lock ([`Mm::def_lock`]).
    pub(super) fn fork_mm(&mut self, parent: &Mm) -> Mm {
        let mut child = Mm {
            tid_words: parent.tid_words.clone(),
            ..Mm::default()
        };
        for v in &parent.vmas {
            if v.flags.dontcopy {
                continue;
            }
            let anon_vma = if v.flags.wipeonfork {
                None
            } else {
                v.anon_vma.map(|_| self.new_anon_vma(true))
            };
            child.vmas.push(Vma {
                anon_vma,
                flags: VmaFlags {
                    lock: Lock::None,
                    ..v.flags
                },
                ..v.clone()
            });
            if v.flags.wipeonfork || v.anon_vma.is_none() {
                continue;
            }
            // copy_pte_range allocates the child's page table wherever the parent has one.
            let ri = v.region.index();
            child.pt[ri] |= parent.pt[ri];
            for (&gp, &pte) in parent.ptes.range(v.start..v.end) {
                if let Pte::Frame(f) = pte {
                    if let Some(i) = self.frames.get_mut(&f) {
                        i.mapcount += 1;
                    }
                }
                child.ptes.insert(gp, pte);
            }
        }
        child
    }

    fn new_anon_vma(&mut self, forked: bool) -> AnonVma {
        let id = self.next_anon_vma;
        self.next_anon_vma += 1;
        AnonVma { id, forked }
    }

    // rule: mem.anon-vma-on-first-private-write
    /// Gives VMA `vi` an anon_vma before its first private page (mm/rmap.c:
    /// __anon_vma_prepare): the anon_vma of an adjacent VMA compatible with it (whatever
    /// either's protection: rule mem.anon-vma-reuse-ignores-protection) is reused when its
    /// chain is singular (find_mergeable_anon_vma, next first, then prev), else a new one.
    fn anon_vma_prepare(&mut self, mm: &mut Mm, vi: usize) {
        if mm.vmas[vi].anon_vma.is_some() {
            return;
        }
        let (me, start, end) = {
            let v = &mm.vmas[vi];
            (v.clone(), v.start, v.end)
        };
        let reusable = |n: &Vma| -> Option<AnonVma> {
            n.anon_compatible(&me)
                .then_some(n.anon_vma)
                .flatten()
                .filter(|a| !a.forked)
        };
        let from_next = mm
            .vmas
            .get(vi + 1)
            .filter(|n| n.start == end)
            .and_then(reusable);
        let from_prev = vi
            .checked_sub(1)
            .map(|p| &mm.vmas[p])
            .filter(|p| p.end == start)
            .and_then(reusable);
        let anon = match from_next.or(from_prev) {
            Some(a) => a,
            None => self.new_anon_vma(false),
        };
        mm.vmas[vi].anon_vma = Some(anon);
    }

    // rule: mem.read-fault-around
    /// Read fault-around on AnonShared (mm/memory.c: do_fault_around → filemap_map_pages):
    /// maps every shmem page already allocated within the 16-page-aligned window around `gp`,
    /// clamped to the VMA and to pages below `limit`, whose PTE is empty. shmem folios are
    /// order 0 here (shmem_enabled "never"), and shmem is exempt from the i_size check that
    /// can stop file fault-around ([`Memory::file_read_fault`]).
    fn fault_around(&mut self, mm: &mut Mm, vi: usize, gp: u64, limit: u64) {
        let (start, end, base, shmem, shm) = {
            let v = &mm.vmas[vi];
            let (from, to) = fault_around_window(gp, v.start, v.end);
            (from, to, v.base(), v.kind == Region::AnonShared, v.shm)
        };
        for q in start..end {
            let pgoff = q.wrapping_sub(base);
            if pgoff >= limit || mm.ptes.contains_key(&q) {
                continue;
            }
            let cached = if shmem {
                self.shmem.get(&(shm, pgoff))
            } else {
                self.pcache.get(&pgoff)
            };
            if let Some(&f) = cached {
                self.set_pte(mm, q, Pte::Frame(f));
            }
        }
    }
}

impl Memory {
    // rule: mem.file-private-maps-page-cache-until-written
    /// A read fault on a page of `data` below EOF (mm/memory.c: do_read_fault), in two
    /// parts, with the rules seen on the reference kernel (6.18, ext4 large folios):
    ///
    /// 1. Fault-around (do_fault_around → mm/filemap.c: filemap_map_pages) over the
    ///    16-page-aligned window around the page, clamped to the VMA and to EOF. The first
    ///    cached folio in the window decides whether anything happens when the region has no
    ///    page table yet: filemap_map_pages only installs one (filemap_map_pmd) when
    ///    `file_end >= folio_next_index(folio)` with `file_end` the index of the last page, so
    ///    a folio that ends exactly at EOF leaves `pte_offset_map_lock` without a table and
    ///    nothing is mapped (tmpfs files are exempt). Otherwise every cached folio overlapping the window is mapped:
    ///    entirely when it ends before the last page and lies inside the VMA
    ///    (filemap_map_folio_range), else its part inside the window. Only empty PTEs are
    ///    filled.
    /// 2. If the page is still not mapped: __do_fault → finish_fault maps the whole folio
    ///    when it is inside the VMA, inside EOF and all its PTEs are empty, else only the
    ///    page (the per-page fallback).
    fn file_read_fault(&mut self, mm: &mut Mm, vi: usize, gp: u64, file_pages: u64) {
        let (base, vs, ve, ri) = {
            let v = &mm.vmas[vi];
            let b = v.base();
            (
                b,
                v.start.wrapping_sub(b),
                v.end.wrapping_sub(b),
                v.region.index(),
            )
        };
        let (from, to) = fault_around_window(gp, vs.wrapping_add(base), ve.wrapping_add(base));
        let lo = from.wrapping_sub(base);
        let hi = to.wrapping_sub(base).min(file_pages);
        let folios = if lo < hi {
            self.folios_overlapping(lo, hi)
        } else {
            Vec::new()
        };
        // Folios ending before the last page of the file (file_end >= folio_next_index), or
        // any folio of a tmpfs file (the shmem_mapping exception).
        let shmem = self.shmem_file;
        let inside_eof = |fs: u64, fl: u64| shmem || fs + fl < file_pages;
        if let Some(&(fs, fl)) = folios.first() {
            if mm.pt[ri] || inside_eof(fs, fl) {
                mm.pt[ri] = true;
                for (fs, fl) in folios {
                    let fe = fs + fl;
                    let full = inside_eof(fs, fl) && fs >= vs && fe <= ve;
                    let (a, b) = if full {
                        (fs, fe)
                    } else {
                        (fs.max(lo), fe.min(hi))
                    };
                    for p in a..b {
                        if !mm.ptes.contains_key(&base.wrapping_add(p)) {
                            let f = self.pcache_frame(p);
                            self.set_pte(mm, base.wrapping_add(p), Pte::Frame(f));
                        }
                    }
                }
            }
        }
        if mm.pte(gp).is_none() {
            self.finish_file_fault(mm, vi, gp, file_pages);
        }
    }

    /// __do_fault + finish_fault for a page of `data` (read faults after fault-around, and
    /// write faults on FileShared: do_shared_fault). The page is read into the cache if
    /// needed; the whole folio is mapped when it lies inside the VMA and inside EOF and all
    /// its PTEs are empty, else only the page (mm/memory.c: finish_fault, which falls back to
    /// one page when `!pte_range_none`). Seen on the reference kernel: a store to an
    /// untouched FileShared page of an 8-page file maps all 8 pages.
    fn finish_file_fault(&mut self, mm: &mut Mm, vi: usize, gp: u64, file_pages: u64) {
        let (base, vs, ve) = {
            let v = &mm.vmas[vi];
            let b = v.base();
            (b, v.start.wrapping_sub(b), v.end.wrapping_sub(b))
        };
        let pgoff = gp.wrapping_sub(base);
        self.pcache_frame(pgoff);
        let (fs, fl) = self.folio_of(pgoff).unwrap_or((pgoff, 1));
        let fe = fs + fl;
        let whole = fl > 1
            && fs >= vs
            && fe <= ve
            && fe <= file_pages
            && (fs..fe).all(|p| !mm.ptes.contains_key(&base.wrapping_add(p)));
        let pages = if whole { fs..fe } else { pgoff..pgoff + 1 };
        for p in pages {
            let f = self.pcache_frame(p);
            self.set_pte(mm, base.wrapping_add(p), Pte::Frame(f));
        }
    }
}

impl Model {
    // rule: mem.zero-page-on-anon-read
    // rule: mem.cow-copy-when-shared
    // rule: mem.cow-reuse-when-exclusive
    // rule: mem.shared-mappings-stay-shared
    // rule: mem.unmapped-access-sigsegv
    /// A load (`write == None`) or store of byte 0 of a region page.
    ///
    /// - No VMA covers the page → SIGSEGV (mm/memory.c never finds a VMA: bad area).
    /// - File-backed page at or beyond EOF → SIGBUS (mm/filemap.c: filemap_fault).
    /// - Loads: AnonPrivate maps the zero page (do_anonymous_page); AnonShared runs
    ///   fault-around and maps its shmem page; FilePrivate and FileShared see
    ///   [`Memory::file_read_fault`].
    /// - Stores to private mappings: a zero-page, page-cache or shared anonymous page is
    ///   copied into a new anonymous frame (do_wp_page → wp_page_copy, do_cow_fault,
    ///   do_anonymous_page); an anonymous frame mapped once is reused
    ///   (wp_can_reuse_anon_folio). The VMA first gets an anon_vma (vmf_anon_prepare).
    /// - Stores to shared mappings write the shmem or page-cache frame
    ///   (do_shared_fault, wp_page_shared; a FileShared fault maps as
    ///   [`Memory::finish_file_fault`] says); FileShared stores change the file.
    pub(super) fn op_mem(
        &mut self,
        t: TaskId,
        region: Region,
        page: u32,
        write: Option<u8>,
    ) -> Outcome {
        let gp = global_page(region, page);
        let file_pages = pages_of(self.files.data_size());
        let Model {
            tasks,
            mms,
            mem,
            files,
            ..
        } = self;
        let mm = &mut mms[tasks[t as usize].mm];
        let Some(vi) = mm.vma_at(gp) else {
            return Outcome::Killed(Signal::SIGSEGV);
        };
        let vregion = mm.vmas[vi].kind;
        let shm = mm.vmas[vi].shm;
        // The access check comes before the fault is handled (arch/x86/mm/fault.c:
        // access_error → bad_area_access_error): SIGSEGV, whatever the page.
        let allowed = match mm.vmas[vi].flags.prot {
            Prot::ReadWrite => true,
            Prot::Read => write.is_none(),
            Prot::None => false,
        };
        if !allowed {
            return Outcome::Killed(Signal::SIGSEGV);
        }
        let pgoff = gp.wrapping_sub(mm.vmas[vi].base());
        let pte = mm.pte(gp);
        let beyond_eof = vregion.is_file() && pgoff >= file_pages;
        if vregion == Region::AnonShared && pte.is_none() && pgoff >= mem.shm_pages(shm) {
            return Outcome::Killed(Signal::SIGBUS);
        }
        let Some(byte) = write else {
            if pte.is_none() {
                match vregion {
                    Region::AnonPrivate | Region::Mapped => mem.set_pte(mm, gp, Pte::Zero),
                    Region::AnonShared => {
                        mem.fault_around(mm, vi, gp, u64::MAX);
                        if mm.pte(gp).is_none() {
                            let f = mem.shmem_frame(shm, pgoff);
                            mem.set_pte(mm, gp, Pte::Frame(f));
                        }
                    }
                    Region::FilePrivate | Region::FileShared => {
                        if beyond_eof {
                            return Outcome::Killed(Signal::SIGBUS);
                        }
                        mem.file_read_fault(mm, vi, gp, file_pages);
                    }
                }
            }
            let value = match mm.pte(gp) {
                Some(Pte::Frame(f)) => match mem.kind(f) {
                    Some(FrameKind::PageCache { page }) => {
                        files.data_byte(page.saturating_mul(PAGE_SIZE))
                    }
                    _ => mem.byte(f),
                },
                _ => 0,
            };
            return Outcome::Data(vec![value]);
        };
        match vregion {
            Region::AnonPrivate | Region::FilePrivate | Region::Mapped => {
                if let Some(Pte::Frame(f)) = pte {
                    if mem.kind(f) == Some(FrameKind::Anon) && mem.mapcount(f) == 1 {
                        mem.set_byte(f, byte);
                        return Outcome::Ret(0);
                    }
                }
                if pte.is_none() && vregion == Region::FilePrivate {
                    if beyond_eof {
                        return Outcome::Killed(Signal::SIGBUS);
                    }
                    // do_cow_fault reads the page into the cache (__do_fault) to copy it.
                    mem.pcache_frame(pgoff);
                }
                mem.anon_vma_prepare(mm, vi);
                let f = mem.alloc(FrameKind::Anon, byte);
                mem.set_pte(mm, gp, Pte::Frame(f));
            }
            Region::AnonShared => {
                let f = match pte {
                    Some(Pte::Frame(f)) => f,
                    _ => {
                        let f = mem.shmem_frame(shm, pgoff);
                        mem.set_pte(mm, gp, Pte::Frame(f));
                        f
                    }
                };
                mem.set_byte(f, byte);
            }
            Region::FileShared => {
                if pte.is_none() {
                    if beyond_eof {
                        return Outcome::Killed(Signal::SIGBUS);
                    }
                    mem.finish_file_fault(mm, vi, gp, file_pages);
                }
                files.data_write_byte(pgoff.saturating_mul(PAGE_SIZE), byte);
            }
        }
        Outcome::Ret(0)
    }

    // rule: mem.madvise-flags-split-and-merge
    // rule: mem.wipeonfork-einval-on-shared-or-file
    // rule: mem.madvise-hole-enomem
    // rule: mem.dontneed-zaps
    // rule: mm.mlock-dontneed-einval
    /// `madvise(region + first page, count pages, advice)` (madvise(2); mm/madvise.c).
    ///
    /// The range is walked VMA by VMA (madvise_walk_vmas): each covered part gets the advice
    /// right away, an unmapped hole makes the final answer ENOMEM without stopping the walk,
    /// and an error on a VMA (MADV_WIPEONFORK on a file-backed or `VM_SHARED` VMA: EINVAL,
    /// madvise_vma_behavior) stops it, leaving earlier VMAs changed. `count == 0` is a
    /// no-op. Flag advice splits and merges VMAs ([`Mm::modify_flags`]; nothing happens when
    /// the flags already match: madvise_update_vma). MADV_DONTNEED zaps the PTEs
    /// (zap_page_range_single) and leaves VMAs and anon_vmas alone; on a `VM_LOCKED` VMA it is
    /// EINVAL (mm/madvise.c: madvise_dontneed_free_valid_vma), stopping the walk there.
    pub(super) fn op_madvise(
        &mut self,
        t: TaskId,
        region: Region,
        first: u32,
        count: u32,
        advice: Advice,
    ) -> Outcome {
        if count == 0 {
            return Outcome::Ret(0);
        }
        let start = global_page(region, first);
        let end = start + u64::from(count);
        let Model {
            tasks, mms, mem, ..
        } = self;
        let mm = &mut mms[tasks[t as usize].mm];
        let mut hole = false;
        let mut cur = start;
        loop {
            let Some(vi) = mm.vmas.iter().position(|v| v.end > cur) else {
                return Outcome::Err(Errno::ENOMEM);
            };
            if cur < mm.vmas[vi].start {
                hole = true;
                cur = mm.vmas[vi].start;
                if cur >= end {
                    break;
                }
            }
            let piece_end = mm.vmas[vi].end.min(end);
            let v = &mm.vmas[vi];
            let mut nf = v.flags;
            match advice {
                Advice::DontNeed => {
                    // madvise_dontneed_free_valid_vma (can_madv_lru_vma before 5.18).
                    if v.flags.lock.locked() {
                        return Outcome::Err(Errno::EINVAL);
                    }
                    let pages: Vec<u64> = mm.ptes.range(cur..piece_end).map(|(&k, _)| k).collect();
                    for gp in pages {
                        mem.zap(mm, gp);
                    }
                }
                Advice::DontFork => nf.dontcopy = true,
                Advice::DoFork => nf.dontcopy = false,
                Advice::WipeOnFork => {
                    // Only private anonymous memory: not vm_file, not VM_SHARED (shmem).
                    if v.kind != Region::AnonPrivate {
                        return Outcome::Err(Errno::EINVAL);
                    }
                    nf.wipeonfork = true;
                }
                Advice::KeepOnFork => nf.wipeonfork = false,
            }
            if nf != mm.vmas[vi].flags {
                mm.modify_flags(vi, cur, piece_end, nf);
            }
            cur = piece_end;
            if cur >= end {
                break;
            }
        }
        if hole {
            Outcome::Err(Errno::ENOMEM)
        } else {
            Outcome::Ret(0)
        }
    }

    // rule: mem.truncate-sigbus-and-zap-cows
    /// `data` shrank to `new_size`: every mapping of its pages at or past
    /// `round_up(new_size, PAGE_SIZE)` is zapped in every task, private copy-on-write copies
    /// included, and those pages leave the page cache (mm/truncate.c: truncate_pagecache →
    /// unmap_mapping_range(.., even_cows = 1), truncate_inode_pages).
    pub(super) fn truncate_data_mappings(&mut self, new_size: u64) {
        let keep = pages_of(new_size);
        let live = self.live_mms();
        let Model { mms, mem, .. } = self;
        for i in live {
            let mm = &mut mms[i];
            let mut pages = Vec::new();
            for v in mm.vmas.iter().filter(|v| v.kind.is_file()) {
                // The first page whose file offset is at or past `keep` (a moved VMA's base
                // may lie below page 0: offsets wrap).
                let first_pgoff = v.start.wrapping_sub(v.base());
                let from = v.start.saturating_add(keep.saturating_sub(first_pgoff));
                if from < v.end {
                    pages.extend(mm.ptes.range(from..v.end).map(|(&k, _)| k));
                }
            }
            for gp in pages {
                mem.zap(mm, gp);
            }
        }
        let gone = mem.pcache.split_off(&keep);
        for f in gone.values() {
            mem.frames.remove(f);
        }
        // A folio straddling the new EOF is split (mm/truncate.c:
        // truncate_inode_partial_folio → try_folio_split_to_order, a buddy split that makes
        // the page at the cut order 0); the pieces past EOF leave the cache.
        if let Some((fs, fl)) = keep.checked_sub(1).and_then(|last| mem.folio_of(last)) {
            if fs + fl > keep {
                mem.folios.remove(&fs);
                for (s, l) in buddy_split(fs, fl, keep) {
                    mem.folios.insert(s, l);
                }
            }
        }
        mem.folios.retain(|&s, _| s < keep);
    }
}

/// Non-uniform buddy split of folio `[start, start + len)` at page `at`: the halves not
/// holding `at` stay whole, the one holding it is split further down to order 0
/// (mm/huge_memory.c: __split_unmapped_folio with a non-uniform split).
fn buddy_split(start: u64, len: u64, at: u64) -> Vec<(u64, u64)> {
    if len <= 1 {
        return vec![(start, len.max(1))];
    }
    let half = len / 2;
    if at < start + half {
        let mut v = buddy_split(start, half, at);
        v.push((start + half, half));
        v
    } else {
        let mut v = vec![(start, half)];
        v.extend(buddy_split(start + half, half, at));
        v
    }
}

#[cfg(test)]
mod page_cache_tests {
    use super::*;

    /// The bulk build of a fresh model's page cache gives exactly the state caching page by
    /// page gives.
    #[test]
    fn a_fresh_page_cache_is_what_caching_page_by_page_builds() {
        for pages in [0, 1, 8, 17, 256] {
            let mut bulk = Memory::new(true);
            bulk.cache_written_file(pages, false);
            let mut one_by_one = Memory::new(true);
            for p in 0..pages {
                one_by_one.pcache_frame(p);
            }
            assert_eq!(
                format!("{bulk:?}"),
                format!("{one_by_one:?}"),
                "{pages} pages"
            );
        }
        // Memory that holds a frame or caches a page is not fresh: it is cached page by page.
        let warm = |first: fn(&mut Memory)| {
            let mut m = Memory::new(true);
            first(&mut m);
            let mut one_by_one = m.clone();
            m.cache_written_file(8, false);
            for p in 0..8 {
                one_by_one.pcache_frame(p);
            }
            (m, one_by_one)
        };
        let (with_anon, one_by_one) = warm(|m| {
            m.alloc(FrameKind::Anon, 7);
        });
        assert_eq!(format!("{with_anon:?}"), format!("{one_by_one:?}"));
        let (warm, one_by_one) = warm(|m| {
            m.pcache_frame(3);
        });
        assert_eq!(format!("{warm:?}"), format!("{one_by_one:?}"));
    }
}
