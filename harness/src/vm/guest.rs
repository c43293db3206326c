//! The VM's side: `/init` of the initramfs, run by the guest kernel as
//! `forkspec vm-init [--as-user UID:GID]` (the words after `--` on its command line).
//!
//! It mounts what the lab needs, puts the protocol's serial port (ttyS1) into raw mode and
//! runs `forkspec lab` on it, with its diagnostics on the console (ttyS0). When the lab
//! ends it reboots, which with qemu's `-no-reboot` ends the VM.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The serial port the protocol runs over.
pub const PROTOCOL_TTY: &CStr = c"/dev/ttyS1";
/// The line written on the protocol's port once it is in raw mode: bytes that reach a serial
/// port before the guest opens it are lost, so the harness sends nothing before this.
pub const READY: &str = "forkspec-vm ready";

/// Runs as the guest's init; returns only when not started as PID 1.
pub fn init_main(as_user: Option<&str>) -> i32 {
    // SAFETY: getpid has no preconditions.
    if unsafe { libc::getpid() } != 1 {
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
    // SAFETY: sync and reboot with plain values; PID 1 must not return (the kernel would
    // panic), and qemu's -no-reboot turns the reboot into its exit.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_AUTOBOOT);
    }
    loop {
        // SAFETY: pause has no preconditions.
        unsafe { libc::pause() };
    }
}

fn os(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

fn mount(fstype: &CStr, target: &CStr, data: Option<&CStr>) -> Result<(), String> {
    // SAFETY: NUL-terminated strings for source, target, type and data.
    let r = unsafe {
        libc::mkdir(target.as_ptr(), 0o755);
        libc::mount(
            fstype.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            libc::MS_NOSUID,
            data.map_or(std::ptr::null(), |d| d.as_ptr().cast()),
        )
    };
    if r != 0 {
        return Err(os(&format!("mount {fstype:?} on {target:?}")));
    }
    Ok(())
}

/// Opens the protocol's serial port in raw mode: no echo, no line editing, no CR/LF
/// translation, no flow control, no signals from bytes.
fn raw_tty(path: &CStr) -> Result<OwnedFd, String> {
    // SAFETY: open of a NUL-terminated path; the fd is owned at once.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(os(&format!("open {path:?}")));
    }
    // SAFETY: a fresh fd we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: termios calls on our fd with a zeroed, then filled, local struct.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd.as_raw_fd(), &mut t) != 0 {
            return Err(os("tcgetattr"));
        }
        libc::cfmakeraw(&mut t);
        t.c_iflag &= !(libc::IXON | libc::IXOFF | libc::IXANY);
        t.c_cflag &= !libc::CRTSCTS;
        t.c_cflag |= libc::CLOCAL | libc::CREAD;
        t.c_cc[libc::VMIN] = 1;
        t.c_cc[libc::VTIME] = 0;
        libc::cfsetspeed(&mut t, libc::B115200);
        if libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &t) != 0 {
            return Err(os("tcsetattr"));
        }
        libc::tcflush(fd.as_raw_fd(), libc::TCIOFLUSH);
    }
    let line = format!("{READY}\n");
    // SAFETY: writes a local buffer to our fd.
    let n = unsafe { libc::write(fd.as_raw_fd(), line.as_ptr().cast(), line.len()) };
    if n != line.len() as isize {
        return Err(os("writing the ready line"));
    }
    Ok(fd)
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
    // SAFETY: PID 1 is single-threaded here; the child only runs the keeper and exits.
    let keeper = unsafe { libc::fork() };
    if keeper < 0 {
        return Err(os("fork"));
    }
    if keeper == 0 {
        let code = run_lab(&tty, as_user);
        // SAFETY: leaving the keeper with the lab's exit code.
        unsafe { libc::_exit(code) };
    }
    drop(tty);
    loop {
        let mut status = 0;
        // SAFETY: waits for any child with a local status word.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid == keeper {
            return Ok(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            });
        }
        if pid < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return Err(os("waitpid"));
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
