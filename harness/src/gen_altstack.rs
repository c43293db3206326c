//! Generation of `sigaltstack` ops: the setting a fork or vfork child inherits, a thread or
//! other `CLONE_VM` child does not, and exec clears.

use crate::gen::Choices;
use forkspec_model::altstack::{ALT_STACKS, MINSIGSTKSZ, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK};
use forkspec_model::{AltStackSet, OpKind};

/// A `sigaltstack` op: a third of them only read the setting; the rest mostly install one of
/// the stacks (sizes at and around `MINSIGSTKSZ`, so ENOMEM now and then), sometimes with
/// `SS_AUTODISARM` or the `SS_ONSTACK` a set ignores, or disable it; now and then flags that
/// are EINVAL (an unknown bit, `SS_ONSTACK|SS_DISABLE`).
pub(crate) fn sigaltstack(src: &mut dyn Choices) -> OpKind {
    if src.chance(33) {
        return OpKind::Sigaltstack { set: None };
    }
    let flags = match src.below(12) {
        0..=4 => 0,
        5 => SS_AUTODISARM,
        6 => SS_ONSTACK,
        7..=8 => SS_DISABLE,
        9 => SS_DISABLE | SS_AUTODISARM,
        10 => SS_DISABLE | SS_ONSTACK,
        _ => 4,
    };
    let size = *src.pick(&[MINSIGSTKSZ, MINSIGSTKSZ - 1, 8192, 65536, 65536, 0]);
    OpKind::Sigaltstack {
        set: Some(AltStackSet {
            stack: src.below(u32::from(ALT_STACKS)) as u8,
            size,
            flags,
        }),
    }
}
