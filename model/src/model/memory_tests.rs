//! Unit tests of internal-level memory rules that generated cases seldom reach: VMAs that
//! merge back after a split, the page table a fork child inherits, finish_fault on a folio
//! that is partly mapped, the folio at a truncation point, and the fault-around window. Each
//! expectation was also checked on the reference kernel (6.18.44) by replaying the same ops
//! through the lab (`forkspec replay`, ext4 cases in a directory on ext4).

use super::tests::{fork, load, madvise, model, open, presence, run, rw, store};
use super::*;
use crate::op::{Advice, FileName, OpKind};

const AS: Region = Region::AnonShared;
const FP: Region = Region::FilePrivate;
const FS: Region = Region::FileShared;
const PAGE: i64 = crate::op::PAGE_SIZE as i64;

/// A case of 8 pages whose `data` is on ext4 (large folios: the lab's one write of the
/// file caches it as a single 8-page folio), with `data` open read-write at fd 0.
fn ext4_with_data_open() -> Model {
    let mut m = Model::with_case_fs(CaseConfig { pages: 8 }, &Profile::default(), CaseFs::Ext4);
    assert_eq!(open(&mut m, 0, FileName::Data, rw(false)), Outcome::Ret(0));
    m
}

fn ftruncate(m: &mut Model, len: i64) {
    assert_eq!(run(m, 0, OpKind::Ftruncate { fd: 0, len }), Outcome::Ret(0));
}

// covers: mem.dontfork, mem.map-shared
#[test]
fn a_vma_split_by_madvise_merges_back_and_fault_around_spans_it_again() {
    let mut m = model();
    for p in 0..8 {
        assert_eq!(store(&mut m, 0, AS, p, 1), Outcome::Ret(0));
    }
    // A shared VMA without an anon_vma is not copied by fork: the child faults its pages.
    let c = fork(&mut m, 0);
    assert_eq!(presence(&m, c, AS), "........");
    // Fault-around covers the 16-page window around the fault, clamped to the VMA: after a
    // split at page 2 it stops there.
    madvise(&mut m, c, AS, 2, 2, Advice::DontFork);
    assert_eq!(load(&mut m, c, AS, 0), Outcome::Data(vec![1]));
    assert_eq!(presence(&m, c, AS), "PP......");
    // Clearing the flag merges the three VMAs back into one (same shmem object at
    // contiguous offsets, no anon_vma): fault-around reaches every page again.
    madvise(&mut m, c, AS, 2, 2, Advice::DoFork);
    madvise(&mut m, c, AS, 0, 8, Advice::DontNeed);
    assert_eq!(load(&mut m, c, AS, 0), Outcome::Data(vec![1]));
    assert_eq!(presence(&m, c, AS), "PPPPPPPP");
}

// covers: mem.zero-page, mem.file-private
#[test]
fn a_fork_child_has_the_page_table_of_a_copied_file_vma() {
    let mut m = ext4_with_data_open();
    assert_eq!(store(&mut m, 0, FP, 3, 9), Outcome::Ret(0));
    assert_eq!(presence(&m, 0, FP), "...X....");
    // The private copy gave the VMA an anon_vma, so fork copies its PTEs and the child has a
    // page table there. The 8-page folio ends at EOF, which stops fault-around only in a
    // region without a page table: the child's read maps the whole folio around its copy.
    let c = fork(&mut m, 0);
    assert_eq!(presence(&m, c, FP), "...P....");
    assert_eq!(load(&mut m, c, FP, 1), Outcome::Data(vec![0x81]));
    assert_eq!(presence(&m, c, FP), "XXXPXXXX");
    assert_eq!(presence(&m, 0, FP), "...P....");
}

// covers: mem.map-shared
#[test]
fn a_folio_that_ends_at_the_new_eof_is_not_split() {
    let mut m = ext4_with_data_open();
    // In the model 8 pages → 5 splits the folio at page 5 ([0,4) + [4,5) stay), and 5 → 4
    // cuts at the end of [0,4), which stays whole.
    ftruncate(&mut m, 5 * PAGE);
    ftruncate(&mut m, 4 * PAGE);
    // With the VMA split at page 2 the folio [0,4) is not inside the VMA [2,8): a read of
    // page 3 maps that page alone (fault-around stops at a folio that ends at EOF in a
    // region without a page table). Split pieces [2,3) + [3,4) would be mapped by
    // fault-around instead. (The kernel gives the same presence for another reason: it keeps
    // the dirty 8-page folio whole: README, "Deliberate exceptions".)
    madvise(&mut m, 0, FS, 0, 2, Advice::DontFork);
    assert_eq!(load(&mut m, 0, FS, 3), Outcome::Data(vec![0x83]));
    assert_eq!(presence(&m, 0, FS), "...X....");
}

// covers: mem.map-shared
#[test]
fn fault_around_maps_the_aligned_16_page_window_of_the_fault() {
    let mut m = Model::new(CaseConfig { pages: 40 }, &Profile::default());
    for p in 0..40 {
        assert_eq!(store(&mut m, 0, AS, p, 1), Outcome::Ret(0));
    }
    let c = fork(&mut m, 0);
    assert_eq!(load(&mut m, c, AS, 20), Outcome::Data(vec![1]));
    let want = format!("{}{}{}", ".".repeat(16), "P".repeat(16), ".".repeat(8));
    assert_eq!(presence(&m, c, AS), want);
    // The last window is clamped to the VMA.
    assert_eq!(load(&mut m, c, AS, 33), Outcome::Data(vec![1]));
    let want = format!("{}{}", ".".repeat(16), "P".repeat(24));
    assert_eq!(presence(&m, c, AS), want);
}

// covers: mem.dontfork, mem.file-private
#[test]
fn a_vma_with_an_anon_vma_merges_back_with_neighbours_without_one() {
    // The middle piece got an anon_vma (its private copy of page 2); its neighbours have
    // none. A non-forked anon_vma may be shared with them, so clearing the flag merges all
    // three and fault-around spans the whole mapping again.
    let mut m = model();
    madvise(&mut m, 0, FP, 2, 2, Advice::DontFork);
    assert_eq!(store(&mut m, 0, FP, 2, 5), Outcome::Ret(0));
    madvise(&mut m, 0, FP, 2, 2, Advice::DoFork);
    madvise(&mut m, 0, FP, 0, 8, Advice::DontNeed);
    assert_eq!(load(&mut m, 0, FP, 0), Outcome::Data(vec![0x80]));
    assert_eq!(presence(&m, 0, FP), "XXXXXXXX");
}

// covers: mem.dontfork, mem.file-private
#[test]
fn a_merge_on_both_sides_takes_a_previous_vma_with_an_anon_vma_and_a_next_without() {
    let mut m = model();
    madvise(&mut m, 0, FP, 2, 2, Advice::DontFork);
    assert_eq!(store(&mut m, 0, FP, 0, 5), Outcome::Ret(0));
    madvise(&mut m, 0, FP, 2, 2, Advice::DoFork);
    madvise(&mut m, 0, FP, 0, 8, Advice::DontNeed);
    assert_eq!(load(&mut m, 0, FP, 0), Outcome::Data(vec![0x80]));
    assert_eq!(presence(&m, 0, FP), "XXXXXXXX");
}

/// An munmap that leaves no VMA in an area frees its page table (mm/memory.c
/// free_pgtables): a file VMA moved through that area later carries no page table with it.
/// So when it covers only part of a folio that ends at EOF, a read fault maps the faulting
/// page alone (finish_fault cannot map the folio whole, and fault-around stops at such a
/// folio in an area without a page table); with a page table, fault-around maps the rest.
// covers: mm.mremap-resize, mem.file-private
#[test]
fn an_munmap_of_the_last_vma_frees_the_page_table_of_its_area() {
    use crate::op::MremapTo;
    const M: Region = Region::Mapped;
    let mut m = ext4_with_data_open();
    let mv = |region, count, to: Region| OpKind::Mremap {
        region,
        first: 0,
        count,
        new_count: count,
        to: Some(MremapTo {
            region: to,
            page: 0,
            no_maymove: false,
        }),
        unaligned: false,
    };
    assert_eq!(run(&mut m, 0, mv(FP, 8, M)), Outcome::Ret(0));
    // The slot gets its page table at this fault.
    assert_eq!(load(&mut m, 0, M, 1), Outcome::Data(vec![0x81]));
    let unmap = OpKind::Munmap { first: 0, count: 8 };
    assert_eq!(run(&mut m, 0, unmap), Outcome::Ret(0));
    assert_eq!(run(&mut m, 0, mv(FS, 8, M)), Outcome::Ret(0));
    assert_eq!(run(&mut m, 0, mv(M, 4, FP)), Outcome::Ret(0));
    assert_eq!(load(&mut m, 0, FP, 1), Outcome::Data(vec![0x81]));
    assert_eq!(presence(&m, 0, FP), ".X......");
}
