//! The implementation a command runs against, chosen by one option set shared by every
//! subcommand: `--backend lab|exec:CMD`, `--runner CMD`, `--level`, `--deadline-ms`.

use crate::backend::{BResult, Backend, ProcessBackend};
use crate::gen::OpSet;
use crate::report::NotCompared;
use clap::Args;
use forkspec_model::diff::LevelFilter;
use forkspec_model::protocol::Hello;
use forkspec_model::Capabilities;

/// Where cases run and what is compared.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// The implementation under test: `lab` (the running kernel, through `forkspec lab`) or
    /// `exec:CMD` (any program speaking the JSON-lines protocol of docs/protocol.md).
    #[arg(long, default_value = "lab", value_name = "lab|exec:CMD")]
    pub backend: String,
    /// Prefix command the backend runs under (an emulator, a sandbox,
    /// `strace -f -o /dev/null`). The lab's execs (the exec op, its zygote) re-enter it:
    /// directly when the lab proves at start-up that the runner follows exec, else through
    /// this command; the lab's hello reports the route (`exec_route`). A lab under a runner
    /// gets 600 s to answer hello (the runner's start-up and the lab's probes through it).
    #[arg(long, value_name = "CMD")]
    pub runner: Option<String>,
    /// Which observations count.
    #[arg(long, value_enum, default_value = "all")]
    pub level: LevelArg,
    /// Per-op deadline in milliseconds: an op not done by then is reported as blocked. The
    /// Linux lab calls an op blocked only once it sees the task asleep in it, and uses 5
    /// deadlines (at least 5 s) as a hang guard; without /proc/PID/syscall the deadline
    /// decides.
    #[arg(long, default_value_t = 2000)]
    pub deadline_ms: u64,
    /// Time granted on top of the deadline before a silent backend is declared hung.
    #[arg(long, default_value_t = 10_000, hide = true)]
    pub slack_ms: u64,
    /// Run the lab as this user (a name, `UID` or `UID:GID`; no supplementary groups) when
    /// started as root: the unprivileged profile without leaving root's shell. The case
    /// directories' base (FORKSPEC_TMPDIR, else /dev/shm) must be writable by that user.
    #[arg(long, value_name = "USER")]
    pub as_user: Option<String>,
    /// Boot this kernel image (a bzImage or vmlinuz) with qemu-system-x86_64 and run the lab
    /// inside it; the model follows the kernel the lab reports (see `forkspec::vm`).
    #[arg(long, value_name = "IMAGE")]
    pub kernel: Option<std::path::PathBuf>,
    /// With --kernel: KVM, software emulation (TCG), or KVM when it boots the image else TCG.
    #[arg(long, value_enum, default_value = "auto", requires = "kernel")]
    pub accel: crate::vm::Accel,
    /// With --kernel: the guest's memory in MiB.
    #[arg(long, default_value_t = 512, value_name = "MIB", requires = "kernel")]
    pub vm_memory: u32,
    /// With --kernel: more words for the guest kernel's command line.
    #[arg(long, value_name = "ARGS", requires = "kernel")]
    pub kernel_append: Option<String>,
    /// With --kernel: seconds from qemu's start to the lab's hello before the image counts as
    /// hung (default 30 under KVM, 240 under TCG).
    #[arg(long, value_name = "S", requires = "kernel", hide = true)]
    pub boot_timeout_s: Option<u64>,
}

/// Resolves `--as-user`: a user name (its primary group), `UID` (gid = uid) or `UID:GID`.
pub fn resolve_user(spec: &str) -> anyhow::Result<(u32, u32)> {
    if let Some((u, g)) = spec.split_once(':') {
        let (u, g) = (u.parse::<u32>(), g.parse::<u32>());
        return match (u, g) {
            (Ok(u), Ok(g)) => Ok((u, g)),
            _ => anyhow::bail!("--as-user {spec:?}: expected a user name, UID or UID:GID"),
        };
    }
    if let Ok(uid) = spec.parse::<u32>() {
        return Ok((uid, uid));
    }
    // getpwnam_r (through nix): thread-safe, unlike getpwnam's static result.
    match nix::unistd::User::from_name(spec) {
        Ok(Some(u)) => Ok((u.uid.as_raw(), u.gid.as_raw())),
        Ok(None) => anyhow::bail!("--as-user {spec:?}: no such user"),
        Err(e) => anyhow::bail!("--as-user {spec:?}: cannot look the user up: {e}"),
    }
}

/// `--level`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum LevelArg {
    /// What the ABI promises a program.
    Semantic,
    /// How Linux implements it.
    Internal,
    /// Both.
    All,
}

impl From<LevelArg> for LevelFilter {
    fn from(l: LevelArg) -> LevelFilter {
        match l {
            LevelArg::Semantic => LevelFilter::Semantic,
            LevelArg::Internal => LevelFilter::Internal,
            LevelArg::All => LevelFilter::All,
        }
    }
}

/// A function that (re)starts the backend; shared by the workers of a parallel check, each
/// calling it for a backend (a process) of its own.
pub type Connector = Box<dyn Fn() -> BResult<Box<dyn Backend>> + Send + Sync>;

/// The backend command line a target names: the runner prefix, then `forkspec lab` or the
/// simulator's command.
pub fn backend_argv(t: &TargetArgs) -> anyhow::Result<(Vec<String>, bool)> {
    let mut argv: Vec<String> = match &t.runner {
        Some(r) => shell_words(r).map_err(|e| anyhow::anyhow!("--runner: {e}"))?,
        None => Vec::new(),
    };
    let is_lab = if t.backend == "lab" {
        argv.push(std::env::current_exe()?.display().to_string());
        argv.push("lab".into());
        if let Some(u) = &t.as_user {
            let (uid, gid) = resolve_user(u)?;
            argv.push("--as-user".into());
            argv.push(format!("{uid}:{gid}"));
        }
        true
    } else if let Some(cmd) = t.backend.strip_prefix("exec:") {
        if t.as_user.is_some() {
            anyhow::bail!("--as-user runs the lab as another user; a simulator can be started under one with --runner");
        }
        argv.extend(shell_words(cmd).map_err(|e| anyhow::anyhow!("--backend exec: {e}"))?);
        false
    } else {
        anyhow::bail!(
            "--backend {:?}: expected `lab` or `exec:CMD` (e.g. exec:'python3 sim.py')",
            t.backend
        );
    };
    Ok((argv, is_lab))
}

/// A connector for `t`: each call starts a fresh backend process and exchanges hellos.
pub fn connector(t: &TargetArgs) -> anyhow::Result<Connector> {
    let deadline = std::time::Duration::from_millis(t.deadline_ms);
    let slack = std::time::Duration::from_millis(t.slack_ms);
    if let Some(image) = &t.kernel {
        return crate::vm::connector(vm_spec(t, image)?);
    }
    let (argv, is_lab) = backend_argv(t)?;
    let runner = match &t.runner {
        Some(r) => shell_words(r)?,
        None => Vec::new(),
    };
    Ok(Box::new(move || {
        let mut b = if is_lab {
            ProcessBackend::spawn_lab_under(&argv, &runner)?
        } else {
            ProcessBackend::spawn(&argv)?
        };
        b.op_deadline = deadline;
        b.slack = slack;
        // Every connection starts with hello (and its version check), and the deadline
        // follows the speed the backend reports in it.
        let hello = b.hello()?;
        let (d, why) = crate::deadline::effective(deadline, hello.speed);
        if let Some(why) = why {
            crate::deadline::note_once("deadline", &why);
        }
        b.op_deadline = d;
        Ok(Box::new(b) as Box<dyn Backend>)
    }))
}

/// The VM `--kernel IMAGE` and its options describe.
fn vm_spec(t: &TargetArgs, image: &std::path::Path) -> anyhow::Result<crate::vm::VmSpec> {
    if t.backend != "lab" {
        anyhow::bail!(
            "--kernel runs the lab inside the VM: it cannot be combined with --backend {}",
            t.backend
        );
    }
    if t.runner.is_some() {
        anyhow::bail!("--kernel cannot be combined with --runner (the lab runs inside the VM)");
    }
    let as_user = match &t.as_user {
        Some(u) => {
            let (uid, gid) = resolve_user(u)?;
            Some(format!("{uid}:{gid}"))
        }
        None => None,
    };
    Ok(crate::vm::VmSpec {
        image: image.to_path_buf(),
        accel: t.accel,
        memory_mib: t.vm_memory,
        append: t.kernel_append.clone(),
        as_user,
        boot_timeout: t.boot_timeout_s.map(std::time::Duration::from_secs),
        deadline: std::time::Duration::from_millis(t.deadline_ms),
        slack: std::time::Duration::from_millis(t.slack_ms),
    })
}

/// A backend that answered hello, with what will be compared.
pub struct Connected {
    /// The backend.
    pub backend: Box<dyn Backend>,
    /// Its hello.
    pub hello: Hello,
    /// What both it and the model can observe.
    pub caps: Capabilities,
    /// Which levels count.
    pub levels: LevelFilter,
    /// The op kinds it implements (of those the generator knows).
    pub ops: OpSet,
    /// It is the Linux lab (`--backend lab`), not a simulator.
    pub lab: bool,
}

impl Connected {
    /// Starts a backend with `conn` and asks its hello.
    pub fn open(t: &TargetArgs, conn: &Connector) -> anyhow::Result<Connected> {
        let mut backend = conn()?;
        let hello = backend.hello()?;
        let (ops, _unknown) = OpSet::from_hello(hello.ops.as_deref());
        let mut caps = hello.capabilities.intersect(Capabilities::ALL);
        // What the model cannot predict on this kernel is not compared either.
        for (kind, _) in forkspec_model::model::unpredictable_observations(&hello.profile) {
            if kind == "pfn" {
                caps.pfn = false;
            }
        }
        Ok(Connected {
            backend,
            caps,
            levels: t.level.into(),
            ops,
            hello,
            lab: t.backend == "lab",
        })
    }

    /// Whether the backend implements the op kind `name` (every kind when its hello has no
    /// `ops` list).
    pub fn implements(&self, name: &str) -> bool {
        match &self.hello.ops {
            None => true,
            Some(list) => list.iter().any(|k| k == name),
        }
    }

    /// What this run does not compare: observation kinds the backend cannot see, the level
    /// left out, and op kinds it does not implement (never generated).
    pub fn not_compared(&self) -> Vec<NotCompared> {
        let mut v: Vec<NotCompared> = self
            .caps
            .missing()
            .into_iter()
            .map(|(what, why)| {
                let model = forkspec_model::model::unpredictable_observations(&self.hello.profile);
                let why = model.iter().find(|m| m.0 == what).map_or(why, |m| m.1);
                NotCompared {
                    what: what.into(),
                    why: if self.lab {
                        why.into()
                    } else {
                        // The parenthesized reasons are the Linux lab's (CAP_SYS_ADMIN, /proc).
                        let what_it_is = why.split(" (").next().unwrap_or(why);
                        format!("{what_it_is} (not in the backend's hello capabilities)")
                    },
                }
            })
            .collect();
        if self.levels == LevelFilter::Semantic {
            v.push(NotCompared {
                what: "internal".into(),
                why: "--level semantic: frames, presence, exclusivity and kcmp classes".into(),
            });
        }
        if self.levels == LevelFilter::Internal {
            v.push(NotCompared {
                what: "semantic".into(),
                why: "--level internal: values, fds, offsets and task states".into(),
            });
        }
        if let Some(why) = &self.hello.blocked_by_deadline {
            v.push(NotCompared {
                what: "blocking".into(),
                why: format!(
                    "the backend tells a blocked op only by its deadline: {why}; ops the model \
                     predicts to block (a wait for a live child, a read of an empty pipe, a \
                     flock of a locked file) are not generated"
                ),
            });
        }
        for k in self.ops.missing() {
            let why = match &self.hello.exec_route {
                // The lab leaves exec out when no exec route stays inside the runner.
                Some(r) if k == "exec" && r.via == "none" => format!(
                    "no exec route stays inside the implementation under test: {}; not \
                     generated",
                    r.proof
                ),
                _ => "the backend does not implement it (not in its hello `ops`): not generated"
                    .into(),
            };
            v.push(NotCompared {
                what: format!("op:{k}"),
                why,
            });
        }
        v
    }
}

/// Splits a command line the way a POSIX shell would (quotes, backslashes; no expansions).
pub fn shell_words(s: &str) -> anyhow::Result<Vec<String>> {
    let words = shell_words::split(s).map_err(|e| anyhow::anyhow!("{e} in {s:?}"))?;
    if words.is_empty() {
        anyhow::bail!("empty command");
    }
    Ok(words)
}

impl TargetArgs {
    /// Whether the cases run on this machine's kernel: the lab backend, not in a VM.
    pub fn on_this_kernel(&self) -> bool {
        self.backend == "lab" && self.kernel.is_none()
    }

    /// The options that name this target again, shell-quoted, defaults left out: what a
    /// printed `forkspec replay FILE` command needs to run the same implementation.
    pub fn to_args(&self) -> Vec<String> {
        let mut v: Vec<String> = vec![];
        if self.backend != "lab" {
            v.extend(["--backend".into(), self.backend.clone()]);
        }
        if let Some(r) = &self.runner {
            v.extend(["--runner".into(), r.clone()]);
        }
        if !matches!(self.level, LevelArg::All) {
            let level = clap::ValueEnum::to_possible_value(&self.level)
                .map(|p| p.get_name().to_string())
                .unwrap_or_default();
            v.extend(["--level".into(), level]);
        }
        if self.deadline_ms != 2000 {
            v.extend(["--deadline-ms".into(), self.deadline_ms.to_string()]);
        }
        if self.slack_ms != 10_000 {
            v.extend(["--slack-ms".into(), self.slack_ms.to_string()]);
        }
        if let Some(u) = &self.as_user {
            v.extend(["--as-user".into(), u.clone()]);
        }
        if let Some(k) = &self.kernel {
            v.extend(["--kernel".into(), k.display().to_string()]);
            if !matches!(self.accel, crate::vm::Accel::Auto) {
                let accel = clap::ValueEnum::to_possible_value(&self.accel)
                    .map(|p| p.get_name().to_string())
                    .unwrap_or_default();
                v.extend(["--accel".into(), accel]);
            }
            if self.vm_memory != 512 {
                v.extend(["--vm-memory".into(), self.vm_memory.to_string()]);
            }
            if let Some(a) = &self.kernel_append {
                v.extend(["--kernel-append".into(), a.clone()]);
            }
            if let Some(t) = self.boot_timeout_s {
                v.extend(["--boot-timeout-s".into(), t.to_string()]);
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(backend: &str, runner: Option<&str>) -> TargetArgs {
        TargetArgs {
            backend: backend.into(),
            runner: runner.map(Into::into),
            level: LevelArg::All,
            deadline_ms: 2000,
            slack_ms: 10_000,
            as_user: None,
            kernel: None,
            accel: crate::vm::Accel::Auto,
            vm_memory: 512,
            kernel_append: None,
            boot_timeout_s: None,
        }
    }

    #[test]
    fn as_user_forms() {
        assert_eq!(resolve_user("65534").unwrap(), (65534, 65534));
        assert_eq!(resolve_user("1000:100").unwrap(), (1000, 100));
        assert_eq!(resolve_user("root").unwrap(), (0, 0));
        assert!(resolve_user("no-such-user-here").is_err());
        assert!(resolve_user("1:x").is_err());
        let mut t = target("lab", None);
        t.as_user = Some("65534".into());
        let (argv, _) = backend_argv(&t).unwrap();
        assert_eq!(argv[argv.len() - 2..], ["--as-user", "65534:65534"]);
        let mut t = target("exec:python3 sim.py", None);
        t.as_user = Some("65534".into());
        assert!(backend_argv(&t).is_err());
    }

    #[test]
    fn runner_words() {
        assert_eq!(
            shell_words("strace -f -o '/dev/null' \"a b\"").unwrap(),
            vec!["strace", "-f", "-o", "/dev/null", "a b"]
        );
        assert!(shell_words("'open").is_err());
    }

    #[test]
    fn target_options_print_back_as_they_parse() {
        #[derive(clap::Parser)]
        struct P {
            #[command(flatten)]
            t: TargetArgs,
        }
        let line = [
            "--backend",
            "exec:python3 'my sim.py' --buggy",
            "--runner",
            "strace -f",
            "--level",
            "semantic",
            "--deadline-ms",
            "500",
            "--as-user",
            "nobody",
        ];
        let t = <P as clap::Parser>::parse_from(std::iter::once("x").chain(line)).t;
        assert_eq!(t.to_args(), line);
        let quoted = shell_words::join(t.to_args());
        let again = <P as clap::Parser>::parse_from(
            std::iter::once("x".to_string()).chain(shell_words(&quoted).unwrap()),
        )
        .t;
        assert_eq!(format!("{again:?}"), format!("{t:?}"));
        assert!(target("lab", None).to_args().is_empty());
    }

    #[test]
    fn backend_specs() {
        let (argv, lab) =
            backend_argv(&target("exec:python3 'my sim.py' -v", Some("env"))).unwrap();
        assert!(!lab);
        assert_eq!(argv, vec!["env", "python3", "my sim.py", "-v"]);
        let (argv, lab) = backend_argv(&target("lab", None)).unwrap();
        assert!(lab);
        assert_eq!(argv.last().map(String::as_str), Some("lab"));
        assert!(backend_argv(&target("qemu", None)).is_err());
        assert!(backend_argv(&target("exec:", None)).is_err());
    }
}
