//! Settlement by observation: whether a task that has not answered its command is asleep in
//! that command's own system call (then it is blocked), or still on its way (then the lab
//! waits for it). No deadline decides "blocked" where /proc/PID/syscall is there
//! ([`super::facility::Facilities::proc_syscall`]).
//!
//! /proc/PID/task/TID/syscall (CONFIG_HAVE_ARCH_TRACEHOOK; reading it needs
//! `PTRACE_MODE_ATTACH` access, which the lab has over its own descendants) shows
//! `running` while the task runs or is runnable, `-1 SP PC` outside a system call, and
//! `NR ARG0 .. ARG5 SP PC` (hexadecimal arguments) for a task asleep in system call `NR`:
//! fs/proc/base.c proc_pid_syscall and lib/syscall.c task_current_syscall, which reads the
//! registers only while the task stays off the CPU in one sleep (wait_task_inactive before
//! and after). Between two commands an agent sleeps in `read` of its own command pipe
//! (fd 1024 and above, [`super::channel`]), which no op's `read` names, so the number and
//! the first argument tell "asleep in the op" from "done with it".
//!
//! The sleep state tells a wait from a passing sleep on a lock or on I/O, which is
//! `TASK_UNINTERRUPTIBLE` (`D`): every wait an op can block in is `TASK_INTERRUPTIBLE`
//! (`S`): fs/pipe.c pipe_read and pipe_write (`wait_event_interruptible_exclusive`),
//! kernel/exit.c do_wait (`set_current_state(TASK_INTERRUPTIBLE)`), fs/locks.c
//! locks_lock_inode_wait via flock_lock_inode_wait and fcntl_setlk
//! (`wait_event_interruptible`). The one wait in `D` is a vfork parent's
//! (kernel/fork.c wait_for_vfork_done, `TASK_KILLABLE`), which the lab knows without
//! looking: the child's birth message arrived and its exit or exec did not.

use std::sync::atomic::{AtomicBool, Ordering};

/// Where an op's task sleeps when it blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sleep {
    /// The system call number.
    pub nr: i64,
    /// Its first argument (the fd of a read, write or flock; the pid of a wait4).
    pub arg0: u64,
    /// The state letter of /proc/PID/stat the wait shows (`S`).
    pub state: u8,
}

/// One line of /proc/PID/task/TID/syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallLine {
    /// The task runs or is runnable: `running`.
    Running,
    /// Asleep outside a system call (`-1 SP PC`: a page fault, a stop).
    NoSyscall,
    /// Asleep in system call `nr` with these arguments, at this user stack pointer and
    /// program counter.
    In {
        /// The system call number.
        nr: i64,
        /// Its six arguments.
        args: [u64; 6],
        /// User stack pointer and program counter.
        sp_pc: [u64; 2],
    },
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// Parses the text of /proc/PID/task/TID/syscall; `None` for anything else.
pub fn parse_syscall(text: &str) -> Option<SyscallLine> {
    let text = text.trim();
    if text == "running" {
        return Some(SyscallLine::Running);
    }
    let mut f = text.split_ascii_whitespace();
    let nr: i64 = f.next()?.parse().ok()?;
    let rest: Vec<u64> = f.map(hex).collect::<Option<_>>()?;
    match (nr, rest.len()) {
        (n, 2) if n < 0 => Some(SyscallLine::NoSyscall),
        (n, 8) if n >= 0 => Some(SyscallLine::In {
            nr,
            args: rest[..6].try_into().ok()?,
            sp_pc: [rest[6], rest[7]],
        }),
        _ => None,
    }
}

/// The state letter of the text of /proc/PID/task/TID/stat (after the last `)`, as comm
/// may hold any byte).
pub fn parse_state(stat: &str) -> Option<u8> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_ascii_whitespace()
        .next()
        .and_then(|s| s.bytes().next())
}

/// The settle decision over three reads of a task's /proc files, in this order: its
/// syscall line, its stat, its syscall line again. Blocked only when both syscall lines
/// show it asleep in `sleep`'s call, with the same registers (the same sleep, or a sleep
/// again in the same call after a restart: never a new command), and the stat read between
/// them shows `sleep.state`. A task running, runnable, asleep in another call (its agent's
/// read of the next command, a write of its reply), or in a passing `D` sleep in the op's
/// call, is not blocked: the lab waits on.
pub fn decide(sleep: &Sleep, before: &str, stat: &str, after: &str) -> bool {
    let Some(line @ SyscallLine::In { nr, args, .. }) = parse_syscall(before) else {
        return false;
    };
    nr == sleep.nr
        && args[0] == sleep.arg0
        && parse_state(stat) == Some(sleep.state)
        && parse_syscall(after) == Some(line)
}

/// Whether task `tid` (a thread id in the lab's pid namespace) is asleep in `sleep` now.
pub fn asleep_in(tid: i32, sleep: &Sleep) -> bool {
    let dir = format!("/proc/{tid}/task/{tid}");
    let read = |name: &str| std::fs::read_to_string(format!("{dir}/{name}")).ok();
    let Some(before) = read("syscall") else {
        return false;
    };
    // Most looks find the task running or in another call: one read decides those.
    if !matches!(parse_syscall(&before), Some(SyscallLine::In { nr, .. }) if nr == sleep.nr) {
        return false;
    }
    let (Some(stat), Some(after)) = (read("stat"), read("syscall")) else {
        return false;
    };
    decide(sleep, &before, &stat, &after)
}

/// Whether task `tid` is in state `state` (/proc/PID/task/TID/stat), `None` when that
/// cannot be read: the fallback without /proc/PID/syscall, for a task that has not
/// answered. A woken task shows `R` until it has answered (the write of its answer sleeps,
/// if at all, on the pipe's mutex, in `D`), so `S` with no answer read afterwards is a task
/// asleep again in its op, or in a passing `S` sleep inside it, which this cannot tell.
pub fn sleeping(tid: i32, state: u8) -> Option<bool> {
    let stat = std::fs::read_to_string(format!("/proc/{tid}/task/{tid}/stat")).ok()?;
    if parse_state(&stat)? != state {
        return Some(false);
    }
    // `S` is also the state of a woken task that runs on: kernel/exit.c do_wait sets
    // TASK_INTERRUPTIBLE before each pass over the children, the reaping of the one that
    // woke it included, and a loaded CPU may hold it there. Only a task off the run queue
    // has a wait channel (get_wchan gives 0 while `on_rq`), where the probe found it told.
    if WCHAN.load(Ordering::Relaxed) {
        return Some(wchan_named(tid));
    }
    Some(true)
}

/// Whether /proc/PID/task/TID/wchan names a wait channel for a task asleep off the run
/// queue (it reads `0` for one on it): found by [`probe`] with its child asleep in read(2).
static WCHAN: AtomicBool = AtomicBool::new(false);

/// Whether task `tid`'s wait channel is named: it sleeps off the run queue.
fn wchan_named(tid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{tid}/task/{tid}/wchan"))
        .is_ok_and(|w| !w.trim().is_empty() && w.trim() != "0")
}

/// Whether task `tid` is stopped (a group stop, state `T`) and, where
/// /proc/PID/task/TID/syscall is there, off the CPU in that stop: the syscall file is read
/// only while the task stays inactive (task_current_syscall → wait_task_inactive), and
/// kernel/signal.c do_signal_stop notifies the parent (do_notify_parent_cldstop) before it
/// sleeps, so the parent's SIGCHLD is queued by then.
pub fn stopped(tid: i32) -> bool {
    let dir = format!("/proc/{tid}/task/{tid}");
    // `t`: the same stop under a tracer (a runner such as strace keeps a tracee's group
    // stop as a ptrace stop).
    let stop = |s: Option<String>| matches!(s.as_deref().and_then(parse_state), Some(b'T' | b't'));
    if !stop(std::fs::read_to_string(format!("{dir}/stat")).ok()) {
        return false;
    }
    if !super::facility::get().proc_syscall {
        return true;
    }
    let line = std::fs::read_to_string(format!("{dir}/syscall")).ok();
    let again = std::fs::read_to_string(format!("{dir}/stat")).ok();
    !matches!(
        line.as_deref().and_then(parse_syscall),
        None | Some(SyscallLine::Running)
    ) && stop(again)
}

/// What task `tid` is doing, for a message: its state letter and syscall line.
pub fn describe(tid: i32) -> String {
    let dir = format!("/proc/{tid}/task/{tid}");
    let state = std::fs::read_to_string(format!("{dir}/stat"))
        .ok()
        .and_then(|s| parse_state(&s))
        .map_or("gone".to_string(), |c| (c as char).to_string());
    let line = std::fs::read_to_string(format!("{dir}/syscall"))
        .map_or_else(|e| format!("unreadable ({e})"), |s| s.trim().to_string());
    format!("state {state}, /proc syscall line `{line}`")
}

/// Whether /proc/PID/task/TID/syscall shows a child of the lab asleep in `read(2)` of an
/// empty pipe the way [`asleep_in`] needs it: the file exists, the lab may read it (ptrace
/// access: Yama's scope 2 or 3 refuses even descendants), and it holds the call and its
/// arguments (an emulator or gVisor lacks the file or fakes it). Call while the lab is
/// single-threaded (it forks).
///
/// No fixed clock decides: under valgrind on a loaded machine a fork takes a second or more,
/// and a probe that gave up after one second turned settlement over to the op deadline
/// (60–120 s there) for the rest of the lab's life. The child says when it is about to read
/// (a byte on a second pipe, whose end of file also tells of its death), and is then given
/// [`PROBE_FORKS`] times as long as its fork took to get there to be seen asleep.
///
/// The same child shows whether /proc/PID/task/TID/wchan names its wait channel, which
/// [`sleeping`] then uses; where `syscall` is false (denied) only that is looked for.
pub fn probe(syscall: bool) -> bool {
    let mut p = [0i32; 2];
    let mut ready = [0i32; 2];
    // SAFETY: pipe2 fills local arrays.
    unsafe {
        if libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return false;
        }
        if libc::pipe2(ready.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            libc::close(p[0]);
            libc::close(p[1]);
            return false;
        }
    }
    let start = std::time::Instant::now();
    // SAFETY: the lab is single-threaded here; the child only writes, reads and exits.
    let pid = unsafe { super::reap::fork() };
    if pid == 0 {
        let mut b = 0u8;
        // SAFETY: one byte from a local, one byte into a local, then leaves without running
        // lab code.
        unsafe {
            libc::write(ready[1], b"r".as_ptr().cast(), 1);
            libc::read(p[0], (&mut b as *mut u8).cast(), 1);
            libc::_exit(0);
        }
    }
    // SAFETY: our copy of the write end goes, so the read below ends at the child's byte or
    // at its death (end of file), whichever comes first.
    unsafe { libc::close(ready[1]) };
    let mut ok = false;
    if pid > 0 && await_ready(ready[0]) {
        let sleep = Sleep {
            nr: libc::SYS_read,
            arg0: p[0] as u64,
            state: b'S',
        };
        let bound = PROBE_MIN.max(start.elapsed() * PROBE_FORKS);
        let end = std::time::Instant::now() + bound;
        let mut tick = std::time::Duration::from_micros(200);
        loop {
            if syscall && asleep_in(pid, &sleep) {
                ok = true;
                // Asleep in its read: the wait channel, if told at all, is named now.
                WCHAN.store(wchan_named(pid), Ordering::Relaxed);
                break;
            }
            if !syscall && wchan_named(pid) {
                WCHAN.store(true, Ordering::Relaxed);
                break;
            }
            if std::time::Instant::now() >= end {
                break;
            }
            std::thread::sleep(tick);
            tick = (tick * 2).min(std::time::Duration::from_millis(20));
        }
    }
    // SAFETY: wakes the child (its read gets the byte) and closes our pipes.
    unsafe {
        libc::write(p[1], b"x".as_ptr().cast(), 1);
        libc::close(p[0]);
        libc::close(p[1]);
        libc::close(ready[0]);
    }
    if pid > 0 {
        super::reap::reap_pid(pid);
    }
    ok
}

/// The least time the probe's child gets to be seen asleep in its read after it said it was
/// about to: far more than a native fork needs.
const PROBE_MIN: std::time::Duration = std::time::Duration::from_secs(1);
/// How many times its own fork's duration the probe's child gets to be seen asleep: getting
/// from its ready byte into read(2) costs far less than a fork under any implementation.
const PROBE_FORKS: u32 = 20;

/// Reads the probe child's ready byte (true) or the end of file of its death (false),
/// retrying on EINTR.
fn await_ready(fd: i32) -> bool {
    let mut b = 0u8;
    loop {
        // SAFETY: reads one byte into a local.
        let r = unsafe { libc::read(fd, (&mut b as *mut u8).cast(), 1) };
        if r >= 0 {
            return r == 1;
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return false;
        }
    }
}

/// What /proc says of a task whose memory op has not answered: whether it is traced, whether
/// it runs (or sits in a ptrace stop) outside any system call, and how often it has stopped
/// of its own accord (`voluntary_ctxt_switches`, which each ptrace stop counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FaultSigns {
    traced: bool,
    outside_calls: bool,
    stops: u64,
}

impl FaultSigns {
    fn read(tid: i32) -> Option<FaultSigns> {
        let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
        let syscall = std::fs::read_to_string(format!("/proc/{tid}/syscall")).ok()?;
        Some(FaultSigns::parse(&status, &syscall))
    }

    fn parse(status: &str, syscall: &str) -> FaultSigns {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::trim)
                .unwrap_or("")
        };
        let traced = field("TracerPid:").parse::<i32>().is_ok_and(|p| p != 0);
        let running = matches!(field("State:").as_bytes().first(), Some(b'R' | b't'));
        let outside = matches!(
            parse_syscall(syscall),
            Some(SyscallLine::Running | SyscallLine::NoSyscall)
        );
        FaultSigns {
            traced,
            outside_calls: running && outside,
            stops: field("voluntary_ctxt_switches:").parse().unwrap_or(0),
        }
    }
}

/// Whether task `tid`, whose memory op has not answered, is traced and running outside any
/// system call: a fault the tracer's re-injected signal cannot end. A pid namespace init keeps
/// `SIGNAL_UNKILLABLE` when traced (kernel/signal.c `force_sig_info_to_task`), so
/// `get_signal` drops the re-injected SIGSEGV or SIGBUS and the access faults again, forever
/// (docs/implementations.md). Its op never completes: the outcome is `blocked`.
pub fn traced_fault_loop(tid: i32) -> bool {
    FaultSigns::read(tid).is_some_and(|s| s.traced && s.outside_calls)
}

/// Stops outside any system call after which a traced memory op is in the fault loop of
/// [`traced_fault_loop`]. A memory op makes no system call and, once its page is there,
/// never stops: under ptrace only a signal stops it, and one fault signal is one stop. A
/// loop makes thousands a second (each a round trip through the tracer), so this many are
/// seen within milliseconds, and no op that completes makes more than a handful.
const FAULT_LOOP_STOPS: u64 = 64;

/// Watches a memory op that has not answered for the fault loop of [`traced_fault_loop`],
/// so that it is settled as blocked once the loop is seen, not after the hang guard.
#[derive(Debug, Default)]
pub struct FaultWatch {
    /// The task's stop count when it was first seen traced outside any system call.
    first: Option<u64>,
}

impl FaultWatch {
    /// Whether task `tid` is seen in the fault loop now: traced, outside any system call,
    /// and stopped [`FAULT_LOOP_STOPS`] times since it was first seen so. A task seen in a
    /// system call (still reading its command) starts the count again.
    pub fn looping(&mut self, tid: i32) -> bool {
        self.saw(FaultSigns::read(tid))
    }

    fn saw(&mut self, signs: Option<FaultSigns>) -> bool {
        match signs {
            Some(s) if s.traced && s.outside_calls => {
                let first = *self.first.get_or_insert(s.stops);
                s.stops >= first + FAULT_LOOP_STOPS
            }
            _ => {
                self.first = None;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIPE_READ: Sleep = Sleep {
        nr: 0,
        arg0: 3,
        state: b'S',
    };
    const IN_READ3: &str = "0 0x3 0x7ffd1000 0x1 0x0 0x0 0x0 0x7ffd0ff8 0x7f00000012ad\n";
    const STAT_S: &str = "4242 (forkspec (x) S) S 1 4242 4242 0 -1 4194560 98 0 0 0";
    const STAT_R: &str = "4242 (forkspec) R 1 4242 4242 0 -1 4194560 98 0 0 0";
    const STAT_D: &str = "4242 (forkspec) D 1 4242 4242 0 -1 4194560 98 0 0 0";

    fn status(tracer: i32, state: &str, stops: u64) -> String {
        format!(
            "Name:\tforkspec\nState:\t{state}\nTracerPid:\t{tracer}\n\
             voluntary_ctxt_switches:\t{stops}\nnonvoluntary_ctxt_switches:\t3\n"
        )
    }

    #[test]
    fn fault_signs_read_tracer_state_call_and_stops() {
        let s = FaultSigns::parse(&status(77, "t (tracing stop)", 12), "-1 0x7ffd 0x4010\n");
        assert_eq!(
            s,
            FaultSigns {
                traced: true,
                outside_calls: true,
                stops: 12
            }
        );
        let untraced = FaultSigns::parse(&status(0, "R (running)", 5), "running\n");
        assert!(!untraced.traced && untraced.outside_calls);
        let in_read = FaultSigns::parse(&status(77, "S (sleeping)", 5), IN_READ3);
        assert!(in_read.traced && !in_read.outside_calls);
        let sleeping_outside = FaultSigns::parse(&status(77, "S (sleeping)", 5), "running\n");
        assert!(!sleeping_outside.outside_calls);
    }

    #[test]
    fn fault_watch_needs_many_stops_outside_calls_while_traced() {
        let signs = |traced, outside_calls, stops| {
            Some(FaultSigns {
                traced,
                outside_calls,
                stops,
            })
        };
        let mut w = FaultWatch::default();
        assert!(!w.saw(signs(true, true, 10)));
        assert!(!w.saw(signs(true, true, 10 + FAULT_LOOP_STOPS - 1)));
        assert!(w.saw(signs(true, true, 10 + FAULT_LOOP_STOPS)));
        // Untraced, or in a system call, or gone: no loop, and the count starts again.
        let mut w = FaultWatch::default();
        assert!(!w.saw(signs(true, true, 10)));
        assert!(!w.saw(signs(true, false, 500)));
        assert!(!w.saw(signs(true, true, 500)));
        assert!(!w.saw(signs(true, true, 500 + FAULT_LOOP_STOPS - 1)));
        assert!(w.saw(signs(true, true, 500 + FAULT_LOOP_STOPS)));
        let mut w = FaultWatch::default();
        assert!(!w.saw(signs(false, true, 0)));
        assert!(!w.saw(signs(false, true, 10_000)));
        assert!(!w.saw(None));
    }

    #[test]
    fn parses_the_three_forms_and_rejects_others() {
        assert_eq!(parse_syscall("running\n"), Some(SyscallLine::Running));
        assert_eq!(
            parse_syscall("-1 0x7ffd0ff8 0x401000\n"),
            Some(SyscallLine::NoSyscall)
        );
        assert_eq!(
            parse_syscall(IN_READ3),
            Some(SyscallLine::In {
                nr: 0,
                args: [3, 0x7ffd1000, 1, 0, 0, 0],
                sp_pc: [0x7ffd0ff8, 0x7f00000012ad],
            })
        );
        assert_eq!(parse_syscall(""), None);
        assert_eq!(parse_syscall("0 0x3 0x4"), None);
        assert_eq!(parse_state(STAT_S), Some(b'S'));
        assert_eq!(parse_state("garbage"), None);
    }

    #[test]
    fn blocked_only_asleep_in_the_ops_own_call_in_its_state() {
        assert!(decide(&PIPE_READ, IN_READ3, STAT_S, IN_READ3));
        // Running or runnable: wait on.
        assert!(!decide(&PIPE_READ, "running", STAT_R, "running"));
        assert!(!decide(&PIPE_READ, IN_READ3, STAT_R, IN_READ3));
        // A passing uninterruptible sleep in the same call (the pipe's mutex).
        assert!(!decide(&PIPE_READ, IN_READ3, STAT_D, IN_READ3));
        // The agent back in read(2) of its command pipe: done with the op.
        let agent = "0 0x401 0x7ffd2000 0x100 0x0 0x0 0x0 0x7ffd1ff8 0x7f0000001000";
        assert!(!decide(&PIPE_READ, agent, STAT_S, agent));
        // Another call (wait4 = 61), or none.
        let wait = "61 0x3 0x0 0x0 0x0 0x0 0x0 0x7ffd0ff8 0x7f00000012ad";
        assert!(!decide(&PIPE_READ, wait, STAT_S, wait));
        assert!(!decide(&PIPE_READ, "-1 0x1 0x2", STAT_S, "-1 0x1 0x2"));
        // It moved between the two looks: not one sleep.
        assert!(!decide(&PIPE_READ, IN_READ3, STAT_S, agent));
        assert!(!decide(&PIPE_READ, IN_READ3, STAT_S, "running"));
    }

    /// The parser and the decision against the real /proc text of a task put to sleep in
    /// read(2) of an empty pipe (a thread of this test process).
    #[test]
    fn a_thread_asleep_in_read_of_an_empty_pipe_is_blocked_and_wakes() {
        let mut p = [0i32; 2];
        // SAFETY: pipe2 fills a local array.
        assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        let rd = p[0];
        let reader = std::thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            tx.send(unsafe { libc::gettid() }).unwrap();
            let mut b = 0u8;
            // SAFETY: reads one byte into a local.
            unsafe { libc::read(rd, (&mut b as *mut u8).cast(), 1) }
        });
        let tid = rx.recv().unwrap();
        let sleep = Sleep {
            nr: libc::SYS_read,
            arg0: rd as u64,
            state: b'S',
        };
        // Wait (by observation, no clock) until the thread is asleep in its read; the
        // decision and the raw texts agree.
        while !asleep_in(tid, &sleep) {
            std::thread::yield_now();
        }
        let dir = format!("/proc/{tid}/task/{tid}");
        let line = std::fs::read_to_string(format!("{dir}/syscall")).unwrap();
        match parse_syscall(&line) {
            Some(SyscallLine::In { nr, args, .. }) => {
                assert_eq!((nr, args[0], args[2]), (libc::SYS_read, rd as u64, 1));
            }
            other => panic!("{line:?} parsed as {other:?}"),
        }
        let stat = std::fs::read_to_string(format!("{dir}/stat")).unwrap();
        assert_eq!(parse_state(&stat), Some(b'S'));
        // The same task is not asleep in a read of another fd, nor in another call.
        assert!(!asleep_in(tid, &Sleep { arg0: 999, ..sleep }));
        assert!(!asleep_in(tid, &Sleep { nr: 61, ..sleep }));
        // SAFETY: writes one byte into our pipe, which wakes the reader.
        unsafe { libc::write(p[1], b"x".as_ptr().cast(), 1) };
        assert_eq!(reader.join().unwrap(), 1);
        // SAFETY: our own fds.
        unsafe {
            libc::close(p[0]);
            libc::close(p[1]);
        }
    }

    #[test]
    fn the_probe_finds_the_facility_here() {
        // This kernel has /proc/PID/syscall (every x86_64 config has the tracehook).
        assert!(std::path::Path::new("/proc/self/syscall").exists());
        assert!(probe(true));
        // And names wait channels (this kernel has kallsyms): the fallback's veto works.
        WCHAN.store(false, Ordering::Relaxed);
        assert!(!probe(false), "denied, the syscall file is not looked at");
        assert!(WCHAN.load(Ordering::Relaxed));
    }
}
