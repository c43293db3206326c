//! The insta snapshots of the known cases (`snapshots/*.snap`) are well-formed and name a
//! source file that exists.
//!
//! This test target also lives in `snapshots/` on purpose: `cargo insta` looks for pending
//! snapshots (`*.snap.new`) only in the directories of a package's manifest and of its
//! targets' sources, and the known cases write theirs here, outside both packages.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn every_snapshot_has_a_header_naming_an_existing_source() {
    let dir = root().join("snapshots");
    let mut seen = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "snap") {
            continue;
        }
        seen += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("---"),
            "{}: no insta header",
            path.display()
        );
        let source = lines
            .take_while(|l| *l != "---")
            .find_map(|l| l.strip_prefix("source: "))
            .unwrap_or_else(|| panic!("{}: no source in its header", path.display()));
        // insta stores the source relative to the workspace root.
        assert!(
            root().join(source).is_file(),
            "{}: its source {source} does not exist",
            path.display()
        );
    }
    assert!(seen > 0, "no snapshots in {}", dir.display());
}
