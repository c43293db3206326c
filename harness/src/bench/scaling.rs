//! How the cost of one case grows along one axis at a time: sequence length, task count and
//! region size. Each point is a synthetic case (the same ops every repetition) run on one
//! lab, with end-of-case and with per-step snapshots; the figure is the median wall time per
//! case, setup and teardown included.

use super::median;
use crate::backend::{BResult, ProcessBackend};
use crate::run::{run_case, RunOptions, SnapshotMode};
use forkspec_model::diff::LevelFilter;
use forkspec_model::{Capabilities, Case, CaseConfig, Op, OpKind, Profile, Region};
use serde::Serialize;
use std::time::Instant;

/// One point of an axis.
#[derive(Serialize, Clone, Debug)]
pub struct Point {
    /// The value on the axis (ops, tasks or pages per region).
    pub x: u32,
    /// Median µs per case with one snapshot at the end.
    pub end_us: f64,
    /// Median µs per case with a snapshot after every op.
    pub step_us: f64,
}

/// The three axes.
#[derive(Serialize, Clone, Debug)]
pub struct Scaling {
    /// Ops per case (one task storing to and loading from its private region, 8 pages).
    pub by_length: Vec<Point>,
    /// Tasks per case (`t0` forks the others; 8 pages).
    pub by_tasks: Vec<Point>,
    /// Pages per region (a store to every region, a fork, a store by the child: 6 ops).
    pub by_pages: Vec<Point>,
}

fn op(task: u32, kind: OpKind) -> Op {
    Op { task, kind }
}

fn store(task: u32, region: Region, page: u32, byte: u8) -> Op {
    op(task, OpKind::MemWrite { region, page, byte })
}

/// `n` ops of `t0` on its private region: stores and loads over the 8 pages.
fn length_case(n: u32) -> Case {
    let ops = (0..n)
        .map(|i| {
            let page = i / 2 % 8;
            if i % 2 == 0 {
                store(0, Region::AnonPrivate, page, i as u8)
            } else {
                op(
                    0,
                    OpKind::MemRead {
                        region: Region::AnonPrivate,
                        page,
                    },
                )
            }
        })
        .collect();
    Case {
        config: CaseConfig { pages: 8 },
        ops,
    }
}

/// `t0` forks until there are `k` tasks.
fn tasks_case(k: u32) -> Case {
    Case {
        config: CaseConfig { pages: 8 },
        ops: (1..k).map(|_| op(0, OpKind::Fork)).collect(),
    }
}

/// Regions of `pages` pages: a store to page 0 of each region, a fork, a store by the child.
fn pages_case(pages: u32) -> Case {
    let mut ops: Vec<Op> = Region::ALL.iter().map(|&r| store(0, r, 0, 1)).collect();
    ops.push(op(0, OpKind::Fork));
    ops.push(store(1, Region::AnonPrivate, 0, 2));
    Case {
        config: CaseConfig { pages },
        ops,
    }
}

/// Median µs per run of `case` over `reps` runs.
fn per_case_us(
    b: &mut ProcessBackend,
    case: &Case,
    profile: &Profile,
    opts: &RunOptions,
    reps: usize,
) -> BResult<f64> {
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        let run = run_case(b, case, profile, opts)?;
        t.push(start.elapsed().as_secs_f64() * 1e6);
        if let Some(m) = run.mismatch {
            eprintln!(
                "bench: note: a scaling case diverged ({}); run `forkspec check` to see why",
                m.fingerprint
            );
        }
    }
    Ok(median(t))
}

fn axis(
    b: &mut ProcessBackend,
    profile: &Profile,
    caps: Capabilities,
    xs: &[u32],
    make: fn(u32) -> Case,
    reps: usize,
) -> BResult<Vec<Point>> {
    let opts = |snapshots| RunOptions {
        snapshots,
        levels: LevelFilter::All,
        caps,
    };
    xs.iter()
        .map(|&x| {
            let case = make(x);
            Ok(Point {
                x,
                end_us: per_case_us(b, &case, profile, &opts(SnapshotMode::End), reps)?,
                step_us: per_case_us(b, &case, profile, &opts(SnapshotMode::Step), reps)?,
            })
        })
        .collect()
}

/// Measures the three axes on lab `b`, `reps` runs per point and mode.
pub fn measure(
    b: &mut ProcessBackend,
    profile: &Profile,
    caps: Capabilities,
    reps: usize,
) -> BResult<Scaling> {
    Ok(Scaling {
        by_length: axis(b, profile, caps, &[1, 4, 16, 64], length_case, reps)?,
        by_tasks: axis(b, profile, caps, &[1, 2, 4, 8, 16], tasks_case, reps)?,
        by_pages: axis(b, profile, caps, &[1, 8, 64, 256], pages_case, reps)?,
    })
}

/// The scaling table as text.
pub fn render(s: &Scaling) -> String {
    let mut out = String::from("cost per case as it grows (1 worker; µs, end / step snapshots)\n");
    for (name, unit, pts) in [
        ("sequence length", "ops", &s.by_length),
        ("task count", "tasks", &s.by_tasks),
        ("region size", "pages", &s.by_pages),
    ] {
        out.push_str(&format!("  {name:<16}"));
        for p in pts {
            out.push_str(&format!(
                " {:>3} {unit}: {:>5.0} / {:>6.0}",
                p.x, p.end_us, p.step_us
            ));
        }
        out.push('\n');
    }
    out
}
