//! Shrinking a diverging case to a minimal one.
//!
//! Candidates drop ops; a candidate is rebuilt by replaying the kept ops on the model, so task
//! labels are renumbered after a dropped fork and ops of tasks that no longer exist are
//! dropped with it. A candidate is kept when the divergence persists.

use forkspec_model::{Case, Model, Op, OpKind, Outcome, Profile, WaitTarget};
use std::collections::HashMap;

/// Rebuilds a valid case from the ops of `case` at `keep` (indices in order).
pub fn rebuild(case: &Case, keep: &[usize], profile: &Profile) -> Case {
    // Labels each fork of the original created, by op index.
    let mut created: HashMap<usize, u32> = HashMap::new();
    let mut m = Model::new(case.config, profile);
    for (i, op) in case.ops.iter().enumerate() {
        if let Outcome::Child(c) = m.step(op, None).taken {
            created.insert(i, c);
        }
    }
    let mut map: HashMap<u32, u32> = HashMap::from([(0, 0)]);
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
        } = &mut kind
        {
            match map.get(t) {
                Some(&n) => *t = n,
                None => continue,
            }
        }
        let op = Op { task, kind };
        let step = m.step(&op, None);
        if let (Some(&old), Outcome::Child(new)) = (created.get(&i), &step.taken) {
            map.insert(old, *new);
        }
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
    // The divergence shows at or before some step; nothing after it matters.
    let mut chunk = (best.ops.len() / 2).max(1);
    loop {
        let mut progressed = false;
        let mut start = 0;
        while start < best.ops.len() {
            let keep: Vec<usize> = (0..best.ops.len())
                .filter(|&i| i < start || i >= start + chunk)
                .collect();
            let cand = rebuild(&best, &keep, profile);
            if cand.ops.len() < best.ops.len() && fails(&cand) {
                best = cand;
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
    simplify_values(&mut best, fails);
    best
}

/// Makes written data shorter once the sequence is minimal.
fn simplify_values(best: &mut Case, fails: &mut dyn FnMut(&Case) -> bool) {
    for i in 0..best.ops.len() {
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
                op(1, OpKind::Exit { code: 0 }),
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
}
