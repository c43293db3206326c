//! pidfd ops → agent commands: `pidfd_open`, `pidfd_send_signal`, `pidfd_getfd`, `setns`
//! with a pidfd, and `poll` with a zero timeout. `pidfd_open`'s pid is the target label as the caller's pid
//! namespace numbers it, resolved by the case ([`Case::op`](super::case::Case::op)).

use super::channel::{Cmd, AGENT_FD_BASE, FIX_REPLY_DATA, FIX_REPLY_FROM_CMD};
use super::ops::Expect;
use forkspec_model::OpKind;

/// `PIDFD_THREAD` (= `O_EXCL`, include/uapi/linux/pidfd.h).
const PIDFD_THREAD: u64 = libc::O_EXCL as u64;

/// A target fd number no task has open (above any `RLIMIT_NOFILE` a case runs with): what
/// `pidfd_getfd` is given for the agent's own fds, which are not the case's.
const NO_FD: u64 = 0x7fff_fff0;

/// The command for a pidfd op, or `None` for any other op. `pid` is the caller's number for
/// `pidfd_open`'s target.
pub fn encode(op: &OpKind, pid: i64) -> Option<(Cmd, Expect)> {
    let call = |nr: i64, a: [u64; 3]| Cmd {
        nr: nr as u64,
        args: [a[0], a[1], a[2], 0, 0, 0],
        ..Cmd::ZERO
    };
    // Sign-extended, as a C caller passing an int would.
    let int = |v: i32| v as i64 as u64;
    Some(match *op {
        OpKind::PidfdOpen {
            nonblock, thread, ..
        } => {
            let mut flags = 0;
            if nonblock {
                flags |= libc::O_NONBLOCK as u64;
            }
            if thread {
                flags |= PIDFD_THREAD;
            }
            (
                call(libc::SYS_pidfd_open, [pid as u64, flags, 0]),
                Expect::Ret,
            )
        }
        OpKind::PidfdSendSignal { fd, sig } => (
            call(libc::SYS_pidfd_send_signal, [int(fd), int(sig.0), 0]),
            Expect::Ret,
        ),
        OpKind::PidfdGetfd { pidfd, fd } => {
            // The target's agent fds are the lab's: a fresh program would not have them
            // open, so the call gets a number nobody has (the kernel's checks of the pidfd
            // and of the task still come first, as for any fd the target lacks).
            let target_fd = if fd >= AGENT_FD_BASE { NO_FD } else { int(fd) };
            (
                call(libc::SYS_pidfd_getfd, [int(pidfd), target_fd, 0]),
                Expect::Ret,
            )
        }
        // setns(int fd, int nstype): the low 32 bits of the flags, as a C caller passes them.
        OpKind::Setns { fd, flags } => (
            call(libc::SYS_setns, [int(fd), int(flags.0 as u32 as i32), 0]),
            Expect::Ret,
        ),
        OpKind::Poll { fd } => {
            // struct pollfd { int fd; short events; short revents; }, written back into the
            // reply's copy.
            // The agent's own fds are not the case's: poll sees a number nobody has instead
            // (POLLNVAL, as for any fd not open).
            let fd = if fd >= AGENT_FD_BASE {
                NO_FD as i32
            } else {
                fd
            };
            let mut c = call(libc::SYS_poll, [0, 1, 0]);
            c.data[0..4].copy_from_slice(&fd.to_ne_bytes());
            c.data[4..6].copy_from_slice(&libc::POLLIN.to_ne_bytes());
            c.len = 8;
            c.fix = FIX_REPLY_FROM_CMD | FIX_REPLY_DATA;
            (c, Expect::Poll)
        }
        _ => return None,
    })
}

/// The `revents` of a successful poll reply's `struct pollfd`.
pub fn revents(data: &[u8]) -> i64 {
    i64::from(i16::from_ne_bytes([data[6], data[7]]) as u16)
}
