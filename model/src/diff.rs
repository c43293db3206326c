//! Field-by-field comparison of two canonical snapshots, each difference tagged with its
//! observation level (semantic or internal, DESIGN §4).

use crate::obs::{FdEntry, Inode, Ofd, Page, SigSet, Snapshot, TaskView};
use crate::obs::{Frame, Level};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// One observable field that differs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FieldDiff {
    /// Where, e.g. `t1.mem.anon_private[3].present` or `t0.fd[4].offset`.
    pub path: String,
    /// The path with task labels, fds and page numbers erased, e.g.
    /// `t.mem.anon_private[].present`: what a fingerprint is made of.
    pub shape: String,
    /// Semantic or internal.
    pub level: Level,
    /// The model's value.
    pub expected: String,
    /// The implementation's value.
    pub actual: String,
}

struct Differ {
    out: Vec<FieldDiff>,
    levels: LevelFilter,
}

/// Which levels to compare.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum LevelFilter {
    /// Only what programs can rely on.
    Semantic,
    /// Only implementation details.
    Internal,
    /// Both (the default against Linux).
    #[default]
    All,
}

impl LevelFilter {
    /// Whether a difference at `level` counts.
    pub fn includes(self, level: Level) -> bool {
        match self {
            LevelFilter::All => true,
            LevelFilter::Semantic => level == Level::Semantic,
            LevelFilter::Internal => level == Level::Internal,
        }
    }
}

impl Differ {
    fn field<T: PartialEq + Debug>(
        &mut self,
        path: String,
        shape: &str,
        level: Level,
        expected: &T,
        actual: &T,
    ) {
        if expected != actual && self.levels.includes(level) {
            self.out.push(FieldDiff {
                path,
                shape: shape.to_string(),
                level,
                expected: format!("{expected:?}"),
                actual: format!("{actual:?}"),
            });
        }
    }
}

/// How an fd looks once its description and inode are resolved.
#[derive(Debug, PartialEq)]
struct FdResolved<'a> {
    cloexec: bool,
    ofd: Option<&'a Ofd>,
    inode: Option<&'a Inode>,
}

fn resolve<'a>(s: &'a Snapshot, e: &FdEntry) -> FdResolved<'a> {
    let ofd = s.ofds.iter().find(|o| o.id == e.ofd);
    let inode = ofd.and_then(|o| s.inodes.iter().find(|i| i.id == o.inode));
    FdResolved {
        cloexec: e.cloexec,
        ofd,
        inode,
    }
}

/// Compares two canonical snapshots (`expected` from the model) and lists every difference
/// whose level `levels` includes.
pub fn diff_snapshots(
    expected: &Snapshot,
    actual: &Snapshot,
    levels: LevelFilter,
) -> Vec<FieldDiff> {
    let mut d = Differ {
        out: Vec::new(),
        levels,
    };
    let labels: std::collections::BTreeSet<u32> = expected
        .tasks
        .iter()
        .chain(&actual.tasks)
        .map(|t| t.task)
        .collect();
    for label in labels {
        let (e, a) = (expected.task(label), actual.task(label));
        match (e, a) {
            (Some(e), Some(a)) => diff_task(&mut d, expected, actual, e, a),
            _ => d.field(
                format!("t{label}"),
                "t",
                Level::Semantic,
                &e.map(|t| t.state),
                &a.map(|t| t.state),
            ),
        }
    }
    // Locks per inode; canonical inode ids name the same inode on both sides when the fd
    // tables agree (a disagreement there is reported above).
    let inodes: std::collections::BTreeSet<u64> = expected
        .locks
        .iter()
        .chain(&actual.locks)
        .map(|l| l.inode)
        .collect();
    for ino in inodes {
        let on = |s: &Snapshot| -> Vec<String> {
            s.locks
                .iter()
                .filter(|l| l.inode == ino)
                .map(lock_token)
                .collect()
        };
        d.field(
            format!("inode{ino}.locks"),
            "inode.locks",
            Level::Semantic,
            &on(expected),
            &on(actual),
        );
    }
    d.out
}

/// A held lock in a few characters, e.g. `POSIX WR 0..3 t1` or `FLOCK RD 0..EOF t0`.
pub fn lock_token(l: &crate::obs::HeldLock) -> String {
    use crate::obs::LockKind;
    let kind = match l.kind {
        LockKind::Posix => "POSIX",
        LockKind::Ofd => "OFD",
        LockKind::Flock => "FLOCK",
    };
    let end = l.end.map_or_else(|| "EOF".to_string(), |e| e.to_string());
    let pid = match (l.kind, l.pid) {
        (LockKind::Ofd, _) => "-1".to_string(),
        (_, Some(t)) => format!("t{t}"),
        (_, None) => "gone".to_string(),
    };
    format!("{kind} {} {}..{end} {pid}", l.ty, l.start)
}

fn diff_task(d: &mut Differ, es: &Snapshot, as_: &Snapshot, e: &TaskView, a: &TaskView) {
    let t = format!("t{}", e.task);
    d.field(
        format!("{t}.parent"),
        "t.parent",
        Level::Semantic,
        &e.parent,
        &a.parent,
    );
    d.field(
        format!("{t}.state"),
        "t.state",
        Level::Semantic,
        &e.state,
        &a.state,
    );
    d.field(
        format!("{t}.thread_of"),
        "t.thread_of",
        Level::Semantic,
        &e.thread_of,
        &a.thread_of,
    );
    d.field(
        format!("{t}.tid_words"),
        "t.tid_words",
        Level::Semantic,
        &e.tid_words,
        &a.tid_words,
    );
    if e.exit_signal.is_some() && a.exit_signal.is_some() {
        d.field(
            format!("{t}.exit_signal"),
            "t.exit_signal",
            Level::Semantic,
            &e.exit_signal,
            &a.exit_signal,
        );
    }
    if let (Some(es_), Some(as__)) = (&e.sharing, &a.sharing) {
        let pairs = [
            ("vm", es_.vm, as__.vm),
            ("files", es_.files, as__.files),
            ("fs", es_.fs, as__.fs),
            ("sighand", es_.sighand, as__.sighand),
            ("io", es_.io, as__.io),
            ("sysvsem", es_.sysvsem, as__.sysvsem),
        ];
        for (name, x, y) in pairs {
            if x.is_some() && y.is_some() {
                d.field(
                    format!("{t}.sharing.{name}"),
                    &format!("t.sharing.{name}"),
                    Level::Internal,
                    &x,
                    &y,
                );
            }
        }
    }
    diff_context(d, &t, e, a);
    let fds: std::collections::BTreeSet<i32> = e.fds.iter().chain(&a.fds).map(|f| f.fd).collect();
    for fd in fds {
        let fe = e.fds.iter().find(|f| f.fd == fd);
        let fa = a.fds.iter().find(|f| f.fd == fd);
        let p = format!("{t}.fd[{fd}]");
        match (fe, fa) {
            (Some(fe), Some(fa)) => diff_fd(d, &p, resolve(es, fe), resolve(as_, fa), fe, fa),
            _ => d.field(p, "t.fd[]", Level::Semantic, &fe.is_some(), &fa.is_some()),
        }
    }
    for (re, ra) in e.memory.iter().zip(&a.memory) {
        for (i, (pe, pa)) in re.pages.iter().zip(&ra.pages).enumerate() {
            // Equal pages have no differing field: skip naming every field of every page.
            if pe == pa {
                continue;
            }
            diff_page(
                d,
                &format!("{t}.mem.{}[{i}]", re.region),
                &format!("t.mem.{}[]", re.region),
                pe,
                pa,
            );
        }
    }
    if e.memory.len() != a.memory.len() {
        d.field(
            format!("{t}.mem"),
            "t.mem",
            Level::Semantic,
            &e.memory.len(),
            &a.memory.len(),
        );
    }
}

/// Signal state, fs context (semantic) and namespace classes (internal), each compared when
/// both sides report it.
fn diff_context(d: &mut Differ, t: &str, e: &TaskView, a: &TaskView) {
    if let (Some(x), Some(y)) = (&e.signals, &a.signals) {
        // Dispositions one side could not observe are compared on the other signals only.
        let known = !(x.unknown.0 | y.unknown.0);
        let k = |s: SigSet| SigSet(s.0 & known);
        for (name, level, p, q) in [
            ("blocked", Level::Semantic, x.blocked, y.blocked),
            ("ignored", Level::Semantic, k(x.ignored), k(y.ignored)),
            ("caught", Level::Semantic, k(x.caught), k(y.caught)),
            (
                "sigpending",
                Level::Semantic,
                x.sigpending(),
                y.sigpending(),
            ),
            ("pending", Level::Internal, x.pending, y.pending),
            (
                "shared_pending",
                Level::Internal,
                x.shared_pending,
                y.shared_pending,
            ),
        ] {
            d.field(
                format!("{t}.signals.{name}"),
                &format!("t.signals.{name}"),
                level,
                &p,
                &q,
            );
        }
    }
    if let (Some(x), Some(y)) = (&e.fs_context, &a.fs_context) {
        d.field(format!("{t}.cwd"), "t.cwd", Level::Semantic, &x.cwd, &y.cwd);
        d.field(
            format!("{t}.umask"),
            "t.umask",
            Level::Semantic,
            &format!("{:#05o}", x.umask),
            &format!("{:#05o}", y.umask),
        );
    }
    if let (Some(x), Some(y)) = (&e.group, &a.group) {
        d.field(
            format!("{t}.pgrp"),
            "t.pgrp",
            Level::Semantic,
            &x.pgrp,
            &y.pgrp,
        );
        d.field(
            format!("{t}.session"),
            "t.session",
            Level::Semantic,
            &x.session,
            &y.session,
        );
    }
    if let (Some(x), Some(y)) = (&e.namespaces, &a.namespaces) {
        for ((name, p), (_, q)) in x.named().into_iter().zip(y.named()) {
            d.field(
                format!("{t}.ns.{name}"),
                &format!("t.ns.{name}"),
                Level::Internal,
                &p,
                &q,
            );
        }
    }
}

fn diff_fd(d: &mut Differ, p: &str, e: FdResolved, a: FdResolved, fe: &FdEntry, fa: &FdEntry) {
    // What a side could not observe through this fd is not compared.
    let observed = !fe.unobserved && !fa.unobserved;
    if observed {
        d.field(
            format!("{p}.cloexec"),
            "t.fd[].cloexec",
            Level::Semantic,
            &e.cloexec,
            &a.cloexec,
        );
    }
    // Canonical description labels are equal exactly when the sharing structure up to this
    // fd is the same: a program can see sharing through offsets and status flags.
    d.field(
        format!("{p}.ofd"),
        "t.fd[].ofd",
        Level::Semantic,
        &fe.ofd,
        &fa.ofd,
    );
    match (e.ofd, a.ofd) {
        (Some(oe), Some(oa)) => {
            if observed {
                d.field(
                    format!("{p}.offset"),
                    "t.fd[].offset",
                    Level::Semantic,
                    &oe.offset,
                    &oa.offset,
                );
                d.field(
                    format!("{p}.flags"),
                    "t.fd[].flags",
                    Level::Semantic,
                    &(oe.access, oe.append, oe.nonblock),
                    &(oa.access, oa.append, oa.nonblock),
                );
            }
            d.field(
                format!("{p}.inode"),
                "t.fd[].inode",
                Level::Semantic,
                &oe.inode,
                &oa.inode,
            );
        }
        (x, y) => d.field(
            format!("{p}.ofd"),
            "t.fd[].ofd",
            Level::Semantic,
            &x.is_some(),
            &y.is_some(),
        ),
    }
    if let (Some(ie), Some(ia)) = (e.inode, a.inode) {
        d.field(
            format!("{p}.inode.kind"),
            "t.fd[].inode.kind",
            Level::Semantic,
            &ie.kind,
            &ia.kind,
        );
        if ie.size.is_some() && ia.size.is_some() {
            d.field(
                format!("{p}.inode.size"),
                "t.fd[].inode.size",
                Level::Semantic,
                &ie.size,
                &ia.size,
            );
        }
    }
}

fn diff_page(d: &mut Differ, p: &str, shape: &str, e: &Page, a: &Page) {
    d.field(
        format!("{p}.mapped"),
        &format!("{shape}.mapped"),
        Level::Semantic,
        &e.mapped,
        &a.mapped,
    );
    if e.value.is_some() && a.value.is_some() {
        d.field(
            format!("{p}.value"),
            &format!("{shape}.value"),
            Level::Semantic,
            &e.value,
            &a.value,
        );
    }
    d.field(
        format!("{p}.present"),
        &format!("{shape}.present"),
        Level::Internal,
        &e.present,
        &a.present,
    );
    d.field(
        format!("{p}.exclusive"),
        &format!("{shape}.exclusive"),
        Level::Internal,
        &e.exclusive,
        &a.exclusive,
    );
    if e.frame.is_some() && a.frame.is_some() {
        let zero = |f: Option<Frame>| f == Some(Frame::Zero);
        if zero(e.frame) != zero(a.frame) {
            d.field(
                format!("{p}.zero_page"),
                &format!("{shape}.zero_page"),
                Level::Internal,
                &zero(e.frame),
                &zero(a.frame),
            );
        } else {
            d.field(
                format!("{p}.frame"),
                &format!("{shape}.frame"),
                Level::Internal,
                &e.frame,
                &a.frame,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::obs::*;
    use crate::op::Region;

    fn snap(present: bool, value: Option<u8>) -> Snapshot {
        Snapshot {
            tasks: vec![TaskView {
                task: 0,
                parent: Parent::Reaper,
                state: TaskState::Live,
                exit_signal: Some(Signal::SIGCHLD),
                sharing: None,
                thread_of: None,
                fds: vec![],
                memory: vec![RegionView {
                    region: Region::AnonPrivate,
                    pages: vec![Page {
                        mapped: true,
                        present,
                        exclusive: present,
                        value,
                        frame: None,
                    }],
                }],
                tid_words: vec![],
                signals: None,
                fs_context: None,
                namespaces: None,
                group: None,
            }],
            ofds: vec![],
            inodes: vec![],
            locks: vec![],
        }
    }

    fn with_signals(v: SignalView) -> Snapshot {
        let mut s = snap(false, None);
        s.tasks[0].signals = Some(v);
        s
    }

    #[test]
    fn pending_split_is_internal_and_sigpending_semantic() {
        let sig = |n: i32| SigSet(SigSet::bit(n));
        // The model: SIGUSR1 pending for the process and blocked.
        let model = SignalView {
            blocked: sig(10),
            shared_pending: sig(10),
            ..SignalView::default()
        };
        // The task: the same signal pending, but per /proc for the thread alone, and
        // rt_sigpending shows it: only the internal split differs.
        let real = SignalView {
            blocked: sig(10),
            pending: sig(10),
            asked_pending: Some(sig(10)),
            ..SignalView::default()
        };
        let d = diff_snapshots(&with_signals(model), &with_signals(real), LevelFilter::All);
        assert!(d.iter().all(|f| f.level == Level::Internal), "{d:?}");
        assert_eq!(d.len(), 2);
        // SIGCHLD pending but not blocked: no program can see it (a ptracer's doing).
        let unblocked = SignalView {
            shared_pending: sig(17),
            asked_pending: Some(SigSet::EMPTY),
            ..SignalView::default()
        };
        let d = diff_snapshots(
            &with_signals(SignalView::default()),
            &with_signals(unblocked),
            LevelFilter::Semantic,
        );
        assert!(d.is_empty(), "{d:?}");
        // rt_sigpending disagreeing with the model is semantic.
        let lost = SignalView {
            asked_pending: Some(SigSet::EMPTY),
            ..model
        };
        let d = diff_snapshots(
            &with_signals(model),
            &with_signals(lost),
            LevelFilter::Semantic,
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].shape, "t.signals.sigpending");
    }

    #[test]
    fn unknown_dispositions_are_not_compared() {
        let sig = |n: i32| SigSet(SigSet::bit(n));
        let model = SignalView {
            caught: sig(64),
            ignored: sig(13),
            ..SignalView::default()
        };
        let real = SignalView {
            ignored: sig(13),
            unknown: sig(64),
            ..SignalView::default()
        };
        assert!(
            diff_snapshots(&with_signals(model), &with_signals(real), LevelFilter::All).is_empty()
        );
        let wrong = SignalView {
            ignored: SigSet::EMPTY,
            ..real
        };
        let d = diff_snapshots(&with_signals(model), &with_signals(wrong), LevelFilter::All);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].shape, "t.signals.ignored");
        // A disposition both sides call unknown is not compared either.
        let both = |ignored| SignalView {
            ignored,
            unknown: sig(13),
            ..SignalView::default()
        };
        assert!(diff_snapshots(
            &with_signals(both(sig(13))),
            &with_signals(both(SigSet::EMPTY)),
            LevelFilter::All
        )
        .is_empty());
    }

    /// Without an answer from the task, rt_sigpending's set is derived: what is pending for
    /// the thread or its group and blocked; a pending signal that is not blocked is not in
    /// it, nor is a blocked one that is not pending.
    #[test]
    fn derived_sigpending_is_the_blocked_part_of_both_pending_sets() {
        let sig = |n: i32| SigSet(SigSet::bit(n));
        let v = SignalView {
            blocked: SigSet(sig(10).0 | sig(12).0 | sig(15).0),
            pending: SigSet(sig(10).0 | sig(2).0),
            shared_pending: sig(12),
            ..SignalView::default()
        };
        assert_eq!(v.sigpending(), SigSet(sig(10).0 | sig(12).0));
        let asked = SignalView {
            asked_pending: Some(sig(2)),
            ..v
        };
        assert_eq!(asked.sigpending(), sig(2));
    }

    #[test]
    fn unobserved_fds_compare_identity_only() {
        let mk = |offset: u64, cloexec: bool, unobserved: bool| {
            let mut s = snap(false, None);
            s.tasks[0].fds = vec![FdEntry {
                fd: 0,
                cloexec,
                ofd: 0,
                unobserved,
            }];
            s.ofds = vec![Ofd {
                id: 0,
                inode: 0,
                offset,
                access: crate::op::Access::RdWr,
                append: false,
                nonblock: false,
            }];
            s.inodes = vec![Inode {
                id: 0,
                kind: InodeKind::Pipe,
                size: None,
            }];
            s
        };
        let d = diff_snapshots(&mk(3, true, false), &mk(0, false, false), LevelFilter::All);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            diff_snapshots(&mk(3, true, false), &mk(0, false, true), LevelFilter::All).is_empty()
        );
    }

    #[test]
    fn levels_are_assigned_and_filtered() {
        let d = diff_snapshots(&snap(true, Some(1)), &snap(false, None), LevelFilter::All);
        assert!(d.iter().all(|f| f.level == Level::Internal), "{d:?}");
        assert_eq!(d[0].path, "t0.mem.anon_private[0].present");
        assert_eq!(d[0].shape, "t.mem.anon_private[].present");
        assert!(diff_snapshots(
            &snap(true, Some(1)),
            &snap(false, None),
            LevelFilter::Semantic
        )
        .is_empty());
        let d = diff_snapshots(&snap(true, Some(1)), &snap(true, Some(2)), LevelFilter::All);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].level, Level::Semantic);
        assert!(
            diff_snapshots(&snap(true, Some(1)), &snap(true, Some(1)), LevelFilter::All).is_empty()
        );
    }

    fn with_frames(e: Option<Frame>, a: Option<Frame>) -> Vec<FieldDiff> {
        let mut x = snap(true, Some(1));
        let mut y = snap(true, Some(1));
        x.tasks[0].memory[0].pages[0].frame = e;
        y.tasks[0].memory[0].pages[0].frame = a;
        diff_snapshots(&x, &y, LevelFilter::All)
    }

    #[test]
    fn frames_are_compared_only_when_both_sides_saw_them() {
        // One side without PFNs: nothing to compare, whatever the other saw.
        assert!(with_frames(Some(Frame::Class(0)), None).is_empty());
        assert!(with_frames(None, Some(Frame::Zero)).is_empty());
        let d = with_frames(Some(Frame::Class(0)), Some(Frame::Class(1)));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "t0.mem.anon_private[0].frame");
        assert_eq!(d[0].level, Level::Internal);
        assert_eq!(
            (d[0].expected.as_str(), d[0].actual.as_str()),
            ("Some(Class(0))", "Some(Class(1))")
        );
        // The zero page against any other frame is its own shape.
        let d = with_frames(Some(Frame::Zero), Some(Frame::Class(0)));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].shape, "t.mem.anon_private[].zero_page");
        assert_eq!(
            (d[0].expected.as_str(), d[0].actual.as_str()),
            ("true", "false")
        );
        assert!(with_frames(Some(Frame::Zero), Some(Frame::Zero)).is_empty());
    }

    #[test]
    fn values_are_compared_only_when_both_sides_read_them() {
        let d = diff_snapshots(&snap(true, Some(1)), &snap(true, None), LevelFilter::All);
        assert!(d.is_empty(), "{d:?}");
        let mut unmapped = snap(true, Some(1));
        unmapped.tasks[0].memory[0].pages[0].mapped = false;
        let d = diff_snapshots(&snap(true, Some(1)), &unmapped, LevelFilter::All);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].shape, "t.mem.anon_private[].mapped");
        assert_eq!(d[0].level, Level::Semantic);
    }

    #[test]
    fn namespaces_are_internal_and_compared_only_when_both_sides_saw_them() {
        let ns = |uts| NsClasses {
            uts,
            ..NsClasses::default()
        };
        let with_ns = |n: Option<NsClasses>| {
            let mut s = snap(true, Some(1));
            s.tasks[0].namespaces = n;
            s
        };
        assert!(diff_snapshots(&with_ns(Some(ns(0))), &with_ns(None), LevelFilter::All).is_empty());
        let d = diff_snapshots(
            &with_ns(Some(ns(0))),
            &with_ns(Some(ns(1))),
            LevelFilter::All,
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "t0.ns.uts");
        assert_eq!(d[0].shape, "t.ns.uts");
        assert_eq!(d[0].level, Level::Internal);
        assert!(diff_snapshots(
            &with_ns(Some(ns(0))),
            &with_ns(Some(ns(1))),
            LevelFilter::Semantic
        )
        .is_empty());
    }

    #[test]
    fn a_task_on_one_side_only_differs_in_its_state() {
        let mut two = snap(true, Some(1));
        let mut t1 = two.tasks[0].clone();
        t1.task = 1;
        t1.state = TaskState::Zombie(ExitStatus::Exited(0));
        two.tasks.push(t1);
        let d = diff_snapshots(&snap(true, Some(1)), &two, LevelFilter::All);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "t1");
        assert_eq!(d[0].expected, "None");
        assert_eq!(d[0].level, Level::Semantic);
    }

    #[test]
    fn each_filter_includes_exactly_its_levels() {
        use Level::{Internal, Semantic};
        let table = [
            (LevelFilter::All, Semantic, true),
            (LevelFilter::All, Internal, true),
            (LevelFilter::Semantic, Semantic, true),
            (LevelFilter::Semantic, Internal, false),
            (LevelFilter::Internal, Semantic, false),
            (LevelFilter::Internal, Internal, true),
        ];
        for (filter, level, want) in table {
            assert_eq!(
                filter.includes(level),
                want,
                "{filter:?} includes {level:?}"
            );
        }
    }

    /// A snapshot whose task 0 has fd 0 on the second of two descriptions, each on its own
    /// inode: the second description's offset and the second inode's size are `offset` and
    /// `size`.
    fn fd_on_second(offset: u64, size: u64) -> Snapshot {
        let mut s = snap(true, Some(1));
        s.tasks[0].fds = vec![FdEntry {
            fd: 0,
            cloexec: false,
            ofd: 1,
            unobserved: false,
        }];
        let ofd = |id, offset| Ofd {
            id,
            inode: id,
            offset,
            access: crate::op::Access::RdWr,
            append: false,
            nonblock: false,
        };
        let inode = |id, size| Inode {
            id,
            kind: InodeKind::File(crate::op::FileName::Data),
            size: Some(size),
        };
        s.ofds = vec![ofd(0, 0), ofd(1, offset)];
        s.inodes = vec![inode(0, 0), inode(1, size)];
        s
    }

    #[test]
    fn an_fd_is_compared_through_its_own_description_and_inode() {
        let d = diff_snapshots(&fd_on_second(5, 9), &fd_on_second(6, 9), LevelFilter::All);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].path.starts_with("t0.fd[0]"), "{d:?}");
        assert_eq!((d[0].expected.as_str(), d[0].actual.as_str()), ("5", "6"));
        let d = diff_snapshots(&fd_on_second(5, 9), &fd_on_second(5, 8), LevelFilter::All);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].path.starts_with("t0.fd[0]"), "{d:?}");
        assert!(
            diff_snapshots(&fd_on_second(5, 9), &fd_on_second(5, 9), LevelFilter::All).is_empty()
        );
    }

    #[test]
    fn exit_signal_and_sharing_are_compared_only_when_both_sides_saw_them() {
        let mut e = snap(true, Some(1));
        let mut a = snap(true, Some(1));
        a.tasks[0].exit_signal = None;
        assert!(diff_snapshots(&e, &a, LevelFilter::All).is_empty());
        a.tasks[0].exit_signal = Some(Signal::SIGUSR1);
        let d = diff_snapshots(&e, &a, LevelFilter::All);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].path, "t0.exit_signal");
        a.tasks[0].exit_signal = e.tasks[0].exit_signal;
        let sharing = |vm| Sharing {
            vm,
            ..Sharing::default()
        };
        e.tasks[0].sharing = Some(sharing(Some(0)));
        assert!(diff_snapshots(&e, &a, LevelFilter::All).is_empty());
        a.tasks[0].sharing = Some(sharing(None));
        assert!(diff_snapshots(&e, &a, LevelFilter::All).is_empty());
        a.tasks[0].sharing = Some(sharing(Some(1)));
        let d = diff_snapshots(&e, &a, LevelFilter::All);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].path, "t0.sharing.vm");
        assert_eq!(d[0].level, Level::Internal);
    }

    #[test]
    fn a_missing_region_is_a_difference() {
        let e = snap(true, Some(1));
        let mut a = snap(true, Some(1));
        a.tasks[0].memory.clear();
        let d = diff_snapshots(&e, &a, LevelFilter::All);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].path, "t0.mem");
        assert_eq!((d[0].expected.as_str(), d[0].actual.as_str()), ("1", "0"));
    }

    #[test]
    fn locks_differ_per_inode_as_tokens() {
        let lock = |pid| HeldLock {
            inode: 0,
            kind: LockKind::Posix,
            ty: crate::op::LockType::Rd,
            start: 4,
            end: Some(4),
            pid,
        };
        let mut e = snap(true, Some(1));
        e.locks = vec![lock(Some(0))];
        let d = diff_snapshots(&e, &snap(true, Some(1)), LevelFilter::All);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "inode0.locks");
        assert_eq!(d[0].expected, "[\"POSIX RD 4..4 t0\"]");
        assert_eq!(d[0].actual, "[]");
        let mut a = snap(true, Some(1));
        a.locks = vec![lock(None)];
        let d = diff_snapshots(&e, &a, LevelFilter::All);
        assert_eq!(d[0].actual, "[\"POSIX RD 4..4 gone\"]");
        assert!(diff_snapshots(&e, &e.clone(), LevelFilter::All).is_empty());
        let ofd = HeldLock {
            kind: LockKind::Ofd,
            end: None,
            ..lock(Some(3))
        };
        assert_eq!(lock_token(&ofd), "OFD RD 4..EOF -1");
    }
}
