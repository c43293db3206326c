//! The report files of a check (`--json`, `--junit`, `--markdown`) and its case directory
//! (`--out`): checked before the run, so a typo costs nothing, and written after it, also
//! when it stopped early. `-` names stdout.

use std::path::{Path, PathBuf};

/// Where one report goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    /// Standard output (`-`).
    Stdout,
    /// A file.
    File(PathBuf),
}

impl Dest {
    /// `-` is stdout, anything else a file.
    pub fn new(path: &Path) -> Dest {
        if path == Path::new("-") {
            Dest::Stdout
        } else {
            Dest::File(path.to_path_buf())
        }
    }

    /// Writes `text`; returns what to print about it (`None` for stdout).
    pub fn write(&self, text: &str) -> anyhow::Result<Option<String>> {
        match self {
            Dest::Stdout => {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                        crate::interrupt::stdout_closed();
                        Ok(None)
                    }
                    r => r
                        .map(|_| None)
                        .map_err(|e| anyhow::anyhow!("cannot write to stdout: {e}")),
                }
            }
            Dest::File(p) => std::fs::write(p, text)
                .map(|_| Some(p.display().to_string()))
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display())),
        }
    }
}

/// Checks that a report can be written at `path` (`option` names it in the error): its
/// directory exists and takes a new file, and it is not a directory itself. Nothing is left
/// behind.
pub fn check_file(option: &str, path: &Path) -> anyhow::Result<()> {
    if path == Path::new("-") {
        return Ok(());
    }
    if path.is_dir() {
        anyhow::bail!("{option} {}: is a directory", path.display());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "{option} {}: directory {} does not exist",
            path.display(),
            dir.display()
        );
    }
    probe_writable(dir).map_err(|e| {
        anyhow::anyhow!(
            "{option} {}: cannot write in {}: {e}",
            path.display(),
            dir.display()
        )
    })?;
    if path.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| anyhow::anyhow!("{option} {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Checks that `--out DIR` can take case files: DIR is a directory, or can be made in its
/// nearest existing ancestor. The directory itself is made only when a case is saved.
pub fn check_dir(option: &str, dir: &Path) -> anyhow::Result<()> {
    let mut existing = dir;
    while !existing.exists() {
        match existing.parent() {
            Some(p) if !p.as_os_str().is_empty() => existing = p,
            _ => {
                existing = Path::new(".");
                break;
            }
        }
    }
    if !existing.is_dir() {
        anyhow::bail!(
            "{option} {}: {} is not a directory",
            dir.display(),
            existing.display()
        );
    }
    probe_writable(existing).map_err(|e| {
        anyhow::anyhow!(
            "{option} {}: cannot write in {}: {e}",
            dir.display(),
            existing.display()
        )
    })
}

/// Creates and removes a file in `dir`: the real test of writability (permissions, a
/// read-only mount, ACLs), with nothing left behind.
fn probe_writable(dir: &Path) -> std::io::Result<()> {
    tempfile::Builder::new()
        .prefix(".forkspec-probe-")
        .tempfile_in(dir)
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_paths_are_checked_without_leaving_anything() {
        let d = tempfile::tempdir().unwrap();
        let ok = d.path().join("r.json");
        check_file("--json", &ok).unwrap();
        assert!(!ok.exists());
        check_file("--json", Path::new("-")).unwrap();
        let e = check_file("--json", Path::new("/nonexistent/r.json")).unwrap_err();
        assert!(e.to_string().contains("--json /nonexistent/r.json"), "{e}");
        assert!(check_file("--junit", d.path()).is_err());
        check_dir("--out", &d.path().join("a/b")).unwrap();
        assert!(!d.path().join("a").exists());
        assert!(check_dir("--out", &ok.join("x")).is_ok());
        std::fs::write(&ok, "").unwrap();
        assert!(check_dir("--out", &ok.join("x")).is_err());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
