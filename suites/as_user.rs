//! The lab dropped to an unprivileged uid by a root harness (`forkspec check --as-user`):
//! the same generated cases give the same verdicts with fewer observations (no physical
//! frame classes). Skipped, with a note, when the tests do not run as root.

use std::path::PathBuf;
use std::process::Command;

/// A world-writable case-directory base (sticky, like /dev/shm) that goes away with the test.
struct SharedDir(PathBuf);

impl SharedDir {
    fn new(name: &str) -> SharedDir {
        use std::os::unix::fs::PermissionsExt;
        // /dev/shm is reachable by every uid; a private TMPDIR (as CI uses) is not.
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            PathBuf::from("/tmp")
        };
        // Tests run in parallel in one process: each directory has a number of its own.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let d = base.join(format!(
            "forkspec-as-user-{name}-{}-{n}",
            std::process::id()
        ));
        std::fs::create_dir_all(&d).expect("creating the shared case directory base");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o1777)).unwrap();
        SharedDir(d)
    }
}

impl Drop for SharedDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn check_as_nobody(suite: &str, cases: u32, seed: u64) {
    check_as_nobody_under(&[], suite, cases, seed)
}

/// [`check_as_nobody`] with the harness started by `wrapper` (a command prefix).
fn check_as_nobody_under(wrapper: &[&str], suite: &str, cases: u32, seed: u64) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: --as-user needs root; this run is unprivileged already");
        return;
    }
    let dir = SharedDir::new(suite);
    // Any divergence's case file goes to a scratch directory, never into the source tree.
    let scratch = tempfile::tempdir().expect("scratch directory");
    let forkspec = env!("CARGO_BIN_EXE_forkspec");
    let mut cmd = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(forkspec);
            c
        }
        None => Command::new(forkspec),
    };
    let out = cmd
        .current_dir(scratch.path())
        .args(["check", "--suite", suite, "--as-user", "65534"])
        .args(["--cases", &cases.to_string(), "--seed", &seed.to_string()])
        .env("FORKSPEC_TMPDIR", &dir.0)
        .env_remove("CI")
        .output()
        .expect("running forkspec check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "check --suite {suite} --as-user 65534 --seed {seed} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("uid 65534"),
        "profile not unprivileged:\n{stdout}"
    );
    assert!(
        stdout.contains(&format!("cases run: {cases} ")) && stdout.contains("divergences: 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("pfn:"),
        "PFNs must be listed as not compared:\n{stdout}"
    );
    let left: Vec<_> = std::fs::read_dir(&dir.0).unwrap().flatten().collect();
    assert!(left.is_empty(), "case directories left behind: {left:?}");
}

/// The clone suite's generated cases with the lab as uid 65534.
#[test]
fn clone_suite_as_an_unprivileged_user() {
    check_as_nobody("clone", 300, 11);
}

/// Every area at once with the lab as uid 65534.
#[test]
fn all_suites_as_an_unprivileged_user() {
    check_as_nobody("all", 200, 12);
}

/// A harness outside any session (session 0, as a CI VM's init starts it; here the session
/// leader is outside a new pid namespace): the case's session is still the lab's own, seen
/// as outside the case, not as a session without a leader.
#[test]
fn all_suites_from_outside_any_session() {
    let wrapper = ["unshare", "--pid", "--fork", "--mount-proc"];
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0
        && Command::new(wrapper[0]).arg("--version").output().is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "unshare (util-linux) is missing"
        );
        eprintln!("no unshare: skipped");
        return;
    }
    check_as_nobody_under(&wrapper, "all", 200, 12);
}

/// The memory-area mix with the lab as uid 65534 under a 64 KiB `RLIMIT_MEMLOCK` (the
/// default before 5.16: 16 pages, which the case's locks can exceed): mlock's ENOMEM and a
/// locked mmap's EAGAIN come from the limit the lab probed, never assumed.
// covers: mm.mlock-rlimit
#[test]
fn memory_suite_as_an_unprivileged_user_under_a_small_memlock_limit() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 && Command::new("prlimit").arg("--version").output().is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "prlimit (util-linux) is missing"
        );
        eprintln!("no prlimit: skipped");
        return;
    }
    check_as_nobody_under(&["prlimit", "--memlock=65536:65536"], "fork", 300, 13);
}
