//! The cause of a divergence: the first point where model and implementation part ways,
//! abstracted to what makes it the same deviation, in words. A divergence's fingerprint is a
//! hash of its level and its cause ([`crate::run::fingerprint`]), so one deviation keeps one
//! fingerprint whatever case, seed, task, fd, page, region or signal it happened to show with,
//! and the report on an implementation reads as a short list of its deviations, each with a
//! minimal case. README "One cause, one fingerprint" says the same for users.
//!
//! - **An outcome** the model does not allow: the entry point, what the implementation
//!   answered and what the model expected (its first allowed outcome), each answer reduced
//!   to its shape: an errno by name, "a child", "a value", "data", "killed by SIGSEGV"; never
//!   a label, fd, count or byte, and no signal a `kill` op chose. The entry point is the op
//!   kind plus the facet of its arguments that selects another code path: `clone` or
//!   `clone3`, `exit` of a thread, the `fcntl` command, the `madvise` advice, the `prctl`
//!   option, and for a load
//!   or store whose value differs the mapping's sharing (private or shared). Clone flags are
//!   not part of it: an implementation that refuses some flags answers "clone → EINVAL
//!   (model: a child)" for all of them and the minimal case names the flags, while refusing
//!   with an errno Linux gives for other arguments ("model: EPERM") stays a cause of its own.
//! - **ENOSYS** is how a kernel answers a system call it does not have (syscall(2); errno(3):
//!   "Function not implemented"), so it is one cause per system call whatever the arguments
//!   and whatever the model expected for them (a child, EINVAL, E2BIG): "clone3 → ENOSYS (not
//!   implemented)", "madvise → ENOSYS (not implemented)" for every advice.
//! - **A state** that differs: one field, the first at the divergence's level in the
//!   snapshot's fixed traversal order (tasks by label, then each task's fields), except that
//!   the fds and pages the op itself used (named in its arguments or returned) come first.
//!   Task labels, fd and page numbers are erased, a region becomes its sharing (a mapping's
//!   presence, `mapped`, names none), and values are reduced to what says how they differ:
//!   booleans and enum variants as they are; a signal set "has signals extra", "misses
//!   signals" or "has other signals" (which signals is often the case's choice); a byte zero
//!   or nonzero; numbers, labels, kernel object classes and a cwd's directory "differ" (an
//!   offset can be ahead or behind for one cause: a read moves it on, an lseek back; which
//!   directory a cwd names is the case's choice). For an fd or a page,
//!   whether it is one the op used is part of the cause: a pread that moved its own offset
//!   is not a fork that copied the descriptions instead of sharing them, whose symptom is an
//!   offset that did not follow, elsewhere. Signal sets are not split so: signals arrive from
//!   elsewhere by nature. The step's op kind is not part of a state cause: an extra pending
//!   SIGCHLD shows after an exit, a kill or an exec alike.
//!
//! Fields that differ after the first one, and later steps (a case stops at its first
//! differing step), are consequences or coincidences and make no cause of their own. A
//! divergence seen only at the end of a case (`--snapshots end` with `--replays 0`) has no op
//! to relate its fd or page to and says nothing of it, so its fingerprint differs from the
//! one the same cause has when located at its step (what the confirming replays do).

use forkspec_model::diff::FieldDiff;
use forkspec_model::{
    Advice, CloneEntry, Errno, ExitStatus, FcntlCmd, Level, LockReport, Op, OpKind, Outcome, Region,
};

/// The cause of an outcome the model does not allow: `op` answered `actual`, the model allows
/// `allowed` (its first element is the one named).
pub fn of_outcome(op: &Op, allowed: &[Outcome], actual: &Outcome) -> String {
    if *actual == Outcome::Err(Errno::ENOSYS) {
        // A missing system call is missing for every command, advice or flag.
        return format!("{} → ENOSYS (not implemented)", system_call(op));
    }
    let entry = entry_point(op, allowed, actual);
    let shape = |o: &Outcome| shape(op, o);
    let (real, model) = (shape(actual), allowed.first().map(shape));
    match model {
        Some(m) if m == real => format!("{entry} → {real} other than the model's"),
        Some(m) => format!("{entry} → {real} (model: {m})"),
        None => format!("{entry} → {real} (model: nothing allowed)"),
    }
}

/// What an op used: path prefixes of the fds and pages it named or got (`t1.fd[3].`,
/// `t0.mem.anon_private[2].`). Built by [`focus`].
pub type Focus = Vec<String>;

/// The fds and pages `op` named in its arguments or got back in `actual` (open's fd, a
/// pipe's ends), in its own task.
pub fn focus(op: &Op, actual: &Outcome) -> Focus {
    let t = op.task;
    let mut fds = Vec::new();
    let mut pages = Vec::new();
    fds.extend(op.kind.fd_args());
    match &op.kind {
        OpKind::MemRead { region, page } | OpKind::MemWrite { region, page, .. } => {
            pages.push((*region, *page))
        }
        OpKind::Madvise {
            region,
            first,
            count,
            ..
        } => pages.extend((*first..first.saturating_add(*count)).map(|p| (*region, p))),
        _ => {}
    }
    match actual {
        Outcome::Ret(v)
            if matches!(op.kind, OpKind::Open { .. } | OpKind::Dup { .. })
                || matches!(
                    op.kind,
                    OpKind::Fcntl {
                        cmd: FcntlCmd::DupFd { .. } | FcntlCmd::DupFdCloexec { .. },
                        ..
                    }
                ) =>
        {
            fds.extend(i32::try_from(*v).ok())
        }
        Outcome::Pipe(ends) => fds.extend(ends),
        _ => {}
    }
    fds.iter()
        .map(|fd| format!("t{t}.fd[{fd}]."))
        .chain(pages.iter().map(|(r, p)| format!("t{t}.mem.{r}[{p}].")))
        .collect()
}

/// The cause of a state difference after an op that used `focus` (`None`: at the end of the
/// case, after no op): the first of `diffs` at `level`, the ones in what the op used first.
pub fn of_snapshot(diffs: &[FieldDiff], level: Level, focus: Option<&Focus>) -> String {
    let at_level = || diffs.iter().filter(|d| d.level == level);
    let used = |d: &&FieldDiff| focus.is_some_and(|f| f.iter().any(|p| d.path.starts_with(p)));
    let Some(d) = at_level().find(used).or_else(|| at_level().next()) else {
        return "state differs".to_string();
    };
    let field = field_name(&d.shape);
    // Whether the fd or page is the one the op used tells an op's own wrong effect (a pread
    // that moved the offset) from a leak to or from elsewhere (a read whose offset the
    // child's copy did not follow); signals arrive from elsewhere by nature, so where they
    // show says nothing.
    let what = if d.shape.starts_with("t.fd") {
        "an fd"
    } else if d.shape.starts_with("t.mem") {
        "a page"
    } else {
        ""
    };
    let whose = match focus {
        Some(_) if !what.is_empty() && used(&d) => format!(" ({what} of the op)"),
        Some(_) if !what.is_empty() => format!(" (not {what} of the op)"),
        _ => String::new(),
    };
    format!("{}{whose}", field_cause(d, &field))
}

/// What one field's difference says, without labels or values.
fn field_cause(d: &FieldDiff, field: &str) -> String {
    let (model, real) = (d.expected.as_str(), d.actual.as_str());
    if d.shape.contains(".signals.") {
        if let (Some(m), Some(r)) = (signal_names(model), signal_names(real)) {
            let extra = r.iter().any(|s| !m.contains(s));
            let missing = m.iter().any(|s| !r.contains(s));
            return match (extra, missing) {
                (true, false) => format!("{field} has signals extra"),
                (false, true) => format!("{field} misses signals"),
                _ => format!("{field} has other signals"),
            };
        }
    }
    if d.shape.ends_with(".value") {
        let zero = |v: &str| v == "Some(0)";
        return match (zero(model), zero(real)) {
            (false, true) => format!("{field}: zero (model: nonzero)"),
            (true, false) => format!("{field}: nonzero (model: zero)"),
            _ => format!("{field} differs"),
        };
    }
    // Which directory a cwd names is the case's choice, like a number: a cwd that did not
    // follow a chdir (CLONE_FS not honoured) is one cause whichever directories it involved.
    if d.shape.ends_with(".cwd") {
        return format!("{field} differs");
    }
    let bool_like = |v: &str| v == "true" || v == "false";
    if bool_like(model) && bool_like(real) {
        return format!("{field}: {real} (model: {model})");
    }
    let (m, r) = (erase_numbers(model), erase_numbers(real));
    if m == r || m.contains('[') || r.contains('[') {
        format!("{field} differs")
    } else {
        format!("{field}: {r} (model: {m})")
    }
}

/// The system call an op enters by: its kind, with `clone` and `clone3` apart.
fn system_call(op: &Op) -> &'static str {
    match &op.kind {
        OpKind::Clone(c) => match c.entry {
            CloneEntry::Clone => "clone",
            CloneEntry::Clone3 => "clone3",
        },
        // kill(-pgid, sig) and kill(0, sig) enter by kill(2) as a kill of one task does.
        OpKind::KillPgrp { .. } => "kill",
        _ => crate::run::op_kind_name(op),
    }
}

/// The op kind with the facet of its arguments that selects the code path.
fn entry_point(op: &Op, allowed: &[Outcome], actual: &Outcome) -> String {
    let kind = crate::run::op_kind_name(op);
    match &op.kind {
        OpKind::Clone(_) => system_call(op).into(),
        OpKind::Exit { thread: true, .. } => "exit (thread)".into(),
        OpKind::Fcntl { cmd, .. } => format!("fcntl({})", fcntl_name(cmd)),
        OpKind::Madvise { advice, .. } => format!("madvise({})", advice_name(*advice)),
        OpKind::Prctl { option, .. } => format!("prctl({})", option.name()),
        OpKind::Mmap { map, .. } => format!("mmap({map:?})"),
        OpKind::MemRead { region, .. } | OpKind::MemWrite { region, .. } => {
            // Whether a load or store dies depends on the mapping, not on its sharing.
            let death = |o: &Outcome| matches!(o, Outcome::Killed(_) | Outcome::Died);
            if death(actual) || allowed.iter().any(death) {
                kind.into()
            } else {
                format!("{kind} ({} mapping)", sharing(*region))
            }
        }
        _ => kind.into(),
    }
}

/// An outcome of `op` without its values; a death by the signal a `kill` op sent names no
/// signal (the case chose it).
fn shape(op: &Op, o: &Outcome) -> String {
    match o {
        Outcome::Ret(_) => "a value".into(),
        Outcome::Err(e) => e.to_string(),
        Outcome::Child(_) => "a child".into(),
        Outcome::Data(_) => "data".into(),
        Outcome::Pipe(_) => "a pipe".into(),
        Outcome::Reaped {
            status: ExitStatus::Exited(_),
            ..
        } => "a reaped child that exited".into(),
        Outcome::Reaped {
            status: ExitStatus::Signaled(_),
            ..
        } => "a reaped child killed by a signal".into(),
        Outcome::Exited => "exited".into(),
        Outcome::Killed(s) => match op.kind {
            OpKind::Kill { sig, .. }
            | OpKind::KillPgrp { sig, .. }
            | OpKind::PidfdSendSignal { sig, .. }
                if sig == *s =>
            {
                "killed by the signal sent".into()
            }
            _ => format!("killed by {s}"),
        },
        Outcome::Blocked => "blocked".into(),
        Outcome::Died => "died".into(),
        Outcome::Lock(LockReport::Unlocked) => "no conflicting lock".into(),
        Outcome::Lock(LockReport::Held { .. }) => "a conflicting lock".into(),
        Outcome::Waited(i) => format!("a child with {}", i.code.name()),
        Outcome::Pid(_) => "a process group or session id".into(),
        Outcome::Timer(r) if r.armed => "an armed timer".into(),
        Outcome::Timer(_) => "a disarmed timer".into(),
        Outcome::AltStack(r) => format!("an alternate stack {r}"),
        Outcome::Rlimit(l) => format!("limits {l}"),
    }
}

fn fcntl_name(c: &FcntlCmd) -> &'static str {
    match c {
        FcntlCmd::GetFd => "F_GETFD",
        FcntlCmd::SetFd { .. } => "F_SETFD",
        FcntlCmd::GetFl => "F_GETFL",
        FcntlCmd::SetFl { .. } => "F_SETFL",
        FcntlCmd::DupFd { .. } => "F_DUPFD",
        FcntlCmd::DupFdCloexec { .. } => "F_DUPFD_CLOEXEC",
        FcntlCmd::SetLk { .. } => "F_SETLK",
        FcntlCmd::GetLk { .. } => "F_GETLK",
        FcntlCmd::OfdSetLk { .. } => "F_OFD_SETLK",
        FcntlCmd::OfdGetLk { .. } => "F_OFD_GETLK",
    }
}

fn advice_name(a: Advice) -> &'static str {
    match a {
        Advice::DontFork => "MADV_DONTFORK",
        Advice::DoFork => "MADV_DOFORK",
        Advice::WipeOnFork => "MADV_WIPEONFORK",
        Advice::KeepOnFork => "MADV_KEEPONFORK",
        Advice::DontNeed => "MADV_DONTNEED",
    }
}

fn sharing(r: Region) -> &'static str {
    match r {
        Region::AnonPrivate | Region::FilePrivate => "private",
        Region::AnonShared | Region::FileShared => "shared",
        // A page of a mapping an mmap op made: its sharing is the op's choice.
        Region::Mapped => "new",
    }
}

/// A field's shape (`t.mem.anon_private[].value`) as a cause names it
/// (`t*.mem[private].value`): labels, fds and pages are `*`, regions their sharing.
fn field_name(shape: &str) -> String {
    if let Some(rest) = shape.strip_prefix("t.mem.") {
        if let Some((region, field)) = rest.split_once("[]") {
            let which = match region {
                _ if field == ".mapped" => "*",
                "anon_shared" | "file_shared" => "shared",
                _ => "private",
            };
            return format!("t*.mem[{which}]{field}");
        }
    }
    let s = shape.replace("[]", "[*]");
    match s.split_once('.') {
        Some((head, tail)) => format!("{head}*.{tail}"),
        None => format!("{s}*"),
    }
}

/// The names in a signal set's form (`{SIGUSR1,SIGCHLD}`).
fn signal_names(s: &str) -> Option<Vec<&str>> {
    let inner = s.strip_prefix('{')?.strip_suffix('}')?;
    Some(inner.split(',').filter(|n| !n.is_empty()).collect())
}

/// `s` without its numbers (labels, classes, codes and signal numbers are values), the
/// variants around them kept: `Zombie(Signaled(Signal(10)))` is `Zombie(Signaled)`,
/// `Task(3)` is `Task`.
fn erase_numbers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_digits = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out.replace("(Signal(#))", "").replace("(#)", "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fingerprint;
    use forkspec_model::diff::{diff_snapshots, LevelFilter};
    use forkspec_model::obs::*;
    use forkspec_model::{Clone3Args, CloneFlags, CloneOp, Signal};

    fn op(task: u32, kind: OpKind) -> Op {
        Op { task, kind }
    }

    fn clone(entry: CloneEntry, flags: CloneFlags) -> Op {
        op(
            0,
            OpKind::Clone(CloneOp {
                entry,
                flags,
                exit_signal: 17,
                args: Clone3Args::default(),
            }),
        )
    }

    fn err(e: Errno) -> Outcome {
        Outcome::Err(e)
    }

    fn madvise(advice: Advice) -> Op {
        op(
            0,
            OpKind::Madvise {
                region: Region::AnonShared,
                first: 1,
                count: 2,
                advice,
            },
        )
    }

    /// A missing system call is one cause whatever its arguments made the model expect.
    #[test]
    fn enosys_is_one_cause_per_system_call() {
        let c3 = |flags| clone(CloneEntry::Clone3, flags);
        let a = of_outcome(
            &c3(CloneFlags::EMPTY),
            &[Outcome::Child(1)],
            &err(Errno::ENOSYS),
        );
        let b = of_outcome(
            &c3(CloneFlags::VM),
            &[err(Errno::EINVAL)],
            &err(Errno::ENOSYS),
        );
        let c = of_outcome(
            &c3(CloneFlags::INTO_CGROUP),
            &[err(Errno::E2BIG)],
            &err(Errno::ENOSYS),
        );
        assert_eq!(a, "clone3 → ENOSYS (not implemented)");
        assert_eq!((&a, &a), (&b, &c));
        let d = of_outcome(
            &madvise(Advice::DontNeed),
            &[Outcome::Ret(0)],
            &err(Errno::ENOSYS),
        );
        let e = of_outcome(
            &madvise(Advice::WipeOnFork),
            &[err(Errno::EINVAL)],
            &err(Errno::ENOSYS),
        );
        assert_eq!(d, e);
        // clone and clone3 are two system calls.
        let f = of_outcome(
            &clone(CloneEntry::Clone, CloneFlags::EMPTY),
            &[Outcome::Child(1)],
            &err(Errno::ENOSYS),
        );
        assert_ne!(a, f);
        // A kill to a group enters by kill(2) as a kill of one task does.
        let op = |kind| Op { task: 0, kind };
        let sig = forkspec_model::Signal::SIGTERM;
        let one = of_outcome(
            &op(OpKind::Kill { target: 1, sig }),
            &[Outcome::Ret(0)],
            &err(Errno::ENOSYS),
        );
        let group = of_outcome(
            &op(OpKind::KillPgrp { pgid: None, sig }),
            &[Outcome::Ret(0)],
            &err(Errno::ENOSYS),
        );
        assert_eq!(
            (one.as_str(), group.as_str()),
            ("kill → ENOSYS (not implemented)", one.as_str())
        );
    }

    /// Another errno keeps the model's answer and the facet of the arguments apart.
    #[test]
    fn other_errors_keep_the_model_answer_and_the_facet() {
        let cl = clone(CloneEntry::Clone, CloneFlags::NEWPID);
        let refused = of_outcome(&cl, &[Outcome::Child(1)], &err(Errno::EINVAL));
        assert_eq!(refused, "clone → EINVAL (model: a child)");
        // Other flags, other labels: the same deviation.
        let other = clone(CloneEntry::Clone, CloneFlags::VM | CloneFlags::FS);
        assert_eq!(
            refused,
            of_outcome(&other, &[Outcome::Child(4)], &err(Errno::EINVAL))
        );
        // A wrong errno is another deviation, and clone3 another entry point.
        assert_ne!(
            refused,
            of_outcome(&cl, &[err(Errno::EPERM)], &err(Errno::EINVAL))
        );
        let c3 = clone(CloneEntry::Clone3, CloneFlags::NEWPID);
        assert_ne!(
            refused,
            of_outcome(&c3, &[Outcome::Child(1)], &err(Errno::EINVAL))
        );
        // The madvise advice selects the code path.
        let wipe = of_outcome(
            &madvise(Advice::WipeOnFork),
            &[Outcome::Ret(0)],
            &err(Errno::EINVAL),
        );
        let dont = of_outcome(
            &madvise(Advice::DontFork),
            &[Outcome::Ret(0)],
            &err(Errno::EINVAL),
        );
        assert_ne!(wipe, dont);
        assert_eq!(wipe, "madvise(MADV_WIPEONFORK) → EINVAL (model: a value)");
    }

    /// The signal a kill op sends is the case's choice; a fault's signal is not.
    #[test]
    fn deaths_name_the_signal_only_when_the_case_did_not_choose_it() {
        let kill = |sig| op(1, OpKind::Kill { target: 1, sig });
        let a = of_outcome(
            &kill(Signal::SIGUSR1),
            &[Outcome::Killed(Signal::SIGUSR1)],
            &Outcome::Ret(0),
        );
        let b = of_outcome(
            &kill(Signal::SIGTERM),
            &[Outcome::Killed(Signal::SIGTERM)],
            &Outcome::Ret(0),
        );
        assert_eq!(a, b);
        let read = |region| op(1, OpKind::MemRead { region, page: 3 });
        let segv = of_outcome(
            &read(Region::AnonPrivate),
            &[Outcome::Killed(Signal::SIGSEGV)],
            &Outcome::Data(vec![0]),
        );
        let bus = of_outcome(
            &read(Region::AnonPrivate),
            &[Outcome::Killed(Signal::SIGBUS)],
            &Outcome::Data(vec![0]),
        );
        assert_ne!(segv, bus);
        // A death does not depend on the mapping's sharing; a value does.
        let shared_segv = of_outcome(
            &read(Region::FileShared),
            &[Outcome::Killed(Signal::SIGSEGV)],
            &Outcome::Data(vec![0]),
        );
        assert_eq!(segv, shared_segv);
        let value = |region| {
            of_outcome(
                &read(region),
                &[Outcome::Data(vec![1])],
                &Outcome::Data(vec![2]),
            )
        };
        assert_eq!(value(Region::AnonPrivate), value(Region::FilePrivate));
        assert_ne!(value(Region::AnonPrivate), value(Region::AnonShared));
        assert_eq!(
            value(Region::AnonShared),
            "mem_read (shared mapping) → data other than the model's"
        );
    }

    fn task(label: u32, signals: SignalView) -> TaskView {
        TaskView {
            task: label,
            parent: Parent::Reaper,
            state: TaskState::Live,
            exit_signal: Some(Signal::SIGCHLD),
            sharing: None,
            thread_of: None,
            fds: vec![],
            memory: vec![],
            tid_words: vec![],
            signals: Some(signals),
            fs_context: None,
            namespaces: None,
            group: None,
        }
    }

    /// The cause of the states `model` and `real` (one task per element, labels from 0).
    fn state_cause(model: &[SignalView], real: &[SignalView]) -> (String, String) {
        let snap = |views: &[SignalView]| Snapshot {
            tasks: (0..).zip(views).map(|(l, v)| task(l, *v)).collect(),
            ..Snapshot::default()
        };
        let diffs = diff_snapshots(&snap(model), &snap(real), LevelFilter::All);
        let level = if diffs.iter().any(|d| d.level == Level::Semantic) {
            Level::Semantic
        } else {
            Level::Internal
        };
        let cause = of_snapshot(&diffs, level, Some(&Focus::new()));
        (fingerprint(level, std::slice::from_ref(&cause)), cause)
    }

    fn shared_pending(sigs: &[i32]) -> SignalView {
        SignalView {
            shared_pending: SigSet(sigs.iter().map(|&s| SigSet::bit(s)).sum()),
            ..SignalView::default()
        }
    }

    /// One extra pending signal is one cause whichever task has it and whichever signal it
    /// is, and whatever else differs after it; a missing one is another.
    #[test]
    fn a_state_cause_is_its_first_field_without_labels_or_values() {
        let none = shared_pending(&[]);
        let chld = shared_pending(&[17]);
        let (fp, cause) = state_cause(&[none, none], &[chld, none]);
        assert_eq!(cause, "t*.signals.shared_pending has signals extra");
        // On t1, with t2 differing as well (a consequence).
        let usr1 = shared_pending(&[10]);
        assert_eq!(state_cause(&[none, none, none], &[none, chld, usr1]).0, fp);
        // Missing instead of extra, or the task's own pending set: other causes.
        let (missing, _) = state_cause(&[chld], &[none]);
        assert_ne!(missing, fp);
        let own = SignalView {
            pending: SigSet(SigSet::bit(17)),
            ..SignalView::default()
        };
        assert_ne!(state_cause(&[none], &[own]).0, fp);
        // A semantic field that differs is the cause, even after an internal one in order.
        let blocked = SignalView {
            blocked: SigSet(SigSet::bit(10)),
            ..SignalView::default()
        };
        let (_, c) = state_cause(&[none, none], &[chld, blocked]);
        assert_eq!(c, "t*.signals.blocked has signals extra");
    }

    fn field(shape: &str, expected: &str, actual: &str) -> FieldDiff {
        FieldDiff {
            path: shape.replace("t.", "t1.").replace("[]", "[3]"),
            shape: shape.into(),
            level: Level::Semantic,
            expected: expected.into(),
            actual: actual.into(),
        }
    }

    /// The cause of one differing field of t1 after an op that used no fd or page (a fork).
    fn one(shape: &str, expected: &str, actual: &str) -> String {
        of_snapshot(
            &[field(shape, expected, actual)],
            Level::Semantic,
            Some(&Focus::new()),
        )
    }

    #[test]
    fn fields_keep_which_way_they_differ() {
        // Mapping presence names no region; contents name the sharing.
        let mapped = |r: &str| one(&format!("t.mem.{r}[].mapped"), "false", "true");
        assert_eq!(mapped("anon_private"), mapped("file_shared"));
        assert_eq!(
            mapped("anon_private"),
            "t*.mem[*].mapped: true (model: false) (not a page of the op)"
        );
        assert_ne!(
            mapped("anon_private"),
            one("t.mem.anon_private[].mapped", "true", "false")
        );
        let value = |r: &str, e: &str, a: &str| one(&format!("t.mem.{r}[].value"), e, a);
        assert_eq!(
            value("anon_private", "Some(97)", "Some(0)"),
            value("file_private", "Some(3)", "Some(0)")
        );
        assert_ne!(
            value("anon_private", "Some(97)", "Some(0)"),
            value("anon_shared", "Some(97)", "Some(0)")
        );
        assert_ne!(
            value("anon_private", "Some(97)", "Some(0)"),
            value("anon_private", "Some(0)", "Some(97)")
        );
        // Offsets: not by how much, nor which way (a read moves them on, an lseek back).
        let off = |e: &str, a: &str| one("t.fd[].offset", e, a);
        assert_eq!(off("0", "5"), off("2", "0"));
        assert_eq!(
            off("0", "5"),
            "t*.fd[*].offset differs (not an fd of the op)"
        );
        // Enum variants stay, their labels and codes go.
        let state = |e: &str, a: &str| one("t.state", e, a);
        assert_eq!(
            state("Zombie(Signaled(Signal(12)))", "Blocked"),
            state("Zombie(Signaled(Signal(15)))", "Blocked")
        );
        assert_ne!(
            state("Zombie(Exited(0))", "Blocked"),
            state("Live", "Blocked")
        );
        assert_eq!(
            state("Zombie(Signaled(Signal(10)))", "Blocked"),
            "t*.state: Blocked (model: Zombie(Signaled))"
        );
        assert_eq!(one("t.parent", "Task(1)", "Task(2)"), "t*.parent differs");
        // Which directories: the case's choice.
        assert_eq!(one("t.cwd", "DE", "Case"), one("t.cwd", "D", "Case"));
        assert_eq!(one("t.cwd", "DE", "D"), "t*.cwd differs");
        // Signals: whose set it is says nothing (they arrive from elsewhere).
        assert_eq!(
            one("t.signals.blocked", "{}", "{SIGUSR1}"),
            "t*.signals.blocked has signals extra"
        );
        assert_eq!(
            one("inode.locks", "[\"POSIX WR 0..3 t1\"]", "[]"),
            "inode*.locks differs"
        );
        // The first field is the cause; the ones after it are not part of it.
        let first = field("t.fd[].offset", "0", "5");
        let later = field(
            "t.fd[].flags",
            "(ReadOnly, false, false)",
            "(ReadOnly, true, false)",
        );
        assert_eq!(
            of_snapshot(&[first.clone(), later], Level::Semantic, None),
            of_snapshot(&[first], Level::Semantic, None)
        );
    }

    /// What the op used comes first, and whether the differing fd or page is one the op used
    /// is part of the cause: a pread that moves the offset is not a fork that copied the
    /// descriptions instead of sharing them.
    #[test]
    fn what_the_op_used_comes_first_and_counts() {
        let offset = |label: u32, fd: i32| FieldDiff {
            path: format!("t{label}.fd[{fd}].offset"),
            ..field("t.fd[].offset", "1", "0")
        };
        let pread = |task, fd| Op {
            task,
            kind: OpKind::Pread {
                fd,
                len: 1,
                offset: 0,
            },
        };
        let used = focus(&pread(2, 4), &Outcome::Data(vec![1]));
        assert_eq!(used, ["t2.fd[4]."]);
        // t0 and t2 share the description t2's pread moved: t2's fd 4 is the cause.
        let moved = of_snapshot(&[offset(0, 4), offset(2, 4)], Level::Semantic, Some(&used));
        assert_eq!(moved, "t*.fd[*].offset differs (an fd of the op)");
        // t1 read; t0's copy did not follow, nor a sibling fd of t1's own.
        let read = focus(&pread(1, 3), &Outcome::Data(vec![1]));
        let copied = of_snapshot(&[offset(0, 3)], Level::Semantic, Some(&read));
        assert_eq!(copied, "t*.fd[*].offset differs (not an fd of the op)");
        assert_eq!(
            copied,
            of_snapshot(&[offset(1, 0)], Level::Semantic, Some(&read))
        );
        // open's fd and pipe2's ends are what they used.
        let open = Op {
            task: 1,
            kind: OpKind::Open {
                file: forkspec_model::FileName::A,
                flags: Default::default(),
            },
        };
        assert_eq!(focus(&open, &Outcome::Ret(5)), ["t1.fd[5]."]);
        assert!(focus(&open, &err(Errno::EMFILE)).is_empty());
        let pipe = op(
            0,
            OpKind::Pipe2 {
                cloexec: true,
                nonblock: false,
            },
        );
        assert_eq!(
            focus(&pipe, &Outcome::Pipe([3, 4])),
            ["t0.fd[3].", "t0.fd[4]."]
        );
        let write = op(
            3,
            OpKind::MemWrite {
                region: Region::FileShared,
                page: 2,
                byte: 1,
            },
        );
        assert_eq!(focus(&write, &Outcome::Ret(0)), ["t3.mem.file_shared[2]."]);
        // At the end of a case no op ran: no side is named.
        assert_eq!(
            of_snapshot(&[offset(3, 0)], Level::Semantic, None),
            "t*.fd[*].offset differs"
        );
    }

    /// Distinct causes never share a fingerprint; the level is part of it.
    #[test]
    fn fingerprints_follow_the_cause_and_level() {
        let a = "clone3 → ENOSYS (not implemented)".to_string();
        let b = "clone → ENOSYS (not implemented)".to_string();
        let fp = |l, c: &String| fingerprint(l, std::slice::from_ref(c));
        assert_eq!(fp(Level::Semantic, &a), fp(Level::Semantic, &a.clone()));
        assert_ne!(fp(Level::Semantic, &a), fp(Level::Semantic, &b));
        assert_ne!(fp(Level::Semantic, &a), fp(Level::Internal, &a));
        // Pinned: baselines and JUnit names are keyed by it.
        assert_eq!(fp(Level::Semantic, &a), "758c4e7db8a3915e");
    }
}
