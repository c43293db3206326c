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
mod guard;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod handler;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod observe;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod ops;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod probe;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod serve;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod sys;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod trampoline;

/// Serves the wire protocol on stdin/stdout against the running kernel until stdin closes;
/// returns the process exit code.
pub fn serve() -> i32 {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        serve::run()
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        eprintln!("forkspec lab: only Linux on x86_64 is supported");
        2
    }
}
