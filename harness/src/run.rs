//! Runs one case on the model and on a backend side by side and finds the first difference.

use crate::backend::{BResult, Backend};
use forkspec_model::diff::{diff_snapshots, FieldDiff, LevelFilter};
use forkspec_model::{Capabilities, Case, Level, Model, Op, Outcome, Profile, Snapshot};
use serde::Serialize;

/// When snapshots are taken and compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotMode {
    /// After every op: finds the first differing step directly.
    Step,
    /// Once, after the last op: cheaper; a divergence is then located by a rerun.
    End,
}

/// How a case is compared.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// When snapshots are compared.
    pub snapshots: SnapshotMode,
    /// Which observation levels count.
    pub levels: LevelFilter,
    /// What both sides can observe.
    pub caps: Capabilities,
}

/// One step as both sides saw it.
#[derive(Clone, Debug, Serialize)]
pub struct StepTrace {
    /// The op.
    pub op: Op,
    /// What the model allows.
    pub allowed: Vec<Outcome>,
    /// What the backend did.
    pub actual: Outcome,
}

/// What differed first.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MismatchKind {
    /// The op's outcome is not among those the model allows.
    Outcome,
    /// The state after the op differs.
    Snapshot,
}

/// The first difference between the model and the backend in one case.
#[derive(Clone, Debug, Serialize)]
pub struct Mismatch {
    /// Index of the op after which it showed (`ops.len()` for an end-of-case snapshot that
    /// could not be pinned to a step).
    pub step: usize,
    /// Outcome or snapshot.
    pub kind: MismatchKind,
    /// Semantic when any semantic field differs.
    pub level: Level,
    /// The model's side, readable.
    pub expected: String,
    /// The backend's side, readable.
    pub actual: String,
    /// Field differences (snapshot mismatches).
    pub diffs: Vec<FieldDiff>,
    /// Stable identity of its cause: a hash of `level` and `cause`.
    pub fingerprint: String,
    /// The cause in words (see [`crate::cause`]), e.g. `clone3 → ENOSYS (not implemented)`.
    pub cause: String,
}

/// A finished case.
#[derive(Clone, Debug)]
pub struct CaseRun {
    /// Steps run (up to and including a mismatching one).
    pub trace: Vec<StepTrace>,
    /// The first difference, if any.
    pub mismatch: Option<Mismatch>,
    /// Ops run on the backend.
    pub ops_run: usize,
}

/// Runs `case` on `model` semantics and on `backend`, stopping at the first difference. The
/// backend's case is ended, also after a mismatch; after a backend error it is not (the
/// conversation may be out of step: the caller drops or restarts the backend).
pub fn run_case(
    backend: &mut dyn Backend,
    case: &Case,
    profile: &Profile,
    opts: &RunOptions,
) -> BResult<CaseRun> {
    backend.setup(&case.config)?;
    let run = run_steps(backend, case, profile, opts)?;
    backend.end()?;
    Ok(run)
}

fn run_steps(
    backend: &mut dyn Backend,
    case: &Case,
    profile: &Profile,
    opts: &RunOptions,
) -> BResult<CaseRun> {
    let mut model = Model::new(case.config, profile);
    let mut trace = Vec::with_capacity(case.ops.len());
    let per_step = opts.snapshots == SnapshotMode::Step;
    let mut found = None;
    backend.ops(&case.ops, per_step, &mut |i, actual, snap| {
        let op = &case.ops[i];
        let step = model.step(op, Some(&actual));
        let allowed = step.allowed.contains(&actual)
            || (actual == Outcome::Died && died_allowed(&step.allowed, opts.caps));
        if !allowed {
            found = Some(outcome_mismatch(i, op, &step.allowed, &actual));
        }
        trace.push(StepTrace {
            op: op.clone(),
            allowed: step.allowed,
            actual,
        });
        if allowed {
            if let (Some(snap), Some(last)) = (snap, trace.last()) {
                let focus = crate::cause::focus(op, &last.actual);
                found = compare_snapshots(i, Some(&focus), model.snapshot(), snap, opts);
            }
        }
        found.is_none()
    })?;
    if let Some(m) = found {
        return Ok(CaseRun {
            ops_run: trace.len(),
            trace,
            mismatch: Some(m),
        });
    }
    let mut mismatch = None;
    if !per_step || case.ops.is_empty() {
        let snap = backend.snapshot()?;
        mismatch = compare_snapshots(case.ops.len(), None, model.snapshot(), snap, opts);
    }
    Ok(CaseRun {
        trace,
        mismatch,
        ops_run: case.ops.len(),
    })
}

/// Whether [`Outcome::Died`] (a death whose status the backend could not observe) stands
/// for an allowed outcome: only from a backend that says it cannot observe such statuses
/// (`reaped_status`), and only where the model allows a death.
fn died_allowed(allowed: &[Outcome], caps: Capabilities) -> bool {
    !caps.reaped_status
        && allowed
            .iter()
            .any(|o| matches!(o, Outcome::Exited | Outcome::Killed(_)))
}

fn outcome_mismatch(step: usize, op: &Op, allowed: &[Outcome], actual: &Outcome) -> Mismatch {
    let expected = allowed
        .iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join(" or ");
    let cause = crate::cause::of_outcome(op, allowed, actual);
    Mismatch {
        step,
        kind: MismatchKind::Outcome,
        level: Level::Semantic,
        expected,
        actual: actual.to_string(),
        diffs: vec![],
        fingerprint: fingerprint(Level::Semantic, std::slice::from_ref(&cause)),
        cause,
    }
}

fn compare_snapshots(
    step: usize,
    focus: Option<&crate::cause::Focus>,
    mut expected: Snapshot,
    mut actual: Snapshot,
    opts: &RunOptions,
) -> Option<Mismatch> {
    expected.mask(opts.caps);
    actual.canonicalize();
    actual.mask(opts.caps);
    let diffs = diff_snapshots(&expected, &actual, opts.levels);
    if diffs.is_empty() {
        return None;
    }
    let level = if diffs.iter().any(|d| d.level == Level::Semantic) {
        Level::Semantic
    } else {
        Level::Internal
    };
    let cause = crate::cause::of_snapshot(&diffs, level, focus);
    let summary = |side: fn(&FieldDiff) -> &str| {
        diffs
            .iter()
            .take(8)
            .map(|d| format!("{} = {}", d.path, side(d)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    Some(Mismatch {
        step,
        kind: MismatchKind::Snapshot,
        level,
        expected: summary(|d| &d.expected),
        actual: summary(|d| &d.actual),
        fingerprint: fingerprint(level, std::slice::from_ref(&cause)),
        cause,
        diffs,
    })
}

/// The `kind` tag of an op, e.g. `mem_write`.
pub fn op_kind_name(op: &Op) -> &'static str {
    use forkspec_model::OpKind::*;
    match op.kind {
        Fork => "fork",
        Exit { .. } => "exit",
        Wait { .. } => "wait",
        MemRead { .. } => "mem_read",
        MemWrite { .. } => "mem_write",
        Madvise { .. } => "madvise",
        Open { .. } => "open",
        Close { .. } => "close",
        Dup { .. } => "dup",
        Dup2 { .. } => "dup2",
        Dup3 { .. } => "dup3",
        Read { .. } => "read",
        Write { .. } => "write",
        Pread { .. } => "pread",
        Pwrite { .. } => "pwrite",
        Lseek { .. } => "lseek",
        Fcntl { .. } => "fcntl",
        Pipe2 { .. } => "pipe2",
        Ftruncate { .. } => "ftruncate",
        Flock { .. } => "flock",
        Vfork => "vfork",
        Exec => "exec",
        Clone(_) => "clone",
        Kill { .. } => "kill",
        Sigaction { .. } => "sigaction",
        Sigprocmask { .. } => "sigprocmask",
        Chdir { .. } => "chdir",
        Umask { .. } => "umask",
        Sethostname { .. } => "sethostname",
        Uname => "uname",
        Waitid { .. } => "waitid",
        Prctl { .. } => "prctl",
        Seccomp { .. } => "seccomp",
        CloseRange { .. } => "close_range",
        Unshare { .. } => "unshare",
        Setns { .. } => "setns",
        Setpgid { .. } => "setpgid",
        Getpgid { .. } => "getpgid",
        Setsid => "setsid",
        Getsid { .. } => "getsid",
        KillPgrp { .. } => "kill_pgrp",
        PidfdOpen { .. } => "pidfd_open",
        PidfdSendSignal { .. } => "pidfd_send_signal",
        PidfdGetfd { .. } => "pidfd_getfd",
        Poll { .. } => "poll",
        Mmap { .. } => "mmap",
        Munmap { .. } => "munmap",
        Mprotect { .. } => "mprotect",
        Mremap { .. } => "mremap",
        Mlock { .. } => "mlock",
        Munlock { .. } => "munlock",
        Mlockall { .. } => "mlockall",
        Munlockall => "munlockall",
        Setitimer { .. } => "setitimer",
        Getitimer { .. } => "getitimer",
        Alarm { .. } => "alarm",
        TimerCreate { .. } => "timer_create",
        TimerSettime { .. } => "timer_settime",
        TimerGettime { .. } => "timer_gettime",
        TimerDelete { .. } => "timer_delete",
        Sigaltstack { .. } => "sigaltstack",
        Setpriority { .. } => "setpriority",
        Getpriority => "getpriority",
        SchedSetscheduler { .. } => "sched_setscheduler",
        SchedGetscheduler => "sched_getscheduler",
        Personality { .. } => "personality",
        SchedSetaffinity { .. } => "sched_setaffinity",
        SchedGetaffinity => "sched_getaffinity",
        Prlimit { .. } => "prlimit",
    }
}

/// A short stable hash (FNV-1a, 64 bits) of a divergence's level and the words of its cause
/// ([`crate::cause`]: no task labels, fds, page numbers, values or seeds), so the same
/// deviation found by different seeds or runs has the same fingerprint.
pub fn fingerprint(level: Level, shapes: &[String]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in level
        .to_string()
        .bytes()
        .chain(shapes.iter().flat_map(|s| s.bytes().chain([0])))
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:016x}", h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use forkspec_model::Signal;

    /// `died` stands for a death only from a backend that cannot observe lost statuses, and
    /// only where the model allows a death.
    #[test]
    fn died_is_accepted_only_for_a_death_without_reaped_status() {
        let blind = Capabilities {
            reaped_status: false,
            ..Capabilities::ALL
        };
        let killed = [Outcome::Killed(Signal::SIGSEGV)];
        assert!(died_allowed(&killed, blind));
        assert!(died_allowed(&[Outcome::Exited], blind));
        assert!(!died_allowed(&killed, Capabilities::ALL));
        assert!(!died_allowed(&[Outcome::Ret(0)], blind));
        assert!(!died_allowed(&[Outcome::Blocked], blind));
    }
}
