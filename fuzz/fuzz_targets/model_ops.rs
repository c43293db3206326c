//! The model never panics on any op sequence: ops of every kind by unknown, exited or
//! blocked tasks, on closed or absurd fds, pages out of range, huge lengths and offsets.
//! The ops come from `forkspec_model::fuzzing`, which a model test runs on seeded bytes too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    forkspec_model::fuzzing::run_bytes(data);
});
