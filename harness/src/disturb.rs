//! The machine's own memory management, which unmaps or moves a process's pages whatever
//! the process does: DAMON schemes that page out (`pageout`: reclaim unmaps the page from
//! every process, whether or not it can be written out) or migrate (`migrate_hot`,
//! `migrate_cold`: the page gets a new frame), and KSM merging (pages share a frame).
//! While one runs, which pages of a case are present, exclusive or on which frame is not
//! the product of the case's ops alone: such a divergence does not reproduce, and when it
//! does not, the report names the mechanism instead of leaving a flaky page observation
//! unexplained. (A model error in page presence reproduces: the kernel is deterministic
//! there when nothing else touches the pages.)

use crate::report::Divergence;
use std::path::Path;

/// The mechanisms of the kernel under `mm` (normally `/sys/kernel/mm`) that are on now and
/// unmap or move pages on their own, one line each (`DAMON pageout (kdamond 0)`, `KSM`).
pub fn probe(mm: &Path) -> Vec<String> {
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    let mut found = Vec::new();
    for kdamond in entries(&mm.join("damon/admin/kdamonds")) {
        if read(&kdamond.join("state")).as_deref() != Some("on") {
            continue;
        }
        let mut actions: Vec<String> = entries(&kdamond.join("contexts"))
            .iter()
            .flat_map(|c| entries(&c.join("schemes")))
            .filter_map(|s| read(&s.join("action")))
            .filter(|a| MOVING_ACTIONS.contains(&a.as_str()))
            .collect();
        actions.sort();
        actions.dedup();
        if !actions.is_empty() {
            let name = kdamond
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            found.push(format!("DAMON {} (kdamond {name})", actions.join(", ")));
        }
    }
    if read(&mm.join("ksm/run")).as_deref() == Some("1") {
        found.push("KSM".into());
    }
    found
}

/// DAMON scheme actions that unmap a page or give it another frame.
const MOVING_ACTIONS: [&str; 3] = ["pageout", "migrate_hot", "migrate_cold"];

/// The numbered entries of a DAMON sysfs directory, in order.
fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_str()?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, p)| p).collect()
}

/// Whether divergence `d` is one the machine's memory management can cause: flaky, and
/// every field it differs in is a page's presence, exclusivity or frame.
pub fn explains(d: &Divergence) -> bool {
    d.flaky
        && !d.diffs.is_empty()
        && d.diffs.iter().all(|f| {
            f.shape.starts_with("t.mem.")
                && [".present", ".exclusive", ".frame"]
                    .iter()
                    .any(|end| f.shape.ends_with(end))
        })
}

/// `d`, naming `mechanisms` as its likely cause when they can explain it ([`explains`]).
pub fn attribute(mut d: Divergence, mechanisms: &[String]) -> Divergence {
    if !mechanisms.is_empty() && explains(&d) {
        d.disturbed_by = Some(mechanisms.join("; "));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use forkspec_model::diff::FieldDiff;
    use forkspec_model::Level;

    fn sysfs(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("a temp dir");
        for (path, text) in files {
            let p = d.path().join(path);
            std::fs::create_dir_all(p.parent().expect("a parent")).expect("dirs");
            std::fs::write(p, text).expect("a file");
        }
        d
    }

    #[test]
    fn probe_names_running_kdamonds_with_moving_schemes_and_ksm() {
        let d = sysfs(&[
            ("damon/admin/kdamonds/nr_kdamonds", "3\n"),
            ("damon/admin/kdamonds/0/state", "on\n"),
            (
                "damon/admin/kdamonds/0/contexts/0/schemes/0/action",
                "pageout\n",
            ),
            (
                "damon/admin/kdamonds/0/contexts/0/schemes/1/action",
                "stat\n",
            ),
            ("damon/admin/kdamonds/1/state", "off\n"),
            (
                "damon/admin/kdamonds/1/contexts/0/schemes/0/action",
                "pageout\n",
            ),
            ("damon/admin/kdamonds/2/state", "on\n"),
            (
                "damon/admin/kdamonds/2/contexts/0/schemes/0/action",
                "lru_prio\n",
            ),
            ("ksm/run", "1\n"),
        ]);
        assert_eq!(
            probe(d.path()),
            vec!["DAMON pageout (kdamond 0)".to_string(), "KSM".to_string()]
        );
        let quiet = sysfs(&[("ksm/run", "0\n")]);
        assert!(probe(quiet.path()).is_empty());
        assert!(probe(Path::new("/nonexistent/forkspec")).is_empty());
    }

    fn diverging(flaky: bool, shapes: &[&str]) -> Divergence {
        let diffs: Vec<FieldDiff> = shapes
            .iter()
            .map(|s| FieldDiff {
                path: s.replace("t.", "t0.").replace("[]", "[0]"),
                shape: s.to_string(),
                level: Level::Internal,
                expected: "true".into(),
                actual: "false".into(),
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "fingerprint": "7d22d20a57ae972e", "level": "internal", "count": 1, "seed": 1,
            "sequence": [], "ops": [], "step": 0, "kind": "snapshot", "expected": "",
            "actual": "", "diffs": diffs, "case_file": null, "replay": null,
            "reproduced": 0, "replays": 5, "flaky": flaky,
        }))
        .expect("a divergence")
    }

    #[test]
    fn only_flaky_page_presence_and_frames_are_attributed() {
        let m = vec!["DAMON pageout (kdamond 0)".to_string()];
        let pages = ["t.mem.file_shared[].present", "t.mem.file_shared[].frame"];
        let d = attribute(diverging(true, &pages), &m);
        assert_eq!(d.disturbed_by.as_deref(), Some("DAMON pageout (kdamond 0)"));
        assert!(explains(&diverging(
            true,
            &["t.mem.anon_private[].exclusive"]
        )));
        // Reproducible: a model error, whatever the machine runs.
        assert!(attribute(diverging(false, &pages), &m)
            .disturbed_by
            .is_none());
        // A value or any other field is never the reclaimer's doing.
        let value = ["t.mem.file_shared[].present", "t.mem.file_shared[].value"];
        assert!(attribute(diverging(true, &value), &m)
            .disturbed_by
            .is_none());
        assert!(attribute(diverging(true, &["t.fd[].offset"]), &m)
            .disturbed_by
            .is_none());
        // An outcome divergence has no field diffs.
        assert!(attribute(diverging(true, &[]), &m).disturbed_by.is_none());
        // Nothing running: nothing named.
        assert!(attribute(diverging(true, &pages), &[])
            .disturbed_by
            .is_none());
    }
}
