//! The op language of the alternate signal stack (`sigaltstack(2)`) and what a call reports.
//!
//! A stack is named by a small index: each backend maps index `i` to an address of memory it
//! owns (the lab: the base of stack `i` of its agent stack pool, the same address in every
//! task and across exec), and maps the `ss_sp` the kernel reports back to that index. The
//! kernel never dereferences `ss_sp` in `sigaltstack` itself, only when it delivers a signal
//! to a handler with `SA_ONSTACK`, which no op installs.

use serde::{Deserialize, Serialize};
use std::fmt;

/// `SS_ONSTACK` (include/uapi/linux/signal.h): reported while the caller runs on the stack;
/// accepted in a set, where it means the same as 0.
pub const SS_ONSTACK: u32 = 1;
/// `SS_DISABLE`: no alternate stack.
pub const SS_DISABLE: u32 = 2;
/// `SS_AUTODISARM` (Linux 4.7): the stack is disarmed while a handler runs on it.
pub const SS_AUTODISARM: u32 = 1 << 31;
/// `MINSIGSTKSZ` of x86 (arch/x86/include/uapi/asm/signal.h), the `min_ss_size` the
/// `sigaltstack` system call passes to `do_sigaltstack`.
pub const MINSIGSTKSZ: u32 = 2048;
/// How many stacks an op may name.
pub const ALT_STACKS: u8 = 3;

/// The `stack_t` a `sigaltstack` op passes: the stack by index, `ss_size` and `ss_flags` as
/// given (bad flags included).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct AltStackSet {
    /// Which stack (`ss_sp`), `0..ALT_STACKS`.
    #[serde(default, skip_serializing_if = "is_zero_u8")]
    pub stack: u8,
    /// `ss_size`.
    #[serde(default, skip_serializing_if = "crate::timer::is_zero_u32")]
    pub size: u32,
    /// `ss_flags`.
    #[serde(default, skip_serializing_if = "crate::timer::is_zero_u32")]
    pub flags: u32,
}

/// What `sigaltstack(NULL or ss, &old)` wrote to `old`: the stack by index (none for a null
/// `ss_sp`), `ss_size` and `ss_flags`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct AltStackReport {
    /// The stack `ss_sp` names: `None` for NULL; an address the backend does not know is
    /// reported as index 255.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<u8>,
    /// `ss_size`.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub size: u64,
    /// `ss_flags`.
    #[serde(default, skip_serializing_if = "crate::timer::is_zero_u32")]
    pub flags: u32,
}

fn is_zero_u8(v: &u8) -> bool {
    *v == 0
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

/// `ss_flags` as names joined by `|` (unknown bits in hexadecimal), `0` for none.
pub fn flag_names(flags: u32) -> String {
    let mut parts = Vec::new();
    let mut rest = flags;
    for (bit, name) in [
        (SS_ONSTACK, "SS_ONSTACK"),
        (SS_DISABLE, "SS_DISABLE"),
        (SS_AUTODISARM, "SS_AUTODISARM"),
    ] {
        if rest & bit != 0 {
            parts.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join("|")
    }
}

impl fmt::Display for AltStackSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{stack {}, {}, {}}}",
            self.stack,
            self.size,
            flag_names(self.flags)
        )
    }
}

impl fmt::Display for AltStackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stack {
            Some(i) => write!(f, "{{stack {i}, ")?,
            None => write!(f, "{{NULL, ")?,
        }
        write!(f, "{}, {}}}", self.size, flag_names(self.flags))
    }
}
