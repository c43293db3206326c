//! Value parsers for the numeric options: a value out of range is refused while the command
//! line is parsed (exit 2, before any backend starts), with the range in the message.

use std::ops::RangeInclusive;

/// Parses a whole number in `range`; `what` names what it counts in the message.
fn parse_in(s: &str, range: RangeInclusive<u64>, what: &str) -> Result<u64, String> {
    let n: i128 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a whole number of {what}, got {s:?}"))?;
    let (lo, hi) = (*range.start(), *range.end());
    if n < i128::from(lo) || n > i128::from(hi) {
        return Err(if hi >= u64::from(u32::MAX) {
            format!("must be at least {lo} {what}, got {n}")
        } else {
            format!("must be in {lo}..={hi} {what}, got {n}")
        });
    }
    Ok(n as u64)
}

/// `--cases`: at least one (a run of none would pass having checked nothing).
pub fn cases(s: &str) -> Result<u64, String> {
    parse_in(s, 1..=u64::MAX, "cases")
}

/// `--pages`: 1 to the model's limit per region.
pub fn pages(s: &str) -> Result<u32, String> {
    parse_in(s, 1..=u64::from(forkspec_model::MAX_PAGES), "pages").map(|n| n as u32)
}

/// `--max-len`: at least one op per case.
pub fn max_len(s: &str) -> Result<u32, String> {
    parse_in(s, 1..=u64::from(u32::MAX), "ops").map(|n| n as u32)
}

/// `--jobs` and `--workers`: at least one.
pub fn workers(s: &str) -> Result<u32, String> {
    parse_in(s, 1..=4096, "workers").map(|n| n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_messages() {
        assert_eq!(cases("7"), Ok(7));
        assert_eq!(cases("0"), Err("must be at least 1 cases, got 0".into()));
        assert_eq!(cases("-1"), Err("must be at least 1 cases, got -1".into()));
        assert!(cases("x").unwrap_err().contains("whole number"));
        assert_eq!(pages("256"), Ok(256));
        assert!(pages("257").unwrap_err().contains("1..=256"));
        assert!(max_len("0").is_err());
        assert!(workers("0").is_err());
        assert_eq!(workers("2"), Ok(2));
    }
}
