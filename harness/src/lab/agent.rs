//! The agent: the loop every task of a case runs, and the start-up of the root task `t0`.
//!
//! Everything here runs in case tasks and uses raw system calls only: no allocation, no
//! std I/O, no `errno`, no locks, no panics. Later issues run agents in `CLONE_VM` children
//! that share the heap and TLS of their parent, where any of those would corrupt the parent.

use super::channel::{
    Cmd, Reply, AGENT_FD_BASE, AGENT_FD_LAST, CASE_NOFILE, DATA, FIX_CMD_DATA, FIX_FPROG,
    FIX_REPLY_DATA, FIX_REPLY_FROM_CMD, FIX_SIGACTION, K_CLONE, K_EXEC, K_FORK, K_LOAD, K_OBSERVE,
    K_STORE, K_SYSCALL, K_UNAME, REPLY_WRITE_FD, SLOTS,
};
use super::sys::{exit_group, raw, sc};
use super::trampoline::{clone_call, CloneCall};
use core::mem::size_of;

/// Where `t0` maps region `i`: `REGION_BASE + i * REGION_STRIDE`. The stride (16 TiB) is
/// larger than any page index an op can name (`u32` pages of 4 KiB), so an out-of-range
/// page of one region never lands in another region: the kernel answers with SIGSEGV.
pub const REGION_BASE: u64 = 0x1000_0000_0000;
/// See [`REGION_BASE`].
pub const REGION_STRIDE: u64 = 0x1000_0000_0000;

/// The pool of agent stacks, one per slot, mapped by `t0` before the first op: a CLONE_VM
/// child cannot run on its parent's stack, so every clone-like child switches to the stack
/// of its slot ([`super::trampoline`]). Above the four regions, below the user-space top.
pub const STACK_BASE: u64 = 0x6000_0000_0000;
/// Bytes per slot stack; the lowest 256 bytes are the slot's scratch area (the pidfd,
/// parent_tid and child_tid words and the `set_tid` array a clone writes or reads).
pub const STACK_SIZE: u64 = 256 * 1024;

/// Lowest address of the stack of `slot` (its scratch area). The pool starts at
/// [`STACK_BASE`] unless that was taken ([`super::layout`]).
pub fn stack_base(slot: u64) -> u64 {
    super::layout::stacks() + slot * STACK_SIZE
}

/// Address of page `page` of region `i`. Region 0 starts at [`REGION_BASE`] unless that was
/// taken ([`super::layout`]).
pub fn page_addr(region: usize, page: u64) -> u64 {
    super::layout::regions() + region as u64 * REGION_STRIDE + page * 4096
}

/// What `t0` needs to set itself up, prepared by the lab before the fork (the child only
/// reads it from its copy of the lab's memory).
#[derive(Clone, Copy, Debug)]
pub struct T0Plan {
    /// NUL-terminated case directory path.
    pub dir: *const u8,
    /// Pages per region.
    pub pages: u64,
    /// The process state every case starts from (signal dispositions and mask, fd limit,
    /// umask) is set already: `t0` comes from the zygote ([`super::zygote`]), not the lab.
    pub state_set: bool,
    /// Advise `MADV_NOHUGEPAGE` on the regions (only where the kernel has transparent huge
    /// pages: without CONFIG_TRANSPARENT_HUGEPAGE the advice is EINVAL, and needless).
    pub thp: bool,
}

/// Setup steps of `t0`, reported in `data[0]` of a failed ready reply.
pub mod step {
    /// setpgid
    pub const SETPGID: u8 = 1;
    /// rt_sigaction / sigprocmask
    pub const SIGNALS: u8 = 2;
    /// prlimit
    pub const RLIMIT: u8 = 3;
    /// chdir
    pub const CHDIR: u8 = 4;
    /// open data
    pub const OPEN: u8 = 5;
    /// mmap
    pub const MMAP: u8 = 6;
    /// madvise
    pub const MADVISE: u8 = 7;
    /// mmap of the stack pool
    pub const STACKS: u8 = 8;

    /// The name of a step, for the lab's error message.
    pub fn name(step: u8) -> &'static str {
        match step {
            SETPGID => "setpgid",
            SIGNALS => "resetting signal dispositions and mask",
            RLIMIT => "setting RLIMIT_NOFILE",
            CHDIR => "chdir into the case directory",
            OPEN => "opening the data file",
            MMAP => "mapping a region (mmap MAP_FIXED_NOREPLACE)",
            MADVISE => "madvise(MADV_NOHUGEPAGE) on a region",
            STACKS => "mapping the agent stack pool (mmap MAP_FIXED_NOREPLACE)",
            _ => "an unnamed step",
        }
    }
}

fn fail(step: u8, err: i64) -> ! {
    let mut r = Reply::ZERO;
    r.ret = if err < 0 { err } else { -(libc::EINVAL as i64) };
    r.data[0] = step;
    send_reply(&r);
    exit_group(127)
}

/// Sets the process state a case starts from, as a fresh program has it: default signal
/// dispositions, no alternate signal stack, an empty signal mask, the case fd limit and
/// umask 022. On failure, the set-up step ([`step`]) and `-errno`.
///
/// # Safety
/// Call only in a single-threaded task that runs raw syscalls only (`t0`, the zygote).
pub unsafe fn default_state() -> Result<(), (u8, i64)> {
    // SAFETY (whole block): raw syscalls with pointers to locals.
    unsafe {
        // The lab is a Rust program: std ignores SIGPIPE and installs SIGSEGV/SIGBUS handlers
        // on an alternate stack. A case starts from the defaults a fresh program would have.
        let dfl: [u64; 4] = [0; 4]; // handler SIG_DFL, flags 0, restorer 0, mask 0
        for sig in 1..=64u64 {
            if sig == libc::SIGKILL as u64 || sig == libc::SIGSTOP as u64 {
                continue;
            }
            let r = raw(
                libc::SYS_rt_sigaction,
                [sig, dfl.as_ptr() as u64, 0, 8, 0, 0],
            );
            if r < 0 {
                return Err((step::SIGNALS, r));
            }
        }
        let ss: [u64; 3] = [0, libc::SS_DISABLE as u64, 0];
        sc(libc::SYS_sigaltstack, ss.as_ptr() as u64, 0, 0);
        let empty: u64 = 0;
        let r = raw(
            libc::SYS_rt_sigprocmask,
            [
                libc::SIG_SETMASK as u64,
                &empty as *const u64 as u64,
                0,
                8,
                0,
                0,
            ],
        );
        if r < 0 {
            return Err((step::SIGNALS, r));
        }
        let mut lim = [0u64; 2];
        let r = raw(
            libc::SYS_prlimit64,
            [
                0,
                libc::RLIMIT_NOFILE as u64,
                0,
                lim.as_mut_ptr() as u64,
                0,
                0,
            ],
        );
        if r < 0 {
            return Err((step::RLIMIT, r));
        }
        lim[0] = CASE_NOFILE.min(lim[1]);
        let r = raw(
            libc::SYS_prlimit64,
            [0, libc::RLIMIT_NOFILE as u64, lim.as_ptr() as u64, 0, 0, 0],
        );
        if r < 0 {
            return Err((step::RLIMIT, r));
        }
        sc(libc::SYS_umask, 0o022, 0, 0);
    }
    Ok(())
}

fn send_reply(r: &Reply) {
    loop {
        // SAFETY: writes one reply (plain data on our stack) to the shared reply pipe.
        let n = unsafe {
            sc(
                libc::SYS_write,
                REPLY_WRITE_FD as u64,
                r as *const Reply as u64,
                size_of::<Reply>() as u64,
            )
        };
        if n != -(libc::EINTR as i64) {
            return;
        }
    }
}

/// The root task's start-up after the lab forked it: own process group, default signal
/// state, an empty fd table below the agent fds, the case directory as cwd, the four regions
/// mapped and untouched. Then it reports ready and becomes agent 0.
///
/// # Safety
/// Call only in the freshly forked child of a single-threaded lab, with `plan.dir` pointing to
/// a NUL-terminated string in memory the child owns.
pub unsafe fn t0_main(plan: T0Plan) -> ! {
    // SAFETY (whole block): raw syscalls with pointers to locals or to `plan.dir`, which the
    // caller guarantees; the mappings are placed with MAP_FIXED_NOREPLACE at addresses this
    // process does not use, so nothing existing is replaced.
    unsafe {
        let r = sc(libc::SYS_setpgid, 0, 0, 0);
        if r < 0 {
            fail(step::SETPGID, r);
        }
        // The task must not outlive the lab even when it is blocked in an op.
        sc(
            libc::SYS_prctl,
            libc::PR_SET_PDEATHSIG as u64,
            libc::SIGKILL as u64,
            0,
        );
        if !plan.state_set {
            if let Err((step, r)) = default_state() {
                fail(step, r);
            }
        }
        // Empty fd table except the agent channel: stdio and every lab fd go.
        close_range(0, AGENT_FD_BASE as u32 - 1);
        close_range(AGENT_FD_LAST as u32 + 1, u32::MAX);
        let r = sc(libc::SYS_chdir, plan.dir as u64, 0, 0);
        if r < 0 {
            fail(step::CHDIR, r);
        }
        let fd = raw(
            libc::SYS_openat,
            [
                libc::AT_FDCWD as i64 as u64,
                c"data".as_ptr() as u64,
                (libc::O_RDWR | libc::O_CLOEXEC) as u64,
                0,
                0,
                0,
            ],
        );
        if fd < 0 {
            fail(step::OPEN, fd);
        }
        let len = plan.pages * 4096;
        let prot = (libc::PROT_READ | libc::PROT_WRITE) as u64;
        let kinds: [(i32, i64); 4] = [
            (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1),
            (libc::MAP_SHARED | libc::MAP_ANONYMOUS, -1),
            (libc::MAP_PRIVATE, fd),
            (libc::MAP_SHARED, fd),
        ];
        for (i, (flags, f)) in kinds.iter().enumerate() {
            let addr = page_addr(i, 0);
            let r = raw(
                libc::SYS_mmap,
                [
                    addr,
                    len,
                    prot,
                    (flags | libc::MAP_FIXED_NOREPLACE) as u64,
                    *f as u64,
                    0,
                ],
            );
            if r < 0 {
                fail(step::MMAP, r);
            }
            if r as u64 != addr {
                // A kernel without MAP_FIXED_NOREPLACE treats it as a hint.
                fail(step::MMAP, -(libc::EEXIST as i64));
            }
            if plan.thp {
                let r = sc(libc::SYS_madvise, addr, len, libc::MADV_NOHUGEPAGE as u64);
                if r < 0 {
                    fail(step::MADVISE, r);
                }
            }
        }
        sc(libc::SYS_close, fd as u64, 0, 0);
        let r = map_stack_pool();
        if r as u64 != stack_base(0) {
            fail(step::STACKS, if r < 0 { r } else { -(libc::EEXIST as i64) });
        }
        send_reply(&Reply::ZERO);
        agent_loop(0)
    }
}

/// Maps the pool of agent stacks at its place ([`stack_base`]); the result of mmap (the
/// address, or `-errno`).
fn map_stack_pool() -> i64 {
    let prot = (libc::PROT_READ | libc::PROT_WRITE) as u64;
    // SAFETY: a new anonymous mapping at an address nothing in this process uses
    // (MAP_FIXED_NOREPLACE never replaces an existing mapping).
    unsafe {
        raw(
            libc::SYS_mmap,
            [
                stack_base(0),
                STACK_SIZE * SLOTS as u64,
                prot,
                (libc::MAP_PRIVATE
                    | libc::MAP_ANONYMOUS
                    | libc::MAP_NORESERVE
                    | libc::MAP_FIXED_NOREPLACE) as u64,
                u64::MAX,
                0,
            ],
        )
    }
}

/// The argument that marks a re-executed agent: `forkspec lab-agent SLOT SEQ`.
pub const REEXEC_ARG: &std::ffi::CStr = c"lab-agent";

/// Writes `v` in decimal, NUL-terminated, into `buf`; returns its address.
pub(super) fn decimal(buf: &mut [u8; 12], mut v: u32) -> u64 {
    let mut digits = [0u8; 10];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let mut i = 0;
    while i < n {
        buf[i] = digits[n - 1 - i];
        i += 1;
    }
    buf[n] = 0;
    buf.as_ptr() as u64
}

/// Runs a K_EXEC command: execve of the lab's binary, as a re-executed agent of `slot` that
/// answers `seq`, by the route the lab confirmed at start-up ([`super::reentry`]): the
/// binary's real path, or the runner's command line with it, so the new program runs in
/// the implementation under test. Returns only on failure, with `-errno` (`-ENOEXEC`
/// when no route was confirmed; the lab then refuses exec ops before they get here).
///
/// The environment is the lab's, so whatever marks the lab's processes (CI finds leftovers
/// by a TMPDIR in their environment) marks re-executed agents too, and the route reaches
/// them.
fn run_exec(slot: u32, seq: u32) -> i64 {
    let mut slot_buf = [0u8; 12];
    let mut seq_buf = [0u8; 12];
    let args = [
        REEXEC_ARG.as_ptr() as u64,
        decimal(&mut slot_buf, slot),
        decimal(&mut seq_buf, seq),
    ];
    let mut argv = [0u64; super::reentry::MAX_WORDS + 4];
    let Some(path) = super::reentry::argv(&args, &mut argv) else {
        return -(libc::ENOEXEC as i64);
    };
    // SAFETY: reads the C library's `environ` pointer (a plain global, set before main; no
    // TLS, no lock): the lab's environment as this task's copy of memory holds it, or what
    // a re-executed agent was given.
    let envp = unsafe { libc::environ } as u64;
    let empty: [u64; 1] = [0];
    let envp = if envp == 0 {
        empty.as_ptr() as u64
    } else {
        envp
    };
    // SAFETY: every pointer refers to a NUL-terminated string or a NULL-terminated array on
    // this stack, in the binary's read-only data, in the route's static buffer or in the
    // environment block; on success nothing of this program remains to be invalidated.
    unsafe { sc(libc::SYS_execve, path, argv.as_ptr() as u64, envp) }
}

/// The start of an agent re-executed by an `exec` op: it inherited the agent channel (the
/// command pipes and the reply pipe have no `FD_CLOEXEC`), maps a fresh stack pool for the
/// clones it may make, answers the exec command `seq` with 0 and serves `slot` again.
///
/// Returns (with a message) only when the channel is not there: the program was not started
/// by the lab.
pub fn reexec_main(slot: u32, seq: u32) -> Result<std::convert::Infallible, String> {
    if slot as usize >= SLOTS {
        return Err(format!("slot {slot} out of range"));
    }
    super::layout::adopt_from_env();
    super::reentry::adopt_from_env();
    for fd in [AGENT_FD_BASE + slot as i32, REPLY_WRITE_FD] {
        // SAFETY: F_GETFD takes no pointer.
        if unsafe { sc(libc::SYS_fcntl, fd as u64, libc::F_GETFD as u64, 0) } < 0 {
            return Err(format!("fd {fd} of the agent channel is not open"));
        }
    }
    let r = map_stack_pool();
    let mut reply = Reply::ZERO;
    reply.slot = slot;
    reply.seq = seq;
    reply.ret = if r < 0 { r } else { 0 };
    send_reply(&reply);
    // SAFETY: the channel fds are open (checked above) and this process is a case task.
    unsafe { agent_loop(slot) }
}

/// Closes `[first, last]`, falling back to single closes where close_range(2) is missing
/// (an emulator, a kernel before 5.9).
pub(super) fn close_range(first: u32, last: u32) {
    // SAFETY: closes only fds of this (fresh) task; none is in use by the agent code.
    unsafe {
        if super::layout::close_range_usable()
            && sc(libc::SYS_close_range, first as u64, last as u64, 0) == 0
        {
            return;
        }
        let end = last.min(65535);
        let mut fd = first;
        while fd <= end {
            sc(libc::SYS_close, fd as u64, 0, 0);
            fd += 1;
        }
    }
}

/// Where a clone-like child starts, on the stack of its slot: announce itself, then serve
/// its slot.
///
/// # Safety
/// Only the trampoline calls this, in a new task whose fd table holds the agent channel.
pub unsafe extern "C" fn child_start(slot: u64) -> ! {
    let mut r = Reply::ZERO;
    r.slot = slot as u32;
    r.seq = super::channel::BIRTH_SEQ;
    // SAFETY: gettid takes no arguments.
    r.ret = unsafe { sc(libc::SYS_gettid, 0, 0, 0) };
    send_reply(&r);
    // SAFETY: as the caller guarantees.
    unsafe { agent_loop(slot as u32) }
}

/// Runs a K_CLONE command: fills in the pointers of the call and goes through the
/// trampoline. Returns the parent's raw result.
///
/// # Safety
/// `cmd` was built by the lab for K_CLONE; `slot`'s stack is unused (a fresh slot).
unsafe fn run_clone(cmd: &mut Cmd) -> i64 {
    use super::channel::{
        CF_CHILD_TID, CF_PARENT_TID, CF_PIDFD, CF_SET_TID, CF_STACK, CF_STACK_SIZE, CF_TLS,
    };
    let nr = cmd.args[0] as i64;
    let slot = cmd.args[1];
    let fix = cmd.args[3];
    let scratch = stack_base(slot);
    let top = scratch + STACK_SIZE;
    // SAFETY: the scratch area is this slot's, mapped by t0 and unused by anyone else; the
    // arch_prctl call writes one u64 into a local.
    let tls = unsafe {
        core::ptr::write_volatile((scratch + 24) as *mut i32, 1);
        let mut fs: u64 = 0;
        sc(
            libc::SYS_arch_prctl,
            0x1003, // ARCH_GET_FS
            &mut fs as *mut u64 as u64,
            0,
        );
        fs
    };
    let call = if nr == libc::SYS_clone3 {
        let mut put = |off: usize, v: u64| {
            cmd.data[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        };
        for (bit, off, v) in [
            (CF_PIDFD, 8, scratch),
            (CF_CHILD_TID, 16, scratch + 16),
            (CF_PARENT_TID, 24, scratch + 8),
            (CF_STACK, 40, scratch + 256),
            (CF_STACK_SIZE, 48, STACK_SIZE - 256),
            (CF_TLS, 56, tls),
            (CF_SET_TID, 64, scratch + 24),
        ] {
            if fix & bit != 0 {
                put(off, v);
            }
        }
        CloneCall {
            nr,
            args: [cmd.data.as_ptr() as u64, cmd.args[2], 0, 0, 0, 0],
        }
    } else if nr == libc::SYS_clone {
        // x86_64: clone(flags, newsp, parent_tid, child_tid, tls).
        CloneCall {
            nr,
            args: [cmd.args[2], top, scratch + 8, scratch + 16, tls, 0],
        }
    } else {
        CloneCall { nr, args: [0; 6] }
    };
    // SAFETY: the child switches to the top of its slot's stack before touching memory.
    unsafe { clone_call(call, top, slot, child_start) }
}

/// Reads one command from `fd`; `false` on EOF or error (the lab is gone).
fn read_cmd(fd: i32, cmd: &mut Cmd) -> bool {
    loop {
        // SAFETY: reads at most one `Cmd` worth of plain data into `cmd`.
        let n = unsafe {
            sc(
                libc::SYS_read,
                fd as u64,
                cmd as *mut Cmd as u64,
                size_of::<Cmd>() as u64,
            )
        };
        if n == -(libc::EINTR as i64) {
            continue;
        }
        return n == size_of::<Cmd>() as i64;
    }
}

/// `uname(2)` into a buffer on this stack; copies the node name (the second of six 65-byte
/// fields) into `out` and returns its length, or `-errno`.
fn uname_nodename(out: &mut [u8]) -> i64 {
    const FIELD: usize = 65;
    let mut buf = [0u8; 6 * FIELD];
    // SAFETY: uname writes one `struct utsname` (six 65-byte fields) into the local buffer.
    let r = unsafe { sc(libc::SYS_uname, buf.as_mut_ptr() as u64, 0, 0) };
    if r < 0 {
        return r;
    }
    let node = &buf[FIELD..2 * FIELD];
    let mut n = 0;
    while n < FIELD && node[n] != 0 && n < out.len() {
        out[n] = node[n];
        n += 1;
    }
    n as i64
}

/// The agent loop of the task in `slot`: receive one command, run it, reply. Exits when the
/// lab closes the command pipes.
///
/// # Safety
/// Call only in a case task whose fd table holds the agent channel fds.
pub unsafe fn agent_loop(slot: u32) -> ! {
    let mut slot = slot;
    let mut cmd = Cmd::ZERO;
    let mut reply = Reply::ZERO;
    loop {
        if slot as usize >= SLOTS || !read_cmd(AGENT_FD_BASE + slot as i32, &mut cmd) {
            exit_group(0);
        }
        reply.slot = slot;
        reply.seq = cmd.seq;
        if cmd.fix & FIX_REPLY_FROM_CMD != 0 {
            // A plain copy (at most a memcpy): nothing allocates or touches TLS.
            reply.data[..DATA].copy_from_slice(&cmd.data);
        }
        if cmd.fix & FIX_SIGACTION != 0 {
            cmd.data[0..8].copy_from_slice(&super::handler::handler_addr().to_ne_bytes());
            cmd.data[16..24].copy_from_slice(&super::handler::restorer_addr().to_ne_bytes());
        }
        if cmd.fix & FIX_FPROG != 0 {
            let filter = cmd.data.as_ptr() as u64 + 16;
            cmd.data[8..16].copy_from_slice(&filter.to_ne_bytes());
        }
        let mut a = cmd.args;
        let mut i = 0;
        while i < 6 {
            if cmd.fix & (FIX_CMD_DATA << i) != 0 {
                a[i] = cmd.data.as_ptr() as u64;
            }
            if cmd.fix & (FIX_REPLY_DATA << i) != 0 {
                a[i] = reply.data.as_mut_ptr() as u64;
            }
            i += 1;
        }
        reply.ret = match cmd.kind {
            // SAFETY: the lab built the arguments for this syscall; pointer arguments were
            // just resolved to this task's own command/reply buffers. Anything else the call
            // does affects the case, which is the point.
            K_SYSCALL => unsafe { raw(cmd.nr as i64, a) },
            K_FORK => {
                // SAFETY: plain fork; the child continues on its own copy of this stack.
                let r = unsafe { sc(libc::SYS_fork, 0, 0, 0) };
                if r == 0 {
                    // The child: become the agent of the slot the lab reserved for it.
                    slot = a[0] as u32;
                    continue;
                }
                r
            }
            // SAFETY: see run_clone.
            K_CLONE => unsafe { run_clone(&mut cmd) },
            K_EXEC => run_exec(slot, cmd.seq),
            K_LOAD => {
                // SAFETY: loads from a case region address; a bad address kills this task with
                // SIGSEGV, which the lab observes as the op's outcome.
                reply.data[0] = unsafe { core::ptr::read_volatile(a[0] as *const u8) };
                0
            }
            K_STORE => {
                // SAFETY: as for K_LOAD.
                unsafe { core::ptr::write_volatile(a[0] as *mut u8, a[1] as u8) };
                0
            }
            K_UNAME => uname_nodename(&mut reply.data),
            K_OBSERVE => super::selfobs::observe_self(&cmd, &mut reply.data),
            _ => -(libc::ENOSYS as i64),
        };
        send_reply(&reply);
    }
}
