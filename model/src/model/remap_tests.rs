//! Unit tests of `mremap`: moves keep frames and copy-on-write sharing, in-place resizes, the
//! error cases and the 6.17 change of the `MREMAP_FIXED` checks.

use super::tests::{fork, load, model, page, run, store, vfork};
use super::*;
use crate::obs::{Errno, Outcome, Signal};
use crate::op::{MapKind, MremapTo, OpKind, Prot};

const AP: Region = Region::AnonPrivate;
const AS: Region = Region::AnonShared;
const M: Region = Region::Mapped;
const SEGV: Outcome = Outcome::Killed(Signal::SIGSEGV);
const BUS: Outcome = Outcome::Killed(Signal::SIGBUS);

fn on(kernel: (u32, u32)) -> Model {
    let profile = Profile {
        kernel,
        ..Profile::default()
    };
    Model::new(CaseConfig { pages: 8 }, &profile)
}

fn to(region: Region, page: u32) -> Option<MremapTo> {
    Some(MremapTo {
        region,
        page,
        no_maymove: false,
    })
}

/// The VMAs of t0's mapping slot, as (first, end) global pages.
fn slot_vmas(m: &Model) -> Vec<(u64, u64)> {
    m.mms[0]
        .vmas
        .iter()
        .filter(|v| v.region == M)
        .map(|v| (v.start, v.end))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn remap(
    m: &mut Model,
    t: TaskId,
    region: Region,
    first: u32,
    count: u32,
    new_count: u32,
    to: Option<MremapTo>,
) -> Outcome {
    run(
        m,
        t,
        OpKind::Mremap {
            region,
            first,
            count,
            new_count,
            to,
            unaligned: false,
        },
    )
}

fn mmap(m: &mut Model, first: u32, count: u32, map: MapKind) -> Outcome {
    run(
        m,
        0,
        OpKind::Mmap {
            first,
            count,
            map,
            prot: Prot::ReadWrite,
            locked: false,
        },
    )
}

/// A load by a fresh fork child of `t` (the same mappings), so that a fault kills the child
/// and `t` goes on.
fn probe(m: &mut Model, t: TaskId, region: Region, page: u32) -> Outcome {
    let c = fork(m, t);
    load(m, c, region, page)
}

fn byte(b: u8) -> Outcome {
    Outcome::Data(vec![b])
}

const OK: Outcome = Outcome::Ret(0);

#[test]
fn a_move_after_fork_keeps_sharing_the_frames_until_written() {
    let mut m = model();
    assert_eq!(store(&mut m, 0, AP, 0, 5), OK);
    assert_eq!(store(&mut m, 0, AP, 1, 6), OK);
    let c = fork(&mut m, 0);
    // t0 moves pages 0..2 over pages 4..6 of its own region.
    assert_eq!(remap(&mut m, 0, AP, 0, 2, 2, to(AP, 4)), OK);
    let moved = page(&m, 0, AP, 4);
    let child = page(&m, c, AP, 0);
    assert!(!page(&m, 0, AP, 0).mapped);
    assert_eq!(moved.frame, child.frame);
    assert!(moved.present && !moved.exclusive && !child.exclusive);
    assert_eq!(probe(&mut m, 0, AP, 0), SEGV);
    // The contents stay each process's own: t0's write copies.
    assert_eq!(store(&mut m, 0, AP, 4, 9), OK);
    assert_eq!(load(&mut m, c, AP, 0), byte(5));
    assert_ne!(page(&m, 0, AP, 4).frame, page(&m, c, AP, 0).frame);
    assert!(page(&m, c, AP, 0).exclusive);
    assert_eq!(load(&mut m, 0, AP, 5), byte(6));
}

#[test]
fn the_other_process_keeps_its_mappings() {
    let mut m = model();
    assert_eq!(store(&mut m, 0, AS, 2, 7), OK);
    let c = fork(&mut m, 0);
    let before = m.snapshot().task(0).unwrap().memory.clone();
    assert_eq!(remap(&mut m, c, AS, 0, 4, 4, to(M, 0)), OK);
    assert_eq!(remap(&mut m, c, AP, 0, 8, 2, None), OK);
    assert_eq!(m.snapshot().task(0).unwrap().memory, before);
    // The child sees the shared page at its new place, and a write there is seen by t0.
    assert_eq!(load(&mut m, c, M, 2), byte(7));
    assert_eq!(store(&mut m, c, M, 3, 8), OK);
    assert_eq!(load(&mut m, 0, AS, 3), byte(8));
    assert_eq!(probe(&mut m, c, AP, 2), SEGV);
}

#[test]
fn a_vfork_child_moves_its_parents_mapping() {
    let mut m = model();
    let c = vfork(&mut m, 0);
    assert_eq!(store(&mut m, c, AP, 0, 3), OK);
    assert_eq!(remap(&mut m, c, AP, 0, 1, 1, to(M, 5)), OK);
    assert_eq!(
        run(
            &mut m,
            c,
            OpKind::Exit {
                code: 0,
                thread: false
            }
        ),
        Outcome::Exited
    );
    assert_eq!(load(&mut m, 0, M, 5), byte(3));
    assert_eq!(probe(&mut m, 0, AP, 0), SEGV);
}

#[test]
fn shrink_in_place_unmaps_the_tail_across_mappings() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 2, MapKind::AnonPrivate), OK);
    assert_eq!(mmap(&mut m, 3, 2, MapKind::AnonShared), OK);
    assert_eq!(remap(&mut m, 0, M, 0, 5, 1, None), OK);
    assert_eq!(load(&mut m, 0, M, 0), byte(0));
    for p in 1..5 {
        assert_eq!(probe(&mut m, 0, M, p), SEGV, "page {p}");
    }
    // Equal sizes in place do nothing.
    assert_eq!(remap(&mut m, 0, M, 0, 1, 1, None), OK);
}

#[test]
fn grow_in_place_needs_the_end_of_the_mapping_and_free_pages_after_it() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 2, MapKind::AnonPrivate), OK);
    assert_eq!(mmap(&mut m, 3, 1, MapKind::AnonPrivate), OK);
    assert_eq!(store(&mut m, 0, M, 3, 4), OK);
    // Not the end of the mapping: no move allowed.
    assert_eq!(
        remap(&mut m, 0, M, 0, 1, 2, None),
        Outcome::Err(Errno::ENOMEM)
    );
    // The next mapping is in the way.
    assert_eq!(
        remap(&mut m, 0, M, 0, 2, 4, None),
        Outcome::Err(Errno::ENOMEM)
    );
    // Past the mapping's end: EFAULT.
    assert_eq!(
        remap(&mut m, 0, M, 1, 2, 3, None),
        Outcome::Err(Errno::EFAULT)
    );
    assert_eq!(remap(&mut m, 0, M, 0, 2, 3, None), OK);
    assert_eq!(load(&mut m, 0, M, 2), byte(0));
    assert_eq!(load(&mut m, 0, M, 3), byte(4));
    assert_eq!(probe(&mut m, 0, AP, 9), SEGV);
    assert_eq!(remap(&mut m, 0, AP, 0, 8, 10, None), OK);
    assert_eq!(load(&mut m, 0, AP, 9), byte(0));
}

#[test]
fn a_grown_private_anonymous_mapping_merges_with_the_one_it_reaches() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 2, MapKind::AnonPrivate), OK);
    assert_eq!(mmap(&mut m, 3, 1, MapKind::AnonPrivate), OK);
    assert_eq!(remap(&mut m, 0, M, 0, 2, 3, None), OK);
    let base = memory::global_page(M, 0);
    assert_eq!(slot_vmas(&m), vec![(base, base + 4)]);
}

#[test]
fn an_unfaulted_anonymous_mapping_takes_the_offsets_of_its_new_place() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 2, MapKind::AnonPrivate), OK);
    assert_eq!(mmap(&mut m, 4, 2, MapKind::AnonPrivate), OK);
    // Moved next to the other one, never written: the two merge (copy_vma resets pgoff).
    assert_eq!(remap(&mut m, 0, M, 0, 2, 2, to(M, 6)), OK);
    let base = memory::global_page(M, 0);
    let slot = slot_vmas(&m);
    assert_eq!(slot, vec![(base + 4, base + 8)]);
    // Written first, it keeps its offsets and stays apart.
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 2, MapKind::AnonPrivate), OK);
    assert_eq!(mmap(&mut m, 4, 2, MapKind::AnonPrivate), OK);
    assert_eq!(store(&mut m, 0, M, 0, 1), OK);
    assert_eq!(remap(&mut m, 0, M, 0, 2, 2, to(M, 6)), OK);
    let n = m.mms[0].vmas.iter().filter(|v| v.region == M).count();
    assert_eq!(n, 2);
    assert_eq!(load(&mut m, 0, M, 6), byte(1));
}

#[test]
fn a_shared_mapping_grown_past_its_object_is_sigbus_there() {
    let mut m = model();
    assert_eq!(store(&mut m, 0, AS, 7, 2), OK);
    assert_eq!(remap(&mut m, 0, AS, 0, 8, 10, None), OK);
    assert_eq!(load(&mut m, 0, AS, 7), byte(2));
    assert_eq!(probe(&mut m, 0, AS, 8), BUS);
    assert_eq!(
        {
            let c = fork(&mut m, 0);
            store(&mut m, c, AS, 9, 1)
        },
        BUS
    );
    // A new shared mapping's object is as long as the mmap; moved and grown, the same.
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 2, MapKind::AnonShared), OK);
    assert_eq!(remap(&mut m, 0, M, 0, 2, 3, to(M, 8)), OK);
    assert_eq!(load(&mut m, 0, M, 9), byte(0));
    assert_eq!(probe(&mut m, 0, M, 10), BUS);
    // A private one grown and moved reads zeros in its new part.
    assert_eq!(remap(&mut m, 0, AP, 6, 2, 3, to(M, 12)), OK);
    assert_eq!(load(&mut m, 0, M, 14), byte(0));
}

#[test]
fn a_zero_old_size_duplicates_a_shared_mapping_only() {
    let mut m = model();
    assert_eq!(store(&mut m, 0, AS, 1, 4), OK);
    assert_eq!(remap(&mut m, 0, AS, 0, 0, 2, to(M, 0)), OK);
    assert_eq!(load(&mut m, 0, M, 1), byte(4));
    assert_eq!(load(&mut m, 0, AS, 1), byte(4));
    assert_eq!(
        remap(&mut m, 0, AP, 0, 0, 2, to(M, 4)),
        Outcome::Err(Errno::EINVAL)
    );
    // In place there is no room to grow a zero-length range: ENOMEM.
    assert_eq!(
        remap(&mut m, 0, AS, 0, 0, 2, None),
        Outcome::Err(Errno::ENOMEM)
    ); // A private one is EINVAL first.
    assert_eq!(
        remap(&mut m, 0, AP, 0, 0, 2, None),
        Outcome::Err(Errno::EINVAL)
    );
}

#[test]
fn invalid_arguments_are_einval_and_an_unmapped_old_address_efault() {
    let mut m = model();
    let bad = |m: &mut Model, kind: OpKind| run(m, 0, kind);
    let op = |first, count, new_count, to, unaligned| OpKind::Mremap {
        region: AP,
        first,
        count,
        new_count,
        to,
        unaligned,
    };
    assert_eq!(
        bad(&mut m, op(0, 1, 1, None, true)),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        bad(&mut m, op(0, 1, 0, None, false)),
        Outcome::Err(Errno::EINVAL)
    );
    let fixed_only = Some(MremapTo {
        region: M,
        page: 0,
        no_maymove: true,
    });
    assert_eq!(
        bad(&mut m, op(0, 1, 1, fixed_only, false)),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        bad(&mut m, op(0, 2, 2, to(AP, 1), false)),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        bad(&mut m, op(0, 2, 3, to(AP, 1), false)),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        bad(&mut m, op(20, 1, 1, None, false)),
        Outcome::Err(Errno::EFAULT)
    );
    assert_eq!(
        bad(&mut m, op(20, 1, 1, to(M, 0), false)),
        Outcome::Err(Errno::EFAULT)
    );
    // Nothing changed.
    assert_eq!(m.snapshot(), model().snapshot());
}

#[test]
fn an_overlap_with_an_unmapped_old_address_is_einval_since_6_17() {
    for (kernel, want) in [((6, 16), Errno::EFAULT), ((6, 17), Errno::EINVAL)] {
        let mut m = on(kernel);
        assert_eq!(
            remap(&mut m, 0, M, 0, 2, 2, to(M, 1)),
            Outcome::Err(want),
            "{kernel:?}"
        );
    }
}

#[test]
fn a_plain_move_spans_several_mappings_since_6_17() {
    for (kernel, spans) in [((6, 16), false), ((6, 17), true)] {
        let mut m = on(kernel);
        assert_eq!(mmap(&mut m, 0, 2, MapKind::AnonPrivate), OK);
        assert_eq!(mmap(&mut m, 3, 1, MapKind::AnonShared), OK);
        assert_eq!(mmap(&mut m, 8, 6, MapKind::AnonPrivate), OK);
        assert_eq!(store(&mut m, 0, M, 0, 1), OK);
        assert_eq!(store(&mut m, 0, M, 3, 3), OK);
        assert_eq!(store(&mut m, 0, M, 10, 9), OK);
        let out = remap(&mut m, 0, M, 0, 4, 4, to(M, 8));
        if spans {
            assert_eq!(out, OK);
            assert_eq!(load(&mut m, 0, M, 8), byte(1));
            // The destination page facing the hole keeps its old mapping.
            assert_eq!(load(&mut m, 0, M, 10), byte(9));
            assert_eq!(load(&mut m, 0, M, 11), byte(3));
            assert_eq!(load(&mut m, 0, M, 12), byte(0));
            assert_eq!(probe(&mut m, 0, M, 0), SEGV);
        } else {
            // EFAULT once the destination is unmapped.
            assert_eq!(out, Outcome::Err(Errno::EFAULT), "{kernel:?}");
            assert_eq!(load(&mut m, 0, M, 0), byte(1));
            assert_eq!(probe(&mut m, 0, M, 10), SEGV);
            assert_eq!(load(&mut m, 0, M, 12), byte(0));
        }
        // A hole at the start of the old range is EFAULT on both.
        assert_eq!(
            remap(&mut m, 0, M, 2, 2, 2, to(M, 14)),
            Outcome::Err(Errno::EFAULT)
        );
    }
}

#[test]
fn a_resizing_move_across_mappings_unmaps_first_before_6_17() {
    for (kernel, unmapped_first) in [((6, 16), true), ((6, 17), false)] {
        let mut m = on(kernel);
        assert_eq!(mmap(&mut m, 0, 2, MapKind::AnonPrivate), OK);
        assert_eq!(mmap(&mut m, 2, 2, MapKind::AnonShared), OK);
        assert_eq!(mmap(&mut m, 8, 4, MapKind::AnonPrivate), OK);
        // A shrink whose moved part spans both: EFAULT.
        assert_eq!(
            remap(&mut m, 0, M, 0, 4, 3, to(M, 8)),
            Outcome::Err(Errno::EFAULT),
            "{kernel:?}"
        );
        let seg = |o: Outcome| o == SEGV;
        assert_eq!(seg(probe(&mut m, 0, M, 8)), unmapped_first, "{kernel:?}");
        assert_eq!(seg(probe(&mut m, 0, M, 3)), unmapped_first, "{kernel:?}");
        assert_eq!(load(&mut m, 0, M, 11), byte(0));
        // An empty private range: EINVAL, after the unmap before 6.17.
        assert_eq!(
            remap(&mut m, 0, M, 0, 0, 1, to(M, 11)),
            Outcome::Err(Errno::EINVAL)
        );
        assert_eq!(seg(probe(&mut m, 0, M, 11)), unmapped_first, "{kernel:?}");
    }
    // A shrinking move whose new size fits the first mapping moves, the tail unmapped.
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 2, MapKind::AnonPrivate), OK);
    assert_eq!(mmap(&mut m, 2, 2, MapKind::AnonShared), OK);
    assert_eq!(store(&mut m, 0, M, 1, 5), OK);
    assert_eq!(remap(&mut m, 0, M, 0, 4, 2, to(M, 8)), OK);
    assert_eq!(load(&mut m, 0, M, 9), byte(5));
    assert_eq!(probe(&mut m, 0, M, 3), SEGV);
}

#[test]
fn a_move_whose_old_range_starts_in_a_hole_is_efault_with_nothing_changed() {
    for kernel in [(6, 16), (6, 17)] {
        let mut m = on(kernel);
        assert_eq!(mmap(&mut m, 1, 2, MapKind::AnonPrivate), OK);
        assert_eq!(mmap(&mut m, 8, 3, MapKind::AnonPrivate), OK);
        assert_eq!(store(&mut m, 0, M, 8, 9), OK);
        assert_eq!(
            remap(&mut m, 0, M, 0, 3, 3, to(M, 8)),
            Outcome::Err(Errno::EFAULT),
            "{kernel:?}"
        );
        assert_eq!(load(&mut m, 0, M, 1), byte(0));
        assert_eq!(load(&mut m, 0, M, 8), byte(9));
    }
}

/// Seen on 6.18: a file mapping moved to start inside a fault-around window gets a whole
/// window from its start (do_fault_around clamps the aligned start to the VMA, then counts
/// 16 pages on), not the window its file offsets would align to.
#[test]
fn fault_around_in_a_moved_file_mapping_starts_at_the_mapping() {
    let mut m = Model::new(CaseConfig { pages: 32 }, &Profile::default());
    let fp = Region::FilePrivate;
    assert_eq!(remap(&mut m, 0, fp, 0, 32, 32, to(AP, 8)), OK);
    assert_eq!(load(&mut m, 0, AP, 8), byte(0x80));
    let present: Vec<usize> = (0..32).filter(|&p| page(&m, 0, AP, p).present).collect();
    assert_eq!(present, (8..24).collect::<Vec<_>>());
    // In the middle of the mapping the window is the aligned one.
    assert_eq!(load(&mut m, 0, AP, 26), byte(0x80 | 18));
    assert!((24..32).all(|p| page(&m, 0, AP, p).present));
}

/// A fresh mapping moved between two parts of a region stays apart from them: the lab
/// advises MADV_NOHUGEPAGE on the regions only, so the flags differ and copy_vma cannot
/// merge (found by the generated mix: a fork then copies the region part's PTEs only). Where
/// the lab could not advise it, the three merge into one VMA again.
#[test]
fn a_mapping_moved_into_a_region_merges_only_without_the_regions_thp_advice() {
    for (without_advice, child_present) in [(false, false), (true, true)] {
        let profile = Profile {
            regions_without_thp_advice: without_advice,
            ..Profile::default()
        };
        let mut m = Model::new(CaseConfig { pages: 8 }, &profile);
        assert_eq!(mmap(&mut m, 15, 1, MapKind::AnonPrivate), OK);
        assert_eq!(remap(&mut m, 0, M, 15, 1, 1, to(AP, 2)), OK);
        assert_eq!(load(&mut m, 0, AP, 6), byte(0));
        assert_eq!(store(&mut m, 0, AP, 1, 14), OK);
        let c = fork(&mut m, 0);
        assert_eq!(
            page(&m, c, AP, 6).present,
            child_present,
            "without advice: {without_advice}"
        );
    }
}

fn mprotect(m: &mut Model, first: u32, count: u32, prot: Prot) -> Outcome {
    run(m, 0, OpKind::Mprotect { first, count, prot })
}

/// A mapping made next to a read-only one that already has an anon_vma takes that anon_vma
/// at its first write, whichever side the older one lies on (its protection does not count:
/// mm/vma.c anon_vma_compatible). So once mprotect makes the protections equal the two
/// merge, and an in-place grow of both together works; with two anon_vmas they would stay
/// apart and the grow would be EFAULT. Checked on 6.18.44 (both sides).
// covers: mm.mremap-resize, mem.zero-page
#[test]
fn a_new_mapping_shares_the_anon_vma_of_a_read_only_neighbour_and_merges_with_it_later() {
    for (old, new) in [(0, 4), (4, 0)] {
        let mut m = model();
        assert_eq!(mmap(&mut m, old, 4, MapKind::AnonPrivate), OK);
        assert_eq!(store(&mut m, 0, M, old, 1), OK);
        assert_eq!(mprotect(&mut m, old, 4, Prot::Read), OK);
        assert_eq!(mmap(&mut m, new, 4, MapKind::AnonPrivate), OK);
        assert_eq!(store(&mut m, 0, M, new, 2), OK);
        assert_eq!(mprotect(&mut m, old, 4, Prot::ReadWrite), OK);
        assert_eq!(
            remap(&mut m, 0, M, 0, 8, 10, None),
            OK,
            "old mapping at {old}"
        );
        assert_eq!(load(&mut m, 0, M, old), byte(1));
        assert_eq!(load(&mut m, 0, M, new), byte(2));
    }
}

/// A new mapping that fills the hole between two written mappings with anon_vmas of their
/// own merges with the one before it only: the two neighbours cannot share one VMA (mm/vma.c
/// vma_merge_new_range: is_mergeable_anon_vma of prev and next), so a grow over all of them
/// stops at the second.
// covers: mm.mremap-resize
#[test]
fn a_mapping_between_two_anon_vmas_merges_with_the_one_before_it() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 2, MapKind::AnonPrivate), OK);
    assert_eq!(mmap(&mut m, 3, 2, MapKind::AnonPrivate), OK);
    assert_eq!(store(&mut m, 0, M, 0, 1), OK);
    assert_eq!(store(&mut m, 0, M, 3, 2), OK);
    assert_eq!(mmap(&mut m, 2, 1, MapKind::AnonPrivate), OK);
    let base = memory::global_page(M, 0);
    let slot = slot_vmas(&m);
    assert_eq!(slot, vec![(base, base + 3), (base + 3, base + 5)]);
    assert_eq!(
        remap(&mut m, 0, M, 0, 5, 6, None),
        Outcome::Err(Errno::EFAULT)
    );
    assert_eq!(remap(&mut m, 0, M, 0, 3, 3, to(M, 8)), OK);
}

/// mprotect that makes a VMA without an anon_vma like both its neighbours, which have
/// anon_vmas of their own, merges it with the one before it only (mm/vma.c
/// vma_modify → vma_merge_existing_range: prev and next cannot share one VMA); a grow over
/// all three then stops at the third.
// covers: mm.mremap-resize
#[test]
fn mprotect_between_two_anon_vmas_merges_with_the_one_before_it() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 2, MapKind::AnonPrivate), OK);
    assert_eq!(mmap(&mut m, 3, 2, MapKind::AnonPrivate), OK);
    assert_eq!(store(&mut m, 0, M, 0, 1), OK);
    assert_eq!(store(&mut m, 0, M, 3, 2), OK);
    let read_only = OpKind::Mmap {
        first: 2,
        count: 1,
        map: MapKind::AnonPrivate,
        prot: Prot::Read,
        locked: false,
    };
    assert_eq!(run(&mut m, 0, read_only), OK);
    assert_eq!(slot_vmas(&m).len(), 3);
    assert_eq!(mprotect(&mut m, 2, 1, Prot::ReadWrite), OK);
    let base = memory::global_page(M, 0);
    assert_eq!(slot_vmas(&m), vec![(base, base + 3), (base + 3, base + 5)]);
    assert_eq!(
        remap(&mut m, 0, M, 0, 5, 6, None),
        Outcome::Err(Errno::EFAULT)
    );
}
