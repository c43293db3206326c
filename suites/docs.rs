//! The semantics reference stays true to the code: every rule tagged `// rule: ID` in the
//! model has a row in docs/semantics.md, every row names a tagged rule, and every test a row
//! names exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Rule ids tagged in the model's sources.
fn tagged_rules() -> BTreeSet<String> {
    let mut files = vec![];
    rust_files(&root().join("model/src"), &mut files);
    let mut rules = BTreeSet::new();
    for f in files {
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            if let Some(id) = line.trim().strip_prefix("// rule: ") {
                rules.insert(id.trim().to_string());
            }
        }
    }
    rules
}

/// Lines (from 1) of `// rule:` tags in `text` that are not right above an item (after
/// further comments and attributes): a tag inside a function body would vanish with a mutant
/// that replaces the body, failing this suite for a reason unrelated to the mutant.
fn tags_inside_bodies(text: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let item_starts = [
        "fn ", "struct ", "enum ", "impl", "const ", "mod ", "static ", "type ", "trait ",
    ];
    let mut out = vec![];
    for (i, l) in lines.iter().enumerate() {
        if !l.trim().starts_with("// rule: ") {
            continue;
        }
        let next = lines[i + 1..]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.starts_with("//") && !l.starts_with("#["))
            .unwrap_or("");
        let mut item = next;
        for prefix in ["pub(crate) ", "pub(super) ", "pub ", "const ", "unsafe "] {
            item = item.strip_prefix(prefix).unwrap_or(item);
        }
        if !item_starts.iter().any(|s| item.starts_with(s)) {
            out.push(i + 1);
        }
    }
    out
}

/// Names of every function in the suites and the model (tests are among them).
fn functions() -> BTreeSet<String> {
    let mut files = vec![];
    rust_files(&root().join("model/src"), &mut files);
    rust_files(&root().join("suites"), &mut files);
    rust_files(&root().join("harness/src"), &mut files);
    let mut names = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for part in text.split("fn ").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

/// (rule, tests) of every row of the table in `doc`.
fn rows(doc: &str) -> Vec<(String, Vec<String>)> {
    doc.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let rule = cells[1].trim_matches('`').to_string();
            let tests = cells[cells.len() - 2]
                .split(',')
                .map(|t| t.trim().trim_matches('`').to_string())
                .filter(|t| !t.is_empty())
                .collect();
            (rule, tests)
        })
        .collect()
}

fn problems(doc: &str, tagged: &BTreeSet<String>, fns: &BTreeSet<String>) -> Vec<String> {
    let rows = rows(doc);
    let documented: BTreeSet<String> = rows.iter().map(|r| r.0.clone()).collect();
    let mut out = vec![];
    for r in tagged.difference(&documented) {
        out.push(format!(
            "rule `{r}` is implemented but has no row in docs/semantics.md"
        ));
    }
    for (rule, tests) in &rows {
        if !tagged.contains(rule) {
            out.push(format!("row `{rule}` names no rule tagged in the model"));
        }
        if tests.is_empty() {
            out.push(format!("row `{rule}` names no test"));
        }
        for t in tests {
            if !fns.contains(t) {
                out.push(format!(
                    "row `{rule}` names test `{t}`, which does not exist"
                ));
            }
        }
    }
    out
}

#[test]
fn every_model_rule_is_documented_with_existing_tests() {
    let doc = std::fs::read_to_string(root().join("docs/semantics.md")).unwrap();
    let tagged = tagged_rules();
    assert!(tagged.len() >= 30, "only {} rules tagged", tagged.len());
    let p = problems(&doc, &tagged, &functions());
    assert!(
        p.is_empty(),
        "docs/semantics.md is out of date:\n{}",
        p.join("\n")
    );
}

#[test]
fn rule_tags_are_outside_function_bodies() {
    let mut files = vec![];
    rust_files(&root().join("model/src"), &mut files);
    let mut bad = vec![];
    for f in files {
        for line in tags_inside_bodies(&std::fs::read_to_string(&f).unwrap()) {
            bad.push(format!("{}:{line}", f.display()));
        }
    }
    assert!(bad.is_empty(), "rule tags inside function bodies: {bad:?}");
    let inside = "impl M {\n    // rule: a.b\n    /// Doc.\n    pub(super) fn f() {\n        // rule: c.d\n        x();\n    }\n}\n";
    assert_eq!(tags_inside_bodies(inside), vec![5]);
}

#[test]
fn the_check_catches_a_missing_rule_and_a_missing_test() {
    let doc = std::fs::read_to_string(root().join("docs/semantics.md")).unwrap();
    let tagged = tagged_rules();
    let fns = functions();
    let first = rows(&doc)[0].clone();
    let without_row: String = doc
        .lines()
        .filter(|l| !l.starts_with(&format!("| `{}`", first.0)))
        .collect::<Vec<_>>()
        .join("\n");
    let p = problems(&without_row, &tagged, &fns);
    assert!(
        p.iter()
            .any(|m| m.contains(&first.0) && m.contains("no row")),
        "{p:?}"
    );
    let mut fewer = fns.clone();
    fewer.remove(&first.1[0]);
    let p = problems(&doc, &tagged, &fewer);
    assert!(p.iter().any(|m| m.contains(&first.1[0])), "{p:?}");
}

// ---------------------------------------------------------------------------------------------
// docs/coverage.md: generated by `forkspec coverage` from the `// covers:` annotations.

use forkspec::coverage::{check_doc, generate, Sources, CATALOGUE};

fn coverage_sources() -> Sources {
    Sources::load(&root()).expect("the source tree")
}

#[test]
fn coverage_md_is_what_the_annotations_generate() {
    let m = generate(&coverage_sources());
    assert!(
        m.scan.problems.is_empty(),
        "the `// covers:` annotations or the catalogue are wrong:\n{}",
        m.scan.problems.join("\n")
    );
    let doc = std::fs::read_to_string(root().join("docs/coverage.md")).unwrap_or_default();
    let p = check_doc(&doc, CATALOGUE, &m.scan);
    assert!(p.is_empty(), "{}", p.join("\n"));
    assert!(
        doc == m.text,
        "docs/coverage.md is stale: regenerate it with `cargo run -- coverage`"
    );
    // The matrix has a row per behaviour and every annotated test is in it.
    assert_eq!(
        doc.lines().filter(|l| l.starts_with("| `")).count(),
        CATALOGUE.len()
    );
    for t in m.scan.tests.iter().filter(|t| !t.covers.is_empty()) {
        assert!(
            doc.contains(&format!("`{}`", t.path())),
            "{} missing",
            t.path()
        );
    }
}

/// The three ways the matrix goes wrong are caught, on the real sources: an annotated test
/// removed, a catalogue entry removed (its annotations then name an unknown behaviour), and
/// an annotation naming a behaviour that does not exist.
#[test]
fn the_coverage_check_catches_a_removed_test_or_entry_and_unknown_ids() {
    let sources = coverage_sources();
    let m = generate(&sources);
    let doc = m.text.clone();
    // Remove the first annotated test function from its file: its name stays in the doc.
    let victim = m.scan.tests.iter().find(|t| !t.covers.is_empty()).unwrap();
    let mut fewer = sources.clone();
    let file = match victim.place.as_str() {
        "model" => "model/src/model/tests.rs".to_string(),
        p if p.starts_with("model::") => {
            format!(
                "model/src/model/{}.rs",
                &p["model::".len()..].replace("::", "/")
            )
        }
        suite => format!("suites/{suite}.rs"),
    };
    for (path, text) in &mut fewer.files {
        if *path == file {
            *text = text.replace(&format!("fn {}(", victim.name), "fn renamed_away(");
        }
    }
    let after = generate(&fewer);
    assert_ne!(after.text, doc);
    let p = check_doc(&doc, CATALOGUE, &after.scan);
    assert!(p.iter().any(|x| x.contains(&victim.path())), "{p:?}");
    // Remove a catalogue entry that tests cover.
    let covered = &victim.covers[0];
    let smaller: Vec<_> = CATALOGUE
        .iter()
        .copied()
        .filter(|b| b.id != covered)
        .collect();
    let s = forkspec::coverage::scan(&sources, &smaller);
    assert!(
        s.problems
            .iter()
            .any(|x| x.contains(covered.as_str()) && x.contains("names no behaviour")),
        "{:?}",
        s.problems
    );
    // An annotation with a typo.
    let mut typo = sources.clone();
    let (_, text) = typo
        .files
        .iter_mut()
        .find(|(p, _)| p == "suites/scenarios.rs")
        .unwrap();
    *text = text.replacen("// covers: ", "// covers: mem.no-such-thing, ", 1);
    let s = forkspec::coverage::scan(&typo, CATALOGUE);
    assert!(
        s.problems
            .iter()
            .any(|x| x.starts_with("suites/scenarios.rs:") && x.contains("mem.no-such-thing")),
        "{:?}",
        s.problems
    );
}

#[test]
fn forkspec_coverage_check_runs_on_the_tree_and_fails_clearly_without_it() {
    let exe = env!("CARGO_BIN_EXE_forkspec");
    let ok = std::process::Command::new(exe)
        .args(["coverage", "--check", "--root"])
        .arg(root())
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let none = std::process::Command::new(exe)
        .args(["coverage", "--check", "--root"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(2));
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(
        err.contains("not a forkspec source tree") && err.contains("--root"),
        "{err}"
    );
    // A stale file is exit 1, and nothing is written by --check.
    let stale = dir.path().join("coverage.md");
    std::fs::write(&stale, "# old\n").unwrap();
    let out = std::process::Command::new(exe)
        .args(["coverage", "--check", "--root"])
        .arg(root())
        .arg("--out")
        .arg(&stale)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stale"));
    assert_eq!(std::fs::read_to_string(&stale).unwrap(), "# old\n");
}

/// `cargo insta test --workspace` / `review` / `accept` look for pending snapshots only under
/// the directory of each package's manifest and of each target's source file (cargo-insta's
/// `find_snapshot_roots`); the known cases keep theirs in the top-level snapshots/, so some
/// target's source must sit there (`snapshot_files`), or an edited snapshot is never offered
/// for review.
#[test]
fn cargo_insta_searches_the_snapshot_directory() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .arg("--manifest-path")
        .arg(root().join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let snapshots = root().join("snapshots").canonicalize().unwrap();
    let mut roots = vec![];
    for p in meta["packages"].as_array().unwrap() {
        roots.push(PathBuf::from(p["manifest_path"].as_str().unwrap()));
        for t in p["targets"].as_array().unwrap() {
            roots.push(PathBuf::from(t["src_path"].as_str().unwrap()));
        }
    }
    let found = roots.iter().any(|file| {
        let dir = file.parent().unwrap().canonicalize().unwrap();
        snapshots.starts_with(dir)
    });
    assert!(
        found,
        "no package or target directory contains {}",
        snapshots.display()
    );
}
