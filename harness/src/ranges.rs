//! Value parsers for the numeric options (clap's ranged parsers): a value out of range is
//! refused while the command line is parsed (exit 2, before any backend starts), with the
//! range in the message ("0 is not in 1..=4096"). They parse as signed numbers so that a
//! negative value is named as out of range rather than as not a number (the options also
//! set `allow_negative_numbers`, or clap would take `-1` for a flag).

use clap::builder::RangedI64ValueParser;

/// `--cases`: at least one (a run of none would pass having checked nothing).
pub fn cases() -> RangedI64ValueParser<u64> {
    RangedI64ValueParser::new().range(1..)
}

/// `--pages`: 1 to the model's limit per region.
pub fn pages() -> RangedI64ValueParser<u32> {
    RangedI64ValueParser::new().range(1..=i64::from(forkspec_model::MAX_PAGES))
}

/// `--max-len`: at least one op per case.
pub fn max_len() -> RangedI64ValueParser<u32> {
    RangedI64ValueParser::new().range(1..=i64::from(u32::MAX))
}

/// `--jobs` and `--workers`: at least one.
pub fn workers() -> RangedI64ValueParser<u32> {
    RangedI64ValueParser::new().range(1..=4096)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Args {
        #[arg(long, value_parser = cases(), allow_negative_numbers = true)]
        cases: Option<u64>,
        #[arg(long, value_parser = pages(), allow_negative_numbers = true)]
        pages: Option<u32>,
        #[arg(long, value_parser = max_len(), allow_negative_numbers = true)]
        max_len: Option<u32>,
        #[arg(long, value_parser = workers(), allow_negative_numbers = true)]
        workers: Option<u32>,
    }

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn ranges_and_messages() {
        assert_eq!(parse(&["--cases", "7"]).unwrap().cases, Some(7));
        let e = parse(&["--cases", "0"]).unwrap_err();
        assert!(e.contains("0 is not in 1.."), "{e}");
        let e = parse(&["--cases", "-1"]).unwrap_err();
        assert!(e.contains("-1 is not in 1.."), "{e}");
        assert!(parse(&["--cases", "x"]).is_err());
        assert_eq!(parse(&["--pages", "256"]).unwrap().pages, Some(256));
        let e = parse(&["--pages", "257"]).unwrap_err();
        assert!(e.contains("257 is not in 1..=256"), "{e}");
        assert!(parse(&["--max-len", "0"]).is_err());
        assert_eq!(
            parse(&["--max-len", "4294967295"]).unwrap().max_len,
            Some(u32::MAX)
        );
        assert!(parse(&["--max-len", "4294967296"]).is_err());
        let e = parse(&["--workers", "0"]).unwrap_err();
        assert!(e.contains("1..=4096"), "{e}");
        assert_eq!(parse(&["--workers", "2"]).unwrap().workers, Some(2));
    }
}
