//! Backends: anything that runs cases and reports outcomes and snapshots.
//!
//! The Linux lab and external simulators are both [`ProcessBackend`]s speaking the JSON-lines
//! protocol of [`forkspec_model::protocol`]; a simulator written in Rust can implement
//! [`Backend`] directly.

use crate::cpus::{claim_lab_cpu, pin_thread, CpuClaim};
use forkspec_model::protocol::{Hello, Request, Response, PROTOCOL_VERSION};
use forkspec_model::{CaseConfig, Op, Outcome, Snapshot};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a backend could not answer.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The backend process could not be started.
    #[error("cannot start backend: {0}")]
    Spawn(String),
    /// It did not answer in time.
    #[error("backend gave no answer to {request} within {waited:?}")]
    Timeout {
        /// What was asked.
        request: String,
        /// How long we waited.
        waited: Duration,
    },
    /// It exited or closed its output.
    #[error("backend died: {0}")]
    Died(String),
    /// It answered something that is not a valid response.
    #[error("backend answered {request} with garbage ({error}): {line}")]
    Garbage {
        /// What was asked.
        request: String,
        /// The offending line (truncated).
        line: String,
        /// The parse error.
        error: String,
    },
    /// It answered with an error message.
    #[error("backend reported an error: {0}")]
    Refused(String),
    /// It speaks another protocol version.
    #[error("backend speaks protocol version {0}, this harness speaks {PROTOCOL_VERSION}")]
    Version(u32),
}

/// Result of a backend call.
pub type BResult<T> = Result<T, BackendError>;

/// An implementation under test: the Linux lab, a simulator process, or a simulator written in
/// Rust that implements this trait directly.
///
/// The harness calls [`Backend::hello`] once, then for every case [`Backend::setup`], one
/// [`Backend::op`] per op of the case (with `snapshot` set when it compares the state after
/// that step), maybe a final [`Backend::snapshot`], and [`Backend::end`] — also after a
/// mismatch. The methods mirror the requests of the wire protocol (docs/protocol.md).
///
/// A backend reports observations in the shapes of [`forkspec_model::obs`]: task labels in
/// creation order, raw fd numbers, and any `u64` identities for open file descriptions,
/// inodes, frames and kcmp classes (the harness canonicalizes them). What it cannot observe it
/// declares in [`Hello::capabilities`]; the op kinds it implements it lists in
/// [`Hello::ops`], and the generator draws only those.
///
/// # Example
///
/// A backend that delegates to the reference model itself (so it always agrees); a real
/// simulator keeps its own state instead. `examples/custom_backend.rs` is a complete one.
///
/// ```
/// use forkspec::backend::{BResult, Backend};
/// use forkspec_model::protocol::{Hello, PROTOCOL_VERSION};
/// use forkspec_model::{CaseConfig, Model, Op, Outcome, Profile, Snapshot};
///
/// struct Echo(Option<Model>);
///
/// impl Backend for Echo {
///     fn hello(&mut self) -> BResult<Hello> {
///         Ok(Hello {
///             protocol: PROTOCOL_VERSION,
///             implementation: "echo".into(),
///             profile: Profile::default(),
///             capabilities: Default::default(),
///             ops: Some(vec!["fork".into(), "mem_write".into(), "mem_read".into()]),
///             speed: None,
///             exec_route: None,
///             blocked_by_deadline: None,
///         })
///     }
///     fn setup(&mut self, config: &CaseConfig) -> BResult<()> {
///         self.0 = Some(Model::new(*config, &Profile::default()));
///         Ok(())
///     }
///     fn op(&mut self, op: &Op, snapshot: bool) -> BResult<(Outcome, Option<Snapshot>)> {
///         let m = self.0.as_mut().expect("setup first");
///         let outcome = m.step(op, None).taken;
///         Ok((outcome, snapshot.then(|| m.snapshot())))
///     }
///     fn snapshot(&mut self) -> BResult<Snapshot> {
///         Ok(self.0.as_ref().expect("setup first").snapshot())
///     }
///     fn end(&mut self) -> BResult<()> {
///         self.0 = None;
///         Ok(())
///     }
/// }
///
/// let mut b = Echo(None);
/// let hello = b.hello().unwrap();
/// let gen = forkspec::gen::GenConfig {
///     ops: forkspec::gen::OpSet::from_hello(hello.ops.as_deref()).0,
///     ..Default::default()
/// };
/// let case = forkspec::check::case_for_seed(7, &gen, &hello.profile);
/// let opts = forkspec::run::RunOptions {
///     snapshots: forkspec::run::SnapshotMode::Step,
///     levels: Default::default(),
///     caps: hello.capabilities,
/// };
/// let run = forkspec::run::run_case(&mut b, &case, &hello.profile, &opts).unwrap();
/// assert!(run.mismatch.is_none());
/// ```
pub trait Backend {
    /// What the backend is and can observe (asked once, then cached by implementations).
    fn hello(&mut self) -> BResult<Hello>;
    /// Starts a fresh case.
    fn setup(&mut self, config: &CaseConfig) -> BResult<()>;
    /// Runs one op; with `snapshot` also returns the state after it.
    fn op(&mut self, op: &Op, snapshot: bool) -> BResult<(Outcome, Option<Snapshot>)>;
    /// The state now.
    fn snapshot(&mut self) -> BResult<Snapshot>;
    /// Tears the case down.
    fn end(&mut self) -> BResult<()>;

    /// Runs `ops` in order, each as [`Backend::op`] with `snapshot`, and hands every result to
    /// `each` with the op's index; stops sending ops once `each` returns `false`. A backend
    /// may run a few ops past that point (they were already on their way); the caller ends
    /// the case anyway. The default runs one op at a time; [`ProcessBackend`] pipelines.
    fn ops(
        &mut self,
        ops: &[Op],
        snapshot: bool,
        each: &mut dyn FnMut(usize, Outcome, Option<Snapshot>) -> bool,
    ) -> BResult<()> {
        for (i, op) in ops.iter().enumerate() {
            let (outcome, snap) = self.op(op, snapshot)?;
            if !each(i, outcome, snap) {
                break;
            }
        }
        Ok(())
    }
}

/// Most requests a [`ProcessBackend`] has on their way at once when it pipelines ops.
pub const PIPELINE_DEPTH: usize = 64;
/// Most bytes of requests on their way at once: well below a pipe's 64 KiB, so writing them
/// never blocks, whatever the backend is doing (a backend blocked writing its answers to us
/// must not find us blocked writing to it).
pub const PIPELINE_BYTES: usize = 16 << 10;

/// A backend process speaking the wire protocol on its stdin/stdout.
pub struct ProcessBackend {
    argv: Vec<String>,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    buf: Vec<u8>,
    hello: Option<Hello>,
    /// The CPU the lab was asked to pin itself to; the thread that drives it joins it.
    cpu: Option<CpuClaim>,
    /// Per-op deadline the backend is asked to apply.
    pub op_deadline: Duration,
    /// Extra time granted on top of the backend's own deadline before we call it hung.
    pub slack: Duration,
    /// How long hello may take, when not the usual patience: a lab under a runner gets
    /// [`RUNNER_HELLO_WAIT`].
    hello_wait: Option<Duration>,
}

/// How long a lab started under a runner may take to answer hello: an emulator starts a
/// program in seconds on a loaded machine (valgrind), and before answering, the lab starts
/// probes of itself through the runner and measures its speed there. Only a lab that never
/// answers waits this long. Measured: a lab under valgrind answered hello after 130 s with
/// the machine's load average at 17 (2 CPUs), so 120 s stopped a run that would have worked.
pub const RUNNER_HELLO_WAIT: Duration = Duration::from_secs(600);

impl ProcessBackend {
    /// Starts `argv` (program and arguments) with piped stdin/stdout; stderr is inherited.
    pub fn spawn(argv: &[String]) -> BResult<ProcessBackend> {
        Self::spawn_in(argv, None)
    }

    fn spawn_in(
        argv: &[String],
        lab: Option<(std::path::PathBuf, &[String])>,
    ) -> BResult<ProcessBackend> {
        let (prog, args) = argv
            .split_first()
            .ok_or_else(|| BackendError::Spawn("empty command".into()))?;
        let mut cmd = Command::new(prog);
        let mut cpu = None;
        if let Some((t, runner)) = &lab {
            cmd.env("TMPDIR", t);
            if runner.is_empty() {
                cmd.env_remove(crate::lab::RUNNER_ENV);
            } else {
                let words = serde_json::to_string(runner).expect("strings serialize");
                cmd.env(crate::lab::RUNNER_ENV, words);
            }
            cpu = claim_lab_cpu();
            if let Some(c) = &cpu {
                cmd.env("FORKSPEC_LAB_CPU", c.cpu.to_string());
            }
        }
        cmd.args(args).stderr(Stdio::inherit());
        let (mut b, _) = ProcessBackend::spawn_command(cmd, argv)?;
        b.cpu = cpu;
        Ok(b)
    }

    /// Starts a prepared command (its stdin and stdout become the protocol's pipes; its
    /// stderr is as `cmd` says) and returns its stderr when `cmd` piped it. `argv` names it
    /// in messages. Like every backend process, it is spawned from a thread that lives as
    /// long as the harness, so a PR_SET_PDEATHSIG it arms fires only when the harness dies.
    pub fn spawn_command(
        mut cmd: Command,
        argv: &[String],
    ) -> BResult<(ProcessBackend, Option<std::process::ChildStderr>)> {
        // Its own session (and so its own process group): a Ctrl-C at the terminal goes to
        // forkspec alone, which finishes the cases under way on its backends and writes its
        // reports. A session rather than only a group because a harness started outside any
        // session (session 0: a CI VM's init, a pid namespace whose session leader is
        // outside) would leave the case's session without a visible leader, and a group
        // leader can no longer call setsid itself.
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = spawn_from_keeper(cmd)
            .map_err(|e| BackendError::Spawn(format!("{}: {e}", argv.join(" "))))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take();
        let b = ProcessBackend {
            argv: argv.to_vec(),
            child,
            stdin: Some(stdin),
            stdout,
            buf: Vec::new(),
            hello: None,
            cpu: None,
            op_deadline: Duration::from_millis(forkspec_model::protocol::default_deadline_ms()),
            slack: Duration::from_secs(10),
            hello_wait: None,
        };
        Ok((b, stderr))
    }

    /// Kills the backend process at once (SIGKILL; nothing if it is already gone); it is
    /// reaped when the backend is dropped.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Reads one line the backend writes before the protocol starts (a start-up banner),
    /// waiting at most `wait`; `what` names it in errors.
    pub fn banner_line(&mut self, what: &str, wait: Duration) -> BResult<Vec<u8>> {
        self.read_line(&|| what.to_string(), wait)
    }

    /// Asks hello (once; later calls return the first answer) and waits at most `wait` for
    /// it: how a backend that takes long to start (a VM booting) gets its own bound.
    pub fn hello_within(&mut self, wait: Duration) -> BResult<Hello> {
        if let Some(h) = &self.hello {
            return Ok(h.clone());
        }
        let req = Request::Hello {
            protocol: PROTOCOL_VERSION,
        };
        match self.request(&req, wait)? {
            Response::Hello(h) => {
                if h.protocol != PROTOCOL_VERSION {
                    return Err(BackendError::Version(h.protocol));
                }
                self.hello = Some(h.clone());
                Ok(h)
            }
            other => Err(Self::unexpected("hello", other)),
        }
    }

    /// Starts the Linux lab: `forkspec lab` from `exe`, optionally under a runner prefix.
    pub fn lab(exe: &std::path::Path, runner: &[String]) -> BResult<ProcessBackend> {
        ProcessBackend::lab_in(exe, runner, &case_dir_base())
    }

    /// Like [`ProcessBackend::lab`], with the case directories made under `tmp`.
    pub fn lab_in(
        exe: &std::path::Path,
        runner: &[String],
        tmp: &std::path::Path,
    ) -> BResult<ProcessBackend> {
        let mut argv: Vec<String> = runner.to_vec();
        argv.push(exe.display().to_string());
        argv.push("lab".into());
        ProcessBackend::spawn_lab_in(&argv, runner, tmp)
    }

    /// Starts a lab command line (runner prefix included) with the case-directory base in
    /// `TMPDIR`; a lab under a runner should be started with [`ProcessBackend::lab`] or
    /// [`ProcessBackend::spawn_lab_under`], which tell it the runner.
    pub fn spawn_lab(argv: &[String]) -> BResult<ProcessBackend> {
        ProcessBackend::spawn_lab_in(argv, &[], &case_dir_base())
    }

    /// Starts a lab command line whose first words are `runner`, and tells the lab its
    /// runner ([`crate::lab::RUNNER_ENV`]): every exec of the lab re-enters the runner
    /// unless the lab proves that a direct exec stays inside it.
    pub fn spawn_lab_under(argv: &[String], runner: &[String]) -> BResult<ProcessBackend> {
        ProcessBackend::spawn_lab_in(argv, runner, &case_dir_base())
    }

    fn spawn_lab_in(
        argv: &[String],
        runner: &[String],
        tmp: &std::path::Path,
    ) -> BResult<ProcessBackend> {
        // The lab makes its case directories under TMPDIR and removes them itself (its
        // guardian process does so even when the lab is killed).
        let mut b = ProcessBackend::spawn_in(argv, Some((tmp.to_path_buf(), runner)))?;
        if !runner.is_empty() {
            // A runner may take long to start the lab, and the lab proves its exec route
            // at start-up by starting probes through the runner (valgrind: seconds each).
            b.hello_wait = Some(RUNNER_HELLO_WAIT);
        }
        Ok(b)
    }

    /// Sends `hello` again, uncached, and checks the answer: one round trip the backend
    /// answers without running anything (what `forkspec bench` times as the harness-lab hop).
    pub fn hello_again(&mut self) -> BResult<()> {
        let req = Request::Hello {
            protocol: PROTOCOL_VERSION,
        };
        let wait = self.quick();
        match self.request(&req, wait)? {
            Response::Hello(_) => Ok(()),
            other => Err(Self::unexpected("hello", other)),
        }
    }

    /// The backend process's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The command line this backend runs.
    pub fn command(&self) -> String {
        self.argv.join(" ")
    }

    fn request(&mut self, req: &Request, wait: Duration) -> BResult<Response> {
        let mut line = serde_json::to_vec(req).expect("requests serialize");
        line.push(b'\n');
        self.send(&line, &|| request_name(req))?;
        self.answer(&|| request_name(req), wait)
    }

    /// Writes request lines (one or several) in one go.
    fn send(&mut self, lines: &[u8], what: &dyn Fn() -> String) -> BResult<()> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(BackendError::Died("stdin already closed".into()));
        };
        if let Err(e) = stdin.write_all(lines).and_then(|_| stdin.flush()) {
            let note = self.exit_note();
            return Err(BackendError::Died(format!(
                "writing {}: {e} ({note})",
                what()
            )));
        }
        Ok(())
    }

    /// Reads and parses the answer to the oldest request not yet answered; an error response
    /// becomes [`BackendError::Refused`].
    fn answer(&mut self, what: &dyn Fn() -> String, wait: Duration) -> BResult<Response> {
        let line = self.read_line(what, wait)?;
        let resp: Response = serde_json::from_slice(&line).map_err(|e| BackendError::Garbage {
            request: what(),
            line: String::from_utf8_lossy(&line[..line.len().min(300)]).into_owned(),
            error: e.to_string(),
        })?;
        if let Response::Error(msg) = resp {
            return Err(BackendError::Refused(format!("{}: {msg}", what())));
        }
        Ok(resp)
    }

    /// How the backend ended, after it closed a pipe. A backend that closes its pipes is
    /// usually exiting but may not have been reaped yet: its exit is waited for (for up to
    /// the slack) before it is called running.
    fn exit_note(&mut self) -> String {
        if let Ok(None) = self.child.try_wait() {
            wait_for_exit(self.child.id(), self.slack.min(Duration::from_secs(2)));
        }
        match self.child.try_wait() {
            Ok(Some(st)) => format!("backend exited: {st}"),
            _ => "backend still running".into(),
        }
    }

    fn read_line(&mut self, what: &dyn Fn() -> String, wait: Duration) -> BResult<Vec<u8>> {
        let start = Instant::now();
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let rest = self.buf.split_off(pos + 1);
                let mut line = std::mem::replace(&mut self.buf, rest);
                line.pop();
                return Ok(line);
            }
            let left = wait.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(BackendError::Timeout {
                    request: what(),
                    waited: wait,
                });
            }
            let ms = left.as_millis().min(i32::MAX as u128) as i32;
            let timeout = rustix::event::Timespec {
                tv_sec: i64::from(ms.max(1) / 1000),
                tv_nsec: i64::from(ms.max(1) % 1000) * 1_000_000,
            };
            let mut pfd = [rustix::event::PollFd::new(
                &self.stdout,
                rustix::event::PollFlags::IN,
            )];
            match rustix::event::poll(&mut pfd, Some(&timeout)) {
                Ok(0) | Err(rustix::io::Errno::INTR) => continue,
                Ok(_) => {}
                Err(e) => return Err(BackendError::Died(format!("poll: {e}"))),
            }
            let mut chunk = [0u8; 65536];
            let n = match rustix::io::read(&self.stdout, &mut chunk) {
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    return Err(BackendError::Died(format!(
                        "reading answer to {}: {e}",
                        what()
                    )))
                }
            };
            if n == 0 {
                let note = self.exit_note();
                return Err(BackendError::Died(format!(
                    "closed its output before answering {} ({note})",
                    what()
                )));
            }
            self.buf.extend_from_slice(&chunk[..n]);
            if self.buf.len() > 256 << 20 {
                return Err(BackendError::Garbage {
                    request: what(),
                    line: String::from_utf8_lossy(&self.buf[..200]).into_owned(),
                    error: "answer longer than 256 MiB without a newline".into(),
                });
            }
        }
    }

    fn unexpected(what: &str, resp: Response) -> BackendError {
        BackendError::Garbage {
            request: what.to_string(),
            line: serde_json::to_string(&resp).unwrap_or_default(),
            error: "unexpected response kind".into(),
        }
    }

    fn quick(&self) -> Duration {
        // The lab waits up to HANG_FACTOR deadlines for a task that is neither done nor
        // asleep in its op before it reports a hang itself (with what the task was doing),
        // and longer for one starved of a CPU.
        self.slack + crate::deadline::hang_guard_starved(self.op_deadline)
    }

    /// The wait for requests that run no op (hello, setup, end): at least 10 s, since an
    /// interpreter or emulator may take long to start.
    fn patient(&self) -> Duration {
        self.quick().max(Duration::from_secs(10))
    }
}

/// Waits until process `pid` (our child, not reaped) exits, or `limit` passes: its pidfd
/// becomes readable when it exits.
fn wait_for_exit(pid: u32, limit: Duration) {
    let Some(pid) = rustix::process::Pid::from_raw(pid as i32) else {
        return;
    };
    let Ok(fd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) else {
        return;
    };
    let timeout = rustix::event::Timespec {
        tv_sec: limit.as_secs() as i64,
        tv_nsec: i64::from(limit.subsec_nanos()),
    };
    let mut pfd = [rustix::event::PollFd::new(
        &fd,
        rustix::event::PollFlags::IN,
    )];
    let _ = rustix::event::poll(&mut pfd, Some(&timeout));
}

/// Spawns `cmd` from a thread that lives as long as the process. The lab asks for
/// PR_SET_PDEATHSIG, which fires when the *thread* that forked it exits: spawned from a
/// short-lived thread (a test, a worker) it would be killed as soon as that thread ends.
fn spawn_from_keeper(cmd: Command) -> std::io::Result<Child> {
    type Job = (Command, std::sync::mpsc::Sender<std::io::Result<Child>>);
    static KEEPER: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("forkspec-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawn the spawner thread");
        std::sync::Mutex::new(tx)
    });
    let (tx, rx) = std::sync::mpsc::channel();
    keeper
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((cmd, tx))
        .map_err(|_| std::io::Error::other("spawner thread is gone"))?;
    rx.recv()
        .map_err(|_| std::io::Error::other("spawner thread is gone"))?
}

/// Where case directories go: tmpfs when there is one. On tmpfs the page cache of the `data`
/// file is made of single pages (shmem does not use large folios unless configured to), so a
/// fault maps exactly what the model predicts; on ext4 a write fault can map a whole large
/// folio, which depends on how the file happened to be written.
pub fn case_dir_base() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("FORKSPEC_TMPDIR") {
        return d.into();
    }
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() && rustix::fs::access(shm, rustix::fs::Access::WRITE_OK).is_ok() {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

impl Backend for ProcessBackend {
    fn hello(&mut self) -> BResult<Hello> {
        let wait = self.hello_wait.unwrap_or_else(|| self.patient());
        self.hello_within(wait)
    }

    fn setup(&mut self, config: &CaseConfig) -> BResult<()> {
        if let Some(c) = &self.cpu {
            pin_thread(c.cpu);
        }
        let req = Request::Setup {
            config: *config,
            deadline_ms: self.op_deadline.as_millis() as u64,
        };
        let wait = self.patient();
        match self.request(&req, wait)? {
            Response::Ready => Ok(()),
            other => Err(Self::unexpected("setup", other)),
        }
    }

    fn op(&mut self, op: &Op, snapshot: bool) -> BResult<(Outcome, Option<Snapshot>)> {
        let req = Request::Op {
            op: op.clone(),
            snapshot,
        };
        let wait = self.quick();
        match self.request(&req, wait)? {
            Response::Done { outcome, snapshot } => Ok((outcome, snapshot)),
            other => Err(Self::unexpected("op", other)),
        }
    }

    /// Pipelines: up to [`PIPELINE_DEPTH`] op requests ([`PIPELINE_BYTES`]) are on their way
    /// before the first answer is read, so the backend goes from one op to the next without
    /// waiting for us (the protocol answers requests in order; docs/protocol.md). Every
    /// request sent is answered and read before this returns, also after `each` said stop or
    /// the backend refused an op, so the conversation stays in step.
    fn ops(
        &mut self,
        ops: &[Op],
        snapshot: bool,
        each: &mut dyn FnMut(usize, Outcome, Option<Snapshot>) -> bool,
    ) -> BResult<()> {
        let mut sent = 0;
        let mut answered = 0;
        let mut in_flight: std::collections::VecDeque<usize> = Default::default();
        let mut stop = false;
        let mut refused = None;
        let mut batch = Vec::new();
        while answered < sent || (!stop && sent < ops.len()) {
            batch.clear();
            let mut bytes: usize = in_flight.iter().sum();
            while !stop && sent < ops.len() && in_flight.len() < PIPELINE_DEPTH {
                let start = batch.len();
                let req = Request::Op {
                    op: ops[sent].clone(),
                    snapshot,
                };
                serde_json::to_writer(&mut batch, &req).expect("requests serialize");
                batch.push(b'\n');
                let len = batch.len() - start;
                // One request always goes, however long: a lone request cannot deadlock.
                if !in_flight.is_empty() && bytes + len > PIPELINE_BYTES {
                    batch.truncate(start);
                    break;
                }
                bytes += len;
                in_flight.push_back(len);
                sent += 1;
            }
            if !batch.is_empty() {
                self.send(&batch, &|| format!("op `{}`", ops[sent - 1]))?;
            }
            let i = answered;
            let what = || format!("op `{}`", ops[i]);
            // A backend may hold answers back while more requests wait, but not for more
            // than a second (docs/protocol.md): the usual wait per answer still applies.
            let wait = self.quick();
            let resp = self.answer(&what, wait);
            in_flight.pop_front();
            answered += 1;
            match resp {
                Ok(Response::Done { outcome, snapshot }) => {
                    if !stop && !each(i, outcome, snapshot) {
                        stop = true;
                    }
                }
                Ok(other) => return Err(Self::unexpected("op", other)),
                // An op refused after `each` said stop was not meant to run: only a refusal
                // of an op the caller still wanted is an error.
                Err(e @ BackendError::Refused(_)) => {
                    if !stop {
                        refused = Some(e);
                    }
                    stop = true;
                }
                Err(e) => return Err(e),
            }
        }
        refused.map_or(Ok(()), Err)
    }

    fn snapshot(&mut self) -> BResult<Snapshot> {
        let wait = self.quick();
        match self.request(&Request::Snapshot, wait)? {
            Response::Snapshot(s) => Ok(s),
            other => Err(Self::unexpected("snapshot", other)),
        }
    }

    fn end(&mut self) -> BResult<()> {
        let wait = self.patient();
        match self.request(&Request::End, wait)? {
            Response::Ended => Ok(()),
            other => Err(Self::unexpected("end", other)),
        }
    }
}

/// How errors name a request.
fn request_name(req: &Request) -> String {
    match req {
        Request::Hello { .. } => "hello".to_string(),
        Request::Setup { .. } => "setup".to_string(),
        Request::Op { op, .. } => format!("op `{op}`"),
        Request::Snapshot => "snapshot".to_string(),
        Request::End => "end".to_string(),
    }
}

impl Drop for ProcessBackend {
    fn drop(&mut self) {
        // Closing stdin lets a well-behaved backend tear its case down; SIGKILL covers one that
        // does not within the grace period (the lab's agents then see EOF on their channels).
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
    }
}
