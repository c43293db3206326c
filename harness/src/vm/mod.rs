//! `--kernel IMAGE`: the lab inside a kernel booted with qemu-system-x86_64.
//!
//! The VM boots IMAGE with an initramfs made at run time ([`initramfs`]) whose `/init` is
//! this very binary ([`guest`]); the lab speaks the wire protocol over the second serial port
//! (ttyS1), which qemu connects to its stdin and stdout, so the VM is one more
//! [`ProcessBackend`]. The first serial port (ttyS0) is the kernel's console; it and qemu's
//! own messages go to qemu's stderr, kept in a ring buffer ([`console`]) for error messages.
//!
//! Serial ports and not virtio: 8250 serial support is built into every distribution kernel
//! (Debian 6.1 has virtio-console as a module, which an initramfs without modules cannot
//! load), and a freshly configured kernel for a developer's tree has it too.
//!
//! Accelerator: KVM when /dev/kvm opens and the image boots under it, else software
//! emulation (TCG). `auto` tries KVM with a bound and falls back to TCG (a /dev/kvm that
//! cannot boot a stock kernel, e.g. a PVM device, fails that way), once per run.
//!
//! Nothing survives: qemu gets PR_SET_PDEATHSIG (SIGKILL), is killed and reaped when its
//! backend is dropped (on error, panic or the end of the run), and the initramfs is an
//! unlinked file.

pub mod console;
pub mod cpio;
pub mod guest;
pub mod initramfs;

use crate::backend::{BResult, Backend, BackendError, ProcessBackend};
use crate::target::Connector;
use console::Console;
use forkspec_model::protocol::Hello;
use forkspec_model::{CaseConfig, Op, Outcome, Snapshot};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `--accel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Accel {
    /// KVM when it boots the image, else TCG.
    Auto,
    /// Hardware virtualization only.
    Kvm,
    /// Software emulation only.
    Tcg,
}

impl std::fmt::Display for Accel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Accel::Auto => "auto",
            Accel::Kvm => "KVM",
            Accel::Tcg => "TCG (software emulation)",
        })
    }
}

/// How long a VM under KVM may take from qemu's start to the lab's hello before `auto` gives
/// up on KVM (a stock kernel boots in a few seconds).
pub const KVM_BOOT: Duration = Duration::from_secs(30);
/// The same under TCG: a distribution kernel boots in 10–40 s on this machine kind.
pub const TCG_BOOT: Duration = Duration::from_secs(240);
/// Console lines quoted in errors.
const TAIL_LINES: usize = 25;

/// A VM to boot.
#[derive(Clone, Debug)]
pub struct VmSpec {
    /// The kernel image (a bzImage or vmlinuz).
    pub image: PathBuf,
    /// The accelerator.
    pub accel: Accel,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// More kernel command-line words.
    pub append: Option<String>,
    /// Runs the lab in the guest as this `UID:GID`.
    pub as_user: Option<String>,
    /// The time from qemu's start to the lab's hello (default [`KVM_BOOT`] / [`TCG_BOOT`]).
    pub boot_timeout: Option<Duration>,
    /// Per-op deadline asked for (raised to what the guest's speed needs).
    pub deadline: Duration,
    /// Time granted on top of the deadline before a silent guest counts as hung.
    pub slack: Duration,
}

/// A running VM: qemu, the protocol on its stdin/stdout, the console.
struct Vm {
    backend: ProcessBackend,
    console: Arc<Console>,
}

impl Drop for Vm {
    fn drop(&mut self) {
        // A VM has nothing to tear down that the host would see: killed at once, reaped by
        // the backend's own drop.
        self.backend.kill();
    }
}

/// What every VM of one run shares.
struct Shared {
    spec: VmSpec,
    qemu: PathBuf,
    initramfs: initramfs::Initramfs,
    /// The accelerator `auto` settled on.
    accel: Mutex<Option<Accel>>,
    /// Booted VMs that answered hello and ran no case since: the next connection takes one
    /// instead of booting again (the hello of a run's start is one boot, not two).
    spare: Mutex<Vec<Vm>>,
}

/// The kernel command line for `spec`: the console on ttyS0, a panic ends the VM at once,
/// and the words after `--` go to /init.
fn kernel_cmdline(spec: &VmSpec) -> String {
    // mitigations=off: page-table isolation and friends cost most under emulation and
    // change nothing forkspec observes. no_timer_check: at boot, x86 kernels check that the
    // timer interrupt arrives through the IO-APIC within a few ticks; a TCG guest on a loaded
    // host misses that window and panics ("IO-APIC + timer doesn't work!", seen with 6.1-rt
    // next to a compile), and the check tests qemu's board, not the kernel under test.
    // noirqdebug: the spurious-interrupt detector (kernel/irq/spurious.c) disables an IRQ
    // when 99,900 of 100,000 of its interrupts went unhandled; 6.1-rt (force-threaded
    // handlers) under TCG on a loaded host counted the serial port's that way and disabled
    // ttyS1, the protocol port ("irq 3: nobody cared"): the lab went mute mid-run.
    let mut s = String::from(
        "console=ttyS0 panic=-1 loglevel=4 rdinit=/init mitigations=off no_timer_check \
         noirqdebug",
    );
    if let Some(a) = &spec.append {
        s.push(' ');
        s.push_str(a);
    }
    s.push_str(" -- vm-init");
    if let Some(u) = &spec.as_user {
        s.push_str(" --as-user ");
        s.push_str(u);
    }
    s
}

/// A connector that boots a VM per backend.
pub fn connector(spec: VmSpec) -> anyhow::Result<Connector> {
    let meta = std::fs::metadata(&spec.image)
        .map_err(|e| anyhow::anyhow!("--kernel {}: {e}", spec.image.display()))?;
    if !meta.is_file() {
        anyhow::bail!("--kernel {}: not a file", spec.image.display());
    }
    let qemu = find_in_path("qemu-system-x86_64").ok_or_else(|| {
        anyhow::anyhow!(
            "--kernel needs qemu-system-x86_64 on PATH (Debian/Ubuntu: apt-get install qemu-system-x86)"
        )
    })?;
    let exe = std::env::current_exe()?;
    let initramfs = initramfs::build(&exe)
        .map_err(|e| anyhow::anyhow!("making the VM's initramfs from {}: {e}", exe.display()))?;
    let shared = Arc::new(Shared {
        spec,
        qemu,
        initramfs,
        accel: Mutex::new(None),
        spare: Mutex::new(Vec::new()),
    });
    Ok(Box::new(move || {
        let vm = Arc::clone(&shared).connect()?;
        Ok(Box::new(vm) as Box<dyn Backend>)
    }))
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Whether /dev/kvm can be opened for use.
fn kvm_available() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

impl Shared {
    fn connect(self: Arc<Self>) -> BResult<VmBackend> {
        let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).pop();
        if let Some(vm) = spare {
            return Ok(VmBackend::new(vm, self));
        }
        let vm = match self.spec.accel {
            Accel::Kvm | Accel::Tcg => self.boot(self.spec.accel)?,
            Accel::Auto => {
                // Held while the first VM decides, so that parallel workers do not all try
                // KVM at once.
                let mut chosen = self.accel.lock().unwrap_or_else(|e| e.into_inner());
                match *chosen {
                    Some(a) => self.boot(a)?,
                    None if !kvm_available() => {
                        let vm = self.boot(Accel::Tcg)?;
                        *chosen = Some(Accel::Tcg);
                        vm
                    }
                    None => match self.boot(Accel::Kvm) {
                        Ok(vm) => {
                            *chosen = Some(Accel::Kvm);
                            vm
                        }
                        Err(e) => {
                            let text = e.to_string();
                            let last = text.lines().last().unwrap_or("").trim();
                            crate::deadline::note_once(
                                "kvm",
                                &format!(
                                    "KVM did not boot {} (last words: {last}); using software \
                                     emulation (TCG): expect cases 10-50 times slower",
                                    self.spec.image.display()
                                ),
                            );
                            let vm = self.boot(Accel::Tcg)?;
                            *chosen = Some(Accel::Tcg);
                            vm
                        }
                    },
                }
            }
        };
        Ok(VmBackend::new(vm, self))
    }

    /// The kernel command line (see [`kernel_cmdline`]).
    fn cmdline(&self) -> String {
        kernel_cmdline(&self.spec)
    }

    /// qemu's command line.
    fn argv(&self, accel: Accel) -> Vec<String> {
        let mut v: Vec<String> = vec![self.qemu.display().to_string()];
        let mut add = |words: &[&str]| v.extend(words.iter().map(|w| w.to_string()));
        add(&["-nodefaults", "-no-user-config", "-display", "none"]);
        add(&["-no-reboot", "-smp", "1"]);
        match accel {
            Accel::Kvm => add(&["-accel", "kvm", "-cpu", "host"]),
            _ => add(&["-accel", "tcg"]),
        }
        let mem = self.spec.memory_mib.to_string();
        let image = self.spec.image.display().to_string();
        let cmdline = self.cmdline();
        add(&["-m", &mem, "-kernel", &image]);
        // The unlinked initramfs, inherited as fd 3 (see `boot`).
        add(&["-initrd", "/proc/self/fd/3", "-append", &cmdline]);
        add(&["-chardev", "file,id=console,path=/proc/self/fd/2"]);
        add(&["-serial", "chardev:console"]);
        add(&["-chardev", "stdio,id=protocol,signal=off"]);
        add(&["-serial", "chardev:protocol"]);
        v
    }

    /// Starts qemu and waits for the lab's hello.
    fn boot(&self, accel: Accel) -> BResult<Vm> {
        let argv = self.argv(accel);
        let mut cmd = std::process::Command::new(&argv[0]);
        cmd.args(&argv[1..]).stderr(std::process::Stdio::piped());
        let initrd = self.initramfs.file.as_raw_fd();
        // SAFETY: no safe wrapper serves: `CommandExt::pre_exec` itself is an unchecked call (its
        // closure runs in the child between fork and exec, where only async-signal-safe
        // calls may be made), and std offers no other way to put the initramfs on fd 3 of
        // qemu. The closure makes only such calls (prctl, getppid, dup2, fcntl) on plain
        // values and allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                // qemu dies with the harness, however the harness ends.
                libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                );
                if libc::getppid() == 1 {
                    return Err(std::io::Error::other("the harness is gone"));
                }
                if initrd == 3 {
                    libc::fcntl(3, libc::F_SETFD, 0);
                } else if libc::dup2(initrd, 3) != 3 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let (backend, stderr) = ProcessBackend::spawn_command(cmd, &argv)?;
        let console = Console::start(stderr.expect("stderr is piped"));
        let mut vm = Vm { backend, console };
        let bound = self.spec.boot_timeout.unwrap_or(match accel {
            Accel::Kvm => KVM_BOOT,
            _ => TCG_BOOT,
        });
        vm.backend.op_deadline = self.spec.deadline;
        vm.backend.slack = self.spec.slack;
        let start = std::time::Instant::now();
        let hello = wait_ready(&mut vm.backend, bound).and_then(|()| {
            vm.backend
                .hello_within(bound.saturating_sub(start.elapsed()))
        });
        match hello {
            Ok(hello) => {
                let (d, why) = crate::deadline::effective(self.spec.deadline, hello.speed);
                if let Some(why) = why {
                    crate::deadline::note_once("deadline", &why);
                }
                vm.backend.op_deadline = d;
                Ok(vm)
            }
            Err(e) => {
                vm.backend.kill();
                vm.console.wait_closed(Duration::from_secs(2));
                Err(BackendError::Spawn(format!(
                    "kernel image {} did not boot to the lab's hello under {accel} ({}); \
                     last console lines:\n{}",
                    self.spec.image.display(),
                    boot_failure(&e, bound),
                    vm.console.tail(TAIL_LINES)
                )))
            }
        }
    }
}

/// Waits for the guest's ready line ([`guest::READY`]); what came before it on the port
/// (nothing, normally) is skipped.
fn wait_ready(b: &mut ProcessBackend, bound: Duration) -> BResult<()> {
    let start = std::time::Instant::now();
    loop {
        let left = bound.saturating_sub(start.elapsed());
        let line = b.banner_line("the guest's ready line", left.max(Duration::from_millis(1)))?;
        if String::from_utf8_lossy(&line).trim() == guest::READY {
            return Ok(());
        }
    }
}

/// Why the guest never said hello, in its words.
fn boot_failure(e: &BackendError, bound: Duration) -> String {
    match e {
        BackendError::Timeout { .. } => format!("no hello within {} s: it hangs", bound.as_secs()),
        BackendError::Died(_) => {
            "qemu exited first: the kernel did not start, panicked or rebooted".into()
        }
        other => other.to_string(),
    }
}

/// One VM as a backend: the lab's protocol through qemu, with the console quoted in every
/// error that ends the VM.
pub struct VmBackend {
    vm: Option<Vm>,
    shared: Arc<Shared>,
    /// The VM failed and was stopped. One whose lab answers is handed on when dropped, even
    /// after the lab refused a request or in the middle of a case: a setup always tears the
    /// previous case down, and a boot under emulation costs as much as dozens of cases.
    failed: bool,
}

impl VmBackend {
    fn new(vm: Vm, shared: Arc<Shared>) -> VmBackend {
        VmBackend {
            vm: Some(vm),
            shared,
            failed: false,
        }
    }

    fn vm(&mut self) -> &mut Vm {
        self.vm
            .as_mut()
            .expect("a VmBackend holds its VM until dropped")
    }

    /// The image this backend booted.
    pub fn image(&self) -> &Path {
        &self.shared.spec.image
    }

    fn check<T>(&mut self, r: BResult<T>) -> BResult<T> {
        match r {
            Ok(v) => Ok(v),
            // The lab answered: the VM is fine.
            Err(e @ BackendError::Refused(_)) => Err(e),
            Err(e) => {
                self.failed = true;
                let image = self.shared.spec.image.display().to_string();
                let vm = self.vm();
                vm.backend.kill();
                vm.console.wait_closed(Duration::from_secs(2));
                Err(BackendError::Died(format!(
                    "{e}; the VM of {image} is stopped, its last console lines:\n{}",
                    vm.console.tail(TAIL_LINES)
                )))
            }
        }
    }
}

impl Backend for VmBackend {
    fn hello(&mut self) -> BResult<Hello> {
        let r = self.vm().backend.hello();
        self.check(r)
    }

    fn setup(&mut self, config: &CaseConfig) -> BResult<()> {
        let r = self.vm().backend.setup(config);
        self.check(r)
    }

    fn op(&mut self, op: &Op, snapshot: bool) -> BResult<(Outcome, Option<Snapshot>)> {
        let r = self.vm().backend.op(op, snapshot);
        self.check(r)
    }

    fn ops(
        &mut self,
        ops: &[Op],
        snapshot: bool,
        each: &mut dyn FnMut(usize, Outcome, Option<Snapshot>) -> bool,
    ) -> BResult<()> {
        let r = self.vm().backend.ops(ops, snapshot, each);
        self.check(r)
    }

    fn snapshot(&mut self) -> BResult<Snapshot> {
        let r = self.vm().backend.snapshot();
        self.check(r)
    }

    fn end(&mut self) -> BResult<()> {
        let r = self.vm().backend.end();
        self.check(r)
    }
}

impl Drop for VmBackend {
    fn drop(&mut self) {
        let Some(vm) = self.vm.take() else { return };
        if !self.failed && !std::thread::panicking() {
            self.shared
                .spare
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(vm);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> VmSpec {
        VmSpec {
            image: PathBuf::from("/boot/vmlinuz"),
            accel: Accel::Tcg,
            memory_mib: 512,
            append: Some("quiet".into()),
            as_user: Some("65534:65534".into()),
            boot_timeout: None,
            deadline: Duration::from_secs(2),
            slack: Duration::from_secs(1),
        }
    }

    /// The timer check and the spurious-IRQ detector are off (a loaded TCG host trips both), the user's
    /// words come before `--`, and what follows `--` is /init's.
    #[test]
    fn cmdline_skips_the_timer_check_and_passes_words_in_order() {
        let c = kernel_cmdline(&spec());
        let (kernel, init) = c.split_once(" -- ").unwrap();
        let words: Vec<&str> = kernel.split(' ').collect();
        assert!(words.contains(&"no_timer_check"), "{c}");
        assert!(words.contains(&"noirqdebug"), "{c}");
        assert!(words.contains(&"panic=-1"), "{c}");
        assert_eq!(words.last(), Some(&"quiet"), "{c}");
        assert_eq!(init, "vm-init --as-user 65534:65534");
    }
}
