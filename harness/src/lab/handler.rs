//! The signal handler and the `SA_RESTORER` trampoline a `sigaction(sig, handler)` op
//! installs in an agent.
//!
//! The handler does nothing: a caught signal is observable through /proc (`SigCgt`, the
//! pending sets) and by the task surviving it, which is all the ops need. x86_64 requires
//! `SA_RESTORER` for `rt_sigaction` from a program without libc's restorer: the kernel
//! returns from the handler to `sa_restorer`, which must issue `rt_sigreturn` with the
//! signal frame still on the stack, so it is written in assembly. Both addresses are taken by
//! the agent in its own address space (see `channel::FIX_SIGACTION`).

use core::arch::global_asm;

/// The handler: returns at once.
pub extern "C" fn on_signal(_sig: i32) {}

// SAFETY: a leaf with no stack use: on entry rsp points at the kernel's rt_sigframe (the
// handler's `ret` popped the return address that pointed here), which is exactly what
// rt_sigreturn (x86_64 syscall 15) expects; it never returns.
global_asm!(
    ".pushsection .text.forkspec_sigreturn,\"ax\",@progbits",
    ".globl forkspec_sigreturn",
    ".type forkspec_sigreturn,@function",
    "forkspec_sigreturn:",
    "mov eax, 15",
    "syscall",
    "ud2",
    ".size forkspec_sigreturn, . - forkspec_sigreturn",
    ".popsection",
);

extern "C" {
    fn forkspec_sigreturn();
}

/// The handler's address in this address space.
pub fn handler_addr() -> u64 {
    on_signal as extern "C" fn(i32) as usize as u64
}

/// The restorer's address in this address space.
pub fn restorer_addr() -> u64 {
    forkspec_sigreturn as unsafe extern "C" fn() as usize as u64
}

/// `SA_RESTORER`.
pub const SA_RESTORER: u64 = 0x0400_0000;
/// `SA_RESTART`: an op interrupted by a caught signal restarts instead of failing with EINTR,
/// so a blocked op stays blocked and the agent's own reads and writes carry on.
pub const SA_RESTART: u64 = 0x1000_0000;
