//! The workers of a check run and the merge of their results in case order.

use super::save_case_as;
use super::{case_for_seed, case_seed, examine_once_per_fingerprint, finish, save_case};
use super::{CheckConfig, Found, MAX_ERRORS_IN_A_ROW};
use crate::backend::{BResult, Backend, BackendError};
use crate::report::{Divergence, Report};
use forkspec_model::Case;
use forkspec_model::Profile;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// What the workers of one run share.
#[derive(Default)]
pub(super) struct Shared {
    /// The next case index to hand out.
    next: AtomicU64,
    /// Set when the run stops early: workers take no new case.
    stop: AtomicBool,
    /// Every fingerprint located so far, with the lowest case index it was located in.
    located: Mutex<HashMap<String, u64>>,
    /// How many cases (a prefix in case order) are merged into the report.
    merged: Mutex<u64>,
    /// Signalled when `merged` grows or the run stops.
    merged_more: Condvar,
}

impl Shared {
    /// Records that case `i` shows `fp`; true when a lower case is known to show it too, so
    /// case `i` is not the one the report keeps and need not be shrunk.
    pub(super) fn lower_case_shows(&self, fp: &str, i: u64) -> bool {
        let mut located = self.located.lock().unwrap_or_else(|e| e.into_inner());
        let lowest = located.entry(fp.to_string()).or_insert(i);
        let lower = *lowest < i;
        *lowest = (*lowest).min(i);
        lower
    }

    /// Also true after SIGINT/SIGTERM or a closed stdout ([`crate::interrupt`]): the run ends
    /// with the cases under way, and its reports are written.
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || crate::interrupt::requested()
    }

    /// Stops the run: no worker takes another case, and none keeps waiting.
    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Taken so that a worker between its check of `stop` and its wait sees this.
        let _merged = self.merged.lock().unwrap_or_else(|e| e.into_inner());
        self.merged_more.notify_all();
    }

    fn set_merged(&self, n: u64) {
        *self.merged.lock().unwrap_or_else(|e| e.into_inner()) = n;
        self.merged_more.notify_all();
    }

    /// Waits until cases `0..=i` are merged (or the run stops). Every case up to `i` was
    /// handed out and is run by a worker that is not waiting (a worker waits only after
    /// handing in its own case), so this ends.
    fn wait_merged_through(&self, i: u64) {
        let mut merged = self.merged.lock().unwrap_or_else(|e| e.into_inner());
        while *merged <= i && !self.stopped() {
            merged = self
                .merged_more
                .wait(merged)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Stops the run when dropped while the thread unwinds.
pub(super) struct StopOnDrop<'a>(pub(super) &'a Shared);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// One case as a worker ran it.
pub(super) struct CaseResult {
    pub(super) index: u64,
    pub(super) seed: u64,
    pub(super) ops: u64,
    /// The divergence (the minimal case when it was shrunk), or the backend's error.
    pub(super) found: BResult<Option<Found>>,
    /// The case, kept when the backend failed on it (saved for `forkspec replay`).
    pub(super) failed_case: Option<Case>,
}

/// Why a worker stopped the run: the case index it stopped at and the error.
pub(super) struct Stopped {
    pub(super) at: u64,
    pub(super) error: BackendError,
}

/// One worker: takes the next case until there are none or the run stops, runs it on its
/// backend and hands the result to `sink`. Restarts the backend after an error; stops the run
/// when the backend cannot be (re)started.
pub(super) fn work(
    connect: &mut dyn FnMut() -> BResult<Box<dyn Backend>>,
    profile: &Profile,
    cfg: &CheckConfig,
    shared: &Shared,
    sink: &mut dyn FnMut(CaseResult),
) -> Result<(), Stopped> {
    let stop = |at: u64, error: BackendError| {
        shared.stop();
        Stopped { at, error }
    };
    let mut backend = connect().map_err(|e| stop(shared.next.load(Ordering::SeqCst), e))?;
    let mut failed_in_a_row = 0;
    while !shared.stopped() {
        let i = shared.next.fetch_add(1, Ordering::SeqCst);
        if i >= cfg.cases {
            break;
        }
        let seed = case_seed(cfg.seed, i);
        let case = case_for_seed(seed, &cfg.gen, profile);
        // An interrupted run does not shrink on: the case is reported as far as it got.
        let seen = |fp: &str| crate::interrupt::requested() || shared.lower_case_shows(fp, i);
        let found = examine_once_per_fingerprint(
            backend.as_mut(),
            &case,
            profile,
            &cfg.opts,
            cfg.shrink,
            cfg.replays,
            &seen,
        );
        let failed = found.is_err();
        sink(CaseResult {
            index: i,
            seed,
            ops: case.ops.len() as u64,
            found,
            failed_case: failed.then_some(case),
        });
        if !failed {
            failed_in_a_row = 0;
            continue;
        }
        failed_in_a_row += 1;
        if failed_in_a_row >= MAX_ERRORS_IN_A_ROW {
            // Whether the run stops is decided in case order, as with one worker; a backend
            // failing every case does not run ahead of that decision.
            shared.wait_merged_through(i);
            failed_in_a_row = 0;
        }
        if shared.stopped() {
            break;
        }
        backend = connect().map_err(|e| stop(i, e))?;
    }
    Ok(())
}

/// Folds case results into the report in case order, whatever order they come in, and
/// stops the run after [`MAX_ERRORS_IN_A_ROW`] consecutive failed cases.
pub(super) struct Merge<'a> {
    cfg: &'a CheckConfig,
    shared: &'a Shared,
    report: &'a mut Report,
    progress: &'a mut dyn FnMut(u64, &Report),
    start: Instant,
    /// The next case index to fold in.
    next: u64,
    /// Results of higher cases that came early.
    early: BTreeMap<u64, CaseResult>,
    /// Consecutive failed cases up to `next`.
    failed_in_a_row: u32,
    /// The error the run stopped with.
    failed: Option<BackendError>,
}

impl<'a> Merge<'a> {
    pub(super) fn new(
        cfg: &'a CheckConfig,
        shared: &'a Shared,
        report: &'a mut Report,
        progress: &'a mut dyn FnMut(u64, &Report),
    ) -> Self {
        Merge {
            cfg,
            shared,
            report,
            progress,
            start: Instant::now(),
            next: 0,
            early: BTreeMap::new(),
            failed_in_a_row: 0,
            failed: None,
        }
    }

    pub(super) fn accept(&mut self, r: CaseResult) {
        if self.failed.is_some() {
            return;
        }
        self.early.insert(r.index, r);
        while let Some(r) = self.early.remove(&self.next) {
            self.fold(r);
            self.next += 1;
            self.report.cases = self.next;
            self.report.seconds = self.start.elapsed().as_secs_f64();
            self.shared.set_merged(self.next);
            (self.progress)(self.next, self.report);
            if self.failed.is_some() {
                // A backend that fails every case will not recover: stop with its error.
                self.shared.stop();
                self.early.clear();
                return;
            }
        }
    }

    fn fold(&mut self, r: CaseResult) {
        let report = &mut *self.report;
        report.ops += r.ops;
        let found = match r.found {
            Ok(found) => {
                self.failed_in_a_row = 0;
                found
            }
            Err(e) => {
                // The case is saved so the error can be replayed; a backend failing every case
                // saves only the first few (the run stops after MAX_ERRORS_IN_A_ROW).
                let file = r.failed_case.as_ref().and_then(|c| {
                    let name = format!("error-case-{}", r.index);
                    save_case_as(&self.cfg.out_dir, &name, c, r.seed, None)
                });
                let saved = file.map_or(String::new(), |f| format!(" (case file: {f})"));
                report
                    .errors
                    .push(format!("case {} (seed {}): {e}{saved}", r.index, r.seed));
                self.failed_in_a_row += 1;
                if self.failed_in_a_row >= MAX_ERRORS_IN_A_ROW {
                    self.failed = Some(e);
                }
                return;
            }
        };
        if let Some(Found {
            case: min,
            mismatch: m,
            confirmation,
        }) = found
        {
            // The first case in index order with a fingerprint is the one kept: it was
            // shrunk, since no lower case could show that fingerprint before it.
            if let Some(d) = report
                .divergences
                .iter_mut()
                .find(|d| d.fingerprint == m.fingerprint)
            {
                d.count += 1;
            } else {
                let file = save_case(&self.cfg.out_dir, &min, r.seed, &m.fingerprint);
                report
                    .divergences
                    .push(Divergence::new(&min, &m, Some(r.seed), file).confirmed(&confirmation));
            }
        }
    }

    /// Sets the timing fields; returns the error the run stopped with, if it did.
    pub(super) fn finish(self) -> Option<BackendError> {
        finish(self.report, self.start);
        self.failed
    }
}
