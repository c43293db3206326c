//! A writer of cpio archives in the "newc" format, the one the kernel unpacks as an
//! initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).

use std::io::{self, Write};

/// One archive being written to `W`.
pub struct Cpio<W: Write> {
    out: W,
    written: u64,
    next_ino: u32,
}

impl<W: Write> Cpio<W> {
    /// Starts an archive.
    pub fn new(out: W) -> Cpio<W> {
        Cpio {
            out,
            written: 0,
            next_ino: 1,
        }
    }

    /// A directory (`path` without a leading slash, e.g. `dev`).
    pub fn dir(&mut self, path: &str) -> io::Result<()> {
        self.entry(path, libc::S_IFDIR | 0o755, (0, 0), &[])
    }

    /// A regular file with `mode`'s permission bits.
    pub fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> io::Result<()> {
        self.entry(path, libc::S_IFREG | (mode & 0o7777), (0, 0), data)
    }

    /// A character device node.
    pub fn char_dev(&mut self, path: &str, major: u32, minor: u32) -> io::Result<()> {
        self.entry(path, libc::S_IFCHR | 0o600, (major, minor), &[])
    }

    /// Writes the trailer and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.entry("TRAILER!!!", 0, (0, 0), &[])?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn entry(&mut self, path: &str, mode: u32, rdev: (u32, u32), data: &[u8]) -> io::Result<()> {
        let size = u32::try_from(data.len())
            .map_err(|_| io::Error::other(format!("{path}: larger than 4 GiB")))?;
        let ino = self.next_ino;
        self.next_ino += 1;
        let nlink = if mode & libc::S_IFMT == libc::S_IFDIR {
            2
        } else {
            1
        };
        // Fields in order: ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
        // rdevmajor, rdevminor, namesize (with its NUL), check.
        let fields = [
            ino,
            mode,
            0,
            0,
            nlink,
            0,
            size,
            0,
            0,
            rdev.0,
            rdev.1,
            path.len() as u32 + 1,
            0,
        ];
        let mut head = String::with_capacity(110);
        head.push_str("070701");
        for f in fields {
            head.push_str(&format!("{f:08x}"));
        }
        self.put(head.as_bytes())?;
        self.put(path.as_bytes())?;
        self.put(&[0])?;
        self.pad()?;
        self.put(data)?;
        self.pad()
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.out.write_all(b)?;
        self.written += b.len() as u64;
        Ok(())
    }

    /// Header+name and data each end on a 4-byte boundary.
    fn pad(&mut self) -> io::Result<()> {
        let n = (4 - self.written % 4) % 4;
        self.put(&[0u8; 3][..n as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One entry read back: name, mode, data, (rdev major, minor).
    type Entry = (String, u32, Vec<u8>, (u32, u32));

    /// Reads an archive back the way the kernel's unpacker does, field by field.
    fn entries(mut b: &[u8]) -> Vec<Entry> {
        let mut out = Vec::new();
        let mut off = 0usize;
        let align = |x: usize| (x + 3) & !3;
        loop {
            assert_eq!(&b[..6], b"070701", "magic at offset {off}");
            let f = |i: usize| {
                u32::from_str_radix(std::str::from_utf8(&b[6 + 8 * i..14 + 8 * i]).unwrap(), 16)
                    .unwrap()
            };
            let (mode, size, namesize) = (f(1), f(6) as usize, f(11) as usize);
            let rdev = (f(9), f(10));
            let name = std::str::from_utf8(&b[110..110 + namesize - 1])
                .unwrap()
                .to_string();
            assert_eq!(b[110 + namesize - 1], 0);
            let data_at = align(off + 110 + namesize) - off;
            let data = b[data_at..data_at + size].to_vec();
            let next = align(off + data_at + size) - off;
            if name == "TRAILER!!!" {
                assert_eq!(next, b.len(), "nothing after the trailer but padding");
                return out;
            }
            out.push((name, mode, data, rdev));
            b = &b[next..];
            off += next;
        }
    }

    #[test]
    fn round_trip() {
        let mut c = Cpio::new(Vec::new());
        c.dir("dev").unwrap();
        c.char_dev("dev/console", 5, 1).unwrap();
        c.file("init", 0o755, b"hello").unwrap();
        c.file("lib/x", 0o644, &[7; 4]).unwrap();
        let bytes = c.finish().unwrap();
        assert_eq!(bytes.len() % 4, 0);
        let e = entries(&bytes);
        let names: Vec<_> = e.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(names, ["dev", "dev/console", "init", "lib/x"]);
        assert_eq!(e[0].1, libc::S_IFDIR | 0o755);
        assert_eq!(e[1].1 & libc::S_IFMT, libc::S_IFCHR);
        assert_eq!(e[1].3, (5, 1));
        assert_eq!(e[2].1, libc::S_IFREG | 0o755);
        assert_eq!(e[2].2, b"hello");
        assert_eq!(e[3].2, [7; 4]);
    }
}
