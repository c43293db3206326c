//! Compact text renderings of snapshots and traces, for insta snapshots and reports.
//!
//! A page renders as one token: `x` not mapped, `.` mapped but not present, `z` the zero page,
//! `f3` frame class 3, with `*` when exclusively mapped and `=07` its value (hex), `?` when the
//! frame is not observed.

use forkspec_model::{Case, Profile};
use forkspec_model::{Frame, InodeKind, Model, Outcome, Page, Parent, Snapshot, TaskState};
use std::fmt::Write as _;

/// One page as a token.
pub fn page_token(p: &Page) -> String {
    if !p.mapped {
        return "x".into();
    }
    if !p.present {
        return ".".into();
    }
    let mut s = match p.frame {
        Some(Frame::Zero) => "z".to_string(),
        Some(Frame::Class(c)) => format!("f{c}"),
        None => "?".to_string(),
    };
    if p.exclusive {
        s.push('*');
    }
    if let Some(v) = p.value {
        let _ = write!(s, "={v:02x}");
    }
    s
}

/// The whole snapshot, one line per task, fd, region, description and inode.
pub fn render_snapshot(s: &Snapshot) -> String {
    let mut out = String::new();
    for t in &s.tasks {
        let parent = match t.parent {
            Parent::Task(p) => format!("t{p}"),
            Parent::Reaper => "reaper".into(),
        };
        let state = match t.state {
            TaskState::Live => "live".to_string(),
            TaskState::Blocked => "blocked".to_string(),
            TaskState::Zombie(st) => format!("zombie {st:?}"),
        };
        let _ = write!(out, "t{} {state} parent={parent}", t.task);
        if let Some(sig) = t.exit_signal {
            let _ = write!(out, " exit_signal={sig}");
        }
        if let Some(sh) = &t.sharing {
            let f = |o: Option<u64>| o.map(|v| v.to_string()).unwrap_or_else(|| "?".into());
            let _ = write!(
                out,
                " vm={} files={} fs={} sighand={} io={} sysvsem={}",
                f(sh.vm),
                f(sh.files),
                f(sh.fs),
                f(sh.sighand),
                f(sh.io),
                f(sh.sysvsem)
            );
        }
        out.push('\n');
        render_context(&mut out, t);
        if !t.tid_words.is_empty() {
            out.push_str("  tid words:");
            for w in &t.tid_words {
                let word = match w.word {
                    forkspec_model::TidWord::ParentTid => "parent_tid",
                    forkspec_model::TidWord::ChildTid => "child_tid",
                };
                let _ = match w.value {
                    forkspec_model::TidValue::Task(l) => write!(out, " t{}.{word}=t{l}", w.child),
                    forkspec_model::TidValue::Raw(v) => write!(out, " t{}.{word}={v}", w.child),
                };
            }
            out.push('\n');
        }
        for e in &t.fds {
            let _ = writeln!(
                out,
                "  fd {} -> ofd{}{}",
                e.fd,
                e.ofd,
                if e.cloexec { " cloexec" } else { "" }
            );
        }
        for r in &t.memory {
            let toks: Vec<String> = r.pages.iter().map(page_token).collect();
            let _ = writeln!(out, "  {:<13} {}", r.region.to_string(), toks.join(" "));
        }
    }
    for o in &s.ofds {
        let _ = writeln!(
            out,
            "ofd{}: inode{} {:?} offset={}{}{}",
            o.id,
            o.inode,
            o.access,
            o.offset,
            if o.append { " append" } else { "" },
            if o.nonblock { " nonblock" } else { "" }
        );
    }
    for i in &s.inodes {
        let kind = match i.kind {
            InodeKind::File(n) => format!("file {}", n.as_str()),
            InodeKind::Pipe => "pipe".into(),
            InodeKind::Pidfd => "pidfd".into(),
        };
        let size = i.size.map(|v| v.to_string()).unwrap_or_else(|| "?".into());
        let _ = writeln!(out, "inode{}: {kind} size={size}", i.id);
    }
    for l in &s.locks {
        let _ = writeln!(
            out,
            "lock inode{}: {}",
            l.inode,
            forkspec_model::diff::lock_token(l)
        );
    }
    out
}

/// Signal state, fs context, process group and namespaces of a task, each line only when it
/// differs from a fresh `t0` (nothing blocked, ignored, caught or pending; cwd the case
/// directory, umask 022; `t0`'s group in the lab's session; the lab's namespaces), so traces
/// of cases that never touch them stay as they were.
fn render_context(out: &mut String, t: &forkspec_model::TaskView) {
    if let Some(s) = &t.signals {
        let sets = [
            ("blocked", s.blocked),
            ("ignored", s.ignored),
            ("caught", s.caught),
            ("pending", s.pending),
            ("shared_pending", s.shared_pending),
        ];
        let parts: Vec<String> = sets
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| format!("{n}={v:?}"))
            .collect();
        if !parts.is_empty() {
            let _ = writeln!(out, "  signals {}", parts.join(" "));
        }
    }
    if let Some(c) = &t.fs_context {
        if c.cwd != forkspec_model::CaseDir::Case || c.umask != 0o022 {
            let _ = writeln!(
                out,
                "  cwd={} umask={:03o}",
                c.cwd.rel_path_or_dot(),
                c.umask
            );
        }
    }
    if let Some(g) = &t.group {
        if !g.is_inherited_from_t0() {
            let _ = writeln!(out, "  pgrp={} session={}", g.pgrp, g.session);
        }
    }
    if let Some(ns) = &t.namespaces {
        let parts: Vec<String> = ns
            .named()
            .iter()
            .filter(|(_, v)| *v != 0)
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        if !parts.is_empty() {
            let _ = writeln!(out, "  ns {}", parts.join(" "));
        }
    }
}

/// The model's trace of a case: every op with its predicted outcome, and the state after the
/// steps listed in `states_after` (all steps when empty is not wanted: pass the indices).
pub fn render_model_trace(case: &Case, profile: &Profile, states_after: &[usize]) -> String {
    let mut m = Model::new(case.config, profile);
    let mut out = String::new();
    for (i, op) in case.ops.iter().enumerate() {
        let step = m.step(op, None);
        let allowed = step
            .allowed
            .iter()
            .map(Outcome::to_string)
            .collect::<Vec<_>>()
            .join(" | ");
        let _ = writeln!(out, "{i:>3}  {:<44} {allowed}", op.to_string());
        if states_after.contains(&i) {
            for line in render_snapshot(&m.snapshot()).lines() {
                let _ = writeln!(out, "       {line}");
            }
        }
    }
    out
}
