//! Protocol lines and traces: any bytes parse to a request/response or fail cleanly; a parsed
//! snapshot survives canonicalization (idempotently), masking and diffing.
#![no_main]

use forkspec_model::diff::{diff_snapshots, LevelFilter};
use forkspec_model::protocol::{Request, Response};
use forkspec_model::{Capabilities, Snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<Request>(data);
    if let Ok(Response::Done {
        snapshot: Some(s), ..
    }) = serde_json::from_slice::<Response>(data)
    {
        check_snapshot(s);
    }
    if let Ok(s) = serde_json::from_slice::<Snapshot>(data) {
        check_snapshot(s);
    }
});

fn check_snapshot(mut s: Snapshot) {
    let raw = s.clone();
    s.canonicalize();
    let once = s.clone();
    s.canonicalize();
    assert_eq!(once, s, "canonicalize must be idempotent");
    let mut masked = raw.clone();
    masked.mask(Capabilities {
        kcmp: false,
        ..Capabilities::ALL
    });
    let _ = diff_snapshots(&once, &masked, LevelFilter::All);
}
