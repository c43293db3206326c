//! Raw system calls for code that must not touch libc state: the agent loop runs in tasks
//! that (later) share their parent's heap and TLS, so it may not go through `errno`, locks or
//! allocation. Every call returns the kernel's raw result: `-errno` on failure.

use core::arch::asm;

/// Issues system call `nr` with six arguments and returns the raw kernel result.
///
/// # Safety
/// The caller must pass arguments that are valid for `nr`: pointers must point to memory the
/// call may read or write, and calls that change the address space or fd table must not
/// invalidate anything the caller still uses.
#[inline(always)]
pub unsafe fn raw(nr: i64, a: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: the x86_64 Linux syscall ABI: number in rax, arguments in rdi, rsi, rdx, r10,
    // r8, r9; the kernel clobbers rcx and r11 and does not touch the user stack. Validity of
    // the arguments is the caller's contract.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// [`raw`] with fewer arguments (the rest are zero).
///
/// # Safety
/// As for [`raw`].
#[inline(always)]
pub unsafe fn sc(nr: i64, a0: u64, a1: u64, a2: u64) -> i64 {
    // SAFETY: forwarded contract.
    unsafe { raw(nr, [a0, a1, a2, 0, 0, 0]) }
}

/// Terminates the calling process; never returns.
pub fn exit_group(code: i32) -> ! {
    loop {
        // SAFETY: exit_group takes no pointers and does not return.
        unsafe {
            sc(libc::SYS_exit_group, code as u64, 0, 0);
        }
    }
}
