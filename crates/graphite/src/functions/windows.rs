//! Functions over intervals of time: `summarize` and `smartSummarize`,
//! `hitcount`, `integralByInterval`, `compressPeriodicGaps`.

use super::{Args, Context};
use crate::expr::Expr;
use crate::series::{Series, MAX_SLOTS_PER_SERIES};
use crate::time::{parse_offset, Aggregation};
use serde_json::Value;

/// The interval (as written and in seconds, above 0) and the function
/// (`sum` unless given) that `summarize` and `smartSummarize` take.
fn interval_and_func<'a>(args: &'a Args<'_>) -> Result<(&'a str, i64, &'a str, Aggregation), String> {
    let text =
        args.text(1, "intervalString")?.ok_or_else(|| args.wrong("intervalString", "a quoted interval"))?;
    let interval = parse_offset(text)
        .ok()
        .filter(|&seconds| seconds > 0)
        .ok_or_else(|| args.wrong("intervalString", "a positive interval such as \"1h\""))?;
    let func = args.text(2, "func")?.unwrap_or("sum");
    let by = Aggregation::parse(func).map_err(|reason| format!("{}: {reason}", args.function))?;
    Ok((text, interval, func, by))
}

/// `summarize(seriesList, "1h", func="sum", alignToFrom=false)`: one value
/// per interval, buckets aligned to multiples of the interval (or to the
/// series' start with `alignToFrom`).
pub(super) fn summarize(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "intervalString", "func", "alignToFrom"])?;
    let (interval_text, interval, func, by) = interval_and_func(args)?;
    let align_to_from = match args.find(3, "alignToFrom") {
        None => false,
        Some(Expr::Bool(align)) => *align,
        Some(_) => return Err(args.wrong("alignToFrom", "true or false")),
    };
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let start = match align_to_from {
            true => series.start,
            false => series.start.div_euclid(interval) * interval,
        };
        let values = buckets(series, start, interval, by, cx, interval_text)?;
        let aligned = if align_to_from { ", true" } else { "" };
        series.name = format!("summarize({}, \"{interval_text}\", \"{func}\"{aligned})", series.name);
        series.path_expression.clone_from(&series.name);
        series.tags.insert("summarize".to_owned(), Value::String(interval_text.to_owned()));
        series.tags.insert("summarizeFunction".to_owned(), Value::String(func.to_owned()));
        (series.start, series.step, series.values) = (start, interval, values);
    }
    Ok(list)
}

/// The values of `series` in buckets of `interval` seconds from `start`
/// through its end, each `by` of the values of the slots starting in it
/// (graphite-web's `_summarizeValues`), or why there would be too many.
fn buckets(
    series: &Series,
    start: i64,
    interval: i64,
    by: Aggregation,
    cx: &Context<'_>,
    interval_text: &str,
) -> Result<Vec<f64>, String> {
    let count = ((series.end() - start).max(0) + interval - 1) / interval;
    if count > MAX_SLOTS_PER_SERIES {
        return Err(format!(
            "{interval_text:?} makes {count} buckets of {:?}, more than {MAX_SLOTS_PER_SERIES}: use a longer \
             interval or a shorter range",
            series.name
        ));
    }
    Ok(series.bucketed(start, interval, count, by, cx.x_files_factor_of(series)))
}

/// `smartSummarize(seriesList, "1h", func="sum", alignTo=None)`:
/// `summarize` with buckets from each series' start, and with `alignTo`
/// (a unit: `minutes`, `hours`, `days`, `weeks` or `weeks3` for a
/// Wednesday, `months`, `years`) the series read again from the start of
/// the range rounded down to that unit (in UTC).
pub(super) fn smart_summarize(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "intervalString", "func", "alignTo"])?;
    let (interval_text, interval, func, by) = interval_and_func(args)?;
    let mut list = match args.find(3, "alignTo") {
        // The deprecated alignToFrom: ignored, as graphite-web ignores it.
        None | Some(Expr::Bool(_)) => args.series(cx, 0, "seriesList")?,
        Some(Expr::Text(unit)) => {
            let from = aligned_down(cx.from, unit).map_err(|reason| format!("smartSummarize: {reason}"))?;
            let expression =
                args.find(0, "seriesList").ok_or_else(|| args.wrong("seriesList", "a series list"))?;
            super::evaluate(expression, &mut cx.over(from, cx.until))?
        }
        Some(_) => return Err(args.wrong("alignTo", "a quoted unit such as \"hours\"")),
    };
    for series in &mut list {
        let values = buckets(series, series.start, interval, by, cx, interval_text)?;
        series.tags.insert("smartSummarize".to_owned(), Value::String(interval_text.to_owned()));
        series.tags.insert("smartSummarizeFunction".to_owned(), Value::String(func.to_owned()));
        series.name = format!("smartSummarize({}, \"{interval_text}\", \"{func}\")", series.name);
        series.path_expression.clone_from(&series.name);
        (series.step, series.values) = (interval, values);
    }
    Ok(list)
}

/// `time` rounded down to the start of its `unit` (graphite's unit names,
/// by prefix: `s`, `min`, `h`, `d`, `w`, `mon`, `y`), in UTC; for weeks, a
/// final digit is the ISO weekday to start on (Monday without one).
fn aligned_down(time: i64, unit: &str) -> Result<i64, String> {
    use crate::time::{civil_from_days, days_from_civil};
    let days = time.div_euclid(86_400);
    let (year, month, _) = civil_from_days(days);
    Ok(if unit.starts_with('s') {
        time
    } else if unit.starts_with("min") {
        time - time.rem_euclid(60)
    } else if unit.starts_with('h') {
        time - time.rem_euclid(3600)
    } else if unit.starts_with('d') {
        days * 86_400
    } else if unit.starts_with('w') {
        let weekday = match unit.chars().last().and_then(|c| c.to_digit(10)) {
            Some(digit) => i64::from(digit),
            None => 1,
        };
        // 1970-01-01 was a Thursday, ISO weekday 4.
        let today = (days + 3).rem_euclid(7) + 1;
        (days - (today - weekday).rem_euclid(7)) * 86_400
    } else if unit.starts_with("mon") {
        days_from_civil(year, month, 1) * 86_400
    } else if unit.starts_with('y') {
        days_from_civil(year, 1, 1) * 86_400
    } else {
        return Err(format!("invalid unit {unit:?}: seconds, minutes, hours, days, weeks, months or years"));
    })
}

/// `compressPeriodicGaps(seriesList)`: a series whose values come every few
/// slots with gaps between (a metric sent every 5 minutes stored at 1
/// minute) summarized at that period by its last value, the period guessed
/// from the first values as graphite-web guesses it; others unchanged.
pub(super) fn compress_periodic_gaps(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList"])?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.name = format!("compressPeriodicGaps({})", series.name);
        series.path_expression.clone_from(&series.name);
        // graphite-web's test is truthiness: 0 counts as no value.
        let truthy = |value: f64| !value.is_nan() && value != 0.0;
        let (mut first_seen, mut second_seen) = (0usize, 0usize);
        for (index, &value) in series.values.iter().enumerate() {
            if truthy(value) {
                if first_seen > 0 {
                    second_seen = index;
                    break;
                }
                first_seen = index;
            }
        }
        let guess = second_seen.saturating_sub(first_seen);
        let third = second_seen + guess;
        let periodic = guess > 1
            && third + 2 <= series.values.len()
            && truthy(series.values[third])
            && series.values[third - 1].is_nan()
            && series.values[third + 1].is_nan();
        if periodic {
            let interval = guess as i64 * series.step;
            let start = series.start + first_seen as i64 * series.step;
            let values = buckets(series, start, interval, Aggregation::Last, cx, "the guessed period")?;
            (series.start, series.step, series.values) = (start, interval, values);
        }
    }
    Ok(list)
}

/// `integralByInterval(seriesList, "1d")`: the running total, restarting
/// at every multiple of the interval from the range's start (`None` keeps
/// the total).
pub(super) fn integral_by_interval(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "intervalUnit"])?;
    let unit =
        args.text(1, "intervalUnit")?.ok_or_else(|| args.wrong("intervalUnit", "a quoted interval"))?;
    let interval = parse_offset(unit)
        .ok()
        .map(i64::unsigned_abs)
        .filter(|&seconds| seconds > 0)
        .and_then(|seconds| i64::try_from(seconds).ok())
        .ok_or_else(|| args.wrong("intervalUnit", "a non-zero interval such as \"1d\""))?;
    let start = cx.from;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let mut total = 0.0;
        let mut time = series.start;
        for value in &mut series.values {
            if (time - start).div_euclid(interval) != (time - start - series.step).div_euclid(interval) {
                total = 0.0;
            }
            if !value.is_nan() {
                total += *value;
            }
            *value = total;
            time += series.step;
        }
        series.tags.insert("integralByInterval".to_owned(), Value::String(unit.to_owned()));
        series.name = format!("integralByInterval({},'{unit}')", series.name);
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `hitcount(seriesList, "10min", alignToInterval=false)`: a rate per
/// second as hits per interval: each value times the seconds of its slot
/// that fall in each interval, summed per interval, intervals ending at the
/// series' end (or, aligned, starting at the range's start floored to the
/// day, hour or minute).
pub(super) fn hitcount(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "intervalString", "alignToInterval"])?;
    let text =
        args.text(1, "intervalString")?.ok_or_else(|| args.wrong("intervalString", "a quoted interval"))?;
    let interval = parse_offset(text)
        .ok()
        .map(i64::unsigned_abs)
        .and_then(|seconds| i64::try_from(seconds).ok())
        .filter(|&seconds| seconds > 0)
        .ok_or_else(|| args.wrong("intervalString", "a non-zero interval such as \"10min\""))?;
    let align = match args.find(2, "alignToInterval") {
        None => false,
        Some(Expr::Bool(align)) => *align,
        Some(_) => return Err(args.wrong("alignToInterval", "true or false")),
    };
    let mut list = args.series(cx, 0, "seriesList")?;
    // Each series with the end graphite-web counts its intervals back from.
    let mut ends: Vec<i64> = list.iter().map(Series::end).collect();
    if align {
        let unit = match interval {
            86_400.. => 86_400,
            3_600.. => 3_600,
            60.. => 60,
            _ => 1,
        };
        let expression =
            args.find(0, "seriesList").ok_or_else(|| args.wrong("seriesList", "a series list"))?;
        let from = cx.from.div_euclid(unit) * unit;
        let mut aligned_cx = cx.over(from, cx.until);
        list = super::evaluate(expression, &mut aligned_cx)?;
        ends = list
            .iter()
            .map(|series| {
                series.start + (series.end() - series.start).div_euclid(interval) * interval + interval
            })
            .collect();
    }
    let buckets_allowed = crate::series::MAX_SLOTS_PER_SERIES;
    for (series, end) in list.iter_mut().zip(ends) {
        let buckets = (end - series.start + interval - 1).div_euclid(interval).max(0);
        if buckets > buckets_allowed {
            return Err(format!("hitcount: {text:?} makes {buckets} intervals, more than {buckets_allowed}"));
        }
        let start = end - buckets * interval;
        let last = usize::try_from(buckets).unwrap_or(0);
        let mut sums: Vec<Option<f64>> = vec![None; last];
        let mut add = |bucket: i64, hits: f64| {
            if let Some(sum) = usize::try_from(bucket).ok().and_then(|bucket| sums.get_mut(bucket)) {
                *sum = Some(sum.unwrap_or(0.0) + hits);
            }
        };
        for (slot, &value) in series.values.iter().enumerate() {
            if value.is_nan() {
                continue;
            }
            let slot_start = series.start + slot as i64 * series.step;
            let (start_bucket, start_mod) =
                ((slot_start - start).div_euclid(interval), (slot_start - start).rem_euclid(interval));
            let slot_end = slot_start + series.step;
            let (mut end_bucket, mut end_mod) =
                ((slot_end - start).div_euclid(interval), (slot_end - start).rem_euclid(interval));
            if end_bucket >= buckets {
                (end_bucket, end_mod) = (buckets - 1, interval);
            }
            if start_bucket == end_bucket {
                if start_bucket >= 0 {
                    add(start_bucket, value * (end_mod - start_mod) as f64);
                }
            } else {
                if start_bucket >= 0 {
                    add(start_bucket, value * (interval - start_mod) as f64);
                }
                for bucket in start_bucket + 1..end_bucket {
                    add(bucket, value * interval as f64);
                }
                if end_mod > 0 {
                    add(end_bucket, value * end_mod as f64);
                }
            }
        }
        series.tags.insert("hitcount".to_owned(), Value::String(text.to_owned()));
        let aligned = if align { ", true" } else { "" };
        series.name = format!("hitcount({}, \"{text}\"{aligned})", series.name);
        series.path_expression.clone_from(&series.name);
        (series.start, series.step) = (start, interval);
        series.values = sums.into_iter().map(|sum| sum.unwrap_or(f64::NAN)).collect();
    }
    Ok(list)
}
