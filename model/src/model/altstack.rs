//! The alternate signal stack of a thread (`sigaltstack(2)`): set and read by the thread,
//! copied into fork and vfork children, reset for other `CLONE_VM` children, cleared by exec.
//!
//! Sources: kernel/signal.c (`do_sigaltstack`, `sas_ss_flags`), kernel/fork.c
//! (`copy_process`), fs/exec.c (`setup_new_exec`), include/linux/sched/signal.h
//! (`sas_ss_reset`), arch/x86/kernel/signal.c (`sigaltstack_size_valid`).

use super::Model;
use crate::altstack::{
    AltStackReport, AltStackSet, MINSIGSTKSZ, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK,
};
use crate::obs::{Errno, Outcome};
use crate::op::{CloneFlags, TaskId};

/// A thread's `sas_ss_sp` (as a stack index), `sas_ss_size` and `sas_ss_flags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct AltStack {
    /// `sas_ss_sp`: `None` for NULL.
    pub(super) stack: Option<u8>,
    /// `sas_ss_size`.
    pub(super) size: u64,
    /// `sas_ss_flags` as last set (`SS_DISABLE`, 0 or `SS_ONSTACK`, with `SS_AUTODISARM`).
    pub(super) flags: u32,
}

// rule: sig.altstack-reset
/// `sas_ss_reset`: no stack, `SS_DISABLE`. The lab's `t0` starts so (it disables the
/// alternate stack Rust's start-up installs), as a fresh program does.
impl Default for AltStack {
    fn default() -> Self {
        AltStack {
            stack: None,
            size: 0,
            flags: SS_DISABLE,
        }
    }
}

impl AltStack {
    // rule: sig.altstack-report
    /// What `do_sigaltstack` writes to `old`: `ss_sp`, `ss_size`, and `sas_ss_flags(sp)`
    /// (`SS_DISABLE` without a size, else `SS_ONSTACK` while on the stack, which an op never
    /// is: no handler runs on it) with the `SS_AUTODISARM` bit of the flags as set.
    pub(super) fn report(&self) -> AltStackReport {
        let mode = if self.size == 0 { SS_DISABLE } else { 0 };
        AltStackReport {
            stack: self.stack,
            size: self.size,
            flags: mode | (self.flags & SS_AUTODISARM),
        }
    }

    // rule: sig.altstack-fork
    /// copy_process: the child's task struct is a copy of the caller's, alternate stack
    /// included, unless it shares the caller's memory without `CLONE_VFORK` (a thread, a
    /// `CLONE_VM` process): `if ((clone_flags & (CLONE_VM|CLONE_VFORK)) == CLONE_VM)
    /// sas_ss_reset(p);` (a stack in use by the caller is no stack for a second task running
    /// at the same time).
    pub(super) fn for_child(&self, flags: CloneFlags) -> AltStack {
        use crate::op::CloneFlags as F;
        if flags.has(F::VM) && !flags.has(F::VFORK) {
            AltStack::default()
        } else {
            *self
        }
    }

    // rule: sig.altstack-exec
    /// setup_new_exec: `current->sas_ss_sp = current->sas_ss_size = 0`; the flags stay, so a
    /// `SS_AUTODISARM` set before exec is still reported after it.
    pub(super) fn exec(&mut self) {
        self.stack = None;
        self.size = 0;
    }
}

impl Model {
    // rule: sig.altstack-set
    /// `sigaltstack(ss, &old)` (do_sigaltstack): the old setting is taken first and written
    /// back only on success. With `ss`: EPERM on the stack (never here); EINVAL unless the
    /// flags without `SS_AUTODISARM` (a flag bit since Linux 4.7, EINVAL before) are 0,
    /// `SS_ONSTACK` or `SS_DISABLE`; `SS_DISABLE` stores a NULL stack of size 0; any other
    /// mode ENOMEM below `MINSIGSTKSZ` (2048) and else stores the stack, size and flags.
    /// x86's `sigaltstack_size_valid` (5.14) refuses more only with the `strict_sas_size`
    /// boot option or AMX state permitted to the process, which the lab never asks for.
    pub(super) fn op_sigaltstack(&mut self, t: TaskId, set: Option<AltStackSet>) -> Outcome {
        let me = t as usize;
        let old = self.tasks[me].altstack.report();
        if let Some(ss) = set {
            let flag_bits = if self.profile.kernel_at_least(4, 7) {
                SS_AUTODISARM
            } else {
                0
            };
            let mode = ss.flags & !flag_bits;
            if mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0 {
                return Outcome::Err(Errno::EINVAL);
            }
            let new = if mode == SS_DISABLE {
                AltStack {
                    stack: None,
                    size: 0,
                    flags: ss.flags,
                }
            } else {
                if ss.size < MINSIGSTKSZ {
                    return Outcome::Err(Errno::ENOMEM);
                }
                AltStack {
                    stack: Some(ss.stack),
                    size: u64::from(ss.size),
                    flags: ss.flags,
                }
            };
            self.tasks[me].altstack = new;
        }
        Outcome::AltStack(old)
    }
}
