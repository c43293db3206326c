//! pidfds opened by `pidfd_open` and used by `pidfd_send_signal`, `pidfd_getfd`, `poll` and
//! `waitid(P_PIDFD)`: known cases (model and kernel must agree at every step; the model's
//! trace is pinned in snapshots/) and a property test over the standard mix, which draws the
//! pidfd ops among forks, threads, exits, waits and kills.

mod common;

use common::*;
use forkspec::gen::Mix;
use forkspec_model::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(proptest_config(300))]
    /// Generated sequences of the standard mix (pidfd ops among forks, clones, execs,
    /// exits, waits and kills) behave on the kernel exactly as the model predicts.
    #[test]
    fn pidfds_model_matches_kernel(choices in proptest::collection::vec(any::<u32>(), 0..240)) {
        property(Mix::All, &choices).map_err(TestCaseError::fail)?;
    }
}

fn open(t: TaskId, target: TaskId, nonblock: bool, thread: bool) -> Op {
    op(
        t,
        OpKind::PidfdOpen {
            target,
            nonblock,
            thread,
        },
    )
}

fn send(t: TaskId, fd: Fd, sig: Signal) -> Op {
    op(t, OpKind::PidfdSendSignal { fd, sig })
}

fn getfd(t: TaskId, pidfd: Fd, fd: Fd) -> Op {
    op(t, OpKind::PidfdGetfd { pidfd, fd })
}

fn poll(t: TaskId, fd: Fd) -> Op {
    op(t, OpKind::Poll { fd })
}

fn fcntl(t: TaskId, fd: Fd, cmd: FcntlCmd) -> Op {
    op(t, OpKind::Fcntl { fd, cmd })
}

fn waitid(t: TaskId, fd: Fd) -> Op {
    op(
        t,
        OpKind::Waitid {
            target: WaitidTarget::Pidfd(fd),
            options: WaitidOptions {
                exited: true,
                ..WaitidOptions::default()
            },
        },
    )
}

const OK: Outcome = Outcome::Ret(0);
const POLLIN: i64 = 1;
const POLLHUP: i64 = 16;

fn ret(v: i64) -> Outcome {
    Outcome::Ret(v)
}

fn err(e: Errno) -> Outcome {
    Outcome::Err(e)
}

/// The inode class of `fd` of `t` in the state after `step`.
fn inode(m: &ModelRun, step: usize, t: TaskId, fd: Fd) -> u64 {
    let s = &m.states[step];
    let ofd = s
        .task(t)
        .unwrap()
        .fds
        .iter()
        .find(|f| f.fd == fd)
        .unwrap()
        .ofd;
    s.ofds.iter().find(|o| o.id == ofd).unwrap().inode
}

/// pidfd_open gives the lowest free fd, always FD_CLOEXEC, O_RDWR (with O_NONBLOCK for
/// PIDFD_NONBLOCK, O_EXCL for PIDFD_THREAD); two pidfds of one pid share the pidfs inode
/// (6.9+). A thread that is not its group's leader needs PIDFD_THREAD (ENOENT since 6.16). A
/// non-blocking pidfd makes waitid(P_PIDFD) EAGAIN while the child lives; a zombie can still
/// be opened, a reaped task cannot (ESRCH), nor can a pid nobody has.
// covers: pidfd.open, wait.waitid-pidfd
#[test]
fn pidfd_open_of_children_threads_zombies_and_reaped_tasks() {
    let c = case(vec![
        op(0, OpKind::Fork),          // 0: t1
        open(0, 1, false, false),     // 1: fd 0
        open(0, 1, true, false),      // 2: fd 1, nonblocking
        fcntl(0, 0, FcntlCmd::GetFd), // 3
        fcntl(0, 0, FcntlCmd::GetFl), // 4
        fcntl(0, 1, FcntlCmd::GetFl), // 5
        legacy_clone(0, THREAD, 0),   // 6: t2
        open(1, 2, false, false),     // 7: t0's thread, from t1
        open(0, 2, false, false),     // 8: not a leader
        open(0, 2, false, true),      // 9: fd 2, a thread pidfd
        fcntl(0, 2, FcntlCmd::GetFl), // 10
        waitid(0, 1),                 // 11: EAGAIN
        open(1, 1, false, true),      // 12: t1's own, fd 0 of t1
        exit(1, 3),                   // 13
        open(0, 1, false, false),     // 14: a zombie, fd 3
        waitid(0, 0),                 // 15: reaps t1
        open(0, 1, false, false),     // 16: ESRCH
        open(0, 9, false, false),     // 17: never created
    ]);
    let m = known("pidfd_open_children_threads_zombies", &c);
    assert_eq!(m.outcomes[1], ret(0));
    assert_eq!(m.outcomes[2], ret(1));
    assert_eq!(m.outcomes[3], ret(1), "FD_CLOEXEC");
    assert_eq!(m.outcomes[4], ret(2), "O_RDWR");
    assert_eq!(m.outcomes[5], ret(2 | 0o4000), "O_RDWR | O_NONBLOCK");
    assert_eq!(
        inode(&m, 2, 0, 0),
        inode(&m, 2, 0, 1),
        "one pidfs inode per pid"
    );
    assert_eq!(m.outcomes[8], err(Errno::ENOENT));
    assert_eq!(m.outcomes[9], ret(2));
    assert_eq!(
        m.outcomes[10],
        ret(2 | 0o200),
        "PIDFD_THREAD shows as O_EXCL"
    );
    assert_eq!(m.outcomes[11], err(Errno::EAGAIN));
    assert_eq!(m.outcomes[14], ret(3));
    assert!(matches!(m.outcomes[15], Outcome::Waited(_)));
    assert_eq!(m.outcomes[16], err(Errno::ESRCH));
    assert_eq!(m.outcomes[17], err(Errno::ESRCH));
}

/// pidfd_send_signal delivers like kill(2) to the thread group (a blocked signal stays
/// pending on the process), or for a thread pidfd to that thread alone; 0 only checks;
/// a number above 64 is EINVAL; an fd that is no pidfd is EBADF. A zombie takes a signal and
/// drops it (0); once reaped the pidfd names no task (ESRCH). A fatal signal ends the group.
// covers: pidfd.send-signal
#[test]
fn pidfd_send_signal_to_a_process_a_thread_a_zombie_and_a_reaped_task() {
    let usr1 = Signal::SIGUSR1;
    let c = case(vec![
        op(0, OpKind::Fork), // 0: t1
        op(
            1,
            OpKind::Sigprocmask {
                how: MaskHow::Block,
                set: vec![usr1, Signal::SIGUSR2],
            },
        ), // 1
        legacy_clone(1, THREAD, 0), // 2: t2, inherits the mask
        open(0, 1, false, false), // 3: fd 0
        open(0, 2, false, true), // 4: fd 1, t2's thread pidfd
        send(0, 0, usr1),    // 5: pending on the process
        send(0, 1, Signal::SIGUSR2), // 6: pending on t2 alone
        send(0, 0, Signal(0)), // 7
        send(0, 0, Signal(65)), // 8
        op(
            0,
            OpKind::Pipe2 {
                cloexec: false,
                nonblock: false,
            },
        ), // 9: fds 2, 3
        send(0, 2, usr1),    // 10: no pidfd
        send(0, 9, usr1),    // 11: not open
        send(0, 0, Signal::SIGTERM), // 12: kills t1 and t2
        send(0, 0, Signal::SIGKILL), // 13: a zombie
        send(0, 1, Signal::SIGKILL), // 14: t2 is released
        waitid(0, 0),        // 15
        send(0, 0, Signal::SIGTERM), // 16
    ]);
    let m = known("pidfd_send_signal_process_thread_zombie", &c);
    for s in [5, 6, 7] {
        assert_eq!(m.outcomes[s], OK, "step {s}");
    }
    let sig = |t: TaskId| m.states[6].task(t).unwrap().signals.unwrap();
    assert!(sig(1).shared_pending.has(usr1.0));
    assert!(sig(2).pending.has(Signal::SIGUSR2.0));
    assert!(!sig(1).pending.has(Signal::SIGUSR2.0));
    assert_eq!(m.outcomes[8], err(Errno::EINVAL));
    assert_eq!(m.outcomes[10], err(Errno::EBADF));
    assert_eq!(m.outcomes[11], err(Errno::EBADF));
    assert_eq!(m.outcomes[12], OK);
    assert_eq!(m.outcomes[13], OK, "a zombie takes the signal");
    assert_eq!(
        m.outcomes[14],
        err(Errno::ESRCH),
        "a thread is released at exit"
    );
    assert_eq!(m.outcomes[16], err(Errno::ESRCH));
}

/// pidfd_getfd duplicates the target's fd into the caller's lowest free fd with
/// FD_CLOEXEC, on the same open file description (a write through it moves the target's
/// offset); an fd the target does not have is EBADF, as is a pidfd that is no pidfd; a
/// target that exited has no files (ESRCH), nor has a reaped one.
// covers: pidfd.getfd
#[test]
fn pidfd_getfd_shares_the_open_file_description() {
    let c = case(vec![
        op(0, OpKind::Fork), // 0: t1
        op(
            1,
            OpKind::Open {
                file: FileName::A,
                flags: OpenFlags {
                    access: Access::RdWr,
                    creat: true,
                    ..OpenFlags::default()
                },
            },
        ), // 1: t1's fd 0
        open(0, 1, false, false), // 2: fd 0
        getfd(0, 0, 0),      // 3: fd 1
        fcntl(0, 1, FcntlCmd::GetFd), // 4
        op(
            0,
            OpKind::Write {
                fd: 1,
                data: b"abc".to_vec(),
            },
        ), // 5
        op(
            1,
            OpKind::Lseek {
                fd: 0,
                offset: 0,
                whence: Whence::Cur,
            },
        ), // 6
        getfd(0, 0, 5),      // 7: EBADF
        getfd(0, 1, 0),      // 8: no pidfd
        getfd(0, 0, 0),      // 9: fd 2
        open(0, 0, false, false), // 10: t0's own, fd 3
        getfd(0, 3, 2),      // 11: its own fd 2: fd 4
        exit(1, 0),          // 12
        getfd(0, 0, 0),      // 13: zombie
        waitid(0, 0),        // 14
        getfd(0, 0, 0),      // 15: reaped
    ]);
    let m = known("pidfd_getfd_same_description", &c);
    assert_eq!(m.outcomes[3], ret(1));
    assert_eq!(m.outcomes[4], ret(1), "FD_CLOEXEC");
    assert_eq!(m.outcomes[6], ret(3), "the offset is the description's");
    let s = &m.states[3];
    let ofd = |t: TaskId, fd: Fd| {
        s.task(t)
            .unwrap()
            .fds
            .iter()
            .find(|f| f.fd == fd)
            .unwrap()
            .ofd
    };
    assert_eq!(ofd(0, 1), ofd(1, 0));
    assert_eq!(m.outcomes[7], err(Errno::EBADF));
    assert_eq!(m.outcomes[8], err(Errno::EBADF));
    assert_eq!(m.outcomes[9], ret(2));
    assert_eq!(m.outcomes[11], ret(4));
    assert_eq!(m.outcomes[13], err(Errno::ESRCH));
    assert_eq!(m.outcomes[15], err(Errno::ESRCH));
}

/// poll on a pidfd is POLLIN only when the whole thread group has exited: not while a
/// thread is left; once reaped POLLHUP joins (6.9+). A thread pidfd of a thread that exited
/// is ready (the thread is released at once). (A leader that exits before its threads is
/// pinned by the model's version tests: the lab cannot run a leader's lone exit.) poll on
/// pipes: POLLIN with data, POLLHUP without writers, POLLERR on a write end without readers;
/// a regular file is always readable; an fd not open is POLLNVAL and a negative one is
/// skipped.
// covers: pidfd.poll
#[test]
fn poll_readiness_of_pidfds_pipes_and_files() {
    let c = case(vec![
        op(0, OpKind::Fork),        // 0: t1
        legacy_clone(1, THREAD, 0), // 1: t2
        legacy_clone(1, THREAD, 0), // 2: t3
        open(0, 1, false, false),   // 3: fd 0
        open(0, 1, false, true),    // 4: fd 1, the leader's thread pidfd
        open(0, 3, false, true),    // 5: fd 2, t3's
        poll(0, 0),                 // 6: 0
        exit_thread(3, 0),          // 7: t3 ends alone
        poll(0, 2),                 // 8: ready, released
        poll(0, 0),                 // 9: 0, t1 and t2 live
        poll(0, 1),                 // 10: 0
        exit(2, 7),                 // 11: the whole group
        poll(0, 0),                 // 12: POLLIN
        poll(0, 1),                 // 13: POLLIN
        waitid(0, 0),               // 14
        poll(0, 0),                 // 15: POLLIN | POLLHUP
        op(
            0,
            OpKind::Pipe2 {
                cloexec: false,
                nonblock: false,
            },
        ), // 16: 3, 4
        poll(0, 3),                 // 17: 0
        op(
            0,
            OpKind::Write {
                fd: 4,
                data: b"x".to_vec(),
            },
        ), // 18
        poll(0, 3),                 // 19: POLLIN
        poll(0, 4),                 // 20: 0
        op(0, OpKind::Close { fd: 4 }), // 21
        poll(0, 3),                 // 22: POLLIN | POLLHUP
        op(
            0,
            OpKind::Pipe2 {
                cloexec: false,
                nonblock: false,
            },
        ), // 23: 4, 5
        op(0, OpKind::Close { fd: 4 }), // 24
        poll(0, 5),                 // 25: POLLERR
        op(
            0,
            OpKind::Open {
                file: FileName::Data,
                flags: OpenFlags::default(),
            },
        ), // 26: 4
        poll(0, 4),                 // 27: POLLIN
        poll(0, 9),                 // 28: POLLNVAL
        poll(0, -1),                // 29: skipped
    ]);
    let m = known("pidfd_poll_pidfds_pipes_files", &c);
    for (step, want) in [
        (6, 0),
        (8, POLLIN | POLLHUP),
        (9, 0),
        (10, 0),
        (12, POLLIN),
        (13, POLLIN),
        (15, POLLIN | POLLHUP),
        (17, 0),
        (19, POLLIN),
        (20, 0),
        (22, POLLIN | POLLHUP),
        (25, 8),
        (27, POLLIN),
        (28, 32),
        (29, 0),
    ] {
        assert_eq!(m.outcomes[step], ret(want), "step {step}");
    }
}
