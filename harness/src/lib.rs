//! forkspec: runs generated process-creation cases on the reference model and on a real
//! implementation, and diffs every observable outcome.
#![warn(missing_docs)]
// The lab's module docs name its private parts on purpose (read with
// `cargo doc --document-private-items`, where the links resolve).
#![allow(rustdoc::private_intra_doc_links)]

pub mod backend;
pub mod baseline;
pub mod bench;
pub mod cause;
pub mod check;
pub mod cli;
pub mod corpus;
pub mod coverage;
pub mod cpus;
pub mod deadline;
pub mod disturb;
pub mod gen;
mod gen_altstack;
pub mod gen_groups;
mod gen_inherit;
mod gen_mlock;
mod gen_mm;
pub mod gen_pidfd;
mod gen_sched;
mod gen_setns;
mod gen_timers;
pub mod interrupt;
pub mod junit;
pub mod lab;
pub mod markdown;
pub mod outputs;
pub mod pretty;
pub mod progress;
pub mod ranges;
pub mod report;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod restrict;
pub mod run;
pub mod shrink;
pub mod target;
pub mod vm;
