//! The `forkspec` command line.

use crate::backend::{BResult, Backend, ProcessBackend};
use crate::check::{check, examine, CaseFile, CheckConfig};
use crate::gen::{GenConfig, Mix};
use crate::report::{Divergence, NotCompared, Report};
use crate::run::{run_case, RunOptions, SnapshotMode};
use clap::{Args, Parser, Subcommand};
use forkspec_model::diff::LevelFilter;
use forkspec_model::protocol::Hello;
use forkspec_model::Capabilities;
use std::io::Write;
use std::path::PathBuf;

/// forkspec: conformance suite for Linux process creation.
#[derive(Parser, Debug)]
#[command(name = "forkspec", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run generated cases on the model and on the running kernel and report divergences.
    Check(CheckArgs),
    /// Rerun one saved case file, step by step, and show where it diverges.
    Replay(ReplayArgs),
    /// Measure the lab against the physical limits of this machine.
    Bench(BenchArgs),
    /// Serve the wire protocol on stdin/stdout against the running kernel (the Linux lab).
    #[command(hide = true)]
    Lab,
}

#[derive(Args, Debug)]
struct Target {
    /// Prefix command the lab runs under (an emulator, a sandbox, `strace -f -o /dev/null`).
    #[arg(long, value_name = "CMD")]
    runner: Option<String>,
    /// Which observations count.
    #[arg(long, value_enum, default_value = "all")]
    level: LevelArg,
    /// Per-op deadline in milliseconds: an op not done by then is reported as blocked.
    #[arg(long, default_value_t = 2000)]
    deadline_ms: u64,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LevelArg {
    Semantic,
    Internal,
    All,
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// Number of generated cases.
    #[arg(long, default_value_t = 1000)]
    cases: u64,
    /// Run seed (printed; the same seed generates the same cases).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Area of the generated ops.
    #[arg(long, value_enum, default_value = "all")]
    suite: Mix,
    /// When states are compared.
    #[arg(long, value_enum, default_value = "end")]
    snapshots: SnapshotMode,
    /// Longest generated sequence.
    #[arg(long, default_value_t = 24)]
    max_len: u32,
    /// Pages per region.
    #[arg(long, default_value_t = 8)]
    pages: u32,
    /// Directory for the case files of divergences.
    #[arg(long, default_value = "forkspec-divergences")]
    out: PathBuf,
    /// Report divergences as found, without shrinking them.
    #[arg(long)]
    no_shrink: bool,
    #[command(flatten)]
    target: Target,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Generated cases per throughput figure.
    #[arg(long, default_value_t = 1000)]
    cases: u64,
    /// Workers for the parallel figures (default: one per CPU).
    #[arg(long)]
    workers: Option<usize>,
    /// Write the figures as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ReplayArgs {
    /// The case file.
    file: PathBuf,
    #[command(flatten)]
    target: Target,
}

/// Runs the CLI and returns the process exit code: 0 agreement, 1 divergence, 2 usage or
/// environment error.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let r = match cli.command {
        Command::Lab => return crate::lab::serve(),
        Command::Check(a) => cmd_check(a),
        Command::Replay(a) => cmd_replay(a),
        Command::Bench(a) => cmd_bench(a),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("forkspec: error: {e:#}");
            2
        }
    }
}

struct Connected {
    backend: Box<dyn Backend>,
    hello: Hello,
    caps: Capabilities,
    levels: LevelFilter,
}

fn connector(t: &Target) -> anyhow::Result<impl FnMut() -> BResult<Box<dyn Backend>>> {
    let exe = std::env::current_exe()?;
    let runner: Vec<String> = match &t.runner {
        Some(r) => shell_words(r)?,
        None => Vec::new(),
    };
    let deadline = std::time::Duration::from_millis(t.deadline_ms);
    Ok(move || {
        let mut b = ProcessBackend::lab(&exe, &runner)?;
        b.op_deadline = deadline;
        Ok(Box::new(b) as Box<dyn Backend>)
    })
}

fn connect(
    t: &Target,
    conn: &mut dyn FnMut() -> BResult<Box<dyn Backend>>,
) -> anyhow::Result<Connected> {
    let mut backend = conn()?;
    let hello = backend.hello()?;
    let levels = match t.level {
        LevelArg::Semantic => LevelFilter::Semantic,
        LevelArg::Internal => LevelFilter::Internal,
        LevelArg::All => LevelFilter::All,
    };
    let caps = hello.capabilities.intersect(Capabilities::ALL);
    Ok(Connected {
        backend,
        hello,
        caps,
        levels,
    })
}

fn not_compared(caps: Capabilities, levels: LevelFilter) -> Vec<NotCompared> {
    let mut v: Vec<NotCompared> = caps
        .missing()
        .into_iter()
        .map(|(what, why)| NotCompared {
            what: what.into(),
            why: why.into(),
        })
        .collect();
    if levels == LevelFilter::Semantic {
        v.push(NotCompared {
            what: "internal".into(),
            why: "--level semantic: frames, presence, exclusivity and kcmp classes".into(),
        });
    }
    if levels == LevelFilter::Internal {
        v.push(NotCompared {
            what: "semantic".into(),
            why: "--level internal: values, fds, offsets and task states".into(),
        });
    }
    v
}

fn cmd_check(a: CheckArgs) -> anyhow::Result<i32> {
    if a.pages == 0 || a.pages > forkspec_model::MAX_PAGES {
        anyhow::bail!("--pages must be in 1..={}", forkspec_model::MAX_PAGES);
    }
    let mut conn = connector(&a.target)?;
    let c = connect(&a.target, &mut conn)?;
    drop(c.backend);
    let profile = c.hello.profile.clone();
    let cfg = CheckConfig {
        cases: a.cases,
        seed: a.seed,
        gen: GenConfig {
            mix: a.suite,
            max_len: a.max_len,
            pages: a.pages,
            ..GenConfig::default()
        },
        opts: RunOptions {
            snapshots: a.snapshots,
            levels: c.levels,
            caps: c.caps,
        },
        out_dir: a.out.clone(),
        shrink: !a.no_shrink,
    };
    let mut report = Report {
        implementation: c.hello.implementation.clone(),
        profile: Some(profile.clone()),
        suite: format!("{:?}", a.suite).to_lowercase(),
        seed: a.seed,
        not_compared: not_compared(c.caps, c.levels),
        ..Report::default()
    };
    println!(
        "forkspec check: {} cases, seed {}, suite {}, against {} ({})",
        a.cases,
        a.seed,
        report.suite,
        report.implementation,
        profile.describe()
    );
    let mut seen = 0;
    let mut progress = |_done: u64, r: &Report| {
        for d in &r.divergences[seen..] {
            println!("{}", d.render());
        }
        seen = r.divergences.len();
    };
    let result = check(&mut conn, &profile, &cfg, &mut report, &mut progress);
    print_summary(&report);
    if let Some(path) = &a.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n")
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        println!("report: {}", path.display());
    }
    result?;
    Ok(if !report.divergences.is_empty() {
        1
    } else if !report.errors.is_empty() {
        2
    } else {
        0
    })
}

fn print_summary(r: &Report) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "cases run: {}  ops: {}  divergences: {}  errors: {}",
        r.cases,
        r.ops,
        r.divergences.len(),
        r.errors.len()
    );
    for e in &r.errors {
        let _ = writeln!(out, "  error: {e}");
    }
    if r.not_compared.is_empty() {
        let _ = writeln!(
            out,
            "not compared: nothing (every observation kind compared)"
        );
    } else {
        let _ = writeln!(out, "not compared:");
        for n in &r.not_compared {
            let _ = writeln!(out, "  {}: {}", n.what, n.why);
        }
    }
    let _ = writeln!(
        out,
        "time: {:.2} s  cases/s: {:.1}",
        r.seconds, r.cases_per_s
    );
}

fn cmd_bench(a: BenchArgs) -> anyhow::Result<i32> {
    let exe = std::env::current_exe()?;
    let cfg = crate::bench::BenchConfig {
        cases: a.cases.max(5),
        workers: a
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    let r = crate::bench::run(&exe, &cfg)?;
    print!("{}", crate::bench::render(&r));
    if let Some(path) = &a.json {
        std::fs::write(path, serde_json::to_string_pretty(&r)? + "\n")
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        println!("report: {}", path.display());
    }
    Ok(0)
}

fn cmd_replay(a: ReplayArgs) -> anyhow::Result<i32> {
    let cf = CaseFile::load(&a.file)?;
    let mut conn = connector(&a.target)?;
    let mut c = connect(&a.target, &mut conn)?;
    let profile = c.hello.profile.clone();
    let opts = RunOptions {
        snapshots: SnapshotMode::Step,
        levels: c.levels,
        caps: c.caps,
    };
    println!(
        "replaying {} ({} ops) against {}",
        a.file.display(),
        cf.case.ops.len(),
        c.hello.implementation
    );
    let run = run_case(c.backend.as_mut(), &cf.case, &profile, &opts)?;
    for (i, s) in run.trace.iter().enumerate() {
        println!("  {i:>3}  {:<48} {}", s.op.to_string(), s.actual);
    }
    match run.mismatch {
        None => {
            println!("model and implementation agree");
            Ok(0)
        }
        Some(_) => {
            // examine() without shrinking gives the same located mismatch with its report.
            let (case, m) = examine(c.backend.as_mut(), &cf.case, &profile, &opts, false)?
                .unwrap_or_else(|| (cf.case.clone(), run.mismatch.clone().expect("mismatch")));
            let d = Divergence::new(&case, &m, cf.seed, Some(a.file.display().to_string()));
            println!("{}", d.render());
            Ok(1)
        }
    }
}

/// Splits a command line the way a POSIX shell would for simple quoting ('...', "...", \).
fn shell_words(s: &str) -> anyhow::Result<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => anyhow::bail!("unterminated ' in {s:?}"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => cur.push(chars.next().unwrap_or('\\')),
                        Some(c) => cur.push(c),
                        None => anyhow::bail!("unterminated \" in {s:?}"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next().unwrap_or('\\'));
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        anyhow::bail!("empty --runner command");
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::shell_words;

    #[test]
    fn runner_words() {
        assert_eq!(
            shell_words("strace -f -o '/dev/null' \"a b\"").unwrap(),
            vec!["strace", "-f", "-o", "/dev/null", "a b"]
        );
        assert!(shell_words("'open").is_err());
    }
}
