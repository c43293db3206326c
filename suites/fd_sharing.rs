//! fd tables and open file descriptions across fork: property tests (model vs kernel) and
//! known cases.

mod common;

use common::*;
use forkspec::gen::Mix;
use forkspec_model::*;
use proptest::prelude::*;
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

proptest! {
    #![proptest_config(proptest_config_part(GENERATED, 0))]
    /// Generated fd / pipe / fork sequences behave on the kernel exactly as the model predicts.
    /// Part 1 of [`PARTS`]; the other parts run the same property with other seeds.
    #[test]
    fn fd_sharing_model_matches_kernel(choices in proptest::collection::vec(any::<u32>(), 0..240)) {
        property(Mix::Fd, &choices).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(proptest_config_part(GENERATED, 1))]
    /// Part 2 of [`PARTS`] of [`fd_sharing_model_matches_kernel`].
    #[test]
    fn fd_sharing_model_matches_kernel_part_2(choices in proptest::collection::vec(any::<u32>(), 0..240)) {
        property(Mix::Fd, &choices).map_err(TestCaseError::fail)?;
    }
}

#[rstest]
#[case::read("offset_shared_after_fork_read", op(1, Read { fd: 0, len: 5 }), 5)]
#[case::lseek("offset_shared_after_fork_lseek", op(1, Lseek { fd: 0, offset: 7, whence: Whence::Set }), 7)]
#[case::write("offset_shared_after_fork_write", op(1, Write { fd: 0, data: b"abc".to_vec() }), 3)]
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
