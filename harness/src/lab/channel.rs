//! The command and reply channels between the lab and its agents.
//!
//! Layout (fixed fd numbers, so the agent loop needs no state beyond its slot number):
//! - one command pipe per task slot: the read end at `AGENT_FD_BASE + slot` (inherited by every
//!   agent), the write end at `LAB_FD_BASE + slot` (held by the lab alone, closed in `t0`);
//! - one reply pipe shared by all agents: the write end at [`REPLY_WRITE_FD`] (inherited), the
//!   read end at [`REPLY_READ_FD`] (lab only, non-blocking).
//!
//! Messages are fixed-size and far below `PIPE_BUF`, so every write is atomic and every read
//! of exactly one message size returns exactly one message. Only the lab holds command write
//! ends, so when the lab dies every agent reading its command pipe sees EOF and exits; when
//! the lab dies the reply pipe loses its reader, so an agent that finishes a blocked op dies of
//! SIGPIPE when it replies.
//!
//! The agents' fds sit at 1024 and above: `t0` runs with the default soft `RLIMIT_NOFILE` of
//! 1024, so no op (`dup2`, `F_DUPFD`, ...) can reach or clobber them, and every fd below 1024
//! is the case's own.

use std::io;

/// Task slots (command pipes) per case: at most this many tasks can be created in one case.
pub const SLOTS: usize = 64;
/// First agent-held fd: the command read end of slot 0.
pub const AGENT_FD_BASE: i32 = 1024;
/// The reply pipe's write end, held by every agent.
pub const REPLY_WRITE_FD: i32 = AGENT_FD_BASE + SLOTS as i32;
/// Last fd an agent keeps (inclusive); `t0` closes everything else.
pub const AGENT_FD_LAST: i32 = REPLY_WRITE_FD;
/// First lab-only fd: the command write end of slot 0.
pub const LAB_FD_BASE: i32 = 1200;
/// The reply pipe's read end (lab only).
pub const REPLY_READ_FD: i32 = LAB_FD_BASE + SLOTS as i32;
/// The soft `RLIMIT_NOFILE` the lab needs for this layout.
pub const LAB_NOFILE: u64 = 2048;
/// The soft `RLIMIT_NOFILE` the case's tasks run with (the Linux default).
pub const CASE_NOFILE: u64 = 1024;
/// Largest payload of a command (a `clone_args` of up to 192 bytes fits).
pub const DATA: usize = 192;
/// Largest payload of a reply: larger than a command's, so that one observation
/// ([`K_OBSERVE`], [`super::selfobs`]) answers for a task's signals, a typical fd table and
/// its present pages in one round trip.
pub const REPLY_DATA: usize = 448;

/// Command kinds.
pub const K_SYSCALL: u32 = 0;
/// fork: `args[0]` is the child's slot.
pub const K_FORK: u32 = 1;
/// Load the byte at `args[0]`.
pub const K_LOAD: u32 = 2;
/// Store `args[1]` at `args[0]`.
pub const K_STORE: u32 = 3;
/// vfork / clone / clone3 through the stack-switching trampoline: `args[0]` is the system
/// call, `args[1]` the child's slot, `args[2]` the legacy flags word or the clone3 size;
/// `args[3]` holds the `CF_*` fix-up bits. clone3's `clone_args` is in `data`.
pub const K_CLONE: u32 = 4;
/// execve(2) of the agent binary (`[RUNNER...] forkspec lab-agent SLOT SEQ`, see `reentry.rs`): the new program
/// reattaches to the slot's channel and replies to `SEQ` itself. Only a failure returns to
/// the old program.
pub const K_EXEC: u32 = 5;
/// `CF_*`: fill the pointer fields of `clone_args` with addresses in the child slot's
/// scratch area (pidfd, child_tid, parent_tid, set_tid), the child slot's stack, or the
/// current TLS base.
pub const CF_PIDFD: u64 = 1;
/// See [`CF_PIDFD`].
pub const CF_CHILD_TID: u64 = 2;
/// See [`CF_PIDFD`].
pub const CF_PARENT_TID: u64 = 4;
/// See [`CF_PIDFD`]: `stack`.
pub const CF_STACK: u64 = 8;
/// See [`CF_PIDFD`]: `stack_size`.
pub const CF_STACK_SIZE: u64 = 16;
/// See [`CF_PIDFD`]: `set_tid` points to `[1]`.
pub const CF_SET_TID: u64 = 32;
/// See [`CF_PIDFD`]: `tls`.
pub const CF_TLS: u64 = 64;
/// The sequence number of the message a new task sends before its first command ("born in
/// slot `slot`, tid `ret` in its own pid namespace"). The lab never uses it for commands.
pub const BIRTH_SEQ: u32 = u32::MAX;

/// `fix` bit: argument `i` becomes a pointer to the command's `data` (bit `i`) or to the
/// reply's `data` (bit `8 + i`), resolved by the agent in its own address space.
pub const FIX_CMD_DATA: u32 = 1;
/// See [`FIX_CMD_DATA`].
pub const FIX_REPLY_DATA: u32 = 1 << 8;
/// `fix` bit: the reply's `data` starts as a copy of the command's, for calls that read a
/// structure and write the answer back into it (`F_GETLK`).
pub const FIX_REPLY_FROM_CMD: u32 = 1 << 16;
/// `fix` bit: the command's `data` starts with a kernel `struct sigaction` (handler, flags,
/// restorer, mask); the agent writes its own handler and restorer addresses into it. Code
/// addresses are the agent's: after an exec of the agent they differ from the lab's.
pub const FIX_SIGACTION: u32 = 1 << 17;
/// `fix` bit: the command's `data` starts with a `struct sock_fprog` (length, then the
/// filter's address) followed by the filter at offset 16; the agent writes that address,
/// its own, into the structure.
pub const FIX_FPROG: u32 = 1 << 18;
/// `uname` into a local buffer; the reply's `data[..ret]` is the node name.
pub const K_UNAME: u32 = 6;
/// The task observes itself with the system calls under test (signal mask, dispositions,
/// pending set, fd offsets and flags, loads of pages): `data` lists what, `args[0]` bit 0
/// asks for the signal part; the reply's `data[..ret]` holds the answers
/// ([`super::selfobs`]).
pub const K_OBSERVE: u32 = 7;

/// One command to one agent.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Cmd {
    /// Sequence number, echoed in the reply.
    pub seq: u32,
    /// One of the `K_*` kinds.
    pub kind: u32,
    /// System call number for [`K_SYSCALL`].
    pub nr: u64,
    /// Arguments.
    pub args: [u64; 6],
    /// Pointer fix-ups (`FIX_*` bits).
    pub fix: u32,
    /// Bytes used in `data`.
    pub len: u32,
    /// Inline payload (write data, a NUL-terminated file name).
    pub data: [u8; DATA],
}

impl Cmd {
    /// A zeroed command.
    pub const ZERO: Cmd = Cmd {
        seq: 0,
        kind: 0,
        nr: 0,
        args: [0; 6],
        fix: 0,
        len: 0,
        data: [0; DATA],
    };
}

/// One reply from an agent.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Reply {
    /// The agent's slot.
    pub slot: u32,
    /// The command's sequence number.
    pub seq: u32,
    /// Raw result (`-errno` on failure).
    pub ret: i64,
    /// Output buffer (read data, pipe fds, wait status, an observation).
    pub data: [u8; REPLY_DATA],
}

impl Reply {
    /// A zeroed reply.
    pub const ZERO: Reply = Reply {
        slot: 0,
        seq: 0,
        ret: 0,
        data: [0; REPLY_DATA],
    };
}

// Atomic pipe writes and one-message reads rely on messages below PIPE_BUF (4096).
const _: () = assert!(std::mem::size_of::<Cmd>() <= 512 && std::mem::size_of::<Reply>() <= 512);

/// Moves `fd` to exactly `target` and closes the original.
fn place(fd: i32, target: i32, cloexec: bool) -> io::Result<()> {
    let flags = if cloexec { libc::O_CLOEXEC } else { 0 };
    // SAFETY: dup3/close on fds this module just created; `target` is reserved for the lab.
    unsafe {
        if libc::dup3(fd, target, flags) < 0 {
            let e = io::Error::last_os_error();
            libc::close(fd);
            return Err(e);
        }
        libc::close(fd);
    }
    Ok(())
}

/// The lab's side of the channels. The fds are fixed numbers, so this holds no state; it
/// exists to make "the channels are open" a typed fact.
#[derive(Clone, Copy)]
pub struct Channel(());

impl Channel {
    /// Creates every pipe at its fixed fd. The caller must have raised `RLIMIT_NOFILE`.
    pub fn open() -> io::Result<Channel> {
        let mk = || -> io::Result<[i32; 2]> {
            let mut p = [0i32; 2];
            // SAFETY: pipe2 writes two ints into `p`.
            if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(p)
        };
        for slot in 0..SLOTS as i32 {
            let [r, w] = mk()?;
            // The agent ends must survive a later exec of the agent, so no FD_CLOEXEC there.
            place(r, AGENT_FD_BASE + slot, false)?;
            place(w, LAB_FD_BASE + slot, true)?;
        }
        let [r, w] = mk()?;
        place(r, REPLY_READ_FD, true)?;
        place(w, REPLY_WRITE_FD, false)?;
        // SAFETY: fcntl on our own fd; the read end's description is not shared with agents
        // (they hold the write end, a different description), so O_NONBLOCK is ours alone.
        unsafe {
            libc::fcntl(REPLY_READ_FD, libc::F_SETFL, libc::O_NONBLOCK);
        }
        Ok(Channel(()))
    }

    /// Sends `cmd` to the agent of `slot`.
    pub fn send(&self, slot: usize, cmd: &Cmd) -> io::Result<()> {
        assert!(slot < SLOTS);
        let n = std::mem::size_of::<Cmd>();
        loop {
            // SAFETY: writes `n` bytes from a live `Cmd` to our own command pipe.
            let r =
                unsafe { libc::write(LAB_FD_BASE + slot as i32, (cmd as *const Cmd).cast(), n) };
            if r == n as isize {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if r < 0 && e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(if r < 0 {
                e
            } else {
                io::Error::other("short write on a command pipe")
            });
        }
    }

    /// Appends every reply available now to `out` without blocking.
    pub fn recv(&self, out: &mut Vec<Reply>) -> io::Result<()> {
        const BATCH: usize = 32;
        let mut buf = [Reply::ZERO; BATCH];
        let size = std::mem::size_of::<Reply>();
        loop {
            // SAFETY: reads into a local array of plain-old-data replies.
            let r = unsafe { libc::read(REPLY_READ_FD, buf.as_mut_ptr().cast(), size * BATCH) };
            if r < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return Ok(()),
                    _ => return Err(e),
                }
            }
            let r = r as usize;
            if r / size * size != r {
                return Err(io::Error::other("torn reply on the reply pipe"));
            }
            out.extend_from_slice(&buf[..r / size]);
            if r < size * BATCH {
                return Ok(());
            }
        }
    }

    /// Throws away every command still queued for `slot` (one its task never read), so a
    /// later case starts with an empty pipe. Only call when no agent is alive.
    pub fn drain_slot(&self, slot: usize) {
        let fd = AGENT_FD_BASE + slot as i32;
        let mut buf = [0u8; 4096];
        loop {
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: poll on one pollfd; read into a local buffer. The read end is shared
            // with (dead) agents' descriptions, so we poll instead of setting O_NONBLOCK.
            unsafe {
                if libc::poll(&mut p, 1, 0) != 1 || p.revents & libc::POLLIN == 0 {
                    return;
                }
                if libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) <= 0 {
                    return;
                }
            }
        }
    }
}
