//! Generation of the ops for the state a new task inherits or not (`prctl` options,
//! `close_range`, `unshare`, seccomp filters).

use crate::gen::{Choices, GEN_SIGNALS};
use forkspec_model::{Errno, OpKind, PrctlOption, Signal, UnshareFlags};

/// A `prctl` op: mostly sets of the subreaper flag and the parent-death signal (SIGKILL
/// often, so an orphan's death is part of the mix; any signal of the generated set, caught
/// or not, as the mix's kills send them) and reads of both; now and then an invalid signal.
pub(crate) fn prctl(src: &mut dyn Choices) -> OpKind {
    let option = *src.pick(&PrctlOption::ALL);
    let arg = match option {
        PrctlOption::SetChildSubreaper => *src.pick(&[1, 1, 1, 0, 2]),
        PrctlOption::SetPdeathsig => match src.below(12) {
            0 => *src.pick(&[65, -1]),
            1 => 0,
            2..=3 => i64::from(Signal::SIGKILL.0),
            _ => i64::from(src.pick(&GEN_SIGNALS).0),
        },
        PrctlOption::SetNoNewPrivs => *src.pick(&[1, 1, 1, 1, 0, 2]),
        PrctlOption::GetChildSubreaper
        | PrctlOption::GetPdeathsig
        | PrctlOption::GetNoNewPrivs
        | PrctlOption::GetSeccomp => 0,
    };
    OpKind::Prctl { option, arg }
}

/// A `close_range` op over the task's fds `fds`: a range starting at or below one of them
/// (or at 0), ending at itself, a little further, 1023 or `~0U`; now and then an empty range
/// (EINVAL). Either flag a third of the time: with CLONE_FILES sharers in the mix,
/// `CLOSE_RANGE_UNSHARE` then leaves theirs alone.
pub(crate) fn close_range(src: &mut dyn Choices, fds: &[i32]) -> OpKind {
    let first = if fds.is_empty() || src.chance(20) {
        src.below(4)
    } else {
        (*src.pick(fds)).max(0) as u32
    };
    let last = match src.below(10) {
        0 => first.saturating_sub(1),
        1..=4 => first,
        5..=7 => first + src.below(4),
        8 => 1023,
        _ => u32::MAX,
    };
    OpKind::CloseRange {
        first,
        last,
        cloexec: src.chance(33),
        unshare: src.chance(33),
    }
}

/// An `unshare` op: mostly `CLONE_FILES` and `CLONE_FS` (the sharing a CLONE_FILES or
/// CLONE_FS child has), sometimes a mount, UTS, IPC or pid namespace, SysV undo list, or the
/// flags that are valid only in a process alone with its thread, handlers and memory.
pub(crate) fn unshare(src: &mut dyn Choices) -> OpKind {
    let files = src.chance(45);
    let fs = src.chance(35);
    let sysvsem = src.chance(8);
    let newns = src.chance(8);
    let newuts = src.chance(8);
    // One draw for IPC and pid namespaces, never both: the mix's later draws stay as they
    // were before CLONE_NEWPID was in it. A pid namespace is rare: as root the next fork
    // makes its init (and mounts its proc).
    let ns = src.below(100);
    let mut flags = UnshareFlags {
        files,
        fs,
        sysvsem,
        newns,
        newuts,
        newipc: ns < 6,
        thread: src.chance(10),
        sighand: src.chance(7),
        vm: src.chance(7),
        newpid: ns >= 95,
    };
    if flags == UnshareFlags::default() {
        flags.files = true;
    }
    OpKind::Unshare { flags }
}

/// A `seccomp` op: a filter that makes `umask` fail with one of a few errnos (the mix's
/// `umask` ops then show which filter a task runs under, newest first).
pub(crate) fn seccomp(src: &mut dyn Choices) -> OpKind {
    OpKind::Seccomp {
        errno: *src.pick(&[Errno::EPERM, Errno::EACCES, Errno::EIO, Errno::EBUSY]),
    }
}
