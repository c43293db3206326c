//! Unit tests of locked memory: what `mlock`, `mlock2`, `munlock`, `mlockall`, `munlockall`
//! and `MAP_LOCKED` populate, which VMAs they lock, and what fork, `CLONE_VM` and exec do
//! with the lock. Whether a VMA is locked shows through `MADV_DONTNEED` (EINVAL on a locked
//! VMA); what populate did shows in the page presence of the regions. The expectations were
//! replayed through the lab on 6.18.44 (`forkspec replay`, as root and as nobody).

use super::tests::{clone_with, fork, load, madvise, model, presence, run, store, vfork};
use super::*;
use crate::obs::{Errno, Outcome};
use crate::op::{Advice, MapKind, MremapTo, OpKind, Prot};

const AP: Region = Region::AnonPrivate;
const AS: Region = Region::AnonShared;
const FP: Region = Region::FilePrivate;
const FS: Region = Region::FileShared;
const M: Region = Region::Mapped;
const OK: Outcome = Outcome::Ret(0);

fn err(e: Errno) -> Outcome {
    Outcome::Err(e)
}

fn mlock(m: &mut Model, t: TaskId, region: Region, first: u32, count: u32) -> Outcome {
    let flags = None;
    let op = OpKind::Mlock {
        region,
        first,
        count,
        flags,
    };
    run(m, t, op)
}

fn mlock2(m: &mut Model, t: TaskId, region: Region, first: u32, count: u32, f: u32) -> Outcome {
    let flags = Some(f);
    let op = OpKind::Mlock {
        region,
        first,
        count,
        flags,
    };
    run(m, t, op)
}

fn munlock(m: &mut Model, t: TaskId, region: Region, first: u32, count: u32) -> Outcome {
    let op = OpKind::Munlock {
        region,
        first,
        count,
    };
    run(m, t, op)
}

fn mlockall(m: &mut Model, t: TaskId, flags: u32) -> Outcome {
    run(m, t, OpKind::Mlockall { flags })
}

fn mmap(m: &mut Model, t: TaskId, first: u32, count: u32, prot: Prot, locked: bool) -> Outcome {
    let op = OpKind::Mmap {
        first,
        count,
        map: MapKind::AnonPrivate,
        prot,
        locked,
    };
    run(m, t, op)
}

/// Moves slot pages `[first, first + count)` of `t` to page `page` of `AnonPrivate`, where
/// the snapshot shows them.
fn show(m: &mut Model, t: TaskId, first: u32, count: u32, page: u32) {
    let to = Some(MremapTo {
        region: AP,
        page,
        no_maymove: false,
    });
    let op = OpKind::Mremap {
        region: M,
        first,
        count,
        new_count: count,
        to,
        unaligned: false,
    };
    assert_eq!(run(m, t, op), OK);
}

/// `MADV_DONTNEED` over `count` pages: EINVAL tells a locked VMA.
fn dontneed(m: &mut Model, t: TaskId, region: Region, first: u32, count: u32) -> Outcome {
    let op = OpKind::Madvise {
        region,
        first,
        count,
        advice: Advice::DontNeed,
    };
    run(m, t, op)
}

fn limited(pages: u64) -> Model {
    let profile = Profile {
        cap_ipc_lock: false,
        mlock_limit_pages: Some(pages),
        ..Profile::default()
    };
    Model::new(CaseConfig { pages: 8 }, &profile)
}

// covers: mm.mlock
#[test]
fn mlock_of_a_private_range_faults_every_page_for_write_breaking_cow_with_the_child() {
    let mut m = model();
    assert_eq!(store(&mut m, 0, AP, 0, 5), OK);
    assert_eq!(load(&mut m, 0, AP, 1), Outcome::Data(vec![0]));
    let c = fork(&mut m, 0);
    assert_eq!(presence(&m, 0, AP), "PP......");
    assert_eq!(mlock(&mut m, 0, AP, 0, 3), OK);
    // Page 0 copied away from the child, the zero page replaced, page 2 allocated: all
    // three the parent's own; the child is the last mapper of the old frame.
    assert_eq!(presence(&m, 0, AP), "XXX.....");
    assert_eq!(presence(&m, c, AP), "XP......");
    assert_eq!(load(&mut m, 0, AP, 0), Outcome::Data(vec![5]));
    assert_eq!(load(&mut m, c, AP, 0), Outcome::Data(vec![5]));
    assert_eq!(dontneed(&mut m, 0, AP, 0, 1), err(Errno::EINVAL));
    assert_eq!(dontneed(&mut m, c, AP, 0, 1), OK);
}

// covers: mm.mlock
#[test]
fn mlock_of_a_private_file_range_copies_its_pages_and_of_a_shared_one_reads_them() {
    let mut m = model();
    assert_eq!(mlock(&mut m, 0, FP, 1, 2), OK);
    // A store fault per page (do_cow_fault): private copies, no fault-around.
    assert_eq!(presence(&m, 0, FP), ".XX.....");
    assert_eq!(load(&mut m, 0, FP, 2), Outcome::Data(vec![0x82]));
    // A shared mapping is never written: a read fault, as a load's.
    assert_eq!(mlock(&mut m, 0, FS, 1, 1), OK);
    assert_eq!(presence(&m, 0, FS), ".X......");
    assert_eq!(mlock(&mut m, 0, AS, 0, 2), OK);
    assert_eq!(presence(&m, 0, AS), "XX......");
}

// covers: mm.mlock
#[test]
fn mlock_onfault_locks_without_populating() {
    let mut m = model();
    assert_eq!(mlock2(&mut m, 0, AP, 0, 4, 1), OK);
    assert_eq!(presence(&m, 0, AP), "........");
    assert_eq!(dontneed(&mut m, 0, AP, 0, 1), err(Errno::EINVAL));
    // A plain mlock of the same range populates it.
    assert_eq!(mlock(&mut m, 0, AP, 0, 2), OK);
    assert_eq!(presence(&m, 0, AP), "XX......");
    assert_eq!(mlock2(&mut m, 0, AP, 0, 1, 2), err(Errno::EINVAL));
}

// covers: mm.mlock
#[test]
fn a_locked_part_splits_the_vma_and_munlock_merges_it_back() {
    let mut m = model();
    for p in 0..8 {
        assert_eq!(store(&mut m, 0, AS, p, 1), OK);
    }
    madvise(&mut m, 0, AS, 0, 8, Advice::DontNeed);
    assert_eq!(mlock2(&mut m, 0, AS, 2, 2, 1), OK);
    // DONTNEED zaps up to the locked VMA and stops there with EINVAL.
    assert_eq!(load(&mut m, 0, AS, 7), Outcome::Data(vec![1]));
    assert_eq!(dontneed(&mut m, 0, AS, 0, 8), err(Errno::EINVAL));
    // The walk stopped at the locked VMA: pages 4.. stay. Fault-around stops at the split.
    assert_eq!(load(&mut m, 0, AS, 0), Outcome::Data(vec![1]));
    assert_eq!(presence(&m, 0, AS), "XX..XXXX");
    // Unlocked again, the three VMAs are one: fault-around reaches every page.
    assert_eq!(munlock(&mut m, 0, AS, 2, 2), OK);
    assert_eq!(dontneed(&mut m, 0, AS, 0, 8), OK);
    assert_eq!(load(&mut m, 0, AS, 0), Outcome::Data(vec![1]));
    assert_eq!(presence(&m, 0, AS), "XXXXXXXX");
}

// covers: mm.mlock
#[test]
fn mlock_over_a_hole_is_enomem_locking_but_not_populating_the_part_before() {
    let mut m = model();
    assert_eq!(mlock(&mut m, 0, AP, 6, 4), err(Errno::ENOMEM));
    assert_eq!(presence(&m, 0, AP), "........");
    assert_eq!(dontneed(&mut m, 0, AP, 6, 1), err(Errno::EINVAL));
    assert_eq!(dontneed(&mut m, 0, AP, 5, 1), OK);
    assert_eq!(mlock(&mut m, 0, AP, 8, 1), err(Errno::ENOMEM));
    assert_eq!(munlock(&mut m, 0, AP, 8, 1), err(Errno::ENOMEM));
    assert_eq!(mlock(&mut m, 0, AP, 0, 0), OK);
}

// covers: mm.mlock
#[test]
fn mlock_of_a_prot_none_mapping_locks_it_and_fails_with_enomem() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 0, 2, Prot::None, false), OK);
    assert_eq!(mmap(&mut m, 0, 2, 2, Prot::ReadWrite, false), OK);
    // Populate stops at the PROT_NONE VMA: the one after it stays empty.
    assert_eq!(mlock(&mut m, 0, M, 0, 4), err(Errno::ENOMEM));
    assert_eq!(dontneed(&mut m, 0, M, 0, 1), err(Errno::EINVAL));
    show(&mut m, 0, 2, 2, 0);
    assert_eq!(presence(&m, 0, AP), "........");
}

// covers: mm.mlock-fork
#[test]
fn a_fork_child_has_no_lock_and_no_mcl_future() {
    let mut m = model();
    assert_eq!(mlock(&mut m, 0, AP, 0, 8), OK);
    assert_eq!(mlockall(&mut m, 0, 2), OK);
    let c = fork(&mut m, 0);
    assert_eq!(dontneed(&mut m, c, AP, 0, 8), OK);
    assert_eq!(dontneed(&mut m, 0, AP, 0, 8), err(Errno::EINVAL));
    // The child's mappings come unlocked and empty, the parent's locked and populated.
    assert_eq!(mmap(&mut m, c, 0, 2, Prot::ReadWrite, false), OK);
    assert_eq!(dontneed(&mut m, c, M, 0, 2), OK);
    show(&mut m, c, 0, 2, 0);
    assert_eq!(presence(&m, c, AP), "........");
    assert_eq!(mmap(&mut m, 0, 0, 2, Prot::ReadWrite, false), OK);
    assert_eq!(dontneed(&mut m, 0, M, 0, 2), err(Errno::EINVAL));
}

// covers: mm.mlock-fork
#[test]
fn a_vfork_child_locks_its_parents_memory_and_exec_drops_mcl_future() {
    let mut m = model();
    let c = vfork(&mut m, 0);
    assert_eq!(mlock2(&mut m, c, AP, 0, 2, 1), OK);
    assert_eq!(mlockall(&mut m, c, 6), OK);
    assert_eq!(run(&mut m, c, OpKind::Exec), OK);
    assert_eq!(dontneed(&mut m, 0, AP, 0, 1), err(Errno::EINVAL));
    // The parent's mm keeps MCL_FUTURE | MCL_ONFAULT: locked, not populated.
    assert_eq!(mmap(&mut m, 0, 0, 1, Prot::ReadWrite, false), OK);
    assert_eq!(dontneed(&mut m, 0, M, 0, 1), err(Errno::EINVAL));
    // The exec'd child's fresh mm has none.
    assert_eq!(mmap(&mut m, c, 0, 1, Prot::ReadWrite, false), OK);
    assert_eq!(dontneed(&mut m, c, M, 0, 1), OK);
}

// covers: mm.mlockall
#[test]
fn mcl_future_locks_and_populates_later_mappings_unless_onfault() {
    let mut m = model();
    assert_eq!(mlockall(&mut m, 0, 2), OK);
    // MCL_FUTURE alone leaves the current mappings alone.
    assert_eq!(dontneed(&mut m, 0, AP, 0, 8), OK);
    assert_eq!(mmap(&mut m, 0, 0, 2, Prot::ReadWrite, false), OK);
    assert_eq!(mlockall(&mut m, 0, 6), OK);
    assert_eq!(mmap(&mut m, 0, 4, 2, Prot::ReadWrite, false), OK);
    show(&mut m, 0, 0, 2, 0);
    show(&mut m, 0, 4, 2, 4);
    assert_eq!(presence(&m, 0, AP), "XX......");
    // MCL_CURRENT alone cancels MCL_FUTURE.
    assert_eq!(mlockall(&mut m, 0, 1), OK);
    assert_eq!(mmap(&mut m, 0, 8, 1, Prot::ReadWrite, false), OK);
    assert_eq!(dontneed(&mut m, 0, M, 8, 1), OK);
}

// covers: mm.mlockall
#[test]
fn mcl_current_locks_and_populates_everything_and_munlockall_unlocks_it() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 0, 1, Prot::None, false), OK);
    assert_eq!(mlockall(&mut m, 0, 1), OK);
    // Errors ignored: the PROT_NONE mapping stays empty, the regions are populated.
    assert_eq!(presence(&m, 0, AP), "XXXXXXXX");
    assert_eq!(presence(&m, 0, FS), "XXXXXXXX");
    assert_eq!(dontneed(&mut m, 0, FP, 0, 1), err(Errno::EINVAL));
    assert_eq!(run(&mut m, 0, OpKind::Munlockall), OK);
    assert_eq!(dontneed(&mut m, 0, FP, 0, 8), OK);
    assert_eq!(dontneed(&mut m, 0, M, 0, 1), OK);
    let mut m = model();
    assert_eq!(mlockall(&mut m, 0, 5), OK);
    assert_eq!(presence(&m, 0, AP), "........");
    assert_eq!(dontneed(&mut m, 0, AP, 0, 1), err(Errno::EINVAL));
}

// covers: mm.mlockall
#[test]
fn mlockall_rejects_empty_unknown_and_onfault_only_flags() {
    let mut m = model();
    for flags in [0, 4, 8, 9] {
        assert_eq!(mlockall(&mut m, 0, flags), err(Errno::EINVAL), "{flags}");
    }
    assert_eq!(dontneed(&mut m, 0, AP, 0, 8), OK);
}

// covers: mm.map-locked
#[test]
fn map_locked_populates_the_new_mapping_and_locks_it() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 0, 3, Prot::ReadWrite, true), OK);
    assert_eq!(mmap(&mut m, 0, 4, 1, Prot::ReadWrite, false), OK);
    assert_eq!(dontneed(&mut m, 0, M, 0, 3), err(Errno::EINVAL));
    assert_eq!(dontneed(&mut m, 0, M, 4, 1), OK);
    show(&mut m, 0, 0, 3, 0);
    show(&mut m, 0, 4, 1, 4);
    assert_eq!(presence(&m, 0, AP), "XXX.....");
}

// covers: mm.map-locked
#[test]
fn a_locked_mapping_grown_by_mremap_populates_the_new_part() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 0, 1, Prot::ReadWrite, true), OK);
    let op = OpKind::Mremap {
        region: M,
        first: 0,
        count: 1,
        new_count: 3,
        to: Some(MremapTo {
            region: AP,
            page: 4,
            no_maymove: false,
        }),
        unaligned: false,
    };
    assert_eq!(run(&mut m, 0, op), OK);
    assert_eq!(presence(&m, 0, AP), "....XXX.");
}

// covers: mm.mlock
#[test]
fn a_locked_read_only_private_mapping_made_writable_breaks_cow() {
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 0, 1, Prot::ReadWrite, false), OK);
    assert_eq!(store(&mut m, 0, M, 0, 3), OK);
    let op = |prot| OpKind::Mprotect {
        first: 0,
        count: 1,
        prot,
    };
    assert_eq!(run(&mut m, 0, op(Prot::Read)), OK);
    assert_eq!(mlock(&mut m, 0, M, 0, 1), OK);
    let c = fork(&mut m, 0);
    assert_eq!(run(&mut m, 0, op(Prot::ReadWrite)), OK);
    // The parent copied the page: the child's is its own again.
    show(&mut m, c, 0, 1, 0);
    assert_eq!(presence(&m, c, AP), "X.......");
    // An unlocked one is not populated.
    let mut m = model();
    assert_eq!(mmap(&mut m, 0, 0, 1, Prot::ReadWrite, false), OK);
    assert_eq!(store(&mut m, 0, M, 0, 3), OK);
    assert_eq!(run(&mut m, 0, op(Prot::Read)), OK);
    let c = fork(&mut m, 0);
    assert_eq!(run(&mut m, 0, op(Prot::ReadWrite)), OK);
    show(&mut m, c, 0, 1, 0);
    assert_eq!(presence(&m, c, AP), "P.......");
}

// covers: mm.mlock-rlimit
#[test]
fn a_zero_memlock_limit_is_eperm_for_locking_but_not_for_unlocking() {
    let mut m = limited(0);
    assert_eq!(mlock(&mut m, 0, AP, 0, 1), err(Errno::EPERM));
    assert_eq!(mlock(&mut m, 0, AP, 0, 0), err(Errno::EPERM));
    assert_eq!(mlockall(&mut m, 0, 2), err(Errno::EPERM));
    assert_eq!(mlockall(&mut m, 0, 0), err(Errno::EINVAL));
    assert_eq!(mlock2(&mut m, 0, AP, 0, 1, 2), err(Errno::EINVAL));
    assert_eq!(
        mmap(&mut m, 0, 0, 1, Prot::ReadWrite, true),
        err(Errno::EPERM)
    );
    assert_eq!(munlock(&mut m, 0, AP, 0, 1), OK);
    assert_eq!(run(&mut m, 0, OpKind::Munlockall), OK);
}

// covers: mm.mlock-rlimit
#[test]
fn the_memlock_limit_counts_the_locked_pages_of_the_address_space() {
    let mut m = limited(4);
    assert_eq!(mlock(&mut m, 0, AP, 0, 5), err(Errno::ENOMEM));
    assert_eq!(presence(&m, 0, AP), "........");
    assert_eq!(mlock(&mut m, 0, AP, 0, 3), OK);
    // Pages already locked are not counted twice.
    assert_eq!(mlock(&mut m, 0, AP, 0, 4), OK);
    assert_eq!(mlock(&mut m, 0, AS, 0, 1), err(Errno::ENOMEM));
    assert_eq!(
        mmap(&mut m, 0, 0, 1, Prot::ReadWrite, true),
        err(Errno::EAGAIN)
    );
    // MCL_CURRENT is measured against the whole address space, the lab's own mappings too.
    assert_eq!(mlockall(&mut m, 0, 3), err(Errno::ENOMEM));
    assert_eq!(mlockall(&mut m, 0, 2), OK);
    assert_eq!(
        mmap(&mut m, 0, 0, 1, Prot::ReadWrite, false),
        err(Errno::EAGAIN)
    );
    assert_eq!(munlock(&mut m, 0, AP, 0, 1), OK);
    assert_eq!(mmap(&mut m, 0, 0, 1, Prot::ReadWrite, false), OK);
    assert_eq!(
        mmap(&mut m, 0, 4, 1, Prot::ReadWrite, true),
        err(Errno::EAGAIN)
    );
    assert_eq!(m.mlock_limit(0), Some(4));
    assert_eq!(model().mlock_limit(0), None);
}

// covers: mm.mlock-rlimit
#[test]
fn a_task_in_a_new_user_namespace_is_bound_by_the_limit_even_under_root() {
    use crate::op::CloneFlags;
    let profile = Profile {
        mlock_limit_pages: Some(2048),
        ..Profile::default()
    };
    let mut m = Model::new(CaseConfig { pages: 8 }, &profile);
    let c = clone_with(&mut m, 0, CloneFlags::NEWUSER);
    assert_eq!(m.mlock_limit(0), None);
    assert_eq!(m.mlock_limit(c), Some(2048));
    assert_eq!(mlockall(&mut m, c, 3), err(Errno::ENOMEM));
    assert_eq!(mlock(&mut m, c, AP, 0, 8), OK);
    // Once MCL_CURRENT locked the lab's own mappings, a task of the same mm bound by the
    // limit can lock nothing more, until munlockall.
    assert_eq!(mlockall(&mut m, 0, 1), OK);
    let v = clone_with(&mut m, 0, CloneFlags::NEWUSER | CloneFlags::VM);
    assert_eq!(mlock(&mut m, v, AP, 0, 0), err(Errno::ENOMEM));
    assert_eq!(
        mmap(&mut m, v, 0, 1, Prot::ReadWrite, true),
        err(Errno::EAGAIN)
    );
    assert_eq!(run(&mut m, 0, OpKind::Munlockall), OK);
    assert_eq!(mlock(&mut m, v, AP, 0, 1), OK);
}
