//! The protocol loop: JSON-lines requests on stdin, responses on stdout.

use super::case::Case;
use super::channel::{Channel, LAB_NOFILE};
use super::guard::Guard;
use super::observe::Observer;
use super::probe::{probe, Probe};
use super::zygote::Zygote;
use forkspec_model::protocol::{Hello, Request, Response, PROTOCOL_VERSION};
use std::io::{BufRead, Write};

/// The lab's state between requests.
struct Lab {
    chan: Channel,
    guard: Guard,
    probe: Probe,
    observer: Observer,
    case: Option<Case>,
    /// Starts each case's `t0`; `None` when it could not be started (the lab forks `t0`).
    zygote: Option<Zygote>,
    /// What this implementation's speed was measured to be at start-up.
    speed: Option<forkspec_model::protocol::Speed>,
    /// How execs stay inside the implementation under test, as probed at start-up.
    exec_route: forkspec_model::protocol::ExecRoute,
}

/// Pins the lab (and so every task it forks) to the CPU in `FORKSPEC_LAB_CPU`, if set and
/// allowed: all the lab's pipe round trips then stay on one CPU. Affinity is no observation,
/// so cases behave the same either way.
fn pin_from_env() {
    let Some(cpu) = std::env::var("FORKSPEC_LAB_CPU")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&c| c < libc::CPU_SETSIZE as usize)
    else {
        return;
    };
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it. A refused
    // affinity leaves the lab unpinned, which is only slower.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Process-wide set-up: die with the harness, adopt orphans, room for the channel fds.
/// Returns whether the lab is a child subreaper: without it (an emulator that refuses the
/// prctl, or `FORKSPEC_LAB_DENY=subreaper`) orphans are not compared.
/// `parent` is the lab's parent pid when it started: a different one once PDEATHSIG is
/// armed means the parent died before (its orphans go to a reaper, whatever its pid; the
/// parent may be pid 1 itself when forkspec is a pid namespace's init, as in a container).
fn init_process(parent: libc::pid_t) -> Result<bool, String> {
    pin_from_env();
    // SAFETY: prctl/getrlimit/setrlimit with plain values and a local struct.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
        if libc::getppid() != parent {
            // The harness died before PDEATHSIG was armed.
            return Err("parent already gone".into());
        }
        // A lab started by a kernel's own init (the VM runs it from /init) is in session 0,
        // which no task has: t0 would see its session as having no pid. As everywhere else,
        // the case's session is then a process outside the case: the lab's own.
        if libc::getsid(0) == 0 {
            libc::setsid();
        }
        let subreaper = !super::facility::denied("subreaper")
            && libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) == 0;
        let mut lim: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        if lim.rlim_cur < LAB_NOFILE {
            if lim.rlim_max < LAB_NOFILE {
                return Err(format!(
                    "RLIMIT_NOFILE hard limit {} is below the {LAB_NOFILE} the lab needs",
                    lim.rlim_max
                ));
            }
            lim.rlim_cur = LAB_NOFILE;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(format!("setrlimit: {}", std::io::Error::last_os_error()));
            }
        }
        Ok(subreaper)
    }
}

impl Lab {
    fn hello(&self, protocol: u32) -> Response {
        if protocol != PROTOCOL_VERSION {
            return Response::Error(format!(
                "unsupported protocol {protocol}; this lab speaks {PROTOCOL_VERSION}"
            ));
        }
        Response::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            implementation: format!("linux-lab {}", self.probe.release),
            profile: self.probe.profile.clone(),
            capabilities: self.probe.caps,
            // Without a confirmed exec route, exec ops would run outside the implementation
            // under test: they are not offered. Nor are the mapping ops without a free
            // mapping slot.
            ops: {
                let no_exec = self.exec_route.via == "none";
                let no_slot = super::ops_mm::unusable().is_some();
                (no_exec || no_slot).then(|| {
                    crate::gen::GEN_OP_KINDS
                        .iter()
                        .filter(|k| !(no_exec && **k == "exec"))
                        .filter(|k| !(no_slot && super::ops_mm::NEEDS_SLOT.contains(*k)))
                        .map(|k| k.to_string())
                        .collect()
                })
            },
            speed: self.speed,
            exec_route: Some(self.exec_route.clone()),
            // Without /proc/PID/syscall only the op deadline tells that an op blocks
            // (lab/settle.rs): the harness then leaves the blocking forms out.
            blocked_by_deadline: (!super::facility::get().proc_syscall).then(|| {
                if super::facility::denied("proc_syscall") {
                    "/proc/PID/task/TID/syscall denied (FORKSPEC_LAB_DENY)".to_string()
                } else {
                    "/proc/PID/task/TID/syscall did not show the probe's child asleep in its \
                     read (missing, unreadable or faked)"
                        .to_string()
                }
            }),
        })
    }

    fn end_case(&mut self) -> Result<(), String> {
        match self.case.take() {
            Some(mut c) => c.teardown(),
            None => Ok(()),
        }
    }

    fn handle(&mut self, req: Request) -> Response {
        match req {
            Request::Hello { protocol } => self.hello(protocol),
            Request::Setup {
                config,
                deadline_ms,
            } => {
                if let Err(e) = self.end_case() {
                    return Response::Error(format!("previous case: {e}"));
                }
                match Case::setup(
                    self.chan,
                    self.guard.board(),
                    &mut self.zygote,
                    config,
                    deadline_ms,
                ) {
                    Ok(c) => {
                        self.case = Some(c);
                        Response::Ready
                    }
                    Err(e) => Response::Error(format!("setup: {e}")),
                }
            }
            Request::Op { op, snapshot } => {
                let Some(case) = self.case.as_mut() else {
                    return Response::Error("op before setup".into());
                };
                let outcome = match case.op(&op) {
                    Ok(o) => o,
                    Err(e) => return Response::Error(format!("op {op}: {e}")),
                };
                let snapshot = if snapshot {
                    match case.snapshot(&self.observer) {
                        Ok(s) => Some(s),
                        Err(e) => return Response::Error(format!("snapshot after {op}: {e}")),
                    }
                } else {
                    None
                };
                Response::Done { outcome, snapshot }
            }
            Request::Snapshot => match self.case.as_mut() {
                None => Response::Error("snapshot before setup".into()),
                Some(c) => match c.snapshot(&self.observer) {
                    Ok(s) => Response::Snapshot(s),
                    Err(e) => Response::Error(format!("snapshot: {e}")),
                },
            },
            Request::End => match self.end_case() {
                Ok(()) => Response::Ended,
                Err(e) => Response::Error(format!("end: {e}")),
            },
        }
    }
}

/// Longest an answer is held back while more requests wait (docs/protocol.md).
const HOLD_MAX: std::time::Duration = std::time::Duration::from_millis(500);

/// Appends one response line to `buf`. Lines are serialized into a buffer and written with
/// one `write_all` ([`flush`]): through stdout's line buffer a large snapshot would go out in
/// many small writes, each waking the harness.
fn queue(buf: &mut Vec<u8>, r: &Response) {
    let start = buf.len();
    if let Err(e) = serde_json::to_writer(&mut *buf, r) {
        buf.truncate(start);
        let msg = Response::Error(format!("cannot serialize the answer: {e}"));
        serde_json::to_writer(&mut *buf, &msg).expect("an error message serializes");
    }
    buf.push(b'\n');
}

/// Writes the queued response lines.
fn flush(out: &mut impl Write, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let r = out.write_all(buf).and_then(|_| out.flush());
    buf.clear();
    r
}

/// Becomes `UID:GID` with no supplementary groups. Done before anything else: the change of
/// credentials clears PR_SET_PDEATHSIG (armed afterwards by init_process) and the dumpable
/// flag, which is set again so that the lab can read its tasks' /proc files (their mm
/// inherits the flag).
fn drop_privileges(spec: &str) -> Result<(), String> {
    let (uid, gid) = spec
        .split_once(':')
        .and_then(|(u, g)| Some((u.parse::<u32>().ok()?, g.parse::<u32>().ok()?)))
        .ok_or_else(|| format!("--as-user {spec:?}: expected UID:GID"))?;
    // SAFETY: credential calls with plain values; prctl with plain values.
    unsafe {
        if libc::geteuid() == uid && libc::getuid() == uid && libc::getegid() == gid {
            return Ok(());
        }
        if libc::geteuid() != 0 {
            return Err(format!(
                "--as-user {uid}:{gid} needs root (running as uid {})",
                libc::geteuid()
            ));
        }
        let os = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
        if libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(os("setgroups"));
        }
        if libc::setresgid(gid, gid, gid) != 0 {
            return Err(os("setresgid"));
        }
        if libc::setresuid(uid, uid, uid) != 0 {
            return Err(os("setresuid"));
        }
        if libc::prctl(libc::PR_SET_DUMPABLE, 1 as libc::c_ulong, 0, 0, 0) != 0 {
            return Err(os("PR_SET_DUMPABLE"));
        }
    }
    Ok(())
}

/// Runs the lab until stdin closes, as `as_user` (`UID:GID`) when given; returns the exit
/// code.
pub fn run(as_user: Option<&str>) -> i32 {
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    if let Some(spec) = as_user {
        if let Err(e) = drop_privileges(spec) {
            eprintln!("forkspec lab: {e}");
            return 2;
        }
    }
    if let Err(e) = super::facility::init_denied() {
        eprintln!("forkspec lab: {e}");
        return 2;
    }
    if let Err(e) = super::reap::can_list_directories() {
        eprintln!("forkspec lab: {e}");
        return 2;
    }
    let subreaper = match init_process(parent) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("forkspec lab: {e}");
            return 1;
        }
    };
    // Before anything is forked or started, so that every process of the lab agrees.
    let fixed = match super::layout::choose(super::facility::denied("fixed_addresses")) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("forkspec lab: {e}");
            return 1;
        }
    };
    let guard = match Guard::start() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("forkspec lab: starting the guardian: {e}");
            return 1;
        }
    };
    let chan = match Channel::open() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("forkspec lab: creating the agent channels: {e}");
            return 1;
        }
    };
    // Probed while the lab is still single-threaded (one probe forks), before the zygote,
    // which uses what was found.
    let probe = probe(subreaper, fixed);
    super::layout::publish(super::facility::get().close_range);
    // Before the zygote, which is started by the route chosen here.
    let exec_route = super::reentry::choose();
    // Forked while the lab is still single-threaded, like the guardian.
    // `FORKSPEC_LAB_ZYGOTE=0` does without it (how the suites check that path), and so does
    // a lab denied CLONE_PARENT, which the zygote needs.
    let zygote = if std::env::var_os("FORKSPEC_LAB_ZYGOTE").as_deref()
        == Some(std::ffi::OsStr::new("0"))
        || !super::facility::get().clone_parent
    {
        None
    } else {
        match Zygote::start() {
            Ok(z) => Some(z),
            Err(e) => {
                eprintln!("forkspec lab: note: {e}; the lab forks each t0 itself");
                None
            }
        }
    };
    let observer = Observer {
        // SAFETY: getpid has no preconditions.
        lab_pid: unsafe { libc::getpid() },
        caps: probe.caps,
        zero_pfn: probe.zero_pfn,
        fds_ascending: super::observe::fd_listing_ascending(),
        proc_trust: super::selfobs::probe_proc(),
    };
    let mut lab = Lab {
        chan,
        guard,
        probe,
        observer,
        case: None,
        zygote,
        // Measured before the first hello (and once): the harness needs it to set its
        // deadlines, and a case's tasks are not yet running to disturb it.
        speed: super::speed::measure(),
        exec_route,
    };
    // A harness may pipeline requests (docs/protocol.md): a buffer that holds a whole window
    // of them lets the lab see which are already waiting.
    // SAFETY: fd 0 stays open for the life of the lab; ManuallyDrop keeps it so.
    let stdin_file = std::mem::ManuallyDrop::new(unsafe {
        <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(0)
    });
    let mut input = std::io::BufReader::with_capacity(1 << 16, &*stdin_file);
    // Unbuffered: `flush` hands over whole lines at once.
    // SAFETY: fd 1 stays open for the life of the lab; ManuallyDrop keeps it so.
    let stdout_file = std::mem::ManuallyDrop::new(unsafe {
        <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(1)
    });
    let mut out: &std::fs::File = &stdout_file;
    let mut obuf = Vec::with_capacity(1 << 16);
    let mut line = String::new();
    let mut held_since: Option<std::time::Instant> = None;
    let mut code = 0;
    loop {
        // Answers queued while more requests were already waiting go out together: one
        // write and one wake-up of the harness instead of one per request. They go out
        // before the lab could block reading (no whole request left in the buffer, a blank
        // line included), and never later than HOLD_MAX: the harness gives each answer the
        // op deadline plus slack, counted from the one before.
        if !obuf.is_empty()
            && (!input.buffer().contains(&b'\n')
                || held_since.is_some_and(|h| h.elapsed() >= HOLD_MAX))
        {
            held_since = None;
            if flush(&mut out, &mut obuf).is_err() {
                // The harness stopped listening: clean up and leave.
                code = 1;
                break;
            }
        }
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                queue(&mut obuf, &Response::Error(format!("reading request: {e}")));
                continue;
            }
        }
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let resp = match serde_json::from_str::<Request>(text) {
            Ok(req) => lab.handle(req),
            Err(e) => Response::Error(format!("bad request: {e}")),
        };
        queue(&mut obuf, &resp);
        held_since.get_or_insert_with(std::time::Instant::now);
    }
    // Answers to the last requests before stdin closed.
    if code == 0 && !obuf.is_empty() {
        let _ = flush(&mut out, &mut obuf);
    }
    if let Err(e) = lab.end_case() {
        eprintln!("forkspec lab: {e}");
        code = 1;
    }
    drop(lab.zygote.take());
    lab.guard.stop();
    code
}
