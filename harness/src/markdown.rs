//! The Markdown report (`--markdown FILE`), sized for a GitHub job summary
//! (`>> $GITHUB_STEP_SUMMARY`): a verdict line, a summary table, one row per divergence
//! with its minimal sequence folded away, and what was not compared.

use crate::report::Report;
use std::fmt::Write as _;

/// Escapes a table cell: pipes, newlines and HTML-significant characters.
fn cell(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('\n', "<br>")
}

/// At most `n` characters of `s`, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

/// The Markdown document of a run.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let failing = r.failing().count();
    let verdict = match (failing, r.errors.len()) {
        (0, 0) if r.divergences.is_empty() => "✅ model and implementation agree".to_string(),
        (0, 0) => format!("✅ only known divergences ({})", r.divergences.len()),
        (0, e) => format!("⚠️ {e} case(s) could not be run"),
        (n, _) => format!("❌ {n} new divergence(s)"),
    };
    let _ = writeln!(out, "## forkspec: {verdict}\n");
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| implementation | {} |", cell(&r.implementation));
    let _ = writeln!(
        out,
        "| suite / level / seed | {} / {} / {} |",
        cell(&r.suite),
        cell(&r.level),
        r.seed
    );
    let _ = writeln!(
        out,
        "| cases / ops | {} / {} ({:.1} cases/s) |",
        r.cases, r.ops, r.cases_per_s
    );
    let _ = writeln!(
        out,
        "| divergences | {} ({failing} new) |",
        r.divergences.len()
    );
    let _ = writeln!(out, "| errors | {} |", r.errors.len());
    if let Some(b) = &r.baseline {
        let _ = writeln!(
            out,
            "| baseline | `{}`: {} known, {} new, {} fixed |",
            cell(&b.file),
            b.known.len(),
            b.new.len(),
            b.fixed.len()
        );
    }
    if !r.divergences.is_empty() {
        let _ = writeln!(
            out,
            "\n### Divergences\n\n| status | fingerprint | cause | level | step | model | real |\n|---|---|---|---|---|---|---|"
        );
        for d in &r.divergences {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} | {} | {} |",
                match (d.known, d.flaky) {
                    (true, _) => "known".to_string(),
                    (false, true) => format!(
                        "flaky ({})",
                        d.reproduction().unwrap_or_else(|| "not replayed".into())
                    ),
                    (false, false) => "**new**".to_string(),
                },
                d.fingerprint,
                // `t*.fd[*]` would open an emphasis in a table cell.
                cell(&clip(&d.cause, 100)).replace('*', "\\*"),
                d.level,
                cell(&clip(
                    d.sequence.get(d.step).map(String::as_str).unwrap_or("end"),
                    60
                )),
                cell(&clip(&d.expected, 80)),
                cell(&clip(&d.actual, 80)),
            );
        }
        for d in r.divergences.iter().take(20) {
            let _ = writeln!(
                out,
                "\n<details><summary><code>{}</code> {}: {} ({} ops)</summary>\n\n```text\n{}```\n</details>",
                d.fingerprint,
                cell(&d.cause),
                if d.minimal {
                    "minimal sequence"
                } else {
                    "sequence, not minimal"
                },
                d.sequence.len(),
                d.render().replace("```", "'''")
            );
        }
    }
    if let Some(b) = r.baseline.as_ref().filter(|b| !b.fixed.is_empty()) {
        let _ = writeln!(out, "\n### Fixed (in the baseline, not seen in this run)\n");
        for fp in &b.fixed {
            let _ = writeln!(out, "- `{fp}`");
        }
    }
    if !r.errors.is_empty() {
        let _ = writeln!(out, "\n### Errors\n");
        for e in r.errors.iter().take(20) {
            let _ = writeln!(out, "- {}", cell(&clip(e, 300)));
        }
    }
    if !r.not_compared.is_empty() {
        let _ = writeln!(out, "\n### Not compared\n");
        for n in &r.not_compared {
            let _ = writeln!(out, "- `{}`: {}", n.what, cell(&n.why));
        }
    }
    out
}
