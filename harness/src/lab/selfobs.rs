//! Observation by the tasks themselves: the semantic level of a snapshot (DESIGN §6, source 1).
//!
//! What a program can see of its own state is asked by each task, with the system calls under
//! test, in one [`K_OBSERVE`] command per task (or a few for large fd tables): the blocked mask
//! (`rt_sigprocmask(SIG_BLOCK, NULL, &old)`), the pending set (`rt_sigpending`), every
//! disposition (`rt_sigaction(sig, NULL, &old)` for 1..=64), each listed fd's offset
//! (`lseek(fd, 0, SEEK_CUR)`), `FD_CLOEXEC` (`F_GETFD`) and status flags (`F_GETFL`), and the
//! first byte of each listed page (a load). Under a user-mode emulator /proc belongs to the
//! host process (its own handlers and masks); the answers here come from the implementation
//! under test.
//!
//! Which fds and pages are asked about is decided by the lab from /proc (the fd listing and
//! pagemap's present bit): a load of a page that is not present would fault it in and change
//! the presence, exclusivity and frame the internal level compares, so only present pages are
//! loaded (a load of a present page changes nothing observed: at most the accessed bit).
//!
//! Tasks that cannot answer (blocked in an op) are observed through /proc only where
//! [`probe_proc`] showed, for the lab's own process, that /proc agrees with these system
//! calls; otherwise their semantic fields are not compared.
//!
//! Layouts. Command `data`: `[0]` number of page spans, `[1]` number of fds, spans from byte 8
//! (`addr: u64`, `bitmap: u64`: bit `i` asks for the page at `addr + i * 4096`), then the fds
//! (`u16` each). `args[0]` bit 0 ([`ASK_SIGNALS`]) asks for the signal part, bit 1
//! ([`ASK_GROUP`]) for the group part. Reply `data`: the
//! signal part if asked ([`SIG_PART`] bytes: blocked, rt_sigpending, ignored, caught, and the
//! signals whose rt_sigaction query failed, `u64` each), then the group part if asked
//! ([`GROUP_PART`] bytes: `getpgid(0)`, `getsid(0)`, `i64` each), then per fd [`FD_PART`] bytes (`lseek`
//! result `i64`, `F_GETFD` result `i32`, `F_GETFL` result `i32`, raw `-errno` on failure), then
//! one byte per asked page in span order. `ret` is the number of bytes used, or `-errno` when
//! the observation itself failed (the mask or pending query, a malformed command).

use super::channel::{Cmd, DATA, K_OBSERVE, REPLY_DATA};
use super::sys::raw;

/// `args[0]` bit: answer the signal part.
pub const ASK_SIGNALS: u64 = 1;
/// `args[0]` bit: answer the group part (`getpgid(0)`, `getsid(0)`: raw results, `i64`
/// each), after the signal part.
pub const ASK_GROUP: u64 = 2;
/// Bytes of the group part of a reply.
pub const GROUP_PART: usize = 16;
/// Bytes of the signal part of a reply.
pub const SIG_PART: usize = 40;
/// Bytes of one fd's answer.
pub const FD_PART: usize = 16;
/// Bytes of one page span in a command.
const SPAN: usize = 16;
/// Where spans start in a command.
const SPANS_AT: usize = 8;

// ---------------------------------------------------------------------------------------
// Agent side: raw system calls only (runs in CLONE_VM children).
// ---------------------------------------------------------------------------------------

fn put(out: &mut [u8; REPLY_DATA], at: usize, bytes: &[u8]) {
    // Callers check `at + bytes.len() <= REPLY_DATA` before; the loop cannot index out of
    // bounds even if they did not (it stops at the end).
    let mut i = 0;
    while i < bytes.len() && at + i < REPLY_DATA {
        out[at + i] = bytes[i];
        i += 1;
    }
}

/// Runs a [`K_OBSERVE`] command in the calling task, answering into `out`; returns the bytes
/// used or `-errno`. Raw system calls and loads only: no allocation, no errno, no panics.
pub fn observe_self(cmd: &Cmd, out: &mut [u8; REPLY_DATA]) -> i64 {
    let nspans = cmd.data[0] as usize;
    let nfds = cmd.data[1] as usize;
    let fds_at = SPANS_AT + nspans * SPAN;
    if fds_at + 2 * nfds > DATA {
        return -(libc::EINVAL as i64);
    }
    let mut npages = 0usize;
    let mut s = 0;
    while s < nspans {
        npages += span_bitmap(cmd, s).count_ones() as usize;
        s += 1;
    }
    let signals = cmd.args[0] & ASK_SIGNALS != 0;
    let group = cmd.args[0] & ASK_GROUP != 0;
    let sig_bytes = if signals { SIG_PART } else { 0 } + if group { GROUP_PART } else { 0 };
    if sig_bytes + nfds * FD_PART + npages > REPLY_DATA {
        return -(libc::E2BIG as i64);
    }
    let mut at = 0;
    if signals {
        let r = signal_part(out);
        if r < 0 {
            return r;
        }
        at = SIG_PART;
    }
    if group {
        // SAFETY: getpgid(0) and getsid(0) take no pointers and change nothing.
        let (pgrp, sid) = unsafe {
            (
                raw(libc::SYS_getpgid, [0; 6]),
                raw(libc::SYS_getsid, [0; 6]),
            )
        };
        put(out, at, &pgrp.to_ne_bytes());
        put(out, at + 8, &sid.to_ne_bytes());
        at += GROUP_PART;
    }
    let mut i = 0;
    while i < nfds {
        let fd = u16::from_ne_bytes([cmd.data[fds_at + 2 * i], cmd.data[fds_at + 2 * i + 1]]);
        let fd = fd as u64;
        // SAFETY: lseek and fcntl with F_GETFD/F_GETFL take no pointers and change nothing.
        let (off, fdf, fl) = unsafe {
            (
                raw(libc::SYS_lseek, [fd, 0, libc::SEEK_CUR as u64, 0, 0, 0]),
                raw(libc::SYS_fcntl, [fd, libc::F_GETFD as u64, 0, 0, 0, 0]),
                raw(libc::SYS_fcntl, [fd, libc::F_GETFL as u64, 0, 0, 0, 0]),
            )
        };
        put(out, at, &off.to_ne_bytes());
        put(out, at + 8, &(fdf as i32).to_ne_bytes());
        put(out, at + 12, &(fl as i32).to_ne_bytes());
        at += FD_PART;
        i += 1;
    }
    let mut s = 0;
    while s < nspans {
        let base = span_addr(cmd, s);
        let bits = span_bitmap(cmd, s);
        let mut p = 0u64;
        while p < 64 {
            if bits & (1 << p) != 0 && at < REPLY_DATA {
                // SAFETY: the lab lists only pages of the case's regions that pagemap showed
                // present in this task's address space just before; no op runs in between.
                out[at] = unsafe { core::ptr::read_volatile((base + p * 4096) as *const u8) };
                at += 1;
            }
            p += 1;
        }
        s += 1;
    }
    at as i64
}

fn word(cmd: &Cmd, at: usize) -> u64 {
    let mut b = [0u8; 8];
    let mut i = 0;
    while i < 8 && at + i < DATA {
        b[i] = cmd.data[at + i];
        i += 1;
    }
    u64::from_ne_bytes(b)
}

fn span_addr(cmd: &Cmd, s: usize) -> u64 {
    word(cmd, SPANS_AT + s * SPAN)
}

fn span_bitmap(cmd: &Cmd, s: usize) -> u64 {
    word(cmd, SPANS_AT + s * SPAN + 8)
}

/// The signal part, as the task's own system calls report it.
fn signal_part(out: &mut [u8; REPLY_DATA]) -> i64 {
    let mut blocked: u64 = 0;
    let mut pending: u64 = 0;
    // SAFETY: both calls write one 8-byte sigset into a local.
    let (r1, r2) = unsafe {
        (
            raw(
                libc::SYS_rt_sigprocmask,
                [
                    libc::SIG_BLOCK as u64,
                    0,
                    &mut blocked as *mut u64 as u64,
                    8,
                    0,
                    0,
                ],
            ),
            raw(
                libc::SYS_rt_sigpending,
                [&mut pending as *mut u64 as u64, 8, 0, 0, 0, 0],
            ),
        )
    };
    if r1 < 0 {
        return r1;
    }
    if r2 < 0 {
        return r2;
    }
    let (mut ignored, mut caught, mut failed) = (0u64, 0u64, 0u64);
    let mut sig = 1u64;
    while sig <= 64 {
        // Kernel `struct sigaction`: handler, flags, restorer, mask.
        let mut old = [0u64; 4];
        // SAFETY: a query (NULL new action) writing one kernel sigaction into a local.
        let r = unsafe {
            raw(
                libc::SYS_rt_sigaction,
                [sig, 0, old.as_mut_ptr() as u64, 8, 0, 0],
            )
        };
        let bit = 1u64 << (sig - 1);
        if r < 0 {
            failed |= bit;
        } else if old[0] == libc::SIG_IGN as u64 {
            ignored |= bit;
        } else if old[0] != libc::SIG_DFL as u64 {
            caught |= bit;
        }
        sig += 1;
    }
    for (i, v) in [blocked, pending, ignored, caught, failed]
        .iter()
        .enumerate()
    {
        put(out, 8 * i, &v.to_ne_bytes());
    }
    0
}

// ---------------------------------------------------------------------------------------
// Lab side: what to ask, and what the answers mean.
// ---------------------------------------------------------------------------------------

/// A task's signal state as its own system calls report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelfSignals {
    /// `rt_sigprocmask(SIG_BLOCK, NULL, &old)`.
    pub blocked: u64,
    /// `rt_sigpending`: (thread ∪ process pending) ∩ blocked.
    pub sigpending: u64,
    /// Dispositions `SIG_IGN`.
    pub ignored: u64,
    /// Dispositions with a handler.
    pub caught: u64,
    /// Signals whose `rt_sigaction` query failed (disposition unknown).
    pub unknown: u64,
}

/// One fd as its task's system calls report it (raw results, `-errno` on failure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdAnswer {
    /// `lseek(fd, 0, SEEK_CUR)`.
    pub offset: i64,
    /// `fcntl(fd, F_GETFD)`.
    pub fd_flags: i32,
    /// `fcntl(fd, F_GETFL)`.
    pub status_flags: i32,
}

/// Everything one task answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelfView {
    /// The signal part.
    pub signals: Option<SelfSignals>,
    /// The group part: `getpgid(0)` and `getsid(0)` (raw results, `-errno` on failure).
    pub group: Option<(i64, i64)>,
    /// The fds asked about, in the order asked.
    pub fds: Vec<(i32, FdAnswer)>,
    /// The pages asked about: address and first byte.
    pub pages: Vec<(u64, u8)>,
}

/// How a task answered one command.
pub enum Answer {
    /// The reply's data.
    Data(Vec<u8>),
    /// The observation failed in the task (one of its calls returned an error).
    Failed,
    /// No answer: the task died or blocked.
    Silent,
}

/// The commands that ask one task about its signals, `fds` and the pages at `pages`
/// (addresses of present pages, ascending), each fitting one command and one reply.
pub fn commands(fds: &[i32], pages: &[u64]) -> Vec<Cmd> {
    // Page spans: up to 64 consecutive pages from the first address of each.
    let mut spans: Vec<(u64, u64)> = Vec::new();
    for &a in pages {
        match spans.last_mut() {
            Some((base, bits)) if a >= *base && (a - *base) / 4096 < 64 => {
                *bits |= 1 << ((a - *base) / 4096)
            }
            _ => spans.push((a, 1)),
        }
    }
    let mut out = Vec::new();
    let (mut fi, mut si) = (0, 0);
    loop {
        let mut c = Cmd {
            kind: K_OBSERVE,
            ..Cmd::ZERO
        };
        let mut reply = 0;
        if out.is_empty() {
            c.args[0] = ASK_SIGNALS | ASK_GROUP;
            reply = SIG_PART + GROUP_PART;
        }
        let mut these_spans: Vec<(u64, u64)> = Vec::new();
        let mut these_fds: Vec<u16> = Vec::new();
        let cmd_bytes = |s: usize, f: usize| SPANS_AT + s * SPAN + 2 * f;
        while si < spans.len()
            && these_spans.len() < 255
            && cmd_bytes(these_spans.len() + 1, 0) <= DATA
            && reply + spans[si].1.count_ones() as usize <= REPLY_DATA
        {
            reply += spans[si].1.count_ones() as usize;
            these_spans.push(spans[si]);
            si += 1;
        }
        while fi < fds.len()
            && these_fds.len() < 255
            && cmd_bytes(these_spans.len(), these_fds.len() + 1) <= DATA
            && reply + FD_PART <= REPLY_DATA
        {
            reply += FD_PART;
            these_fds.push(fds[fi] as u16);
            fi += 1;
        }
        c.data[0] = these_spans.len() as u8;
        c.data[1] = these_fds.len() as u8;
        for (k, (a, b)) in these_spans.iter().enumerate() {
            let at = SPANS_AT + k * SPAN;
            c.data[at..at + 8].copy_from_slice(&a.to_ne_bytes());
            c.data[at + 8..at + 16].copy_from_slice(&b.to_ne_bytes());
        }
        let fds_at = SPANS_AT + these_spans.len() * SPAN;
        for (k, f) in these_fds.iter().enumerate() {
            c.data[fds_at + 2 * k..fds_at + 2 * k + 2].copy_from_slice(&f.to_ne_bytes());
        }
        out.push(c);
        if fi == fds.len() && si == spans.len() {
            return out;
        }
    }
}

fn u64_at(d: &[u8], at: usize) -> Result<u64, String> {
    d.get(at..at + 8)
        .map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes")))
        .ok_or_else(|| "short observation reply".to_string())
}

/// Decodes the answers to `cmds` (one data block per command).
pub fn decode(cmds: &[Cmd], answers: &[Vec<u8>]) -> Result<SelfView, String> {
    let mut v = SelfView::default();
    for (c, d) in cmds.iter().zip(answers) {
        let mut at = 0;
        if c.args[0] & ASK_SIGNALS != 0 {
            v.signals = Some(SelfSignals {
                blocked: u64_at(d, 0)?,
                sigpending: u64_at(d, 8)?,
                ignored: u64_at(d, 16)?,
                caught: u64_at(d, 24)?,
                unknown: u64_at(d, 32)?,
            });
            at = SIG_PART;
        }
        if c.args[0] & ASK_GROUP != 0 {
            v.group = Some((u64_at(d, at)? as i64, u64_at(d, at + 8)? as i64));
            at += GROUP_PART;
        }
        let (nspans, nfds) = (c.data[0] as usize, c.data[1] as usize);
        let fds_at = SPANS_AT + nspans * SPAN;
        for k in 0..nfds {
            let fd = u16::from_ne_bytes([c.data[fds_at + 2 * k], c.data[fds_at + 2 * k + 1]]);
            let w = u64_at(d, at + 8)?;
            v.fds.push((
                fd as i32,
                FdAnswer {
                    offset: u64_at(d, at)? as i64,
                    fd_flags: w as u32 as i32,
                    status_flags: (w >> 32) as u32 as i32,
                },
            ));
            at += FD_PART;
        }
        for s in 0..nspans {
            let base = u64_at(&c.data, SPANS_AT + s * SPAN)?;
            let bits = u64_at(&c.data, SPANS_AT + s * SPAN + 8)?;
            for p in 0..64 {
                if bits & (1 << p) != 0 {
                    let b = *d.get(at).ok_or("short observation reply")?;
                    v.pages.push((base + p * 4096, b));
                    at += 1;
                }
            }
        }
    }
    Ok(v)
}

/// Which /proc files agree with the system calls for the lab's own process, so they may stand
/// in for a task that cannot answer (one blocked in an op).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcTrust {
    /// `SigBlk`, `SigIgn`, `SigCgt`, `SigPnd`/`ShdPnd` of /proc/PID/status.
    pub signals: bool,
    /// `pos` and `flags` of /proc/PID/fdinfo.
    pub fdinfo: bool,
    /// Bytes read through /proc/PID/mem.
    pub mem: bool,
}

/// Checks /proc against the system calls on the lab's own process: sets a known blocked mask,
/// a handler, an ignored signal and a pending signal on the calling thread (restored after),
/// opens a file with a known offset and flags, fills a buffer with a known byte, and compares
/// what /proc shows with what the calls say.
pub fn probe_proc() -> ProcTrust {
    ProcTrust {
        signals: probe_signals(),
        fdinfo: probe_fdinfo(),
        mem: probe_mem(),
    }
}

extern "C" fn probe_handler(_: libc::c_int) {}

fn status_sets() -> Option<[u64; 5]> {
    let s = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    let mut v = [None; 5];
    for line in s.lines() {
        let Some((k, val)) = line.split_once(':') else {
            continue;
        };
        let i = match k {
            "SigPnd" => 0,
            "ShdPnd" => 1,
            "SigBlk" => 2,
            "SigIgn" => 3,
            "SigCgt" => 4,
            _ => continue,
        };
        v[i] = u64::from_str_radix(val.trim(), 16).ok();
    }
    Some([v[0]?, v[1]?, v[2]?, v[3]?, v[4]?])
}

fn probe_signals() -> bool {
    const CAUGHT: i32 = libc::SIGUSR1;
    const IGNORED: i32 = libc::SIGUSR2;
    // A real-time signal no one sends the lab: blocked, default disposition.
    const BLOCKED: i32 = 37;
    let bit = |s: i32| 1u64 << (s - 1);
    // SAFETY: plain libc signal calls on the lab's own thread with local structs; every
    // change is undone below before returning, and the pending signal is consumed while
    // still blocked, so it is never delivered.
    unsafe {
        let mut old_mask: libc::sigset_t = std::mem::zeroed();
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, CAUGHT);
        libc::sigaddset(&mut set, BLOCKED);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old_mask) != 0 {
            return false;
        }
        let mut old_caught: libc::sigaction = std::mem::zeroed();
        let mut old_ignored: libc::sigaction = std::mem::zeroed();
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = probe_handler as *const () as usize;
        libc::sigaction(CAUGHT, &act, &mut old_caught);
        act.sa_sigaction = libc::SIG_IGN;
        libc::sigaction(IGNORED, &act, &mut old_ignored);
        libc::syscall(libc::SYS_tgkill, libc::getpid(), libc::gettid(), CAUGHT);
        let proc_sets = status_sets();
        let mut view = [0u8; REPLY_DATA];
        let ok_calls = signal_part(&mut view) == 0;
        let calls = [0, 8, 16, 24, 32]
            .map(|at| u64::from_ne_bytes(view[at..at + 8].try_into().expect("8 bytes")));
        // Undo: consume the pending signal, restore the dispositions and the mask.
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let mut only: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut only);
        libc::sigaddset(&mut only, CAUGHT);
        libc::sigtimedwait(&only, std::ptr::null_mut(), &zero);
        libc::sigaction(CAUGHT, &old_caught, std::ptr::null_mut());
        libc::sigaction(IGNORED, &old_ignored, std::ptr::null_mut());
        libc::pthread_sigmask(libc::SIG_SETMASK, &old_mask, std::ptr::null_mut());
        let Some([pnd, shd, blk, ign, cgt]) = proc_sets else {
            return false;
        };
        let [c_blk, c_pnd, c_ign, c_cgt, c_unknown] = calls;
        ok_calls
            && c_unknown == 0
            && c_blk & (bit(CAUGHT) | bit(BLOCKED)) == bit(CAUGHT) | bit(BLOCKED)
            && c_pnd & bit(CAUGHT) != 0
            && c_ign & bit(IGNORED) != 0
            && c_cgt & bit(CAUGHT) != 0
            && blk == c_blk
            && ign == c_ign
            && cgt == c_cgt
            && (pnd | shd) & blk == c_pnd
    }
}

/// The `pos` and `flags` lines of fdinfo text.
pub fn parse_fdinfo(s: &str) -> Option<(u64, u32)> {
    let (mut pos, mut flags) = (None, None);
    for line in s.lines() {
        if let Some(v) = line.strip_prefix("pos:") {
            pos = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("flags:") {
            flags = u32::from_str_radix(v.trim(), 8).ok();
        }
    }
    Some((pos?, flags?))
}

fn probe_fdinfo() -> bool {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: memfd_create returns a new fd we own; the other calls act on it alone.
    unsafe {
        let fd = libc::memfd_create(c"forkspec-probe".as_ptr(), libc::MFD_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let f = OwnedFd::from_raw_fd(fd);
        let fd = f.as_raw_fd();
        if libc::write(fd, b"0123456789".as_ptr().cast(), 10) != 10
            || libc::lseek(fd, 7, libc::SEEK_SET) != 7
            || libc::fcntl(fd, libc::F_SETFL, libc::O_APPEND | libc::O_NONBLOCK) != 0
        {
            return false;
        }
        let Ok(text) = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")) else {
            return false;
        };
        let Some((pos, flags)) = parse_fdinfo(&text) else {
            return false;
        };
        let fl = libc::fcntl(fd, libc::F_GETFL) as u32;
        let cloexec = libc::fcntl(fd, libc::F_GETFD) & libc::FD_CLOEXEC != 0;
        let keep = (libc::O_ACCMODE | libc::O_APPEND | libc::O_NONBLOCK) as u32;
        pos == libc::lseek(fd, 0, libc::SEEK_CUR) as u64
            && pos == 7
            && flags & keep == fl & keep
            && fl & (libc::O_APPEND | libc::O_NONBLOCK) as u32 != 0
            && (flags & libc::O_CLOEXEC as u32 != 0) == cloexec
            && cloexec
    }
}

fn probe_mem() -> bool {
    use std::os::unix::fs::FileExt;
    let buf = vec![0xa5u8; 4096];
    let Ok(mem) = std::fs::File::open("/proc/self/mem") else {
        return false;
    };
    let mut b = [0u8; 1];
    let addr = buf.as_ptr() as u64 + 17;
    mem.read_exact_at(&mut b, addr).is_ok() && b[0] == std::hint::black_box(&buf)[17]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_and_decode_round_trip() {
        // More fds and pages than one reply holds: several commands, the first with signals.
        let fds: Vec<i32> = (0..40).collect();
        let pages: Vec<u64> = (0..100).map(|p| 0x1000_0000_0000 + p * 4096).collect();
        let cmds = commands(&fds, &pages);
        assert!(cmds.len() > 1);
        assert_eq!(cmds[0].args[0], ASK_SIGNALS | ASK_GROUP);
        assert!(cmds[1..].iter().all(|c| c.args[0] == 0));
        // Answer them as an agent would, from a made-up state.
        let answers: Vec<Vec<u8>> = cmds
            .iter()
            .map(|c| {
                let mut d = Vec::new();
                if c.args[0] & ASK_SIGNALS != 0 {
                    for v in [1u64, 2, 3, 4, 5] {
                        d.extend_from_slice(&v.to_ne_bytes());
                    }
                }
                if c.args[0] & ASK_GROUP != 0 {
                    for v in [6i64, -3] {
                        d.extend_from_slice(&v.to_ne_bytes());
                    }
                }
                let (ns, nf) = (c.data[0] as usize, c.data[1] as usize);
                for k in 0..nf {
                    let at = SPANS_AT + ns * SPAN + 2 * k;
                    let fd = u16::from_ne_bytes([c.data[at], c.data[at + 1]]) as i64;
                    d.extend_from_slice(&(fd * 10).to_ne_bytes());
                    d.extend_from_slice(&(fd as i32).to_ne_bytes());
                    d.extend_from_slice(&(-(fd as i32)).to_ne_bytes());
                }
                for s in 0..ns {
                    let bits = span_bitmap(c, s);
                    for p in 0..64 {
                        if bits & (1 << p) != 0 {
                            d.push(((span_addr(c, s) / 4096 + p) % 251) as u8);
                        }
                    }
                }
                assert!(d.len() <= REPLY_DATA);
                d
            })
            .collect();
        let v = decode(&cmds, &answers).unwrap();
        assert_eq!(v.signals.map(|s| s.unknown), Some(5));
        assert_eq!(v.group, Some((6, -3)));
        assert_eq!(v.fds.len(), 40);
        assert!(v
            .fds
            .iter()
            .all(|(fd, a)| a.offset == *fd as i64 * 10 && a.status_flags == -fd));
        let got: Vec<u64> = v.pages.iter().map(|p| p.0).collect();
        assert_eq!(got, pages);
        assert!(v.pages.iter().all(|(a, b)| *b == ((a / 4096) % 251) as u8));
    }

    #[test]
    fn the_agent_answers_for_its_own_process() {
        // The agent's code path, run in the test's own thread: an fd with a known offset and
        // a page with a known byte.
        use std::io::{Seek, SeekFrom, Write};
        let mut f = tempfile_in_shm();
        f.write_all(b"abcdef").unwrap();
        f.seek(SeekFrom::Start(4)).unwrap();
        let page = vec![0x5au8; 8192];
        let addr = (page.as_ptr() as u64).next_multiple_of(4096);
        let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
        let cmds = commands(&[fd], &[addr]);
        assert_eq!(cmds.len(), 1);
        let mut out = [0u8; REPLY_DATA];
        let n = observe_self(&cmds[0], &mut out);
        assert_eq!(n as usize, SIG_PART + GROUP_PART + FD_PART + 1);
        let v = decode(&cmds, &[out[..n as usize].to_vec()]).unwrap();
        assert_eq!(v.fds[0].1.offset, 4);
        assert_eq!(v.fds[0].1.fd_flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
        assert_eq!(v.fds[0].1.status_flags & libc::O_ACCMODE, libc::O_RDWR);
        assert_eq!(v.pages, vec![(addr, 0x5a)]);
        assert_eq!(v.signals.unwrap().unknown, 0);
        // SAFETY: getpgid and getsid change nothing.
        let own = unsafe { (libc::getpgid(0) as i64, libc::getsid(0) as i64) };
        assert_eq!(v.group, Some(own));
    }

    fn tempfile_in_shm() -> std::fs::File {
        use std::os::fd::FromRawFd;
        // SAFETY: memfd_create returns a new fd we own.
        unsafe {
            let fd = libc::memfd_create(c"selfobs-test".as_ptr(), libc::MFD_CLOEXEC);
            assert!(fd >= 0);
            std::fs::File::from_raw_fd(fd)
        }
    }

    #[test]
    fn proc_agrees_with_the_calls_on_linux() {
        let t = probe_proc();
        assert_eq!(
            t,
            ProcTrust {
                signals: true,
                fdinfo: true,
                mem: true
            }
        );
    }
}
