//! The `forkspec` command line.

use crate::baseline::Baseline;
use crate::check::{check_parallel, examine, CaseFile, CheckConfig};
use crate::gen::{GenConfig, Mix, OpSet};
use crate::outln;
use crate::outputs::{check_dir, check_file, Dest};
use crate::progress::Progress;
use crate::report::{Divergence, Report};
use crate::run::{op_kind_name, run_case, RunOptions, SnapshotMode};
use crate::target::{connector, Connected, TargetArgs};
use clap::{Args, Parser, Subcommand};
use forkspec_model::diff::LevelFilter;
use forkspec_model::Profile;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// forkspec: conformance suite for Linux process creation.
#[derive(Parser, Debug)]
#[command(name = "forkspec", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run generated cases on the model and on an implementation (the running kernel by
    /// default) and report divergences.
    Check(CheckArgs),
    /// Rerun one saved case file, step by step, and show where it diverges.
    Replay(ReplayArgs),
    /// Measure the lab against the physical limits of this machine.
    Bench(BenchArgs),
    /// Manage baselines of known divergences.
    #[command(subcommand)]
    Baseline(BaselineCmd),
    /// Export generated cases with the model's expected traces.
    #[command(subcommand)]
    Corpus(CorpusCmd),
    /// Generate docs/coverage.md (behaviours × the tests that check them) from the
    /// `// covers:` annotations of the source tree, or check that it is up to date.
    Coverage(CoverageArgs),
    /// Run CMD with chosen system calls (ENOSYS), prctl options or ioctl requests (EINVAL)
    /// refused by a seccomp filter, e.g. as a runner:
    /// `forkspec check --runner 'forkspec restrict --deny pidfds,kcmp --'`.
    Restrict {
        /// Comma-separated: system call names (`pidfd_open`, `kcmp`, `clone3`, ...), the group
        /// `pidfds`, `prctl:OPTION` (`prctl:PR_SET_CHILD_SUBREAPER`), `ioctl:REQUEST`
        /// (`ioctl:PIDFD_GET_INFO`, `ioctl:PROCMAP_QUERY`); each may end in `=ERRNO`.
        #[arg(long, value_name = "LIST")]
        deny: String,
        /// The command and its arguments.
        #[arg(last = true, required = true, value_name = "CMD")]
        cmd: Vec<String>,
    },
    /// Serve the wire protocol on stdin/stdout against the running kernel (the Linux lab).
    #[command(hide = true)]
    Lab {
        /// Drop to this `UID:GID` (no supplementary groups) before anything else; started
        /// as root by `--as-user`.
        #[arg(long, value_name = "UID:GID")]
        as_user: Option<String>,
    },
    /// The init of a `--kernel` VM: started by the guest kernel as /init of the initramfs.
    #[command(hide = true)]
    VmInit {
        /// Run the lab as this `UID:GID`.
        #[arg(long, value_name = "UID:GID")]
        as_user: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum BaselineCmd {
    /// Run a check and record the divergences it finds as the baseline FILE.
    Write {
        /// The baseline file to write.
        file: PathBuf,
        #[command(flatten)]
        check: CheckArgs,
    },
}

#[derive(Subcommand, Debug)]
enum CorpusCmd {
    /// Write generated cases with their expected traces (per-step allowed outcomes and
    /// snapshots) into DIR, for simulators to replay without forkspec.
    Export(ExportArgs),
}

#[derive(Args, Debug)]
struct GenArgs {
    /// Number of generated cases (at least 1).
    #[arg(long, default_value_t = 1000, value_parser = crate::ranges::cases(), allow_negative_numbers = true)]
    cases: u64,
    /// Run seed (printed; the same seed generates the same cases).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Area of the generated ops.
    #[arg(long, value_enum, default_value = "all")]
    suite: Mix,
    /// Longest generated sequence (at least 1 op).
    #[arg(long, default_value_t = 24, value_parser = crate::ranges::max_len(), allow_negative_numbers = true)]
    max_len: u32,
    /// Pages per region (1 to 256).
    #[arg(long, default_value_t = 8, value_parser = crate::ranges::pages(), allow_negative_numbers = true)]
    pages: u32,
}

impl GenArgs {
    fn config(&self, ops: OpSet) -> anyhow::Result<GenConfig> {
        if self.pages == 0 || self.pages > forkspec_model::MAX_PAGES {
            anyhow::bail!("--pages must be in 1..={}", forkspec_model::MAX_PAGES);
        }
        Ok(GenConfig {
            mix: self.suite,
            max_len: self.max_len,
            pages: self.pages,
            ops,
            ..GenConfig::default()
        })
    }

    fn suite_name(&self) -> String {
        format!("{:?}", self.suite).to_lowercase()
    }
}

#[derive(Args, Debug)]
struct ExportArgs {
    /// Output directory.
    dir: PathBuf,
    #[command(flatten)]
    gen: GenArgs,
    /// Only these op kinds, comma-separated (e.g. `fork,mem_write,mem_read`).
    #[arg(long, value_delimiter = ',', value_name = "KINDS")]
    ops: Option<Vec<String>>,
}

#[derive(Args, Debug)]
struct CheckArgs {
    #[command(flatten)]
    gen: GenArgs,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report here (one test case per divergence fingerprint).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a Markdown report here (fits a GitHub job summary).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Known divergences (from `forkspec baseline write`): they do not fail the run; new
    /// ones do; the ones not seen any more are announced as fixed. With `baseline write`:
    /// its entries the run does not reach are kept in the baseline written.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// When states are compared.
    #[arg(long, value_enum, default_value = "end")]
    snapshots: SnapshotMode,
    /// Directory for the case files of divergences.
    #[arg(long, default_value = "forkspec-divergences")]
    out: PathBuf,
    /// Report divergences as found, without shrinking them.
    #[arg(long)]
    no_shrink: bool,
    /// Replays (with per-step snapshots) that confirm a divergence before it is reported;
    /// one that does not show in every replay is flaky.
    #[arg(long, value_name = "N", default_value_t = crate::check::DEFAULT_REPLAYS,
          value_parser = clap::value_parser!(u32).range(1..))]
    replays: u32,
    /// Whether flaky divergences fail the run (exit 1) or are only reported.
    #[arg(long, value_enum, default_value = "warn")]
    flaky: crate::report::FlakyPolicy,
    /// Workers, each with its own backend (its own lab process, pinned to its own CPU):
    /// default one per CPU this process may run on, never more than the cases. The report is
    /// the same for any number (apart from the timing fields).
    #[arg(short = 'j', long, value_name = "N", value_parser = crate::ranges::workers(), allow_negative_numbers = true)]
    jobs: Option<u32>,
    #[command(flatten)]
    target: TargetArgs,
}

impl CheckArgs {
    /// The number of workers: `--jobs`, else one per CPU; at most one per case, at least one.
    fn jobs(&self) -> usize {
        let wanted = match self.jobs {
            Some(n) => n as usize,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let cases = usize::try_from(self.gen.cases).unwrap_or(usize::MAX);
        wanted.min(cases).max(1)
    }
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Generated cases per throughput figure.
    #[arg(long, default_value_t = 1000, value_parser = crate::ranges::cases(), allow_negative_numbers = true)]
    cases: u64,
    /// Workers for the parallel figures (default: one per CPU); `--jobs`/`-j` as for check.
    #[arg(long, short = 'j', visible_alias = "jobs", value_name = "N", value_parser = crate::ranges::workers(), allow_negative_numbers = true)]
    workers: Option<u32>,
    /// Write the figures as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct CoverageArgs {
    /// Root of the forkspec source tree (holding suites/ and model/src/).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Where the matrix goes (default ROOT/docs/coverage.md; `-` for stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write nothing; exit 1 when the file differs from what the sources give.
    #[arg(long)]
    check: bool,
}

#[derive(Args, Debug)]
struct ReplayArgs {
    /// The case file (a saved divergence, or a corpus file).
    file: PathBuf,
    #[command(flatten)]
    target: TargetArgs,
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
        Command::Lab { as_user } => return crate::lab::serve_as(as_user.as_deref()),
        Command::Restrict { deny, cmd } => return restrict(&deny, &cmd),
        Command::VmInit { as_user } => return crate::vm::guest::init_main(as_user.as_deref()),
        Command::Check(a) => cmd_check(a),
        Command::Replay(a) => cmd_replay(a),
        Command::Bench(a) => cmd_bench(a),
        Command::Baseline(BaselineCmd::Write { file, check }) => cmd_baseline_write(&file, check),
        Command::Corpus(CorpusCmd::Export(a)) => cmd_export(a),
        Command::Coverage(a) => cmd_coverage(a),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("forkspec: error: {e:#}");
            2
        }
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn restrict(deny: &str, cmd: &[String]) -> i32 {
    crate::restrict::run(deny, cmd)
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn restrict(_: &str, _: &[String]) -> i32 {
    eprintln!("forkspec restrict: needs Linux on x86_64 (seccomp)");
    2
}

fn level_name(l: LevelFilter) -> &'static str {
    match l {
        LevelFilter::Semantic => "semantic",
        LevelFilter::Internal => "internal",
        LevelFilter::All => "all",
    }
}

/// Runs the check of `a`; the report is complete as far as the run went, and the error (if
/// any) says why it stopped early. Returns the number of workers too.
/// Divergences `known` accepts (those of the `--baseline`) are announced in one line.
fn run_check(
    a: &CheckArgs,
    known: &dyn Fn(&str) -> bool,
) -> anyhow::Result<(Report, usize, anyhow::Result<()>)> {
    let conn = connector(&a.target)?;
    let c = Connected::open(&a.target, &conn)?;
    let profile = c.hello.profile.clone();
    let cfg = CheckConfig {
        cases: a.gen.cases,
        seed: a.gen.seed,
        gen: GenConfig {
            blocking: c.hello.blocked_by_deadline.is_none(),
            orphans: c.caps.orphans,
            ..a.gen.config(c.ops)?
        },
        opts: RunOptions {
            snapshots: a.snapshots,
            levels: c.levels,
            caps: c.caps,
        },
        out_dir: a.out.clone(),
        shrink: !a.no_shrink,
        replays: a.replays,
    };
    let mut report = Report {
        implementation: c.hello.implementation.clone(),
        profile: Some(profile.clone()),
        suite: a.gen.suite_name(),
        seed: a.gen.seed,
        level: level_name(c.levels).into(),
        not_compared: c.not_compared(),
        flaky_policy: a.flaky,
        ..Report::default()
    };
    drop(c);
    // The host's page movers matter only to a lab on the host's kernel.
    let movers = if a.target.on_this_kernel() {
        crate::disturb::probe(Path::new("/sys/kernel/mm"))
    } else {
        Vec::new()
    };
    outln!(
        "forkspec check: {} cases, seed {}, suite {}, level {}, against {} ({})",
        a.gen.cases,
        a.gen.seed,
        report.suite,
        report.level,
        report.implementation,
        profile.describe()
    );
    let mut bar = Progress::new(a.gen.cases);
    let mut seen = 0;
    let mut progress = |done: u64, r: &Report| {
        if r.divergences.len() > seen {
            let print_new = || {
                for d in &r.divergences[seen..] {
                    if known(&d.fingerprint) {
                        outln!(
                            "KNOWN {} ({} level, {} ops): in the baseline: {}",
                            d.fingerprint,
                            d.level,
                            d.sequence.len(),
                            d.cause
                        );
                    } else {
                        let d = crate::disturb::attribute(d.clone(), &movers);
                        outln!("{}", with_target(d, &a.target).render());
                    }
                }
            };
            match &bar {
                Some(b) => b.suspend(print_new),
                None => print_new(),
            }
            seen = r.divergences.len();
        }
        if let Some(b) = &mut bar {
            b.update(done, r.divergences.len());
        }
    };
    let jobs = a.jobs();
    let result = check_parallel(&*conn, jobs, &profile, &cfg, &mut report, &mut progress);
    drop(bar);
    report.divergences = std::mem::take(&mut report.divergences)
        .into_iter()
        .map(|d| with_target(crate::disturb::attribute(d, &movers), &a.target))
        .collect();
    Ok((report, jobs, result.map_err(anyhow::Error::from)))
}

/// `d` with a replay command that names the target it was found on (backend, runner,
/// level, ...): without them `forkspec replay` would rerun the case on the running kernel.
fn with_target(mut d: Divergence, target: &TargetArgs) -> Divergence {
    if let Some(file) = &d.case_file {
        let words = ["forkspec".to_string(), "replay".into(), file.clone()];
        d.replay = Some(shell_words::join(words.into_iter().chain(target.to_args())));
    }
    d
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

impl CheckArgs {
    /// Checks the output options before anything runs: each report's directory takes a
    /// file, `--out` can be made, at most one report goes to stdout (`-`, and then the
    /// human-readable output goes to stderr).
    fn check_outputs(&self) -> anyhow::Result<()> {
        let reports = self.reports();
        for (option, path) in &reports {
            check_file(option, path)?;
        }
        let to_stdout: Vec<&str> = reports
            .iter()
            .filter(|(_, p)| *p == Path::new("-"))
            .map(|(o, _)| *o)
            .collect();
        if to_stdout.len() > 1 {
            anyhow::bail!(
                "{} all name stdout (-): at most one may",
                to_stdout.join(", ")
            );
        }
        if !to_stdout.is_empty() {
            crate::interrupt::text_to_stderr();
        }
        check_dir("--out", &self.out)
    }

    fn reports(&self) -> Vec<(&'static str, &Path)> {
        [
            ("--json", &self.json),
            ("--junit", &self.junit),
            ("--markdown", &self.markdown),
        ]
        .into_iter()
        .filter_map(|(o, p)| p.as_deref().map(|p| (o, p)))
        .collect()
    }
}

fn cmd_check(a: CheckArgs) -> anyhow::Result<i32> {
    a.check_outputs()?;
    // A malformed baseline is a usage error before anything runs.
    let baseline = a
        .baseline
        .as_ref()
        .map(|p| Baseline::load(p).map(|b| (p, b)))
        .transpose()?;
    crate::interrupt::install()?;
    let known = |fp: &str| {
        baseline
            .as_ref()
            .is_some_and(|(_, b)| b.divergences.iter().any(|e| e.fingerprint == fp))
    };
    let (mut report, jobs, result) = run_check(&a, &known)?;
    if let Some((path, b)) = &baseline {
        report.baseline = Some(b.apply(path, &mut report.divergences));
    }
    print_summary(&report, jobs, a.gen.cases);
    // Every report is attempted; the first failure is the error.
    let mut failed = None;
    type Render = fn(&Report) -> String;
    let renders: [(&Option<PathBuf>, &str, Render); 3] = [
        (&a.json, "report", |r| {
            serde_json::to_string_pretty(r).expect("reports serialize") + "\n"
        }),
        (&a.junit, "junit", crate::junit::render),
        (&a.markdown, "markdown", crate::markdown::render),
    ];
    for (path, what, render) in renders {
        let Some(path) = path else { continue };
        match Dest::new(path).write(&render(&report)) {
            Ok(Some(shown)) => outln!("{what}: {shown}"),
            Ok(None) => {}
            Err(e) => {
                eprintln!("forkspec: error: {e:#}");
                failed.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    if let Some(sig) = crate::interrupt::cause() {
        return Ok(crate::interrupt::exit_code(sig));
    }
    result?;
    Ok(report.exit_code())
}

fn cmd_baseline_write(file: &Path, a: CheckArgs) -> anyhow::Result<i32> {
    check_file("baseline write", file)?;
    a.check_outputs()?;
    // Read before the run, so that a bad one fails at once.
    let old = a.baseline.as_deref().map(Baseline::load).transpose()?;
    crate::interrupt::install()?;
    let (report, jobs, result) = run_check(&a, &|_| false)?;
    print_summary(&report, jobs, a.gen.cases);
    if let Some(sig) = crate::interrupt::cause() {
        anyhow::bail!(
            "stopped early ({}): baseline {} not written",
            crate::interrupt::describe(sig),
            file.display()
        );
    }
    result?;
    if !report.errors.is_empty() {
        anyhow::bail!(
            "{} case(s) could not be run: baseline {} not written",
            report.errors.len(),
            file.display()
        );
    }
    let mut written = Baseline::from_report(&report);
    // `--baseline OLD` accumulates: OLD's entries this run did not reach are kept (after
    // this run's), so a baseline can gather what several runs found.
    let mut kept = 0;
    if let Some(old) = old {
        for e in old.divergences {
            if !written
                .divergences
                .iter()
                .any(|d| d.fingerprint == e.fingerprint)
            {
                written.divergences.push(e);
                kept += 1;
            }
        }
    }
    written.save(file)?;
    outln!(
        "baseline: {} ({} known divergence(s){})",
        file.display(),
        written.divergences.len(),
        match (&a.baseline, kept) {
            (Some(old), k) => format!(", {k} of them kept from {}", old.display()),
            (None, _) => String::new(),
        }
    );
    Ok(0)
}

fn print_summary(r: &Report, jobs: usize, planned: u64) {
    let mut out = String::new();
    if let Some(sig) = crate::interrupt::cause() {
        let _ = writeln!(
            out,
            "stopped early ({}): {} of {planned} cases run; the summary and reports cover those",
            crate::interrupt::describe(sig),
            r.cases
        );
    }
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
    if let Some(b) = &r.baseline {
        let _ = writeln!(
            out,
            "baseline {}: {} known, {} new, {} fixed",
            b.file,
            b.known.len(),
            b.new.len(),
            b.fixed.len()
        );
        for fp in &b.new {
            let _ = writeln!(out, "  NEW   {fp}");
        }
        for fp in &b.fixed {
            let _ = writeln!(
                out,
                "  FIXED {fp} (in the baseline, not seen in this run: remove it)"
            );
        }
    }
    let _ = writeln!(out, "level compared: {}", r.level);
    if r.not_compared.is_empty() {
        let _ = writeln!(
            out,
            "not compared: nothing (every observation kind compared)"
        );
    } else {
        let _ = writeln!(out, "not compared:");
        let mut ops = vec![];
        for n in &r.not_compared {
            match n.what.strip_prefix("op:") {
                // An op left out for a reason of its own (exec without a route that stays
                // inside the runner) gets its own line.
                Some(_) if !n.why.starts_with("the backend does not implement it") => {
                    let _ = writeln!(out, "  {}: {}", n.what, n.why);
                }
                Some(op) => ops.push(op),
                None => {
                    let _ = writeln!(out, "  {}: {}", n.what, n.why);
                }
            }
        }
        if !ops.is_empty() {
            let _ = writeln!(
                out,
                "  ops not implemented by the backend (not generated): {}",
                ops.join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "time: {:.2} s  cases/s: {:.1}  jobs: {jobs}",
        r.seconds, r.cases_per_s
    );
    crate::interrupt::print(&out);
}

fn cmd_bench(a: BenchArgs) -> anyhow::Result<i32> {
    let exe = std::env::current_exe()?;
    let cfg = crate::bench::BenchConfig {
        cases: a.cases.max(5),
        workers: a
            .workers
            .map(|n| n as usize)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    if let Some(path) = &a.json {
        check_file("--json", path)?;
        if path == Path::new("-") {
            crate::interrupt::text_to_stderr();
        }
    }
    let r = crate::bench::run(&exe, &cfg)?;
    crate::interrupt::print(&crate::bench::render(&r));
    if let Some(path) = &a.json {
        if let Some(shown) = Dest::new(path).write(&(serde_json::to_string_pretty(&r)? + "\n"))? {
            outln!("report: {shown}");
        }
    }
    Ok(0)
}

fn cmd_replay(a: ReplayArgs) -> anyhow::Result<i32> {
    let cf = CaseFile::load(&a.file)?;
    let conn = connector(&a.target)?;
    let mut c = Connected::open(&a.target, &conn)?;
    let missing: Vec<&str> = cf
        .case
        .ops
        .iter()
        .map(op_kind_name)
        .filter(|k| !c.implements(k))
        .collect();
    if let Some(k) = missing.first() {
        anyhow::bail!(
            "{}: the case uses op kind `{k}`, which {} does not implement (not in its hello `ops`)",
            a.file.display(),
            c.hello.implementation
        );
    }
    let profile = c.hello.profile.clone();
    let opts = RunOptions {
        snapshots: SnapshotMode::Step,
        levels: c.levels,
        caps: c.caps,
    };
    outln!(
        "replaying {} ({} ops) against {}, level {}",
        a.file.display(),
        cf.case.ops.len(),
        c.hello.implementation,
        level_name(c.levels)
    );
    let run = run_case(c.backend.as_mut(), &cf.case, &profile, &opts)?;
    for (i, s) in run.trace.iter().enumerate() {
        outln!("  {i:>3}  {:<48} {}", s.op.to_string(), s.actual);
    }
    match run.mismatch {
        None => {
            outln!("model and implementation agree");
            Ok(0)
        }
        Some(first) => {
            // examine() without shrinking gives the same located mismatch with its report.
            let file = Some(a.file.display().to_string());
            let d = match examine(c.backend.as_mut(), &cf.case, &profile, &opts, false)? {
                Some(f) => {
                    Divergence::new(&f.case, &f.mismatch, cf.seed, file).confirmed(&f.confirmation)
                }
                None => Divergence::new(&cf.case, &first, cf.seed, file),
            };
            outln!("{}", d.render());
            Ok(1)
        }
    }
}

fn cmd_export(a: ExportArgs) -> anyhow::Result<i32> {
    let ops = match &a.ops {
        None => OpSet::ALL,
        Some(names) => {
            let (set, unknown) = OpSet::from_names(names);
            if let Some(u) = unknown.first() {
                anyhow::bail!(
                    "--ops: unknown op kind `{u}` (known: {})",
                    crate::gen::GEN_OP_KINDS.join(", ")
                );
            }
            set
        }
    };
    let gen = a.gen.config(ops)?;
    let profile = Profile::default();
    let index = crate::corpus::export(
        &a.dir,
        a.gen.cases,
        a.gen.seed,
        &a.gen.suite_name(),
        &gen,
        &profile,
    )?;
    outln!(
        "corpus: {} cases in {} (index.json; expectations for {})",
        index.cases.len(),
        a.dir.display(),
        profile.describe()
    );
    Ok(0)
}

fn cmd_coverage(a: CoverageArgs) -> anyhow::Result<i32> {
    use crate::coverage::{check_doc, generate, Sources, CATALOGUE};
    let sources = Sources::load(&a.root)?;
    let m = generate(&sources);
    if !m.scan.problems.is_empty() {
        eprintln!("forkspec coverage: the annotations or the catalogue are wrong:");
        for p in &m.scan.problems {
            eprintln!("  {p}");
        }
        return Ok(1);
    }
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.root.join("docs/coverage.md"));
    if a.check {
        let current = std::fs::read_to_string(&out)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", out.display()))?;
        let mut problems = check_doc(&current, CATALOGUE, &m.scan);
        if current != m.text {
            problems.push(format!(
                "{} is stale: it differs from what the sources give (run `forkspec coverage`)",
                out.display()
            ));
        }
        if problems.is_empty() {
            outln!("{} is up to date", out.display());
            return Ok(0);
        }
        for p in &problems {
            eprintln!("forkspec coverage: {p}");
        }
        return Ok(1);
    }
    if out == Path::new("-") {
        crate::interrupt::print(&m.text);
        return Ok(0);
    }
    write_file(&out, &m.text)?;
    let checked = CATALOGUE
        .iter()
        .filter(|b| {
            m.scan
                .tests
                .iter()
                .any(|t| t.covers.iter().any(|c| c == b.id))
        })
        .count();
    outln!(
        "coverage: {} ({} behaviours, {} checked, {} annotated tests)",
        out.display(),
        CATALOGUE.len(),
        checked,
        m.scan.tests.iter().filter(|t| !t.covers.is_empty()).count()
    );
    Ok(0)
}
