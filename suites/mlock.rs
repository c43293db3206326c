//! Locked memory across fork and exec (issue 15, item 8): `mlock`, `mlock2`, `munlock`,
//! `mlockall`, `munlockall` and `MAP_LOCKED`. Known cases, each checked on the model and the
//! kernel (every step's outcome and snapshot), the model's trace pinned in snapshots/.
//! A program sees a lock through `MADV_DONTNEED`, which is EINVAL on a locked VMA; what
//! locking populated shows in the regions' page presence (internal level), and slot pages
//! are moved into a region by `mremap` to show it. The random mix draws the same ops.

mod common;

use common::*;
use forkspec_model::*;

const AP: Region = Region::AnonPrivate;
const AS: Region = Region::AnonShared;
const FP: Region = Region::FilePrivate;
const FS: Region = Region::FileShared;
const M: Region = Region::Mapped;
const OK: Outcome = Outcome::Ret(0);
const EINVAL: Outcome = Outcome::Err(Errno::EINVAL);
const ENOMEM: Outcome = Outcome::Err(Errno::ENOMEM);

fn mlock(t: TaskId, region: Region, first: u32, count: u32) -> Op {
    let flags = None;
    let kind = OpKind::Mlock {
        region,
        first,
        count,
        flags,
    };
    op(t, kind)
}

fn mlock2(t: TaskId, region: Region, first: u32, count: u32, flags: u32) -> Op {
    let flags = Some(flags);
    let kind = OpKind::Mlock {
        region,
        first,
        count,
        flags,
    };
    op(t, kind)
}

fn munlock(t: TaskId, region: Region, first: u32, count: u32) -> Op {
    let kind = OpKind::Munlock {
        region,
        first,
        count,
    };
    op(t, kind)
}

fn mlockall(t: TaskId, flags: u32) -> Op {
    op(t, OpKind::Mlockall { flags })
}

fn dontneed(t: TaskId, region: Region, first: u32, count: u32) -> Op {
    let kind = OpKind::Madvise {
        region,
        first,
        count,
        advice: Advice::DontNeed,
    };
    op(t, kind)
}

fn mmap(t: TaskId, first: u32, count: u32, prot: Prot, locked: bool) -> Op {
    let kind = OpKind::Mmap {
        first,
        count,
        map: MapKind::AnonPrivate,
        prot,
        locked,
    };
    op(t, kind)
}

/// Moves slot pages `[first, first + count)` to `page` of AnonPrivate, where snapshots
/// show them.
fn show(t: TaskId, first: u32, count: u32, page: u32) -> Op {
    let to = Some(MremapTo {
        region: AP,
        page,
        no_maymove: false,
    });
    let kind = OpKind::Mremap {
        region: M,
        first,
        count,
        new_count: count,
        to,
        unaligned: false,
    };
    op(t, kind)
}

fn store(t: TaskId, region: Region, page: u32, byte: u8) -> Op {
    op(t, OpKind::MemWrite { region, page, byte })
}

fn present(m: &ModelRun, step: usize, t: TaskId, region: Region) -> String {
    (0..8)
        .map(|p| {
            if m.page(step, t, region, p).present {
                'P'
            } else {
                '.'
            }
        })
        .collect()
}

/// mlock faults every page of the range in: a private writable mapping with store faults,
/// which copies a page shared copy-on-write with a fork child (the parent's pages become
/// its own, the child keeps the old frame), a shared or file one with load faults;
/// `MLOCK_ONFAULT` populates nothing. A locked VMA refuses `MADV_DONTNEED` (EINVAL); the
/// fork child's copy of it is not locked.
// covers: mm.mlock
#[test]
fn mlock_populates_breaking_cow_and_onfault_does_not() {
    let c = case(vec![
        store(0, AP, 0, 5),     // 0
        op(0, OpKind::Fork),    // 1: t1
        mlock(0, AP, 0, 3),     // 2
        dontneed(0, AP, 0, 1),  // 3: EINVAL
        dontneed(1, AP, 1, 1),  // 4: 0
        mlock(0, FP, 1, 2),     // 5
        mlock(0, FS, 1, 1),     // 6
        mlock2(0, AS, 0, 4, 1), // 7: ONFAULT
        dontneed(0, AS, 0, 1),  // 8: EINVAL
        mlock2(0, AS, 0, 1, 2), // 9: EINVAL
        munlock(0, AP, 0, 8),   // 10
        dontneed(0, AP, 0, 1),  // 11: 0
    ]);
    let m = known("mlock_populates", &c);
    assert_eq!(m.outcomes[2], OK);
    assert_eq!(present(&m, 2, 0, AP), "PPP.....");
    let (p, ch) = (m.page(2, 0, AP, 0), m.page(2, 1, AP, 0));
    assert!(p.exclusive && ch.exclusive, "the copy went to the locker");
    assert_ne!(p.frame, ch.frame);
    assert_eq!(m.outcomes[3], EINVAL);
    assert_eq!(m.outcomes[4], OK, "the child's VMA is not locked");
    assert_eq!(present(&m, 5, 0, FP), ".PP.....");
    assert!(m.page(5, 0, FP, 1).exclusive, "a private copy");
    assert_eq!(m.outcomes[6], OK);
    assert_eq!(
        present(&m, 7, 0, AS),
        "........",
        "ONFAULT populates nothing"
    );
    assert_eq!(m.outcomes[8], EINVAL);
    assert_eq!(m.outcomes[9], EINVAL, "unknown mlock2 flag");
    assert_eq!(m.outcomes[11], OK);
}

/// The lock is a VMA flag: locking part of a VMA splits it (fault-around stops at the
/// split), unlocking merges it back; a hole in the range is ENOMEM with the VMAs before it
/// locked but not populated; a PROT_NONE mapping is locked but cannot be populated (ENOMEM,
/// the mapping after it stays empty); mlockall refuses 0, unknown bits and MCL_ONFAULT alone.
// covers: mm.mlock
#[test]
fn mlock_splits_and_merges_vmas_and_its_errors() {
    let c = case(vec![
        mlock(0, AS, 0, 8),     // 0: allocates every shmem page
        munlock(0, AS, 0, 8),   // 1
        dontneed(0, AS, 0, 8),  // 2
        mlock2(0, AS, 2, 2, 1), // 3
        op(
            0,
            OpKind::MemRead {
                region: AS,
                page: 0,
            },
        ), // 4: fault-around stops at 2
        munlock(0, AS, 2, 2),   // 5
        dontneed(0, AS, 0, 8),  // 6
        op(
            0,
            OpKind::MemRead {
                region: AS,
                page: 0,
            },
        ), // 7: all 8
        mlock(0, AP, 6, 4),     // 8: ENOMEM
        dontneed(0, AP, 7, 1),  // 9: EINVAL
        mmap(0, 0, 1, Prot::None, false), // 10
        mmap(0, 1, 1, Prot::ReadWrite, false), // 11
        mlock(0, M, 0, 2),      // 12: ENOMEM
        show(0, 1, 1, 0),       // 13
        mlockall(0, 0),         // 14
        mlockall(0, 4),         // 15
        mlockall(0, 8),         // 16
    ]);
    let m = known("mlock_split_merge_errors", &c);
    assert_eq!(present(&m, 4, 0, AS), "PP......");
    assert_eq!(present(&m, 7, 0, AS), "PPPPPPPP");
    assert_eq!(m.outcomes[8], ENOMEM);
    assert_eq!(present(&m, 8, 0, AP), "........");
    assert_eq!(m.outcomes[9], EINVAL);
    assert_eq!(m.outcomes[12], ENOMEM);
    assert_eq!(m.outcomes[13], OK);
    assert_eq!(
        present(&m, 13, 0, AP),
        "........",
        "nothing populated after PROT_NONE"
    );
    for s in 14..=16 {
        assert_eq!(m.outcomes[s], EINVAL, "step {s}");
    }
}

/// A fork child's VMAs are not locked and its mm has no MCL_FUTURE (its new mappings are
/// neither locked nor populated); a vfork child shares the parent's mm, so what it locks is
/// locked for the parent, and its exec gives it a fresh mm without MCL_FUTURE while the
/// parent keeps it.
// covers: mm.mlock-fork
#[test]
fn fork_drops_the_lock_vfork_shares_it_exec_drops_mcl_future() {
    let c = case(vec![
        mlock(0, AP, 0, 8),                    // 0
        mlockall(0, 2),                        // 1: MCL_FUTURE
        op(0, OpKind::Fork),                   // 2: t1
        dontneed(1, AP, 0, 8),                 // 3: 0
        dontneed(0, AP, 0, 8),                 // 4: EINVAL
        mmap(1, 0, 2, Prot::ReadWrite, false), // 5
        dontneed(1, M, 0, 2),                  // 6: 0
        show(1, 0, 2, 0),                      // 7: nothing present
        op(1, OpKind::Vfork),                  // 8: t2
        mlock2(2, AS, 0, 2, 1),                // 9
        mlockall(2, 6),                        // 10: MCL_FUTURE|MCL_ONFAULT
        op(2, OpKind::Exec),                   // 11
        dontneed(1, AS, 0, 1),                 // 12: EINVAL
        mmap(1, 4, 1, Prot::ReadWrite, false), // 13
        dontneed(1, M, 4, 1),                  // 14: EINVAL
        mmap(2, 4, 1, Prot::ReadWrite, false), // 15
        dontneed(2, M, 4, 1),                  // 16: 0
    ]);
    let m = known("mlock_fork_vfork_exec", &c);
    assert_eq!(m.outcomes[3], OK, "the child's VMAs are not locked");
    assert_eq!(m.outcomes[4], EINVAL);
    assert_eq!(m.outcomes[6], OK, "no MCL_FUTURE in the child");
    assert_eq!(present(&m, 7, 1, AP), "........");
    assert_eq!(
        m.outcomes[12], EINVAL,
        "the vfork child's lock is the parent's"
    );
    assert_eq!(m.outcomes[14], EINVAL, "and so is its MCL_FUTURE");
    assert_eq!(m.outcomes[16], OK, "exec dropped it");
}

/// MCL_FUTURE locks the mappings made later and populates them (not with MCL_ONFAULT),
/// MAP_LOCKED does the same for one mapping, and mremap growing a locked mapping populates
/// the new part; MCL_FUTURE alone leaves the current mappings alone; MCL_CURRENT alone
/// cancels an earlier MCL_FUTURE. A locked private mapping made writable again breaks
/// copy-on-write with a fork child at the mprotect.
// covers: mm.mlockall, mm.map-locked
#[test]
fn mcl_future_and_map_locked_populate_new_mappings() {
    let c = case(vec![
        mlockall(0, 2),                        // 0
        dontneed(0, AP, 0, 8),                 // 1: 0
        mmap(0, 0, 2, Prot::ReadWrite, false), // 2: locked, populated
        mlockall(0, 6),                        // 3
        mmap(0, 2, 2, Prot::ReadWrite, false), // 4: locked, empty
        show(0, 0, 2, 0),                      // 5
        show(0, 2, 2, 2),                      // 6
        op(0, OpKind::Munlockall),             // 7
        mmap(0, 4, 1, Prot::ReadWrite, true),  // 8: MAP_LOCKED
        op(
            0,
            OpKind::Mremap {
                region: M,
                first: 4,
                count: 1,
                new_count: 3,
                to: Some(MremapTo {
                    region: AP,
                    page: 5,
                    no_maymove: false,
                }),
                unaligned: false,
            },
        ), // 9
        dontneed(0, AP, 5, 1),                 // 10: EINVAL
        mmap(0, 8, 1, Prot::ReadWrite, false), // 11
        store(0, M, 8, 4),                     // 12
        op(
            0,
            OpKind::Mprotect {
                first: 8,
                count: 1,
                prot: Prot::Read,
            },
        ), // 13
        mlock(0, M, 8, 1),                     // 14
        op(0, OpKind::Fork),                   // 15: t1
        op(
            0,
            OpKind::Mprotect {
                first: 8,
                count: 1,
                prot: Prot::ReadWrite,
            },
        ), // 16
        show(1, 8, 1, 4),                      // 17
    ]);
    let m = known("mlock_future_and_map_locked", &c);
    assert_eq!(
        m.outcomes[1], OK,
        "MCL_FUTURE leaves current mappings alone"
    );
    assert_eq!(present(&m, 6, 0, AP), "PP......");
    assert_eq!(m.outcomes[6], OK);
    assert_eq!(present(&m, 9, 0, AP), "PP...PPP");
    assert_eq!(m.outcomes[10], EINVAL);
    assert!(
        m.page(17, 1, AP, 4).exclusive,
        "the parent copied at mprotect"
    );
}

/// MCL_CURRENT locks every mapping and populates it (a PROT_NONE one stays empty, errors are
/// ignored); munlockall unlocks everything. Under a binding RLIMIT_MEMLOCK (an unprivileged
/// lab) MCL_CURRENT is ENOMEM: the case is then skipped, its snapshot being the root one.
// covers: mm.mlockall
#[test]
fn mcl_current_populates_everything_and_munlockall_unlocks() {
    let profile = lab().hello.profile.clone();
    if !profile.cap_ipc_lock && profile.mlock_limit_pages.is_some() {
        eprintln!("skipped: RLIMIT_MEMLOCK binds the lab (MCL_CURRENT is ENOMEM there)");
        return;
    }
    let c = case(vec![
        mmap(0, 0, 1, Prot::None, false), // 0
        mlockall(0, 1),                   // 1
        dontneed(0, FP, 0, 1),            // 2: EINVAL
        op(0, OpKind::Munlockall),        // 3
        dontneed(0, FP, 0, 8),            // 4: 0
        dontneed(0, M, 0, 1),             // 5: 0
        dontneed(0, AP, 0, 8),            // 6: 0
        mlockall(0, 5),                   // 7: CURRENT|ONFAULT
        dontneed(0, AS, 0, 1),            // 8: EINVAL
    ]);
    let m = known("mlock_mcl_current", &c);
    assert_eq!(m.outcomes[1], OK);
    for r in Region::ALL {
        assert_eq!(present(&m, 1, 0, r), "PPPPPPPP", "{r}");
    }
    assert_eq!(m.outcomes[2], EINVAL);
    assert_eq!(m.outcomes[4], OK);
    assert_eq!(m.outcomes[6], OK);
    assert_eq!(m.outcomes[8], EINVAL);
    assert_eq!(present(&m, 8, 0, AP), "........");
}
