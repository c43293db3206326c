//! Generation of the mapping ops (`mmap`, `munmap`, `mprotect` in the mapping slot) and of
//! the loads and stores aimed at the slot's mapped pages. The slot's state comes from the
//! model ([`forkspec_model::Model::slot_pages`]): snapshots leave the slot out.

use crate::gen::Choices;
use forkspec_model::{MapKind, OpKind, Prot, Region, SLOT_PAGES};

/// The mapped slot pages of the proposing task, with their protection.
pub(crate) type Slot = [(u32, Prot)];

fn prot(src: &mut dyn Choices, pct_rw: u32) -> Prot {
    if src.chance(pct_rw) {
        Prot::ReadWrite
    } else if src.chance(75) {
        Prot::Read
    } else {
        Prot::None
    }
}

/// A page of the slot: mostly one of `pages`, else any.
fn page_of(src: &mut dyn Choices, pages: &[u32]) -> u32 {
    if !pages.is_empty() && src.chance(85) {
        *src.pick(pages)
    } else {
        src.below(SLOT_PAGES)
    }
}

/// A count of pages from `first`, inside the slot: 1 to 3, now and then 0.
fn count_from(src: &mut dyn Choices, first: u32) -> u32 {
    if src.chance(3) {
        return 0;
    }
    1 + src.below(3.min(SLOT_PAGES - first))
}

/// An `mmap` op: mostly over free pages (a run of up to 4 from a free one), now and then
/// over a mapped one (EEXIST); private or shared, mostly read-write.
pub(crate) fn mmap(src: &mut dyn Choices, slot: &Slot) -> OpKind {
    let mapped = |p: u32| slot.iter().any(|s| s.0 == p);
    let free: Vec<u32> = (0..SLOT_PAGES).filter(|&p| !mapped(p)).collect();
    let first = page_of(src, &free);
    let mut count = 1;
    let most = 1 + src.below(4);
    while count < most && first + count < SLOT_PAGES && (!mapped(first + count) || src.chance(10)) {
        count += 1;
    }
    OpKind::Mmap {
        first,
        count,
        map: if src.chance(50) {
            MapKind::AnonPrivate
        } else {
            MapKind::AnonShared
        },
        prot: prot(src, 80),
    }
}

/// A `munmap` op, mostly from a mapped page.
pub(crate) fn munmap(src: &mut dyn Choices, slot: &Slot) -> OpKind {
    let pages: Vec<u32> = slot.iter().map(|s| s.0).collect();
    let first = page_of(src, &pages);
    OpKind::Munmap {
        first,
        count: count_from(src, first),
    }
}

/// An `mprotect` op, mostly from a mapped page.
pub(crate) fn mprotect(src: &mut dyn Choices, slot: &Slot) -> OpKind {
    let pages: Vec<u32> = slot.iter().map(|s| s.0).collect();
    let first = page_of(src, &pages);
    OpKind::Mprotect {
        first,
        count: count_from(src, first),
        prot: prot(src, 45),
    }
}

/// A load (`store == None`) or store of a mapped slot page, mostly one the protection
/// allows, or `None` (a page of the four regions then) when the task maps nothing there or
/// the draw says so.
pub(crate) fn access(src: &mut dyn Choices, slot: &Slot, store: Option<u8>) -> Option<OpKind> {
    if slot.is_empty() || !src.chance(30) {
        return None;
    }
    let ok: Vec<u32> = slot
        .iter()
        .filter(|s| match store {
            Some(_) => s.1 == Prot::ReadWrite,
            None => s.1 != Prot::None,
        })
        .map(|s| s.0)
        .collect();
    let page = if !ok.is_empty() && src.chance(90) {
        *src.pick(&ok)
    } else {
        src.pick(slot).0
    };
    let region = Region::Mapped;
    Some(match store {
        Some(byte) => OpKind::MemWrite { region, page, byte },
        None => OpKind::MemRead { region, page },
    })
}
