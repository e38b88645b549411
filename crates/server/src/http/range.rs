//! Time ranges and consolidation for the HTTP API: `from`/`until` as Unix
//! seconds, `now`, or an offset such as `-1h`; points grouped into `step`
//! buckets by an aggregation.

use std::fmt;

/// How the points of one bucket become its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aggregation {
    Avg,
    Min,
    Max,
    Sum,
    Last,
    Count,
}

impl Aggregation {
    /// Reads `avg`, `min`, `max`, `sum`, `last` or `count` (Graphite's
    /// `average` too).
    pub(crate) fn parse(text: &str) -> Result<Aggregation, String> {
        Ok(match text {
            "avg" | "average" => Aggregation::Avg,
            "min" => Aggregation::Min,
            "max" => Aggregation::Max,
            "sum" => Aggregation::Sum,
            "last" => Aggregation::Last,
            "count" => Aggregation::Count,
            other => {
                return Err(format!("unknown aggregation {other:?}: use avg, min, max, sum, last or count"))
            }
        })
    }

    /// The value of a bucket's points (in timestamp order; not empty).
    fn of(self, values: &[f64]) -> f64 {
        let fold = |start: f64, f: fn(f64, f64) -> f64| values.iter().copied().fold(start, f);
        match self {
            Aggregation::Avg => fold(0.0, |a, b| a + b) / values.len() as f64,
            Aggregation::Min => fold(f64::INFINITY, f64::min),
            Aggregation::Max => fold(f64::NEG_INFINITY, f64::max),
            Aggregation::Sum => fold(0.0, |a, b| a + b),
            Aggregation::Last => values.last().copied().unwrap_or(f64::NAN),
            Aggregation::Count => values.len() as f64,
        }
    }
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Aggregation::Avg => "avg",
            Aggregation::Min => "min",
            Aggregation::Max => "max",
            Aggregation::Sum => "sum",
            Aggregation::Last => "last",
            Aggregation::Count => "count",
        };
        f.write_str(name)
    }
}

/// Reads a time: Unix seconds, `now`, or `now` moved by offsets such as
/// `-1h`, `-30min`, `-7d` (units: s, min or m, h, d, w, mon = 30 d,
/// y = 365 d, each with Graphite's longer spellings).
pub(crate) fn parse_time(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    if text == "now" {
        return Ok(now);
    }
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    let invalid =
        || format!("invalid time {text:?}: use Unix seconds, now, or an offset such as -1h, -30min, -7d");
    let offset = text.strip_prefix("now").unwrap_or(text);
    let (sign, rest) = match offset.as_bytes().first() {
        Some(b'-') => (-1, &offset[1..]),
        Some(b'+') => (1, &offset[1..]),
        _ => return Err(invalid()),
    };
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let (count, unit) = rest.split_at(digits);
    let count: i64 = count.parse().map_err(|_| invalid())?;
    let unit_seconds = match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3_600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        "mon" | "month" | "months" => 30 * 86_400,
        "y" | "year" | "years" => 365 * 86_400,
        _ => return Err(invalid()),
    };
    count.checked_mul(unit_seconds).and_then(|delta| now.checked_add(sign * delta)).ok_or_else(invalid)
}

/// Groups `points` (ascending) into buckets of `step` seconds, from `from`
/// rounded down to a multiple of `step` (as Graphite aligns them) through
/// the bucket holding `until`; a bucket without points (NaN ones aside) is
/// `None`.
pub(crate) fn consolidate(
    points: &[(i64, f64)],
    from: i64,
    until: i64,
    step: i64,
    by: Aggregation,
) -> Vec<(i64, Option<f64>)> {
    let start = from.div_euclid(step) * step;
    let mut buckets = Vec::new();
    let mut rest = points;
    let mut bucket = start;
    while bucket <= until {
        let end = bucket.saturating_add(step);
        let split = rest.iter().position(|&(t, _)| t >= end).unwrap_or(rest.len());
        let (inside, after) = rest.split_at(split);
        // NaN is how agents say "no value" (collectd sends `nan`): like
        // Graphite's None, it is left out, and a bucket of only NaN is empty.
        let values: Vec<f64> =
            inside.iter().filter(|&&(t, v)| t >= bucket && !v.is_nan()).map(|&(_, v)| v).collect();
        buckets.push((bucket, (!values.is_empty()).then(|| by.of(&values))));
        rest = after;
        bucket = end;
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_seconds_now_or_offsets() {
        let now = 1_700_000_000;
        assert_eq!(parse_time("1690000000", now), Ok(1_690_000_000));
        assert_eq!(parse_time("now", now), Ok(now));
        assert_eq!(parse_time("-1h", now), Ok(now - 3_600));
        assert_eq!(parse_time("-30min", now), Ok(now - 1_800));
        assert_eq!(parse_time("-15m", now), Ok(now - 900));
        assert_eq!(parse_time("now-7d", now), Ok(now - 7 * 86_400));
        assert_eq!(parse_time("+2weeks", now), Ok(now + 14 * 86_400));
        for bad in ["", "yesterday", "-h", "-1fortnight", "1.5", "-99999999999999999y"] {
            assert!(parse_time(bad, now).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn consolidation_aligns_buckets_and_aggregates_each() {
        let points = [(100, 1.0), (110, 3.0), (125, 5.0), (170, 7.0)];
        let avg = consolidate(&points, 105, 179, 30, Aggregation::Avg);
        assert_eq!(avg, [(90, Some(2.0)), (120, Some(5.0)), (150, Some(7.0))]);
        assert_eq!(
            consolidate(&points[..3], 105, 179, 30, Aggregation::Avg)[2],
            (150, None),
            "an empty bucket"
        );
        let count = consolidate(&points, 90, 180, 60, Aggregation::Count);
        assert_eq!(count, [(60, Some(2.0)), (120, Some(2.0)), (180, None)]);
        let last = consolidate(&points, 90, 179, 90, Aggregation::Last);
        assert_eq!(last, [(90, Some(7.0))]);
        for (by, expected) in [(Aggregation::Min, 1.0), (Aggregation::Max, 7.0), (Aggregation::Sum, 16.0)] {
            assert_eq!(consolidate(&points, 0, 199, 200, by), [(0, Some(expected))], "{by}");
        }
        let with_nan = [(0, f64::NAN), (10, 2.0), (40, f64::NAN)];
        assert_eq!(consolidate(&with_nan, 0, 59, 30, Aggregation::Count), [(0, Some(1.0)), (30, None)]);
        assert_eq!(Aggregation::parse("average"), Ok(Aggregation::Avg));
        assert!(Aggregation::parse("median").is_err());
    }
}
