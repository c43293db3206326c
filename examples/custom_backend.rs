//! A simulator written in Rust, checked in-process through the `Backend` trait.
//!
//! ```sh
//! cargo run --example custom_backend            # 0 divergences
//! cargo run --example custom_backend -- --buggy # fork shares private memory: caught
//! ```
//!
//! The simulator implements fork, exit, wait and loads/stores on the four regions, observes
//! no page tables, frames or kcmp classes, and says so in its hello; forkspec generates only
//! the ops it lists and compares only what it observes.

use forkspec::backend::{BResult, Backend, BackendError};
use forkspec::check::{check, CheckConfig};
use forkspec::gen::{GenConfig, Mix, OpSet};
use forkspec::report::Report;
use forkspec::run::{RunOptions, SnapshotMode};
use forkspec_model::protocol::{Hello, PROTOCOL_VERSION};
use forkspec_model::*;
use std::collections::BTreeMap;

/// One simulated task.
#[derive(Clone)]
struct Task {
    parent: Parent,
    state: TaskState,
    /// The op a blocked task waits in (a wait for a live child).
    blocked_on: Option<Op>,
    reaped: bool,
    children: Vec<TaskId>,
    /// anon_private and file_private pages this task wrote (region index 0 or 2, page).
    private: BTreeMap<(usize, u32), u8>,
}

/// The simulator's state of one case.
struct Sim {
    pages: u32,
    tasks: Vec<Task>,
    /// anon_shared and file_shared pages (the file starts with `data_file_byte`).
    shared: BTreeMap<(usize, u32), u8>,
}

/// The backend: a case at a time; `buggy` makes fork share private memory.
struct MiniSim {
    case: Option<Sim>,
    buggy: bool,
}

const OPS: [&str; 5] = ["fork", "exit", "wait", "mem_read", "mem_write"];

impl Sim {
    fn new(pages: u32) -> Sim {
        Sim {
            pages,
            tasks: vec![Task {
                parent: Parent::Reaper,
                state: TaskState::Live,
                blocked_on: None,
                reaped: false,
                children: vec![],
                private: BTreeMap::new(),
            }],
            shared: BTreeMap::new(),
        }
    }

    fn initial(region: Region, page: u32) -> u8 {
        if region.is_file() {
            data_file_byte(u64::from(page) * PAGE_SIZE)
        } else {
            0
        }
    }

    /// Runs `op`; a task it blocks waits in it, and after every op each blocked task retries
    /// its op: a child's exit wakes a wait, which then completes (its result is the outcome
    /// of no step) and leaves the task live again.
    fn step(&mut self, op: &Op, buggy: bool) -> Result<Outcome, String> {
        let t = op.task as usize;
        match self.tasks.get(t) {
            Some(task) if !task.reaped && task.state == TaskState::Live => {}
            _ => return Ok(Outcome::Err(Errno::ESRCH)),
        }
        let outcome = self.apply(op, buggy)?;
        if outcome == Outcome::Blocked {
            self.tasks[t].state = TaskState::Blocked;
            self.tasks[t].blocked_on = Some(op.clone());
        }
        self.wake(buggy)?;
        Ok(outcome)
    }

    /// Retries the op of every blocked task until none completes.
    fn wake(&mut self, buggy: bool) -> Result<(), String> {
        loop {
            let mut progress = false;
            for t in 0..self.tasks.len() {
                if self.tasks[t].reaped || self.tasks[t].state != TaskState::Blocked {
                    continue;
                }
                let Some(op) = self.tasks[t].blocked_on.clone() else {
                    continue;
                };
                if self.apply(&op, buggy)? != Outcome::Blocked {
                    self.tasks[t].state = TaskState::Live;
                    self.tasks[t].blocked_on = None;
                    progress = true;
                }
            }
            if !progress {
                return Ok(());
            }
        }
    }

    /// What `op` does in its (live or blocked) task.
    fn apply(&mut self, op: &Op, buggy: bool) -> Result<Outcome, String> {
        let t = op.task as usize;
        Ok(match &op.kind {
            OpKind::Fork => {
                if self.tasks.len() >= 64 {
                    return Ok(Outcome::Err(Errno::EAGAIN));
                }
                let label = self.tasks.len() as TaskId;
                let mut child = self.tasks[t].clone();
                child.parent = Parent::Task(op.task);
                child.children.clear();
                if buggy {
                    // The bug: the child's private pages are not copied.
                    child.private.clear();
                }
                self.tasks.push(child);
                self.tasks[t].children.push(label);
                Outcome::Child(label)
            }
            OpKind::Exit { code, .. } => {
                let children = std::mem::take(&mut self.tasks[t].children);
                for c in children {
                    self.tasks[c as usize].parent = Parent::Reaper;
                }
                self.tasks[t].state = TaskState::Zombie(ExitStatus::Exited(*code as u8));
                self.tasks[t].private.clear();
                Outcome::Exited
            }
            OpKind::Wait { target, options } => {
                // Every child here was forked, so its exit signal is SIGCHLD: `__WCLONE`
                // (wait for "clone" children, those with another exit signal) selects none of
                // them unless `__WALL` widens it again (kernel/exit.c: eligible_child).
                let eligible = options.all || !options.clone;
                let matches = |c: &TaskId| {
                    eligible
                        && match target {
                            // Every task here stays in t0's process group.
                            WaitTarget::Any | WaitTarget::OwnGroup => true,
                            WaitTarget::Task(x) => x == c,
                            WaitTarget::Group(g) => *g == 0,
                        }
                };
                if !self.tasks[t].children.iter().any(matches) {
                    return Ok(Outcome::Err(Errno::ECHILD));
                }
                let zombie = self.tasks[t].children.iter().copied().find(|c| {
                    matches(c) && matches!(self.tasks[*c as usize].state, TaskState::Zombie(_))
                });
                match zombie {
                    None if options.nohang => Outcome::Ret(0),
                    None => Outcome::Blocked,
                    Some(c) => {
                        self.tasks[t].children.retain(|x| *x != c);
                        self.tasks[c as usize].reaped = true;
                        let TaskState::Zombie(status) = self.tasks[c as usize].state else {
                            unreachable!("found as a zombie")
                        };
                        Outcome::Reaped { task: c, status }
                    }
                }
            }
            OpKind::MemRead { region, page } | OpKind::MemWrite { region, page, .. } => {
                if *page >= self.pages {
                    return Err(format!("page {page} out of range"));
                }
                let key = (region.index(), *page);
                // Unwritten private file pages show the file, which shared stores change.
                let file_key = (Region::FileShared.index(), *page);
                let fallback = match region {
                    Region::FilePrivate => self.shared.get(&file_key).copied(),
                    _ => None,
                }
                .unwrap_or_else(|| Sim::initial(*region, *page));
                let store = if region.is_shared() {
                    &mut self.shared
                } else {
                    &mut self.tasks[t].private
                };
                match &op.kind {
                    OpKind::MemWrite { byte, .. } => {
                        store.insert(key, *byte);
                        Outcome::Ret(0)
                    }
                    _ => {
                        let v = store.get(&key).copied().unwrap_or(fallback);
                        Outcome::Data(vec![v])
                    }
                }
            }
            other => return Err(format!("unsupported op {other:?}")),
        })
    }

    fn snapshot(&self) -> Snapshot {
        let page = Page {
            mapped: true,
            present: false,
            exclusive: false,
            value: None,
            frame: None,
        };
        let tasks = self
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.reaped)
            .map(|(label, t)| {
                let live = !matches!(t.state, TaskState::Zombie(_));
                TaskView {
                    task: label as TaskId,
                    parent: t.parent,
                    state: t.state,
                    exit_signal: Some(Signal::SIGCHLD),
                    thread_of: None,
                    sharing: None,
                    fds: vec![],
                    tid_words: vec![],
                    memory: if live {
                        Region::ALL
                            .iter()
                            .map(|&region| RegionView {
                                region,
                                pages: vec![page; self.pages as usize],
                            })
                            .collect()
                    } else {
                        vec![]
                    },
                    signals: None,
                    fs_context: None,
                    namespaces: None,
                    group: None,
                }
            })
            .collect();
        Snapshot {
            tasks,
            ofds: vec![],
            inodes: vec![],
            locks: vec![],
        }
    }
}

impl MiniSim {
    fn sim(&mut self) -> BResult<&mut Sim> {
        self.case
            .as_mut()
            .ok_or_else(|| BackendError::Refused("no case set up".into()))
    }
}

impl Backend for MiniSim {
    fn hello(&mut self) -> BResult<Hello> {
        Ok(Hello {
            protocol: PROTOCOL_VERSION,
            implementation: format!("minisim{}", if self.buggy { " (buggy)" } else { "" }),
            profile: Profile::default(),
            capabilities: Capabilities {
                pagemap: false,
                pfn: false,
                kcmp: false,
                pipe_size: false,
                exit_signal: true,
                locks: false,
                signals: false,
                fs_context: false,
                namespaces: false,
                // It never loses an exit status and models no orphans differently.
                reaped_status: true,
                orphans: true,
            },
            ops: Some(OPS.iter().map(|s| s.to_string()).collect()),
            speed: None,
            exec_route: None,
            blocked_by_deadline: None,
        })
    }

    fn setup(&mut self, config: &CaseConfig) -> BResult<()> {
        self.case = Some(Sim::new(config.pages));
        Ok(())
    }

    fn op(&mut self, op: &Op, snapshot: bool) -> BResult<(Outcome, Option<Snapshot>)> {
        let buggy = self.buggy;
        let sim = self.sim()?;
        let outcome = sim.step(op, buggy).map_err(BackendError::Refused)?;
        Ok((outcome, snapshot.then(|| sim.snapshot())))
    }

    fn snapshot(&mut self) -> BResult<Snapshot> {
        Ok(self.sim()?.snapshot())
    }

    fn end(&mut self) -> BResult<()> {
        self.case = None;
        Ok(())
    }
}

/// Checks `MiniSim` (with its bug when `buggy`) on 200 generated cases of the fork mix.
fn run(buggy: bool) -> Result<Report, String> {
    let mut connect =
        || -> BResult<Box<dyn Backend>> { Ok(Box::new(MiniSim { case: None, buggy })) };
    let hello = connect()
        .and_then(|mut b| b.hello())
        .map_err(|e| e.to_string())?;
    let out_dir = std::env::temp_dir().join(format!(
        "custom-backend-{}-{}",
        std::process::id(),
        u8::from(buggy)
    ));
    let cfg = CheckConfig {
        cases: 200,
        seed: 1,
        gen: GenConfig {
            mix: Mix::Fork,
            ops: OpSet::from_hello(hello.ops.as_deref()).0,
            ..GenConfig::default()
        },
        opts: RunOptions {
            snapshots: SnapshotMode::End,
            levels: Default::default(),
            caps: hello.capabilities,
        },
        out_dir: out_dir.clone(),
        shrink: true,
        replays: forkspec::check::DEFAULT_REPLAYS,
    };
    let mut report = Report {
        implementation: hello.implementation.clone(),
        ..Report::default()
    };
    let result = check(
        &mut connect,
        &hello.profile,
        &cfg,
        &mut report,
        &mut |_, _| {},
    );
    // Divergence case files were only needed for replay commands; this example keeps none.
    let _ = std::fs::remove_dir_all(&out_dir);
    result.map_err(|e| e.to_string())?;
    for d in &mut report.divergences {
        d.replay = None;
        d.case_file = None;
    }
    Ok(report)
}

fn main() {
    let buggy = std::env::args().any(|a| a == "--buggy");
    let report = match run(buggy) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("custom_backend: {e}");
            std::process::exit(2);
        }
    };
    for d in &report.divergences {
        println!("{}", d.render());
    }
    println!(
        "{}: {} cases, {} ops, {} divergence(s)",
        report.implementation,
        report.cases,
        report.ops,
        report.divergences.len()
    );
    std::process::exit(i32::from(!report.divergences.is_empty()));
}

/// `cargo test` runs these (the example is built with `test = true`): the README promises
/// 0 divergences for the correct simulator and a caught bug for `--buggy`.
#[cfg(test)]
mod tests {
    use super::run;

    #[test]
    fn the_correct_simulator_agrees_with_the_model() {
        let report = run(false).unwrap();
        assert_eq!(report.cases, 200);
        let found: Vec<String> = report.divergences.iter().map(|d| d.render()).collect();
        assert!(found.is_empty(), "{}", found.join("\n"));
    }

    #[test]
    fn the_buggy_simulator_is_caught() {
        let report = run(true).unwrap();
        assert!(
            !report.divergences.is_empty(),
            "the shared private page went unnoticed"
        );
    }
}
