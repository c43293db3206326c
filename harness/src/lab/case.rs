//! One case: its directory, its tasks and their bookkeeping, running ops, teardown.

use super::agent::{t0_main, T0Plan};
use super::channel::{Channel, Cmd, Reply, REPLY_READ_FD, SLOTS};
use super::facility;
use super::guard::Board;
use super::observe::{self, Observed, Observer, TaskRef};
use super::ops::{self, Expect};
use super::settle::{self, Sleep};
use super::starve;
use super::zygote::{SpawnError, Zygote};
use forkspec_model::{
    CaseConfig, CaseDir, ChildCode, ChildInfo, Errno, ExitStatus, LockOwner, Op, OpKind, Outcome,
    TaskId, WaitTarget, WaitidTarget, MAX_PAGES,
};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The least hang guard for `t0`'s setup (see `Case::start`): setting up never blocks, so
/// it waits for `t0`'s answer (or death) this long before the lab reports a hang.
const SETUP_DEADLINE: Duration = Duration::from_secs(10);

/// First look at /proc after a command that may block ([`settle`]): most ops answer sooner,
/// and one that blocks is found asleep this soon after.
const FIRST_LOOK: Duration = Duration::from_micros(200);
/// Longest time between two looks at /proc while a task neither answers nor sleeps in its
/// op (it runs, or waits for a CPU).
const LOOK_MAX: Duration = Duration::from_millis(10);

/// A pid no task can have (above the largest `pid_max`): waiting for it gives ECHILD.
const NO_PID: i64 = 0x7fff_fffe;

/// Where a task is in its life, per the lab's bookkeeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    /// In its agent loop, ready for a command.
    Live,
    /// Running a command it was seen asleep in ([`settle`]), or, without
    /// /proc/PID/syscall, that missed its deadline.
    Blocked,
    /// Stopped by a stop signal (its thread group's group stop) while it held the no-op
    /// command of [`Case::settle_signals`], which it answers once continued.
    Stopped,
    /// Exited or killed, not reaped.
    Dead,
    /// Reaped (by a task's wait, or gone from /proc).
    Reaped,
}

struct Task {
    pid: i32,
    /// Its namespaces as observed since its last op ([`observe::TaskRef::namespaces`]).
    ns_seen: Option<forkspec_model::NsClasses>,
    /// Its pids from the lab's pid namespace inwards (/proc/PID/status `NSpid`).
    nspid: Vec<i32>,
    /// The pids it had before an exec made it its group's leader (the tids clone wrote
    /// into memory then are still these).
    former_nspid: Vec<i32>,
    /// The pid namespaces it is in, from the lab's inwards, as ids of the lab's bookkeeping
    /// (0 is the lab's): which tasks see which (a sibling namespace at the same depth has a
    /// pid list of the same length).
    pidns_chain: Vec<u32>,
    /// The `pidns_chain` of its children when it unshared `CLONE_NEWPID` or joined another
    /// pid namespace with setns; `None`: its own.
    children_pidns: Option<Vec<u32>>,
    /// A non-leader thread (CLONE_THREAD): released at exit, never a zombie.
    thread: bool,
    /// The label of its thread group leader (itself unless a thread).
    leader: usize,
    /// The label of the CLONE_VFORK child this task waits for.
    vfork_child: Option<usize>,
    /// Ran a successful exec: it released the address space it had (a vfork parent
    /// waiting for it resumes).
    execed: bool,
    /// Made by a legacy clone with CLONE_PIDFD: its slot's `parent_tid` word holds the
    /// pidfd.
    pidfd_word: bool,
    /// Opened by the lab after `t0` was forked, so no agent inherits it.
    pidfd: Option<OwnedFd>,
    slot: usize,
    life: Life,
    /// The command in flight: sequence number and how to read its reply.
    pending: Option<(u32, Expect)>,
    /// Where the command in flight sleeps if it blocks; `None` for a command that never
    /// blocks (its answer is awaited up to the hang guard).
    sleep: Option<Sleep>,
    /// Wait status, when a task's wait reaped this one.
    reaped_status: Option<i32>,
}

/// A running case.
pub struct Case {
    /// Stops and continues seen so far (each makes [`Case::settle_signals`] go round again).
    job_changes: u32,
    chan: Channel,
    board: Board,
    dir: PathBuf,
    pages: u32,
    deadline: Duration,
    pgid: i32,
    tasks: Vec<Task>,
    next_slot: usize,
    seq: u32,
    replies: Vec<Reply>,
    /// The last replies no pending command took (slot, seq, ret): named in a hang message.
    unmatched: std::collections::VecDeque<(u32, u32, i64)>,
    /// Outcomes of replies handled but not yet asked for: (label, seq, outcome).
    completed: Vec<(TaskId, u32, Outcome)>,
    /// Slots whose clone child sent its birth message (it has run past schedule_tail).
    born: [bool; SLOTS],
    done: bool,
    /// Last pid namespace id handed out in `pidns_chain`s.
    next_pidns: u32,
    /// `dir` with symbolic links resolved, as /proc/PID/cwd shows it (resolved once).
    real_dir: Option<PathBuf>,
    /// Slots whose child was made by clone/clone3, which hands the kernel the addresses of
    /// the slot's thread-id words: only those words can hold anything.
    tid_pointers: [bool; SLOTS],
    /// The set-up step `t0` reported failing ([`super::agent::step`]).
    setup_step: u8,
    /// Why the hang guard fired (a task neither answered nor slept in its op for
    /// [`crate::deadline::HANG_FACTOR`] deadlines): the request fails with it.
    hang: Option<String>,
    /// Process groups (lab-namespace ids) that tasks made with setpgid or setsid, besides
    /// `t0`'s: teardown reaps them too.
    groups: Vec<i32>,
}

fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    pidfd_open_flags(pid, 0)
}

/// A pidfd for `pid` (a thread's own with [`facility::PIDFD_THREAD`]), when the facility is
/// there; without one, the task's death is noticed through /proc ([`proc_exited`]).
fn pidfd_open_flags(pid: i32, flags: i32) -> Option<OwnedFd> {
    let f = facility::get();
    if !f.pidfd || (flags & facility::PIDFD_THREAD != 0 && !f.pidfd_thread) {
        return None;
    }
    // SAFETY: pidfd_open takes no pointers; a non-negative result is a new fd we own
    // (pidfds are always close-on-exec).
    unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, pid, flags) as i32;
        (fd >= 0).then(|| OwnedFd::from_raw_fd(fd))
    }
}

/// Whether the task `pid` has exited, as /proc shows it: the fallback for a task without a
/// pidfd (no pidfds under valgrind; no `PIDFD_THREAD` before Linux 6.9). Gone, or a zombie;
/// a thread group leader only once no other thread of its group is left (`Threads:` counts
/// the threads not yet released, the zombie leader included), as a process pidfd turns
/// readable (kernel/pid.c: pidfd_poll, thread_group_exited).
fn proc_exited(pid: i32, thread: bool) -> bool {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return true;
    };
    let field = |name: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or("")
    };
    if !matches!(field("State:").as_bytes().first(), Some(b'Z' | b'X')) {
        return false;
    }
    thread || field("Threads:").parse::<u32>().is_ok_and(|n| n <= 1)
}

/// The wait status of the zombie `pid`, if it is one (/proc/PID/stat).
fn zombie_status(pid: i32) -> Option<i32> {
    observe::stat(pid)
        .filter(|s| s.state == b'Z')
        .map(|s| s.exit_code)
}

/// Longest sleep between two looks at /proc while waiting for a task without a pidfd.
const PROC_TICK_MAX: Duration = Duration::from_millis(20);

/// How long to sleep before the next look at /proc: a quarter of the time waited so far,
/// from 1 ms up to [`PROC_TICK_MAX`], so a death is noticed within a fraction of an op's
/// duration and a long wait costs few reads.
fn proc_tick(start: Instant, end: Instant) -> Duration {
    let now = Instant::now();
    ((now - start) / 4)
        .clamp(Duration::from_millis(1), PROC_TICK_MAX)
        .min(end.saturating_duration_since(now))
}

/// Whether the task has SIGKILL pending in /proc/PID/status `SigPnd`: a fatal signal to its
/// group (complete_signal) or the end of its pid namespace queues SIGKILL on every thread
/// before kill(2) returns, so a blocked task with it is about to exit.
fn doomed(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("SigPnd:")
                    .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            })
        })
        .is_some_and(|set| set & (1 << (libc::SIGKILL - 1)) != 0)
}

/// Returns once every exit the lab has seen is fully notified. A pidfd turns readable (and
/// /proc shows a zombie) as soon as kernel/exit.c `exit_notify` sets `exit_state`, but the
/// exit signal is queued to the parent later in that function (`do_notify_parent` even wakes
/// pidfd waiters before it sends the signal), all under `write_lock_irq(&tasklist_lock)`. A
/// waitid(2) of every child takes `read_lock(&tasklist_lock)` (kernel/exit.c `__do_wait`
/// for `P_ALL`), so it cannot pass an exit whose `exit_state` the lab has already seen until
/// that exit's signal is queued. `WNOHANG | WNOWAIT` make it neither sleep nor reap.
///
/// Where waitid(2) is refused (ENOSYS: `forkspec restrict --deny waitid`), kill(2) of the
/// lab's own process group with signal 0 (a permission check: nothing is sent) is the same
/// barrier: kernel/signal.c `kill_something_info` takes `read_lock(&tasklist_lock)` for
/// every pid but a positive one. Without either the barrier is gone (nothing waits on it:
/// no deadline is spent), and an exit signal may be seen a moment late.
fn exits_notified() {
    // SAFETY: siginfo_t is plain data (all zeroes is valid); waitid writes one into `info`
    // and, with WNOWAIT, changes no task. kill with signal 0 sends nothing.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL,
        );
        if r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
            libc::kill(0, 0);
        }
    }
}

/// `NSpid` of /proc/PID/status: the pid in every namespace from the lab's inwards.
fn nspid(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("NSpid:").map(|v| {
                    v.split_ascii_whitespace()
                        .filter_map(|x| x.parse().ok())
                        .collect::<Vec<i32>>()
                })
            })
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| vec![pid])
}

/// Pids (lab namespace) listed in /proc/P/task/*/children, or the thread ids of P.
fn kin(p: i32, threads: bool) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{p}/task")) else {
        return out;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if threads {
            out.push(tid);
            continue;
        }
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{p}/task/{tid}/children")) {
            out.extend(
                s.split_ascii_whitespace()
                    .filter_map(|x| x.parse::<i32>().ok()),
            );
        }
    }
    out
}

fn make_dir() -> Result<PathBuf, String> {
    let tmp = std::env::var_os("TMPDIR")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/tmp".into());
    // forkspec-XXXXXX, mode 0700, as mkdtemp(3) makes it; the lab removes it itself.
    tempfile::Builder::new()
        .prefix("forkspec-")
        .rand_bytes(6)
        .tempdir_in(&tmp)
        .map(tempfile::TempDir::keep)
        .map_err(|e| {
            let uid = rustix::process::geteuid().as_raw();
            format!(
                "creating a case directory in {} as uid {uid}: {e}",
                PathBuf::from(&tmp).display()
            )
        })
}

/// Forks `t0` from the lab itself (when there is no zygote); returns its pid.
fn fork_t0(dir: &[u8], pages: u32) -> Result<i32, String> {
    let cdir = CString::new(dir).map_err(|_| "case directory path contains NUL".to_string())?;
    let plan = T0Plan {
        dir: cdir.as_ptr().cast(),
        pages: pages as u64,
        state_set: false,
        thp: facility::get().thp,
    };
    // SAFETY: the lab is single-threaded, so the child may run anything; t0_main uses raw
    // syscalls only and never returns. `cdir` lives in the child's copy of our memory.
    let pid = unsafe { super::reap::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: we are the freshly forked child; see above.
        unsafe { t0_main(plan) }
    }
    Ok(pid)
}

fn write_data(dir: &std::path::Path, pages: u32) -> std::io::Result<()> {
    use std::io::Write;
    // The content depends on the length alone: computed once per lab, not per case.
    static CONTENT: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());
    let len = pages as u64 * forkspec_model::PAGE_SIZE;
    let mut content = CONTENT.lock().unwrap_or_else(|e| e.into_inner());
    if (content.len() as u64) < len {
        *content = (0..len).map(forkspec_model::data_file_byte).collect();
    }
    let buf = &content[..len as usize];
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join("data"))?;
    f.write_all(buf)
}

impl Case {
    /// Creates the case directory and forks `t0`; returns once `t0` is in its agent loop.
    pub fn setup(
        chan: Channel,
        board: Board,
        zygote: &mut Option<Zygote>,
        config: CaseConfig,
        deadline_ms: u64,
    ) -> Result<Case, String> {
        if config.pages == 0 || config.pages > MAX_PAGES {
            return Err(format!(
                "pages must be in 1..={MAX_PAGES}, got {}",
                config.pages
            ));
        }
        let dir = make_dir()?;
        board.set_dir(dir.as_os_str().as_bytes());
        let mut case = Case {
            chan,
            board,
            dir,
            pages: config.pages,
            deadline: Duration::from_millis(deadline_ms.max(1)),
            pgid: 0,
            groups: Vec::new(),
            tasks: Vec::new(),
            next_slot: 1,
            seq: 0,
            replies: Vec::new(),
            unmatched: std::collections::VecDeque::new(),
            completed: Vec::new(),
            job_changes: 0,
            born: [false; SLOTS],
            done: false,
            next_pidns: 0,
            real_dir: None,
            tid_pointers: [false; SLOTS],
            setup_step: 0,
            hang: None,
        };
        match case.start(config.pages, zygote) {
            Ok(()) => Ok(case),
            Err(e) => {
                let _ = case.teardown();
                Err(e)
            }
        }
    }

    fn start(&mut self, pages: u32, zygote: &mut Option<Zygote>) -> Result<(), String> {
        write_data(&self.dir, pages).map_err(|e| format!("writing the data file: {e}"))?;
        // The directories `chdir` ops name (op.rs: CaseDir).
        for d in [CaseDir::D, CaseDir::DE] {
            std::fs::create_dir(self.dir.join(d.rel_path()))
                .map_err(|e| format!("creating {}: {e}", d.rel_path()))?;
        }
        let dir = self.dir.as_os_str().as_bytes();
        let mut pid = None;
        if let Some(z) = zygote.as_mut() {
            match z.spawn_t0(dir, pages as u64, facility::get().thp) {
                Ok(p) => pid = Some(p),
                Err(SpawnError::Clone(e)) => {
                    // CLONE_PARENT refused (an emulator), or no memory: the lab forks t0
                    // itself, which fails in turn if the cause was not the zygote's.
                    eprintln!(
                        "forkspec lab: note: the zygote's clone(CLONE_PARENT) of t0 failed: {}; \
                         the lab forks each t0 itself from now on",
                        std::io::Error::from_raw_os_error(-e as i32)
                    );
                    *zygote = None;
                }
                Err(SpawnError::Gone(e)) => {
                    eprintln!("forkspec lab: note: {e}; the lab forks each t0 itself from now on");
                    *zygote = None;
                }
            }
        }
        let pid = match pid {
            Some(p) => p,
            None => fork_t0(dir, pages)?,
        };
        // Both sides set the group, so whoever runs first, kill(-pgid) covers t0 from now on.
        // SAFETY: setpgid on our own child.
        unsafe {
            libc::setpgid(pid, pid);
        }
        self.pgid = pid;
        self.board.set_pgid(pid);
        self.tasks.push(Task {
            pid,
            nspid: vec![pid],
            former_nspid: Vec::new(),
            pidns_chain: vec![0],
            children_pidns: None,
            thread: false,
            leader: 0,
            vfork_child: None,
            execed: false,
            pidfd_word: false,
            pidfd: pidfd_open(pid),
            slot: 0,
            life: Live,
            pending: Some((0, Expect::Ready)),
            sleep: None,
            reaped_status: None,
            ns_seen: None,
        });
        // Setting t0 up never blocks: its answer is awaited (it is never "blocked"), up to a
        // hang guard of at least SETUP_DEADLINE: under heavy load (one soak run of 100000
        // cases hit this once) it can take longer than an op.
        let op_deadline = self.deadline;
        self.deadline = op_deadline.max(SETUP_DEADLINE / crate::deadline::HANG_FACTOR);
        let ready = self.await_reply(0, 0, Expect::Ready);
        self.deadline = op_deadline;
        if let Some(h) = self.hang.take() {
            return Err(format!("t0 setup: {h}"));
        }
        match ready {
            Outcome::Ret(_) => Ok(()),
            Outcome::Err(e) => Err(format!(
                "t0 setup failed at step {}: {e}",
                super::agent::step::name(self.setup_step)
            )),
            o => Err(format!("t0 setup failed: {o}")),
        }
    }

    fn live(&self, t: TaskId) -> Option<&Task> {
        self.tasks.get(t as usize).filter(|t| t.life == Live)
    }

    /// Runs one op. `Err` is an invalid request; everything the kernel does is an outcome.
    pub fn op(&mut self, op: &Op) -> Result<Outcome, String> {
        // Only a task with a command outstanding (blocked, a vfork parent) can have sent a
        // reply since the last op.
        if self.tasks.iter().any(|t| t.pending.is_some()) {
            self.pump();
        }
        // Late replies of earlier ops changed the bookkeeping; nobody asks for their outcome.
        self.completed.clear();
        if let Some(t) = self.tasks.get_mut(op.task as usize) {
            t.ns_seen = None;
        }
        let Some(task) = self.live(op.task) else {
            return Ok(Outcome::Err(Errno::ESRCH));
        };
        let slot = task.slot;
        if ops::touches_agent_fd(&op.kind) {
            return Ok(Outcome::Err(Errno::EBADF));
        }
        // wait4 takes a pid in the caller's pid namespace.
        let depth = self.tasks[op.task as usize].nspid.len() - 1;
        let wait_pid = match op.kind {
            OpKind::Wait {
                target: WaitTarget::Any,
                ..
            } => -1,
            OpKind::Wait {
                target: WaitTarget::Task(t),
                ..
            } => self
                .tasks
                .get(t as usize)
                .filter(|t| t.life != Reaped)
                .and_then(|t| t.nspid.get(depth))
                .map_or(NO_PID, |&p| p as i64),
            OpKind::Wait {
                target: WaitTarget::OwnGroup,
                ..
            } => 0,
            OpKind::Wait {
                target: WaitTarget::Group(g),
                ..
            } => -self.visible_pid(op.task, g),
            OpKind::Waitid { target, .. } => match target {
                WaitidTarget::All | WaitidTarget::OwnPgid => 0,
                WaitidTarget::Pid(c) => self.visible_pid(op.task, c),
                WaitidTarget::Pgid(g) => self.visible_pid(op.task, g),
                WaitidTarget::Pidfd(fd) => i64::from(fd),
            },
            // kill(2) takes the target's pid in the caller's pid namespace; a task there or
            // in a namespace nested in it is visible, anyone else is not (ESRCH).
            OpKind::Kill { target, .. } => self.visible_pid(op.task, target),
            // pidfd_open(2) finds the pid in the caller's pid namespace, as kill(2) does.
            OpKind::PidfdOpen { target, .. } => self.visible_pid(op.task, target),
            _ => 0,
        };
        if let OpKind::Sethostname { .. } = op.kind {
            self.refuse_lab_uts(op.task)?;
        }
        let creates = matches!(op.kind, OpKind::Fork | OpKind::Vfork | OpKind::Clone(_));
        if creates && self.next_slot >= SLOTS {
            return Err(format!(
                "task limit reached: at most {SLOTS} forks per case"
            ));
        }
        let dir = self.dir.as_os_str().as_bytes().to_vec();
        let group_pids = super::ops_groups::label_args(&op.kind)
            .map(|l| l.map_or(0, |l| self.vpid(op.task as usize, l as usize)));
        let (mut cmd, expect) = match super::ops_groups::encode(&op.kind, group_pids)
            .or_else(|| super::ops_pidfd::encode(&op.kind, wait_pid))
        {
            Some(c) => c,
            None => ops::encode(&op.kind, self.next_slot, wait_pid, &dir)?,
        };
        let dead_before = self.dead_count();
        if let Expect::Child { .. } | Expect::Clone { .. } = expect {
            // fork and vfork give the kernel no thread-id pointers; clone and clone3 may.
            self.tid_pointers[self.next_slot] = matches!(op.kind, OpKind::Clone(_));
            self.next_slot += 1;
        }
        self.seq = self.seq.wrapping_add(1);
        if self.seq == super::channel::BIRTH_SEQ {
            self.seq = 1;
        }
        cmd.seq = self.seq;
        self.send(op.task, slot, &cmd, expect)?;
        self.tasks[op.task as usize].sleep = op_sleep(&cmd, expect);
        let out = self.await_reply(op.task, self.seq, expect);
        if let (Expect::Child { .. } | Expect::Clone { .. }, Outcome::Err(_)) = (expect, &out) {
            // No task was born: the slot (whose pipe nobody reads) serves the next one.
            self.next_slot -= 1;
        }
        if let (OpKind::Clone(c), Outcome::Child(child)) = (&op.kind, &out) {
            self.tasks[*child as usize].pidfd_word = c.entry == forkspec_model::CloneEntry::Clone
                && c.flags.has(forkspec_model::CloneFlags::PIDFD);
            self.await_birth(*child as usize);
        }
        self.settle_vfork();
        self.settle_blocked();
        if let (OpKind::Unshare { flags }, Outcome::Ret(0)) = (&op.kind, &out) {
            if flags.newpid {
                self.next_pidns += 1;
                let mut chain = self.tasks[op.task as usize].pidns_chain.clone();
                chain.push(self.next_pidns);
                self.tasks[op.task as usize].children_pidns = Some(chain);
            }
        }
        if let (OpKind::Setns { flags, .. }, Outcome::Ret(0)) = (&op.kind, &out) {
            if flags.has(forkspec_model::CloneFlags::NEWPID) {
                self.note_joined_pidns(op.task as usize);
            }
        }
        if let (OpKind::Setpgid { .. } | OpKind::Setsid, Outcome::Ret(_) | Outcome::Pid(_)) =
            (&op.kind, &out)
        {
            self.note_group(op.task as usize, &op.kind);
        }
        if matches!(
            op.kind,
            OpKind::Kill { .. } | OpKind::KillPgrp { .. } | OpKind::PidfdSendSignal { .. }
        ) || self.dead_count() != dead_before
            || self.deaths_pending()
        {
            self.settle_signals()?;
        }
        match self.hang.take() {
            Some(h) => Err(h),
            None => Ok(out),
        }
    }

    /// After `setns(pidfd, CLONE_NEWPID)` by task `i`: its children are born in the pid
    /// namespace of a task of the case (the pidfd's, the caller's own or one nested in it).
    /// Which one is the lab's bookkeeping, found by the namespace's identity in /proc (the
    /// inode of /proc/PID/ns/pid_for_children against the tasks' /proc/PID/ns/pid).
    fn note_joined_pidns(&mut self, i: usize) {
        use std::os::unix::fs::MetadataExt;
        let ino = |pid: i32, name: &str| {
            std::fs::metadata(format!("/proc/{pid}/ns/{name}"))
                .ok()
                .map(|m| m.ino())
        };
        let Some(want) = ino(self.tasks[i].pid, "pid_for_children") else {
            return;
        };
        let chain = self
            .tasks
            .iter()
            .filter(|t| matches!(t.life, Live | Blocked | Stopped))
            .find(|t| ino(t.pid, "pid") == Some(want))
            .map(|t| t.pidns_chain.clone());
        if let Some(chain) = chain {
            let own = chain == self.tasks[i].pidns_chain;
            self.tasks[i].children_pidns = (!own).then_some(chain);
        }
    }

    /// The pid of label `target` as task `me` numbers it (find_get_pid in `me`'s pid
    /// namespace), or [`NO_PID`] when `me` cannot see it or it was reaped.
    fn visible_pid(&self, me: TaskId, target: TaskId) -> i64 {
        let me = &self.tasks[me as usize];
        let depth = me.nspid.len() - 1;
        self.tasks
            .get(target as usize)
            .filter(|t| t.life != Reaped)
            .filter(|t| t.pidns_chain.get(depth) == me.pidns_chain.get(depth))
            .and_then(|t| t.nspid.get(depth))
            .map_or(NO_PID, |&p| p as i64)
    }

    /// The hang guard: how long a task may go without answering a command while it is not
    /// asleep in it (far above anything legitimate; the harness waits longer still,
    /// [`crate::deadline::HANG_FACTOR`]).
    fn hang_guard(&self) -> Duration {
        crate::deadline::hang_guard(self.deadline)
    }

    /// Task `i`'s hang guard (or its last extension) ran out at `now`: the end of a further
    /// window while it is starved of a CPU rather than hung ([`starve`]).
    fn starved_until(
        &self,
        i: usize,
        ext: &mut starve::Extension,
        now: Instant,
    ) -> Option<Instant> {
        ext.extend(self.tasks[i].pid, now, self.hang_guard())
    }

    /// Whether task `i`'s hang guard ran out at `now` (then the hang is recorded: it did not
    /// `what`); while it is starved of a CPU `end` moves on instead.
    fn guard_ran_out(
        &mut self,
        i: usize,
        what: &str,
        starve: &mut starve::Extension,
        now: Instant,
        end: &mut Instant,
    ) -> bool {
        if now < *end {
            return false;
        }
        match self.starved_until(i, starve, now) {
            Some(later) => {
                *end = later;
                false
            }
            None => {
                self.hung(i, what);
                true
            }
        }
    }

    /// Records that task `i` did not `what` within the hang guard (the first such record
    /// wins; the request then fails with it).
    fn hung(&mut self, i: usize, what: &str) {
        if self.hang.is_some() {
            return;
        }
        let pid = self.tasks[i].pid;
        let mut known: Vec<i32> = self.tasks.iter().map(|t| t.pid).collect();
        known.push(std::process::id() as i32);
        self.hang = Some(format!(
            "t{i} (pid {pid}) did not {what} within {} ms (the hang guard: {} op deadlines, \
             at least {} s), and was not asleep in its op: {}; {}",
            self.hang_guard().as_millis(),
            crate::deadline::HANG_FACTOR,
            crate::deadline::HANG_MIN.as_secs(),
            settle::describe(pid),
            super::diagnose::command_pipe(self.tasks[i].slot, &known)
        ));
        if let Some(h) = &mut self.hang {
            let pending = self.tasks[i].pending.map(|p| p.0);
            h.push_str(&format!(
                "; {}; its command seq {pending:?}; replies no command took (slot, seq, ret): {:?}",
                super::diagnose::reply_pipe(pid),
                self.unmatched
            ));
        }
    }

    /// Settles every task the bookkeeping calls blocked, so that the next snapshot sees what
    /// the last op did to it: an op may have woken it (a child's exit its wait, a write its
    /// pipe read, an unlock its flock), and Linux wakes a sleeper before the waking call
    /// returns (or, for an exit, before the exit is notified: [`exits_notified`]). Each one
    /// either answers (its outcome is recorded now, at the step that woke it) or is seen
    /// asleep in its op again; one that runs is waited for, never observed mid-flight. A
    /// completion can wake another task (a read makes room for a blocked write), so this
    /// repeats until nothing answers. Without /proc/PID/syscall (the fallback) a task in
    /// state `S` with no answer sent is taken as asleep in its op, and the op deadline bounds
    /// the wait ([`settle::sleeping`]).
    fn settle_blocked(&mut self) {
        if !self.tasks.iter().any(|t| t.life == Blocked) {
            return;
        }
        self.pump();
        exits_notified();
        loop {
            let mut answered = false;
            for i in 0..self.tasks.len() {
                let t = &self.tasks[i];
                if t.life != Blocked || t.pending.is_none() || self.hang.is_some() {
                    continue;
                }
                // A vfork parent is asleep by construction while its child holds the mm; once
                // the child is gone, settle_vfork awaits its answer.
                if t.vfork_child.is_some() {
                    continue;
                }
                let Some(sleep) = t.sleep else { continue };
                answered |= self.settle_one(i, sleep);
            }
            if !answered {
                return;
            }
        }
    }

    /// Waits until blocked task `i` answers (true), is seen asleep in `sleep`, or dies (its
    /// death is settle_signals' to handle).
    fn settle_one(&mut self, i: usize, sleep: Sleep) -> bool {
        let look = facility::get().proc_syscall;
        let mut end = Instant::now()
            + if look {
                self.hang_guard()
            } else {
                self.deadline
            };
        let mut starve = starve::Extension::default();
        let mut tick = FIRST_LOOK;
        loop {
            self.pump();
            if self.tasks[i].pending.is_none() || self.tasks[i].life != Blocked {
                return true;
            }
            if self.gone(i) {
                return false;
            }
            let pid = self.tasks[i].pid;
            if look && settle::asleep_in(pid, &sleep) {
                // Asleep in its op: no answer can have been sent since the look began.
                return false;
            }
            if !look {
                match settle::sleeping(pid, sleep.state) {
                    // Asleep: in its op, unless it answered just before.
                    Some(true) => {
                        self.pump();
                        return self.tasks[i].pending.is_none();
                    }
                    Some(false) => {}
                    // No state to read: what has arrived is all there is.
                    None => return false,
                }
            }
            let now = Instant::now();
            if now >= end && look {
                if let Some(later) = self.starved_until(i, &mut starve, now) {
                    end = later;
                    continue;
                }
            }
            if now >= end {
                if look {
                    self.hung(i, "answer or sleep again after an op woke it");
                }
                return false;
            }
            let fd = self.tasks[i].pidfd.as_ref().map_or(-1, |f| f.as_raw_fd());
            wait_reply_or_exit(fd, (now + tick).min(end));
            tick = (tick * 2).min(LOOK_MAX);
        }
    }

    /// Tasks the bookkeeping knows to be dead or reaped.
    fn dead_count(&self) -> usize {
        self.tasks
            .iter()
            .filter(|t| matches!(t.life, Dead | Reaped))
            .count()
    }

    /// Whether a task the bookkeeping thinks alive has exited (its pidfd is readable).
    fn deaths_pending(&self) -> bool {
        // One poll over every pidfd: this runs after every op.
        let mut fds: Vec<libc::pollfd> = self
            .tasks
            .iter()
            .filter(|t| matches!(t.life, Live | Blocked | Stopped))
            .filter_map(|t| t.pidfd.as_ref())
            .map(|fd| libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: poll on a local array of pollfds without waiting.
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) > 0 } {
            return true;
        }
        self.tasks
            .iter()
            .filter(|t| matches!(t.life, Live | Blocked | Stopped) && t.pidfd.is_none())
            .any(|t| proc_exited(t.pid, t.thread))
    }

    /// After a kill or a death, signals may be on their way to other tasks (the kill's
    /// target, the parents that get an exit signal): kill(2) returns once the signal is
    /// queued, not handled. Every live task gets a no-op command (getpid) and answers it only
    /// after it has run its handlers, or dies of a fatal signal first; a death found this way
    /// sends exit signals in turn, so the round repeats until nothing dies. Blocked tasks
    /// cannot answer; a vfork parent whose child died is awaited (settle_vfork).
    fn settle_signals(&mut self) -> Result<(), String> {
        loop {
            let before = (self.dead_count(), self.job_changes);
            // The exit signals of the deaths seen so far are queued before any task is asked.
            exits_notified();
            // A blocked task cannot answer; one that died (killed, or taken down with its pid
            // namespace) will never send its late reply either.
            for i in 0..self.tasks.len() {
                if self.tasks[i].life == Blocked && !self.gone(i) && doomed(self.tasks[i].pid) {
                    self.await_exit(i);
                }
                if self.tasks[i].life == Blocked && self.gone(i) {
                    let expect = self.tasks[i].pending.map_or(Expect::Ret, |p| p.1);
                    self.died(i as TaskId, expect);
                }
            }
            // A signal (or a death) may have woken a blocked task: it answers (EINTR, or the
            // wait reaps) or sleeps again before it is counted as blocked.
            self.settle_blocked();
            for i in 0..self.tasks.len() {
                if self.tasks[i].life == Stopped {
                    self.settle_stopped(i);
                    continue;
                }
                if self.tasks[i].life != Live {
                    continue;
                }
                let (cmd, expect) = (
                    Cmd {
                        nr: libc::SYS_getpid as u64,
                        ..Cmd::ZERO
                    },
                    Expect::Ret,
                );
                self.seq = self.seq.wrapping_add(1);
                if self.seq == super::channel::BIRTH_SEQ {
                    self.seq = 1;
                }
                let cmd = Cmd {
                    seq: self.seq,
                    ..cmd
                };
                let slot = self.tasks[i].slot;
                self.send(i as TaskId, slot, &cmd, expect)?;
                self.await_noop(i, self.seq);
            }
            self.settle_vfork();
            // Every further round follows a new death, stop or continue (whose SIGCHLD the
            // tasks asked earlier in the round may not have taken yet), so this ends.
            if (self.dead_count(), self.job_changes) == before {
                return Ok(());
            }
        }
    }

    /// Waits for the answer to the no-op command `seq` of task `i`, its death, or its stop:
    /// a stop signal stops it before it reads the command (or on its way out of that read),
    /// and it answers only once continued ([`settle::stopped`]).
    fn await_noop(&mut self, i: usize, seq: u32) {
        let start = Instant::now();
        let end = start + self.hang_guard();
        let mut tick = FIRST_LOOK;
        loop {
            let now = Instant::now();
            // The first look waits for the reply: it is there at once unless the task stops.
            let died = self.wait_reply_or_exit(i, start, (now + tick).min(end));
            self.pump();
            if self.take_completed(i as TaskId, seq).is_some() {
                return;
            }
            if died || self.tasks[i].life == Reaped {
                self.died(i as TaskId, Expect::Ret);
                return;
            }
            if settle::stopped(self.tasks[i].pid) {
                self.tasks[i].life = Stopped;
                self.job_changes += 1;
                return;
            }
            if Instant::now() >= end {
                self.hung(i, "answer a no-op command or stop");
                return;
            }
            tick = (tick * 2).min(LOOK_MAX);
        }
    }

    /// A stopped task after a signal: still stopped, or continued (SIGCONT, or SIGKILL), when
    /// it answers the no-op command it holds or dies.
    fn settle_stopped(&mut self, i: usize) {
        if settle::stopped(self.tasks[i].pid) {
            return;
        }
        self.job_changes += 1;
        match self.tasks[i].pending {
            Some((seq, _)) => {
                self.tasks[i].life = Live;
                self.await_noop(i, seq);
            }
            None => self.tasks[i].life = Live,
        }
    }

    /// Sleeps until task `i` has exited (its pidfd turns readable): it is dying (killed, or
    /// its group or pid namespace ends), which takes no deadline; the hang guard records a
    /// hang.
    fn await_exit(&mut self, i: usize) {
        let start = Instant::now();
        let mut end = start + self.hang_guard();
        let mut starve = starve::Extension::default();
        let Some(fd) = self.tasks[i].pidfd.as_ref().map(|f| f.as_raw_fd()) else {
            let (pid, thread) = (self.tasks[i].pid, self.tasks[i].thread);
            while !proc_exited(pid, thread) {
                let now = Instant::now();
                if self.guard_ran_out(i, "exit", &mut starve, now, &mut end) {
                    return;
                }
                std::thread::sleep(proc_tick(start, end));
            }
            return;
        };
        loop {
            let now = Instant::now();
            if self.guard_ran_out(i, "exit", &mut starve, now, &mut end) {
                return;
            }
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = (end - now).as_millis().max(1) as i32;
            // SAFETY: poll on one local pollfd.
            if unsafe { libc::poll(&mut p, 1, ms) } != 0 {
                return;
            }
        }
    }

    /// sethostname must never change the machine's host name: the lab refuses to run it in
    /// a task whose UTS namespace is the lab's own (or cannot be told).
    fn refuse_lab_uts(&self, t: TaskId) -> Result<(), String> {
        let pid = self.tasks[t as usize].pid;
        let own = std::fs::read_link("/proc/self/ns/uts").ok();
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/uts")).ok();
        match (own, theirs) {
            (Some(a), Some(b)) if a != b => Ok(()),
            _ => Err(format!(
                "refusing sethostname in t{t}: it is in the lab's own UTS namespace (or that \
                 cannot be told), where it would change the machine's host name"
            )),
        }
    }

    /// A vfork parent whose child is gone resumes at once (the child's exit released the
    /// mm: kernel/fork.c mm_release → complete_vfork_done); waits for its late reply so the
    /// next snapshot sees it running again.
    fn settle_vfork(&mut self) {
        loop {
            let mut progress = false;
            for p in 0..self.tasks.len() {
                let Some(c) = self.tasks[p].vfork_child else {
                    continue;
                };
                if self.tasks[p].life != Blocked {
                    self.tasks[p].vfork_child = None;
                    continue;
                }
                if !self.gone(c) && !self.tasks[c].execed {
                    continue;
                }
                let Some((seq, expect)) = self.tasks[p].pending else {
                    continue;
                };
                self.await_reply(p as TaskId, seq, expect);
                self.tasks[p].vfork_child = None;
                progress = true;
            }
            if !progress {
                return;
            }
        }
    }

    /// Whether task `c` has exited (its pidfd is readable, or the bookkeeping says so).
    fn gone(&self, c: usize) -> bool {
        let t = &self.tasks[c];
        if matches!(t.life, Dead | Reaped) {
            return true;
        }
        let Some(fd) = &t.pidfd else {
            return proc_exited(t.pid, t.thread);
        };
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one local pollfd without waiting.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    /// Sleeps until a reply is readable, task `i` exits or `end` passes; returns whether it
    /// exited. Without a pidfd for the task, /proc is looked at in growing intervals
    /// ([`proc_tick`]) counted from `start`.
    fn wait_reply_or_exit(&self, i: usize, start: Instant, end: Instant) -> bool {
        let t = &self.tasks[i];
        if let Some(fd) = &t.pidfd {
            return wait_reply_or_exit(fd.as_raw_fd(), end);
        }
        if proc_exited(t.pid, t.thread) {
            return true;
        }
        wait_reply_or_exit(-1, Instant::now() + proc_tick(start, end));
        proc_exited(t.pid, t.thread)
    }

    /// Registers the child of a clone-like op by `creator` and returns its label.
    fn register_child(&mut self, creator: usize, n: NewChild) -> TaskId {
        let NewChild {
            slot,
            hint,
            hint_is_outer,
            thread,
            sibling,
            newpid,
        } = n;
        if let Some(i) = self.tasks.iter().position(|t| t.slot == slot) {
            return i as TaskId;
        }
        let cr = &self.tasks[creator];
        let pid = if hint_is_outer && cr.nspid.len() == 1 {
            hint
        } else {
            // The creator sees the child in its own pid namespace: find the child among the
            // kin of its parent, in the lab's namespace.
            let parent_pid = if thread {
                cr.pid
            } else if sibling {
                observe::stat(cr.pid).map_or(0, |s| s.ppid)
            } else {
                cr.pid
            };
            let known: Vec<i32> = self.tasks.iter().map(|t| t.pid).collect();
            // The hint is the child's pid as the creator sees it (its reply), or, for a
            // vfork child born in a new pid namespace, 1.
            let depth = cr.nspid.len() - 1;
            kin(parent_pid, thread)
                .into_iter()
                .filter(|p| !known.contains(p))
                .find(|&p| {
                    let ns = nspid(p);
                    if hint_is_outer {
                        ns.get(depth) == Some(&hint)
                    } else {
                        ns.last() == Some(&hint) && ns.len() > depth + 1
                    }
                })
                .unwrap_or(hint)
        };
        let mut pidns_chain = self.tasks[creator].pidns_chain.clone();
        // A creator that unshared CLONE_NEWPID has its children born one namespace deeper
        // (clone(CLONE_NEWPID) is EINVAL for it).
        let unshared = self.tasks[creator].children_pidns.clone();
        if newpid {
            self.next_pidns += 1;
            pidns_chain.push(self.next_pidns);
        } else if let Some(chain) = &unshared {
            pidns_chain = chain.clone();
        }
        let nested = self.tasks[creator].nspid.len() > 1;
        let nspid = if nested || newpid || unshared.is_some() {
            nspid(pid)
        } else {
            vec![pid]
        };
        let label = self.tasks.len();
        let leader = if thread {
            self.tasks[creator].leader
        } else {
            label
        };
        self.tasks.push(Task {
            pid,
            nspid,
            former_nspid: Vec::new(),
            pidns_chain,
            children_pidns: None,
            thread,
            leader,
            vfork_child: None,
            execed: false,
            pidfd_word: false,
            pidfd: pidfd_open_flags(pid, if thread { facility::PIDFD_THREAD } else { 0 }),
            slot,
            life: Live,
            pending: None,
            sleep: None,
            reaped_status: None,
            ns_seen: None,
        });
        label as TaskId
    }

    fn send(
        &mut self,
        label: TaskId,
        slot: usize,
        cmd: &Cmd,
        expect: Expect,
    ) -> Result<(), String> {
        self.tasks[label as usize].pending = Some((cmd.seq, expect));
        self.tasks[label as usize].sleep = None;
        self.chan
            .send(slot, cmd)
            .map_err(|e| format!("sending a command: {e}"))
    }

    /// Handles every reply available now; the outcomes they complete are kept until
    /// [`Case::take_completed`] asks for them (one read can bring several: a late reply of
    /// a resumed vfork parent together with the reply awaited).
    fn pump(&mut self) {
        let mut buf = std::mem::take(&mut self.replies);
        buf.clear();
        let _ = self.chan.recv(&mut buf);
        for r in &buf {
            if let Some(x) = self.dispatch(r) {
                self.completed.push(x);
            }
        }
        self.replies = buf;
    }

    /// The outcome of command `seq` of `label`, if a reply completed it.
    fn take_completed(&mut self, label: TaskId, seq: u32) -> Option<Outcome> {
        let i = self
            .completed
            .iter()
            .position(|(l, s, _)| *l == label && *s == seq)?;
        Some(self.completed.swap_remove(i).2)
    }

    /// Applies one reply to the bookkeeping (a late one included) and returns its outcome.
    fn dispatch(&mut self, r: &Reply) -> Option<(TaskId, u32, Outcome)> {
        let taken = if r.seq == super::channel::BIRTH_SEQ {
            self.birth(r)
        } else {
            self.reply_outcome(r)
        };
        if taken.is_none() {
            if self.unmatched.len() == 4 {
                self.unmatched.pop_front();
            }
            self.unmatched.push_back((r.slot, r.seq, r.ret));
        }
        taken
    }

    /// The outcome a reply to a pending command completes.
    fn reply_outcome(&mut self, r: &Reply) -> Option<(TaskId, u32, Outcome)> {
        let label = self.tasks.iter().position(|t| t.slot == r.slot as usize)?;
        let (seq, expect) = self.tasks[label].pending?;
        if seq != r.seq {
            return None;
        }
        self.tasks[label].pending = None;
        if self.tasks[label].life == Stopped {
            self.job_changes += 1;
        }
        if matches!(self.tasks[label].life, Blocked | Stopped) {
            self.tasks[label].life = Live;
        }
        let outcome = match expect {
            Expect::Child { slot } if r.ret > 0 => Outcome::Child(self.register_child(
                label,
                NewChild {
                    slot,
                    hint: r.ret as i32,
                    hint_is_outer: true,
                    thread: false,
                    sibling: false,
                    newpid: false,
                },
            )),
            Expect::Clone {
                slot,
                thread,
                sibling,
                newpid,
                ..
            } if r.ret > 0 => {
                let c = self.register_child(
                    label,
                    NewChild {
                        slot,
                        hint: r.ret as i32,
                        hint_is_outer: true,
                        thread,
                        sibling,
                        newpid,
                    },
                );
                Outcome::Child(c)
            }
            Expect::Lock if r.ret >= 0 => {
                let depth = self.tasks[label].nspid.len() - 1;
                ops::lock_report(r, |pid| {
                    // l_pid is a thread group id: the leader's pid. A live task wins over a
                    // reaped one that had the same number.
                    let mut found: Vec<usize> = (0..self.tasks.len())
                        .filter(|&i| {
                            let t = &self.tasks[i];
                            t.leader == i && t.nspid.get(depth) == Some(&pid)
                        })
                        .collect();
                    found.sort_by_key(|&i| self.tasks[i].life == Reaped);
                    found
                        .first()
                        .map_or(LockOwner::Foreign, |&i| LockOwner::Task(i as TaskId))
                })
            }
            Expect::Pid if r.ret >= 0 => Outcome::Pid(self.pid_ref(label, r.ret)),
            Expect::Reaped if r.ret > 0 => {
                let status = i32::from_ne_bytes([r.data[0], r.data[1], r.data[2], r.data[3]]);
                let depth = self.tasks[label].nspid.len() - 1;
                match self.tasks.iter().position(|t| {
                    t.nspid.get(depth).is_some_and(|&p| p as i64 == r.ret) && t.life != Reaped
                }) {
                    // A stop (`sig << 8 | 0x7f`) or continue (`0xffff`) report reaps nothing.
                    Some(i) if status & 0xff == 0x7f || status == 0xffff => {
                        let (code, sig) = if status == 0xffff {
                            (ChildCode::Continued, 18)
                        } else {
                            (ChildCode::Stopped, (status >> 8) & 0xff)
                        };
                        Outcome::Waited(ChildInfo {
                            task: i as TaskId,
                            code,
                            status: sig,
                        })
                    }
                    Some(i) => {
                        let t = &mut self.tasks[i];
                        t.life = Reaped;
                        t.pidfd = None;
                        t.pending = None;
                        t.reaped_status = Some(status);
                        Outcome::Reaped {
                            task: i as TaskId,
                            status: ops::exit_status(status),
                        }
                    }
                    // Not a task of ours: cannot happen, every descendant is a task.
                    None => Outcome::Ret(r.ret),
                }
            }
            Expect::Waited { nowait } if r.ret == 0 => {
                let (pid, raw_code, status) = ops::siginfo_child(&r.data);
                let depth = self.tasks[label].nspid.len() - 1;
                let found = self.tasks.iter().position(|t| {
                    t.nspid.get(depth).is_some_and(|&p| p == pid) && t.life != Reaped
                });
                match (pid, found, ChildCode::from_raw(raw_code)) {
                    (0, _, _) => Outcome::Ret(0),
                    (_, Some(i), Some(code)) => {
                        if let (false, Some(word)) = (nowait, ops::status_word(raw_code, status)) {
                            let t = &mut self.tasks[i];
                            t.life = Reaped;
                            t.pidfd = None;
                            t.pending = None;
                            t.reaped_status = Some(word);
                        }
                        Outcome::Waited(ChildInfo {
                            task: i as TaskId,
                            code,
                            status,
                        })
                    }
                    // Not a task of ours, or a code Linux never reports for a child: shown
                    // as the raw return, which no model predicts.
                    _ => Outcome::Ret(i64::from(pid)),
                }
            }
            Expect::Ready if r.ret < 0 => {
                self.setup_step = r.data[0];
                ops::outcome(expect, r)
            }
            Expect::Exec if r.ret >= 0 => {
                self.after_exec(label);
                Outcome::Ret(r.ret)
            }
            e => ops::outcome(e, r),
        };
        Some((label as TaskId, seq, outcome))
    }

    /// Bookkeeping after a successful exec by `label` (fs/exec.c: de_thread): the other
    /// threads of its group are gone, and a non-leader takes the leader's pid.
    fn after_exec(&mut self, label: usize) {
        let leader = self.tasks[label].leader;
        for (i, t) in self.tasks.iter_mut().enumerate() {
            if i != label && t.leader == leader && t.life != Reaped {
                t.life = Reaped;
                t.pidfd = None;
                t.pending = None;
            }
        }
        if leader != label {
            let (pid, nspid) = (self.tasks[leader].pid, self.tasks[leader].nspid.clone());
            let t = &mut self.tasks[label];
            t.pid = pid;
            let old = std::mem::replace(&mut t.nspid, nspid);
            t.former_nspid.extend(old);
            t.thread = false;
            t.leader = label;
            t.pidfd = pidfd_open(pid);
        }
        self.tasks[label].execed = true;
    }

    /// A new task's birth message: for a CLONE_VFORK child it is the outcome of its
    /// creator's op (whose own reply only comes once the child exits).
    fn birth(&mut self, r: &Reply) -> Option<(TaskId, u32, Outcome)> {
        let slot = r.slot as usize;
        if slot < SLOTS {
            self.born[slot] = true;
        }
        let (creator, seq, thread, sibling, newpid) =
            self.tasks
                .iter()
                .enumerate()
                .find_map(|(i, t)| match t.pending {
                    Some((
                        seq,
                        Expect::Clone {
                            slot: s,
                            vfork: true,
                            thread,
                            sibling,
                            newpid,
                        },
                    )) if s == slot => Some((i, seq, thread, sibling, newpid)),
                    _ => None,
                })?;
        let c = self.register_child(
            creator,
            NewChild {
                slot,
                hint: r.ret as i32,
                // A child born in a namespace its creator is not in reports its own tid.
                hint_is_outer: !newpid && self.tasks[creator].children_pidns.is_none(),
                thread,
                sibling,
                newpid,
            },
        );
        self.tasks[creator].life = Blocked;
        self.tasks[creator].vfork_child = Some(c as usize);
        Some((creator as TaskId, seq, Outcome::Child(c)))
    }

    /// Waits for the reply to `seq` from `label` or its death. A command that may block
    /// (its task's `sleep`) is blocked once the task is seen asleep in it ([`settle`]);
    /// without /proc/PID/syscall, once the op deadline passes (the fallback). Any other
    /// command is awaited up to the hang guard, which records a hang ([`Case::hung`]).
    fn await_reply(&mut self, label: TaskId, seq: u32, expect: Expect) -> Outcome {
        let start = Instant::now();
        let sleep = self.tasks[label as usize].sleep;
        let look = facility::get().proc_syscall;
        let by_deadline = sleep.is_some() && !look;
        // A memory op is looked at too: a traced one may be in a fault loop.
        let memory = look && matches!(expect, Expect::Byte | Expect::Store);
        let mut faults = settle::FaultWatch::default();
        let mut end = start
            + if by_deadline {
                self.deadline
            } else {
                self.hang_guard()
            };
        let mut starve = starve::Extension::default();
        let mut tick = FIRST_LOOK;
        let mut next_look = start + tick;
        // The first read waits for the poll below: right after a command is sent the reply
        // is hardly ever there yet, and the poll returns at once if it is.
        let mut first = true;
        loop {
            if !std::mem::take(&mut first) {
                self.pump();
            }
            if let Some(o) = self.take_completed(label, seq) {
                return o;
            }
            if self.tasks[label as usize].life == Reaped {
                // A blocked wait of another task reaped it while it ran this op.
                return self.died(label, expect);
            }
            let now = Instant::now();
            let asleep = || match sleep {
                Some(s) if look && now >= next_look => {
                    settle::asleep_in(self.tasks[label as usize].pid, &s)
                }
                _ => false,
            };
            if now >= end && !by_deadline && self.hang.is_none() {
                if let Some(later) = self.starved_until(label as usize, &mut starve, now) {
                    end = later;
                    continue;
                }
            }
            let looped =
                memory && now >= next_look && faults.looping(self.tasks[label as usize].pid);
            if now >= end || self.hang.is_some() || asleep() || looped {
                // A reply that came in meanwhile still counts.
                self.pump();
                if let Some(o) = self.take_completed(label, seq) {
                    return o;
                }
                let faulting = looped
                    || now >= end
                        && matches!(expect, Expect::Byte | Expect::Store)
                        && settle::traced_fault_loop(self.tasks[label as usize].pid);
                if now >= end && !by_deadline && !faulting {
                    self.hung(label as usize, "answer its command");
                }
                self.tasks[label as usize].life = Blocked;
                return Outcome::Blocked;
            }
            if now >= next_look {
                tick = (tick * 2).min(LOOK_MAX);
                next_look = now + tick;
            }
            let end = if look && (sleep.is_some() || memory) {
                end.min(next_look)
            } else {
                end
            };
            // A thread that execs takes over its leader's pid (de_thread): its own thread
            // pidfd turns readable as if it had died, so the process's pidfd watches it.
            let watched = match (expect, &self.tasks[label as usize]) {
                (Expect::Exec, t) if t.thread => t.leader,
                _ => label as usize,
            };
            if self.wait_reply_or_exit(watched, start, end) {
                // Dead. A reply written just before death wins.
                self.pump();
                if let Some(o) = self.take_completed(label, seq) {
                    return o;
                }
                return self.died(label, expect);
            }
        }
    }

    /// The outcome of an op whose task died without replying.
    fn died(&mut self, label: TaskId, expect: Expect) -> Outcome {
        // exit_group and fatal signals end the whole thread group, the others
        // asynchronously: wait for the group to be gone so the next snapshot sees it so.
        if !matches!(expect, Expect::Exit { group: false }) {
            // The leader's pidfd is a process pidfd: readable once no thread is left.
            self.await_exit(self.tasks[label as usize].leader);
        }
        let t = &mut self.tasks[label as usize];
        t.pending = None;
        if t.life != Reaped {
            t.life = Dead;
        }
        let pid = t.pid;
        let leader = t.leader;
        let thread = t_thread(t);
        // Reaped already (auto-reaped because its parent ignores SIGCHLD, say): pidfs keeps
        // the status for holders of a pidfd (Linux 6.15).
        let own_pidfd_status = |t: &Task| {
            t.pidfd
                .as_ref()
                .and_then(|fd| facility::exit_status(fd.as_raw_fd()))
        };
        let mut status =
            zombie_status(pid).or_else(|| own_pidfd_status(&self.tasks[label as usize]));
        if status.is_none() && thread && !matches!(expect, Expect::Exit { group: false }) {
            // A thread dies with its group, whose exit code every thread shares
            // (signal->group_exit_code): the leader's zombie or pidfd has it.
            status = zombie_status(self.tasks[leader].pid)
                .or_else(|| own_pidfd_status(&self.tasks[leader]))
                .or(self.tasks[leader].reaped_status);
        }
        if thread {
            // A thread is released at exit: no zombie, no status for a waiter.
            self.tasks[label as usize].life = Reaped;
        }
        if status.is_none()
            && !thread
            && !matches!(expect, Expect::Exit { .. })
            && facility::get().proc_syscall
        {
            // A blocked wait elsewhere may have reaped it already: that wait is settled (it
            // answers, with the status) before the status is looked for.
            self.settle_blocked();
            status = self.tasks[label as usize].reaped_status;
        } else if status.is_none() && !thread && !matches!(expect, Expect::Exit { .. }) {
            // The same without /proc/PID/syscall: the reply is given a moment to arrive.
            let end = Instant::now() + Duration::from_millis(100);
            loop {
                self.pump();
                let now = Instant::now();
                if self.tasks[label as usize].reaped_status.is_some() || now >= end {
                    break;
                }
                // Sleep until a reply arrives (or the time is up), not a fixed tick.
                let ms = (end - now).as_micros().div_ceil(1000) as i32;
                let mut p = libc::pollfd {
                    fd: REPLY_READ_FD,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: poll on one local pollfd.
                unsafe {
                    libc::poll(&mut p, 1, ms);
                }
            }
            status = self.tasks[label as usize].reaped_status;
        }
        match (expect, status.map(ops::exit_status)) {
            (Expect::Exit { .. }, _) | (_, Some(ExitStatus::Exited(_))) => Outcome::Exited,
            (_, Some(ExitStatus::Signaled(sig))) => Outcome::Killed(sig),
            // The status was lost: the lab says so rather than guess.
            (_, None) => Outcome::Died,
        }
    }

    /// Waits until clone child `c` has sent its birth message or died: clone returns in the
    /// parent before the child first ran, and only then does the kernel write its
    /// CLONE_CHILD_SETTID word (kernel/sched/core.c: schedule_tail). A new task runs at once
    /// (never blocks first): the hang guard records a hang.
    fn await_birth(&mut self, c: usize) {
        let start = Instant::now();
        let mut end = start + self.hang_guard();
        let mut starve = starve::Extension::default();
        loop {
            let slot = self.tasks[c].slot;
            if self.born[slot] || self.gone(c) || self.hang.is_some() {
                return;
            }
            let now = Instant::now();
            if self.guard_ran_out(c, "send its birth message", &mut starve, now, &mut end) {
                return;
            }
            self.wait_reply_or_exit(c, start, end);
            self.pump();
        }
    }

    /// Takes a snapshot of every task not yet reaped.
    pub fn snapshot(&mut self, o: &Observer) -> Result<forkspec_model::Snapshot, String> {
        // A task caught in the middle of exiting (a signal sent by a task other than the
        // one the lab waited on, a pid namespace going down) has lost its fs and files
        // but is no zombie yet: settle (every live task must answer, the dying ones are
        // waited for through their pidfds) and observe again.
        let mut tries = 0;
        let Observed {
            mut snapshot,
            gone,
            namespaces,
            groups,
        } = loop {
            match self.observe_once(o) {
                Ok(obs) => break obs,
                Err(_) if tries < 2 => {
                    tries += 1;
                    self.settle_signals()?;
                }
                Err(e) => return Err(e),
            }
        };
        if let Some(h) = self.hang.take() {
            return Err(h);
        }
        if o.caps.pagemap {
            self.add_tid_words(&mut snapshot);
        }
        for (l, ns) in namespaces {
            self.tasks[l as usize].ns_seen = Some(ns);
        }
        for l in gone {
            let t = &mut self.tasks[l as usize];
            t.life = Reaped;
            t.pidfd = None;
        }
        for (l, pgrp, sid) in groups {
            let group = forkspec_model::GroupView {
                pgrp: self.pid_ref(l as usize, pgrp),
                session: self.pid_ref(l as usize, sid),
            };
            if let Some(v) = snapshot.tasks.iter_mut().find(|v| v.task == l) {
                v.group = Some(group);
            }
        }
        Ok(snapshot)
    }

    /// One observation of every task not yet reaped.
    fn observe_once(&mut self, o: &Observer) -> Result<Observed, String> {
        self.pump();
        let refs: Vec<TaskRef> = self
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.life != Reaped)
            .map(|(i, t)| TaskRef {
                label: i as TaskId,
                pid: t.pid,
                pidfd: t.pidfd.as_ref().map(|f| f.as_raw_fd()),
                blocked: matches!(t.life, Blocked | Stopped),
                stopped: t.life == Stopped,
                thread_of: t.thread.then_some(t.leader as TaskId),
                namespaces: t.ns_seen,
            })
            .collect();
        if self.real_dir.is_none() {
            let real = std::fs::canonicalize(&self.dir)
                .map_err(|e| format!("resolving {}: {e}", self.dir.display()))?;
            self.real_dir = Some(real);
        }
        let real_dir = self.real_dir.clone().expect("resolved above");
        observe::snapshot(o, &refs, self.pages, &real_dir, &mut |label, cmd| {
            self.ask(label, cmd)
        })
    }

    /// Sends task `label` one observation command ([`super::selfobs`]) and waits for its
    /// answer.
    fn ask(&mut self, label: TaskId, mut cmd: Cmd) -> super::selfobs::Answer {
        use super::selfobs::Answer;
        self.seq = self.seq.wrapping_add(1);
        if self.seq == super::channel::BIRTH_SEQ {
            self.seq = 1;
        }
        cmd.seq = self.seq;
        let slot = self.tasks[label as usize].slot;
        if self.send(label, slot, &cmd, Expect::Data).is_err() {
            return Answer::Silent;
        }
        match self.await_reply(label, self.seq, Expect::Data) {
            Outcome::Data(d) => Answer::Data(d),
            Outcome::Err(_) => Answer::Failed,
            _ => Answer::Silent,
        }
    }

    /// Fills in the thread-id words every live task holds for the case's clone children.
    fn add_tid_words(&self, snapshot: &mut forkspec_model::Snapshot) {
        // A fork or vfork child's words are never handed to the kernel (nor written by the
        // agent), so they stay zero: reading them would only cost time.
        let children: Vec<super::tids::SlotChild> = (1..self.tasks.len())
            .filter(|&l| self.tid_pointers[self.tasks[l].slot])
            .map(|l| super::tids::SlotChild {
                label: l as TaskId,
                nspid: [&self.tasks[l].nspid[..], &self.tasks[l].former_nspid[..]].concat(),
                pidfd_word: self.tasks[l].pidfd_word,
            })
            .collect();
        for view in &mut snapshot.tasks {
            if matches!(view.state, forkspec_model::TaskState::Zombie(_)) {
                continue;
            }
            let pid = self.tasks[view.task as usize].pid;
            if let Some(words) = super::tids::read(pid, &children) {
                view.tid_words = words;
            }
        }
    }

    /// The pid of task `label` in the pid namespace of task `caller` (what kill(2) and the
    /// group ops take): a task there or in a namespace nested in it is visible; a reaped or
    /// invisible one gets a pid no task has.
    fn vpid(&self, caller: usize, label: usize) -> i64 {
        let me = &self.tasks[caller];
        let depth = me.nspid.len() - 1;
        self.tasks
            .get(label)
            .filter(|t| t.life != Reaped)
            .filter(|t| t.pidns_chain.get(depth) == me.pidns_chain.get(depth))
            .and_then(|t| t.nspid.get(depth))
            .map_or(NO_PID, |&p| p as i64)
    }

    /// A process group or session id `id` as task `label`'s pid namespace numbers it, as a
    /// label: the thread group leader with that pid (a live one before a reaped one, then the
    /// newest: a group keeps its reaped leader's pid while it has members, and a pid freed
    /// and reused names the newer task), 0 as [`PidRef::Invisible`], any other id (the lab's
    /// group and session) as [`PidRef::Outside`].
    fn pid_ref(&self, label: usize, id: i64) -> forkspec_model::PidRef {
        use forkspec_model::PidRef;
        if id == 0 {
            return PidRef::Invisible;
        }
        let me = &self.tasks[label];
        let depth = me.nspid.len() - 1;
        let mut found: Vec<usize> = (0..self.tasks.len())
            .filter(|&i| {
                let t = &self.tasks[i];
                t.leader == i
                    && t.nspid.get(depth).is_some_and(|&p| p as i64 == id)
                    && t.pidns_chain.get(depth) == me.pidns_chain.get(depth)
            })
            .collect();
        found.sort_by_key(|&i| (self.tasks[i].life == Reaped, std::cmp::Reverse(i)));
        found
            .first()
            .map_or(PidRef::Outside, |&i| PidRef::Task(i as TaskId))
    }

    /// Records the process group a successful setpgid or setsid (`op`) by `caller` made or
    /// joined, for teardown and the guardian.
    fn note_group(&mut self, caller: usize, op: &OpKind) {
        let leader = self.tasks[caller].leader;
        // The group's id is the pid of a task of the case: setsid's caller, setpgid's pgid
        // argument, else its target, else the caller.
        let label = match *op {
            OpKind::Setpgid { target, pgid } => pgid.or(target).map_or(leader, |l| l as usize),
            _ => leader,
        };
        let Some(t) = self.tasks.get(label) else {
            return;
        };
        let pid = t.pid;
        if pid != self.pgid && !self.groups.contains(&pid) {
            self.groups.push(pid);
            self.board.add_group(pid);
        }
    }

    /// The tasks a kill may still name, as [`super::reap::kill_all`] takes them: every task
    /// not reaped (its pid cannot have been reused) with its pidfd.
    fn kill_targets(&self) -> Vec<(i32, Option<i32>)> {
        self.tasks
            .iter()
            .filter(|t| t.life != Reaped)
            .map(|t| (t.pid, t.pidfd.as_ref().map(|f| f.as_raw_fd())))
            .collect()
    }

    /// Kills and reaps every task, empties the channels and removes the case directory.
    pub fn teardown(&mut self) -> Result<(), String> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        let mut err = None;
        // Signals go to our own process group (t0's pid is not reaped before this, so the
        // group id cannot be reused) or, without kill(2), to the tasks not yet reaped.
        let mut targets = self.kill_targets();
        super::reap::kill_all(self.pgid, &targets);
        if !self.groups.is_empty() {
            // Tasks moved to groups of their own (setpgid, setsid) are not in t0's group:
            // each is signalled itself (its group's id may name a stranger's group by now).
            super::reap::kill_all(0, &targets);
        }
        // Sleep until every task we know of has exited (its pidfd turns readable) rather than
        // polling wait4 on a clock; reap_group below then finds zombies at once.
        // Dying takes long where everything does (under valgrind an exit unmaps the tool's
        // own memory): the bound is an op deadline (at least TEARDOWN_GUARD), which scales
        // with the measured speed.
        let bound = TEARDOWN_GUARD.max(self.deadline);
        let end = Instant::now() + bound;
        let start = Instant::now();
        // Namespace inits moved to groups of their own ([`unpin_namespace_init`]): reaped
        // with the groups the case made.
        let mut unpinned: Vec<i32> = Vec::new();
        // A dying namespace init also waits for the zombies of its namespace whose parent
        // is outside it (the later children of a task that unshared CLONE_NEWPID): once
        // their parent died they are the lab's, which reaps them while it waits (never t0
        // nor a group leader, whose pids name groups the guardian may still signal).
        let others: Vec<i32> = self
            .tasks
            .iter()
            .filter(|t| t.life != Reaped && !t.thread)
            .map(|t| t.pid)
            .filter(|&p| p != self.pgid && !self.groups.contains(&p))
            .collect();
        let mut reaped_early: Vec<i32> = Vec::new();
        let reap_others = |reaped: &mut Vec<i32>| {
            for &pid in &others {
                if !reaped.contains(&pid)
                    && matches!(
                        super::reap::reap(super::reap::Who::Pid(pid), true),
                        Ok(Some(_))
                    )
                {
                    reaped.push(pid);
                }
            }
        };
        for t in &self.tasks {
            let ns_init = t.life != Reaped && t.nspid.len() > 1 && t.nspid.last() == Some(&1);
            let pinned = !self.groups.is_empty() && ns_init;
            let Some(fd) = &t.pidfd else {
                // Without a pidfd /proc tells. An orphan adopted outside the lab (no
                // subreaper) is no child to reap below, and until it is gone it can still
                // take one command from its slot's pipe (a read finding data does not look
                // at the pending SIGKILL), the next case's, and die without answering.
                if t.life != Reaped {
                    while !proc_exited(t.pid, t.thread) && Instant::now() < end {
                        if pinned && start.elapsed() >= PINNED_GRACE && unpin_namespace_init(t.pid)
                        {
                            unpinned.push(t.pid);
                        }
                        if ns_init {
                            reap_others(&mut reaped_early);
                        }
                        std::thread::sleep(proc_tick(start, end));
                    }
                }
                continue;
            };
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                if pinned && now - start >= PINNED_GRACE && unpin_namespace_init(t.pid) {
                    unpinned.push(t.pid);
                }
                let mut p = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                let ms = (end - now).as_millis().max(1) as i32;
                // A pinned init is looked at again once the lab may have adopted it, and a
                // dying init once the lab may have adopted the zombies it waits for.
                let ms = if ns_init { ms.min(PINNED_LOOK_MS) } else { ms };
                if ns_init {
                    reap_others(&mut reaped_early);
                }
                // SAFETY: poll on one local pollfd.
                let r = unsafe { libc::poll(&mut p, 1, ms) };
                if r != 0
                    && !(r < 0
                        && std::io::Error::last_os_error().kind()
                            == std::io::ErrorKind::Interrupted)
                {
                    break;
                }
            }
        }
        // Their pids are free now: no kill may name them.
        for t in targets.iter_mut().filter(|t| reaped_early.contains(&t.0)) {
            t.0 = 0;
        }
        unpinned.dedup();
        self.groups.extend(unpinned);
        // From here the group id may be freed by reaping: the guardian must not use it.
        self.board.set_pgid(0);
        // The lab is the subreaper: every task, orphans included, is our child by now or
        // will be once its parent dies, and all of them are in t0's group (the guardian, our
        // other child, is not). Reap until none is left.
        if let Err(e) = reap_group(self.pgid, self.pgid, &targets, end, bound) {
            err = Some(e);
        }
        // Then the groups tasks made; they are re-killed task by task, never as groups.
        self.board.clear_groups();
        for g in std::mem::take(&mut self.groups) {
            if let Err(e) = reap_group(g, 0, &targets, end, bound) {
                err.get_or_insert(e);
            }
        }
        for t in &mut self.tasks {
            t.pidfd = None;
            t.life = Reaped;
        }
        let mut junk = Vec::new();
        let _ = self.chan.recv(&mut junk);
        for slot in 0..self.next_slot.min(SLOTS) {
            self.chan.drain_slot(slot);
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            err.get_or_insert(format!("removing {}: {e}", self.dir.display()));
        }
        self.board.clear();
        err.map_or(Ok(()), Err)
    }
}

/// How often the teardown retries [`unpin_namespace_init`] while the init lives.
const PINNED_LOOK_MS: i32 = 10;
/// How long a killed namespace init may take to exit before the teardown takes it for
/// pinned: only then is it moved ([`unpin_namespace_init`]), so an init that exits as usual
/// stays in the group the teardown reaps.
const PINNED_GRACE: Duration = Duration::from_millis(100);

/// A dying pid namespace init waits in `zap_pid_ns_processes` until no pid of its namespace
/// but its own is in use, and its own membership of a process group named by another task of
/// the namespace (setpgid) keeps that pid in use: it would never finish exiting
/// (kernel/pid_namespace.c; `free_pid` wakes it). Once the lab has adopted it (its parent
/// died), the lab moves it to a group of its own, which lets it go (setpgid checks neither
/// that the child is exiting nor its pid namespace). ESRCH while it is not the lab's child,
/// EPERM for a session leader. Returns whether it moved: its new group must be reaped.
fn unpin_namespace_init(pid: i32) -> bool {
    // SAFETY: setpgid with plain values on a task of the case that is being killed.
    unsafe { libc::setpgid(pid, pid) == 0 }
}

/// Sleeps until a reply is readable, `pidfd` (-1 for none) turns readable (its task
/// exited) or `end` passes; returns whether `pidfd` turned readable.
fn wait_reply_or_exit(pidfd: i32, end: Instant) -> bool {
    let left = end.saturating_duration_since(Instant::now());
    // ppoll, not poll: the first look for a blocked task comes a fraction of a millisecond
    // after its command.
    let ts = libc::timespec {
        tv_sec: left.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_nsec: left.subsec_nanos() as libc::c_long,
    };
    let mut fds = [
        libc::pollfd {
            fd: REPLY_READ_FD,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: pidfd,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: ppoll on a local array and a local timespec, no signal mask; a negative fd is
    // ignored.
    unsafe {
        libc::ppoll(fds.as_mut_ptr(), 2, &ts, std::ptr::null());
    }
    fds[1].revents != 0
}

/// Where an op's command sleeps if it blocks: a system call the agent issues itself, in
/// `TASK_INTERRUPTIBLE` ([`settle`]). Exits (a pid namespace's init waits for its children
/// in `zap_pid_ns_processes`, which is no block of the op), forks, clones, execs and memory
/// ops never block; neither do calls whose first argument the agent fills in itself (a
/// pointer: pipe2, sethostname), which could not be told from the agent's own calls.
fn op_sleep(cmd: &Cmd, expect: Expect) -> Option<Sleep> {
    use super::channel::{FIX_CMD_DATA, FIX_REPLY_DATA, K_SYSCALL};
    let arg0_fixed = cmd.fix & (FIX_CMD_DATA | FIX_REPLY_DATA) != 0;
    (cmd.kind == K_SYSCALL && !arg0_fixed && !matches!(expect, Expect::Exit { .. })).then_some(
        Sleep {
            nr: cmd.nr as i64,
            arg0: cmd.args[0],
            state: b'S',
        },
    )
}

/// What the lab knows about a new task when it registers it.
struct NewChild {
    slot: usize,
    /// The pid its creator's reply or its birth message gave.
    hint: i32,
    /// `hint` is the pid in the creator's namespace (not the child's own).
    hint_is_outer: bool,
    thread: bool,
    sibling: bool,
    newpid: bool,
}

fn t_thread(t: &Task) -> bool {
    t.thread
}

/// How long killed tasks may take to die at teardown before the case fails, at least (an
/// op deadline when that is longer; longer still while they are starved of a CPU:
/// [`starve`]).
const TEARDOWN_GUARD: Duration = Duration::from_secs(5);

/// Reaps every child in process group `pgid` (all SIGKILLed already), re-killing the group
/// (or, without kill(2), `targets`) in case a fork raced the first kill; gives up at `end`
/// (`bound` after the kill, unless the tasks are starved) so the lab never hangs.
/// `kill_pgid` is the group to signal as a whole (0: none, only `targets`).
fn reap_group(
    pgid: i32,
    kill_pgid: i32,
    targets: &[(i32, Option<i32>)],
    end: Instant,
    bound: Duration,
) -> Result<(), String> {
    if pgid <= 0 {
        return Ok(());
    }
    let mut targets = targets.to_vec();
    let (mut end, mut starve) = (end, starve::Extension::default());
    loop {
        match super::reap::reap(super::reap::Who::Group(pgid), true) {
            Ok(Some(pid)) => {
                // Its pid is free now: only its pidfd may still name it.
                for t in targets.iter_mut().filter(|t| t.0 == pid) {
                    t.0 = 0;
                }
                continue;
            }
            Err(libc::ECHILD) => return Ok(()),
            _ => {}
        }
        let now = Instant::now();
        if now >= end {
            // Dying tasks kept waiting for a CPU are starved, not stuck.
            let delay = targets
                .iter()
                .filter(|t| t.0 > 0)
                .filter_map(|t| starve::run_delay(t.0))
                .max();
            match starve.extend_by(delay, now, bound) {
                Some(later) => end = later,
                None => {
                    return Err(format!(
                        "teardown: tasks still alive {} ms after the kill",
                        bound.as_millis()
                    ))
                }
            }
        }
        // The group is ours (its leader t0 is not reaped yet, or it is empty).
        super::reap::kill_all(kill_pgid, &targets);
        std::thread::sleep(Duration::from_micros(100));
    }
}

use Life::{Blocked, Dead, Live, Reaped, Stopped};

impl Drop for Case {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}
