//! The JUnit XML report (`--junit FILE`): one test case per divergence fingerprint (failed
//! when new, skipped when known from the baseline), one per fixed baseline entry, one for
//! backend errors, and a passing summary test case. quick-junit writes the document.

use crate::report::{Divergence, Report};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
use std::fmt::Write as _;
use std::time::Duration;

/// Text XML 1.0 can carry: control characters other than tab and line ends (and the two
/// non-characters U+FFFE, U+FFFF) become `\u{..}` escapes instead of being dropped, so a
/// rendered byte string keeps every byte it shows.
pub fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn divergence_case(d: &Divergence, flaky_fails: bool) -> TestCase {
    // Only what the fingerprint is made of (level, cause): CI tools follow a test case
    // across runs by its name, and op values or counts differ from seed to seed.
    let name = format!(
        "divergence {} ({} level): {}",
        d.fingerprint, d.level, d.cause
    );
    let status = if d.known {
        let mut s = TestCaseStatus::skipped();
        s.set_message("known divergence (listed in the baseline)");
        s
    } else if d.flaky && !flaky_fails {
        let mut s = TestCaseStatus::skipped();
        s.set_message(visible(&format!(
            "flaky divergence ({}), not failing the run (--flaky warn)",
            d.reproduction().unwrap_or_default()
        )));
        s
    } else {
        let mut message = format!("model {} / real {}", d.expected, d.actual);
        if d.flaky {
            message = format!(
                "flaky ({}): {message}",
                d.reproduction().unwrap_or_default()
            );
        }
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
        s.set_message(visible(&message))
            .set_type(d.level.to_string())
            .set_description(visible(&d.render()));
        s
    };
    case("forkspec.divergence", &name, status, Duration::ZERO)
}

fn case(classname: &str, name: &str, status: TestCaseStatus, time: Duration) -> TestCase {
    let mut c = TestCase::new(visible(name), status);
    c.set_classname(classname).set_time(time);
    c
}

/// The JUnit XML document of a run.
pub fn render(r: &Report) -> String {
    let seconds = Duration::try_from_secs_f64(r.seconds).unwrap_or_default();
    let mut suite = TestSuite::new(visible(&format!(
        "forkspec check against {}",
        r.implementation
    )));
    suite.set_time(seconds);
    suite.add_properties(
        [
            ("implementation", r.implementation.clone()),
            ("suite", r.suite.clone()),
            ("seed", r.seed.to_string()),
            ("level", r.level.clone()),
            ("cases", r.cases.to_string()),
            ("ops", r.ops.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| Property::new(k, visible(&v))),
    );
    suite.add_properties(r.not_compared.iter().map(|n| {
        Property::new(
            visible(&format!("not_compared.{}", n.what)),
            visible(&n.why),
        )
    }));
    let flaky_fails = r.flaky_policy == crate::report::FlakyPolicy::Fail;
    suite.add_test_cases(
        r.divergences
            .iter()
            .map(|d| divergence_case(d, flaky_fails)),
    );
    let fixed = r.baseline.as_ref().map_or(&[][..], |b| &b.fixed[..]);
    suite.add_test_cases(fixed.iter().map(|fp| {
        case(
            "forkspec.fixed",
            &format!("baseline divergence {fp} not seen any more (fixed?)"),
            TestCaseStatus::success(),
            Duration::ZERO,
        )
    }));
    if !r.errors.is_empty() {
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
        s.set_message(format!("{} case(s) could not be run", r.errors.len()))
            .set_description(visible(&r.errors.join("\n")));
        suite.add_test_case(case("forkspec", "backend errors", s, Duration::ZERO));
    }
    // Named without its counts (they are the `cases` and `ops` properties): CI tools follow
    // a test case across runs by its name.
    suite.add_test_case(case(
        "forkspec",
        "summary",
        TestCaseStatus::success(),
        seconds,
    ));
    let skipped = suite.skipped;
    let mut report = quick_junit::Report::new("forkspec");
    report.set_time(seconds).add_test_suite(suite);
    let xml = report
        .to_string()
        .expect("serializing to a String cannot fail");
    without_testsuites_skipped(xml, skipped)
}

/// quick-junit counts skipped test cases on `<testsuites>` too, where the JUnit schema
/// (junit-10.xsd, as Jenkins' xunit plugin reads it) has no such attribute; `<testsuite>`
/// keeps its count.
fn without_testsuites_skipped(xml: String, skipped: usize) -> String {
    let Some(start) = xml.find("<testsuites ") else {
        return xml;
    };
    let end = start + xml[start..].find('>').unwrap_or(0);
    let attr = format!(" skipped=\"{skipped}\"");
    match xml[start..end].find(&attr) {
        Some(at) => {
            let at = start + at;
            format!("{}{}", &xml[..at], &xml[at + attr.len()..])
        }
        None => xml,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_stay_visible() {
        assert_eq!(visible("a<b>\t\u{1}\u{ffff}"), "a<b>\t\\u{1}\\u{ffff}");
    }

    #[test]
    fn testsuites_has_no_skipped_count_and_testsuite_keeps_it() {
        let xml = render(&Report::default());
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        assert_eq!(root.attribute("skipped"), None, "{xml}");
        assert_eq!(root.attribute("tests"), Some("1"), "{xml}");
        let suite = root.first_element_child().unwrap();
        assert_eq!(suite.attribute("skipped"), Some("0"), "{xml}");
    }
}
