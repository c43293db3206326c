//! Generation of the memory-locking ops: `mlock`/`mlock2` and `munlock` over a range of a
//! region or of the mapping slot, `mlockall` with the `MCL_*` combinations (and now and then
//! an invalid one), `munlockall`.

use crate::gen::Choices;
use forkspec_model::{OpKind, Region, SLOT_PAGES};

/// The `mlockall` flag words drawn: every valid combination, and the two invalid ones
/// (0, `MCL_ONFAULT` alone) now and then.
const MCL: [u32; 7] = [1, 2, 3, 5, 6, 7, 4];

/// A range of an address area: the slot (mostly from a mapped page of it) or one of the
/// four regions' first `pages` pages.
fn range(src: &mut dyn Choices, slot: &crate::gen_mm::Slot, pages: u32) -> (Region, u32, u32) {
    let (region, limit, first) = if !slot.is_empty() && src.chance(35) {
        let p = if src.chance(85) {
            src.pick(slot).0
        } else {
            src.below(SLOT_PAGES)
        };
        (Region::Mapped, SLOT_PAGES, p)
    } else {
        let region = *src.pick(&Region::ALL);
        (region, pages, src.below(pages))
    };
    let room = limit - first;
    let count = if src.chance(3) {
        0
    } else {
        1 + src.below(room.min(4))
    };
    (region, first, count)
}

/// One of `mlock`, `mlock2`, `munlock`, `mlockall`, `munlockall`. `limit_binds`: a finite
/// `RLIMIT_MEMLOCK` binds the proposing task ([`forkspec_model::Model::mlock_limit`]), where
/// `mlockall(MCL_CURRENT)` is measured against the lab's whole address space: those forms
/// are not drawn then.
pub(crate) fn op(
    src: &mut dyn Choices,
    slot: &crate::gen_mm::Slot,
    pages: u32,
    limit_binds: bool,
) -> OpKind {
    match src.below(20) {
        0..=8 => {
            let (region, first, count) = range(src, slot, pages);
            let flags = match src.below(10) {
                0..=5 => None,
                6..=8 => Some(1),
                _ => Some(*src.pick(&[0, 2, 3])),
            };
            OpKind::Mlock {
                region,
                first,
                count,
                flags,
            }
        }
        9..=13 => {
            let (region, first, count) = range(src, slot, pages);
            OpKind::Munlock {
                region,
                first,
                count,
            }
        }
        14..=17 => {
            let mut flags = if src.chance(5) { 0 } else { *src.pick(&MCL) };
            if limit_binds {
                flags &= !1;
            }
            OpKind::Mlockall { flags }
        }
        _ => OpKind::Munlockall,
    }
}
