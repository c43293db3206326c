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
