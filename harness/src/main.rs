//! The `forkspec` binary. It has its own C `main` instead of Rust's runtime start-up because
//! the same binary is also the program an `exec` op runs in a case task, where that start-up
//! would change what the op is checked for (see [`forkspec::lab::agent_after_exec`]).

#![no_main]

use std::ffi::{c_char, c_int, CStr};

/// The C entry point: a re-executed agent goes straight back to its agent loop and the lab's
/// zygote to its loop; everything
/// else gets what Rust's start-up would have given it that matters here (SIGPIPE ignored, so
/// a write to a dead simulator reports EPIPE instead of killing the harness) and runs the CLI.
#[no_mangle]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let arg = |i: usize| -> Option<&CStr> {
        // SAFETY: no safe wrapper serves: this is the C entry point, so the arguments are
        // the raw `argv` (std::env::args is not used: the agent path must not depend on
        // Rust's start-up). The C runtime passes `argc` valid NUL-terminated strings.
        (i < argc as usize).then(|| unsafe { CStr::from_ptr(*argv.add(i)) })
    };
    let s = |i| arg(i).and_then(|a| a.to_str().ok()).unwrap_or("");
    if arg(1) == Some(c"lab-agent") {
        return forkspec::lab::agent_after_exec(s(2), s(3));
    }
    if arg(1) == Some(c"lab-exec-probe") {
        return forkspec::lab::exec_probe();
    }
    if arg(1) == Some(c"lab-zygote") {
        return forkspec::lab::zygote_after_exec(s(2));
    }
    // `restrict` only execs its command, which must inherit the dispositions forkspec was
    // started with (as a runner it starts the lab's re-executed agents, whose exec op is
    // checked for which signals stay ignored).
    if arg(1) != Some(c"restrict") {
        // SAFETY: no safe wrapper serves: nix leaves changing a disposition to the caller too
        // (a handler could break another's assumptions) and rustix and std have none;
        // ignoring is what Rust's own start-up does here. No other thread exists yet.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
    }
    std::process::exit(forkspec::cli::main())
}
