//! Functions that combine series into one: `sumSeries` and its kin,
//! `diffSeries`, `multiplySeries`, `countSeries`, `divideSeries`.

use super::{Args, Context};
use crate::expr::Expr;
use crate::series::Series;
use crate::time::Aggregation;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;

/// `sumSeries(a.*, b.*)` and its kin: one series, each slot the
/// aggregation of the series' values there, named after the sorted
/// patterns and tagged with what every series shares and `aggregatedBy`.
pub(super) fn aggregate(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    by: Aggregation,
    func: &str,
) -> Result<Vec<Series>, String> {
    let all = series_lists(args, cx)?;
    Ok(aggregated(&all, by, func, cx.x_files_factor, None).into_iter().collect())
}

/// `all` combined by `by` as graphite-web's `aggregate(…, func,
/// xFilesFactor)`: named `{func}Series(patterns)`, tagged with what every
/// series shares and `aggregatedBy`; each slot `None` unless at least
/// `x_files_factor` (else the request's, `request_xff`) of the series have
/// a value there; `None` without series.
pub(super) fn aggregated(
    all: &[Series],
    by: Aggregation,
    func: &str,
    request_xff: f64,
    x_files_factor: Option<f64>,
) -> Option<Series> {
    let mut series = combined(all, by, func, request_xff, x_files_factor.unwrap_or(request_xff))?;
    series.x_files_factor = x_files_factor;
    let mut tags = all[0].tags.clone();
    tags.retain(|tag, value| all.iter().all(|s| s.tags.get(tag) == Some(value)));
    tags.entry("name").or_insert_with(|| Value::String(series.name.clone()));
    tags.insert("aggregatedBy".to_owned(), Value::String(func.to_owned()));
    series.tags = tags;
    Some(series)
}

/// `aggregate(seriesList, func)`, `rangeOfSeries(…)`, `stddevSeries(…)`.
pub(super) fn aggregate_by(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "func", "xFilesFactor"])?;
    let func = args.text(1, "func")?.ok_or_else(|| args.wrong("func", "a quoted aggregation"))?;
    let func = func.strip_suffix("Series").unwrap_or(func);
    let by = Aggregation::parse(func).map_err(|reason| format!("aggregate: {reason}"))?;
    let x_files_factor = x_files_factor_argument(args, 2)?;
    let list = args.series(cx, 0, "seriesList")?;
    Ok(aggregated(&list, by, func, cx.x_files_factor, x_files_factor).into_iter().collect())
}

/// `aggregateWithWildcards(seriesList, func, *positions)` and
/// `sumSeriesWithWildcards(seriesList, *positions)` with its kin: the
/// series grouped by their names without the levels at `positions`, each
/// group aggregated and named after what is left.
pub(super) fn aggregate_with_wildcards(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    fixed: Option<&str>,
) -> Result<Vec<Series>, String> {
    let (func, first_position) = match fixed {
        Some(func) => (func, 1),
        None => (args.text(1, "func")?.ok_or_else(|| args.wrong("func", "a quoted aggregation"))?, 2),
    };
    let by = Aggregation::parse(func).map_err(|reason| format!("{}: {reason}", args.function))?;
    let mut positions = Vec::new();
    for position in args.positional.get(first_position..).unwrap_or_default() {
        match position {
            Expr::Number(at, _) if *at >= 0.0 && at.fract() == 0.0 => positions.push(*at as usize),
            _ => return Err(args.wrong("position", "whole numbers")),
        }
    }
    let list = args.series(cx, 0, "seriesList")?;
    aggregated_groups(list, by, func, cx.x_files_factor, |series| {
        let key: Vec<&str> = series
            .name
            .split('.')
            .enumerate()
            .filter(|(at, _)| !positions.contains(at))
            .map(|(_, level)| level)
            .collect();
        Ok(key.join("."))
    })
}

/// `group(seriesList, …)`: every list's series, in order.
pub(super) fn group(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let mut all = Vec::new();
    for position in 0..args.positional.len() {
        all.extend(args.series(cx, position, "seriesLists")?);
    }
    Ok(all)
}

/// `fallbackSeries(seriesList, fallback)`: the list, or the fallback when
/// it is empty.
pub(super) fn fallback_series(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "fallback"])?;
    let list = args.series(cx, 0, "seriesList")?;
    match list.is_empty() {
        true => args.series(cx, 1, "fallback"),
        false => Ok(list),
    }
}

/// `percentileOfSeries(seriesList, n, interpolate=false)`: at each slot,
/// the `n`th percentile of the series' values there.
pub(super) fn percentile_of_series(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "n", "interpolate"])?;
    let (n, _) = args.number(1, "n")?;
    if n <= 0.0 {
        return Err(args.wrong("n", "a percent above 0"));
    }
    let interpolate = match args.find(2, "interpolate") {
        None => false,
        Some(Expr::Bool(interpolate)) => *interpolate,
        Some(_) => return Err(args.wrong("interpolate", "true or false")),
    };
    let list = args.series(cx, 0, "seriesList")?;
    let Some(first) = list.first() else {
        return Ok(Vec::new());
    };
    let name = format!("percentileOfSeries({},{})", first.path_expression, super::python_g(n));
    let mut present = Vec::with_capacity(list.len());
    let (start, step, values) = aligned(&list, cx.x_files_factor, |row| {
        present.clear();
        present.extend(row.iter().copied().filter(|value| !value.is_nan()));
        present.sort_by(f64::total_cmp);
        super::gaps::percentile(&present, n, interpolate).unwrap_or(f64::NAN)
    });
    Ok(vec![Series::new(&name, &name, start, step, values)])
}

/// `groupByNode(seriesList, nodeNum, callback="average")` and
/// `groupByNodes(seriesList, callback, *nodes)`: the series grouped by the
/// given levels (or tags) of their names, each group aggregated by
/// `callback` (an aggregation, or a combining function such as
/// `sumSeries`) and named after its key, groups in the order first seen.
pub(super) fn group_by_nodes(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    nodes: &[Expr],
    callback: &str,
) -> Result<Vec<Series>, String> {
    let func = callback.strip_suffix("Series").unwrap_or(callback);
    let by = Aggregation::parse(func).map_err(|reason| format!("{}: {reason}", args.function))?;
    let list = args.series(cx, 0, "seriesList")?;
    aggregated_groups(list, by, func, cx.x_files_factor, |series| {
        super::naming::nodes_of(args, series, nodes)
    })
}

/// `list` grouped by `key_of`, groups in the order first seen, each
/// aggregated by `by` and named after its key.
pub(super) fn aggregated_groups(
    list: Vec<Series>,
    by: Aggregation,
    func: &str,
    request_xff: f64,
    mut key_of: impl FnMut(&Series) -> Result<String, String>,
) -> Result<Vec<Series>, String> {
    let mut groups: Vec<(String, Vec<Series>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for series in list {
        let key = key_of(&series)?;
        match index.get(&key) {
            Some(&at) => groups[at].1.push(series),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((key, vec![series]));
            }
        }
    }
    Ok(groups
        .into_iter()
        .filter_map(|(key, members)| {
            let mut series = aggregated(&members, by, func, request_xff, None)?;
            series.name = key;
            Some(series)
        })
        .collect())
}

/// `multiplySeries(…)`: the product at each slot, `None` where any series
/// has none; a single series comes back as it is, as graphite-web's does.
pub(super) fn multiply_series(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    if args.positional.len() == 1 {
        let only = args.series(cx, 0, "seriesList")?;
        if only.len() == 1 {
            return Ok(only);
        }
    }
    aggregate(args, cx, Aggregation::Multiply, "multiply")
}

/// `countSeries(a.*, …)`: how many series the lists hold, at every slot.
pub(super) fn count_series(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let all = series_lists(args, cx)?;
    let Some(mut series) = combined(&all, Aggregation::Count, "count", cx.x_files_factor, 0.0) else {
        return Ok(Vec::new());
    };
    let count = all.len() as f64;
    series.values.iter_mut().for_each(|value| *value = count);
    Ok(vec![series])
}

/// `divideSeries(dividends, divisor)`: each dividend over the one divisor,
/// slot by slot (`None` where the divisor is 0 or `None`).
pub(super) fn divide_series(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["dividendSeriesList", "divisorSeries"])?;
    let mut dividends = args.series(cx, 0, "dividendSeriesList")?;
    let divisors = args.series(cx, 1, "divisorSeries")?;
    let divisor = match divisors.as_slice() {
        [] => {
            for series in &mut dividends {
                series.name = format!("divideSeries({},MISSING)", series.name);
                series.path_expression.clone_from(&series.name);
                series.values.iter_mut().for_each(|value| *value = f64::NAN);
            }
            return Ok(dividends);
        }
        [divisor] => divisor,
        more => {
            return Err(format!("divideSeries: the divisor must be exactly 1 series (got {})", more.len()))
        }
    };
    Ok(dividends.iter().map(|dividend| quotient(dividend, divisor, cx.x_files_factor)).collect())
}

/// `divideSeries(a,b)`: `dividend` over `divisor`, slot by slot.
pub(super) fn quotient(dividend: &Series, divisor: &Series, request_xff: f64) -> Series {
    let name = format!("divideSeries({},{})", dividend.name, divisor.name);
    let pair = [dividend.clone(), divisor.clone()];
    let (start, step, values) = aligned(&pair, request_xff, |row| match (row[0], row[1]) {
        (a, b) if a.is_nan() || b.is_nan() || b == 0.0 => f64::NAN,
        (a, b) => a / b,
    });
    Series::new(&name, &name, start, step, values)
}

/// Every series of every positional argument.
pub(super) fn series_lists(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    if args.positional.is_empty() {
        return Err(format!("{} needs at least one series list", args.function));
    }
    if let Some((key, _)) = args.keywords.first() {
        return Err(format!("{} has no argument {key:?}", args.function));
    }
    let mut all = Vec::new();
    for position in 0..args.positional.len() {
        all.extend(args.series(cx, position, "seriesList")?);
    }
    Ok(all)
}

/// `all` combined into `{func}Series(patterns)`, tagged with its name only,
/// each slot `None` unless at least `rows_xff` of the series have a value
/// there; `None` without series.
pub(super) fn combined(
    all: &[Series],
    by: Aggregation,
    func: &str,
    request_xff: f64,
    rows_xff: f64,
) -> Option<Series> {
    if all.is_empty() {
        return None;
    }
    let mut present = Vec::with_capacity(all.len());
    let (start, step, values) = aligned(all, request_xff, |row| {
        let known = row.iter().filter(|value| !value.is_nan()).count();
        match known > 0 && known as f64 / row.len() as f64 >= rows_xff {
            true => combine(by, row, &mut present),
            false => f64::NAN,
        }
    });
    // graphite-web's formatPathExpressions: each once, in order.
    let mut expressions: Vec<&str> = Vec::new();
    for series in all {
        if !expressions.contains(&series.path_expression.as_str()) {
            expressions.push(&series.path_expression);
        }
    }
    let name = format!("{func}Series({})", expressions.join(","));
    Some(Series::new(&name, &name, start, step, values))
}

/// The series side by side as graphite-web's `normalize` and `aggregate`
/// put them: each consolidated to the least common multiple of their
/// steps (its own values grouped from its own start, by its
/// `consolidate_by` and `xFilesFactor`, else `request_xff`), then taken
/// index by index from the earliest start,
/// `None` past a series' end, for as many rows as the longest has and
/// timestamps there are through the latest end (graphite's `end -= (end -
/// start) % step`). Returns the start, the step and `each_row` of every
/// row.
pub(super) fn aligned(
    series: &[Series],
    request_xff: f64,
    mut each_row: impl FnMut(&[f64]) -> f64,
) -> (i64, i64, Vec<f64>) {
    let first = series[0].step;
    let step = series.iter().fold(first, |step, s| lcm(step, s.step).unwrap_or(step.max(s.step)));
    let consolidated: Vec<Cow<'_, [f64]>> = series
        .iter()
        .map(|s| match s.step == step {
            true => Cow::Borrowed(s.values.as_slice()),
            false => {
                let values_per_point = usize::try_from(step / s.step.max(1)).unwrap_or(1);
                Cow::Owned(s.consolidated_values(values_per_point, s.x_files_factor.unwrap_or(request_xff)))
            }
        })
        .collect();
    let start = series.iter().map(|s| s.start).min().unwrap_or(0);
    let end = series.iter().map(Series::end).max().unwrap_or(start);
    let end = end - (end - start).rem_euclid(step);
    let timestamps = usize::try_from((end - start) / step + 1).unwrap_or(0);
    let rows = consolidated.iter().map(|values| values.len()).max().unwrap_or(0).min(timestamps);
    let mut row = Vec::with_capacity(consolidated.len());
    let values = (0..rows)
        .map(|index| {
            row.clear();
            row.extend(consolidated.iter().map(|values| values.get(index).copied().unwrap_or(f64::NAN)));
            each_row(&row)
        })
        .collect();
    (start, step, values)
}

/// One slot of an aggregate, as graphite-web's `aggregate` takes a row:
/// `None` (NaN) without any value, else the aggregation of the values,
/// but `None` for `multiply` when any is `None`.
fn combine(by: Aggregation, row: &[f64], present: &mut Vec<f64>) -> f64 {
    // The common aggregations straight from the row, summing left to right
    // as `Aggregation::of` (and Python's `sum`) does.
    if let Aggregation::Sum | Aggregation::Avg = by {
        let (mut total, mut count) = (0.0, 0usize);
        for &value in row.iter().filter(|value| !value.is_nan()) {
            total += value;
            count += 1;
        }
        return match (count, by) {
            (0, _) => f64::NAN,
            (_, Aggregation::Avg) => total / count as f64,
            _ => total,
        };
    }
    present.clear();
    present.extend(row.iter().copied().filter(|value| !value.is_nan()));
    match by {
        _ if present.is_empty() => f64::NAN,
        Aggregation::Multiply if present.len() < row.len() => f64::NAN,
        by => by.of(present),
    }
}

/// An optional `xFilesFactor` argument: a share from 0 to 1.
pub(super) fn x_files_factor_argument(args: &Args<'_>, position: usize) -> Result<Option<f64>, String> {
    match args.find(position, "xFilesFactor") {
        None => Ok(None),
        Some(_) => match args.number(position, "xFilesFactor")?.0 {
            share if (0.0..=1.0).contains(&share) => Ok(Some(share)),
            _ => Err(args.wrong("xFilesFactor", "a share from 0 to 1")),
        },
    }
}

/// The least common multiple, if it fits.
pub(super) fn lcm(a: i64, b: i64) -> Option<i64> {
    let gcd = |mut a: i64, mut b: i64| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    (a / gcd(a, b)).checked_mul(b)
}
