//! `forkspec bench`: the lab's speed against the physical limits of this machine, measured
//! side by side in one run. Every figure is a median over repeated samples.

mod bare;
pub mod scaling;

use crate::backend::{BResult, Backend, ProcessBackend};
use crate::check::{case_for_seed, case_seed};
use crate::gen::{GenConfig, Mix};
use crate::run::{run_case, RunOptions, SnapshotMode};
use forkspec_model::diff::LevelFilter;
use forkspec_model::{Capabilities, Case, FcntlCmd, Model, Op, OpKind, Profile, WaitTarget};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// Settings of a bench run.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Generated cases per throughput figure.
    pub cases: u64,
    /// Worker count for the parallel figures (default: one per CPU).
    pub workers: usize,
}

/// The physical limits.
#[derive(Serialize, Clone, Debug)]
pub struct Bare {
    /// Same-CPU pipe round trip between two processes, µs.
    pub rtt_us: f64,
    /// fork + exit + wait of a tiny process, µs.
    pub fork_us: f64,
}

/// The lab's own costs.
#[derive(Serialize, Clone, Debug)]
pub struct Lab {
    /// A no-op command from the harness to an agent and back (an fcntl on a closed fd), µs.
    pub rtt_us: f64,
    /// The Fork op, µs.
    pub fork_op_us: f64,
    /// Setting a case up and tearing it down, µs.
    pub setup_teardown_us: f64,
    /// A request the lab answers itself (`hello`), no agent involved: the harness-lab hop
    /// alone, µs.
    pub protocol_rtt_us: f64,
}

/// Generated cases per second of the standard mix.
#[derive(Serialize, Clone, Debug)]
pub struct Throughput {
    /// End-of-case snapshots, one worker.
    pub end_snapshots_1_worker: f64,
    /// End-of-case snapshots, one worker per CPU.
    pub end_snapshots_all_workers: f64,
    /// Per-step snapshots, one worker.
    pub step_snapshots_1_worker: f64,
    /// Per-step snapshots, one worker per CPU.
    pub step_snapshots_all_workers: f64,
    /// Workers used for the parallel figures.
    pub workers: usize,
    /// Mean ops per generated case.
    pub ops_per_case: f64,
    /// CPU time per case with end-of-case snapshots (harness, labs and case tasks, user +
    /// system), ms: what bounds cases/s once the CPUs are busy.
    pub end_cpu_ms_per_case: f64,
    /// The same with per-step snapshots, ms.
    pub step_cpu_ms_per_case: f64,
}

/// Ratios against the physical limits.
#[derive(Serialize, Clone, Debug)]
pub struct Ratios {
    /// lab RTT / bare RTT (target ≤ 1.5).
    pub lab_rtt_over_bare_rtt: f64,
    /// Fork op / bare fork (target ≤ 1.3).
    pub fork_op_over_bare_fork: f64,
}

/// The whole bench report (stable keys).
#[derive(Serialize, Clone, Debug)]
pub struct BenchReport {
    /// The implementation measured.
    pub implementation: String,
    /// CPUs online.
    pub cpus: usize,
    /// Physical limits.
    pub bare: Bare,
    /// Lab costs.
    pub lab: Lab,
    /// Cases per second.
    pub cases_per_s: Throughput,
    /// Model steps per second of the measuring thread's CPU time (no backend).
    pub model_ops_per_s: f64,
    /// Model steps per second of wall time (on a loaded machine, lower than the CPU figure
    /// by the share of the CPU other processes took).
    pub model_ops_per_wall_s: f64,
    /// Ratios.
    pub ratios: Ratios,
    /// Each target with whether this run met it.
    pub targets: Vec<Target>,
    /// How the cost of one case grows with sequence length, task count and region size.
    pub scaling: scaling::Scaling,
}

/// One target of issue 5 and whether it was met.
#[derive(Serialize, Clone, Debug)]
pub struct Target {
    /// What is measured.
    pub what: String,
    /// The goal.
    pub goal: String,
    /// The figure.
    pub value: f64,
    /// Met or not.
    pub met: bool,
    /// When not met: what bounds it, with the figures of this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound: Option<String>,
}

/// Median of samples (0 when empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn op(task: u32, kind: OpKind) -> Op {
    Op { task, kind }
}

fn lab(exe: &Path) -> BResult<ProcessBackend> {
    let mut b = ProcessBackend::lab(exe, &[])?;
    b.hello()?;
    Ok(b)
}

fn measure_lab(exe: &Path) -> BResult<(Lab, String)> {
    let mut b = lab(exe)?;
    let name = b.hello()?.implementation;
    let cfg = forkspec_model::CaseConfig::default();
    let noop = op(
        0,
        OpKind::Fcntl {
            fd: 900,
            cmd: FcntlCmd::GetFd,
        },
    );
    let mut rtt = Vec::new();
    b.setup(&cfg)?;
    for _ in 0..30 {
        let t = Instant::now();
        for _ in 0..100 {
            b.op(&noop, false)?;
        }
        rtt.push(t.elapsed().as_secs_f64() * 1e6 / 100.0);
    }
    b.end()?;
    let mut forks = Vec::new();
    for _ in 0..15 {
        b.setup(&cfg)?;
        for k in 1..=20u32 {
            let t = Instant::now();
            b.op(&op(0, OpKind::Fork), false)?;
            forks.push(t.elapsed().as_secs_f64() * 1e6);
            b.op(
                &op(
                    k,
                    OpKind::Exit {
                        code: 0,
                        thread: false,
                    },
                ),
                false,
            )?;
            b.op(
                &op(
                    0,
                    OpKind::Wait {
                        target: WaitTarget::Task(k),
                        options: Default::default(),
                    },
                ),
                false,
            )?;
        }
        b.end()?;
    }
    let mut hop = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        for _ in 0..100 {
            b.hello_again()?;
        }
        hop.push(t.elapsed().as_secs_f64() * 1e6 / 100.0);
    }
    let mut setup = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        b.setup(&cfg)?;
        b.end()?;
        setup.push(t.elapsed().as_secs_f64() * 1e6);
    }
    Ok((
        Lab {
            rtt_us: median(rtt),
            fork_op_us: median(forks),
            setup_teardown_us: median(setup),
            protocol_rtt_us: median(hop),
        },
        name,
    ))
}

/// Cases per second over `cases` generated cases split among `workers` labs: the median of
/// five batch rates.
fn throughput(
    exe: &Path,
    cases: &[Case],
    profile: &Profile,
    caps: Capabilities,
    snapshots: SnapshotMode,
    workers: usize,
) -> BResult<(f64, f64)> {
    let opts = RunOptions {
        snapshots,
        levels: LevelFilter::All,
        caps,
    };
    let mut labs = (0..workers)
        .map(|_| lab(exe))
        .collect::<BResult<Vec<_>>>()?;
    let mut rates = Vec::new();
    let mut cpu = Vec::new();
    for batch in cases.chunks(cases.len().div_ceil(5).max(1)) {
        let cpu0 = cpu_s(&labs);
        let t = Instant::now();
        // Each worker takes the next case not yet taken, as `check --jobs` does: a fixed
        // share per worker would leave one idle while the other finishes longer cases.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let diverged = std::thread::scope(|s| {
            let handles: Vec<_> = labs
                .iter_mut()
                .map(|b| {
                    let next = &next;
                    s.spawn(move || -> BResult<u64> {
                        let mut diverged = 0;
                        while let Some(c) =
                            batch.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                        {
                            if run_case(b, c, profile, &opts)?.mismatch.is_some() {
                                diverged += 1;
                            }
                        }
                        Ok(diverged)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("bench worker panicked"))
                .sum::<BResult<u64>>()
        })?;
        if diverged > 0 {
            eprintln!("bench: note: {diverged} cases diverged (run `forkspec check` to see them)");
        }
        rates.push(batch.len() as f64 / t.elapsed().as_secs_f64());
        cpu.push((cpu_s(&labs) - cpu0) * 1e3 / batch.len() as f64);
    }
    Ok((median(rates), median(cpu)))
}

/// CPU seconds used so far by this process (all threads) and by the labs with their reaped
/// case tasks and their live children (/proc/PID/stat utime, stime, cutime, cstime). A case
/// task alive at the moment of reading is counted once reaped, in a later sample.
fn cpu_s(labs: &[ProcessBackend]) -> f64 {
    let me = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).map_or(
        0.0,
        |ru| {
            let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 * 1e-6;
            tv(ru.user_time()) + tv(ru.system_time())
        },
    );
    let hz = rustix::param::clock_ticks_per_second().max(1) as f64;
    // A lab's live children count too: its zygote does the work of starting every `t0`
    // and is reaped only when the lab exits.
    let pids = labs.iter().flat_map(|l| {
        let kids = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", l.pid()))
            .unwrap_or_default();
        std::iter::once(l.pid())
            .chain(kids.split_whitespace().filter_map(|p| p.parse().ok()))
            .collect::<Vec<u32>>()
    });
    let labs: f64 = pids
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .filter_map(|s| {
            // Fields after the command name: state is field 3, utime..cstime are 14..17.
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split(' ').collect();
            Some(
                f.get(11..15)?
                    .iter()
                    .filter_map(|x| x.parse::<f64>().ok())
                    .sum::<f64>(),
            )
        })
        .sum();
    me + labs / hz
}

/// Model steps per second, per second of this thread's CPU time and per second of wall time:
/// the medians of nine samples, each running the cases over and over for at least 100 ms
/// (one pass over a few hundred cases takes a few ms, too short to be more than noise). The
/// model makes no system calls, so its CPU time is what it costs; the wall time also counts
/// the time other processes of a loaded machine held the CPU.
fn model_ops_per_s(cases: &[Case], profile: &Profile) -> (f64, f64) {
    let ops: usize = cases.iter().map(|c| c.ops.len()).sum();
    if ops == 0 {
        return (0.0, 0.0);
    }
    let mut cpu_rates = Vec::new();
    let mut wall_rates = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        let c0 = thread_cpu_s();
        let mut done = 0usize;
        while done == 0 || t.elapsed().as_secs_f64() < 0.1 {
            for c in cases {
                let mut m = Model::new(c.config, profile);
                for o in &c.ops {
                    std::hint::black_box(m.step(o, None));
                }
            }
            done += ops;
        }
        let cpu = thread_cpu_s() - c0;
        wall_rates.push(done as f64 / t.elapsed().as_secs_f64());
        if cpu > 0.0 {
            cpu_rates.push(done as f64 / cpu);
        }
    }
    (median(cpu_rates), median(wall_rates))
}

/// CPU time of the calling thread, in seconds.
fn thread_cpu_s() -> f64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Runs every measurement; `exe` is the forkspec binary that serves the lab.
pub fn run(exe: &Path, cfg: &BenchConfig) -> BResult<BenchReport> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    bare::pin_to(0);
    let rtt = bare::pipe_rtt_us(30, 2000);
    let fork = bare::fork_exit_wait_us(500);
    bare::unpin(cpus);
    let bare = Bare {
        rtt_us: median(rtt),
        fork_us: median(fork),
    };
    let (lab_costs, implementation) = measure_lab(exe)?;
    let mut probe = lab(exe)?;
    let hello = probe.hello()?;
    drop(probe);
    let profile = hello.profile.clone();
    let gen = GenConfig {
        mix: Mix::All,
        ..GenConfig::default()
    };
    let cases: Vec<Case> = (0..cfg.cases)
        .map(|i| case_for_seed(case_seed(1, i), &gen, &profile))
        .collect();
    let ops_per_case =
        cases.iter().map(|c| c.ops.len()).sum::<usize>() as f64 / cases.len().max(1) as f64;
    let caps = hello.capabilities;
    let w = cfg.workers.max(1);
    let (end_1, end_cpu) = throughput(exe, &cases, &profile, caps, SnapshotMode::End, 1)?;
    let (end_w, _) = throughput(exe, &cases, &profile, caps, SnapshotMode::End, w)?;
    let (step_1, step_cpu) = throughput(exe, &cases, &profile, caps, SnapshotMode::Step, 1)?;
    let (step_w, _) = throughput(exe, &cases, &profile, caps, SnapshotMode::Step, w)?;
    let cases_per_s = Throughput {
        end_snapshots_1_worker: end_1,
        end_snapshots_all_workers: end_w,
        step_snapshots_1_worker: step_1,
        step_snapshots_all_workers: step_w,
        workers: w,
        ops_per_case,
        end_cpu_ms_per_case: end_cpu,
        step_cpu_ms_per_case: step_cpu,
    };
    let scaling = {
        let mut b = lab(exe)?;
        scaling::measure(&mut b, &profile, caps, 15)?
    };
    // The lab measurements pinned this thread to a lab's CPU; the model runs wherever the
    // scheduler finds room.
    bare::unpin(cpus);
    let (model, model_wall) = model_ops_per_s(&cases, &profile);
    let ratios = Ratios {
        lab_rtt_over_bare_rtt: lab_costs.rtt_us / bare.rtt_us,
        fork_op_over_bare_fork: lab_costs.fork_op_us / bare.fork_us,
    };
    let t = |what: &str, goal: &str, value: f64, met: bool| Target {
        what: what.into(),
        goal: goal.into(),
        value,
        met,
        bound: None,
    };
    let targets = vec![
        t(
            "lab RTT / bare RTT",
            "<= 1.5",
            ratios.lab_rtt_over_bare_rtt,
            ratios.lab_rtt_over_bare_rtt <= 1.5,
        ),
        t(
            "Fork op / bare fork",
            "<= 1.3",
            ratios.fork_op_over_bare_fork,
            ratios.fork_op_over_bare_fork <= 1.3,
        ),
        t(
            "cases/s, end snapshots, all workers",
            ">= 1000",
            cases_per_s.end_snapshots_all_workers,
            cases_per_s.end_snapshots_all_workers >= 1000.0,
        ),
        t(
            "cases/s, per-step snapshots, all workers",
            ">= 300",
            cases_per_s.step_snapshots_all_workers,
            cases_per_s.step_snapshots_all_workers >= 300.0,
        ),
        t("model ops/s", ">= 2000000", model, model >= 2e6),
    ];
    let bounds = bounds(&bare, &lab_costs, &cases_per_s, cpus, model);
    let targets = targets
        .into_iter()
        .zip(bounds)
        .map(|(t, b)| Target {
            bound: (!t.met).then_some(b),
            ..t
        })
        .collect();
    Ok(BenchReport {
        implementation,
        cpus,
        bare,
        lab: lab_costs,
        cases_per_s,
        model_ops_per_s: model,
        model_ops_per_wall_s: model_wall,
        ratios,
        targets,
        scaling,
    })
}

/// What bounds each target (in the order of the targets), from this run's figures and the
/// profile in docs/performance.md.
fn bounds(bare: &Bare, lab: &Lab, c: &Throughput, cpus: usize, model: f64) -> [String; 5] {
    let cpus = cpus as f64;
    [
        format!(
            "a lab op is two pipe round trips (harness -> lab -> agent and back: 4 wake-ups, \
             floor {:.1} us = 2x bare) plus JSON on both sides; {:.1} us measured, of which \
             the harness-lab hop alone (a request the lab answers itself) is {:.1} us ({:.2}x \
             bare) and the lab-agent hop the other {:.1} us",
            2.0 * bare.rtt_us,
            lab.rtt_us,
            lab.protocol_rtt_us,
            lab.protocol_rtt_us / bare.rtt_us.max(1e-9),
            (lab.rtt_us - lab.protocol_rtt_us).max(0.0)
        ),
        format!(
            "the Fork op is a fork of a tiny agent plus one lab round trip ({:.1} us); \
             bare fork {:.1} us",
            lab.rtt_us, bare.fork_us
        ),
        format!(
            "CPU: {:.2} ms per case (harness + lab + tasks; kernel fork/exit, /proc reads, \
             pipe wake-ups) caps {} CPUs at {:.0} cases/s when nothing else runs",
            c.end_cpu_ms_per_case,
            cpus,
            cpus * 1e3 / c.end_cpu_ms_per_case.max(1e-9)
        ),
        format!(
            "CPU: {:.2} ms per case with a snapshot after each of {:.1} ops caps {} CPUs at \
             {:.0} cases/s when nothing else runs",
            c.step_cpu_ms_per_case,
            c.ops_per_case,
            cpus,
            cpus * 1e3 / c.step_cpu_ms_per_case.max(1e-9)
        ),
        format!(
            "CPU: {:.0} ns per step on this CPU (BTreeMap-based state, one allocation per \
             outcome)",
            1e9 / model.max(1e-9)
        ),
    ]
}

/// The report as text.
pub fn render(r: &BenchReport) -> String {
    let c = &r.cases_per_s;
    let mut s = format!(
        "forkspec bench against {} ({} CPUs); medians\n\
         physical limits\n\
         \x20 pipe round trip, same CPU      {:>10.2} µs\n\
         \x20 fork + exit + wait             {:>10.2} µs\n\
         lab\n\
         \x20 no-op command round trip       {:>10.2} µs   ({:.2}x bare RTT)\n\
         \x20 Fork op                        {:>10.2} µs   ({:.2}x bare fork)\n\
         \x20 case setup + teardown          {:>10.2} µs\n\
         \x20 harness-lab hop alone (hello)  {:>10.2} µs   ({:.2}x bare RTT)\n\
         generated cases/s (standard mix, {:.1} ops/case)\n\
         \x20 end snapshots,  1 worker       {:>10.1}\n\
         \x20 end snapshots,  {} workers      {:>10.1}\n\
         \x20 step snapshots, 1 worker       {:>10.1}\n\
         \x20 step snapshots, {} workers      {:>10.1}\n\
         \x20 CPU per case, end / step       {:>10.2} / {:.2} ms\n\
         model alone                       {:>10.0} ops/s per CPU second ({:.0} per wall second)\n",
        r.implementation,
        r.cpus,
        r.bare.rtt_us,
        r.bare.fork_us,
        r.lab.rtt_us,
        r.ratios.lab_rtt_over_bare_rtt,
        r.lab.fork_op_us,
        r.ratios.fork_op_over_bare_fork,
        r.lab.setup_teardown_us,
        r.lab.protocol_rtt_us,
        r.lab.protocol_rtt_us / r.bare.rtt_us.max(1e-9),
        c.ops_per_case,
        c.end_snapshots_1_worker,
        c.workers,
        c.end_snapshots_all_workers,
        c.step_snapshots_1_worker,
        c.workers,
        c.step_snapshots_all_workers,
        c.end_cpu_ms_per_case,
        c.step_cpu_ms_per_case,
        r.model_ops_per_s,
        r.model_ops_per_wall_s,
    );
    s.push_str(&scaling::render(&r.scaling));
    s.push_str("targets\n");
    for t in &r.targets {
        s.push_str(&format!(
            "  {:<42} {:>12.2}  goal {:<9} {}\n",
            t.what,
            t.value,
            t.goal,
            if t.met { "met" } else { "NOT met" }
        ));
        if let Some(b) = &t.bound {
            s.push_str(&format!("      bound: {b}\n"));
        }
    }
    s
}
