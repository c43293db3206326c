//! Op → agent command for the mapping ops (`mmap`, `munmap`, `mprotect`, `mremap`, the
//! `mlock` family) and the
//! loads and stores in the mapping slot. Every address is in the slot ([`super::layout::slot`]); the
//! lab refuses these ops when the slot was not free at start-up (the hello then leaves them
//! out) and any range outside the slot's [`SLOT_PAGES`] pages, so a case never maps or
//! unmaps anything but its own pages.

use super::channel::Cmd;
use super::ops::Expect;
use forkspec_model::{MapKind, OpKind, Region, MAX_PAGES, SLOT_PAGES};

/// The op kinds that need the mapping slot.
pub const NEEDS_SLOT: [&str; 6] = ["mmap", "munmap", "mprotect", "mremap", "mlock", "munlock"];

/// Why the mapping ops are not run here, or `None` when the slot is usable.
pub fn unusable() -> Option<String> {
    (!super::layout::slot_usable()).then(|| {
        "the mapping slot (one stride above the regions) was taken or overlapped the agent \
         stack pool at start-up: mapping ops are not compared"
            .to_string()
    })
}

/// The address of slot page `page`.
pub fn slot_addr(page: u64) -> u64 {
    super::layout::regions() + 4 * super::agent::REGION_STRIDE + page * 4096
}

/// Refuses an op that names pages `[first, first + count)` of the slot when they are not
/// all inside it, or when the slot is not usable.
pub fn check_range(first: u32, count: u32) -> Result<(), String> {
    if let Some(why) = unusable() {
        return Err(why);
    }
    if u64::from(first) + u64::from(count) > u64::from(SLOT_PAGES) {
        return Err(format!(
            "pages {first}..+{count} are outside the mapping slot ({SLOT_PAGES} pages)"
        ));
    }
    Ok(())
}

/// The address of page `page` of `region` (a region or the slot), after refusing a range of
/// `count` pages from there that leaves the pages the lab checked free at start-up (the
/// first [`MAX_PAGES`] of a region's stride, the slot's [`SLOT_PAGES`]): an `mremap` never
/// unmaps, moves or grows into anything but the case's own address areas.
fn area_addr(region: Region, page: u32, count: u32) -> Result<u64, String> {
    if region == Region::Mapped {
        check_range(page, count)?;
        return Ok(slot_addr(u64::from(page)));
    }
    if u64::from(page) + u64::from(count) > u64::from(MAX_PAGES) {
        return Err(format!(
            "pages {page}..+{count} of {region} are outside its first {MAX_PAGES} pages"
        ));
    }
    Ok(super::agent::page_addr(region.index(), u64::from(page)))
}

/// The `mremap` command: flags 0 in place, `MREMAP_MAYMOVE | MREMAP_FIXED` to a named
/// page; its answer is the mapping's new address, reported as 0 when it is the one asked.
fn encode_mremap(op: &OpKind) -> Option<Result<(Cmd, Expect), String>> {
    let OpKind::Mremap {
        region,
        first,
        count,
        new_count,
        to,
        unaligned,
    } = op
    else {
        return None;
    };
    let go = || -> Result<(Cmd, Expect), String> {
        if let Some(why) = unusable() {
            return Err(why);
        }
        // In place the mapping may grow to `new_count` pages from there.
        let reach = if to.is_some() {
            *count
        } else {
            (*count).max(*new_count)
        };
        let old = area_addr(*region, *first, reach)?;
        let (flags, new) = match to {
            None => (0, old),
            Some(d) => {
                let fixed = libc::MREMAP_FIXED as u64;
                let maymove = if d.no_maymove {
                    0
                } else {
                    libc::MREMAP_MAYMOVE as u64
                };
                (fixed | maymove, area_addr(d.region, d.page, *new_count)?)
            }
        };
        let cmd = Cmd {
            nr: libc::SYS_mremap as u64,
            args: [
                old + u64::from(*unaligned),
                u64::from(*count) * 4096,
                u64::from(*new_count) * 4096,
                flags,
                if to.is_some() { new } else { 0 },
                0,
            ],
            ..Cmd::ZERO
        };
        Ok((cmd, Expect::MappedAt(new)))
    };
    Some(go())
}

/// The commands of `mlock`, `mlock2`, `munlock`, `mlockall` and `munlockall`: the ranges
/// stay inside the case's address areas ([`area_addr`]).
fn encode_mlock(op: &OpKind) -> Option<Result<(Cmd, Expect), String>> {
    let call = |nr: i64, args: [u64; 6]| Cmd {
        nr: nr as u64,
        args,
        ..Cmd::ZERO
    };
    let range = |region: Region, first: u32, count: u32| {
        area_addr(region, first, count).map(|a| (a, u64::from(count) * 4096))
    };
    let cmd = match op {
        OpKind::Mlock {
            region,
            first,
            count,
            flags,
        } => range(*region, *first, *count).map(|(a, len)| match flags {
            None => call(libc::SYS_mlock, [a, len, 0, 0, 0, 0]),
            Some(f) => call(libc::SYS_mlock2, [a, len, u64::from(*f), 0, 0, 0]),
        }),
        OpKind::Munlock {
            region,
            first,
            count,
        } => range(*region, *first, *count)
            .map(|(a, len)| call(libc::SYS_munlock, [a, len, 0, 0, 0, 0])),
        OpKind::Mlockall { flags } => {
            Ok(call(libc::SYS_mlockall, [u64::from(*flags), 0, 0, 0, 0, 0]))
        }
        OpKind::Munlockall => Ok(call(libc::SYS_munlockall, [0; 6])),
        _ => return None,
    };
    Some(cmd.map(|c| (c, Expect::Ret)))
}

/// The command of a mapping op, or `None` for the other ops.
pub fn encode(op: &OpKind) -> Option<Result<(Cmd, Expect), String>> {
    if let Some(r) = encode_mremap(op).or_else(|| encode_mlock(op)) {
        return Some(r);
    }
    let z = 0u64;
    let call = |nr: i64, args: [u64; 6]| Cmd {
        nr: nr as u64,
        args,
        ..Cmd::ZERO
    };
    let (first, count) = match op {
        OpKind::Mmap { first, count, .. }
        | OpKind::Munmap { first, count }
        | OpKind::Mprotect { first, count, .. } => (*first, *count),
        OpKind::MemRead { region, page } | OpKind::MemWrite { region, page, .. }
            if *region == Region::Mapped =>
        {
            return check_range(*page, 1).err().map(Err);
        }
        _ => return None,
    };
    if let Err(e) = check_range(first, count) {
        return Some(Err(e));
    }
    let addr = slot_addr(u64::from(first));
    let len = u64::from(count) * 4096;
    Some(Ok(match op {
        OpKind::Mmap {
            map, prot, locked, ..
        } => {
            let share = match map {
                MapKind::AnonPrivate => libc::MAP_PRIVATE,
                MapKind::AnonShared => libc::MAP_SHARED,
            };
            let lock = if *locked { libc::MAP_LOCKED } else { 0 };
            let flags = share | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE | lock;
            (
                call(
                    libc::SYS_mmap,
                    [addr, len, prot.bits(), flags as u64, u64::MAX, z],
                ),
                Expect::MappedAt(addr),
            )
        }
        OpKind::Munmap { .. } => (call(libc::SYS_munmap, [addr, len, z, z, z, z]), Expect::Ret),
        OpKind::Mprotect { prot, .. } => (
            call(libc::SYS_mprotect, [addr, len, prot.bits(), z, z, z]),
            Expect::Ret,
        ),
        _ => return None,
    }))
}
