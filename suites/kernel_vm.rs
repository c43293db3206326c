//! `--kernel IMAGE`: the lab in a VM. The error paths need no kernel: an image that is not
//! a kernel is an error (exit 2) naming it, with qemu's last words, and leaves nothing
//! behind. With `FORKSPEC_TEST_KERNEL=/path/to/bzImage` the real paths run too: a boot and a
//! few cases, a kernel that panics, one that hangs, and a harness killed while its VM boots.
//! (The Debian kernel matrix runs in .ci/run, not here.)
//!
//! Also here: a `--deadline-ms` below what the implementation needs is raised, with a
//! message, and never produces a false "blocked".

mod leftovers;

use leftovers::{assert_gone_within_a_second, ours, private_tmp};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_forkspec"))
}

fn have_qemu() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("qemu-system-x86_64").is_file()))
}

/// `forkspec check --kernel IMAGE ARGS` with TMPDIR=`tmp` (inherited by qemu: how leftovers
/// are found) and the divergence directory inside it.
fn check(tmp: &Path, image: &Path, args: &[&str]) -> Output {
    Command::new(exe())
        .arg("check")
        .arg("--kernel")
        .arg(image)
        .args(["--out", &tmp.join("div").display().to_string()])
        .args(args)
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A file outside the leak-checked directory.
fn image_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    (d, p)
}

#[test]
fn an_image_that_is_not_a_kernel_is_an_error_naming_it() {
    let tmp = private_tmp("vm-garbage");
    let (_keep, image) = image_file("not-a-kernel.img", b"this is no kernel\n");
    let o = check(&tmp, &image, &["--cases", "3"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    if have_qemu() {
        assert!(err.contains(&image.display().to_string()), "{err}");
        assert!(err.contains("did not boot"), "{err}");
        // qemu's own complaint is among the last console lines.
        assert!(err.contains("qemu"), "{err}");
    } else {
        println!("qemu-system-x86_64 is not installed: only the message saying so is checked");
        assert!(err.contains("qemu-system-x86_64"), "{err}");
    }
    let _ = std::fs::remove_dir_all(tmp.join("div"));
    assert_gone_within_a_second(&tmp);
}

#[test]
fn a_missing_image_or_a_runner_is_a_usage_error() {
    let tmp = private_tmp("vm-usage");
    let o = check(&tmp, Path::new("/no/such/bzImage"), &["--cases", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/no/such/bzImage"), "{}", stderr(&o));
    let (_keep, image) = image_file("bzImage", b"x");
    let o = check(&tmp, &image, &["--runner", "env"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--runner"), "{}", stderr(&o));
    assert_gone_within_a_second(&tmp);
}

/// The kernel image of `FORKSPEC_TEST_KERNEL`, or `None` with the reason printed.
fn test_kernel() -> Option<PathBuf> {
    let Some(k) = std::env::var_os("FORKSPEC_TEST_KERNEL") else {
        println!("skipped: FORKSPEC_TEST_KERNEL is not set (a bzImage or vmlinuz to boot)");
        return None;
    };
    if !have_qemu() {
        println!("skipped: qemu-system-x86_64 is not installed");
        return None;
    }
    Some(PathBuf::from(k))
}

#[test]
fn a_real_kernel_boots_runs_cases_and_leaves_nothing() {
    let Some(image) = test_kernel() else { return };
    let tmp = private_tmp("vm-boot");
    let o = check(&tmp, &image, &["--cases", "10", "--jobs", "1"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", stderr(&o));
    assert!(out.contains("against linux-lab "), "{out}");
    assert!(out.contains("cases run: 10 "), "{out}");
    let _ = std::fs::remove_dir_all(tmp.join("div"));
    assert_gone_within_a_second(&tmp);
}

#[test]
fn a_kernel_that_panics_or_hangs_is_an_error_with_its_console() {
    let Some(image) = test_kernel() else { return };
    let tmp = private_tmp("vm-panic");
    // No init where the kernel looks: it panics ("VFS: Unable to mount root fs").
    let o = check(
        &tmp,
        &image,
        &["--cases", "1", "--kernel-append", "rdinit=/no-such-init"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&image.display().to_string()), "{err}");
    assert!(err.contains("Kernel panic"), "{err}");
    // Far too little time to boot: it counts as hung, and qemu is killed.
    let o = check(
        &tmp,
        &image,
        &["--cases", "1", "--accel", "tcg", "--boot-timeout-s", "2"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("it hangs"), "{err}");
    let _ = std::fs::remove_dir_all(tmp.join("div"));
    assert_gone_within_a_second(&tmp);
}

#[test]
fn qemu_dies_with_a_killed_harness() {
    let Some(image) = test_kernel() else { return };
    let tmp = private_tmp("vm-kill");
    let mut child = Command::new(exe())
        .args(["check", "--cases", "5", "--kernel"])
        .arg(&image)
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // qemu carries TMPDIR too: wait (bounded) until it runs.
    let is_qemu = |pid: &u32| {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|c| c.starts_with("qemu-system"))
    };
    let start = std::time::Instant::now();
    while !ours(&tmp).iter().any(is_qemu) {
        assert!(start.elapsed().as_secs() < 60, "qemu never started");
        std::thread::yield_now();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_gone_within_a_second(&tmp);
}

#[test]
fn a_deadline_below_the_measured_need_is_raised_not_reported_as_blocked() {
    let tmp = private_tmp("deadline");
    let o = Command::new(exe())
        .args([
            "check",
            "--cases",
            "200",
            "--deadline-ms",
            "1",
            "--no-shrink",
        ])
        .args(["--out", &tmp.join("div").display().to_string()])
        .env("FORKSPEC_TMPDIR", &tmp)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(
        err.contains("--deadline-ms 1 is below what this implementation needs"),
        "{err}"
    );
    assert!(out.contains("divergences: 0  errors: 0"), "{out}\n{err}");
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    let _ = std::fs::remove_dir_all(tmp.join("div"));
    assert_gone_within_a_second(&tmp);
}
