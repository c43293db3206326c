//! Which address ranges of a task are mapped, for the snapshot's regions: the `PROCMAP_QUERY`
//! ioctl on /proc/PID/maps (Linux 6.11+) asks the kernel for the VMAs covering just the
//! regions, instead of formatting and parsing every VMA of the task as text. Kernels or
//! emulators without it get the text of /proc/PID/maps from the same file.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU8, Ordering};

/// `_IOWR('f', 17, struct procmap_query)` of include/uapi/linux/fs.h (104-byte struct).
const PROCMAP_QUERY: u64 = 0xC068_6611;
/// `PROCMAP_QUERY_COVERING_OR_NEXT_VMA`: the VMA containing the address, else the next one.
const COVERING_OR_NEXT_VMA: u64 = 0x10;

/// `struct procmap_query` (include/uapi/linux/fs.h): only the address fields are used; the
/// name and build-id buffers stay unset (size 0, address 0), so the kernel copies neither.
#[repr(C)]
#[derive(Default)]
struct ProcmapQuery {
    size: u64,
    query_flags: u64,
    query_addr: u64,
    vma_start: u64,
    vma_end: u64,
    vma_flags: u64,
    vma_page_size: u64,
    vma_offset: u64,
    inode: u64,
    dev_major: u32,
    dev_minor: u32,
    vma_name_size: u32,
    build_id_size: u32,
    vma_name_addr: u64,
    build_id_addr: u64,
}

/// Whether `PROCMAP_QUERY` works here: unknown, yes, no (decided by the first query).
static QUERY: AtomicU8 = AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = 0;
const WORKS: u8 = 1;
const MISSING: u8 = 2;

/// The mapped `(start, end)` ranges of the task whose /proc/PID/maps is open as `maps` that
/// overlap any of `spans` (each `(start, end)`, ascending). `buf` is scratch space for the
/// text fallback. Empty when the task is gone.
pub fn mapped(maps: &mut File, spans: &[(u64, u64)], buf: &mut Vec<u8>) -> Vec<(u64, u64)> {
    if super::facility::get().procmap_query && QUERY.load(Ordering::Relaxed) != MISSING {
        match query(maps, spans) {
            Ok(v) => {
                QUERY.store(WORKS, Ordering::Relaxed);
                return v;
            }
            Err(e) if QUERY.load(Ordering::Relaxed) == UNKNOWN && unsupported(e) => {
                QUERY.store(MISSING, Ordering::Relaxed);
            }
            Err(_) => return Vec::new(),
        }
    }
    text(maps, buf)
}

/// Whether `PROCMAP_QUERY` answers on the lab's own /proc/self/maps (Linux 6.11).
pub fn probe_query() -> bool {
    let Ok(f) = File::open("/proc/self/maps") else {
        return false;
    };
    // The lab's own code is mapped at this function's address.
    let here = probe_query as *const () as u64;
    query(&f, &[(here, here + 1)]).is_ok_and(|v| !v.is_empty())
}

/// ENOTTY (no such ioctl) or EINVAL (another layout): use the text instead.
fn unsupported(errno: i32) -> bool {
    errno == libc::ENOTTY || errno == libc::EINVAL || errno == libc::EOPNOTSUPP
}

fn query(maps: &File, spans: &[(u64, u64)]) -> Result<Vec<(u64, u64)>, i32> {
    let mut out = Vec::new();
    for &(start, end) in spans {
        let mut addr = start;
        while addr < end {
            let mut q = ProcmapQuery {
                size: std::mem::size_of::<ProcmapQuery>() as u64,
                query_flags: COVERING_OR_NEXT_VMA,
                query_addr: addr,
                ..ProcmapQuery::default()
            };
            // SAFETY: PROCMAP_QUERY reads and writes one `struct procmap_query`, which `q`
            // is (repr(C), its size in `size`); no name or build-id buffer is passed.
            let r = unsafe { libc::ioctl(maps.as_raw_fd(), PROCMAP_QUERY as _, &mut q) };
            if r < 0 {
                let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
                if errno == libc::ENOENT {
                    break; // no VMA at or above `addr`
                }
                return Err(errno);
            }
            if q.vma_start >= end || q.vma_end <= addr {
                break;
            }
            out.push((q.vma_start, q.vma_end));
            addr = q.vma_end;
        }
    }
    Ok(out)
}

fn text(maps: &mut File, buf: &mut Vec<u8>) -> Vec<(u64, u64)> {
    buf.clear();
    if maps.read_to_end(buf).is_err() {
        return Vec::new();
    }
    let Ok(s) = std::str::from_utf8(buf) else {
        return Vec::new();
    };
    s.lines()
        .filter_map(|l| {
            let range = l.split(' ').next()?;
            let (a, b) = range.split_once('-')?;
            Some((
                u64::from_str_radix(a, 16).ok()?,
                u64::from_str_radix(b, 16).ok()?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query and the text agree on this process's own mappings around a fresh mapping
    /// with a hole punched in it.
    #[test]
    fn query_and_text_agree() {
        // SAFETY: a fresh anonymous mapping of 4 pages, its second page unmapped, all
        // unmapped again at the end; nothing else refers to it.
        let base = unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                4 * 4096,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            libc::munmap(p.cast::<u8>().add(4096).cast(), 4096);
            p as u64
        };
        let spans = [(base, base + 4 * 4096)];
        let mut f = File::open("/proc/self/maps").unwrap();
        let mut buf = Vec::new();
        let clip = |v: Vec<(u64, u64)>| -> Vec<(u64, u64)> {
            v.into_iter()
                .filter(|&(a, b)| a < base + 4 * 4096 && b > base)
                .map(|(a, b)| (a.max(base), b.min(base + 4 * 4096)))
                .collect()
        };
        let text_ranges = clip(text(&mut f, &mut buf));
        assert_eq!(
            text_ranges,
            vec![(base, base + 4096), (base + 2 * 4096, base + 4 * 4096)]
        );
        match query(&f, &spans) {
            Ok(v) => assert_eq!(clip(v), text_ranges),
            Err(e) => assert!(unsupported(e), "PROCMAP_QUERY failed: errno {e}"),
        }
        // SAFETY: unmapping what this test mapped.
        unsafe { libc::munmap(base as *mut libc::c_void, 4 * 4096) };
    }
}
