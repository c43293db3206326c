//! The JUnit XML report (`--junit FILE`): one test case per divergence fingerprint (failed
//! when new, skipped when known from the baseline), one per fixed baseline entry, one for
//! backend errors, and a passing summary test case.

use crate::report::{Divergence, Report};
use std::fmt::Write as _;

/// Escapes text for XML attributes and character data; characters XML 1.0 cannot carry
/// (most control characters) become `\u{..}` escapes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn divergence_case(out: &mut String, d: &Divergence, flaky_fails: bool) {
    // Only what the fingerprint is made of (level, cause): CI tools follow a test case
    // across runs by its name, and op values or counts differ from seed to seed.
    let name = format!(
        "divergence {} ({} level): {}",
        d.fingerprint, d.level, d.cause
    );
    let _ = writeln!(
        out,
        "    <testcase classname=\"forkspec.divergence\" name=\"{}\" time=\"0\">",
        escape(&name)
    );
    if d.known {
        let _ = writeln!(
            out,
            "      <skipped message=\"{}\"/>",
            escape("known divergence (listed in the baseline)")
        );
    } else if d.flaky && !flaky_fails {
        let _ = writeln!(
            out,
            "      <skipped message=\"{}\"/>",
            escape(&format!(
                "flaky divergence ({}), not failing the run (--flaky warn)",
                d.reproduction().unwrap_or_default()
            ))
        );
    } else {
        let mut message = format!("model {} / real {}", d.expected, d.actual);
        if d.flaky {
            message = format!(
                "flaky ({}): {message}",
                d.reproduction().unwrap_or_default()
            );
        }
        let _ = writeln!(
            out,
            "      <failure type=\"{}\" message=\"{}\">{}</failure>",
            d.level,
            escape(&message),
            escape(&d.render())
        );
    }
    out.push_str("    </testcase>\n");
}

/// The JUnit XML document of a run.
pub fn render(r: &Report) -> String {
    let failures = r.failing().count();
    let skipped = r.divergences.len() - failures;
    let fixed = r.baseline.as_ref().map_or(&[][..], |b| &b.fixed[..]);
    let errors = usize::from(!r.errors.is_empty());
    let tests = r.divergences.len() + fixed.len() + errors + 1;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        // No `skipped` here: the JUnit schema (junit-10.xsd) has it on <testsuite> only.
        "<testsuites name=\"forkspec\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">",
        r.seconds
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{:.3}\">",
        escape(&format!("forkspec check against {}", r.implementation)),
        r.seconds
    );
    out.push_str("    <properties>\n");
    for (k, v) in [
        ("implementation", r.implementation.clone()),
        ("suite", r.suite.clone()),
        ("seed", r.seed.to_string()),
        ("level", r.level.clone()),
        ("cases", r.cases.to_string()),
        ("ops", r.ops.to_string()),
    ] {
        let _ = writeln!(
            out,
            "      <property name=\"{k}\" value=\"{}\"/>",
            escape(&v)
        );
    }
    for n in &r.not_compared {
        let _ = writeln!(
            out,
            "      <property name=\"not_compared.{}\" value=\"{}\"/>",
            escape(&n.what),
            escape(&n.why)
        );
    }
    out.push_str("    </properties>\n");
    for d in &r.divergences {
        divergence_case(
            &mut out,
            d,
            r.flaky_policy == crate::report::FlakyPolicy::Fail,
        );
    }
    for fp in fixed {
        let _ = writeln!(
            out,
            "    <testcase classname=\"forkspec.fixed\" name=\"{}\" time=\"0\"/>",
            escape(&format!(
                "baseline divergence {fp} not seen any more (fixed?)"
            ))
        );
    }
    if !r.errors.is_empty() {
        let _ = writeln!(
            out,
            "    <testcase classname=\"forkspec\" name=\"backend errors\" time=\"0\">\n      <error message=\"{}\">{}</error>\n    </testcase>",
            escape(&format!("{} case(s) could not be run", r.errors.len())),
            escape(&r.errors.join("\n"))
        );
    }
    // Named without its counts (they are the `cases` and `ops` properties): CI tools follow
    // a test case across runs by its name.
    let _ = writeln!(
        out,
        "    <testcase classname=\"forkspec\" name=\"summary\" time=\"{:.3}\"/>",
        r.seconds
    );
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            escape("a<b>&\"c\" 'd'\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;\\u{1}"
        );
    }
}
