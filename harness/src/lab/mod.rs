//! The Linux lab: runs cases on the running kernel and serves the wire protocol
//! ([`forkspec_model::protocol`]) on stdin/stdout, like any other backend.
//!
//! Every task of a case is an *agent* ([`agent`]) that receives one command, runs one system
//! call and replies, over fixed high-numbered pipes ([`channel`]). The lab translates ops into
//! commands ([`ops`]), keeps the per-case bookkeeping and tears cases down ([`case`]), and
//! observes everything itself through /proc, pagemap and kcmp ([`observe`]).

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod agent;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod case;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod channel;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod diagnose;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod facility;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod guard;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod handler;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod layout;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod observe;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod ops;
mod ops_altstack;
mod ops_groups;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod ops_inherit;
mod ops_mm;
mod ops_pidfd;
mod ops_sched;
mod ops_timers;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod probe;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod reap;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod reentry;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod selfobs;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod serve;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod settle;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod speed;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod starve;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod sys;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod tids;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod trampoline;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod vmas;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod zygote;

/// Serves the wire protocol on stdin/stdout against the running kernel until stdin closes;
/// returns the process exit code.
pub fn serve() -> i32 {
    serve_as(None)
}

/// [`serve`], first dropping to `UID:GID` (no supplementary groups) when `as_user` names
/// one: how a lab started by root runs unprivileged (`forkspec check --as-user`).
pub fn serve_as(as_user: Option<&str>) -> i32 {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        serve::run(as_user)
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        let _ = as_user;
        eprintln!("forkspec lab: only Linux on x86_64 is supported");
        2
    }
}

/// The start of a program that an `exec` op re-executed (`forkspec lab-agent SLOT SEQ`):
/// becomes the agent of that slot again and never returns; returns an exit code with a
/// message on stderr when the program was not started that way.
///
/// It runs before any of Rust's runtime start-up (see main.rs): that start-up would change
/// the very state exec is checked for (it ignores SIGPIPE, installs SIGSEGV/SIGBUS handlers
/// and opens /dev/null on closed fds 0–2).
pub fn agent_after_exec(slot: &str, seq: &str) -> i32 {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        let parsed = slot.parse::<u32>().ok().zip(seq.parse::<u32>().ok());
        let err = match parsed {
            Some((slot, seq)) => match agent::reexec_main(slot, seq) {
                Err(e) => e,
                Ok(never) => match never {},
            },
            None => format!("bad slot {slot:?} or sequence number {seq:?}"),
        };
        eprintln!("forkspec lab-agent: {err} (this mode is only started by the lab's exec op)");
        2
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        let _ = (slot, seq);
        eprintln!("forkspec lab-agent: only Linux on x86_64 is supported");
        2
    }
}

/// The start of the lab's zygote (`forkspec lab-zygote LABPID`, see `zygote.rs`): serves the
/// lab that started it and never returns; returns an exit code with a message on stderr when
/// the program was not started that way. Like [`agent_after_exec`], it runs before any of
/// Rust's runtime start-up.
pub fn zygote_after_exec(lab: &str) -> i32 {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        let err = match zygote::zygote_main(lab) {
            Err(e) => e,
            Ok(never) => match never {},
        };
        eprintln!("forkspec lab-zygote: {err} (this mode is only started by the lab)");
        2
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        let _ = lab;
        eprintln!("forkspec lab-zygote: only Linux on x86_64 is supported");
        2
    }
}

/// The lab's exec probe (`forkspec lab-exec-probe`): reports the process's pid and runner
/// signature to the lab that started it (see `reentry.rs`); returns an exit code.
pub fn exec_probe() -> i32 {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        reentry::probe_main()
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        eprintln!("forkspec lab-exec-probe: only Linux on x86_64 is supported");
        2
    }
}

/// The environment variable in which the harness names the runner a lab runs under (a
/// JSON array of its words), so that the lab's execs can re-enter it.
pub const RUNNER_ENV: &str = "FORKSPEC_LAB_RUNNER";
