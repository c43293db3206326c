//! How the lab's execs stay inside the implementation under test.
//!
//! The lab runs under a runner (`RUNNER... forkspec lab`: an emulator, a sandbox, a tracer).
//! Three kinds of exec start programs of the lab: the `exec` op, the zygote, and the probe
//! below. Whether an execve of the lab's own binary stays inside the runner depends on the
//! runner: a tracer that follows exec (`strace -f`, proot, `valgrind --trace-children=yes`)
//! keeps it inside; a wrapper that only starts the lab (a script, `valgrind` without
//! `--trace-children`) does not, and the new program would run on the host kernel, which
//! forkspec would then check instead. `/proc/self/exe` is no answer either: under valgrind
//! it is valgrind's tool binary.
//!
//! So the lab decides at start-up, and proves it: it compares a *runner signature* (is the
//! process traced, does it have a vDSO, which executable file mappings belong to no object
//! the dynamic loader knows, such as valgrind's tool or proot's loader) of itself with that
//! of a probe of itself started by a *direct* execve. When the lab's signature is not a
//! native process's and the probe's equals it, the runner follows exec and execs stay
//! direct (of the binary's real path). Otherwise every exec goes through the runner's
//! command line (`RUNNER... /path/forkspec ARGS`), which the harness passes in
//! [`RUNNER_ENV`]; a probe started that way must show the lab's signature and keep its
//! process id (the runner execs in place, so the lab's bookkeeping of pids still holds).
//! When neither route is confirmed, exec ops are not compared.
//!
//! The route reaches every process of the lab through the environment ([`ENV`]) and is
//! parsed into static buffers without allocation: the agents that exec run in `CLONE_VM`
//! children, and re-executed agents parse it before any of Rust's start-up.

use super::sys::sc;
use core::cell::UnsafeCell;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The environment variable that carries the exec route to the lab's processes: the
/// command line's words separated by [`SEP`], the lab's binary last. Absent: no route.
pub const ENV: &str = "FORKSPEC_LAB_EXEC";
/// Where the harness names the runner (a JSON array of its words, `["valgrind","-q"]`).
use super::RUNNER_ENV;
/// The argument that starts a probe: `forkspec lab-exec-probe`.
pub const PROBE_ARG: &CStr = c"lab-exec-probe";
/// The fd on which a probe writes its answer.
const PROBE_FD: i32 = super::channel::AGENT_FD_LAST + 14;
/// Separates the words in [`ENV`] (a control character no path or option holds).
const SEP: u8 = 0x1f;
/// Most words of the exec command line (runner words and the binary).
pub const MAX_WORDS: usize = 32;
const BUF_LEN: usize = 4096;

/// The parsed route: NUL-separated words in `buf`, their addresses in `ptrs`.
struct Plan {
    buf: UnsafeCell<[u8; BUF_LEN]>,
    ptrs: UnsafeCell<[u64; MAX_WORDS]>,
    words: AtomicUsize,
}

// SAFETY: the buffers are written only by `adopt_from_env`, in a single-threaded process
// before any task reads them (the lab at start-up, a fresh zygote or re-executed agent);
// afterwards they are only read.
unsafe impl Sync for Plan {}

static PLAN: Plan = Plan {
    buf: UnsafeCell::new([0; BUF_LEN]),
    ptrs: UnsafeCell::new([0; MAX_WORDS]),
    words: AtomicUsize::new(0),
};

/// Reads the route from the environment into the static plan (none when absent or
/// malformed). Allocates nothing: it runs in re-executed agents before Rust's start-up.
/// Call while the process is single-threaded.
pub fn adopt_from_env() {
    // SAFETY: `environ` is a NULL-terminated array of NUL-terminated strings, not changed
    // while this single-threaded process reads it; the plan's buffers are written only here,
    // before anything reads them (see `Plan`).
    unsafe {
        PLAN.words.store(0, Ordering::Relaxed);
        let mut e = libc::environ as *const *const u8;
        if e.is_null() {
            return;
        }
        while !(*e).is_null() {
            let s = CStr::from_ptr((*e).cast()).to_bytes();
            if let Some(v) = s
                .strip_prefix(ENV.as_bytes())
                .and_then(|r| r.strip_prefix(b"="))
            {
                let buf = &mut *PLAN.buf.get();
                let ptrs = &mut *PLAN.ptrs.get();
                if v.is_empty() || v.len() >= BUF_LEN {
                    return;
                }
                let mut n = 0;
                let mut start = 0;
                for i in 0..=v.len() {
                    let end = i == v.len() || v[i] == SEP;
                    buf[i] = if end { 0 } else { v[i] };
                    if end {
                        if n == MAX_WORDS || i == start {
                            return;
                        }
                        ptrs[n] = buf.as_ptr().add(start) as u64;
                        n += 1;
                        start = i + 1;
                    }
                }
                PLAN.words.store(n, Ordering::Relaxed);
                return;
            }
            e = e.add(1);
        }
    }
}

/// Builds the argv of an exec of the lab's binary with `args` after it into `out`
/// (NULL-terminated) and returns the program to execve, or `None` when execs are not to
/// be made (no route). Allocates nothing.
pub fn argv(args: &[u64], out: &mut [u64; MAX_WORDS + 4]) -> Option<u64> {
    let n = PLAN.words.load(Ordering::Relaxed);
    if n == 0 || n + args.len() + 1 > out.len() {
        return None;
    }
    // SAFETY: the plan is not written once words is non-zero (see `Plan`).
    let ptrs = unsafe { &*PLAN.ptrs.get() };
    out[..n].copy_from_slice(&ptrs[..n]);
    out[n..n + args.len()].copy_from_slice(args);
    out[n + args.len()] = 0;
    Some(ptrs[0])
}

/// What marks the implementation a process runs in, as the process itself sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// Someone ptraces it (`TracerPid` in /proc/self/status).
    pub traced: bool,
    /// It has a vDSO (an emulator that runs the program itself usually gives it none).
    pub vdso: bool,
    /// Directories of executable file mappings that are neither the program nor an object
    /// the dynamic loader loaded (valgrind's tool, proot's loader).
    pub foreign: Vec<String>,
}

impl Signature {
    /// A process on the kernel itself, under no runner.
    pub fn native() -> Signature {
        Signature {
            traced: false,
            vdso: true,
            foreign: Vec::new(),
        }
    }

    /// This process's signature.
    pub fn own() -> Signature {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let traced = status
            .lines()
            .find_map(|l| l.strip_prefix("TracerPid:"))
            .is_some_and(|v| v.trim() != "0");
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        let known = loaded_objects();
        let exe = own_binary();
        let mut vdso = false;
        let mut foreign = Vec::new();
        for line in maps.lines() {
            let mut f = line.split_whitespace();
            let perms = f.nth(1).unwrap_or("");
            let path = f.nth(3).unwrap_or("");
            if path == "[vdso]" {
                vdso = true;
            }
            if !perms.contains('x') || !path.starts_with('/') {
                continue;
            }
            let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.into());
            if Some(&canon) == exe.as_ref() || known.contains(&canon) {
                continue;
            }
            // The directory only: a loader's file name may be random (proot's
            // /tmp/prooted-PID-XXXXXX).
            let dir = canon
                .parent()
                .map_or_else(String::new, |d| d.display().to_string());
            if !foreign.contains(&dir) {
                foreign.push(dir);
            }
        }
        foreign.sort();
        Signature {
            traced,
            vdso,
            foreign,
        }
    }

    /// One line: `traced=0 vdso=1 foreign=`.
    pub fn line(&self) -> String {
        format!(
            "traced={} vdso={} foreign={}",
            u8::from(self.traced),
            u8::from(self.vdso),
            self.foreign.join(":")
        )
    }

    fn parse(s: &str) -> Option<Signature> {
        let mut f = s.split_whitespace();
        let traced = f.next()?.strip_prefix("traced=")? == "1";
        let vdso = f.next()?.strip_prefix("vdso=")? == "1";
        let foreign = f.next()?.strip_prefix("foreign=")?;
        Some(Signature {
            traced,
            vdso,
            foreign: foreign
                .split(':')
                .filter(|d| !d.is_empty())
                .map(String::from)
                .collect(),
        })
    }
}

/// The objects the dynamic loader has loaded, by real path (empty in a static binary).
fn loaded_objects() -> Vec<std::path::PathBuf> {
    unsafe extern "C" fn each(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: the loader passes a valid info whose name is NUL-terminated or NULL;
        // `data` is the Vec passed below.
        unsafe {
            let v = &mut *(data as *mut Vec<std::path::PathBuf>);
            let name = (*info).dlpi_name;
            if !name.is_null() {
                let s = CStr::from_ptr(name).to_string_lossy().into_owned();
                if s.starts_with('/') {
                    v.push(std::fs::canonicalize(&s).unwrap_or_else(|_| s.into()));
                }
            }
        }
        0
    }
    let mut v: Vec<std::path::PathBuf> = Vec::new();
    // SAFETY: the callback only reads what the loader hands it and pushes to `v`.
    unsafe { libc::dl_iterate_phdr(Some(each), (&mut v as *mut Vec<_>).cast()) };
    v
}

/// The real path of this program's binary: its `argv[0]` when that names a file (under
/// valgrind `/proc/self/exe` is valgrind's tool), else `/proc/self/exe`.
pub fn own_binary() -> Option<std::path::PathBuf> {
    let arg0 = std::env::args_os().next();
    if let Some(a) = arg0.filter(|a| a.as_encoded_bytes().contains(&b'/')) {
        if let Ok(p) = std::fs::canonicalize(a) {
            return Some(p);
        }
    }
    std::fs::read_link("/proc/self/exe").ok()
}

/// The probe's program (`forkspec lab-exec-probe`): writes `PID SIGNATURE` to its answer
/// fd. Returns an exit code.
pub fn probe_main() -> i32 {
    // SAFETY: F_GETFD takes no pointer.
    if unsafe { sc(libc::SYS_fcntl, PROBE_FD as u64, libc::F_GETFD as u64, 0) } < 0 {
        eprintln!("forkspec lab-exec-probe: only started by the lab");
        return 2;
    }
    // SAFETY: the fd is open (checked above) and this program owns it.
    let mut out = unsafe { std::fs::File::from_raw_fd(PROBE_FD) };
    let line = format!("{} {}\n", std::process::id(), Signature::own().line());
    use std::io::Write;
    i32::from(out.write_all(line.as_bytes()).is_err())
}

/// Starts a probe with the command line `words` (the program first) and returns the pid it
/// was forked as, the pid it reports and its signature.
fn run_probe(words: &[String], wait: Duration) -> Result<(i32, i32, Signature), String> {
    let c: Vec<CString> = words
        .iter()
        .map(|w| CString::new(w.as_str()).map_err(|_| format!("NUL in {w:?}")))
        .collect::<Result<_, _>>()?;
    let mut argv: Vec<*const libc::c_char> = c.iter().map(|w| w.as_ptr()).collect();
    argv.push(PROBE_ARG.as_ptr());
    argv.push(std::ptr::null());
    let mut p = [0i32; 2];
    // SAFETY: pipe2 fills `p` with two new fds that we then own.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe2: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
    // SAFETY: the lab is single-threaded here; the child only moves one fd and execs, with
    // everything prepared before the fork.
    let pid = unsafe { super::reap::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: the child: dup3 without O_CLOEXEC keeps the answer fd across the exec.
        unsafe {
            if libc::dup3(w.as_raw_fd(), PROBE_FD, 0) >= 0 {
                libc::execve(argv[0], argv.as_ptr(), libc::environ as *const _);
            }
            libc::_exit(127);
        }
    }
    drop(w);
    let text = read_until_eof(&r, Instant::now() + wait);
    if text.is_err() {
        super::reap::kill_all(0, &[(pid, None)]);
    }
    super::reap::reap_pid(pid);
    let text = text?;
    let (said, sig) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("no answer (it wrote {:?})", text.trim()))?;
    let said: i32 = said.parse().map_err(|_| format!("bad answer {text:?}"))?;
    let sig = Signature::parse(sig).ok_or_else(|| format!("bad answer {text:?}"))?;
    Ok((pid, said, sig))
}

fn read_until_eof(fd: &OwnedFd, end: Instant) -> Result<String, String> {
    let mut out = Vec::new();
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "no answer within {} s",
                (end - Instant::now()).as_secs()
            ));
        }
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: poll on one local pollfd.
        if unsafe { libc::poll(&mut p, 1, ms) } <= 0 {
            continue;
        }
        let mut chunk = [0u8; 512];
        // SAFETY: reads into a local buffer.
        let n = unsafe { libc::read(fd.as_raw_fd(), chunk.as_mut_ptr().cast(), chunk.len()) };
        match n {
            0 => return Ok(String::from_utf8_lossy(&out).into_owned()),
            n if n < 0 => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(format!("read: {e}"));
                }
            }
            n => out.extend_from_slice(&chunk[..n as usize]),
        }
    }
}

/// Finds `prog` as a shell would: a path when it has a slash, else the first executable
/// file of that name on `PATH`. Made absolute, since case tasks run in their own
/// directories.
fn resolve(prog: &str) -> Option<String> {
    let exec_ok = |p: &std::path::Path| {
        CString::new(p.as_os_str().as_encoded_bytes())
            .ok()
            // SAFETY: access(2) on a NUL-terminated path.
            .is_some_and(|c| unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0)
            && p.is_file()
    };
    if prog.contains('/') {
        let p = std::path::absolute(prog).ok()?;
        return exec_ok(&p).then(|| p.display().to_string());
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| std::path::Path::new(d).join(prog))
        .find(|p| exec_ok(p))
        .and_then(|p| std::path::absolute(p).ok())
        .map(|p| p.display().to_string())
}

/// How long a probe may take to start: an emulator on a loaded machine takes seconds.
const PROBE_WAIT: Duration = Duration::from_secs(120);

/// Decides the route at lab start-up (single-threaded, before the zygote), publishes it in
/// [`ENV`] for every process the lab starts, adopts it here, and returns what the hello
/// reports.
pub fn choose() -> forkspec_model::protocol::ExecRoute {
    let route = decide();
    if route.via == "none" {
        std::env::remove_var(ENV);
    } else {
        let sep = (SEP as char).to_string();
        std::env::set_var(ENV, route.argv.join(&sep));
    }
    adopt_from_env();
    route
}

/// The runner the harness named in [`RUNNER_ENV`].
fn runner_words() -> Result<Vec<String>, String> {
    match std::env::var(RUNNER_ENV) {
        Err(_) => Ok(Vec::new()),
        Ok(v) if v.trim().is_empty() => Ok(Vec::new()),
        Ok(v) => serde_json::from_str::<Vec<String>>(&v)
            .map_err(|e| format!("{RUNNER_ENV}={v:?} is not a JSON array of strings: {e}")),
    }
}

fn decide() -> forkspec_model::protocol::ExecRoute {
    use forkspec_model::protocol::ExecRoute;
    let none = |proof: String| ExecRoute {
        via: "none".into(),
        argv: Vec::new(),
        proof,
    };
    let Some(exe) = own_binary().map(|p| p.display().to_string()) else {
        return none("the lab's own binary could not be found".into());
    };
    let fits = |w: &[String]| {
        w.len() < MAX_WORDS
            && w.iter()
                .all(|s| !s.is_empty() && !s.as_bytes().contains(&SEP))
            && w.iter().map(|s| s.len() + 1).sum::<usize>() < BUF_LEN
    };
    let lab = Signature::own();
    let native = lab == Signature::native();
    let runner = match runner_words() {
        Ok(r) => r,
        Err(e) => return none(e),
    };
    let direct = vec![exe.clone()];
    let direct_probe = run_probe(&direct, PROBE_WAIT);
    let same = |p: &Result<(i32, i32, Signature), String>| -> Result<(), String> {
        match p {
            Err(e) => Err(format!("the probe failed: {e}")),
            Ok((forked, said, _)) if forked != said => Err(format!(
                "the probe was forked as pid {forked} but ran as pid {said} (the runner does \
                 not exec in place)"
            )),
            Ok((_, _, sig)) if *sig != lab => Err(format!(
                "the probe showed {} where the lab shows {}",
                sig.line(),
                lab.line()
            )),
            Ok(_) => Ok(()),
        }
    };
    if !native || runner.is_empty() {
        match same(&direct_probe) {
            Ok(()) => {
                return ExecRoute {
                    via: "direct".into(),
                    argv: direct,
                    proof: if native {
                        format!(
                            "no runner: the lab and a directly executed probe both show a \
                             native process ({})",
                            lab.line()
                        )
                    } else {
                        format!(
                            "the lab runs under something ({}) and a directly executed probe \
                             shows the same: the runner follows exec",
                            lab.line()
                        )
                    },
                }
            }
            Err(e) if runner.is_empty() => {
                return none(format!(
                    "a direct exec leaves what the lab runs under ({e}) and no runner command \
                     was given ({RUNNER_ENV})"
                ))
            }
            Err(_) => {}
        }
    }
    let Some(prog) = resolve(&runner[0]) else {
        return none(format!("runner program {:?} not found on PATH", runner[0]));
    };
    let mut words = vec![prog];
    words.extend(runner[1..].iter().cloned());
    words.push(exe);
    if !fits(&words) {
        return none("the runner's command line is too long for the agents' buffers".into());
    }
    match same(&run_probe(&words, PROBE_WAIT)) {
        Ok(()) => ExecRoute {
            via: "runner".into(),
            argv: words,
            proof: format!(
                "a probe executed through the runner's command kept its pid and shows the \
                 lab's signature ({}){}",
                lab.line(),
                match &direct_probe {
                    Ok((_, _, s)) if *s != lab => format!("; a direct exec shows {}", s.line()),
                    _ => String::new(),
                }
            ),
        },
        Err(e) => none(format!("through the runner's command: {e}")),
    }
}

/// Whether exec ops can be run (a route was confirmed).
pub fn usable() -> bool {
    PLAN.words.load(Ordering::Relaxed) > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_lines_round_trip() {
        let s = Signature {
            traced: true,
            vdso: false,
            foreign: vec!["/usr/libexec/valgrind".into(), "/tmp".into()],
        };
        assert_eq!(Signature::parse(&s.line()), Some(s));
        let n = Signature::native();
        assert_eq!(n.line(), "traced=0 vdso=1 foreign=");
        assert_eq!(Signature::parse(&n.line()), Some(n));
        assert_eq!(Signature::parse("traced=0"), None);
    }

    #[test]
    fn a_test_process_has_a_native_signature() {
        // cargo runs tests natively, under no runner.
        assert_eq!(Signature::own(), Signature::native());
    }

    #[test]
    fn resolve_finds_programs_on_path_and_refuses_missing_ones() {
        let sh = resolve("sh").expect("sh on PATH");
        assert!(sh.starts_with('/') && sh.ends_with("/sh"), "{sh}");
        assert_eq!(resolve("/nonexistent/forkspec-runner"), None);
        assert_eq!(resolve("forkspec-no-such-program-on-path"), None);
    }
}
