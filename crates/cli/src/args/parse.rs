//! Reading flag values: numbers as the protocol reads them, durations in
//! the graphite crate's one grammar, and timeouts.

use eardrum_storage::RollupLevel;
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

/// `--retention`: how long the raw points are kept, and the rollup steps
/// with how long each is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Retention {
    pub(crate) raw: Option<Duration>,
    pub(crate) rollups: Vec<RollupLevel>,
}

impl Default for Retention {
    /// Everything kept, rolled up at the store's default steps.
    fn default() -> Self {
        Retention { raw: None, rollups: eardrum_storage::Options::default().rollups }
    }
}

/// Reads `--retention`: a duration (`30d`: the points and their rollups
/// alike), or tiers (`raw=30d,5m=1y,1h=5y`: the raw points, then each
/// rollup step, finest first, with how long it is kept; `forever` keeps a
/// tier for ever). The steps named are the steps rolled up at.
pub(crate) fn parse_retention(text: &str) -> Result<Retention, String> {
    if !text.contains('=') {
        let raw = Some(parse_duration(text)?);
        return Ok(Retention { raw, ..Retention::default() });
    }
    let kept_for = |value: &str| match value {
        "forever" => Ok(None),
        _ => parse_duration(value).map(Some),
    };
    let mut tiers = text.split(',').map(|tier| {
        tier.split_once('=')
            .ok_or_else(|| format!("{tier:?} is not a tier: write NAME=DURATION, as raw=30d or 5m=1y"))
    });
    let (name, raw) = tiers.next().ok_or("no tiers")??;
    if name != "raw" {
        return Err(format!("the first tier must be raw=DURATION, not {name:?}"));
    }
    let raw = kept_for(raw)?;
    let mut rollups = Vec::new();
    for tier in tiers {
        let (step, kept) = tier?;
        let step = i64::try_from(parse_duration(step)?.as_secs())
            .map_err(|_| format!("step {step:?} is too long"))?;
        // A level kept for ever after raw points that are not is kept as
        // long as can be counted (a level without a retention would be
        // kept as long as the tier before it).
        let retention = match kept_for(kept)? {
            None if raw.is_some() => Some(Duration::MAX),
            kept => kept,
        };
        rollups.push(RollupLevel { step, retention });
    }
    eardrum_storage::rollup::check_levels(raw, &rollups).map_err(|error| match error {
        eardrum_storage::Error::InvalidOptions { reason } => reason,
        other => other.to_string(),
    })?;
    Ok(Retention { raw, rollups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_takes_a_duration_or_tiers() {
        let day = Duration::from_secs(86_400);
        assert_eq!(parse_retention("30d"), Ok(Retention { raw: Some(day * 30), ..Retention::default() }));
        let tiers = parse_retention("raw=30d,5m=1y,1h=forever").unwrap();
        assert_eq!(tiers.raw, Some(day * 30));
        assert_eq!(
            tiers.rollups,
            [
                RollupLevel { step: 300, retention: Some(day * 365) },
                RollupLevel { step: 3600, retention: Some(Duration::MAX) },
            ]
        );
        assert_eq!(parse_retention("raw=forever").unwrap(), Retention { raw: None, rollups: Vec::new() });
        let forever = parse_retention("raw=forever,1m=forever").unwrap();
        assert_eq!(forever.rollups, [RollupLevel { step: 60, retention: None }]);
        for (bad, says) in [
            ("5m=1y", "the first tier must be raw"),
            ("raw=30d,5m", "is not a tier"),
            ("raw=30d,7m=1y", "must divide 7200s"),
            ("raw=30d,1h=1y,5m=2y", "must be a multiple"),
            ("raw=30d,5m=1d", "at least as long as the raw points"),
            ("raw=forever,5m=1y", "at least as long as the raw points"),
            ("raw=1x", "1x"),
        ] {
            let error = parse_retention(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

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
