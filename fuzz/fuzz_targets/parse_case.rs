//! Case files: any bytes either fail to parse with an error or give a case that the model
//! runs (and snapshots, canonicalizes, masks and diffs) without panicking.
#![no_main]

use forkspec::check::CaseFile;
use forkspec_model::diff::{diff_snapshots, LevelFilter};
use forkspec_model::{Capabilities, Model, Profile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(cf) = serde_json::from_slice::<CaseFile>(data) else {
        return;
    };
    let mut case = cf.case;
    case.config.pages = case.config.pages.clamp(1, forkspec_model::MAX_PAGES);
    case.ops.truncate(64);
    let p = Profile::default();
    let mut m = Model::new(case.config, &p);
    let first = m.snapshot();
    for op in &case.ops {
        m.step(op, None);
    }
    let mut last = m.snapshot();
    last.mask(Capabilities {
        pfn: false,
        kcmp: false,
        ..Capabilities::ALL
    });
    let _ = diff_snapshots(&first, &last, LevelFilter::All);
});
