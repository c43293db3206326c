//! vfork, clone and clone3: the exhaustive validity matrix and property tests mixing clone
//! flags with memory and fd ops (model vs kernel).

mod common;

use common::*;
use forkspec::backend::Backend;
use forkspec::gen::Mix;
use forkspec_model::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

proptest! {
    #![proptest_config(proptest_config(300))]
    /// Generated clone / vfork sequences behave on the kernel exactly as the model predicts.
    #[test]
    fn clone_model_matches_kernel(choices in proptest::collection::vec(any::<u32>(), 0..240)) {
        property(Mix::Clone, &choices).map_err(TestCaseError::fail)?;
    }
}

/// The 15 flags of the matrix, in bit order of the combination index.
const MATRIX: [CloneFlags; 15] = [
    CloneFlags::VM,
    CloneFlags::FS,
    CloneFlags::FILES,
    CloneFlags::SIGHAND,
    CloneFlags::THREAD,
    CloneFlags::VFORK,
    CloneFlags::PARENT,
    CloneFlags::SYSVSEM,
    CloneFlags::IO,
    CloneFlags::PIDFD,
    CloneFlags::CLEAR_SIGHAND,
    CloneFlags::DETACHED,
    CloneFlags::NEWNS,
    CloneFlags::NEWUSER,
    CloneFlags::NEWPID,
];

fn combo(i: u32) -> CloneFlags {
    MATRIX
        .iter()
        .enumerate()
        .filter(|(b, _)| i & (1 << b) != 0)
        .fold(CloneFlags::EMPTY, |a, (_, &f)| a | f)
}

/// Runs `op` on the kernel and on the model; panics on disagreement.
fn both(lab: &mut Lab, model: &mut Model, op: &Op) -> Outcome {
    let (real, _) = lab.backend.op(op, false).expect("lab op");
    let step = model.step(op, Some(&real));
    assert!(
        step.allowed.contains(&real),
        "{op}: model {:?}, kernel {real:?}",
        step.allowed
    );
    real
}

/// Every combination of the 15 flags on both entry points, model vs kernel: t0 calls clone;
/// a child exits at once with `exit(2)` (a thread alone, a process whole) and t0 reaps it
/// with `__WALL`. Prints how many combinations each errno rejects.
#[test]
fn validity_matrix_both_entry_points() {
    let mut lab = lab();
    let profile = lab.hello.profile.clone();
    let config = CaseConfig { pages: 1 };
    for entry in [CloneEntry::Clone, CloneEntry::Clone3] {
        let mut summary: BTreeMap<String, u32> = BTreeMap::new();
        let mut model = Model::new(config, &profile);
        lab.backend.setup(&config).expect("setup");
        let mut tasks = 1;
        for i in 0..(1u32 << MATRIX.len()) {
            if tasks >= 60 {
                lab.backend.end().expect("end");
                lab.backend.setup(&config).expect("setup");
                model = Model::new(config, &profile);
                tasks = 1;
            }
            let flags = combo(i);
            let exit_signal = if entry == CloneEntry::Clone3
                && flags.any(CloneFlags::THREAD | CloneFlags::PARENT)
            {
                0
            } else {
                17
            };
            let c = Op {
                task: 0,
                kind: OpKind::Clone(CloneOp {
                    entry,
                    flags,
                    exit_signal,
                    args: Clone3Args::default(),
                }),
            };
            let out = both(&mut lab, &mut model, &c);
            let key = match &out {
                Outcome::Err(e) => e.to_string(),
                Outcome::Child(_) => "ok".to_string(),
                o => format!("{o}"),
            };
            *summary.entry(key).or_default() += 1;
            if let Outcome::Child(ch) = out {
                tasks += 1;
                let exit = Op {
                    task: ch,
                    kind: OpKind::Exit {
                        code: 0,
                        thread: true,
                    },
                };
                both(&mut lab, &mut model, &exit);
                if !flags.any(CloneFlags::THREAD | CloneFlags::PARENT) {
                    let wait = Op {
                        task: 0,
                        kind: OpKind::Wait {
                            target: WaitTarget::Task(ch),
                            options: WaitOptions {
                                all: true,
                                ..Default::default()
                            },
                        },
                    };
                    both(&mut lab, &mut model, &wait);
                }
            }
        }
        lab.backend.end().expect("end");
        eprintln!("{entry:?}: {summary:?}");
        assert_eq!(summary.values().sum::<u32>(), 1 << MATRIX.len());
    }
}
