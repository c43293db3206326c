//! The VM's side: `/init` of the initramfs, run by the guest kernel as
//! `forkspec vm-init [--as-user UID:GID]` (the words after `--` on its command line).
//!
//! It mounts what the lab needs, puts the protocol's serial port (ttyS1) into raw mode and
//! runs `forkspec lab` on it, with its diagnostics on the console (ttyS0). When the lab
//! ends it reboots, which with qemu's `-no-reboot` ends the VM.

use std::ffi::CStr;
use std::os::fd::OwnedFd;

/// The serial port the protocol runs over.
pub const PROTOCOL_TTY: &CStr = c"/dev/ttyS1";
/// The line written on the protocol's port once it is in raw mode: bytes that reach a serial
/// port before the guest opens it are lost, so the harness sends nothing before this.
pub const READY: &str = "forkspec-vm ready";

/// Runs as the guest's init; returns only when not started as PID 1.
pub fn init_main(as_user: Option<&str>) -> i32 {
    if !rustix::process::getpid().is_init() {
        eprintln!("forkspec vm-init: only a forkspec VM's kernel starts this, as its /init");
        return 2;
    }
    let code = match serve(as_user) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("forkspec vm-init: {e}");
            3
        }
    };
    eprintln!("forkspec vm-init: the lab exited ({code}); rebooting to end the VM");
    // PID 1 must not return (the kernel would panic); qemu's -no-reboot turns the reboot
    // into its exit.
    rustix::fs::sync();
    let _ = rustix::system::reboot(rustix::system::RebootCommand::Restart);
    loop {
        rustix::event::pause();
    }
}

fn os(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

fn mount(fstype: &CStr, target: &CStr, data: Option<&CStr>) -> Result<(), String> {
    // A directory that is there already is fine (mount says what is wrong otherwise).
    let _ = rustix::fs::mkdir(target, rustix::fs::Mode::from_raw_mode(0o755));
    rustix::mount::mount(
        fstype,
        target,
        fstype,
        rustix::mount::MountFlags::NOSUID,
        data,
    )
    .map_err(|e| format!("mount {fstype:?} on {target:?}: {e}"))
}

/// Opens the protocol's serial port in raw mode: no echo, no line editing, no CR/LF
/// translation, no flow control, no signals from bytes.
fn raw_tty(path: &CStr) -> Result<OwnedFd, String> {
    use rustix::fs::{Mode, OFlags};
    use rustix::termios::{
        tcflush, tcgetattr, tcsetattr, ControlModes, InputModes, OptionalActions, QueueSelector,
        SpecialCodeIndex,
    };
    let fd = rustix::fs::open(
        path,
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("open {path:?}: {e}"))?;
    let mut t = tcgetattr(&fd).map_err(|e| format!("tcgetattr: {e}"))?;
    t.make_raw();
    t.input_modes &= !(InputModes::IXON | InputModes::IXOFF | InputModes::IXANY);
    t.control_modes &= !ControlModes::CRTSCTS;
    t.control_modes |= ControlModes::CLOCAL | ControlModes::CREAD;
    t.special_codes[SpecialCodeIndex::VMIN] = 1;
    t.special_codes[SpecialCodeIndex::VTIME] = 0;
    t.set_speed(115_200)
        .map_err(|e| format!("cfsetspeed: {e}"))?;
    tcsetattr(&fd, OptionalActions::Now, &t).map_err(|e| format!("tcsetattr: {e}"))?;
    let _ = tcflush(&fd, QueueSelector::IOFlush);
    let line = format!("{READY}\n");
    match rustix::io::write(&fd, line.as_bytes()) {
        Ok(n) if n == line.len() => Ok(fd),
        Ok(_) => Err("writing the ready line: short write".into()),
        Err(e) => Err(format!("writing the ready line: {e}")),
    }
}

/// Mounts, opens the port, runs the lab two levels below PID 1 (the lab takes a parent of
/// PID 1 for a sign that its harness died) and reaps every orphan until the lab is gone.
fn serve(as_user: Option<&str>) -> Result<i32, String> {
    mount(c"proc", c"/proc", None)?;
    mount(c"sysfs", c"/sys", None)?;
    mount(c"devtmpfs", c"/dev", None)?;
    mount(c"tmpfs", c"/dev/shm", Some(c"mode=1777"))?;
    mount(c"tmpfs", c"/tmp", Some(c"mode=1777"))?;
    let tty = raw_tty(PROTOCOL_TTY)?;
    // SAFETY: no safe wrapper serves: libc, nix and rustix all leave fork to the caller (a
    // child of a multi-threaded process may only make async-signal-safe calls). PID 1 has
    // one thread here (vm-init starts none), so the child may run ordinary Rust code.
    let keeper = unsafe { libc::fork() };
    if keeper < 0 {
        return Err(os("fork"));
    }
    if keeper == 0 {
        std::process::exit(run_lab(&tty, as_user));
    }
    drop(tty);
    let keeper = rustix::process::Pid::from_raw(keeper);
    loop {
        match rustix::process::wait(rustix::process::WaitOptions::empty()) {
            Ok(Some((pid, status))) if Some(pid) == keeper => {
                return Ok(status
                    .exit_status()
                    .or(status.terminating_signal().map(|s| 128 + s))
                    .unwrap_or(3));
            }
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(format!("waitpid: {e}")),
        }
    }
}

/// The keeper: `forkspec lab` with stdin and stdout on the serial port, case directories on
/// the tmpfs at /dev/shm.
fn run_lab(tty: &OwnedFd, as_user: Option<&str>) -> i32 {
    let io = |fd: &OwnedFd| fd.try_clone().map(std::process::Stdio::from);
    let (Ok(stdin), Ok(stdout)) = (io(tty), io(tty)) else {
        eprintln!("forkspec vm-init: {}", os("dup"));
        return 3;
    };
    let mut cmd = std::process::Command::new("/init");
    cmd.arg("lab")
        .stdin(stdin)
        .stdout(stdout)
        .env_clear()
        .env("PATH", "/")
        .env("TMPDIR", "/dev/shm");
    if let Some(u) = as_user {
        cmd.args(["--as-user", u]);
    }
    match cmd.status() {
        Ok(s) => s.code().unwrap_or(3),
        Err(e) => {
            eprintln!("forkspec vm-init: starting the lab: {e}");
            3
        }
    }
}
