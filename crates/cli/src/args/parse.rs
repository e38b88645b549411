//! Reading flag values: numbers as the protocol reads them, durations in
//! the graphite crate's one grammar, and timeouts.

use std::time::Duration;

/// A client's `--timeout`: how long to wait for connecting and for each
/// reply; `None` waits forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeout(pub Option<Duration>);

/// Reads a timeout: a number of seconds (`10`, `0.5`) or a duration
/// (`500ms`, `1m`); 0 waits forever.
pub(crate) fn parse_timeout(text: &str) -> Result<Timeout, String> {
    let duration = match text.parse::<f64>() {
        Ok(seconds) => Duration::try_from_secs_f64(seconds).map_err(|_| {
            format!("{text:?} is not a timeout: seconds such as 10 or 0.5, or a duration such as 500ms (0: wait forever)")
        })?,
        Err(_) => parse_duration(text)?,
    };
    Ok(Timeout((!duration.is_zero()).then_some(duration)))
}

/// Reads a duration flag: `90`, `90s`, `200ms`, `15m`, `12h`, `30d`, `2w`
/// (the graphite crate's grammar, shared with the HTTP API's offsets).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    eardrum_graphite::time::parse_duration(text)
}

/// Reads a duration that is not zero.
pub(crate) fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = parse_duration(text)?;
    match interval.is_zero() {
        true => Err("the interval must be longer than zero, such as 1s".to_owned()),
        false => Ok(interval),
    }
}

/// Reads a size in bytes: a whole number with an optional unit, `K`, `M`,
/// `G` (powers of 1,024, with or without `iB`), e.g. `256M`, `1GiB`.
pub(crate) fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        "t" | "tib" => 40,
        _ => {
            return Err(format!(
                "unknown unit {unit:?}: use a number of bytes, or K, M, G or T (powers of 1024)"
            ))
        }
    };
    number
        .parse::<usize>()
        .ok()
        .and_then(|number| number.checked_mul(1usize.checked_shl(shift)?))
        .filter(|&bytes| bytes > 0)
        .ok_or_else(|| {
            format!("{text:?} is not a size above zero that fits this machine, such as 256M or 1G")
        })
}

/// Reads a value as the protocol does: any number Python's float() reads.
pub(crate) fn parse_value(text: &str) -> Result<f64, String> {
    eardrum_protocol::parse_value(text.as_bytes())
        .ok_or_else(|| format!("{text:?} is not a number (try 23.7, -1e5, nan or inf)"))
}

/// Reads a timestamp as the protocol does: whole Unix seconds.
pub(crate) fn parse_timestamp(text: &str) -> Result<i64, String> {
    eardrum_protocol::parse_timestamp(text.as_bytes())
        .ok_or_else(|| format!("{text:?} is not a whole number of Unix seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_take_seconds_or_durations() {
        assert_eq!(parse_timeout("10"), Ok(Timeout(Some(Duration::from_secs(10)))));
        assert_eq!(parse_timeout("0.5"), Ok(Timeout(Some(Duration::from_millis(500)))));
        assert_eq!(parse_timeout("500ms"), Ok(Timeout(Some(Duration::from_millis(500)))));
        assert_eq!(parse_timeout("0"), Ok(Timeout(None)));
        for bad in ["inf", "nan", "-1", "1e300", "", "10x"] {
            assert!(parse_timeout(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("64 kib"), Ok(64 << 10));
        for bad in ["", "0", "0M", "-1G", "1.5G", "12 parsecs", "99999999999999999999T", "M"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn intervals_are_not_zero() {
        assert_eq!(parse_interval("10s"), Ok(Duration::from_secs(10)));
        assert!(parse_interval("0").is_err() && parse_interval("0ms").is_err());
    }
}
