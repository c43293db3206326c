//! forkspec-model: the op language, the observations and the reference model of Linux process
//! creation (fork, copy-on-write memory, fd tables and open file descriptions).
//!
//! This crate performs no system calls and builds on any platform, so a simulator author can
//! depend on it alone: build a [`Model`], feed it [`Op`]s, and compare its [`Outcome`]s and
//! [`Snapshot`]s with your own.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod altstack;
pub mod diff;
pub mod fuzzing;
pub mod model;
pub mod obs;
pub mod op;
pub mod profile;
pub mod protocol;
#[cfg(test)]
mod protocol_doc_tests;
pub mod sched;
pub mod timer;

pub use altstack::{AltStackReport, AltStackSet};
pub use model::{Model, Step};
pub use obs::*;
pub use op::*;
pub use profile::{Capabilities, CaseFs, Profile};
