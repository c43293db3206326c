//! Unit tests of the mapping ops after fork: mmap, munmap, mprotect in the mapping slot.

use super::tests::{fork, load, madvise, model, run, store, vfork};
use super::*;
use crate::obs::{Errno, Outcome, Signal};
use crate::op::{Advice, CloneEntry, CloneFlags, CloneOp, MapKind, OpKind, Prot};

const M: Region = Region::Mapped;

fn mmap(m: &mut Model, t: TaskId, first: u32, count: u32, map: MapKind) -> Outcome {
    let prot = Prot::ReadWrite;
    run(
        m,
        t,
        OpKind::Mmap {
            first,
            count,
            map,
            prot,
            locked: false,
        },
    )
}

fn munmap(m: &mut Model, t: TaskId, first: u32, count: u32) -> Outcome {
    run(m, t, OpKind::Munmap { first, count })
}

fn mprotect(m: &mut Model, t: TaskId, first: u32, count: u32, prot: Prot) -> Outcome {
    run(m, t, OpKind::Mprotect { first, count, prot })
}

fn byte(b: u8) -> Outcome {
    Outcome::Data(vec![b])
}

const SEGV: Outcome = Outcome::Killed(Signal::SIGSEGV);

#[test]
fn nothing_is_mapped_in_the_slot_at_case_start() {
    let mut m = model();
    assert_eq!(load(&mut m, 0, M, 0), SEGV);
    assert!(m.slot_pages(0).is_empty());
}

#[test]
fn mmap_noreplace_refuses_an_overlap_and_a_zero_length() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 2, 2, MapKind::AnonPrivate), Outcome::Ret(0));
    assert_eq!(
        mmap(&mut m, 0, 3, 4, MapKind::AnonShared),
        Outcome::Err(Errno::EEXIST)
    );
    assert_eq!(
        mmap(&mut m, 0, 0, 3, MapKind::AnonShared),
        Outcome::Err(Errno::EEXIST)
    );
    assert_eq!(
        mmap(&mut m, 0, 8, 0, MapKind::AnonPrivate),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(mmap(&mut m, 0, 4, 1, MapKind::AnonPrivate), Outcome::Ret(0));
    let pages: Vec<u32> = m.slot_pages(0).iter().map(|p| p.0).collect();
    assert_eq!(pages, vec![2, 3, 4]);
    // A new anonymous mapping reads zeros.
    assert_eq!(load(&mut m, 0, M, 3), byte(0));
}

#[test]
fn an_mmap_after_fork_is_the_makers_alone() {
    let mut m = model();
    let c = fork(&mut m, 0);
    assert_eq!(mmap(&mut m, c, 0, 2, MapKind::AnonShared), Outcome::Ret(0));
    assert_eq!(store(&mut m, c, M, 0, 7), Outcome::Ret(0));
    // The parent has nothing there, and may map a range of its own at the same place.
    assert_eq!(mmap(&mut m, 0, 0, 2, MapKind::AnonShared), Outcome::Ret(0));
    assert_eq!(load(&mut m, 0, M, 0), byte(0));
    assert_eq!(load(&mut m, c, M, 0), byte(7));
    assert_eq!(load(&mut m, 0, M, 5), SEGV);
}

#[test]
fn a_shared_anonymous_mapping_is_shared_with_later_children_only() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 0, 1, MapKind::AnonShared), Outcome::Ret(0));
    assert_eq!(mmap(&mut m, 0, 1, 1, MapKind::AnonPrivate), Outcome::Ret(0));
    let c = fork(&mut m, 0);
    assert_eq!(store(&mut m, c, M, 0, 5), Outcome::Ret(0));
    assert_eq!(store(&mut m, c, M, 1, 6), Outcome::Ret(0));
    assert_eq!(load(&mut m, 0, M, 0), byte(5));
    assert_eq!(load(&mut m, 0, M, 1), byte(0));
}

#[test]
fn munmap_in_the_child_leaves_the_parents_mapping() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 0, 4, MapKind::AnonPrivate), Outcome::Ret(0));
    assert_eq!(store(&mut m, 0, M, 1, 9), Outcome::Ret(0));
    let c = fork(&mut m, 0);
    assert_eq!(munmap(&mut m, c, 1, 2), Outcome::Ret(0));
    assert_eq!(munmap(&mut m, c, 10, 2), Outcome::Ret(0), "a hole is fine");
    assert_eq!(munmap(&mut m, c, 1, 0), Outcome::Err(Errno::EINVAL));
    assert_eq!(load(&mut m, 0, M, 1), byte(9));
    assert_eq!(load(&mut m, c, M, 0), byte(0));
    assert_eq!(load(&mut m, c, M, 3), byte(0));
    assert_eq!(load(&mut m, c, M, 1), SEGV);
}

#[test]
fn mprotect_read_only_makes_a_store_sigsegv_in_the_caller_only() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 0, 2, MapKind::AnonPrivate), Outcome::Ret(0));
    assert_eq!(store(&mut m, 0, M, 0, 3), Outcome::Ret(0));
    let c = fork(&mut m, 0);
    assert_eq!(mprotect(&mut m, c, 0, 1, Prot::Read), Outcome::Ret(0));
    assert_eq!(store(&mut m, 0, M, 0, 4), Outcome::Ret(0));
    assert_eq!(load(&mut m, c, M, 0), byte(3));
    assert_eq!(store(&mut m, c, M, 1, 1), Outcome::Ret(0));
    assert_eq!(store(&mut m, c, M, 0, 1), SEGV);
}

#[test]
fn prot_none_refuses_loads_and_restoring_it_shows_the_old_values() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 0, 3, MapKind::AnonShared), Outcome::Ret(0));
    assert_eq!(store(&mut m, 0, M, 1, 8), Outcome::Ret(0));
    assert_eq!(mprotect(&mut m, 0, 1, 1, Prot::None), Outcome::Ret(0));
    assert_eq!(mprotect(&mut m, 0, 1, 1, Prot::ReadWrite), Outcome::Ret(0));
    assert_eq!(load(&mut m, 0, M, 1), byte(8));
    assert_eq!(mprotect(&mut m, 0, 1, 1, Prot::None), Outcome::Ret(0));
    let c = fork(&mut m, 0);
    assert_eq!(load(&mut m, c, M, 1), SEGV, "the protection is inherited");
}

#[test]
fn mprotect_over_a_hole_is_enomem_after_changing_what_comes_before() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 0, 2, MapKind::AnonPrivate), Outcome::Ret(0));
    assert_eq!(mmap(&mut m, 0, 3, 1, MapKind::AnonPrivate), Outcome::Ret(0));
    assert_eq!(
        mprotect(&mut m, 0, 5, 1, Prot::Read),
        Outcome::Err(Errno::ENOMEM)
    );
    assert_eq!(
        mprotect(&mut m, 0, 0, 4, Prot::Read),
        Outcome::Err(Errno::ENOMEM)
    );
    assert_eq!(mprotect(&mut m, 0, 2, 0, Prot::Read), Outcome::Ret(0));
    assert_eq!(
        m.slot_pages(0),
        vec![(0, Prot::Read), (1, Prot::Read), (3, Prot::ReadWrite)]
    );
}

#[test]
fn clone_vm_children_share_every_mapping_change() {
    let mut m = model();
    let flags = CloneFlags::VM;
    let op = OpKind::Clone(CloneOp {
        entry: CloneEntry::Clone,
        flags,
        exit_signal: 17,
        args: Default::default(),
    });
    let c = match run(&mut m, 0, op) {
        Outcome::Child(c) => c,
        o => panic!("{o:?}"),
    };
    assert_eq!(mmap(&mut m, c, 0, 2, MapKind::AnonPrivate), Outcome::Ret(0));
    assert_eq!(store(&mut m, 0, M, 1, 2), Outcome::Ret(0));
    assert_eq!(load(&mut m, c, M, 1), byte(2));
    assert_eq!(mprotect(&mut m, 0, 0, 2, Prot::Read), Outcome::Ret(0));
    assert_eq!(munmap(&mut m, c, 0, 1), Outcome::Ret(0));
    assert_eq!(load(&mut m, 0, M, 1), byte(2));
    assert_eq!(store(&mut m, c, M, 1, 3), SEGV);
    assert_eq!(load(&mut m, 0, M, 0), SEGV);
}

#[test]
fn a_vfork_childs_mapping_stays_with_the_parent_after_its_exec() {
    let mut m = model();
    let c = vfork(&mut m, 0);
    assert_eq!(mmap(&mut m, c, 0, 1, MapKind::AnonPrivate), Outcome::Ret(0));
    assert_eq!(store(&mut m, c, M, 0, 4), Outcome::Ret(0));
    assert_eq!(run(&mut m, c, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(load(&mut m, c, M, 0), SEGV);
    assert_eq!(load(&mut m, 0, M, 0), byte(4));
}

#[test]
fn dontfork_and_wipeonfork_work_on_new_mappings() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 0, 2, MapKind::AnonPrivate), Outcome::Ret(0));
    assert_eq!(mmap(&mut m, 0, 2, 1, MapKind::AnonShared), Outcome::Ret(0));
    assert_eq!(store(&mut m, 0, M, 0, 1), Outcome::Ret(0));
    assert_eq!(store(&mut m, 0, M, 1, 1), Outcome::Ret(0));
    assert_eq!(
        madvise(&mut m, 0, M, 0, 1, Advice::DontFork),
        Outcome::Ret(0)
    );
    assert_eq!(
        madvise(&mut m, 0, M, 1, 1, Advice::WipeOnFork),
        Outcome::Ret(0)
    );
    assert_eq!(
        madvise(&mut m, 0, M, 2, 1, Advice::WipeOnFork),
        Outcome::Err(Errno::EINVAL)
    );
    let c = fork(&mut m, 0);
    assert_eq!(load(&mut m, c, M, 1), byte(0));
    assert_eq!(load(&mut m, c, M, 0), SEGV);
}

/// A mapping ends at its last page: the page after it faults, and an mprotect of exactly the
/// mapping succeeds while one reaching past it stops at the hole with ENOMEM, the mapped
/// part changed (mm/mprotect.c do_mprotect_pkey).
#[test]
fn the_page_after_a_mapping_is_a_hole_for_loads_and_mprotect() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 0, 2, MapKind::AnonPrivate), Outcome::Ret(0));
    assert_eq!(mprotect(&mut m, 0, 0, 2, Prot::Read), Outcome::Ret(0));
    assert_eq!(
        mprotect(&mut m, 0, 0, 3, Prot::ReadWrite),
        Outcome::Err(Errno::ENOMEM)
    );
    assert_eq!(
        store(&mut m, 0, M, 1, 5),
        Outcome::Ret(0),
        "read-write again"
    );
    let c = fork(&mut m, 0);
    assert_eq!(load(&mut m, c, M, 2), SEGV);
}

/// munmap drops the pages it unmaps: a new mapping at the same place starts from zeros, not
/// from what the old one held.
#[test]
fn a_mapping_made_again_after_munmap_reads_zeros() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 0, 2, MapKind::AnonPrivate), Outcome::Ret(0));
    assert_eq!(store(&mut m, 0, M, 1, 7), Outcome::Ret(0));
    assert_eq!(munmap(&mut m, 0, 0, 2), Outcome::Ret(0));
    assert_eq!(mmap(&mut m, 0, 0, 2, MapKind::AnonPrivate), Outcome::Ret(0));
    assert_eq!(load(&mut m, 0, M, 1), byte(0));
}
