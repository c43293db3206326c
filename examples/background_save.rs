//! Background save by fork, measured on this kernel and compared with the model.
//!
//! ```sh
//! cargo run --release --example background_save                  # writes ./background_save.svg
//! cargo run --release --example background_save -- --out docs/background_save.svg  # the README plot
//! cargo run --release --example background_save -- --out FILE.svg --max-mib 256
//! ```
//!
//! Redis and Factorio save by forking: the child writes out the state it saw at fork time
//! while the parent keeps mutating it, and copy-on-write makes the fork cheap. For resident
//! states from 1 MiB to 1 GiB this program
//!
//! 1. maps a private anonymous state (`MADV_NOHUGEPAGE`, as the lab's regions) and writes
//!    every page;
//! 2. measures fork latency: the median of several forks of that process (each child exits
//!    at once);
//! 3. forks a saver child that stays alive, then dirties K distinct pages in the parent (an
//!    eighth of the state, some pages written twice), and at one size several values of K;
//! 4. observes, through `/proc/PID/pagemap` of parent and saver, which pages got a new frame:
//!    with CAP_SYS_ADMIN by comparing PFNs, without it (PFNs read as 0) by the "exclusively
//!    mapped" bit 56 only, and says so;
//! 5. lets the saver check that it still sees the fork-time state of every page;
//! 6. runs `forkspec_model::Model` on the same case and compares, page by page.
//!
//! The model caps regions at `MAX_PAGES` (256 pages, 1 MiB): at 1 MiB it runs the very case
//! measured; above that it runs the same pattern at 256 pages, and the per-page rule it shows
//! there (a page dirtied after the fork is copied once, the others stay shared) is
//! extrapolated to the larger state. The output says which is which. The exit status is 1 when
//! an observation disagrees with the model, 2 on errors.

use clap::Parser;
use forkspec_model::{CaseConfig, Model, Op, OpKind, Profile, Region, Snapshot, MAX_PAGES};
use plotters::prelude::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const PAGE: usize = 4096;
const MIB: usize = 1 << 20;

/// Background save by fork: fork latency and copied frames vs resident size, checked
/// against the model.
#[derive(Parser, Debug)]
struct Args {
    /// Where the plot goes (SVG). Not the tracked docs/background_save.svg unless asked for:
    /// a run on another machine would silently replace the README's figures.
    #[arg(long, visible_alias = "svg", default_value = "background_save.svg")]
    out: PathBuf,
    /// Largest resident state, in MiB (sizes are the powers of 2 from 1 MiB up to it).
    #[arg(long, default_value_t = 1024)]
    max_mib: usize,
    /// Forks per latency figure (the median is reported).
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Size (MiB) at which several values of K are measured.
    #[arg(long, default_value_t = 64)]
    sweep_mib: usize,
}

/// Pages dirtied by the parent after the fork, in write order: `k` distinct pages spread over
/// the state by an odd multiplier (a permutation of a power-of-two page count), then the
/// first quarter of them written again (a second write copies nothing).
fn dirty_pattern(pages: usize, k: usize) -> Vec<usize> {
    let k = k.min(pages);
    let distinct: Vec<usize> = (0..k).map(|i| (i * 7919) % pages).collect();
    let mut writes = distinct.clone();
    writes.extend_from_slice(&distinct[..k / 4]);
    writes
}

fn initial_byte(page: usize) -> u8 {
    (page % 251) as u8 + 1
}

fn dirty_byte(i: usize) -> u8 {
    0x80 | (i % 127) as u8
}

/// What one page looks like after the parent dirtied: whether parent and saver map different
/// frames (None when PFNs cannot be seen), and the two "exclusively mapped" bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PageObs {
    frames_differ: Option<bool>,
    parent_exclusive: bool,
    saver_exclusive: bool,
}

/// The model's per-page rule for one (size, K) pattern: what a dirtied page and a clean page
/// look like, and whether the model ran the measured case itself or a scaled one.
struct ModelRule {
    dirtied: PageObs,
    clean: PageObs,
    model_pages: usize,
    model_k: usize,
    saver_sees_fork_time: bool,
}

/// Runs the model on the pattern at min(pages, MAX_PAGES) and extracts the per-page rule;
/// errors when the model does not follow one rule per class (then nothing can be
/// extrapolated).
fn model_rule(pages: usize, k: usize) -> Result<ModelRule, String> {
    let mp = pages.min(MAX_PAGES as usize);
    let mk = if k == 0 {
        0
    } else {
        (k * mp).div_ceil(pages).max(1)
    };
    let mut m = Model::new(CaseConfig { pages: mp as u32 }, &Profile::default());
    let mut step = |task, kind| {
        m.step(&Op { task, kind }, None);
    };
    for p in 0..mp {
        step(
            0,
            OpKind::MemWrite {
                region: Region::AnonPrivate,
                page: p as u32,
                byte: initial_byte(p),
            },
        );
    }
    step(0, OpKind::Fork);
    let writes = dirty_pattern(mp, mk);
    for (i, &p) in writes.iter().enumerate() {
        step(
            0,
            OpKind::MemWrite {
                region: Region::AnonPrivate,
                page: p as u32,
                byte: dirty_byte(i),
            },
        );
    }
    let snap: Snapshot = m.snapshot();
    let region = |t| {
        snap.task(t)
            .map(|v| v.memory[Region::AnonPrivate.index()].pages.clone())
            .ok_or_else(|| format!("the model has no t{t}"))
    };
    let (parent, saver) = (region(0)?, region(1)?);
    let dirty: std::collections::BTreeSet<usize> = writes.iter().copied().collect();
    let mut rule: [Option<PageObs>; 2] = [None, None];
    let mut saver_ok = true;
    for p in 0..mp {
        let obs = PageObs {
            frames_differ: Some(parent[p].frame != saver[p].frame),
            parent_exclusive: parent[p].exclusive,
            saver_exclusive: saver[p].exclusive,
        };
        saver_ok &= saver[p].value == Some(initial_byte(p));
        let class = usize::from(dirty.contains(&p));
        match rule[class] {
            None => rule[class] = Some(obs),
            Some(r) if r == obs => {}
            Some(r) => {
                return Err(format!(
                    "the model has no single rule for {} pages: {r:?} vs {obs:?} (page {p})",
                    if class == 1 { "dirtied" } else { "clean" }
                ))
            }
        }
    }
    // A class with no page (K = 0, or every page dirtied) never occurs in the extrapolation.
    let none = PageObs {
        frames_differ: None,
        parent_exclusive: false,
        saver_exclusive: false,
    };
    Ok(ModelRule {
        clean: rule[0].unwrap_or(none),
        dirtied: rule[1].unwrap_or(none),
        model_pages: mp,
        model_k: mk,
        saver_sees_fork_time: saver_ok,
    })
}

/// The private anonymous state, unmapped on drop.
struct State {
    base: *mut u8,
    len: usize,
}

impl State {
    fn new(len: usize) -> Result<State, String> {
        // SAFETY: a fresh private anonymous mapping; the result is checked.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(format!("mmap {len}: {}", std::io::Error::last_os_error()));
        }
        let s = State {
            base: base.cast(),
            len,
        };
        // SAFETY: the range is the mapping just made. Huge pages would make one fault copy
        // 512 pages' worth of mapping decisions; the model (and the lab) use 4 KiB pages.
        if unsafe { libc::madvise(base, len, libc::MADV_NOHUGEPAGE) } != 0 {
            return Err(format!("madvise: {}", std::io::Error::last_os_error()));
        }
        Ok(s)
    }

    fn pages(&self) -> usize {
        self.len / PAGE
    }

    fn write(&self, page: usize, byte: u8) {
        assert!(page < self.pages());
        // SAFETY: in bounds of the live mapping; volatile so every store really faults.
        unsafe { std::ptr::write_volatile(self.base.add(page * PAGE), byte) }
    }

    fn read(&self, page: usize) -> u8 {
        assert!(page < self.pages());
        // SAFETY: in bounds of the live mapping.
        unsafe { std::ptr::read_volatile(self.base.add(page * PAGE)) }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping this value owns.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

/// Forks; the child runs `child` (raw system calls only, then `_exit`), the parent gets the
/// pid and the time fork took.
fn fork_timed(child: impl FnOnce() -> i32) -> Result<(libc::pid_t, Duration), String> {
    let t = Instant::now();
    // SAFETY: the program is single-threaded; the child only runs `child` and `_exit`s.
    let pid = unsafe { libc::fork() };
    let took = t.elapsed();
    match pid {
        -1 => Err(format!("fork: {}", std::io::Error::last_os_error())),
        0 => {
            let code = child();
            // SAFETY: leaving the child without running the parent's exit handlers.
            unsafe { libc::_exit(code) }
        }
        pid => Ok((pid, took)),
    }
}

fn reap(pid: libc::pid_t) -> Result<i32, String> {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    if r != pid {
        return Err(format!("waitpid: {}", std::io::Error::last_os_error()));
    }
    Ok(status)
}

/// Median fork latency of the state's process over `runs` forks.
fn fork_latency(runs: usize) -> Result<Duration, String> {
    let mut times = vec![];
    for _ in 0..runs.max(1) {
        let (pid, took) = fork_timed(|| 0)?;
        reap(pid)?;
        times.push(took);
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// Reads `pages` pagemap entries of `pid`'s mapping at `addr`.
fn pagemap(pid: Option<libc::pid_t>, addr: usize, pages: usize) -> Result<Vec<u64>, String> {
    use std::os::unix::fs::FileExt;
    let path = match pid {
        None => "/proc/self/pagemap".to_string(),
        Some(p) => format!("/proc/{p}/pagemap"),
    };
    let f = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
    let mut buf = vec![0u8; pages * 8];
    f.read_exact_at(&mut buf, (addr / PAGE * 8) as u64)
        .map_err(|e| format!("{path}: {e}"))?;
    Ok(buf
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect())
}

const PRESENT: u64 = 1 << 63;
const EXCLUSIVE: u64 = 1 << 56;
const PFN_MASK: u64 = (1 << 55) - 1;

/// One background save measured.
struct Save {
    pages: usize,
    k: usize,
    writes: usize,
    copies: usize,
    pfns: bool,
    agree: bool,
    saver_mismatches: usize,
    rule: ModelRule,
    problems: Vec<String>,
}

/// The saver: waits for the parent's go, counts the pages whose value is not the fork-time
/// one, reports the count and exits when the parent closes the pipe (or dies).
fn saver(state: &State, go: i32, report: i32) -> i32 {
    // SAFETY: raw calls on our own fds; no allocation in the child.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        let mut b = 0u8;
        if libc::read(go, (&mut b as *mut u8).cast(), 1) != 1 {
            return 1;
        }
        let mismatches = (0..state.pages())
            .filter(|&p| state.read(p) != initial_byte(p))
            .count() as u64;
        let bytes = mismatches.to_le_bytes();
        libc::write(report, bytes.as_ptr().cast(), 8);
        while libc::read(go, (&mut b as *mut u8).cast(), 1) > 0 {}
    }
    0
}

fn pipe() -> Result<(i32, i32), String> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe2: {}", std::io::Error::last_os_error()));
    }
    Ok((fds[0], fds[1]))
}

fn close(fd: i32) {
    // SAFETY: closing a descriptor this program owns.
    unsafe { libc::close(fd) };
}

/// Forks a saver of `state`, dirties `k` pages, observes and compares with the model.
fn background_save(state: &State, k: usize) -> Result<Save, String> {
    let pages = state.pages();
    let rule = model_rule(pages, k)?;
    let (go_r, go_w) = pipe()?;
    let (rep_r, rep_w) = pipe()?;
    let (pid, _) = fork_timed(|| {
        close(go_w);
        close(rep_r);
        saver(state, go_r, rep_w)
    })?;
    close(go_r);
    close(rep_w);
    let result = observe(state, pid, k, go_w, rep_r);
    // Closing the go pipe lets the saver exit (it would also die with us).
    close(go_w);
    close(rep_r);
    let status = reap(pid)?;
    let (copies, pfns, obs, saver_mismatches, writes) = result?;
    if status != 0 {
        return Err(format!("the saver exited with status {status:#x}"));
    }
    let dirty: std::collections::BTreeSet<usize> = dirty_pattern(pages, k).into_iter().collect();
    let mut problems = vec![];
    for (p, o) in obs.iter().enumerate() {
        let mut want = if dirty.contains(&p) {
            rule.dirtied
        } else {
            rule.clean
        };
        if !pfns {
            want.frames_differ = None;
        }
        if *o != want && problems.len() < 5 {
            problems.push(format!("page {p}: observed {o:?}, model {want:?}"));
        }
    }
    for &p in &dirty {
        if state.read(p) & 0x80 == 0 && problems.len() < 5 {
            problems.push(format!("page {p}: the parent lost its own write"));
        }
    }
    // Back to the initial state for the next save (the pages are the parent's alone now).
    for &p in &dirty {
        state.write(p, initial_byte(p));
    }
    if (saver_mismatches == 0) != rule.saver_sees_fork_time {
        problems.push(format!(
            "the saver saw {saver_mismatches} pages changed since the fork; the model says it sees the fork-time state: {}",
            rule.saver_sees_fork_time
        ));
    }
    Ok(Save {
        pages,
        k: dirty.len(),
        writes,
        copies,
        pfns,
        agree: problems.is_empty(),
        saver_mismatches,
        rule,
        problems,
    })
}

type Observed = (usize, bool, Vec<PageObs>, usize, usize);

fn observe(
    state: &State,
    pid: libc::pid_t,
    k: usize,
    go_w: i32,
    rep_r: i32,
) -> Result<Observed, String> {
    let pages = state.pages();
    let writes = dirty_pattern(pages, k);
    for (i, &p) in writes.iter().enumerate() {
        state.write(p, dirty_byte(i));
    }
    let addr = state.base as usize;
    let parent = pagemap(None, addr, pages)?;
    let child = pagemap(Some(pid), addr, pages)?;
    if let Some(p) = (0..pages).find(|&p| parent[p] & child[p] & PRESENT == 0) {
        return Err(format!("page {p} is not present in both processes"));
    }
    let pfns = parent.iter().any(|e| e & PFN_MASK != 0);
    let obs: Vec<PageObs> = (0..pages)
        .map(|p| PageObs {
            frames_differ: pfns.then(|| parent[p] & PFN_MASK != child[p] & PFN_MASK),
            parent_exclusive: parent[p] & EXCLUSIVE != 0,
            saver_exclusive: child[p] & EXCLUSIVE != 0,
        })
        .collect();
    // A copy is a new frame for the parent: a different PFN, or (without PFNs) the parent's
    // page exclusive again while the saver still maps the old one.
    let copies = obs
        .iter()
        .filter(|o| o.frames_differ.unwrap_or(o.parent_exclusive))
        .count();
    // SAFETY: one byte from a live local, eight into a live local buffer.
    let mismatches = unsafe {
        if libc::write(go_w, [1u8].as_ptr().cast(), 1) != 1 {
            return Err("cannot signal the saver".into());
        }
        let mut b = [0u8; 8];
        if libc::read(rep_r, b.as_mut_ptr().cast(), 8) != 8 {
            return Err("the saver did not report".into());
        }
        u64::from_le_bytes(b) as usize
    };
    Ok((copies, pfns, obs, mismatches, writes.len()))
}

fn main() {
    // Output piped into `head` ends the program quietly, as it would a C tool (Rust ignores
    // SIGPIPE and would panic on the failed print); a live saver dies with us (PDEATHSIG).
    // SAFETY: restoring the default disposition of one signal before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let args = Args::parse();
    match run(&args) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("background_save: error: {e}");
            std::process::exit(2);
        }
    }
}

fn run(args: &Args) -> Result<bool, String> {
    let started = Instant::now();
    let sizes: Vec<usize> = (0..=20)
        .map(|i| 1usize << i)
        .take_while(|&m| m <= args.max_mib.max(1))
        .collect();
    println!(
        "background save by fork: states {} MiB .. {} MiB, the parent dirties 1/8 of the pages \
         (a quarter of them twice) while the saver is alive; fork latency = median of {} forks",
        sizes[0],
        sizes[sizes.len() - 1],
        args.runs
    );
    if !sizes.contains(&args.sweep_mib) {
        println!(
            "no K sweep: --sweep-mib {} is not one of the sizes",
            args.sweep_mib
        );
    }
    let mut fraction = vec![];
    let mut sweep = vec![];
    let mut latency = vec![];
    for &mib in &sizes {
        let state = State::new(mib * MIB)?;
        for p in 0..state.pages() {
            state.write(p, initial_byte(p));
        }
        let lat = fork_latency(args.runs)?;
        latency.push((mib, lat));
        fraction.push(background_save(&state, state.pages() / 8)?);
        if mib == args.sweep_mib {
            let n = state.pages();
            let mut ks = vec![0, 1, 16, 256, n / 16, n / 2, n];
            ks.sort();
            ks.dedup();
            for k in ks {
                sweep.push(background_save(&state, k)?);
            }
        }
    }
    let pfns = fraction.iter().all(|s| s.pfns);
    println!(
        "copies observed by {}",
        if pfns {
            "comparing the PFNs of parent and saver in /proc/PID/pagemap (CAP_SYS_ADMIN)"
        } else {
            "the exclusive bit 56 of /proc/PID/pagemap only: PFNs read as 0 without \
             CAP_SYS_ADMIN, so frames are not compared"
        }
    );
    println!();
    println!(
        "{:>9} {:>7} {:>11} {:>9} {:>8} {:>8} {:>8}  {:<30} agree",
        "state", "pages", "fork (ms)", "dirtied", "writes", "copies", "model", "model run"
    );
    let lat_of = |pages: usize| {
        latency
            .iter()
            .find(|(m, _)| m * MIB / PAGE == pages)
            .map_or(0.0, |(_, d)| d.as_secs_f64() * 1e3)
    };
    let mut all_agree = true;
    for s in fraction.iter().chain(&sweep) {
        let predicted = if s.rule.dirtied.frames_differ == Some(true) {
            s.k
        } else {
            0
        } + if s.rule.clean.frames_differ == Some(true) {
            s.pages - s.k
        } else {
            0
        };
        let how = if s.rule.model_pages == s.pages {
            format!("exact ({} pages, K={})", s.rule.model_pages, s.rule.model_k)
        } else {
            format!(
                "extrapolated ({} pages, K={})",
                s.rule.model_pages, s.rule.model_k
            )
        };
        println!(
            "{:>5} MiB {:>7} {:>11.3} {:>9} {:>8} {:>8} {:>8}  {:<30} {}",
            s.pages * PAGE / MIB,
            s.pages,
            lat_of(s.pages),
            s.k,
            s.writes,
            s.copies,
            predicted,
            how,
            if s.agree { "yes" } else { "NO" }
        );
        all_agree &= s.agree && s.copies == predicted;
        for p in &s.problems {
            println!("          {p}");
        }
        if s.saver_mismatches != 0 {
            println!(
                "          the saver saw {} pages changed",
                s.saver_mismatches
            );
        }
    }
    println!();
    println!(
        "The saver saw the fork-time state in every run: {}.",
        if fraction
            .iter()
            .chain(&sweep)
            .all(|s| s.saver_mismatches == 0)
        {
            "yes"
        } else {
            "NO"
        }
    );
    println!(
        "The model caps regions at {MAX_PAGES} pages (1 MiB): at 1 MiB it runs the measured case \
         itself; above, it runs the same pattern at {MAX_PAGES} pages and its per-page rule \
         (dirtied: copied once, parent and saver each map their frame exclusively; clean: one \
         shared frame) is extrapolated to the larger state."
    );
    plot(&args.out, &latency, &fraction, &sweep)?;
    println!("plot: {}", args.out.display());
    println!(
        "time: {:.1} s; model and kernel {}",
        started.elapsed().as_secs_f64(),
        if all_agree { "agree" } else { "DISAGREE" }
    );
    Ok(all_agree)
}

fn plot(
    out: &std::path::Path,
    latency: &[(usize, Duration)],
    fraction: &[Save],
    sweep: &[Save],
) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| format!("plot {}: {e}", out.display());
    let root = SVGBackend::new(out, (1100, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let (left, right) = root.split_horizontally(550);
    let max_mib = latency.last().map_or(1, |l| l.0) as f64;
    let ms: Vec<f64> = latency.iter().map(|l| l.1.as_secs_f64() * 1e3).collect();
    let max_ms = ms.iter().copied().fold(0.001, f64::max);
    let min_ms = ms.iter().copied().fold(max_ms, f64::min);
    let mut c = ChartBuilder::on(&left)
        .caption("fork latency vs resident state", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(
            (0.8f64..max_mib * 1.25).log_scale(),
            (min_ms / 2.0..max_ms * 2.0).log_scale(),
        )
        .map_err(|x| e(&x))?;
    c.configure_mesh()
        .x_label_formatter(&|v| format!("{v}"))
        .y_label_formatter(&|v| format!("{v}"))
        .x_desc("resident state (MiB)")
        .y_desc("fork (ms, median)")
        .draw()
        .map_err(|x| e(&x))?;
    let pts: Vec<(f64, f64)> = latency
        .iter()
        .map(|(m, d)| (*m as f64, d.as_secs_f64() * 1e3))
        .collect();
    c.draw_series(LineSeries::new(pts.clone(), BLUE.stroke_width(2)))
        .map_err(|x| e(&x))?;
    c.draw_series(pts.iter().map(|p| Circle::new(*p, 4, BLUE.filled())))
        .map_err(|x| e(&x))?;

    let points = |v: &[Save]| -> Vec<(f64, f64)> {
        v.iter()
            .filter(|s| s.k > 0)
            .map(|s| (s.k as f64, s.copies.max(1) as f64))
            .collect()
    };
    let (fr, sw) = (points(fraction), points(sweep));
    let max_k = fr.iter().chain(&sw).map(|p| p.0).fold(10.0, f64::max) * 2.0;
    let mut c = ChartBuilder::on(&right)
        .caption("frames copied vs pages dirtied", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d((0.8f64..max_k).log_scale(), (0.8f64..max_k).log_scale())
        .map_err(|x| e(&x))?;
    c.configure_mesh()
        .x_label_formatter(&|v| format!("{v}"))
        .y_label_formatter(&|v| format!("{v}"))
        .x_desc("distinct pages dirtied after fork")
        .y_desc("frames copied (pagemap)")
        .draw()
        .map_err(|x| e(&x))?;
    c.draw_series(LineSeries::new(
        vec![(1.0, 1.0), (max_k, max_k)],
        RED.stroke_width(1),
    ))
    .map_err(|x| e(&x))?
    .label("model: one copy per distinct dirtied page")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    c.draw_series(fr.iter().map(|p| Circle::new(*p, 5, BLUE.filled())))
        .map_err(|x| e(&x))?
        .label("1/8 of the state, 1 MiB .. max")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, BLUE.filled()));
    let sweep_label = sweep
        .first()
        .map(|s| format!("K sweep at {} MiB", s.pages * PAGE / MIB))
        .unwrap_or_default();
    c.draw_series(
        sw.iter()
            .map(|p| TriangleMarker::new(*p, 7, GREEN.filled())),
    )
    .map_err(|x| e(&x))?
    .label(sweep_label)
    .legend(|(x, y)| TriangleMarker::new((x + 10, y), 7, GREEN.filled()));
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))?;
    Ok(())
}
