//! Time ranges and consolidation: `from`/`until` as Unix seconds, `now`,
//! an offset such as `-1h` or a date; the one grammar of durations; points
//! grouped into `step` buckets by an aggregation.

use std::fmt;
use std::time::Duration;

/// How the points of one bucket become its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// The mean.
    Avg,
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
    /// The total.
    Sum,
    /// The last value.
    Last,
    /// How many values there are.
    Count,
    /// The first value.
    First,
    /// The middle value (the mean of the two middle ones for an even
    /// count).
    Median,
    /// The largest value less the smallest.
    Range,
    /// The first value less all the others.
    Diff,
    /// The population standard deviation.
    Stddev,
    /// The product.
    Multiply,
}

impl Aggregation {
    /// Reads an aggregation by name, with Graphite's other spellings
    /// (`average`, `total`, `current`, `rangeOf`).
    pub fn parse(text: &str) -> Result<Aggregation, String> {
        Ok(match text {
            "avg" | "average" => Aggregation::Avg,
            "min" => Aggregation::Min,
            "max" => Aggregation::Max,
            "sum" | "total" => Aggregation::Sum,
            "last" | "current" => Aggregation::Last,
            "count" => Aggregation::Count,
            "first" => Aggregation::First,
            "median" => Aggregation::Median,
            "range" | "rangeOf" => Aggregation::Range,
            "diff" => Aggregation::Diff,
            "stddev" => Aggregation::Stddev,
            "multiply" => Aggregation::Multiply,
            other => {
                return Err(format!(
                    "unknown aggregation {other:?}: use avg, min, max, sum, last, first, count, \
                     median, range, diff, stddev or multiply"
                ))
            }
        })
    }

    /// The value of a bucket's points (in timestamp order; not empty).
    pub fn of(self, values: &[f64]) -> f64 {
        if values.is_empty() {
            return f64::NAN;
        }
        let fold = |start: f64, f: fn(f64, f64) -> f64| values.iter().copied().fold(start, f);
        match self {
            Aggregation::Avg => fold(0.0, |a, b| a + b) / values.len() as f64,
            Aggregation::Min => fold(f64::INFINITY, f64::min),
            Aggregation::Max => fold(f64::NEG_INFINITY, f64::max),
            Aggregation::Sum => fold(0.0, |a, b| a + b),
            Aggregation::Last => values.last().copied().unwrap_or(f64::NAN),
            Aggregation::Count => values.len() as f64,
            Aggregation::First => values.first().copied().unwrap_or(f64::NAN),
            Aggregation::Median => {
                let mut sorted = values.to_vec();
                sorted.sort_unstable_by(f64::total_cmp);
                let middle = sorted.len() / 2;
                match sorted.len() % 2 {
                    1 => sorted[middle],
                    _ => (sorted[middle - 1] + sorted[middle]) / 2.0,
                }
            }
            Aggregation::Range => fold(f64::NEG_INFINITY, f64::max) - fold(f64::INFINITY, f64::min),
            Aggregation::Diff => values[0] - values[1..].iter().sum::<f64>(), // not empty: checked above
            Aggregation::Stddev => {
                let mean = Aggregation::Avg.of(values);
                (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / values.len() as f64).sqrt()
            }
            Aggregation::Multiply => fold(1.0, |a, b| a * b),
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
            Aggregation::First => "first",
            Aggregation::Median => "median",
            Aggregation::Range => "range",
            Aggregation::Diff => "diff",
            Aggregation::Stddev => "stddev",
            Aggregation::Multiply => "multiply",
        };
        f.write_str(name)
    }
}

/// Reads a time as Graphite does: Unix seconds, `now`, an offset from now
/// such as `-1h`, `-30min`, `now-7d`, or a UTC date as `YYYYMMDD` or
/// `HH:MM_YYYYMMDD`, or `today`, `yesterday`, `tomorrow` (midnight UTC).
/// Eight digits that read as a date since 1900 are a date, as in Graphite.
///
/// # Errors
///
/// A message naming the text and the forms accepted, or the range for a
/// time more than 10^11 seconds from the epoch.
pub fn parse_time(text: &str, now: i64) -> Result<i64, String> {
    let time = parse_any_time(text, now)?;
    if !(-MAX_TIME..=MAX_TIME).contains(&time) {
        return Err(format!(
            "time {text:?} is out of range: between -{MAX_TIME} and {MAX_TIME} Unix seconds"
        ));
    }
    Ok(time)
}

/// The furthest time from the epoch the API takes (about the year 5138):
/// far beyond any data, and far enough from `i64`'s ends that arithmetic on
/// ranges and steps cannot overflow.
pub const MAX_TIME: i64 = 100_000_000_000;

fn parse_any_time(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    let invalid = || {
        format!(
            "invalid time {text:?}: use Unix seconds, now, an offset such as -1h, -30min, -7d, \
             or a UTC date as YYYYMMDD or HH:MM_YYYYMMDD"
        )
    };
    let midnight = now.div_euclid(86_400) * 86_400;
    match text {
        "now" => return Ok(now),
        "today" | "midnight" => return Ok(midnight),
        "yesterday" => return Ok(midnight - 86_400),
        "tomorrow" => return Ok(midnight + 86_400),
        _ => {}
    }
    if let Some(date) = parse_date(text) {
        return Ok(date);
    }
    if let Some((clock, date)) = text.split_once('_') {
        let (hours, minutes) = clock.split_once(':').ok_or_else(invalid)?;
        let hours: i64 = hours.parse().ok().filter(|h| (0..24).contains(h)).ok_or_else(invalid)?;
        let minutes: i64 = minutes.parse().ok().filter(|m| (0..60).contains(m)).ok_or_else(invalid)?;
        return Ok(parse_date(date).ok_or_else(invalid)? + hours * 3_600 + minutes * 60);
    }
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    let offset = text.strip_prefix("now").unwrap_or(text);
    if !offset.starts_with(['-', '+']) {
        return Err(invalid());
    }
    parse_offset(offset).ok().and_then(|delta| now.checked_add(delta)).ok_or_else(invalid)
}

/// The milliseconds in one of a length of time's units: the workspace's
/// one grammar of durations, Graphite's units (with its longer spellings)
/// and `ms`. `mon` is 30 days and `y` 365, as Graphite counts them.
fn unit_millis(unit: &str) -> Option<u64> {
    Some(match unit {
        "ms" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        "w" | "week" | "weeks" => 7 * 86_400_000,
        "mon" | "month" | "months" => 30 * 86_400_000,
        "y" | "year" | "years" => 365 * 86_400_000,
        _ => return None,
    })
}

/// A count and a unit (`90s`, `15m`, `30d`, `200ms`; a bare count is
/// seconds) as a length of time: the grammar of every duration flag.
///
/// # Errors
///
/// A message naming `text` and the units, for anything else (signs,
/// fractions, unknown units, lengths beyond `u64` milliseconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (count, unit) = text.split_at(digits);
    let invalid = || {
        format!("{text:?} is not a duration: a count and a unit (ms, s, min or m, h, d, w, mon, y), such as 90s or 30d")
    };
    let unit_millis = if unit.is_empty() { 1_000 } else { unit_millis(unit).ok_or_else(invalid)? };
    count
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(unit_millis))
        .map(Duration::from_millis)
        .ok_or_else(invalid)
}

/// Reads a signed length of time in whole seconds, as Graphite writes its
/// offsets: `-1h`, `+2weeks`, `10min` (the units of [`parse_duration`],
/// but a unit is required and `ms` is too fine).
pub fn parse_offset(text: &str) -> Result<i64, String> {
    let invalid = || format!("invalid interval {text:?}: a count and a unit, such as 1h, 30min, 7d");
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let (count, unit) = rest.split_at(digits);
    let count: i64 = count.parse().map_err(|_| invalid())?;
    let unit_seconds = unit_millis(unit).filter(|millis| millis % 1_000 == 0).ok_or_else(invalid)? / 1_000;
    let unit_seconds = i64::try_from(unit_seconds).map_err(|_| invalid())?;
    count.checked_mul(unit_seconds).map(|seconds| sign * seconds).ok_or_else(invalid)
}

/// `YYYYMMDD` as Unix seconds at midnight UTC, if `text` is such a date.
fn parse_date(text: &str) -> Option<i64> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |range: std::ops::Range<usize>| text[range].parse::<i64>().ok();
    let (year, month, day) = (field(0..4)?, field(4..6)?, field(6..8)?);
    if year <= 1900 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400)
}

/// `timestamp` as `YYYY-MM-DD HH:MM:SS` in UTC, as graphite-web's CSV
/// writes times (in its time zone; eardrum's is UTC).
pub fn utc_datetime(timestamp: i64) -> String {
    let (days, seconds) = (timestamp.div_euclid(86_400), timestamp.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        seconds / 3_600,
        seconds % 3_600 / 60,
        seconds % 60
    )
}

/// The date of the proleptic Gregorian calendar `days` after 1970-01-01,
/// the inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar,
/// counting in 400-year eras that begin on 1 March (so that the leap day
/// falls at the end of a year).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Groups `points` (ascending) into buckets of `step` seconds, from `from`
/// rounded down to a multiple of `step` (as Graphite aligns them) through
/// the bucket holding `until`; a bucket without points (NaN ones aside) is
/// `None`.
pub fn consolidate(
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
    fn utc_dates_read_back() {
        assert_eq!(utc_datetime(0), "1970-01-01 00:00:00");
        assert_eq!(utc_datetime(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(utc_datetime(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc_datetime(-1), "1969-12-31 23:59:59");
        for days in [-800_000, -1, 0, 59, 60, 11_016, 2_932_896] {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days, "{days}");
        }
    }

    #[test]
    fn durations_and_offsets_share_their_units() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("2weeks"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_duration("1y"), Ok(Duration::from_secs(365 * 86_400)));
        for bad in ["", "d", "1.5h", "10x", "-1h", "+1h", "99999999999999999999w", "1 h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_offset("-1y"), Ok(-365 * 86_400));
        assert_eq!(parse_offset("+2weeks"), Ok(14 * 86_400));
        for bad in ["", "10", "-500ms", "1.5h"] {
            assert!(parse_offset(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn times_are_seconds_now_or_offsets() {
        let now = 1_700_000_000;
        assert_eq!(parse_time("1690000000", now), Ok(1_690_000_000));
        for far in ["-9223372036854775808", "9223372036854775807", "100000000001", "-100000000001", "+3200y"]
        {
            let error = parse_time(far, now).unwrap_err();
            assert!(error.contains("out of range"), "{far}: {error}");
        }
        assert_eq!(parse_time("-100000000000", now), Ok(-MAX_TIME));
        assert_eq!(parse_time("now", now), Ok(now));
        assert_eq!(parse_time("-1h", now), Ok(now - 3_600));
        assert_eq!(parse_time("-30min", now), Ok(now - 1_800));
        assert_eq!(parse_time("-15m", now), Ok(now - 900));
        assert_eq!(parse_time("now-7d", now), Ok(now - 7 * 86_400));
        assert_eq!(parse_time("+2weeks", now), Ok(now + 14 * 86_400));
        // 2023-11-14 22:13:20 UTC.
        assert_eq!(parse_time("20231114", now), Ok(1_699_920_000));
        assert_eq!(parse_time("22:13_20231114", now), Ok(now - 20));
        assert_eq!(parse_time("today", now), Ok(1_699_920_000));
        assert_eq!(parse_time("yesterday", now), Ok(1_699_920_000 - 86_400));
        assert_eq!(parse_time("20000229", now), Ok(951_782_400), "a leap day");
        assert_eq!(parse_time("19700101", now), Ok(0));
        assert_eq!(parse_time("12345678", now), Ok(12_345_678), "not a date: seconds");
        for bad in ["", "soon", "-h", "-1fortnight", "1.5", "-99999999999999999y", "24:00_20231114", "1h"] {
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
        assert!(Aggregation::parse("mode").is_err());
    }
}
