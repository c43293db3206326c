//! Mappings changed after fork (issue 15, item 8): `mmap`, `munmap` and `mprotect` in the
//! mapping slot. Known cases, each checked on the model and the kernel (every step's outcome
//! and snapshot), the model's trace pinned in snapshots/. What a task sees of the slot is
//! what its own loads and stores show (values, SIGSEGV): snapshots leave the slot out. The
//! random mix draws the same ops, so the property suites check them further.

mod common;

use common::*;
use forkspec_model::*;

const M: Region = Region::Mapped;

fn mmap(t: TaskId, first: u32, count: u32, map: MapKind) -> Op {
    let prot = Prot::ReadWrite;
    op(
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

fn munmap(t: TaskId, first: u32, count: u32) -> Op {
    op(t, OpKind::Munmap { first, count })
}

fn mprotect(t: TaskId, first: u32, count: u32, prot: Prot) -> Op {
    op(t, OpKind::Mprotect { first, count, prot })
}

fn load(t: TaskId, page: u32) -> Op {
    op(t, OpKind::MemRead { region: M, page })
}

fn store(t: TaskId, page: u32, byte: u8) -> Op {
    op(
        t,
        OpKind::MemWrite {
            region: M,
            page,
            byte,
        },
    )
}

fn byte(b: u8) -> Outcome {
    Outcome::Data(vec![b])
}

const SEGV: Outcome = Outcome::Killed(Signal::SIGSEGV);
const PRIVATE: MapKind = MapKind::AnonPrivate;
const SHARED: MapKind = MapKind::AnonShared;

/// munmap, mprotect and mmap in a fork child change the child's mappings only
/// (kernel/fork.c dup_mmap gives it a copy of every VMA); a shared anonymous mapping made
/// before the fork stays shared, one made after it is the maker's alone, so the parent can
/// map its own range at the same place.
// covers: mm.after-fork-per-process, mm.mprotect
#[test]
fn mapping_changes_in_a_fork_child_leave_the_parent_alone() {
    let c = case(vec![
        mmap(0, 0, 4, PRIVATE),        // 0
        store(0, 0, 1),                // 1
        mmap(0, 4, 2, SHARED),         // 2
        op(0, OpKind::Fork),           // 3: t1
        munmap(1, 0, 1),               // 4
        mprotect(1, 1, 1, Prot::Read), // 5
        mmap(1, 8, 2, SHARED),         // 6
        store(1, 8, 3),                // 7
        load(0, 0),                    // 8: 1
        store(0, 1, 5),                // 9
        store(1, 4, 6),                // 10
        load(0, 4),                    // 11: 6
        load(1, 1),                    // 12: 0
        mmap(0, 8, 1, PRIVATE),        // 13: 0, not EEXIST
        load(0, 8),                    // 14: 0
        load(1, 8),                    // 15: 3
        load(1, 0),                    // 16: SIGSEGV
        store(0, 9, 1),                // 17: SIGSEGV
    ]);
    let m = known("mappings_fork_child_changes", &c);
    assert_eq!(m.outcomes[8], byte(1));
    assert_eq!(
        m.outcomes[11],
        byte(6),
        "shared before the fork stays shared"
    );
    assert_eq!(
        m.outcomes[12],
        byte(0),
        "the parent's store was copied away"
    );
    assert_eq!(
        m.outcomes[13],
        Outcome::Ret(0),
        "the child's mmap is not the parent's"
    );
    assert_eq!(m.outcomes[14], byte(0));
    assert_eq!(m.outcomes[15], byte(3));
    assert_eq!(m.outcomes[16], SEGV, "unmapped in the child");
    assert_eq!(
        m.outcomes[17], SEGV,
        "the child's shared mapping is not the parent's"
    );
}

/// A read-only page kills a store with SIGSEGV and PROT_NONE kills a load, in the process
/// that changed the protection only; mprotect back shows the old contents; a child forked
/// after the change inherits the protection.
// covers: mm.mprotect
#[test]
fn mprotect_in_one_process_faults_there_only() {
    let c = case(vec![
        mmap(0, 2, 3, SHARED),         // 0
        store(0, 2, 7),                // 1
        op(0, OpKind::Fork),           // 2: t1
        mprotect(0, 2, 1, Prot::None), // 3
        store(1, 2, 8),                // 4: t1 may store
        mprotect(0, 2, 1, Prot::Read), // 5
        load(0, 2),                    // 6: 8
        op(0, OpKind::Fork),           // 7: t2
        mprotect(1, 3, 1, Prot::None), // 8
        load(1, 3),                    // 9: SIGSEGV
        store(2, 2, 1),                // 10: SIGSEGV, read-only inherited
        load(0, 3),                    // 11: 0
    ]);
    let m = known("mappings_mprotect_per_process", &c);
    assert_eq!(m.outcomes[4], Outcome::Ret(0));
    assert_eq!(m.outcomes[6], byte(8));
    assert_eq!(m.outcomes[9], SEGV);
    assert_eq!(m.outcomes[10], SEGV);
    assert_eq!(m.outcomes[11], byte(0));
}

/// MAP_FIXED_NOREPLACE over a mapped page is EEXIST and changes nothing; a zero length is
/// EINVAL for mmap and munmap and nothing for mprotect; munmap over holes is fine; mprotect
/// over a hole is ENOMEM after changing the VMAs before it.
// covers: mm.mapping-errors
#[test]
fn mapping_errors_follow_the_kernel() {
    let c = case(vec![
        mmap(0, 0, 2, PRIVATE),        // 0
        mmap(0, 1, 2, SHARED),         // 1: EEXIST
        mmap(0, 5, 0, SHARED),         // 2: EINVAL
        munmap(0, 5, 0),               // 3: EINVAL
        mprotect(0, 7, 0, Prot::None), // 4: 0
        munmap(0, 10, 3),              // 5: 0
        mmap(0, 3, 1, PRIVATE),        // 6
        mprotect(0, 4, 1, Prot::Read), // 7: ENOMEM
        mprotect(0, 0, 4, Prot::Read), // 8: ENOMEM, 0..2 changed
        store(0, 3, 9),                // 9: ok, after the hole
        op(0, OpKind::Fork),           // 10: t1
        load(1, 3),                    // 11: 9
        store(1, 1, 1),                // 12: SIGSEGV
        load(0, 2),                    // 13: SIGSEGV, the EEXIST mapped nothing
    ]);
    let m = known("mappings_errors", &c);
    assert_eq!(m.outcomes[1], Outcome::Err(Errno::EEXIST));
    assert_eq!(m.outcomes[2], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[3], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[4], Outcome::Ret(0));
    assert_eq!(m.outcomes[5], Outcome::Ret(0));
    assert_eq!(m.outcomes[7], Outcome::Err(Errno::ENOMEM));
    assert_eq!(m.outcomes[8], Outcome::Err(Errno::ENOMEM));
    assert_eq!(m.outcomes[11], byte(9));
    assert_eq!(m.outcomes[12], SEGV);
    assert_eq!(m.outcomes[13], SEGV);
}

/// A CLONE_VM child and its parent share one address space: a mapping either one makes,
/// unmaps or protects is the other's too. A vfork child's mmap stays with the parent when
/// the child execs (the child gets a new address space).
// covers: mm.clone-vm-mappings
#[test]
fn clone_vm_and_vfork_children_share_mapping_changes() {
    let clone_vm = OpKind::Clone(CloneOp {
        entry: CloneEntry::Clone,
        flags: CloneFlags::VM,
        exit_signal: 17,
        args: Clone3Args::default(),
    });
    let c = case(vec![
        op(0, clone_vm),               // 0: t1
        mmap(1, 0, 2, PRIVATE),        // 1
        store(0, 0, 7),                // 2
        load(1, 0),                    // 3: 7
        mprotect(0, 0, 2, Prot::Read), // 4
        store(1, 1, 1),                // 5: SIGSEGV kills t1
        munmap(0, 0, 1),               // 6
        load(0, 1),                    // 7: 0
        op(0, OpKind::Vfork),          // 8: t2
        mmap(2, 4, 1, SHARED),         // 9
        store(2, 4, 4),                // 10
        op(2, OpKind::Exec),           // 11
        load(0, 4),                    // 12: 4
        load(0, 0),                    // 13: SIGSEGV
    ]);
    let m = known("mappings_clone_vm_and_vfork", &c);
    assert_eq!(m.outcomes[3], byte(7));
    assert_eq!(m.outcomes[5], SEGV);
    assert_eq!(m.outcomes[7], byte(0));
    assert_eq!(m.outcomes[12], byte(4));
    assert_eq!(m.outcomes[13], SEGV);
}

const AP: Region = Region::AnonPrivate;
const AS: Region = Region::AnonShared;

fn mremap(t: TaskId, region: Region, first: u32, count: u32, new_count: u32) -> Op {
    op(
        t,
        OpKind::Mremap {
            region,
            first,
            count,
            new_count,
            to: None,
            unaligned: false,
        },
    )
}

/// `mremap(.., MREMAP_MAYMOVE | MREMAP_FIXED, to)`.
fn mremap_to(
    t: TaskId,
    (region, first, count): (Region, u32, u32),
    new_count: u32,
    to: (Region, u32),
) -> Op {
    op(
        t,
        OpKind::Mremap {
            region,
            first,
            count,
            new_count,
            to: Some(MremapTo {
                region: to.0,
                page: to.1,
                no_maymove: false,
            }),
            unaligned: false,
        },
    )
}

fn region_load(t: TaskId, region: Region, page: u32) -> Op {
    op(t, OpKind::MemRead { region, page })
}

fn region_store(t: TaskId, region: Region, page: u32, byte: u8) -> Op {
    op(t, OpKind::MemWrite { region, page, byte })
}

/// mremap moves page-table entries, not pages: after fork, the parent's private pages moved
/// elsewhere (over other pages of its region) are still the frames the child maps, shared
/// copy-on-write until one side writes (internal level: frame classes, exclusivity), while
/// the contents stay each process's own. The child's mappings do not move.
// covers: mm.mremap-cow
#[test]
fn mremap_after_fork_keeps_copy_on_write_sharing() {
    let c = case(vec![
        region_store(0, AP, 0, 5),            // 0
        region_store(0, AP, 1, 6),            // 1
        op(0, OpKind::Fork),                  // 2: t1
        mremap_to(0, (AP, 0, 2), 2, (AP, 4)), // 3: over pages 4..6
        region_load(0, AP, 4),                // 4: 5
        region_store(0, AP, 4, 9),            // 5: copies
        region_load(1, AP, 0),                // 6: 5
        region_store(1, AP, 1, 7),            // 7: copies, t0's page 5 keeps 6
        region_load(0, AP, 5),                // 8: 6
        mremap_to(1, (AP, 0, 1), 1, (M, 3)),  // 9: into the slot
        load(1, 3),                           // 10: 5
        region_load(0, AP, 0),                // 11: SIGSEGV, moved away
    ]);
    let m = known("mappings_mremap_cow", &c);
    assert_eq!(m.outcomes[3], Outcome::Ret(0));
    let (moved, child) = (m.page(3, 0, AP, 4), m.page(3, 1, AP, 0));
    assert!(!m.page(3, 0, AP, 0).mapped, "moved away");
    assert_eq!(moved.frame, child.frame, "still the child's frame");
    assert!(moved.present && !moved.exclusive);
    assert_eq!(m.outcomes[4], byte(5));
    assert_ne!(m.page(5, 0, AP, 4).frame, m.page(5, 1, AP, 0).frame);
    assert!(m.page(5, 1, AP, 0).exclusive, "the copy went to the writer");
    assert_eq!(m.outcomes[6], byte(5));
    assert_eq!(m.outcomes[8], byte(6));
    assert_eq!(m.outcomes[10], byte(5));
    assert_eq!(m.outcomes[11], SEGV);
}

/// mremap in a fork child (a move of a shared mapping into the slot, an in-place shrink)
/// changes the child's address space only: the parent's snapshots do not change (every
/// step's state is compared with the kernel's), and the moved shared pages are still the
/// ones the parent maps. A vfork child's move is its parent's, one address space.
// covers: mm.after-fork-per-process, mm.mremap-resize
#[test]
fn mremap_in_one_process_leaves_the_other_alone() {
    let c = case(vec![
        region_store(0, AS, 1, 4),           // 0
        op(0, OpKind::Fork),                 // 1: t1
        mremap_to(1, (AS, 0, 2), 2, (M, 0)), // 2
        mremap(1, AP, 0, 8, 3),              // 3: shrink in place
        load(1, 1),                          // 4: 4
        store(1, 0, 8),                      // 5
        region_load(0, AS, 0),               // 6: 8, the same shmem page
        region_load(0, AP, 6),               // 7: 0, t0 keeps its pages
        op(0, OpKind::Vfork),                // 8: t2
        mremap_to(2, (AP, 6, 2), 2, (M, 8)), // 9
        op(
            2,
            OpKind::Exit {
                code: 0,
                thread: false,
            },
        ), // 10
        load(0, 8),                          // 11: 0, moved in t0's address space
        region_load(1, AP, 3),               // 12: SIGSEGV in t1 only
    ]);
    let m = known("mappings_mremap_per_process", &c);
    assert_eq!(m.outcomes[2], Outcome::Ret(0));
    assert_eq!(m.outcomes[3], Outcome::Ret(0));
    assert_eq!(m.outcomes[4], byte(4));
    assert_eq!(m.outcomes[6], byte(8));
    assert_eq!(m.outcomes[7], byte(0));
    assert!(!m.page(9, 0, AP, 6).mapped);
    assert_eq!(m.outcomes[11], byte(0));
    assert_eq!(m.outcomes[12], SEGV);
}

/// In-place resizes and the error cases of mremap(2): a shared anonymous mapping grows in
/// place, but its shmem object keeps the size of the mmap, so the new pages are SIGBUS; a
/// grow is ENOMEM when the next pages are taken or the range does not reach the mapping's
/// end (no MREMAP_MAYMOVE); EINVAL for an unaligned address, a zero new size,
/// MREMAP_FIXED without MREMAP_MAYMOVE, overlapping ranges and a zero old size on a private
/// mapping; EFAULT for an unmapped old address.
// covers: mm.mremap-resize, mm.mremap-errors
#[test]
fn mremap_resizes_in_place_and_refuses_bad_arguments() {
    let unaligned = op(
        0,
        OpKind::Mremap {
            region: M,
            first: 0,
            count: 1,
            new_count: 1,
            to: Some(MremapTo {
                region: M,
                page: 10,
                no_maymove: false,
            }),
            unaligned: true,
        },
    );
    let fixed_only = op(
        0,
        OpKind::Mremap {
            region: M,
            first: 0,
            count: 1,
            new_count: 1,
            to: Some(MremapTo {
                region: M,
                page: 10,
                no_maymove: true,
            }),
            unaligned: false,
        },
    );
    let c = case(vec![
        mmap(0, 0, 2, SHARED),                // 0
        store(0, 1, 3),                       // 1
        mremap(0, M, 0, 2, 4),                // 2: grown in place
        load(0, 1),                           // 3: 3
        mmap(0, 5, 1, PRIVATE),               // 4
        mremap(0, M, 0, 4, 6),                // 5: ENOMEM, page 5 taken
        mremap(0, M, 0, 2, 3),                // 6: ENOMEM, not the mapping's end
        unaligned,                            // 7: EINVAL
        mremap(0, M, 0, 1, 0),                // 8: EINVAL
        fixed_only,                           // 9: EINVAL
        mremap_to(0, (M, 0, 2), 2, (M, 1)),   // 10: EINVAL, overlap
        mremap_to(0, (M, 8, 1), 1, (M, 10)),  // 11: EFAULT
        mremap_to(0, (AP, 0, 0), 1, (M, 12)), // 12: EINVAL, empty private range
        mremap(0, AP, 0, 8, 10),              // 13: grown in place
        region_load(0, AP, 9),                // 14: 0
        op(0, OpKind::Fork),                  // 15: t1
        load(1, 2),                           // 16: SIGBUS, past the shmem object
        mremap(0, M, 0, 4, 1),                // 17: shrink
        op(0, OpKind::Fork),                  // 18: t2
        load(2, 1),                           // 19: SIGSEGV
    ]);
    let m = known("mappings_mremap_resize_and_errors", &c);
    assert_eq!(m.outcomes[2], Outcome::Ret(0));
    assert_eq!(m.outcomes[3], byte(3));
    assert_eq!(m.outcomes[5], Outcome::Err(Errno::ENOMEM));
    assert_eq!(m.outcomes[6], Outcome::Err(Errno::ENOMEM));
    for i in [7, 8, 9, 10, 12] {
        assert_eq!(m.outcomes[i], Outcome::Err(Errno::EINVAL), "step {i}");
    }
    assert_eq!(m.outcomes[11], Outcome::Err(Errno::EFAULT));
    assert_eq!(m.outcomes[13], Outcome::Ret(0));
    assert_eq!(m.outcomes[14], byte(0));
    assert_eq!(m.outcomes[16], Outcome::Killed(Signal::SIGBUS));
    assert_eq!(m.outcomes[17], Outcome::Ret(0));
    assert_eq!(m.outcomes[19], SEGV);
}
