//! Running the `forkspec` command as a user would, shared by the suites that test the CLI.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// The binary under test.
pub const FORKSPEC: &str = env!("CARGO_BIN_EXE_forkspec");

/// The `--backend` of the Python simulator, with `extra` appended to its command line
/// (e.g. `" --buggy"`).
pub fn pysim(extra: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/pysim/pysim.py");
    format!("exec:python3 '{}'{extra}", p.display())
}

/// Runs forkspec in `dir` with `CI` unset and returns (exit code, stdout, stderr).
pub fn forkspec(dir: &Path, args: &[&str]) -> (i32, String, String) {
    forkspec_env(dir, &[], args)
}

/// [`forkspec`] with extra environment variables.
pub fn forkspec_env(dir: &Path, env: &[(&str, &Path)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(FORKSPEC);
    cmd.args(args).current_dir(dir).env_remove("CI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run forkspec");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
