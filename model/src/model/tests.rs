//! Unit tests: one or more per modelled rule.

use super::*;
use crate::obs::{Errno, ExitStatus, Frame, Outcome, Page, Parent, Signal, TaskState};
use crate::op::{Access, Advice, FcntlCmd, FileName, OpKind, OpenFlags, WaitTarget, Whence};

pub(super) fn model() -> Model {
    Model::new(CaseConfig { pages: 8 }, &Profile::default())
}

pub(super) fn run(m: &mut Model, task: TaskId, kind: OpKind) -> Outcome {
    let step = m.step(&Op { task, kind }, None);
    assert_eq!(step.allowed.first(), Some(&step.taken));
    step.taken
}

pub(super) fn load(m: &mut Model, t: TaskId, region: Region, page: u32) -> Outcome {
    run(m, t, OpKind::MemRead { region, page })
}

pub(super) fn store(m: &mut Model, t: TaskId, region: Region, page: u32, byte: u8) -> Outcome {
    run(m, t, OpKind::MemWrite { region, page, byte })
}

pub(super) fn madvise(
    m: &mut Model,
    t: TaskId,
    region: Region,
    first: u32,
    count: u32,
    advice: Advice,
) -> Outcome {
    run(
        m,
        t,
        OpKind::Madvise {
            region,
            first,
            count,
            advice,
        },
    )
}

/// `pipe2(fds, 0)` by `t`: the read end, then the write end, at the lowest free fds.
fn pipe(m: &mut Model, t: TaskId) -> Outcome {
    run(
        m,
        t,
        OpKind::Pipe2 {
            cloexec: false,
            nonblock: false,
        },
    )
}

pub(super) fn fork(m: &mut Model, t: TaskId) -> TaskId {
    match run(m, t, OpKind::Fork) {
        Outcome::Child(c) => c,
        o => panic!("fork failed: {o:?}"),
    }
}

pub(super) fn vfork(m: &mut Model, t: TaskId) -> TaskId {
    match run(m, t, OpKind::Vfork) {
        Outcome::Child(c) => c,
        o => panic!("vfork failed: {o:?}"),
    }
}

/// `clone(flags | SIGCHLD)` by `t` (no exit signal for a thread): the child.
pub(super) fn clone_with(m: &mut Model, t: TaskId, flags: crate::op::CloneFlags) -> TaskId {
    let thread = flags.has(crate::op::CloneFlags::THREAD);
    let op = OpKind::Clone(crate::op::CloneOp {
        entry: crate::op::CloneEntry::Clone,
        flags,
        exit_signal: if thread { 0 } else { 17 },
        args: Default::default(),
    });
    match run(m, t, op) {
        Outcome::Child(c) => c,
        o => panic!("clone failed: {o:?}"),
    }
}

/// A pidfd of `target` opened by `t` (its fd number).
pub(super) fn pidfd_of(m: &mut Model, t: TaskId, target: TaskId) -> crate::op::Fd {
    let op = OpKind::PidfdOpen {
        target,
        nonblock: false,
        thread: false,
    };
    match run(m, t, op) {
        Outcome::Ret(fd) => fd as crate::op::Fd,
        o => panic!("pidfd_open failed: {o:?}"),
    }
}

fn kill(m: &mut Model, t: TaskId, target: TaskId, sig: Signal) -> Outcome {
    run(m, t, OpKind::Kill { target, sig })
}

pub(super) fn page(m: &Model, t: TaskId, region: Region, p: usize) -> Page {
    m.snapshot().task(t).expect("task in snapshot").memory[region.index()].pages[p]
}

pub(super) fn open(m: &mut Model, t: TaskId, file: FileName, flags: OpenFlags) -> Outcome {
    run(m, t, OpKind::Open { file, flags })
}

pub(super) fn rw(creat: bool) -> OpenFlags {
    OpenFlags {
        access: Access::RdWr,
        creat,
        ..Default::default()
    }
}

fn data(bytes: &[u8]) -> Outcome {
    Outcome::Data(bytes.to_vec())
}

#[test]
fn initial_state() {
    let m = model();
    let s = m.snapshot();
    assert_eq!(s.tasks.len(), 1);
    let t0 = &s.tasks[0];
    assert_eq!(t0.parent, Parent::Reaper);
    assert_eq!(t0.state, TaskState::Live);
    assert!(t0.fds.is_empty());
    assert_eq!(t0.memory.len(), 4);
    for r in &t0.memory {
        assert_eq!(r.pages.len(), 8);
        assert!(r.pages.iter().all(|p| p.mapped && !p.present));
    }
}

#[test]
fn unknown_or_dead_tasks_answer_esrch() {
    let mut m = model();
    assert_eq!(
        load(&mut m, 5, Region::AnonPrivate, 0),
        Outcome::Err(Errno::ESRCH)
    );
    let c = fork(&mut m, 0);
    run(
        &mut m,
        c,
        OpKind::Exit {
            code: 1,
            thread: false,
        },
    );
    let before = m.snapshot();
    assert_eq!(run(&mut m, c, OpKind::Fork), Outcome::Err(Errno::ESRCH));
    assert_eq!(m.snapshot(), before);
}

// covers: mem.zero-page
#[test]
fn zero_page_then_private_frame() {
    let mut m = model();
    assert_eq!(load(&mut m, 0, Region::AnonPrivate, 0), data(&[0]));
    let p = page(&m, 0, Region::AnonPrivate, 0);
    assert!(p.present && !p.exclusive);
    assert_eq!(p.frame, Some(Frame::Zero));
    assert_eq!(p.value, Some(0));
    assert_eq!(store(&mut m, 0, Region::AnonPrivate, 0, 9), Outcome::Ret(0));
    let p = page(&m, 0, Region::AnonPrivate, 0);
    assert!(p.present && p.exclusive);
    assert!(matches!(p.frame, Some(Frame::Class(_))));
    assert_eq!(p.value, Some(9));
}

// covers: mem.cow-frames
#[test]
fn cow_after_fork() {
    let mut m = model();
    store(&mut m, 0, Region::AnonPrivate, 0, 1);
    let c = fork(&mut m, 0);
    let (a, b) = (
        page(&m, 0, Region::AnonPrivate, 0),
        page(&m, c, Region::AnonPrivate, 0),
    );
    assert_eq!(a.frame, b.frame);
    assert!(!a.exclusive && !b.exclusive);
    // The first writer gets a new exclusive frame; the other side regains exclusivity.
    store(&mut m, c, Region::AnonPrivate, 0, 2);
    let (a2, b2) = (
        page(&m, 0, Region::AnonPrivate, 0),
        page(&m, c, Region::AnonPrivate, 0),
    );
    assert_ne!(a2.frame, b2.frame);
    assert!(a2.exclusive && b2.exclusive);
    assert_eq!(load(&mut m, 0, Region::AnonPrivate, 0), data(&[1]));
    assert_eq!(load(&mut m, c, Region::AnonPrivate, 0), data(&[2]));
    // The parent, now sole owner, writes in place.
    let before = raw_frame(&m, 0, Region::AnonPrivate, 0);
    store(&mut m, 0, Region::AnonPrivate, 0, 3);
    assert_eq!(raw_frame(&m, 0, Region::AnonPrivate, 0), before);
}

/// The raw frame behind a page (snapshots relabel frames, so identity across snapshots is
/// checked on the model's own state).
fn raw_frame(m: &Model, t: TaskId, region: Region, p: u32) -> Option<memory::Pte> {
    m.mms[m.tasks[t as usize].mm].pte(memory::global_page(region, p))
}

// covers: mem.cow-frames
#[test]
fn write_after_partner_exit_reuses_frame() {
    let mut m = model();
    store(&mut m, 0, Region::AnonPrivate, 1, 1);
    let c = fork(&mut m, 0);
    assert!(!page(&m, 0, Region::AnonPrivate, 1).exclusive);
    let before = raw_frame(&m, 0, Region::AnonPrivate, 1);
    run(
        &mut m,
        c,
        OpKind::Exit {
            code: 0,
            thread: false,
        },
    );
    assert!(page(&m, 0, Region::AnonPrivate, 1).exclusive);
    store(&mut m, 0, Region::AnonPrivate, 1, 5);
    assert_eq!(raw_frame(&m, 0, Region::AnonPrivate, 1), before);
    assert_eq!(page(&m, 0, Region::AnonPrivate, 1).value, Some(5));
}

// covers: mem.cow-frames, mem.cow-parent-writes
#[test]
fn cow_copy_goes_to_the_writer() {
    let mut m = model();
    store(&mut m, 0, Region::AnonPrivate, 0, 1);
    let c = fork(&mut m, 0);
    let shared = raw_frame(&m, 0, Region::AnonPrivate, 0);
    assert_eq!(raw_frame(&m, c, Region::AnonPrivate, 0), shared);
    store(&mut m, 0, Region::AnonPrivate, 0, 2);
    assert_ne!(raw_frame(&m, 0, Region::AnonPrivate, 0), shared);
    assert_eq!(raw_frame(&m, c, Region::AnonPrivate, 0), shared);
    // The child, now sole owner of the old frame, reuses it.
    store(&mut m, c, Region::AnonPrivate, 0, 3);
    assert_eq!(raw_frame(&m, c, Region::AnonPrivate, 0), shared);
}

// covers: mem.zero-page
#[test]
fn fork_after_only_reading_does_not_copy_ptes() {
    let mut m = model();
    load(&mut m, 0, Region::AnonPrivate, 0);
    let c = fork(&mut m, 0);
    assert!(page(&m, 0, Region::AnonPrivate, 0).present);
    let cp = page(&m, c, Region::AnonPrivate, 0);
    assert!(cp.mapped && !cp.present);
}

// covers: mem.zero-page
#[test]
fn zero_page_ptes_are_copied_once_the_vma_has_an_anon_vma() {
    let mut m = model();
    load(&mut m, 0, Region::AnonPrivate, 0);
    store(&mut m, 0, Region::AnonPrivate, 1, 1);
    let c = fork(&mut m, 0);
    let cp = page(&m, c, Region::AnonPrivate, 0);
    assert!(cp.present);
    assert_eq!(cp.frame, Some(Frame::Zero));
}

// covers: mem.dontfork
#[test]
fn dontfork_child_faults() {
    let mut m = model();
    store(&mut m, 0, Region::AnonPrivate, 0, 1);
    assert_eq!(
        madvise(&mut m, 0, Region::AnonPrivate, 0, 2, Advice::DontFork),
        Outcome::Ret(0)
    );
    let c = fork(&mut m, 0);
    assert!(!page(&m, c, Region::AnonPrivate, 0).mapped);
    assert!(!page(&m, c, Region::AnonPrivate, 1).mapped);
    assert!(page(&m, c, Region::AnonPrivate, 2).mapped);
    assert_eq!(
        load(&mut m, c, Region::AnonPrivate, 0),
        Outcome::Killed(Signal::SIGSEGV)
    );
    let s = m.snapshot();
    let v = s.task(c).unwrap();
    assert_eq!(
        v.state,
        TaskState::Zombie(ExitStatus::Signaled(Signal::SIGSEGV))
    );
    assert!(v.memory.is_empty() && v.sharing.is_none());
    // DOFORK undoes it.
    madvise(&mut m, 0, Region::AnonPrivate, 0, 2, Advice::DoFork);
    let c2 = fork(&mut m, 0);
    assert_eq!(load(&mut m, c2, Region::AnonPrivate, 0), data(&[1]));
}

// covers: mem.wipeonfork
#[test]
fn wipeonfork_child_and_grandchild_read_zero() {
    let mut m = model();
    store(&mut m, 0, Region::AnonPrivate, 0, 7);
    assert_eq!(
        madvise(&mut m, 0, Region::AnonPrivate, 0, 8, Advice::WipeOnFork),
        Outcome::Ret(0)
    );
    let c = fork(&mut m, 0);
    assert!(!page(&m, c, Region::AnonPrivate, 0).present);
    assert_eq!(load(&mut m, c, Region::AnonPrivate, 0), data(&[0]));
    store(&mut m, c, Region::AnonPrivate, 0, 8);
    let g = fork(&mut m, c);
    assert_eq!(load(&mut m, g, Region::AnonPrivate, 0), data(&[0]));
    assert_eq!(load(&mut m, 0, Region::AnonPrivate, 0), data(&[7]));
}

// covers: mem.keeponfork
#[test]
fn keeponfork_undoes_wipeonfork() {
    let mut m = model();
    store(&mut m, 0, Region::AnonPrivate, 0, 7);
    madvise(&mut m, 0, Region::AnonPrivate, 0, 8, Advice::WipeOnFork);
    madvise(&mut m, 0, Region::AnonPrivate, 0, 8, Advice::KeepOnFork);
    let c = fork(&mut m, 0);
    assert_eq!(load(&mut m, c, Region::AnonPrivate, 0), data(&[7]));
}

// covers: mem.wipeonfork
#[test]
fn wipeonfork_rejected_on_shared_and_file_mappings() {
    let mut m = model();
    for r in [Region::AnonShared, Region::FilePrivate, Region::FileShared] {
        assert_eq!(
            madvise(&mut m, 0, r, 0, 1, Advice::WipeOnFork),
            Outcome::Err(Errno::EINVAL)
        );
    }
}

#[test]
fn madvise_hole_is_enomem_but_mapped_part_changes() {
    let mut m = model();
    assert_eq!(
        madvise(&mut m, 0, Region::AnonPrivate, 0, 0, Advice::DontFork),
        Outcome::Ret(0)
    );
    assert_eq!(
        madvise(&mut m, 0, Region::AnonPrivate, 6, 4, Advice::DontFork),
        Outcome::Err(Errno::ENOMEM)
    );
    let c = fork(&mut m, 0);
    assert!(page(&m, c, Region::AnonPrivate, 5).mapped);
    assert!(!page(&m, c, Region::AnonPrivate, 6).mapped);
    assert_eq!(
        madvise(&mut m, 0, Region::AnonPrivate, 100, 1, Advice::DontNeed),
        Outcome::Err(Errno::ENOMEM)
    );
}

#[test]
fn out_of_range_page_is_sigsegv() {
    let mut m = model();
    assert_eq!(
        load(&mut m, 0, Region::FileShared, 8),
        Outcome::Killed(Signal::SIGSEGV)
    );
    assert_eq!(
        m.snapshot().tasks[0].state,
        TaskState::Zombie(ExitStatus::Signaled(Signal::SIGSEGV))
    );
}

#[test]
fn dontneed_drops_private_content() {
    let mut m = model();
    store(&mut m, 0, Region::AnonPrivate, 0, 5);
    store(&mut m, 0, Region::FilePrivate, 2, 5);
    store(&mut m, 0, Region::AnonShared, 0, 5);
    for r in [Region::AnonPrivate, Region::FilePrivate, Region::AnonShared] {
        assert_eq!(
            madvise(&mut m, 0, r, 0, 8, Advice::DontNeed),
            Outcome::Ret(0)
        );
        assert!(!page(&m, 0, r, 0).present);
    }
    assert_eq!(load(&mut m, 0, Region::AnonPrivate, 0), data(&[0]));
    assert_eq!(load(&mut m, 0, Region::FilePrivate, 2), data(&[0x82]));
    assert_eq!(load(&mut m, 0, Region::AnonShared, 0), data(&[5]));
}

// covers: mem.file-private
#[test]
fn file_private_reads_page_cache_until_written() {
    let mut m = model();
    assert_eq!(load(&mut m, 0, Region::FilePrivate, 0), data(&[0x80]));
    let p = page(&m, 0, Region::FilePrivate, 0);
    assert!(p.present && p.exclusive);
    // Fault-around mapped the rest of the cached window too.
    assert!(page(&m, 0, Region::FilePrivate, 7).present);
    store(&mut m, 0, Region::FileShared, 1, 0x11);
    assert_eq!(load(&mut m, 0, Region::FilePrivate, 1), data(&[0x11]));
    // The page-cache frame is mapped by both file regions: not exclusive.
    assert!(!page(&m, 0, Region::FilePrivate, 1).exclusive);
    store(&mut m, 0, Region::FilePrivate, 1, 0x22);
    assert_eq!(load(&mut m, 0, Region::FileShared, 1), data(&[0x11]));
    assert_eq!(load(&mut m, 0, Region::FilePrivate, 1), data(&[0x22]));
    assert!(page(&m, 0, Region::FilePrivate, 1).exclusive);
    // read(2) sees the shared store.
    open(&mut m, 0, FileName::Data, OpenFlags::default());
    run(
        &mut m,
        0,
        OpKind::Lseek {
            fd: 0,
            offset: 4096,
            whence: Whence::Set,
        },
    );
    assert_eq!(
        run(&mut m, 0, OpKind::Read { fd: 0, len: 1 }),
        data(&[0x11])
    );
}

// covers: mem.map-shared
#[test]
fn shared_regions_stay_shared_and_are_not_copied_at_fork() {
    let mut m = model();
    store(&mut m, 0, Region::AnonShared, 0, 3);
    let c = fork(&mut m, 0);
    assert!(!page(&m, c, Region::AnonShared, 0).present);
    assert_eq!(load(&mut m, c, Region::AnonShared, 0), data(&[3]));
    store(&mut m, c, Region::AnonShared, 0, 4);
    assert_eq!(load(&mut m, 0, Region::AnonShared, 0), data(&[4]));
    let (a, b) = (
        page(&m, 0, Region::AnonShared, 0),
        page(&m, c, Region::AnonShared, 0),
    );
    assert_eq!(a.frame, b.frame);
    assert!(!a.exclusive);
}

#[test]
fn forked_vma_without_anon_vma_does_not_merge() {
    let mut m = model();
    store(&mut m, 0, Region::AnonPrivate, 0, 1);
    madvise(&mut m, 0, Region::AnonPrivate, 2, 2, Advice::WipeOnFork);
    let c = fork(&mut m, 0);
    // In the child, [2,4) has no anon_vma and its neighbours are fork-child VMAs.
    load(&mut m, c, Region::AnonPrivate, 2);
    madvise(&mut m, c, Region::AnonPrivate, 2, 2, Advice::KeepOnFork);
    let g = fork(&mut m, c);
    // Not merged: the zero-page PTE of the anon_vma-less VMA is not copied ...
    assert!(!page(&m, g, Region::AnonPrivate, 2).present);
    // ... while the COW page of the other VMA is.
    assert!(page(&m, g, Region::AnonPrivate, 0).present);
    // In the parent (not a fork child) the same sequence merges and copies.
    load(&mut m, 0, Region::AnonPrivate, 2);
    madvise(&mut m, 0, Region::AnonPrivate, 2, 2, Advice::KeepOnFork);
    let c2 = fork(&mut m, 0);
    assert_eq!(
        page(&m, c2, Region::AnonPrivate, 2).frame,
        Some(Frame::Zero)
    );
}

#[test]
fn truncating_data_makes_pages_beyond_eof_sigbus() {
    let mut m = model();
    load(&mut m, 0, Region::FileShared, 3);
    store(&mut m, 0, Region::FilePrivate, 3, 1);
    open(&mut m, 0, FileName::Data, rw(false));
    assert_eq!(
        run(&mut m, 0, OpKind::Ftruncate { fd: 0, len: 4096 }),
        Outcome::Ret(0)
    );
    assert!(!page(&m, 0, Region::FileShared, 3).present);
    assert!(!page(&m, 0, Region::FilePrivate, 3).present);
    assert_eq!(load(&mut m, 0, Region::FileShared, 0), data(&[0x80]));
    let c = fork(&mut m, 0);
    assert_eq!(
        load(&mut m, c, Region::FilePrivate, 3),
        Outcome::Killed(Signal::SIGBUS)
    );
    run(
        &mut m,
        0,
        OpKind::Ftruncate {
            fd: 0,
            len: 8 * 4096,
        },
    );
    assert_eq!(load(&mut m, 0, Region::FileShared, 3), data(&[0]));
}

#[test]
fn open_trunc_read_only_truncates() {
    let mut m = model();
    let flags = OpenFlags {
        trunc: true,
        ..Default::default()
    };
    assert_eq!(open(&mut m, 0, FileName::Data, flags), Outcome::Ret(0));
    let s = m.snapshot();
    assert_eq!(s.inodes[0].size, Some(0));
    assert_eq!(
        load(&mut m, 0, Region::FileShared, 0),
        Outcome::Killed(Signal::SIGBUS)
    );
}

#[test]
fn open_errors_and_lowest_free_fd() {
    let mut m = model();
    assert_eq!(
        open(&mut m, 0, FileName::A, rw(false)),
        Outcome::Err(Errno::ENOENT)
    );
    assert_eq!(open(&mut m, 0, FileName::A, rw(true)), Outcome::Ret(0));
    let excl = OpenFlags {
        excl: true,
        ..rw(true)
    };
    assert_eq!(
        open(&mut m, 0, FileName::A, excl),
        Outcome::Err(Errno::EEXIST)
    );
    assert_eq!(
        open(&mut m, 0, FileName::Data, OpenFlags::default()),
        Outcome::Ret(1)
    );
    assert_eq!(open(&mut m, 0, FileName::B, rw(true)), Outcome::Ret(2));
    assert_eq!(run(&mut m, 0, OpKind::Close { fd: 1 }), Outcome::Ret(0));
    assert_eq!(
        run(&mut m, 0, OpKind::Close { fd: 1 }),
        Outcome::Err(Errno::EBADF)
    );
    assert_eq!(
        open(&mut m, 0, FileName::Data, OpenFlags::default()),
        Outcome::Ret(1)
    );
}

// covers: fd.shared-offset
#[test]
fn offsets_shared_after_fork_and_dup_but_not_across_opens() {
    let mut m = model();
    open(&mut m, 0, FileName::Data, OpenFlags::default());
    let c = fork(&mut m, 0);
    assert_eq!(
        run(&mut m, c, OpKind::Read { fd: 0, len: 2 }),
        data(&[0x80, 1])
    );
    assert_eq!(run(&mut m, 0, OpKind::Read { fd: 0, len: 1 }), data(&[2]));
    assert_eq!(run(&mut m, 0, OpKind::Dup { fd: 0 }), Outcome::Ret(1));
    assert_eq!(run(&mut m, 0, OpKind::Read { fd: 1, len: 1 }), data(&[3]));
    assert_eq!(
        run(
            &mut m,
            c,
            OpKind::Lseek {
                fd: 0,
                offset: 0,
                whence: Whence::Cur
            }
        ),
        Outcome::Ret(4)
    );
    assert_eq!(
        open(&mut m, 0, FileName::Data, OpenFlags::default()),
        Outcome::Ret(2)
    );
    assert_eq!(
        run(&mut m, 0, OpKind::Read { fd: 2, len: 1 }),
        data(&[0x80])
    );
    let s = m.snapshot();
    let t0 = s.task(0).unwrap();
    assert_eq!(t0.fds[0].ofd, t0.fds[1].ofd);
    assert_ne!(t0.fds[0].ofd, t0.fds[2].ofd);
    assert_eq!(s.task(c).unwrap().fds[0].ofd, t0.fds[0].ofd);
}

// covers: fd.shared-status-flags
#[test]
fn setfl_append_is_seen_by_the_other_task() {
    let mut m = model();
    open(&mut m, 0, FileName::A, rw(true));
    let c = fork(&mut m, 0);
    let setfl = FcntlCmd::SetFl {
        append: true,
        nonblock: false,
    };
    assert_eq!(
        run(&mut m, c, OpKind::Fcntl { fd: 0, cmd: setfl }),
        Outcome::Ret(0)
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Fcntl {
                fd: 0,
                cmd: FcntlCmd::GetFl
            }
        ),
        Outcome::Ret(2 | 0o2000 | 0o100000)
    );
    run(
        &mut m,
        0,
        OpKind::Write {
            fd: 0,
            data: b"ab".to_vec(),
        },
    );
    run(
        &mut m,
        0,
        OpKind::Lseek {
            fd: 0,
            offset: 0,
            whence: Whence::Set,
        },
    );
    run(
        &mut m,
        c,
        OpKind::Write {
            fd: 0,
            data: b"c".to_vec(),
        },
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Pread {
                fd: 0,
                len: 8,
                offset: 0
            }
        ),
        data(b"abc")
    );
}

// covers: fd.shared-offset
#[test]
fn pread_pwrite_leave_the_offset() {
    let mut m = model();
    open(&mut m, 0, FileName::A, rw(true));
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Pwrite {
                fd: 0,
                data: b"xyz".to_vec(),
                offset: 5
            }
        ),
        Outcome::Ret(3)
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Pread {
                fd: 0,
                len: 2,
                offset: 6
            }
        ),
        data(b"yz")
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Lseek {
                fd: 0,
                offset: 0,
                whence: Whence::Cur
            }
        ),
        Outcome::Ret(0)
    );
    assert_eq!(
        run(&mut m, 0, OpKind::Read { fd: 0, len: 8 }),
        data(&[0, 0, 0, 0, 0, b'x', b'y', b'z'])
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Pread {
                fd: 0,
                len: 2,
                offset: -1
            }
        ),
        Outcome::Err(Errno::EINVAL)
    );
    // O_APPEND: pwrite appends at EOF regardless of the offset.
    let setfl = FcntlCmd::SetFl {
        append: true,
        nonblock: false,
    };
    run(&mut m, 0, OpKind::Fcntl { fd: 0, cmd: setfl });
    run(
        &mut m,
        0,
        OpKind::Pwrite {
            fd: 0,
            data: b"!".to_vec(),
            offset: 0,
        },
    );
    assert_eq!(m.snapshot().inodes[0].size, Some(9));
}

// covers: fd.close-independent
#[test]
fn close_in_child_does_not_affect_parent() {
    let mut m = model();
    open(&mut m, 0, FileName::Data, OpenFlags::default());
    let c = fork(&mut m, 0);
    assert_eq!(run(&mut m, c, OpKind::Close { fd: 0 }), Outcome::Ret(0));
    assert_eq!(
        run(&mut m, 0, OpKind::Read { fd: 0, len: 1 }),
        data(&[0x80])
    );
    assert_eq!(
        run(&mut m, c, OpKind::Read { fd: 0, len: 1 }),
        Outcome::Err(Errno::EBADF)
    );
}

// covers: fd.pipe-eof
#[test]
fn pipe_eof_only_after_every_write_end_closes() {
    let mut m = model();
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Pipe2 {
                cloexec: false,
                nonblock: true
            }
        ),
        Outcome::Pipe([0, 1])
    );
    let c = fork(&mut m, 0);
    run(&mut m, 0, OpKind::Close { fd: 1 });
    assert_eq!(
        run(&mut m, 0, OpKind::Read { fd: 0, len: 4 }),
        Outcome::Err(Errno::EAGAIN)
    );
    assert_eq!(
        run(
            &mut m,
            c,
            OpKind::Write {
                fd: 1,
                data: b"hi".to_vec()
            }
        ),
        Outcome::Ret(2)
    );
    assert_eq!(m.snapshot().inodes[0].size, Some(2));
    assert_eq!(run(&mut m, 0, OpKind::Read { fd: 0, len: 4 }), data(b"hi"));
    run(
        &mut m,
        c,
        OpKind::Exit {
            code: 0,
            thread: false,
        },
    );
    assert_eq!(run(&mut m, 0, OpKind::Read { fd: 0, len: 4 }), data(&[]));
}

// covers: fork.wait
#[test]
fn blocked_wait_ends_with_echild_when_its_child_is_released_at_once() {
    let mut m = model();
    let clone: OpKind = serde_json::from_value(serde_json::json!({
        "kind": "clone", "flags": ["vm", "sighand", "newpid"], "exit_signal": 17
    }))
    .expect("clone op");
    assert_eq!(run(&mut m, 0, clone), Outcome::Child(1));
    let wait = OpKind::Wait {
        target: WaitTarget::Task(1),
        options: Default::default(),
    };
    assert_eq!(run(&mut m, 0, wait.clone()), Outcome::Blocked);
    let exit = OpKind::Exit {
        code: 0,
        thread: false,
    };
    assert_eq!(run(&mut m, 1, exit), Outcome::Exited);
    // The namespace init set SIGCHLD to SIG_IGN in the shared sighand_struct: no zombie, and
    // the woken wait found no child.
    let s = m.snapshot();
    assert_eq!(s.task(0).unwrap().state, TaskState::Live);
    assert!(s.task(1).is_none());
    assert_eq!(run(&mut m, 0, wait), Outcome::Err(Errno::ECHILD));
}

#[test]
fn blocked_wait_completes_when_the_child_exits() {
    let mut m = model();
    let c = fork(&mut m, 0);
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Wait {
                target: WaitTarget::Any,
                options: Default::default()
            }
        ),
        Outcome::Blocked
    );
    assert_eq!(
        run(
            &mut m,
            c,
            OpKind::Exit {
                code: 4,
                thread: false
            }
        ),
        Outcome::Exited
    );
    let s = m.snapshot();
    assert_eq!(s.task(0).unwrap().state, TaskState::Live);
    assert!(s.task(c).is_none());
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Wait {
                target: WaitTarget::Any,
                options: Default::default()
            }
        ),
        Outcome::Err(Errno::ECHILD)
    );
}

#[test]
fn blocked_pipe_reader_wakes_on_data_and_on_eof() {
    let mut m = model();
    pipe(&mut m, 0);
    let c = fork(&mut m, 0);
    run(&mut m, c, OpKind::Close { fd: 1 });
    assert_eq!(
        run(&mut m, c, OpKind::Read { fd: 0, len: 2 }),
        Outcome::Blocked
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Write {
                fd: 1,
                data: b"abc".to_vec()
            }
        ),
        Outcome::Ret(3)
    );
    // The reader took two bytes and runs again.
    let s = m.snapshot();
    assert_eq!(s.task(c).unwrap().state, TaskState::Live);
    assert_eq!(s.inodes[0].size, Some(1));
    assert_eq!(run(&mut m, c, OpKind::Read { fd: 0, len: 2 }), data(b"c"));
    assert_eq!(
        run(&mut m, c, OpKind::Read { fd: 0, len: 2 }),
        Outcome::Blocked
    );
    run(&mut m, 0, OpKind::Close { fd: 1 });
    assert_eq!(m.snapshot().task(c).unwrap().state, TaskState::Live);
}

#[test]
fn blocked_pipe_writer_dies_of_sigpipe_when_readers_go() {
    let mut m = model();
    pipe(&mut m, 0);
    let c = fork(&mut m, 0);
    run(&mut m, c, OpKind::Close { fd: 0 });
    let chunk = vec![1u8; 64];
    let mut last = Outcome::Ret(0);
    for _ in 0..=(65536 / 64) {
        last = run(
            &mut m,
            c,
            OpKind::Write {
                fd: 1,
                data: chunk.clone(),
            },
        );
        if last == Outcome::Blocked {
            break;
        }
    }
    assert_eq!(last, Outcome::Blocked);
    // A read frees a whole buffer only when it empties one; read a full page.
    for _ in 0..64 {
        run(&mut m, 0, OpKind::Read { fd: 0, len: 64 });
    }
    assert_eq!(m.snapshot().task(c).unwrap().state, TaskState::Live);
    for _ in 0..=64 {
        last = run(
            &mut m,
            c,
            OpKind::Write {
                fd: 1,
                data: chunk.clone(),
            },
        );
        if last == Outcome::Blocked {
            break;
        }
    }
    assert_eq!(last, Outcome::Blocked);
    run(&mut m, 0, OpKind::Close { fd: 0 });
    assert_eq!(
        m.snapshot().task(c).unwrap().state,
        TaskState::Zombie(ExitStatus::Signaled(Signal::SIGPIPE))
    );
}

#[test]
fn blocking_pipe_read_blocks_the_task() {
    let mut m = model();
    run(
        &mut m,
        0,
        OpKind::Pipe2 {
            cloexec: true,
            nonblock: false,
        },
    );
    assert_eq!(
        run(&mut m, 0, OpKind::Read { fd: 0, len: 4 }),
        Outcome::Blocked
    );
    assert_eq!(m.snapshot().tasks[0].state, TaskState::Blocked);
    assert_eq!(
        run(&mut m, 0, OpKind::Close { fd: 0 }),
        Outcome::Err(Errno::ESRCH)
    );
}

// covers: fd.pipe-eof
#[test]
fn pipe_without_readers_kills_with_sigpipe() {
    let mut m = model();
    pipe(&mut m, 0);
    run(&mut m, 0, OpKind::Close { fd: 0 });
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Write {
                fd: 1,
                data: vec![]
            }
        ),
        Outcome::Ret(0)
    );
    assert_eq!(
        run(&mut m, 0, OpKind::Read { fd: 1, len: 1 }),
        Outcome::Err(Errno::EBADF)
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Lseek {
                fd: 1,
                offset: 0,
                whence: Whence::Set
            }
        ),
        Outcome::Err(Errno::ESPIPE)
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Fcntl {
                fd: 1,
                cmd: FcntlCmd::GetFl
            }
        ),
        Outcome::Ret(1)
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Write {
                fd: 1,
                data: b"x".to_vec()
            }
        ),
        Outcome::Killed(Signal::SIGPIPE)
    );
}

#[test]
fn pipe_fills_up() {
    let mut m = model();
    run(
        &mut m,
        0,
        OpKind::Pipe2 {
            cloexec: false,
            nonblock: true,
        },
    );
    let chunk = vec![7u8; 64];
    for _ in 0..(65536 / 64) {
        assert_eq!(
            run(
                &mut m,
                0,
                OpKind::Write {
                    fd: 1,
                    data: chunk.clone()
                }
            ),
            Outcome::Ret(64)
        );
    }
    assert_eq!(
        run(&mut m, 0, OpKind::Write { fd: 1, data: chunk }),
        Outcome::Err(Errno::EAGAIN)
    );
}

#[test]
fn dup_family_rules() {
    let mut m = model();
    open(
        &mut m,
        0,
        FileName::Data,
        OpenFlags {
            cloexec: true,
            ..Default::default()
        },
    );
    assert_eq!(
        run(&mut m, 0, OpKind::Dup2 { old: 0, new: 0 }),
        Outcome::Ret(0)
    );
    assert_eq!(
        run(&mut m, 0, OpKind::Dup2 { old: 3, new: 3 }),
        Outcome::Err(Errno::EBADF)
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Dup3 {
                old: 0,
                new: 0,
                cloexec: false
            }
        ),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        run(&mut m, 0, OpKind::Dup2 { old: 0, new: 1024 }),
        Outcome::Err(Errno::EBADF)
    );
    assert_eq!(
        run(&mut m, 0, OpKind::Dup2 { old: 0, new: -1 }),
        Outcome::Err(Errno::EBADF)
    );
    assert_eq!(
        run(&mut m, 0, OpKind::Dup2 { old: 0, new: 5 }),
        Outcome::Ret(5)
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Fcntl {
                fd: 5,
                cmd: FcntlCmd::GetFd
            }
        ),
        Outcome::Ret(0)
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Fcntl {
                fd: 0,
                cmd: FcntlCmd::GetFd
            }
        ),
        Outcome::Ret(1)
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Fcntl {
                fd: 0,
                cmd: FcntlCmd::DupFdCloexec { min: 3 }
            }
        ),
        Outcome::Ret(3)
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Fcntl {
                fd: 0,
                cmd: FcntlCmd::DupFd { min: 1024 }
            }
        ),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Fcntl {
                fd: 9,
                cmd: FcntlCmd::GetFd
            }
        ),
        Outcome::Err(Errno::EBADF)
    );
}

#[test]
fn write_advances_the_offset_by_what_it_wrote() {
    let mut m = model();
    assert_eq!(open(&mut m, 0, FileName::A, rw(true)), Outcome::Ret(0));
    for bytes in [b"ab".to_vec(), b"cde".to_vec()] {
        let n = bytes.len() as i64;
        assert_eq!(
            run(&mut m, 0, OpKind::Write { fd: 0, data: bytes }),
            Outcome::Ret(n)
        );
    }
    let here = OpKind::Lseek {
        fd: 0,
        offset: 0,
        whence: Whence::Cur,
    };
    assert_eq!(run(&mut m, 0, here), Outcome::Ret(5));
    let all = OpKind::Pread {
        fd: 0,
        len: 8,
        offset: 0,
    };
    assert_eq!(run(&mut m, 0, all), data(b"abcde"));
}

#[test]
fn ext4_files_end_at_16_tib_minus_a_block() {
    let mut m = Model::with_case_fs(CaseConfig { pages: 8 }, &Profile::default(), CaseFs::Ext4);
    assert_eq!(open(&mut m, 0, FileName::A, rw(true)), Outcome::Ret(0));
    let max = (0xffff_ffff_u64 * 4096) as i64;
    let pwrite = |offset: i64| OpKind::Pwrite {
        fd: 0,
        data: vec![1, 2],
        offset,
    };
    // A write that reaches the limit is cut at it; one that starts there is EFBIG.
    assert_eq!(run(&mut m, 0, pwrite(max - 1)), Outcome::Ret(1));
    assert_eq!(run(&mut m, 0, pwrite(max)), Outcome::Err(Errno::EFBIG));
    let trunc = |len: i64| OpKind::Ftruncate { fd: 0, len };
    assert_eq!(run(&mut m, 0, trunc(max)), Outcome::Ret(0));
    assert_eq!(run(&mut m, 0, trunc(max + 1)), Outcome::Err(Errno::EFBIG));
    // tmpfs goes up to MAX_LFS_FILESIZE.
    let mut m = model();
    assert_eq!(open(&mut m, 0, FileName::A, rw(true)), Outcome::Ret(0));
    assert_eq!(run(&mut m, 0, pwrite(max)), Outcome::Ret(2));
}

#[test]
fn ftruncate_rules() {
    let mut m = model();
    open(&mut m, 0, FileName::Data, OpenFlags::default());
    assert_eq!(
        run(&mut m, 0, OpKind::Ftruncate { fd: 0, len: 1 }),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        run(&mut m, 0, OpKind::Ftruncate { fd: 7, len: -1 }),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        run(&mut m, 0, OpKind::Ftruncate { fd: 7, len: 1 }),
        Outcome::Err(Errno::EBADF)
    );
    pipe(&mut m, 0);
    assert_eq!(
        run(&mut m, 0, OpKind::Ftruncate { fd: 2, len: 0 }),
        Outcome::Err(Errno::EINVAL)
    );
}

// covers: fork.wait
#[test]
fn wait_reaps_zombies_in_children_order() {
    let mut m = model();
    let a = fork(&mut m, 0);
    let b = fork(&mut m, 0);
    run(
        &mut m,
        b,
        OpKind::Exit {
            code: 0x1ff,
            thread: false,
        },
    );
    run(
        &mut m,
        a,
        OpKind::Exit {
            code: 3,
            thread: false,
        },
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Wait {
                target: WaitTarget::Any,
                options: Default::default()
            }
        ),
        Outcome::Reaped {
            task: a,
            status: ExitStatus::Exited(3)
        }
    );
    assert!(m.snapshot().task(a).is_none());
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Wait {
                target: WaitTarget::Task(b),
                options: Default::default()
            }
        ),
        Outcome::Reaped {
            task: b,
            status: ExitStatus::Exited(0xff)
        }
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Wait {
                target: WaitTarget::Any,
                options: Default::default()
            }
        ),
        Outcome::Err(Errno::ECHILD)
    );
}

// covers: fork.ppid
/// Inside a pid namespace, an orphan goes to the namespace's init (find_new_reaper: the
/// child reaper of the dying task's namespace), not to the lab.
#[test]
fn orphans_in_a_pid_namespace_go_to_its_init() {
    use crate::op::CloneFlags as F;
    let mut m = model();
    let init = clone_with(&mut m, 0, F::NEWPID);
    let c = fork(&mut m, init);
    let g = fork(&mut m, c);
    let exit = OpKind::Exit {
        code: 0,
        thread: false,
    };
    assert_eq!(run(&mut m, c, exit), Outcome::Exited);
    assert_eq!(m.snapshot().task(g).unwrap().parent, Parent::Task(init));
}

/// A CLONE_PARENT child is its creator's sibling and takes the exit signal of its creator's
/// group leader, not the one it asked for (copy_process); after an exec that is SIGCHLD
/// (de_thread resets the exit signal).
#[test]
fn a_clone_parent_sibling_takes_its_creators_exit_signal() {
    use crate::op::{CloneEntry, CloneFlags as F, CloneOp};
    let mut m = model();
    block(&mut m, 0, &[Signal::SIGUSR1, Signal::SIGCHLD]);
    let c = fork(&mut m, 0);
    assert_eq!(run(&mut m, c, OpKind::Exec), Outcome::Ret(0));
    let op = OpKind::Clone(CloneOp {
        entry: CloneEntry::Clone,
        flags: F::PARENT,
        exit_signal: Signal::SIGUSR1.0,
        args: Default::default(),
    });
    let Outcome::Child(s) = run(&mut m, c, op) else {
        panic!("clone failed")
    };
    let exit = OpKind::Exit {
        code: 0,
        thread: false,
    };
    assert_eq!(run(&mut m, s, exit), Outcome::Exited);
    assert_eq!(sig_state(&m, 0).shared_pending, sigset(&[Signal::SIGCHLD]));
}

#[test]
fn orphans_are_reparented_to_the_reaper() {
    let mut m = model();
    let c = fork(&mut m, 0);
    let g = fork(&mut m, c);
    run(
        &mut m,
        c,
        OpKind::Exit {
            code: 0,
            thread: false,
        },
    );
    assert_eq!(m.snapshot().task(g).unwrap().parent, Parent::Reaper);
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Wait {
                target: WaitTarget::Task(g),
                options: Default::default()
            }
        ),
        Outcome::Err(Errno::ECHILD)
    );
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Wait {
                target: WaitTarget::Task(c),
                options: Default::default()
            }
        ),
        Outcome::Reaped {
            task: c,
            status: ExitStatus::Exited(0)
        }
    );
    let c2 = fork(&mut m, 0);
    assert_eq!(
        run(
            &mut m,
            0,
            OpKind::Wait {
                target: WaitTarget::Task(c2),
                options: Default::default()
            }
        ),
        Outcome::Blocked
    );
    assert_eq!(m.snapshot().task(0).unwrap().state, TaskState::Blocked);
}

// covers: fork.new-objects
#[test]
fn sharing_classes() {
    let mut m = model();
    let c = fork(&mut m, 0);
    let s = m.snapshot();
    let (a, b) = (
        s.task(0).unwrap().sharing.unwrap(),
        s.task(c).unwrap().sharing.unwrap(),
    );
    assert_ne!(a.vm, b.vm);
    assert_ne!(a.files, b.files);
    assert_eq!(a.io, b.io);
    assert_eq!(a.sysvsem, b.sysvsem);
}

// covers: fork.return-values
#[test]
fn fork_limit() {
    let mut m = model();
    for _ in 1..64 {
        fork(&mut m, 0);
    }
    assert_eq!(run(&mut m, 0, OpKind::Fork), Outcome::Err(Errno::EAGAIN));
}

#[test]
fn observed_outcome_not_allowed_falls_back_to_first() {
    let mut m = model();
    let step = m.step(
        &Op {
            task: 0,
            kind: OpKind::Fork,
        },
        Some(&Outcome::Ret(1)),
    );
    assert_eq!(step.taken, Outcome::Child(1));
}

/// The pages of `region` in `t`: `X` present and mapped once, `P` present and mapped more
/// than once, `.` absent.
pub(super) fn presence(m: &Model, t: TaskId, region: Region) -> String {
    m.snapshot().task(t).expect("task in snapshot").memory[region.index()]
        .pages
        .iter()
        .map(|p| match (p.present, p.exclusive) {
            (false, _) => '.',
            (true, true) => 'X',
            (true, false) => 'P',
        })
        .collect()
}

/// Runs a script on one file region of a fresh case with `pages` pages and returns the
/// presence of its pages after each step (`X` exclusive, `P` shared, `.` absent), like the
/// probe run on the reference machine (6.18, ext4 with large folios).
fn presence_script(fs: CaseFs, pages: u32, region: Region, script: &[&str]) -> Vec<String> {
    let mut m = Model::with_case_fs(CaseConfig { pages }, &Profile::default(), fs);
    let mut out = Vec::new();
    for step in script {
        let (op, rest) = step.split_at(1);
        let mut nums = rest.split('-').map(|x| x.parse::<u32>().unwrap());
        let a = nums.next().unwrap();
        let b = nums.next().unwrap_or(a + 1);
        match op {
            "r" => drop(load(&mut m, 0, region, a)),
            "w" => drop(store(&mut m, 0, region, a, 1)),
            "d" => drop(madvise(&mut m, 0, region, a, b - a, Advice::DontNeed)),
            "f" => drop(madvise(&mut m, 0, region, a, b - a, Advice::DontFork)),
            _ => unreachable!(),
        }
        out.push(presence(&m, 0, region));
    }
    out
}

#[test]
fn ext4_file_faults_follow_large_folio_rules_seen_on_the_reference_kernel() {
    use Region::{FilePrivate as FP, FileShared as FS};
    let cases: &[(u32, Region, &[&str], &[&str])] = &[
        (8, FS, &["r7"], &["XXXXXXXX"]),
        (8, FS, &["f4-8", "r4"], &["........", "....X..."]),
        (8, FS, &["f2-4", "r7"], &["........", ".......X"]),
        (
            8,
            FS,
            &["r0", "d5-6", "r5"],
            &["XXXXXXXX", "XXXXX.XX", "XXXXXXXX"],
        ),
        (8, FS, &["w6"], &["XXXXXXXX"]),
        (
            8,
            FS,
            &["r0", "d5-7", "w5"],
            &["XXXXXXXX", "XXXXX..X", "XXXXXX.X"],
        ),
        (8, FS, &["f4-8", "r0"], &["........", "X......."]),
        (
            8,
            FS,
            &["r0", "d0-8", "f4-8", "r5"],
            &["XXXXXXXX", "........", "........", "....XXXX"],
        ),
        // finish_fault maps one page when any PTE of the folio is present: here page 0's.
        (
            8,
            FS,
            &["r0", "d0-1", "d5-6", "w5"],
            &["XXXXXXXX", ".XXXXXXX", ".XXXX.XX", ".XXXXXXX"],
        ),
        (8, FP, &["w3", "r1"], &["...X....", "XXXXXXXX"]),
        (
            8,
            FP,
            &["w1", "d0-8", "f4-8", "r5"],
            &[".X......", "........", "........", "....XXXX"],
        ),
        (9, FS, &["f4-9", "r8"], &[".........", "....XXXXX"]),
        (9, FS, &["f4-9", "r5"], &[".........", "....XXXXX"]),
        (
            9,
            FS,
            &["r0", "d0-9", "r8"],
            &["XXXXXXXXX", ".........", "XXXXXXXXX"],
        ),
        (12, FS, &["r10"], &["XXXXXXXXXXXX"]),
        (
            16,
            FS,
            &["f0-1", "r8"],
            &["................", "........X......."],
        ),
        (
            17,
            FS,
            &["r0", "r16"],
            &["XXXXXXXXXXXXXXXX.", "XXXXXXXXXXXXXXXXX"],
        ),
        (17, FS, &["r16"], &["................X"]),
        (24, FS, &["r20"], &["................XXXXXXXX"]),
        (24, FS, &["r3"], &["XXXXXXXXXXXXXXXX........"]),
        (32, FS, &["r20"], &["XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"]),
        (
            40,
            FS,
            &["r35"],
            &["................................XXXXXXXX"],
        ),
        (
            40,
            FS,
            &["r1"],
            &["XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX........"],
        ),
    ];
    for (pages, region, script, want) in cases {
        let got = presence_script(CaseFs::Ext4, *pages, *region, script);
        assert_eq!(&got, want, "{pages} pages, {region}, {script:?}");
    }
}

#[test]
fn tmpfs_file_faults_map_single_pages_and_fault_around() {
    use Region::FileShared as FS;
    let cases: &[(u32, &[&str], &[&str])] = &[
        (8, &["w6"], &["......X."]),
        (8, &["f4-8", "r7"], &["........", "....XXXX"]),
        (8, &["r7"], &["XXXXXXXX"]),
        (20, &["r3"], &["XXXXXXXXXXXXXXXX...."]),
    ];
    for (pages, script, want) in cases {
        let got = presence_script(CaseFs::Tmpfs, *pages, FS, script);
        assert_eq!(&got, want, "{pages} pages, {script:?}");
    }
}

#[test]
fn truncation_splits_the_straddling_folio() {
    let mut m = Model::with_case_fs(CaseConfig { pages: 8 }, &Profile::default(), CaseFs::Ext4);
    open(&mut m, 0, FileName::Data, rw(false));
    run(
        &mut m,
        0,
        OpKind::Ftruncate {
            fd: 0,
            len: 3 * 4096,
        },
    );
    // [0,8) became [0,2) + [2,3): a read of page 0 maps the first folio whole, and
    // fault-around (a page table now exists) maps page 2 as well.
    assert_eq!(load(&mut m, 0, Region::FileShared, 0), data(&[0x80]));
    let present: Vec<bool> = (0..8)
        .map(|p| page(&m, 0, Region::FileShared, p).present)
        .collect();
    assert_eq!(
        present,
        [true, true, true, false, false, false, false, false]
    );
}

#[test]
fn a_blocked_flock_takes_the_lock_when_the_holder_unlocks() {
    use crate::obs::{HeldLock, LockKind};
    use crate::op::{FlockOp, LockType};
    let flock = |fd, op, nonblock| OpKind::Flock { fd, op, nonblock };
    let mut m = model();
    open(&mut m, 0, FileName::A, rw(true));
    run(&mut m, 0, flock(0, FlockOp::Sh, true));
    let c = fork(&mut m, 0);
    open(&mut m, c, FileName::A, rw(false));
    assert_eq!(
        run(&mut m, c, flock(1, FlockOp::Ex, false)),
        Outcome::Blocked
    );
    assert_eq!(m.snapshot().task(c).unwrap().state, TaskState::Blocked);
    // The parent's unlock lets the child's exclusive lock in.
    assert_eq!(run(&mut m, 0, flock(0, FlockOp::Un, true)), Outcome::Ret(0));
    let s = m.snapshot();
    assert_eq!(s.task(c).unwrap().state, TaskState::Live);
    assert_eq!(
        s.locks,
        vec![HeldLock {
            inode: 0,
            kind: LockKind::Flock,
            ty: LockType::Wr,
            start: 0,
            end: None,
            pid: Some(c),
        }]
    );
    assert_eq!(
        run(&mut m, 0, flock(0, FlockOp::Sh, true)),
        Outcome::Err(Errno::EAGAIN)
    );
}

#[test]
fn a_blocked_flock_takes_the_lock_when_the_holders_last_fd_closes() {
    use crate::op::FlockOp;
    let flock = |fd, op, nonblock| OpKind::Flock { fd, op, nonblock };
    let mut m = model();
    let c = fork(&mut m, 0);
    open(&mut m, 0, FileName::A, rw(true));
    open(&mut m, c, FileName::A, rw(false));
    assert_eq!(run(&mut m, c, flock(0, FlockOp::Sh, true)), Outcome::Ret(0));
    assert_eq!(
        run(&mut m, 0, flock(0, FlockOp::Ex, false)),
        Outcome::Blocked
    );
    // The close drops the child's description, and with it its lock (fs/locks.c:
    // locks_remove_file): the parent's exclusive lock goes in at that step.
    assert_eq!(run(&mut m, c, OpKind::Close { fd: 0 }), Outcome::Ret(0));
    let s = m.snapshot();
    assert_eq!(s.task(0).unwrap().state, TaskState::Live);
    assert_eq!(s.locks.len(), 1);
    assert_eq!(s.locks[0].pid, Some(0));
}

fn sig_state(m: &Model, t: TaskId) -> crate::obs::SignalView {
    m.snapshot()
        .task(t)
        .expect("task")
        .signals
        .expect("signals")
}

fn sigset(sigs: &[Signal]) -> crate::obs::SigSet {
    crate::obs::SigSet(sigs.iter().fold(0, |a, s| a | crate::obs::SigSet::bit(s.0)))
}

fn sigaction(m: &mut Model, t: TaskId, sig: Signal, action: crate::op::SigAction) -> Outcome {
    run(
        m,
        t,
        OpKind::Sigaction {
            sig,
            action,
            flags: Default::default(),
        },
    )
}

fn block(m: &mut Model, t: TaskId, sigs: &[Signal]) -> Outcome {
    run(
        m,
        t,
        OpKind::Sigprocmask {
            how: crate::op::MaskHow::Block,
            set: sigs.to_vec(),
        },
    )
}

/// A pending signal taken at unblock is discarded when its default action is to ignore it
/// (SIGURG), or when the taker is a pid namespace init and the signal is not one the kernel
/// forces (SIGTERM); a fatal one kills an ordinary task.
#[test]
fn an_unblocked_signal_is_discarded_when_ignored_by_default_or_by_an_init() {
    use crate::op::{CloneFlags as F, MaskHow};
    let unblock = |m: &mut Model, t, sig| {
        let op = OpKind::Sigprocmask {
            how: MaskHow::Unblock,
            set: vec![sig],
        };
        run(m, t, op)
    };
    let mut m = model();
    block(&mut m, 0, &[Signal::SIGURG]);
    kill(&mut m, 0, 0, Signal::SIGURG);
    assert_eq!(sig_state(&m, 0).shared_pending, sigset(&[Signal::SIGURG]));
    assert_eq!(unblock(&mut m, 0, Signal::SIGURG), Outcome::Ret(0));
    assert_eq!(m.snapshot().task(0).unwrap().state, TaskState::Live);
    assert_eq!(sig_state(&m, 0).shared_pending, sigset(&[]));
    let init = clone_with(&mut m, 0, F::NEWPID);
    let plain = fork(&mut m, 0);
    for (t, taken) in [
        (init, Outcome::Ret(0)),
        (plain, Outcome::Killed(Signal::SIGTERM)),
    ] {
        block(&mut m, t, &[Signal::SIGTERM]);
        kill(&mut m, t, t, Signal::SIGTERM);
        assert_eq!(unblock(&mut m, t, Signal::SIGTERM), taken);
    }
    assert_eq!(m.snapshot().task(init).unwrap().state, TaskState::Live);
    assert_eq!(
        m.snapshot().task(plain).unwrap().state,
        TaskState::Zombie(ExitStatus::Signaled(Signal::SIGTERM))
    );
}

/// exit_group from a non-leader thread ends every thread of the group: the other threads
/// go at once (released), the leader stays as the group's zombie with the status.
#[test]
fn exit_group_from_a_thread_ends_every_thread() {
    use crate::op::CloneFlags as F;
    let mut m = model();
    let c = fork(&mut m, 0);
    let thread = F(F::VM.0 | F::SIGHAND.0 | F::THREAD.0);
    let a = clone_with(&mut m, c, thread);
    let b = clone_with(&mut m, c, thread);
    let exit = OpKind::Exit {
        code: 6,
        thread: false,
    };
    assert_eq!(run(&mut m, a, exit), Outcome::Exited);
    let s = m.snapshot();
    assert_eq!(
        s.task(c).map(|t| t.state),
        Some(TaskState::Zombie(ExitStatus::Exited(6)))
    );
    assert!(
        s.task(a).is_none() && s.task(b).is_none(),
        "threads released"
    );
    assert_eq!(s.task(0).map(|t| t.state), Some(TaskState::Live));
}

/// SIG_UNBLOCK takes the given signals out of the mask and leaves the others; SIG_SETMASK
/// replaces it.
#[test]
fn sigprocmask_unblock_removes_only_the_given_signals() {
    let mut m = model();
    block(
        &mut m,
        0,
        &[Signal::SIGUSR1, Signal::SIGUSR2, Signal::SIGHUP],
    );
    let mask = |m: &mut Model, how, set: &[Signal]| {
        let op = OpKind::Sigprocmask {
            how,
            set: set.to_vec(),
        };
        assert_eq!(run(m, 0, op), Outcome::Ret(0));
        sig_state(m, 0).blocked
    };
    use crate::op::MaskHow;
    assert_eq!(
        mask(
            &mut m,
            MaskHow::Unblock,
            &[Signal::SIGUSR1, Signal::SIGTERM]
        ),
        sigset(&[Signal::SIGHUP, Signal::SIGUSR2])
    );
    assert_eq!(
        mask(&mut m, MaskHow::SetMask, &[Signal::SIGTERM]),
        sigset(&[Signal::SIGTERM])
    );
}

#[test]
fn sigprocmask_leaves_sigkill_and_sigstop_out_of_the_mask() {
    let mut m = model();
    let all = [Signal::SIGKILL, Signal::SIGSTOP, Signal::SIGUSR1];
    assert_eq!(block(&mut m, 0, &all), Outcome::Ret(0));
    let s = m.snapshot();
    assert_eq!(
        s.task(0)
            .unwrap()
            .signals
            .as_ref()
            .unwrap()
            .blocked
            .signals(),
        vec![Signal::SIGUSR1]
    );
}

#[test]
fn a_fault_resets_an_ignored_or_blocked_fault_signal_in_the_shared_table() {
    use crate::op::{CloneEntry, CloneFlags as F, CloneOp, SigAction};
    let mut m = model();
    sigaction(&mut m, 0, Signal::SIGSEGV, SigAction::Ignore);
    let vm_sighand = F(F::VM.0 | F::SIGHAND.0);
    let c = run(
        &mut m,
        0,
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone,
            flags: vm_sighand,
            exit_signal: 17,
            args: Default::default(),
        }),
    );
    assert_eq!(c, Outcome::Child(1));
    block(&mut m, 1, &[Signal::SIGSEGV]);
    // Page 100 of a region is beyond its mapping: no VMA, SIGSEGV.
    assert_eq!(
        load(&mut m, 1, Region::AnonPrivate, 100),
        Outcome::Killed(Signal::SIGSEGV)
    );
    // t0 shares the table: SIGSEGV is back at SIG_DFL for it too.
    assert_eq!(sig_state(&m, 0).ignored, sigset(&[]));
    // A caught fault signal returns to the fault forever: the task never comes back.
    sigaction(&mut m, 0, Signal::SIGBUS, SigAction::Handler);
    sigaction(&mut m, 0, Signal::SIGSEGV, SigAction::Handler);
    assert_eq!(load(&mut m, 0, Region::AnonPrivate, 100), Outcome::Blocked);
}

/// exec in a task that shares its handler table with another live process first gives it a
/// table of its own (de_thread → unshare_sighand), so flushing its handlers leaves the other
/// process's handler in place.
#[test]
fn exec_flushes_handlers_in_a_table_of_its_own() {
    use crate::op::{CloneFlags as F, SigAction};
    let mut m = model();
    sigaction(&mut m, 0, Signal::SIGUSR1, SigAction::Handler);
    sigaction(&mut m, 0, Signal::SIGUSR2, SigAction::Ignore);
    let c = clone_with(&mut m, 0, F(F::VM.0 | F::SIGHAND.0));
    assert_eq!(run(&mut m, c, OpKind::Exec), Outcome::Ret(0));
    let (parent, child) = (sig_state(&m, 0), sig_state(&m, c));
    assert_eq!(parent.caught, sigset(&[Signal::SIGUSR1]));
    assert_eq!(child.caught, sigset(&[]));
    assert_eq!(
        (parent.ignored, child.ignored),
        (sigset(&[Signal::SIGUSR2]), sigset(&[Signal::SIGUSR2]))
    );
    // The tables are apart now: a handler the child sets is its own.
    sigaction(&mut m, c, Signal::SIGUSR2, SigAction::Handler);
    assert_eq!(sig_state(&m, 0).ignored, sigset(&[Signal::SIGUSR2]));
}

/// A thread that execs takes over its leader's place among its parent's children: the
/// parent's other children stay its children, and it reaps them and the new leader.
#[test]
fn exec_in_a_thread_takes_its_leaders_place_among_the_parents_children() {
    use crate::op::CloneFlags as F;
    let mut m = model();
    let first = fork(&mut m, 0);
    let second = fork(&mut m, 0);
    let th = clone_with(&mut m, second, F(F::VM.0 | F::SIGHAND.0 | F::THREAD.0));
    assert_eq!(run(&mut m, th, OpKind::Exec), Outcome::Ret(0));
    for (t, code) in [(first, 4), (th, 5)] {
        let exit = OpKind::Exit {
            code,
            thread: false,
        };
        assert_eq!(run(&mut m, t, exit), Outcome::Exited);
        let wait = OpKind::Wait {
            target: WaitTarget::Task(t),
            options: Default::default(),
        };
        assert_eq!(
            run(&mut m, 0, wait),
            Outcome::Reaped {
                task: t,
                status: ExitStatus::Exited(code as u8)
            }
        );
    }
}

/// A thread that execs takes over its group's shared pending signals (kill(2) of any of
/// the group's tids makes them pending for the group; they survive de_thread).
#[test]
fn exec_in_a_thread_keeps_the_groups_pending_signals() {
    use crate::op::CloneFlags as F;
    let mut m = model();
    block(&mut m, 0, &[Signal::SIGUSR1, Signal::SIGUSR2]);
    let th = clone_with(&mut m, 0, F(F::VM.0 | F::SIGHAND.0 | F::THREAD.0));
    kill(&mut m, 0, 0, Signal::SIGUSR1);
    kill(&mut m, 0, th, Signal::SIGUSR2);
    let both = sigset(&[Signal::SIGUSR1, Signal::SIGUSR2]);
    assert_eq!(sig_state(&m, 0).shared_pending, both);
    assert_eq!(run(&mut m, th, OpKind::Exec), Outcome::Ret(0));
    let s = sig_state(&m, th);
    assert_eq!((s.shared_pending, s.sigpending()), (both, both));
}

/// A signal sent to one thread (SIGPIPE to the writer) that this thread blocks stays pending
/// for it: no other thread of the group takes it (complete_signal looks for another thread
/// only for a signal sent to the whole group), so a fatal default action kills nobody.
#[test]
fn a_thread_directed_signal_the_thread_blocks_waits_for_it_alone() {
    use crate::op::CloneFlags as F;
    let mut m = model();
    pipe(&mut m, 0);
    run(&mut m, 0, OpKind::Close { fd: 0 });
    let th = clone_with(
        &mut m,
        0,
        F(F::VM.0 | F::SIGHAND.0 | F::THREAD.0 | F::FILES.0),
    );
    block(&mut m, th, &[Signal::SIGPIPE]);
    let write = OpKind::Write {
        fd: 1,
        data: b"x".to_vec(),
    };
    assert_eq!(run(&mut m, th, write), Outcome::Err(Errno::EPIPE));
    let s = m.snapshot();
    assert_eq!(s.task(0).unwrap().state, TaskState::Live);
    assert_eq!(s.task(th).unwrap().state, TaskState::Live);
    assert_eq!(sig_state(&m, th).pending, sigset(&[Signal::SIGPIPE]));
    assert_eq!(sig_state(&m, 0).pending, sigset(&[]));
}

#[test]
fn a_blocked_or_caught_sigpipe_lets_the_writer_see_epipe() {
    use crate::op::SigAction;
    let mut m = model();
    pipe(&mut m, 0);
    run(&mut m, 0, OpKind::Close { fd: 0 });
    let w = |m: &mut Model| {
        run(
            m,
            0,
            OpKind::Write {
                fd: 1,
                data: b"x".to_vec(),
            },
        )
    };
    block(&mut m, 0, &[Signal::SIGPIPE]);
    assert_eq!(w(&mut m), Outcome::Err(Errno::EPIPE));
    // SIGPIPE goes to the writing thread: private, not shared, pending.
    assert_eq!(sig_state(&m, 0).pending, sigset(&[Signal::SIGPIPE]));
    sigaction(&mut m, 0, Signal::SIGPIPE, SigAction::Handler);
    run(
        &mut m,
        0,
        OpKind::Sigprocmask {
            how: crate::op::MaskHow::SetMask,
            set: vec![],
        },
    );
    assert_eq!(sig_state(&m, 0).pending, sigset(&[]));
    assert_eq!(w(&mut m), Outcome::Err(Errno::EPIPE));
    sigaction(&mut m, 0, Signal::SIGPIPE, SigAction::Default);
    assert_eq!(w(&mut m), Outcome::Killed(Signal::SIGPIPE));
}

#[test]
fn exit_signals_reach_the_parent_unless_sigchld_is_ignored() {
    use crate::op::SigAction;
    let mut m = model();
    block(&mut m, 0, &[Signal::SIGCHLD]);
    let c = fork(&mut m, 0);
    run(
        &mut m,
        c,
        OpKind::Exit {
            code: 1,
            thread: false,
        },
    );
    assert_eq!(sig_state(&m, 0).shared_pending, sigset(&[Signal::SIGCHLD]));
    sigaction(&mut m, 0, Signal::SIGCHLD, SigAction::Ignore);
    assert_eq!(sig_state(&m, 0).shared_pending, sigset(&[]));
    let c = fork(&mut m, 0);
    run(
        &mut m,
        c,
        OpKind::Exit {
            code: 1,
            thread: false,
        },
    );
    // Released at once, and nothing is sent (do_notify_parent: sig = 0).
    assert!(m.snapshot().task(c).is_none());
    assert_eq!(sig_state(&m, 0).shared_pending, sigset(&[]));
}

#[test]
fn a_vfork_parent_takes_caught_signals_only_once_it_resumes() {
    use crate::op::SigAction;
    let mut m = model();
    sigaction(&mut m, 0, Signal::SIGUSR1, SigAction::Handler);
    let c = vfork(&mut m, 0);
    kill(&mut m, c, 0, Signal::SIGUSR1);
    assert_eq!(sig_state(&m, 0).shared_pending, sigset(&[Signal::SIGUSR1]));
    run(
        &mut m,
        c,
        OpKind::Exit {
            code: 0,
            thread: false,
        },
    );
    assert_eq!(sig_state(&m, 0).shared_pending, sigset(&[]));
    // A fatal one kills it at once (the vfork wait is killable).
    let c = vfork(&mut m, 0);
    kill(&mut m, c, 0, Signal::SIGTERM);
    assert_eq!(
        m.snapshot().task(0).unwrap().state,
        TaskState::Zombie(ExitStatus::Signaled(Signal::SIGTERM))
    );
}

#[test]
fn standard_signals_pend_once_and_sigcont_flushes_stop_signals() {
    let mut m = model();
    block(
        &mut m,
        0,
        &[Signal::SIGUSR1, Signal::SIGTSTP, Signal::SIGCONT],
    );
    for sig in [Signal::SIGUSR1, Signal::SIGUSR1, Signal::SIGTSTP] {
        kill(&mut m, 0, 0, sig);
    }
    assert_eq!(
        sig_state(&m, 0).shared_pending,
        sigset(&[Signal::SIGUSR1, Signal::SIGTSTP])
    );
    kill(&mut m, 0, 0, Signal::SIGCONT);
    assert_eq!(
        sig_state(&m, 0).shared_pending,
        sigset(&[Signal::SIGUSR1, Signal::SIGCONT])
    );
}

#[test]
fn new_time_namespace_is_entered_only_without_clone_vm() {
    use crate::op::{CloneEntry, CloneFlags as F, CloneOp};
    let mut m = model();
    let clone3 = |flags: F| {
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone3,
            flags,
            exit_signal: 17,
            args: Default::default(),
        })
    };
    let a = run(&mut m, 0, clone3(F(F::NEWTIME.0 | F::VM.0)));
    let b = run(&mut m, 0, clone3(F::NEWTIME));
    assert_eq!((a, b), (Outcome::Child(1), Outcome::Child(2)));
    let grandchild = fork(&mut m, 1);
    let s = m.snapshot();
    let time = |t: TaskId| s.task(t).unwrap().namespaces.unwrap().time;
    assert_eq!(time(1), time(0), "CLONE_VM: still the caller's");
    assert_ne!(time(2), time(0));
    assert_ne!(time(grandchild), time(0), "its children enter the new one");
    assert_ne!(time(grandchild), time(2));
}

#[test]
fn sethostname_needs_capability_over_the_owner() {
    use crate::op::{CloneEntry, CloneFlags as F, CloneOp, HostName};
    let unprivileged = Profile {
        uid: 1000,
        cap_sys_admin: false,
        ..Profile::default()
    };
    let mut m = Model::new(CaseConfig { pages: 1 }, &Profile::default());
    let clone = |flags: F| {
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone,
            flags,
            exit_signal: 17,
            args: Default::default(),
        })
    };
    // Root makes a UTS namespace owned by the lab's user namespace; a child in a new user
    // namespace is not capable over it.
    assert_eq!(run(&mut m, 0, clone(F::NEWUTS)), Outcome::Child(1));
    assert_eq!(run(&mut m, 1, clone(F::NEWUSER)), Outcome::Child(2));
    let set = |name| OpKind::Sethostname { name };
    assert_eq!(run(&mut m, 1, set(HostName::Alpha)), Outcome::Ret(0));
    assert_eq!(
        run(&mut m, 2, set(HostName::Beta)),
        Outcome::Err(Errno::EPERM)
    );
    assert_eq!(run(&mut m, 2, OpKind::Uname), data(b"alpha"));
    let mut u = Model::new(CaseConfig { pages: 1 }, &unprivileged);
    let both = F(F::NEWUSER.0 | F::NEWUTS.0);
    assert_eq!(run(&mut u, 0, clone(both)), Outcome::Child(1));
    assert_eq!(run(&mut u, 1, set(HostName::Beta)), Outcome::Ret(0));
}

/// A model whose `data` file is one page long, so page 3 of the file regions is beyond EOF;
/// then `t0` shares its handler table with a CLONE_VM|CLONE_SIGHAND child `t1`.
fn short_data_file_and_a_sighand_sharer() -> Model {
    use crate::op::{CloneEntry, CloneFlags as F, CloneOp};
    let mut m = model();
    open(&mut m, 0, FileName::Data, rw(false));
    assert_eq!(
        run(&mut m, 0, OpKind::Ftruncate { fd: 0, len: 4096 }),
        Outcome::Ret(0)
    );
    let c = run(
        &mut m,
        0,
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone,
            flags: F(F::VM.0 | F::SIGHAND.0),
            exit_signal: 17,
            args: Default::default(),
        }),
    );
    assert_eq!(c, Outcome::Child(1));
    m
}

#[test]
fn a_caught_sigbus_returns_to_the_fault_forever() {
    use crate::op::SigAction;
    let mut m = short_data_file_and_a_sighand_sharer();
    sigaction(&mut m, 0, Signal::SIGBUS, SigAction::Handler);
    assert_eq!(
        load(&mut m, 1, Region::FileShared, 3),
        Outcome::Blocked,
        "the handler returns to the faulting load"
    );
    // Nothing was reset: the handler is still installed for the sharer.
    assert_eq!(sig_state(&m, 0).caught, sigset(&[Signal::SIGBUS]));
    assert_eq!(m.snapshot().task(1).unwrap().state, TaskState::Blocked);
}

#[test]
fn a_blocked_sigbus_is_unblocked_and_reset_and_kills() {
    use crate::op::SigAction;
    let mut m = short_data_file_and_a_sighand_sharer();
    sigaction(&mut m, 0, Signal::SIGBUS, SigAction::Handler);
    block(&mut m, 1, &[Signal::SIGBUS]);
    block(&mut m, 0, &[Signal::SIGBUS]);
    assert_eq!(
        load(&mut m, 1, Region::FilePrivate, 3),
        Outcome::Killed(Signal::SIGBUS)
    );
    // The shared table is back at SIG_DFL; t1's mask was unblocked but t0's stays; the
    // whole thread group of t1 (itself) is gone, t0 lives.
    let s = sig_state(&m, 0);
    assert_eq!(s.caught, sigset(&[]));
    assert_eq!(s.blocked, sigset(&[Signal::SIGBUS]));
    assert!(matches!(
        m.snapshot().task(1).map(|v| v.state),
        Some(TaskState::Zombie(ExitStatus::Signaled(Signal::SIGBUS)))
    ));
}

#[test]
fn an_ignored_sigbus_is_reset_and_kills() {
    use crate::op::SigAction;
    let mut m = short_data_file_and_a_sighand_sharer();
    sigaction(&mut m, 0, Signal::SIGBUS, SigAction::Ignore);
    assert_eq!(sig_state(&m, 1).ignored, sigset(&[Signal::SIGBUS]));
    assert_eq!(
        load(&mut m, 1, Region::FileShared, 3),
        Outcome::Killed(Signal::SIGBUS)
    );
    assert_eq!(sig_state(&m, 0).ignored, sigset(&[]));
    // Within EOF the file pages still load.
    assert_eq!(load(&mut m, 0, Region::FileShared, 0), data(&[0x80]));
}

/// A thread's view names its thread group's leader; the leader and a process name none.
#[test]
fn a_thread_names_its_leader_and_a_process_names_none() {
    use crate::op::{CloneEntry, CloneFlags as F, CloneOp};
    let mut m = model();
    let thread = F(F::THREAD.0 | F::VM.0 | F::SIGHAND.0);
    let c = run(
        &mut m,
        0,
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone,
            flags: thread,
            exit_signal: 0,
            args: Default::default(),
        }),
    );
    assert_eq!(c, Outcome::Child(1));
    assert_eq!(fork(&mut m, 0), 2);
    let s = m.snapshot();
    let of = |t| s.task(t).unwrap().thread_of;
    assert_eq!((of(0), of(1), of(2)), (None, Some(0), None));
}

/// Found by 100k generated cases (seed 1405 of the acceptance run): a task asleep in
/// `flock(A, LOCK_EX)` behind the lock of description B is not woken when another task
/// takes a shared lock through A (the same description): that lock stays until the sleeper
/// is woken by B's unlock, and its retry then converts A's lock first (dropping it) before it
/// meets B's conflict again.
#[test]
fn a_flock_waiter_sleeps_until_the_lock_it_is_blocked_on_goes() {
    use crate::op::{FlockOp, LockType};
    let flock = |fd, op, nonblock| OpKind::Flock { fd, op, nonblock };
    let mut m = model();
    open(&mut m, 0, FileName::A, rw(true));
    open(&mut m, 0, FileName::A, rw(false));
    let c = fork(&mut m, 0);
    assert_eq!(run(&mut m, 0, flock(1, FlockOp::Sh, true)), Outcome::Ret(0));
    assert_eq!(
        run(&mut m, c, flock(0, FlockOp::Ex, false)),
        Outcome::Blocked
    );
    assert_eq!(run(&mut m, 0, flock(0, FlockOp::Sh, true)), Outcome::Ret(0));
    let types = |m: &Model| {
        m.snapshot()
            .locks
            .iter()
            .map(|l| (l.ty, l.pid))
            .collect::<Vec<_>>()
    };
    // Both descriptions hold a shared lock; the child still sleeps.
    assert_eq!(
        types(&m),
        vec![(LockType::Rd, Some(0)), (LockType::Rd, Some(0))]
    );
    assert_eq!(m.snapshot().task(c).unwrap().state, TaskState::Blocked);
    // Another description's lock coming and going does not wake it either.
    open(&mut m, 0, FileName::A, rw(false));
    assert_eq!(run(&mut m, 0, flock(2, FlockOp::Sh, true)), Outcome::Ret(0));
    assert_eq!(run(&mut m, 0, flock(2, FlockOp::Un, true)), Outcome::Ret(0));
    assert_eq!(types(&m).len(), 2);
    // Converting B's lock to exclusive fails (A's shared lock conflicts), but the
    // conversion drops B's lock first, which wakes the sleeper: its retry converts A's
    // lock (its own description's) and, with B's gone, gets it.
    assert_eq!(
        run(&mut m, 0, flock(1, FlockOp::Ex, true)),
        Outcome::Err(Errno::EAGAIN)
    );
    assert_eq!(types(&m), vec![(LockType::Wr, Some(c))]);
    assert_eq!(m.snapshot().task(c).unwrap().state, TaskState::Live);
}

/// CLONE_INTO_CGROUP needs the `cgroup` field, which only a VER2 (88-byte) `clone_args`
/// has: a smaller size is EINVAL, the full size is not.
#[test]
fn clone_into_cgroup_needs_the_ver2_size() {
    use crate::op::{Clone3Args, CloneEntry, CloneFlags as F, CloneOp};
    let op = |size| {
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone3,
            flags: F::INTO_CGROUP,
            exit_signal: 17,
            args: Clone3Args {
                size,
                ..Clone3Args::default()
            },
        })
    };
    for size in [64, 80] {
        assert_eq!(
            run(&mut model(), 0, op(size)),
            Outcome::Err(Errno::EINVAL),
            "{size}"
        );
    }
    assert_ne!(run(&mut model(), 0, op(88)), Outcome::Err(Errno::EINVAL));
    // A cgroup fd above INT_MAX is EINVAL once the size covers the field.
    let big = |size| {
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone3,
            flags: F::INTO_CGROUP,
            exit_signal: 17,
            args: Clone3Args {
                size,
                cgroup_big: true,
                ..Clone3Args::default()
            },
        })
    };
    assert_eq!(run(&mut model(), 0, big(88)), Outcome::Err(Errno::EINVAL));
}

/// A CLONE_SYSVSEM child shares its creator's undo list, which the clone allocates: the
/// two compare equal and differ from a task that never had one (kcmp KCMP_SYSVSEM compares
/// the list pointers, NULL for a task without one).
#[test]
fn clone_sysvsem_allocates_the_undo_list_it_shares() {
    use crate::op::{CloneEntry, CloneFlags as F, CloneOp};
    let mut m = model();
    let plain = fork(&mut m, 0);
    let c = run(
        &mut m,
        0,
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone,
            flags: F::SYSVSEM,
            exit_signal: 17,
            args: Default::default(),
        }),
    );
    let Outcome::Child(c) = c else {
        panic!("{c:?}")
    };
    let s = m.snapshot();
    let sem = |t| s.task(t).unwrap().sharing.unwrap().sysvsem;
    assert_eq!(sem(0), sem(c));
    assert_ne!(sem(0), sem(plain));
}

/// The snapshot shows each task's own fs context: its umask and cwd.
#[test]
fn the_snapshot_shows_the_umask_and_cwd_a_task_set() {
    use crate::op::CaseDir;
    let mut m = model();
    let c = fork(&mut m, 0);
    assert_eq!(
        run(&mut m, c, OpKind::Umask { mask: 0o77 }),
        Outcome::Ret(0o22)
    );
    let s = m.snapshot();
    let fs = |t| s.task(t).unwrap().fs_context.unwrap();
    assert_eq!((fs(0).umask, fs(c).umask), (0o22, 0o77));
    assert_eq!(fs(c).cwd, CaseDir::Case);
}

/// chdir to a name that does not exist (ENOENT) or to a regular file (ENOTDIR) leaves the
/// cwd; a successful one moves the cwd of every task sharing the `fs_struct` (CLONE_FS)
/// and of no other.
#[test]
fn chdir_errors_leave_the_cwd_and_success_moves_the_shared_one() {
    use crate::op::{CaseDir, CloneFlags as F};
    let mut m = model();
    let forked = fork(&mut m, 0);
    let shared = clone_with(&mut m, 0, F::FS);
    let chdir = |m: &mut Model, t, dir| run(m, t, OpKind::Chdir { dir });
    let cwd = |m: &Model, t| m.snapshot().task(t).unwrap().fs_context.unwrap().cwd;
    assert_eq!(chdir(&mut m, 0, CaseDir::D), Outcome::Ret(0));
    assert_eq!(
        chdir(&mut m, 0, CaseDir::Missing),
        Outcome::Err(Errno::ENOENT)
    );
    assert_eq!(
        chdir(&mut m, shared, CaseDir::Data),
        Outcome::Err(Errno::ENOTDIR)
    );
    assert_eq!(
        [cwd(&m, 0), cwd(&m, shared), cwd(&m, forked)],
        [CaseDir::D, CaseDir::D, CaseDir::Case]
    );
    assert_eq!(chdir(&mut m, shared, CaseDir::DE), Outcome::Ret(0));
    assert_eq!(chdir(&mut m, forked, CaseDir::Case), Outcome::Ret(0));
    assert_eq!(
        [cwd(&m, 0), cwd(&m, shared), cwd(&m, forked)],
        [CaseDir::DE, CaseDir::DE, CaseDir::Case]
    );
}

/// A write puts the pages it wrote (and only those) in the page cache: after a truncation
/// empties the cache, a pwrite into the middle of page 3 caches page 3, which the read
/// fault on page 0 then maps by fault-around, while the holes before it stay unmapped.
/// A write that ends on a page's last byte caches no page after it.
#[test]
fn a_write_caches_the_pages_it_wrote_for_fault_around() {
    let mut m = model();
    let Outcome::Ret(fd) = open(&mut m, 0, FileName::Data, rw(false)) else {
        panic!("open data")
    };
    let fd = fd as crate::op::Fd;
    assert_eq!(
        run(&mut m, 0, OpKind::Ftruncate { fd, len: 0 }),
        Outcome::Ret(0)
    );
    let w = OpKind::Pwrite {
        fd,
        data: vec![7],
        offset: 3 * 4096 + 10,
    };
    assert_eq!(run(&mut m, 0, w), Outcome::Ret(1));
    // Two bytes that end on the last byte of page 1 cache page 1, not page 2.
    let w = OpKind::Pwrite {
        fd,
        data: vec![7, 7],
        offset: 4096 + 4094,
    };
    assert_eq!(run(&mut m, 0, w), Outcome::Ret(2));
    // Two bytes across the end of page 4 cache pages 4 and 5.
    let w = OpKind::Pwrite {
        fd,
        data: vec![8, 8],
        offset: 5 * 4096 - 1,
    };
    assert_eq!(run(&mut m, 0, w), Outcome::Ret(2));
    load(&mut m, 0, Region::FilePrivate, 0);
    let present: Vec<bool> = (0..8)
        .map(|p| page(&m, 0, Region::FilePrivate, p).present)
        .collect();
    assert_eq!(present, [true, true, false, true, true, true, false, false]);
    // A mapped page-cache page shows the file's content.
    assert_eq!(page(&m, 0, Region::FilePrivate, 5).value, Some(8));
    assert_eq!(page(&m, 0, Region::FilePrivate, 0).value, Some(0));
}

/// Ignoring a signal discards it from the caller's pending sets, blocked or not; a handler
/// keeps it pending.
#[test]
fn sig_ign_discards_a_pending_signal_and_a_handler_keeps_it() {
    use crate::op::SigAction;
    let mut m = model();
    block(&mut m, 0, &[Signal::SIGUSR1, Signal::SIGUSR2]);
    kill(&mut m, 0, 0, Signal::SIGUSR1);
    kill(&mut m, 0, 0, Signal::SIGUSR2);
    let both = sigset(&[Signal::SIGUSR1, Signal::SIGUSR2]);
    assert_eq!(sig_state(&m, 0).shared_pending, both);
    sigaction(&mut m, 0, Signal::SIGUSR2, SigAction::Handler);
    assert_eq!(sig_state(&m, 0).shared_pending, both);
    sigaction(&mut m, 0, Signal::SIGUSR1, SigAction::Ignore);
    assert_eq!(sig_state(&m, 0).shared_pending, sigset(&[Signal::SIGUSR2]));
}

/// A pid namespace init takes no signal its default action would end it with from inside
/// its namespace (SIGNAL_UNKILLABLE); its child is not protected.
#[test]
fn a_namespace_init_is_not_killed_by_a_default_action_from_inside() {
    use crate::op::{CloneEntry, CloneFlags as F, CloneOp};
    let mut m = model();
    let init = run(
        &mut m,
        0,
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone,
            flags: F(F::NEWPID.0 | F::NEWUSER.0),
            exit_signal: 17,
            args: Default::default(),
        }),
    );
    let Outcome::Child(init) = init else {
        panic!("{init:?}")
    };
    let child = fork(&mut m, init);
    assert_eq!(kill(&mut m, child, init, Signal::SIGTERM), Outcome::Ret(0));
    assert_eq!(m.snapshot().task(init).unwrap().state, TaskState::Live);
    assert_eq!(kill(&mut m, init, child, Signal::SIGTERM), Outcome::Ret(0));
    assert_ne!(m.snapshot().task(child).unwrap().state, TaskState::Live);
}

/// copy_struct_from_user: bytes of `clone_args` past the 88 this kernel knows must be zero;
/// at or below 88 there are none to check.
#[test]
fn clone3_tail_bytes_count_only_past_the_known_size() {
    use crate::op::{Clone3Args, CloneEntry, CloneFlags as F, CloneOp};
    let op = |size| CloneOp {
        entry: CloneEntry::Clone3,
        flags: F::VM,
        exit_signal: 17,
        args: Clone3Args {
            size,
            tail_nonzero: true,
            ..Clone3Args::default()
        },
    };
    assert!(clone::decode(&op(80)).is_ok());
    assert!(clone::decode(&op(88)).is_ok());
    assert_eq!(clone::decode(&op(96)).err(), Some(Errno::E2BIG));
}

/// `set_tid` (bytes 64..72) and `set_tid_size` (72..80) sit past `CLONE_ARGS_SIZE_VER0`: a
/// 64-byte `clone_args` leaves both unread (zero), so even an invalid pair passes; at 72 the
/// pointer is read without its size (EINVAL); from 80 both are read and checked
/// (kernel/fork.c: copy_clone_args_from_user).
#[test]
fn clone3_reads_set_tid_as_far_as_its_size_reaches() {
    use crate::op::{Clone3Args, CloneEntry, CloneFlags as F, CloneOp, SetTid};
    let op = |size| CloneOp {
        entry: CloneEntry::Clone3,
        flags: F::VM,
        exit_signal: 17,
        args: Clone3Args {
            size,
            set_tid: SetTid::TooMany,
            ..Clone3Args::default()
        },
    };
    assert_eq!(clone::decode(&op(64)).map(|d| d.set_tid), Ok(SetTid::None));
    for size in [65, 72, 73, 80, 88] {
        assert_eq!(
            clone::decode(&op(size)).err(),
            Some(Errno::EINVAL),
            "{size}"
        );
    }
    let with = |size, set_tid| CloneOp {
        args: Clone3Args {
            set_tid,
            ..op(size).args
        },
        ..op(size)
    };
    let read = |size, set_tid| clone::decode(&with(size, set_tid)).map(|d| d.set_tid);
    assert_eq!(read(72, SetTid::NullWithSize), Ok(SetTid::None));
    assert_eq!(read(73, SetTid::NullWithSize), Err(Errno::EINVAL));
    assert_eq!(read(72, SetTid::Pid1), Err(Errno::EINVAL));
    assert_eq!(read(80, SetTid::Pid1), Ok(SetTid::Pid1));
    assert_eq!(read(64, SetTid::Pid1), Ok(SetTid::None));
}

/// Without CAP_SYS_ADMIN a clone that makes no namespace needs no privilege; one that makes
/// a namespace is EPERM.
#[test]
fn only_namespace_flags_need_cap_sys_admin() {
    use crate::op::{CloneEntry, CloneFlags as F, CloneOp};
    let profile = Profile {
        uid: 1000,
        cap_sys_admin: false,
        userns: false,
        ..Profile::default()
    };
    let mut m = Model::new(CaseConfig { pages: 8 }, &profile);
    let clone = |flags| {
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone,
            flags,
            exit_signal: 17,
            args: Default::default(),
        })
    };
    assert_eq!(run(&mut m, 0, clone(F::FILES)), Outcome::Child(1));
    // Every namespace copy_namespaces makes, the cgroup and time ones included (clone3:
    // clone's low byte is the exit signal, where CLONE_NEWTIME's bit lies).
    let clone3 = |flags| {
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone3,
            flags,
            exit_signal: 17,
            args: Default::default(),
        })
    };
    for ns in [
        F::NEWNS,
        F::NEWUTS,
        F::NEWIPC,
        F::NEWPID,
        F::NEWNET,
        F::NEWCGROUP,
        F::NEWTIME,
    ] {
        assert_eq!(
            run(&mut m, 0, clone3(ns)),
            Outcome::Err(Errno::EPERM),
            "{ns:?}"
        );
    }
}

/// clone3 reads the fields its `size` covers: `set_tid` and `set_tid_size` come with
/// CLONE_ARGS_SIZE_VER1 (80 bytes), so a 64-byte struct has none, whatever lies past it
/// (kernel/fork.c copy_clone_args_from_user).
#[test]
fn clone3_reads_set_tid_only_when_its_size_covers_it() {
    use crate::op::{Clone3Args, CloneEntry, CloneFlags, CloneOp, SetTid};
    let clone3 = |size| {
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone3,
            flags: CloneFlags::EMPTY,
            exit_signal: 17,
            args: Clone3Args {
                size,
                set_tid: SetTid::TooMany,
                ..Clone3Args::default()
            },
        })
    };
    let mut m = model();
    assert_eq!(run(&mut m, 0, clone3(64)), Outcome::Child(1));
    assert_eq!(run(&mut m, 0, clone3(88)), Outcome::Err(Errno::EINVAL));
}

/// An exec leaves an fd table that no other task shares as it is (fs/exec.c
/// `unshare_files` copies only a shared table): the POSIX locks it owns stay its own, so
/// the exec'd process can still unlock them.
#[test]
fn an_exec_keeps_an_unshared_fd_table_and_the_locks_it_owns() {
    use crate::op::LockType;
    let (mut m, t1) = data_open_then_fork();
    assert_eq!(run(&mut m, t1, set_lk(LockType::Rd, 0, 1)), Outcome::Ret(0));
    assert_eq!(run(&mut m, t1, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(run(&mut m, t1, set_lk(LockType::Un, 0, 1)), Outcome::Ret(0));
    assert_eq!(
        run(&mut m, 0, get_lk(LockType::Wr, 0, 1)),
        Outcome::Lock(crate::obs::LockReport::Unlocked),
        "t1's exec must keep the lock its fd table owns, so its unlock releases it"
    );
}

/// A case where t0 opened `data` (fd 0) and forked t1, which has its own fd table.
fn data_open_then_fork() -> (Model, TaskId) {
    let mut m = model();
    let open = OpKind::Open {
        file: FileName::Data,
        flags: OpenFlags::default(),
    };
    assert_eq!(run(&mut m, 0, open), Outcome::Ret(0));
    let t1 = fork(&mut m, 0);
    (m, t1)
}

fn flock_arg(ty: crate::op::LockType, start: i64, len: i64) -> crate::op::FlockArg {
    crate::op::FlockArg {
        ty,
        start,
        len,
        pid: 0,
    }
}

/// `fcntl(0, F_SETLK, ...)`.
fn set_lk(ty: crate::op::LockType, start: i64, len: i64) -> OpKind {
    OpKind::Fcntl {
        fd: 0,
        cmd: FcntlCmd::SetLk {
            lock: flock_arg(ty, start, len),
        },
    }
}

/// `fcntl(0, F_GETLK, ...)`.
fn get_lk(ty: crate::op::LockType, start: i64, len: i64) -> OpKind {
    OpKind::Fcntl {
        fd: 0,
        cmd: FcntlCmd::GetLk {
            lock: flock_arg(ty, start, len),
        },
    }
}

/// A case where t0 opened `data` for reading and writing (fd 0) and forked t1.
fn data_open_rw_then_fork() -> (Model, TaskId) {
    let mut m = model();
    assert_eq!(open(&mut m, 0, FileName::Data, rw(false)), Outcome::Ret(0));
    let t1 = fork(&mut m, 0);
    (m, t1)
}

/// Record locks conflict only where their ranges share a byte: ranges that touch end to
/// end, on either side, are both granted; one byte in common is EAGAIN (fs/locks.c
/// posix_locks_conflict → locks_overlap).
#[test]
fn record_locks_conflict_only_over_a_common_byte() {
    use crate::op::LockType;
    let (mut m, t1) = data_open_rw_then_fork();
    assert_eq!(run(&mut m, 0, set_lk(LockType::Wr, 4, 2)), Outcome::Ret(0));
    assert_eq!(run(&mut m, t1, set_lk(LockType::Wr, 6, 2)), Outcome::Ret(0));
    assert_eq!(run(&mut m, t1, set_lk(LockType::Wr, 2, 2)), Outcome::Ret(0));
    for (start, len) in [(5, 1), (3, 2), (5, 3), (0, 0)] {
        assert_eq!(
            run(&mut m, t1, set_lk(LockType::Wr, start, len)),
            Outcome::Err(Errno::EAGAIN),
            "{start}+{len} takes a byte of 4..=5"
        );
    }
    assert_eq!(
        run(&mut m, t1, get_lk(LockType::Wr, 8, 0)),
        Outcome::Lock(crate::obs::LockReport::Unlocked)
    );
}

/// The snapshot lists a lock to the end of the file without an end, and a bounded one with
/// its last byte.
#[test]
fn a_lock_to_the_end_of_the_file_is_listed_without_an_end() {
    use crate::op::LockType;
    let (mut m, _) = data_open_rw_then_fork();
    assert_eq!(run(&mut m, 0, set_lk(LockType::Rd, 2, 3)), Outcome::Ret(0));
    assert_eq!(run(&mut m, 0, set_lk(LockType::Wr, 9, 0)), Outcome::Ret(0));
    let ends: Vec<(i64, Option<i64>)> = m
        .snapshot()
        .locks
        .iter()
        .map(|l| (l.start, l.end))
        .collect();
    assert_eq!(ends, [(2, Some(4)), (9, None)]);
}

/// A process's POSIX locks go when it exits (its fd table goes: close_files closes every fd),
/// though the description they were set through lives on in the parent: the parent may
/// then take the range.
#[test]
fn record_locks_go_with_the_fd_table_that_set_them() {
    use crate::op::LockType;
    let (mut m, t1) = data_open_rw_then_fork();
    assert_eq!(run(&mut m, t1, set_lk(LockType::Wr, 0, 2)), Outcome::Ret(0));
    assert_eq!(
        run(&mut m, 0, set_lk(LockType::Wr, 1, 1)),
        Outcome::Err(Errno::EAGAIN)
    );
    let exit = OpKind::Exit {
        code: 0,
        thread: false,
    };
    assert_eq!(run(&mut m, t1, exit), Outcome::Exited);
    assert!(m.snapshot().locks.is_empty());
    assert_eq!(run(&mut m, 0, set_lk(LockType::Wr, 1, 1)), Outcome::Ret(0));
}

/// An exec by a non-leader thread takes over its leader's pid, and the POSIX locks and
/// flocks its group set are now listed under it; another process's locks keep their pid.
#[test]
fn exec_by_a_thread_moves_only_its_groups_locks_to_its_pid() {
    use crate::obs::LockKind;
    use crate::op::{CloneFlags as F, FlockOp, LockType};
    let (mut m, t1) = data_open_rw_then_fork();
    assert_eq!(run(&mut m, 0, set_lk(LockType::Rd, 0, 1)), Outcome::Ret(0));
    assert_eq!(run(&mut m, t1, set_lk(LockType::Rd, 4, 1)), Outcome::Ret(0));
    let flock = |fd| OpKind::Flock {
        fd,
        op: FlockOp::Sh,
        nonblock: true,
    };
    assert_eq!(open(&mut m, 0, FileName::A, rw(true)), Outcome::Ret(1));
    assert_eq!(open(&mut m, t1, FileName::B, rw(true)), Outcome::Ret(1));
    assert_eq!(run(&mut m, 0, flock(1)), Outcome::Ret(0));
    assert_eq!(run(&mut m, t1, flock(1)), Outcome::Ret(0));
    let th = clone_with(
        &mut m,
        0,
        F(F::VM.0 | F::SIGHAND.0 | F::THREAD.0 | F::FILES.0),
    );
    assert_eq!(run(&mut m, th, OpKind::Exec), Outcome::Ret(0));
    let mut pids: Vec<(bool, i64, Option<TaskId>)> = m
        .snapshot()
        .locks
        .iter()
        .map(|l| (l.kind == LockKind::Flock, l.start, l.pid))
        .collect();
    pids.sort();
    assert_eq!(
        pids,
        [
            (false, 0, Some(th)),
            (false, 4, Some(t1)),
            (true, 0, Some(t1)),
            (true, 0, Some(th))
        ]
    );
}

/// poll(2) of each end of a pipe, for POLLIN: the read end is readable with data and hangs
/// up without writers; the write end reports POLLERR only once no reader is left
/// (fs/pipe.c pipe_poll).
#[test]
fn poll_of_pipe_ends_reports_data_hangup_and_a_readerless_write_end() {
    use super::pidfd::{POLLERR, POLLHUP, POLLIN};
    let mut m = model();
    pipe(&mut m, 0);
    let poll = |m: &mut Model, fd| run(m, 0, OpKind::Poll { fd });
    assert_eq!(poll(&mut m, 0), Outcome::Ret(0));
    assert_eq!(
        poll(&mut m, 1),
        Outcome::Ret(0),
        "a write end with a reader"
    );
    run(
        &mut m,
        0,
        OpKind::Write {
            fd: 1,
            data: vec![7],
        },
    );
    assert_eq!(poll(&mut m, 0), Outcome::Ret(POLLIN));
    run(&mut m, 0, OpKind::Close { fd: 0 });
    assert_eq!(poll(&mut m, 1), Outcome::Ret(POLLERR), "no reader left");
    let mut m = model();
    pipe(&mut m, 0);
    run(&mut m, 0, OpKind::Close { fd: 1 });
    assert_eq!(poll(&mut m, 0), Outcome::Ret(POLLHUP));
}

/// A write of more than a page fills a pipe buffer per page (fs/pipe.c pipe_write), and a
/// read takes it all back in order.
#[test]
fn a_pipe_write_of_more_than_a_page_keeps_every_byte() {
    let mut m = model();
    pipe(&mut m, 0);
    let data: Vec<u8> = (0..4096 + 10).map(|i| (i % 251) as u8).collect();
    let write = OpKind::Write {
        fd: 1,
        data: data.clone(),
    };
    assert_eq!(run(&mut m, 0, write), Outcome::Ret(4106));
    let mut got = Vec::new();
    while got.len() < data.len() {
        match run(&mut m, 0, OpKind::Read { fd: 0, len: 4096 }) {
            Outcome::Data(d) if !d.is_empty() => got.extend(d),
            other => panic!("{other:?} after {} bytes", got.len()),
        }
    }
    assert_eq!(got, data);
}

/// F_GETLK reports the conflicting lock as it is held: its start and its length (an
/// inclusive end turned back into `l_len`), and an OFD lock outlives the close of another
/// description of the same file (fs/locks.c posix_test_lock; locks_remove_file drops only
/// the closed description's locks).
#[test]
fn getlk_reports_a_held_range_and_an_ofd_lock_outlives_another_descriptions_close() {
    use crate::obs::LockReport;
    use crate::op::{FlockArg, LockType};
    let arg = |ty, start, len| FlockArg {
        ty,
        start,
        len,
        pid: 0,
    };
    let mut m = model();
    let open = || OpKind::Open {
        file: FileName::Data,
        flags: OpenFlags::default(),
    };
    for _ in 0..3 {
        run(&mut m, 0, open());
    }
    let set = OpKind::Fcntl {
        fd: 0,
        cmd: FcntlCmd::OfdSetLk {
            lock: arg(LockType::Rd, 2, 3),
        },
    };
    assert_eq!(run(&mut m, 0, set), Outcome::Ret(0));
    assert_eq!(run(&mut m, 0, OpKind::Close { fd: 1 }), Outcome::Ret(0));
    let get = OpKind::Fcntl {
        fd: 2,
        cmd: FcntlCmd::OfdGetLk {
            lock: arg(LockType::Wr, 0, 0),
        },
    };
    match run(&mut m, 0, get) {
        Outcome::Lock(LockReport::Held { ty, start, len, .. }) => {
            assert_eq!((ty, start, len), (LockType::Rd, 2, 3));
        }
        other => panic!("the lock of fd 0 is held: {other:?}"),
    }
}

/// unshare(CLONE_FILES) of a table nobody else uses keeps it (fs/file.c `unshare_fd` copies
/// only a shared one), with the POSIX locks it owns; and a negative `l_len` reaching back
/// to offset 0 is a valid range (fs/locks.c: only a start below 0 is EINVAL).
#[test]
fn an_unshare_of_an_unshared_table_keeps_its_locks_and_a_lock_may_reach_back_to_0() {
    use crate::obs::LockReport;
    use crate::op::{LockType, UnshareFlags};
    let (mut m, t1) = data_open_then_fork();
    assert_eq!(
        run(&mut m, t1, set_lk(LockType::Rd, 4, -4)),
        Outcome::Ret(0)
    );
    match run(&mut m, 0, get_lk(LockType::Wr, 0, 0)) {
        Outcome::Lock(LockReport::Held { start, len, .. }) => assert_eq!((start, len), (0, 4)),
        other => panic!("t1's lock over 0..4: {other:?}"),
    }
    let unshare = OpKind::Unshare {
        flags: UnshareFlags {
            files: true,
            ..UnshareFlags::default()
        },
    };
    assert_eq!(run(&mut m, t1, unshare), Outcome::Ret(0));
    assert_eq!(run(&mut m, t1, set_lk(LockType::Un, 0, 0)), Outcome::Ret(0));
    assert_eq!(
        run(&mut m, 0, get_lk(LockType::Wr, 0, 0)),
        Outcome::Lock(LockReport::Unlocked),
        "the unlock after the unshare releases the lock"
    );
}

/// The generator asks whether a task is still in the lab's own UTS namespace (where
/// `sethostname` would rename the machine): t0 and labels that do not exist are; a
/// CLONE_NEWUTS child and a task after unshare(CLONE_NEWUTS) are not.
#[test]
fn in_lab_uts_until_a_new_uts_namespace() {
    use crate::op::{CloneEntry, CloneFlags as F, CloneOp, UnshareFlags};
    let mut m = model();
    assert!(m.in_lab_uts(0));
    assert!(m.in_lab_uts(9));
    let op = OpKind::Clone(CloneOp {
        entry: CloneEntry::Clone,
        flags: F::NEWUTS,
        exit_signal: 17,
        args: Default::default(),
    });
    let Outcome::Child(c) = run(&mut m, 0, op) else {
        panic!("clone(NEWUTS) failed")
    };
    assert!(!m.in_lab_uts(c));
    let f = fork(&mut m, 0);
    assert!(m.in_lab_uts(f));
    let flags = UnshareFlags {
        newuts: true,
        ..Default::default()
    };
    assert_eq!(run(&mut m, f, OpKind::Unshare { flags }), Outcome::Ret(0));
    assert!(!m.in_lab_uts(f));
    assert!(m.in_lab_uts(0));
}
