//! fd tables and open file descriptions across fork: property tests (model vs kernel) and
//! known cases.

mod common;

use common::*;
use forkspec::gen::Mix;
use forkspec_model::*;
use rstest::rstest;
use OpKind::*;

const O_APPEND: i64 = 0o2000;

fn open(t: TaskId, file: FileName, access: Access) -> Op {
    op(
        t,
        Open {
            file,
            flags: OpenFlags {
                access,
                creat: file != FileName::Data,
                ..Default::default()
            },
        },
    )
}
fn here(t: TaskId, fd: Fd) -> Op {
    op(
        t,
        Lseek {
            fd,
            offset: 0,
            whence: Whence::Cur,
        },
    )
}

/// Generated cases of this suite, over all parts (PROPTEST_CASES overrides it).
const GENERATED: u32 = 1800;

/// Generated fd / pipe / fork sequences behave on the kernel exactly as the model predicts.
// covers: fd.inherited, fd.shared-offset, fd.shared-status-flags, fd.close-independent
// covers: fd.pipe-eof
/// Part 1 of [`PARTS`]; the other parts run the same property with other seeds.
#[test]
fn fd_sharing_model_matches_kernel() {
    property_part(Mix::Fd, GENERATED, 0, file!());
}

/// Part 2 of [`PARTS`] of [`fd_sharing_model_matches_kernel`].
#[test]
fn fd_sharing_model_matches_kernel_part_2() {
    property_part(Mix::Fd, GENERATED, 1, file!());
}

#[rstest]
#[case::read("offset_shared_after_fork_read", op(1, Read { fd: 0, len: 5 }), 5)]
#[case::lseek("offset_shared_after_fork_lseek", op(1, Lseek { fd: 0, offset: 7, whence: Whence::Set }), 7)]
#[case::write("offset_shared_after_fork_write", op(1, Write { fd: 0, data: b"abc".to_vec() }), 3)]
// covers: fd.inherited, fd.shared-offset
fn the_child_moves_the_parents_offset(
    #[case] name: &str,
    #[case] child_op: Op,
    #[case] offset: i64,
) {
    let c = case(vec![
        open(0, FileName::Data, Access::RdWr),
        op(0, Fork),
        child_op,
        here(0, 0),
    ]);
    let m = known(name, &c);
    assert_eq!(m.outcomes[3], Outcome::Ret(offset));
}

// covers: fd.inherited, fd.shared-status-flags
#[test]
fn setfl_append_is_shared_but_cloexec_is_per_fd() {
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        op(0, Dup { fd: 0 }),
        op(
            0,
            Fcntl {
                fd: 1,
                cmd: FcntlCmd::SetFd { cloexec: true },
            },
        ),
        op(0, Fork),
        op(
            1,
            Fcntl {
                fd: 0,
                cmd: FcntlCmd::SetFl {
                    append: true,
                    nonblock: false,
                },
            },
        ),
        op(
            0,
            Fcntl {
                fd: 0,
                cmd: FcntlCmd::GetFl,
            },
        ),
        op(
            1,
            Fcntl {
                fd: 1,
                cmd: FcntlCmd::SetFd { cloexec: false },
            },
        ),
        op(
            0,
            Fcntl {
                fd: 1,
                cmd: FcntlCmd::GetFd,
            },
        ),
        op(
            1,
            Fcntl {
                fd: 1,
                cmd: FcntlCmd::GetFd,
            },
        ),
    ]);
    let m = known("setfl_append_shared_cloexec_per_fd", &c);
    let Outcome::Ret(fl) = m.outcomes[5] else {
        panic!("{:?}", m.outcomes[5])
    };
    assert_ne!(
        fl & O_APPEND,
        0,
        "O_APPEND set by the child shows in the parent"
    );
    assert_eq!(m.outcomes[7], Outcome::Ret(1));
    assert_eq!(m.outcomes[8], Outcome::Ret(0));
}

// covers: fd.shared-offset
#[test]
fn pread_and_pwrite_leave_the_shared_offset_alone() {
    let c = case(vec![
        open(0, FileName::Data, Access::RdWr),
        op(0, Read { fd: 0, len: 2 }),
        op(0, Fork),
        op(
            1,
            Pread {
                fd: 0,
                len: 4,
                offset: 100,
            },
        ),
        op(
            1,
            Pwrite {
                fd: 0,
                data: b"x".to_vec(),
                offset: 200,
            },
        ),
        here(0, 0),
    ]);
    let m = known("pread_pwrite_keep_offset", &c);
    assert_eq!(m.outcomes[5], Outcome::Ret(2));
}

// covers: fd.close-independent
#[test]
fn close_in_the_child_leaves_the_parents_fd() {
    let c = case(vec![
        open(0, FileName::Data, Access::RdOnly),
        op(0, Fork),
        op(1, Close { fd: 0 }),
        op(1, Read { fd: 0, len: 1 }),
        op(0, Read { fd: 0, len: 1 }),
    ]);
    let m = known("close_in_child_independent", &c);
    assert_eq!(m.outcomes[3], Outcome::Err(Errno::EBADF));
    assert_eq!(m.outcomes[4], Outcome::Data(vec![0x80]));
}

// covers: fd.pipe-eof
#[test]
fn a_pipe_reaches_eof_only_when_every_write_end_is_closed() {
    let c = case(vec![
        op(
            0,
            Pipe2 {
                cloexec: false,
                nonblock: true,
            },
        ),
        op(0, Fork),
        op(0, Close { fd: 1 }),
        op(0, Read { fd: 0, len: 8 }),
        op(
            1,
            Write {
                fd: 1,
                data: b"hi".to_vec(),
            },
        ),
        op(0, Read { fd: 0, len: 8 }),
        op(1, Close { fd: 1 }),
        op(0, Read { fd: 0, len: 8 }),
    ]);
    let m = known("pipe_eof_after_all_writers_close", &c);
    assert_eq!(
        m.outcomes[3],
        Outcome::Err(Errno::EAGAIN),
        "the child still holds a write end"
    );
    assert_eq!(m.outcomes[5], Outcome::Data(b"hi".to_vec()));
    assert_eq!(m.outcomes[7], Outcome::Data(vec![]), "EOF");
}

#[test]
fn dup_shares_an_offset_two_opens_do_not() {
    let c = case(vec![
        open(0, FileName::Data, Access::RdOnly),
        op(0, Dup { fd: 0 }),
        open(0, FileName::Data, Access::RdOnly),
        op(0, Read { fd: 0, len: 4 }),
        here(0, 1),
        here(0, 2),
    ]);
    let m = known("dup_shares_offset_open_does_not", &c);
    assert_eq!(m.outcomes[4], Outcome::Ret(4));
    assert_eq!(m.outcomes[5], Outcome::Ret(0));
}

#[test]
fn the_lowest_free_fd_is_reused_after_closes() {
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        open(0, FileName::B, Access::RdWr),
        open(0, FileName::Data, Access::RdOnly),
        op(0, Close { fd: 1 }),
        op(0, Close { fd: 0 }),
        op(0, Dup { fd: 2 }),
        op(0, Fork),
        op(
            1,
            Fcntl {
                fd: 2,
                cmd: FcntlCmd::DupFd { min: 1 },
            },
        ),
        op(
            1,
            Pipe2 {
                cloexec: false,
                nonblock: false,
            },
        ),
    ]);
    let m = known("lowest_free_fd", &c);
    assert_eq!(m.outcomes[5], Outcome::Ret(0));
    assert_eq!(m.outcomes[7], Outcome::Ret(1));
    assert_eq!(m.outcomes[8], Outcome::Pipe([3, 4]));
}

// ---- File locks: fcntl record locks (process and open-file-description owned) and flock.

fn lk(ty: LockType, start: i64, len: i64) -> FlockArg {
    FlockArg {
        ty,
        start,
        len,
        pid: 0,
    }
}
fn fcntl_lock(t: TaskId, fd: Fd, cmd: FcntlCmd) -> Op {
    op(t, Fcntl { fd, cmd })
}
fn setlk(t: TaskId, fd: Fd, lock: FlockArg) -> Op {
    fcntl_lock(t, fd, FcntlCmd::SetLk { lock })
}
fn getlk(t: TaskId, fd: Fd, lock: FlockArg) -> Op {
    fcntl_lock(t, fd, FcntlCmd::GetLk { lock })
}
fn ofd_setlk(t: TaskId, fd: Fd, lock: FlockArg) -> Op {
    fcntl_lock(t, fd, FcntlCmd::OfdSetLk { lock })
}
fn ofd_getlk(t: TaskId, fd: Fd, lock: FlockArg) -> Op {
    fcntl_lock(t, fd, FcntlCmd::OfdGetLk { lock })
}
fn flock(t: TaskId, fd: Fd, how: FlockOp) -> Op {
    op(
        t,
        Flock {
            fd,
            op: how,
            nonblock: true,
        },
    )
}
fn held(ty: LockType, start: i64, len: i64, owner: LockOwner) -> Outcome {
    Outcome::Lock(LockReport::Held {
        ty,
        start,
        len,
        owner,
    })
}
const UNLOCKED: Outcome = Outcome::Lock(LockReport::Unlocked);
const EAGAIN: Outcome = Outcome::Err(Errno::EAGAIN);
const OK: Outcome = Outcome::Ret(0);
use LockType::{Rd, Un, Wr};

// covers: locks.not-inherited
#[test]
fn a_record_lock_is_not_inherited_by_a_fork_child() {
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        setlk(0, 0, lk(Wr, 0, 2)),
        op(0, Fork),
        getlk(1, 0, lk(Rd, 0, 0)),
        setlk(1, 0, lk(Rd, 1, 1)),
        setlk(1, 0, lk(Rd, 2, 1)),
        getlk(0, 0, lk(Wr, 0, 0)),
        getlk(0, 0, lk(Rd, 0, 0)),
    ]);
    let m = known("lock_record_not_inherited", &c);
    assert_eq!(m.outcomes[3], held(Wr, 0, 2, LockOwner::Task(0)));
    assert_eq!(m.outcomes[4], EAGAIN);
    assert_eq!(m.outcomes[5], OK);
    assert_eq!(m.outcomes[6], held(Rd, 2, 1, LockOwner::Task(1)));
    assert_eq!(m.outcomes[7], UNLOCKED, "read locks do not conflict");
}

#[rstest]
#[case::other_description("lock_close_other_description_drops", op(0, Close { fd: 1 }))]
#[case::dup("lock_close_dup_drops", op(0, Close { fd: 2 }))]
#[case::dup2_over("lock_dup2_over_fd_of_file_drops", op(0, Dup2 { old: 3, new: 1 }))]
fn closing_any_fd_of_the_file_drops_the_process_record_locks(
    #[case] name: &str,
    #[case] closing: Op,
) {
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        open(0, FileName::A, Access::RdOnly),
        op(0, Dup { fd: 0 }),
        open(0, FileName::B, Access::RdWr),
        setlk(0, 0, lk(Wr, 0, 0)),
        op(0, Fork),
        getlk(1, 0, lk(Rd, 3, 1)),
        closing,
        getlk(1, 0, lk(Rd, 3, 1)),
    ]);
    let m = known(name, &c);
    assert_eq!(m.outcomes[6], held(Wr, 0, 0, LockOwner::Task(0)));
    assert_eq!(m.outcomes[8], UNLOCKED);
}

// covers: locks.not-inherited
#[test]
fn record_locks_are_released_when_the_process_exits() {
    let c = case(vec![
        op(0, Fork),
        open(1, FileName::A, Access::RdWr),
        setlk(1, 0, lk(Wr, 4, 4)),
        open(0, FileName::A, Access::RdOnly),
        getlk(0, 0, lk(Rd, 0, 0)),
        op(
            1,
            Exit {
                code: 0,
                thread: false,
            },
        ),
        getlk(0, 0, lk(Rd, 0, 0)),
    ]);
    let m = known("lock_record_released_at_exit", &c);
    assert_eq!(m.outcomes[4], held(Wr, 4, 4, LockOwner::Task(1)));
    assert_eq!(m.outcomes[6], UNLOCKED);
}

// covers: locks.not-inherited
#[test]
fn clone_files_tasks_share_record_lock_ownership() {
    let files = CloneOp {
        entry: CloneEntry::Clone,
        flags: CloneFlags::FILES,
        exit_signal: 17,
        args: Clone3Args::default(),
    };
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        op(0, Clone(files)),
        op(0, Fork),
        setlk(0, 0, lk(Wr, 0, 2)),
        // Same owner: no conflict; the request merges into t0's lock, which keeps its pid.
        setlk(1, 0, lk(Wr, 1, 3)),
        getlk(2, 0, lk(Rd, 0, 0)),
        // A lock of another type replaces the range and carries its setter's pid.
        setlk(1, 0, lk(Rd, 0, 4)),
        getlk(2, 0, lk(Wr, 0, 0)),
        // t1's exit leaves the shared table, and so the lock, to t0; once t1 is reaped its
        // pid is free (l_pid shows the old number in the initial pid namespace, else 0).
        op(
            1,
            Exit {
                code: 0,
                thread: false,
            },
        ),
        op(
            0,
            Wait {
                target: WaitTarget::Task(1),
                options: WaitOptions::default(),
            },
        ),
        getlk(2, 0, lk(Wr, 0, 0)),
        op(0, Close { fd: 0 }),
        getlk(2, 0, lk(Wr, 0, 0)),
    ]);
    let m = known("lock_clone_files_shared_owner", &c);
    assert_eq!(m.outcomes[4], OK);
    assert_eq!(m.outcomes[5], held(Wr, 0, 4, LockOwner::Task(0)));
    assert_eq!(m.outcomes[7], held(Rd, 0, 4, LockOwner::Task(1)));
    assert_eq!(m.outcomes[10], held(Rd, 0, 4, LockOwner::Task(1)));
    assert_eq!(m.outcomes[12], UNLOCKED);
}

#[test]
fn getlk_reports_the_first_conflicting_lock_in_the_kernels_list_order() {
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        op(0, Fork),
        op(0, Fork),
        setlk(0, 0, lk(Rd, 4, 2)),
        setlk(1, 0, lk(Rd, 0, 2)),
        // t0's lock comes first (its owner's locks were listed first), though t1's starts lower.
        getlk(2, 0, lk(Wr, 0, 0)),
        setlk(0, 0, lk(Un, 0, 0)),
        setlk(0, 0, lk(Rd, 4, 2)),
        // Unlocked and locked again, t0's locks now follow t1's.
        getlk(2, 0, lk(Wr, 0, 0)),
    ]);
    let m = known("lock_getlk_list_order", &c);
    assert_eq!(m.outcomes[5], held(Rd, 4, 2, LockOwner::Task(0)));
    assert_eq!(m.outcomes[8], held(Rd, 0, 2, LockOwner::Task(1)));
}

// covers: locks.follow-description
#[test]
fn an_ofd_lock_is_shared_with_a_fork_child() {
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        ofd_setlk(0, 0, lk(Wr, 0, 0)),
        op(0, Fork),
        // Same description, same owner: the child can change and remove the lock.
        ofd_setlk(1, 0, lk(Wr, 2, 2)),
        ofd_getlk(1, 0, lk(Un, 0, 0)),
        open(0, FileName::A, Access::RdWr),
        ofd_getlk(0, 1, lk(Rd, 0, 0)),
        getlk(0, 1, lk(Rd, 0, 0)),
        ofd_setlk(1, 0, lk(Un, 0, 0)),
        ofd_getlk(0, 1, lk(Wr, 0, 0)),
    ]);
    let m = known("lock_ofd_shared_by_fork", &c);
    assert_eq!(m.outcomes[3], OK);
    assert_eq!(m.outcomes[4], held(Wr, 0, 0, LockOwner::Ofd));
    assert_eq!(m.outcomes[6], held(Wr, 0, 0, LockOwner::Ofd));
    assert_eq!(m.outcomes[7], held(Wr, 0, 0, LockOwner::Ofd));
    assert_eq!(m.outcomes[9], UNLOCKED);
}

// covers: locks.follow-description
#[test]
fn an_ofd_lock_goes_with_the_last_reference_to_its_description() {
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        op(0, Dup { fd: 0 }),
        ofd_setlk(0, 0, lk(Rd, 0, 1)),
        open(0, FileName::A, Access::RdWr),
        op(0, Close { fd: 0 }),
        ofd_setlk(0, 2, lk(Wr, 0, 1)),
        op(0, Close { fd: 1 }),
        ofd_setlk(0, 2, lk(Wr, 0, 1)),
    ]);
    let m = known("lock_ofd_released_with_description", &c);
    assert_eq!(
        m.outcomes[5], EAGAIN,
        "closing one of two fds keeps the lock"
    );
    assert_eq!(m.outcomes[7], OK);
}

#[test]
fn posix_and_ofd_locks_conflict_even_in_one_process() {
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        open(0, FileName::A, Access::RdWr),
        setlk(0, 0, lk(Wr, 0, 2)),
        ofd_setlk(0, 1, lk(Rd, 1, 1)),
        ofd_getlk(0, 1, lk(Rd, 0, 0)),
        ofd_setlk(0, 1, lk(Rd, 2, 1)),
        setlk(0, 0, lk(Wr, 2, 0)),
        getlk(0, 0, lk(Wr, 0, 0)),
    ]);
    let m = known("lock_posix_vs_ofd", &c);
    assert_eq!(m.outcomes[3], EAGAIN);
    assert_eq!(m.outcomes[4], held(Wr, 0, 2, LockOwner::Task(0)));
    assert_eq!(m.outcomes[5], OK);
    assert_eq!(m.outcomes[6], EAGAIN);
    assert_eq!(m.outcomes[7], held(Rd, 2, 1, LockOwner::Ofd));
}

// covers: locks.follow-description
#[test]
fn flock_follows_the_open_file_description() {
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        flock(0, 0, FlockOp::Ex),
        op(0, Dup { fd: 0 }),
        op(0, Fork),
        open(1, FileName::A, Access::RdOnly),
        flock(1, 2, FlockOp::Sh),
        // The child holds the same description: taking it again is no conflict.
        flock(1, 0, FlockOp::Ex),
        op(0, Close { fd: 1 }),
        op(0, Close { fd: 0 }),
        flock(1, 2, FlockOp::Sh),
        op(1, Close { fd: 1 }),
        flock(1, 2, FlockOp::Sh),
        op(1, Close { fd: 0 }),
        flock(1, 2, FlockOp::Sh),
    ]);
    let m = known("lock_flock_follows_description", &c);
    assert_eq!(m.outcomes[5], EAGAIN);
    assert_eq!(m.outcomes[6], OK);
    assert_eq!(
        m.outcomes[9], EAGAIN,
        "the parent's closes leave the child's fds"
    );
    assert_eq!(m.outcomes[11], EAGAIN, "one fd of the description is left");
    assert_eq!(m.outcomes[13], OK, "the last close dropped the lock");
}

// covers: locks.follow-description
#[test]
fn a_failed_flock_conversion_leaves_no_lock() {
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        flock(0, 0, FlockOp::Sh),
        op(0, Fork),
        open(1, FileName::A, Access::RdOnly),
        flock(1, 1, FlockOp::Sh),
        flock(0, 0, FlockOp::Ex),
        // The shared lock went before the conflict was found: t1 is alone now.
        flock(1, 1, FlockOp::Ex),
    ]);
    let m = known("lock_flock_conversion_not_atomic", &c);
    assert_eq!(m.outcomes[5], EAGAIN);
    assert_eq!(m.outcomes[6], OK);
}

#[test]
fn flock_is_independent_of_record_locks() {
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        flock(0, 0, FlockOp::Ex),
        op(0, Fork),
        open(1, FileName::A, Access::RdWr),
        setlk(1, 1, lk(Wr, 0, 0)),
        ofd_setlk(1, 1, lk(Un, 0, 0)),
        flock(1, 1, FlockOp::Sh),
        getlk(0, 0, lk(Rd, 0, 0)),
    ]);
    let m = known("lock_flock_independent_of_record_locks", &c);
    assert_eq!(m.outcomes[4], OK);
    assert_eq!(m.outcomes[6], EAGAIN);
    assert_eq!(m.outcomes[7], held(Wr, 0, 0, LockOwner::Task(1)));
}

#[test]
fn flock_without_lock_nb_waits_for_a_conflicting_lock() {
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        flock(0, 0, FlockOp::Sh),
        op(0, Fork),
        open(1, FileName::A, Access::RdWr),
        op(
            1,
            Flock {
                fd: 1,
                op: FlockOp::Ex,
                nonblock: false,
            },
        ),
    ]);
    let m = known("lock_flock_blocks_without_nb", &c);
    assert_eq!(m.outcomes[4], Outcome::Blocked);
}

#[test]
fn locks_on_a_pipe_use_its_one_inode() {
    let c = case(vec![
        op(
            0,
            Pipe2 {
                cloexec: false,
                nonblock: false,
            },
        ),
        setlk(0, 0, lk(Rd, 0, 0)),
        setlk(0, 0, lk(Wr, 0, 0)),
        op(0, Fork),
        setlk(1, 1, lk(Wr, 0, 1)),
        getlk(1, 1, lk(Wr, 0, 1)),
        flock(0, 0, FlockOp::Ex),
        flock(1, 1, FlockOp::Ex),
    ]);
    let m = known("lock_on_pipe", &c);
    assert_eq!(m.outcomes[1], OK);
    assert_eq!(m.outcomes[2], Outcome::Err(Errno::EBADF));
    assert_eq!(m.outcomes[4], EAGAIN);
    assert_eq!(m.outcomes[5], held(Rd, 0, 0, LockOwner::Task(0)));
    assert_eq!(m.outcomes[7], EAGAIN);
}

#[rstest]
#[case::getlk_unlock("lock_arg_getlk_unlock", FcntlCmd::GetLk { lock: lk(Un, 0, 0) }, Errno::EINVAL)]
#[case::negative_start("lock_arg_negative_start", FcntlCmd::SetLk { lock: lk(Rd, -1, 1) }, Errno::EINVAL)]
#[case::len_below_zero("lock_arg_len_below_zero", FcntlCmd::SetLk { lock: lk(Rd, 1, -2) }, Errno::EINVAL)]
#[case::overflow("lock_arg_overflow", FcntlCmd::GetLk { lock: lk(Rd, i64::MAX, 2) }, Errno::EOVERFLOW)]
#[case::ofd_pid("lock_arg_ofd_pid", FcntlCmd::OfdSetLk { lock: FlockArg { pid: 1, ..lk(Rd, 0, 1) } }, Errno::EINVAL)]
#[case::ofd_get_pid("lock_arg_ofd_get_pid", FcntlCmd::OfdGetLk { lock: FlockArg { pid: 1, ..lk(Rd, 0, 1) } }, Errno::EINVAL)]
#[case::write_lock_read_only("lock_arg_wrlck_on_rdonly", FcntlCmd::SetLk { lock: lk(Wr, 0, 1) }, Errno::EBADF)]
#[case::mode_before_pid("lock_arg_mode_before_ofd_pid", FcntlCmd::OfdSetLk { lock: FlockArg { pid: 1, ..lk(Wr, 0, 1) } }, Errno::EBADF)]
fn record_lock_arguments_are_checked_in_the_kernels_order(
    #[case] name: &str,
    #[case] cmd: FcntlCmd,
    #[case] err: Errno,
) {
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        open(0, FileName::A, Access::RdOnly),
        fcntl_lock(0, 1, cmd),
    ]);
    let m = known(name, &c);
    assert_eq!(m.outcomes[2], Outcome::Err(err));
}

#[test]
fn locks_on_a_pidfd_work_like_on_a_file() {
    let pidfd = CloneOp {
        entry: CloneEntry::Clone,
        flags: CloneFlags::PIDFD,
        exit_signal: 17,
        args: Clone3Args::default(),
    };
    let c = case(vec![
        op(0, Clone(pidfd)),
        setlk(0, 0, lk(Wr, 0, 1)),
        ofd_setlk(0, 0, lk(Wr, 0, 1)),
        flock(0, 0, FlockOp::Ex),
        getlk(0, 0, lk(Wr, 0, 0)),
    ]);
    let m = known("lock_on_pidfd", &c);
    assert_eq!(m.outcomes[1], OK);
    assert_eq!(m.outcomes[2], EAGAIN);
    assert_eq!(m.outcomes[3], OK);
    assert_eq!(m.outcomes[4], UNLOCKED);
}

// covers: locks.not-inherited
#[test]
fn record_locks_belong_to_the_fd_table_and_name_the_thread_group() {
    let clone = |flags: CloneFlags| CloneOp {
        entry: CloneEntry::Clone,
        flags,
        exit_signal: 0,
        args: Clone3Args::default(),
    };
    let thread = CloneFlags::VM | CloneFlags::SIGHAND | CloneFlags::THREAD;
    let c = case(vec![
        op(0, Clone(clone(thread | CloneFlags::FILES))),
        open(1, FileName::A, Access::RdWr),
        setlk(1, 0, lk(Wr, 0, 0)),
        op(0, Fork),
        // l_pid is the thread group of the thread that set the lock: t0.
        getlk(2, 0, lk(Wr, 0, 0)),
        // A thread with an fd table of its own is another owner, in the same process.
        op(0, Clone(clone(thread))),
        setlk(3, 0, lk(Rd, 4, 1)),
        // A task in a new pid namespace does not see t0's pid: l_pid 0.
        op(
            0,
            Clone(CloneOp {
                exit_signal: 17,
                ..clone(CloneFlags::NEWPID)
            }),
        ),
        getlk(4, 0, lk(Wr, 0, 0)),
    ]);
    let m = known("lock_thread_group_and_pid_namespace", &c);
    assert_eq!(m.outcomes[4], held(Wr, 0, 0, LockOwner::Task(0)));
    assert_eq!(m.outcomes[6], EAGAIN);
    assert_eq!(m.outcomes[8], held(Wr, 0, 0, LockOwner::Invisible));
}

#[test]
fn record_locks_survive_exec_until_a_close_on_exec_fd_of_the_file_closes() {
    let c = case(vec![
        open(0, FileName::A, Access::RdWr),
        setlk(0, 0, lk(Wr, 0, 1)),
        op(0, Exec),
        op(0, Fork),
        getlk(1, 0, lk(Wr, 0, 0)),
        op(
            0,
            Open {
                file: FileName::A,
                flags: OpenFlags {
                    access: Access::RdOnly,
                    cloexec: true,
                    ..Default::default()
                },
            },
        ),
        op(0, Exec),
        getlk(1, 0, lk(Wr, 0, 0)),
    ]);
    let m = known("lock_record_survives_exec", &c);
    assert_eq!(m.outcomes[4], held(Wr, 0, 1, LockOwner::Task(0)));
    assert_eq!(m.outcomes[7], UNLOCKED);
}

/// A flock lock outlives its setter (it belongs to the shared description); once the setter
/// is gone without a zombie (its parent ignores SIGCHLD, so it is released at exit), the
/// lock's pid names no task of the case. Found by a soak run mixing signals and locks.
#[test]
fn a_lock_outlives_a_setter_released_at_exit() {
    let c = case(vec![
        op(
            0,
            Sigaction {
                sig: Signal::SIGCHLD,
                action: SigAction::Ignore,
                flags: Default::default(),
            },
        ),
        open(0, FileName::A, Access::RdWr),
        op(0, Fork),
        flock(1, 0, FlockOp::Ex),
        op(
            1,
            Exit {
                code: 1,
                thread: false,
            },
        ),
    ]);
    let m = known("lock_outlives_a_released_setter", &c);
    assert!(m.states[4].task(1).is_none(), "released at exit");
    let locks = &m.states[4].locks;
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert_eq!(locks[0].pid, None);
}
