//! The initramfs a VM boots: the running forkspec binary as `/init` (it becomes
//! `forkspec vm-init`, [`super::guest`]) and, when that binary is dynamically linked, its ELF
//! interpreter and the shared libraries it needs, at the paths it looks for them.
//!
//! The archive lives in an unlinked temporary file: nothing of it is left on disk whatever
//! happens to the harness, and qemu reads it through `/proc/self/fd`.

use super::cpio::Cpio;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Seek};
use std::path::{Path, PathBuf};

/// An initramfs written to an unlinked temporary file.
pub struct Initramfs {
    /// The archive, at offset 0.
    pub file: File,
    /// What it holds besides `/init`: the interpreter and libraries (empty for a static
    /// binary).
    pub libs: Vec<PathBuf>,
}

/// Builds the initramfs around the binary `exe`.
pub fn build(exe: &Path) -> anyhow::Result<Initramfs> {
    let image = std::fs::read(exe).map_err(|e| anyhow::anyhow!("{}: {e}", exe.display()))?;
    let libs = match elf_interpreter(&image)? {
        None => Vec::new(),
        Some(interp) => shared_libraries(exe, &interp)?,
    };
    let file = tempfile::tempfile()?;
    let mut c = Cpio::new(BufWriter::new(file));
    let mut dirs = BTreeSet::new();
    for d in ["dev", "proc", "sys", "tmp"] {
        dirs.insert(PathBuf::from(d));
    }
    for l in &libs {
        let rel = l.strip_prefix("/").unwrap_or(l);
        for a in rel.ancestors().skip(1) {
            if !a.as_os_str().is_empty() {
                dirs.insert(a.to_path_buf());
            }
        }
    }
    // BTreeSet order puts every directory before what it contains.
    for d in &dirs {
        c.dir(&d.to_string_lossy())?;
    }
    // The kernel opens /dev/console as init's stdin, stdout and stderr before any devtmpfs.
    c.char_dev("dev/console", 5, 1)?;
    c.file("init", 0o755, &image)?;
    for l in &libs {
        let data = std::fs::read(l).map_err(|e| anyhow::anyhow!("{}: {e}", l.display()))?;
        let rel = l.strip_prefix("/").unwrap_or(l);
        c.file(&rel.to_string_lossy(), 0o755, &data)?;
    }
    let mut file = c
        .finish()?
        .into_inner()
        .map_err(|e| anyhow::anyhow!("writing the initramfs: {e}"))?;
    file.rewind()?;
    Ok(Initramfs { file, libs })
}

/// The PT_INTERP path of a 64-bit little-endian ELF file; `None` for a static one.
pub fn elf_interpreter(image: &[u8]) -> anyhow::Result<Option<PathBuf>> {
    let bad = || anyhow::anyhow!("not a 64-bit little-endian ELF executable");
    if image.len() < 64 || &image[..4] != b"\x7fELF" || image[4] != 2 || image[5] != 1 {
        return Err(bad());
    }
    let u16_at = |o: usize| {
        image
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u64_at = |o: usize| {
        image
            .get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    };
    let phoff = u64_at(0x20).ok_or_else(bad)? as usize;
    let phentsize = u16_at(0x36).ok_or_else(bad)? as usize;
    let phnum = u16_at(0x38).ok_or_else(bad)? as usize;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let p_type = image.get(ph..ph + 4).ok_or_else(bad)?;
        if p_type != 3u32.to_le_bytes() {
            continue;
        }
        let off = u64_at(ph + 0x08).ok_or_else(bad)? as usize;
        let size = u64_at(ph + 0x20).ok_or_else(bad)? as usize;
        let raw = image.get(off..off + size).ok_or_else(bad)?;
        let path = raw.split(|&b| b == 0).next().unwrap_or_default();
        let path = std::str::from_utf8(path).map_err(|_| bad())?;
        return Ok(Some(PathBuf::from(path)));
    }
    Ok(None)
}

/// The interpreter and every library `exe` loads, as the interpreter itself resolves them
/// (`INTERP --list EXE`, what ldd runs): the same files, at the same paths, as on the host.
fn shared_libraries(exe: &Path, interp: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let out = std::process::Command::new(interp)
        .arg("--list")
        .arg(exe)
        .output()
        .map_err(|e| anyhow::anyhow!("{} --list: {e}", interp.display()))?;
    if !out.status.success() {
        anyhow::bail!(
            "{} --list {} failed: {}",
            interp.display(),
            exe.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let mut libs = vec![interp.to_path_buf()];
    libs.extend(parse_list(&String::from_utf8_lossy(&out.stdout))?);
    libs.sort();
    libs.dedup();
    Ok(libs)
}

/// The absolute paths in the interpreter's `--list` output (`name => /path (0x..)` or
/// `/path (0x..)`); the vDSO has none.
fn parse_list(text: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.contains("not found") {
            anyhow::bail!("a shared library of forkspec is missing: {line}");
        }
        let target = line.split_once("=>").map_or(line, |(_, t)| t.trim());
        let path = target.split_whitespace().next().unwrap_or("");
        if path.starts_with('/') {
            v.push(PathBuf::from(path));
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_lines() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x7f)\n\t/lib64/ld-linux-x86-64.so.2 (0x7f3)\n";
        assert_eq!(
            parse_list(text).unwrap(),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
        assert!(parse_list("\tlibfoo.so => not found\n").is_err());
    }

    #[test]
    fn interpreter_of_this_test_binary() {
        // This test binary and /bin/sh are what the toolchain and distribution made: either
        // dynamic with an absolute interpreter, or static.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        if let Some(i) = elf_interpreter(&me).unwrap() {
            assert!(i.is_absolute() && i.exists(), "{i:?}");
        }
        assert!(elf_interpreter(b"#!/bin/sh\necho not elf\n").is_err());
        assert!(elf_interpreter(&[0x7f, b'E', b'L', b'F']).is_err());
    }
}
