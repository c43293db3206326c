//! Shrinking a diverging case to a minimal one.
//!
//! Candidates drop ops; a candidate is rebuilt by replaying the kept ops on the model, so task
//! labels are renumbered after a dropped fork and ops of tasks that no longer exist are
//! dropped with it. A candidate is kept when the divergence persists.

use forkspec_model::{Case, FcntlCmd, Fd, Model, Op, OpKind, Outcome, Profile, WaitTarget};
use std::collections::HashMap;

/// Where an fd came from: the index of the op that created it, and which of its results
/// (the two ends of a pipe are 0 and 1).
type Prov = (usize, u8);

/// Per task (by label): fd number → provenance, for the fds that ops created.
#[derive(Default, Clone)]
struct FdOrigins(HashMap<u32, HashMap<Fd, Prov>>);

impl FdOrigins {
    fn prov(&self, t: u32, fd: Fd) -> Option<Prov> {
        self.0.get(&t)?.get(&fd).copied()
    }

    fn fd_of(&self, t: u32, p: Prov) -> Option<Fd> {
        self.0
            .get(&t)?
            .iter()
            .find(|(_, &q)| q == p)
            .map(|(&fd, _)| fd)
    }

    /// Records what op `i` (run by `t`, with outcome `out`) did to `t`'s fd table.
    fn apply(&mut self, i: usize, op: &Op, out: &Outcome) {
        let t = op.task;
        let table = self.0.entry(t).or_default();
        match (&op.kind, out) {
            (OpKind::Fork | OpKind::Vfork | OpKind::Clone(_), Outcome::Child(c)) => {
                let copy = table.clone();
                self.0.insert(*c, copy);
            }
            (OpKind::Close { fd }, Outcome::Ret(0)) => {
                table.remove(fd);
            }
            (OpKind::Pipe2 { .. }, Outcome::Pipe([r, w])) => {
                table.insert(*r, (i, 0));
                table.insert(*w, (i, 1));
            }
            (
                OpKind::Open { .. }
                | OpKind::Dup { .. }
                | OpKind::Dup2 { .. }
                | OpKind::Dup3 { .. }
                | OpKind::Fcntl {
                    cmd: FcntlCmd::DupFd { .. } | FcntlCmd::DupFdCloexec { .. },
                    ..
                },
                Outcome::Ret(fd),
            ) => {
                table.insert(*fd as Fd, (i, 0));
            }
            (OpKind::Exit { .. }, _) | (_, Outcome::Killed(_)) => {
                self.0.remove(&t);
            }
            _ => {}
        }
    }
}

/// Rebuilds a valid case from the ops of `case` at `keep` (indices in order). Task labels are
/// renumbered after dropped forks, ops of tasks that no longer exist are dropped, and fd
/// arguments follow the fd they named in the original (a dropped `open` renumbers the fds
/// opened after it).
pub fn rebuild(case: &Case, keep: &[usize], profile: &Profile) -> Case {
    // Labels each fork of the original created, and where each fd argument came from.
    let mut created: HashMap<usize, u32> = HashMap::new();
    let mut arg_origin: Vec<Vec<Option<Prov>>> = Vec::with_capacity(case.ops.len());
    let mut origins = FdOrigins::default();
    let mut m = Model::new(case.config, profile);
    for (i, op) in case.ops.iter().enumerate() {
        let mut kind = op.kind.clone();
        arg_origin.push(
            kind.fd_args_mut()
                .into_iter()
                .map(|fd| origins.prov(op.task, *fd))
                .collect(),
        );
        let out = m.step(op, None).taken;
        if let Outcome::Child(c) = out {
            created.insert(i, c);
        }
        origins.apply(i, op, &out);
    }
    let mut map: HashMap<u32, u32> = HashMap::from([(0, 0)]);
    let mut origins = FdOrigins::default();
    let mut m = Model::new(case.config, profile);
    let mut ops = Vec::new();
    for &i in keep {
        let orig = &case.ops[i];
        let Some(&task) = map.get(&orig.task) else {
            continue;
        };
        let mut kind = orig.kind.clone();
        if let OpKind::Wait {
            target: WaitTarget::Task(t),
            ..
        } = &mut kind
        {
            match map.get(t) {
                Some(&n) => *t = n,
                None => continue,
            }
        }
        if kind
            .task_args_mut()
            .into_iter()
            .any(|t| map.get(t).map(|&n| *t = n).is_none())
        {
            continue;
        }
        for (fd, origin) in kind.fd_args_mut().into_iter().zip(&arg_origin[i]) {
            if let Some(now) = origin.and_then(|p| origins.fd_of(task, p)) {
                *fd = now;
            }
        }
        let op = Op { task, kind };
        let out = m.step(&op, None).taken;
        if let (Some(&old), Outcome::Child(new)) = (created.get(&i), &out) {
            map.insert(old, *new);
        }
        origins.apply(i, &op, &out);
        ops.push(op);
    }
    Case {
        config: case.config,
        ops,
    }
}

/// Shrinks `case` while `fails` holds, trying first to drop large chunks then single ops,
/// until no single op can be dropped. `fails(case)` must be true for the input.
pub fn minimize(case: &Case, profile: &Profile, fails: &mut dyn FnMut(&Case) -> bool) -> Case {
    let mut best = case.clone();
    // Each kept move lowers one op's task, but a moved fork renumbers others, so the number
    // of moves is bounded explicitly as well.
    let mut moves_left = 4 * best.ops.len() + 8;
    loop {
        drop_ops(&mut best, profile, fails);
        // An op run by a forked task can often run in an older one, after which the forks
        // that only served to create that task can go.
        if moves_left == 0 || !hoist_ops(&mut best, profile, fails) {
            break;
        }
        moves_left -= 1;
    }
    simplify_values(&mut best, fails);
    best
}

/// Drops chunks of ops, halving the chunk size down to single ops, while `fails` holds.
fn drop_ops(best: &mut Case, profile: &Profile, fails: &mut dyn FnMut(&Case) -> bool) {
    let mut chunk = (best.ops.len() / 2).max(1);
    loop {
        let mut progressed = false;
        let mut start = 0;
        while start < best.ops.len() {
            let keep: Vec<usize> = (0..best.ops.len())
                .filter(|&i| i < start || i >= start + chunk)
                .collect();
            let cand = rebuild(best, &keep, profile);
            if cand.ops.len() < best.ops.len() && fails(&cand) {
                *best = cand;
                progressed = true;
            } else {
                start += chunk;
            }
        }
        if chunk == 1 && !progressed {
            break;
        }
        if !progressed {
            chunk = (chunk / 2).max(1);
        }
    }
}

/// Moves a single op to an older task, possibly also to an earlier position (an op of a
/// forked task can often run before the fork, in the parent); true when one move was kept.
/// Only tried on short sequences, where the quadratic number of candidates stays small.
fn hoist_ops(best: &mut Case, profile: &Profile, fails: &mut dyn FnMut(&Case) -> bool) -> bool {
    let n = best.ops.len();
    if n > 12 {
        return false;
    }
    for i in 0..n {
        for t in 0..best.ops[i].task {
            for j in (0..=i).rev() {
                let mut moved = best.clone();
                moved.ops[i].task = t;
                let order: Vec<usize> = (0..j).chain([i]).chain(j..i).chain(i + 1..n).collect();
                let cand = rebuild(&moved, &order, profile);
                if cand.ops.len() == n && fails(&cand) {
                    *best = cand;
                    return true;
                }
            }
        }
    }
    false
}

/// Makes written data shorter and clone calls plainer (fewer flags, SIGCHLD, default
/// clone3 arguments) once the sequence is minimal.
fn simplify_values(best: &mut Case, fails: &mut dyn FnMut(&Case) -> bool) {
    for i in 0..best.ops.len() {
        simplify_clone(best, i, fails);
        let shorter = match &best.ops[i].kind {
            OpKind::Write { fd, data } if data.len() > 1 => Some(OpKind::Write {
                fd: *fd,
                data: data[..1].to_vec(),
            }),
            OpKind::Pwrite { fd, data, offset } if data.len() > 1 => Some(OpKind::Pwrite {
                fd: *fd,
                data: data[..1].to_vec(),
                offset: *offset,
            }),
            _ => None,
        };
        if let Some(kind) = shorter {
            let mut cand = best.clone();
            cand.ops[i].kind = kind;
            if fails(&cand) {
                *best = cand;
            }
        }
    }
}

/// Drops the flags of clone op `i` one at a time, then resets its exit signal and clone3
/// arguments, keeping each change under which the divergence persists.
fn simplify_clone(best: &mut Case, i: usize, fails: &mut dyn FnMut(&Case) -> bool) {
    let OpKind::Clone(c) = best.ops[i].kind else {
        return;
    };
    let mut try_with = |best: &mut Case, change: &dyn Fn(&mut forkspec_model::CloneOp)| {
        let mut cand = best.clone();
        if let OpKind::Clone(cc) = &mut cand.ops[i].kind {
            let before = *cc;
            change(cc);
            if *cc != before && fails(&cand) {
                *best = cand;
            }
        }
    };
    for (f, _) in forkspec_model::CloneFlags::NAMED {
        if c.flags.has(*f) {
            try_with(best, &|cc| {
                cc.flags = forkspec_model::CloneFlags(cc.flags.0 & !f.0)
            });
        }
    }
    try_with(best, &|cc| cc.exit_signal = 17);
    try_with(best, &|cc| cc.args = Default::default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use forkspec_model::{CaseConfig, Region};

    fn op(task: u32, kind: OpKind) -> Op {
        Op { task, kind }
    }

    #[test]
    fn rebuild_renumbers_after_a_dropped_fork() {
        let case = Case {
            config: CaseConfig::default(),
            ops: vec![
                op(0, OpKind::Fork),
                op(0, OpKind::Fork),
                op(
                    2,
                    OpKind::MemWrite {
                        region: Region::AnonPrivate,
                        page: 0,
                        byte: 1,
                    },
                ),
                op(
                    1,
                    OpKind::Exit {
                        code: 0,
                        thread: false,
                    },
                ),
            ],
        };
        let p = Profile::default();
        let c = rebuild(&case, &[1, 2, 3], &p);
        // t2 became t1; the ops of the old t1 went with its fork.
        assert_eq!(c.ops.len(), 2);
        assert_eq!(c.ops[1].task, 1);
        assert!(matches!(c.ops[1].kind, OpKind::MemWrite { .. }));
    }

    #[test]
    fn rebuild_renumbers_fds_after_a_dropped_open() {
        let open = |file| OpKind::Open {
            file,
            flags: forkspec_model::OpenFlags {
                creat: true,
                ..Default::default()
            },
        };
        let case = Case {
            config: CaseConfig::default(),
            ops: vec![
                op(0, open(forkspec_model::FileName::A)),
                op(0, open(forkspec_model::FileName::B)),
                op(0, OpKind::Fork),
                op(1, OpKind::Read { fd: 1, len: 3 }),
                op(1, OpKind::Read { fd: 7, len: 3 }),
            ],
        };
        let c = rebuild(&case, &[1, 2, 3, 4], &Profile::default());
        // "b" is fd 0 now, in the child too; an fd that never existed stays as written.
        assert_eq!(c.ops[2].kind, OpKind::Read { fd: 0, len: 3 });
        assert_eq!(c.ops[3].kind, OpKind::Read { fd: 7, len: 3 });
    }

    #[test]
    fn minimize_finds_the_single_relevant_op() {
        let case = Case {
            config: CaseConfig::default(),
            ops: (0..20)
                .map(|i| {
                    op(
                        0,
                        OpKind::MemWrite {
                            region: Region::AnonPrivate,
                            page: i % 8,
                            byte: i as u8,
                        },
                    )
                })
                .collect(),
        };
        let p = Profile::default();
        let min = minimize(&case, &p, &mut |c: &Case| {
            c.ops
                .iter()
                .any(|o| matches!(o.kind, OpKind::MemWrite { byte: 13, .. }))
        });
        assert_eq!(min.ops.len(), 1);
    }

    #[test]
    fn clone_flags_shrink_to_the_ones_that_matter() {
        use forkspec_model::{CloneEntry, CloneFlags, CloneOp};
        let flags = CloneFlags::VM | CloneFlags::FS | CloneFlags::FILES | CloneFlags::NEWPID;
        let case = Case {
            config: CaseConfig::default(),
            ops: vec![op(
                0,
                OpKind::Clone(CloneOp {
                    entry: CloneEntry::Clone3,
                    flags,
                    exit_signal: 23,
                    args: Default::default(),
                }),
            )],
        };
        let min = minimize(
            &case,
            &Profile::default(),
            &mut |c: &Case| matches!(c.ops.first().map(|o| &o.kind), Some(OpKind::Clone(cc)) if cc.flags.has(CloneFlags::FS)),
        );
        let OpKind::Clone(c) = &min.ops[0].kind else {
            panic!("{min:?}")
        };
        assert_eq!(c.flags, CloneFlags::FS);
        assert_eq!(c.exit_signal, 17);
    }
}
