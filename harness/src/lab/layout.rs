//! Where the regions and the pool of agent stacks go in every task's address space.
//!
//! Both are mapped at fixed addresses (MAP_FIXED_NOREPLACE), chosen once by the lab at
//! start-up among a few candidates that are free in its own address space: an emulator or a
//! loader may sit at the preferred ones (proot's loader occupies 0x6000_0000_0000, the
//! preferred stack pool). The choice reaches the processes that do not inherit the lab's
//! memory (the zygote, re-executed agents) through the environment (`FORKSPEC_LAB_LAYOUT`).

use super::agent::{REGION_BASE, REGION_STRIDE, STACK_BASE, STACK_SIZE};
use super::channel::SLOTS;

/// How many agent stacks the pool holds.
const POOL_STACKS: u64 = SLOTS as u64;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static STACKS: AtomicU64 = AtomicU64::new(STACK_BASE);
static REGIONS: AtomicU64 = AtomicU64::new(REGION_BASE);
static CLOSE_RANGE: AtomicBool = AtomicBool::new(true);
static SLOT: AtomicBool = AtomicBool::new(false);

/// The environment variable that hands the layout (and the one facility fact the agents
/// need) to the zygote and re-executed agents: `STACKS,REGIONS,FLAGS` in hexadecimal, FLAGS
/// bit 0 set when close_range(2) is not to be used.
pub const ENV: &str = "FORKSPEC_LAB_LAYOUT";

/// Whether agents may use close_range(2) (else they close one fd at a time).
pub fn close_range_usable() -> bool {
    CLOSE_RANGE.load(Ordering::Relaxed)
}

/// Whether the mapping slot (one stride above the last region, where the mapping ops work:
/// [`super::ops_mm`]) was free at start-up and its stride does not reach the stack pool, so
/// that no page a mapping op or a load there may name belongs to anything else. Known in
/// the lab only (it refuses the ops that need it).
pub fn slot_usable() -> bool {
    SLOT.load(Ordering::Relaxed)
}

/// Start of the stack pool.
pub fn stacks() -> u64 {
    STACKS.load(Ordering::Relaxed)
}

/// Start of region 0.
pub fn regions() -> u64 {
    REGIONS.load(Ordering::Relaxed)
}

/// Candidates for the stack pool, the preferred first.
const STACK_CANDIDATES: [u64; 5] = [
    STACK_BASE,
    0x6800_0000_0000,
    0x5800_0000_0000,
    0x7000_0000_0000,
    0x0800_0000_0000,
];

/// Candidates for region 0 (the regions keep their stride), the preferred first.
const REGION_CANDIDATES: [u64; 4] = [
    REGION_BASE,
    0x0c00_0000_0000,
    0x1400_0000_0000,
    0x2000_0000_0000,
];

/// Whether `[addr, addr + len)` is free in this process: a probe mapping lands exactly there.
fn free(addr: u64, len: u64) -> bool {
    // SAFETY: an inaccessible reservation that never replaces anything (NOREPLACE), unmapped
    // at once; on a kernel that takes the flag as a hint it may land elsewhere, which is
    // unmapped too.
    unsafe {
        let p = libc::mmap(
            addr as *mut libc::c_void,
            len as usize,
            libc::PROT_NONE,
            libc::MAP_PRIVATE
                | libc::MAP_ANONYMOUS
                | libc::MAP_NORESERVE
                | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return false;
        }
        libc::munmap(p, len as usize);
        p as u64 == addr
    }
}

fn regions_free(base: u64) -> bool {
    let len = u64::from(forkspec_model::MAX_PAGES) * 4096;
    (0..4).all(|i| free(base + i * REGION_STRIDE, len))
}

fn stacks_free(base: u64) -> bool {
    free(base, STACK_SIZE * POOL_STACKS)
}

/// Chooses the layout in the lab (single-threaded, before the zygote starts) and publishes
/// it in the environment. `avoid_preferred` (the `fixed_addresses` denial) treats the
/// preferred addresses as taken. Returns whether the preferred ones are used, or an error
/// when no candidate is free.
pub fn choose(avoid_preferred: bool) -> Result<bool, String> {
    let skip = usize::from(avoid_preferred);
    let stacks = STACK_CANDIDATES[skip..]
        .iter()
        .copied()
        .find(|&a| stacks_free(a))
        .ok_or("no free address range for the agent stack pool")?;
    let pool = stacks..stacks + STACK_SIZE * POOL_STACKS;
    let slot_free = |regions: u64| {
        let slot = regions + 4 * REGION_STRIDE;
        let apart = slot + REGION_STRIDE <= pool.start || pool.end <= slot;
        apart && free(slot, u64::from(forkspec_model::SLOT_PAGES) * 4096)
    };
    let candidates = || {
        REGION_CANDIDATES[skip..]
            .iter()
            .copied()
            .filter(|&a| regions_free(a))
    };
    // A base whose mapping slot is free too comes first: a runner's own mappings (proot's
    // loaded program sits at 0x5000_0000_0000, the preferred slot) must not cost the
    // mapping ops while another base has room for them.
    let with_slot = if super::facility::denied("mapping_slot") {
        None
    } else {
        candidates().find(|&a| slot_free(a))
    };
    let regions = with_slot
        .or_else(|| candidates().next())
        .ok_or("no free address range for the case regions")?;
    STACKS.store(stacks, Ordering::Relaxed);
    REGIONS.store(regions, Ordering::Relaxed);
    SLOT.store(with_slot.is_some(), Ordering::Relaxed);
    Ok(stacks == STACK_BASE && regions == REGION_BASE)
}

/// Publishes the layout and whether close_range(2) is usable, for the processes the lab
/// starts; call while the lab is single-threaded, before the zygote starts.
pub fn publish(close_range: bool) {
    CLOSE_RANGE.store(close_range, Ordering::Relaxed);
    std::env::set_var(
        ENV,
        format!(
            "{:x},{:x},{:x}",
            stacks(),
            regions(),
            u8::from(!close_range)
        ),
    );
}

/// Takes the layout the lab chose from the environment, in a process started by the lab
/// (the zygote, a re-executed agent). Reads `environ` directly and allocates nothing: it runs
/// before any of Rust's runtime start-up.
pub fn adopt_from_env() {
    // SAFETY: `environ` is a NULL-terminated array of NUL-terminated strings, set up by the
    // C runtime before main and not changed by anyone in this fresh single-threaded process.
    unsafe {
        let mut e = libc::environ as *const *const u8;
        if e.is_null() {
            return;
        }
        while !(*e).is_null() {
            let s = core::ffi::CStr::from_ptr((*e).cast()).to_bytes();
            if let Some(v) = s
                .strip_prefix(ENV.as_bytes())
                .and_then(|r| r.strip_prefix(b"="))
            {
                if let Some((a, b, flags)) = parse(v) {
                    STACKS.store(a, Ordering::Relaxed);
                    REGIONS.store(b, Ordering::Relaxed);
                    CLOSE_RANGE.store(flags & 1 == 0, Ordering::Relaxed);
                }
                return;
            }
            e = e.add(1);
        }
    }
}

/// `STACKS,REGIONS[,FLAGS]` in hexadecimal.
fn parse(v: &[u8]) -> Option<(u64, u64, u64)> {
    let hex = |s: &[u8]| -> Option<u64> {
        if s.is_empty() || s.len() > 16 {
            return None;
        }
        s.iter().try_fold(0u64, |acc, &c| {
            let d = (c as char).to_digit(16)?;
            Some(acc << 4 | u64::from(d))
        })
    };
    let i = v.iter().position(|&c| c == b',')?;
    let rest = &v[i + 1..];
    let (b, flags) = match rest.iter().position(|&c| c == b',') {
        Some(j) => (hex(&rest[..j])?, hex(&rest[j + 1..])?),
        None => (hex(rest)?, 0),
    };
    Some((hex(&v[..i])?, b, flags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_both_hex_addresses_and_rejects_garbage() {
        assert_eq!(
            parse(b"600000000000,100000000000"),
            Some((STACK_BASE, REGION_BASE, 0))
        );
        assert_eq!(
            parse(b"680000000000,c0000000000,1"),
            Some((0x6800_0000_0000, 0x0c00_0000_0000, 1))
        );
        assert_eq!(parse(b"600000000000"), None);
        assert_eq!(parse(b"60000000000g,1"), None);
        assert_eq!(parse(b",1"), None);
    }

    #[test]
    fn a_taken_range_is_not_free() {
        // SAFETY: a fresh anonymous page of our own, unmapped at the end.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        assert!(!free(p as u64, 4096));
        // SAFETY: unmapping what this test mapped.
        unsafe { libc::munmap(p, 4096) };
        assert!(free(p as u64, 4096));
    }
}
