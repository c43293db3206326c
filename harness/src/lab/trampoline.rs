//! The clone trampoline: issues vfork / clone / clone3 and, in the child, switches to a
//! fresh stack before running any compiled code.
//!
//! A CLONE_VM child shares its parent's memory, stack included. If it returned from a
//! syscall wrapper on that stack it would overwrite the frames the parent (suspended by
//! vfork, or running concurrently) still uses. So the system call and the stack switch live
//! in one asm block: the child never executes a compiled instruction on the parent's stack.

use core::arch::asm;

/// One vfork / clone / clone3 call: the system call number and its arguments.
#[derive(Clone, Copy, Debug)]
pub struct CloneCall {
    /// `SYS_vfork`, `SYS_clone` or `SYS_clone3`.
    pub nr: i64,
    /// Arguments in syscall order.
    pub args: [u64; 6],
}

/// Runs `call`. In the parent returns the raw result (child tid or `-errno`); in the child
/// sets `rsp = stack_top` and calls `entry(arg)`, which never returns.
///
/// # Safety
/// `stack_top` must be the 16-byte-aligned top of writable memory nobody else uses, and
/// `entry` must be safe to run there in the new task.
pub unsafe fn clone_call(
    call: CloneCall,
    stack_top: u64,
    arg: u64,
    entry: unsafe extern "C" fn(u64) -> !,
) -> i64 {
    let ret: i64;
    // SAFETY: the x86_64 syscall ABI (the kernel preserves every register but rax, rcx and
    // r11, in the parent and in the child alike). The parent path only reads rax. The child
    // path (rax == 0) loads its own stack pointer from r12 and never returns into this
    // function, so no compiled code of the parent runs on the shared stack.
    unsafe {
        asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov rsp, r12",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r14",
            "ud2",
            "2:",
            inlateout("rax") call.nr => ret,
            in("rdi") call.args[0],
            in("rsi") call.args[1],
            in("rdx") call.args[2],
            in("r10") call.args[3],
            in("r8") call.args[4],
            in("r9") call.args[5],
            in("r12") stack_top & !15,
            in("r13") arg,
            in("r14") entry as usize,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    ret
}
