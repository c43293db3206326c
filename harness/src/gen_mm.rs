//! Generation of the mapping ops (`mmap`, `munmap`, `mprotect` in the mapping slot, `mremap`
//! there and in the anonymous regions) and of
//! the loads and stores aimed at the slot's mapped pages. The slot's state comes from the
//! model ([`forkspec_model::Model::slot_pages`]): snapshots leave the slot out.

use crate::gen::Choices;
use forkspec_model::{MapKind, MremapTo, OpKind, Prot, Region, SLOT_PAGES};

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
        locked: src.chance(8),
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

/// The pages of an address area an `mremap` may name: the slot's, or the first `pages` of a
/// region (those the snapshots show, all inside the range the lab checked free).
fn area_pages(region: Region, pages: u32) -> u32 {
    if region == Region::Mapped {
        SLOT_PAGES
    } else {
        pages
    }
}

/// An address area for `mremap`: the slot or one of the two anonymous regions. The file
/// regions are left out: whether a file mapping's page table stays when mremap moves the
/// mapping away decides fault-around over ext4's large folios, which the lab's tmpfs case
/// directories never show.
fn remap_area(src: &mut dyn Choices, pages: u32, pct_slot: u32) -> Region {
    if pages < 2 || src.chance(pct_slot) {
        Region::Mapped
    } else if src.chance(60) {
        Region::AnonPrivate
    } else {
        Region::AnonShared
    }
}

/// An `mremap` op: in place (a shrink, or a grow into the pages after the mapping), or a
/// `MREMAP_MAYMOVE | MREMAP_FIXED` move to a page of the slot or of an anonymous region,
/// mostly keeping the size (since 6.17 such a move may span mappings and holes), now and
/// then with an argument that is EINVAL. Old ranges start mostly at a mapped slot page;
/// every range stays inside its area ([`area_pages`]).
pub(crate) fn mremap(src: &mut dyn Choices, slot: &Slot, pages: u32) -> OpKind {
    // Old ranges mostly in the slot: a region's pages moved away make the mix's loads and
    // stores there SIGSEGV, ending tasks the other op kinds need.
    let region = remap_area(src, pages, 75);
    let limit = area_pages(region, pages);
    let first = if region == Region::Mapped {
        let mapped: Vec<u32> = slot.iter().map(|s| s.0).collect();
        page_of(src, &mapped).min(limit - 1)
    } else {
        src.below(limit)
    };
    let room = limit - first;
    let count = if src.chance(2) {
        0
    } else {
        1 + src.below(3.min(room))
    };
    let in_place = src.chance(35);
    let new_count = if in_place {
        if count > 1 && src.chance(50) {
            1 + src.below(count - 1)
        } else {
            let most = room.saturating_sub(count).min(2);
            count + if most == 0 { 0 } else { 1 + src.below(most) }
        }
    } else if count == 0 || src.chance(35) {
        1 + src.below(3)
    } else {
        count
    };
    // A PROT_NONE page moved into a region would be present there, and the task's own load
    // that observes a region's present pages would kill it: such ranges move in the slot.
    let unreadable = region == Region::Mapped
        && slot
            .iter()
            .any(|s| s.1 == Prot::None && (first..first + count.max(1)).contains(&s.0));
    let to = (!in_place).then(|| {
        let mut area = remap_area(src, pages, 50);
        if area_pages(area, pages) < new_count || unreadable {
            area = Region::Mapped;
        }
        MremapTo {
            region: area,
            page: src.below(area_pages(area, pages) - new_count + 1),
            no_maymove: src.chance(2),
        }
    });
    OpKind::Mremap {
        region,
        first,
        count,
        new_count: if src.chance(2) { 0 } else { new_count },
        to,
        unaligned: src.chance(2),
    }
}
