//! Functions that choose and order series.

use super::{Args, Context};
use crate::expr::Expr;
use crate::series::Series;
use crate::time::Aggregation;
use std::cmp::Ordering;

/// `limit(seriesList, n)`: the first `n` series.
pub(super) fn limit(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "n"])?;
    let n = count(args, 1, "n")?;
    let mut list = args.series(cx, 0, "seriesList")?;
    list.truncate(n);
    Ok(list)
}

/// `exclude(seriesList, pattern)`: the series whose names the regular
/// expression does not match.
pub(super) fn exclude(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "pattern"])?;
    let pattern = args.text(1, "pattern")?.ok_or_else(|| args.wrong("pattern", "a regular expression"))?;
    let pattern = super::regex(args, "pattern", pattern)?;
    let mut list = args.series(cx, 0, "seriesList")?;
    list.retain(|series| !pattern.is_match(&series.name));
    Ok(list)
}

/// `sortByName(seriesList, natural=false, reverse=false)`.
pub(super) fn sort_by_name(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "natural", "reverse"])?;
    let natural = flag(args, 1, "natural")?;
    let reverse = flag(args, 2, "reverse")?;
    let mut list = args.series(cx, 0, "seriesList")?;
    let key = |series: &Series| match natural {
        true => natural_key(&series.name),
        false => series.name.clone(),
    };
    list.sort_by(|a, b| {
        let order = key(a).cmp(&key(b));
        if reverse {
            order.reverse()
        } else {
            order
        }
    });
    Ok(list)
}

/// The name with every run of digits padded to ten, as graphite-web sorts
/// naturally.
fn natural_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len() + 16);
    let mut digits = String::new();
    for c in name.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            key.push_str(&format!("{digits:0>10}"));
            digits.clear();
        }
        if c != '\0' {
            key.push(c);
        }
    }
    key
}

/// `sortByMaxima(seriesList)`: the highest maximum first.
pub(super) fn sort_by_maxima(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList"])?;
    let list = args.series(cx, 0, "seriesList")?;
    Ok(sorted_by(list, Aggregation::Max, true))
}

/// `sortByMinima(seriesList)`: the series with a maximum above 0, lowest
/// minimum first.
pub(super) fn sort_by_minima(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList"])?;
    let mut list = args.series(cx, 0, "seriesList")?;
    list.retain(|series| summary(series, Aggregation::Max).unwrap_or(0.0) > 0.0);
    Ok(sorted_by(list, Aggregation::Min, false))
}

/// `sortBy(seriesList, func="average", reverse=false)` and `sortByTotal`
/// (`sum`, reversed).
pub(super) fn sort_by(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    fixed: Option<(Aggregation, bool)>,
) -> Result<Vec<Series>, String> {
    let (by, reverse) = match fixed {
        Some(fixed) => {
            args.only(&["seriesList"])?;
            fixed
        }
        None => {
            args.only(&["seriesList", "func", "reverse"])?;
            (aggregation(args, 1, "func")?.unwrap_or(Aggregation::Avg), flag(args, 2, "reverse")?)
        }
    };
    let list = args.series(cx, 0, "seriesList")?;
    Ok(sorted_by(list, by, reverse))
}

/// `highest(seriesList, n=1, func="average")` and `lowest`, and the fixed
/// kinds (`highestAverage`, `highestCurrent`, `highestMax`,
/// `lowestAverage`, `lowestCurrent`): the `n` series highest (lowest) by
/// `func`.
pub(super) fn extremes(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    highest: bool,
    fixed: Option<Aggregation>,
) -> Result<Vec<Series>, String> {
    let (n, by) = match fixed {
        Some(by) => {
            args.only(&["seriesList", "n"])?;
            (count(args, 1, "n")?, by)
        }
        None => {
            args.only(&["seriesList", "n", "func"])?;
            let n = match args.find(1, "n") {
                None => 1,
                Some(_) => count(args, 1, "n")?,
            };
            (n, aggregation(args, 2, "func")?.unwrap_or(Aggregation::Avg))
        }
    };
    let list = args.series(cx, 0, "seriesList")?;
    let mut sorted = sorted_by(list, by, highest);
    sorted.truncate(n);
    Ok(sorted)
}

/// `filterSeries(seriesList, func, operator, threshold)` and the fixed
/// kinds (`averageAbove`, `currentBelow`, `maximumAbove`, …): the series
/// whose `func` of their values passes the comparison. A series without
/// values passes `<`, `<=` and `!=` only, as graphite-web's `None` does.
pub(super) fn filter_series(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    fixed: Option<(Aggregation, &str)>,
) -> Result<Vec<Series>, String> {
    let (by, operator, threshold) = match fixed {
        Some((by, operator)) => {
            args.only(&["seriesList", "n"])?;
            (by, operator, args.number(1, "n")?.0)
        }
        None => {
            args.only(&["seriesList", "func", "operator", "threshold"])?;
            let by =
                aggregation(args, 1, "func")?.ok_or_else(|| args.wrong("func", "a quoted aggregation"))?;
            let operator =
                args.text(2, "operator")?.ok_or_else(|| args.wrong("operator", "a quoted comparison"))?;
            (by, operator, args.number(3, "threshold")?.0)
        }
    };
    let passes: fn(Option<f64>, f64) -> bool = match operator {
        "=" => |value, threshold| value == Some(threshold),
        "!=" => |value, threshold| value != Some(threshold),
        ">" => |value, threshold| value.is_some_and(|value| value > threshold),
        ">=" => |value, threshold| value.is_some_and(|value| value >= threshold),
        "<" => |value, threshold| value.is_none_or(|value| value < threshold),
        "<=" => |value, threshold| value.is_none_or(|value| value <= threshold),
        other => {
            return Err(format!(
                "{}: unsupported operator {other:?}: use =, !=, >, >=, < or <=",
                args.function
            ))
        }
    };
    let mut list = args.series(cx, 0, "seriesList")?;
    list.retain(|series| passes(summary(series, by), threshold));
    Ok(list)
}

/// `removeEmptySeries(seriesList, xFilesFactor=0)`: the series with values,
/// at least `xFilesFactor` of their slots.
pub(super) fn remove_empty_series(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "xFilesFactor"])?;
    let x_files_factor = match args.find(1, "xFilesFactor") {
        None => 0.0,
        Some(_) => args.number(1, "xFilesFactor")?.0,
    };
    let mut list = args.series(cx, 0, "seriesList")?;
    list.retain(|series| {
        let present = series.values.iter().filter(|value| !value.is_nan()).count();
        present > 0 && present as f64 / series.values.len() as f64 >= x_files_factor
    });
    Ok(list)
}

/// `unique(seriesList, …)`: the series of every list, each name once.
pub(super) fn unique(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let mut seen = std::collections::HashSet::new();
    let mut kept = Vec::new();
    for position in 0..args.positional.len() {
        for series in args.series(cx, position, "seriesLists")? {
            if seen.insert(series.name.clone()) {
                kept.push(series);
            }
        }
    }
    Ok(kept)
}

/// `grep(seriesList, pattern)`: the series whose names the regular
/// expression matches.
pub(super) fn grep(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "pattern"])?;
    let pattern = args.text(1, "pattern")?.ok_or_else(|| args.wrong("pattern", "a regular expression"))?;
    let pattern = super::regex(args, "pattern", pattern)?;
    let mut list = args.series(cx, 0, "seriesList")?;
    list.retain(|series| pattern.is_match(&series.name));
    Ok(list)
}

/// The series sorted by `by` of their values (a series without values as
/// the lowest), highest first when `descending`; ties keep their order.
fn sorted_by(mut list: Vec<Series>, by: Aggregation, descending: bool) -> Vec<Series> {
    let key = |series: &Series| summary(series, by).unwrap_or(f64::NEG_INFINITY);
    list.sort_by(|a, b| {
        let order = key(a).partial_cmp(&key(b)).unwrap_or(Ordering::Equal);
        if descending {
            order.reverse()
        } else {
            order
        }
    });
    list
}

/// `by` of a series' values as graphite-web's aggregation functions give
/// it: `None` without values (but 0 for `count`), and for `multiply` when
/// any is `None`.
fn summary(series: &Series, by: Aggregation) -> Option<f64> {
    let present: Vec<f64> = series.values.iter().copied().filter(|value| !value.is_nan()).collect();
    match by {
        Aggregation::Count => Some(present.len() as f64),
        Aggregation::Multiply if present.len() < series.values.len() => None,
        _ => (!present.is_empty()).then(|| by.of(&present)),
    }
}

/// An optional quoted aggregation argument.
fn aggregation(args: &Args<'_>, position: usize, name: &str) -> Result<Option<Aggregation>, String> {
    match args.text(position, name)? {
        None => Ok(None),
        Some(text) => {
            Aggregation::parse(text).map(Some).map_err(|reason| format!("{}: {reason}", args.function))
        }
    }
}

/// A whole-number argument of at least 0.
fn count(args: &Args<'_>, position: usize, name: &str) -> Result<usize, String> {
    match args.find(position, name) {
        Some(Expr::Number(n, _)) if *n >= 0.0 && n.fract() == 0.0 => Ok(*n as usize),
        _ => Err(args.wrong(name, "a whole number")),
    }
}

/// A `true`/`false` argument, false when absent.
fn flag(args: &Args<'_>, position: usize, name: &str) -> Result<bool, String> {
    match args.find(position, name) {
        None => Ok(false),
        Some(Expr::Bool(value)) => Ok(*value),
        Some(_) => Err(args.wrong(name, "true or false")),
    }
}

/// `mostDeviant(seriesList, n)`: the `n` series whose values vary most
/// (population variance), those without values left out.
pub(super) fn most_deviant(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "n"])?;
    let n = count(args, 1, "n")?;
    let list = args.series(cx, 0, "seriesList")?;
    let mut deviants: Vec<(f64, Series)> = list
        .into_iter()
        .filter_map(|series| {
            let present: Vec<f64> = series.values.iter().copied().filter(|value| !value.is_nan()).collect();
            let mean = summary(&series, Aggregation::Avg)?;
            let squares: f64 = present.iter().map(|value| (value - mean).powi(2)).sum();
            Some((squares / present.len() as f64, series))
        })
        .collect();
    deviants.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(Ordering::Equal));
    Ok(deviants.into_iter().take(n).map(|(_, series)| series).collect())
}

/// `averageOutsidePercentile(seriesList, n)` and
/// `removeBetweenPercentile(seriesList, n)`: the series whose average (or
/// some value) lies outside the band between the `100-n`th and `n`th
/// percentiles of the series' averages (of the values at that slot).
pub(super) fn outside_percentile(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    by_average: bool,
) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "n"])?;
    let (mut n, _) = args.number(1, "n")?;
    if n < 50.0 {
        n = 100.0 - n;
    }
    let list = args.series(cx, 0, "seriesList")?;
    let band = |column: &[f64]| {
        let mut present: Vec<f64> = column.iter().copied().filter(|value| !value.is_nan()).collect();
        present.sort_by(f64::total_cmp);
        let low = super::gaps::percentile(&present, 100.0 - n, false).unwrap_or(f64::NAN);
        let high = super::gaps::percentile(&present, n, false).unwrap_or(f64::NAN);
        (low, high)
    };
    let inside = |(low, high): (f64, f64), value: f64| low < value && value < high;
    if by_average {
        let averages: Vec<f64> =
            list.iter().map(|series| summary(series, Aggregation::Avg).unwrap_or(f64::NAN)).collect();
        let limits = band(&averages);
        return Ok(list
            .into_iter()
            .zip(averages)
            .filter(|(_, average)| !inside(limits, *average))
            .map(|(series, _)| series)
            .collect());
    }
    let width = list.iter().map(|series| series.values.len()).min().unwrap_or(0);
    let limits: Vec<(f64, f64)> = (0..width)
        .map(|slot| band(&list.iter().map(|series| series.values[slot]).collect::<Vec<_>>()))
        .collect();
    Ok(list
        .into_iter()
        .filter(|series| (0..width).any(|slot| !inside(limits[slot], series.values[slot])))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::natural_key;

    #[test]
    fn natural_keys_pad_numbers() {
        assert_eq!(natural_key("host10.cpu2"), "host0000000010.cpu0000000002");
        assert!(natural_key("web2") < natural_key("web10"));
    }
}
