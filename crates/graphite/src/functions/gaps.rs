//! Functions that fill gaps or remove values: `keepLastValue`,
//! `transformNull`, `interpolate`, `removeAbove`/`BelowValue`,
//! `removeAbove`/`BelowPercentile` and `nPercentile`.

use super::{float_tag, python_g, Args, Context};
use crate::expr::Expr;
use crate::series::Series;
use serde_json::Value;

/// `keepLastValue(seriesList, limit=inf)`: runs of at most `limit`
/// `None`s after a value are filled with it.
pub(super) fn keep_last_value(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "limit"])?;
    let limit = run_limit(args)?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let mut last = f64::NAN;
        let mut run = 0;
        let len = series.values.len();
        for index in 0..=len {
            let value = series.values.get(index).copied();
            match value {
                Some(value) if value.is_nan() => run += 1,
                _ => {
                    // A run ended, by a value or by the series' end.
                    if run > 0 && run <= limit && !last.is_nan() {
                        series.values[index - run..index].iter_mut().for_each(|slot| *slot = last);
                    }
                    run = 0;
                    if let Some(value) = value {
                        last = value;
                    }
                }
            }
        }
        series.name = format!("keepLastValue({})", series.name);
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `transformNull(seriesList, default=0)`: `None` becomes `default`.
pub(super) fn transform_null(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "default"])?;
    // The default default is the integer 0, tagged "0"; one given is a
    // float, tagged "0.0".
    let (default, tag) = match args.find(1, "default") {
        None => (0.0, Value::String("0".to_owned())),
        Some(_) => {
            let (default, _) = args.number(1, "default")?;
            (default, float_tag(default))
        }
    };
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.values.iter_mut().filter(|value| value.is_nan()).for_each(|value| *value = default);
        series.tags.insert("transformNull".to_owned(), tag.clone());
        series.name = format!("transformNull({},{})", series.name, python_g(default));
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `removeAboveValue(seriesList, n)` and `removeBelowValue`: values beyond
/// `n` become `None`.
pub(super) fn remove_beyond(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    above: bool,
) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "n"])?;
    let (n, _) = args.number(1, "n")?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        for value in &mut series.values {
            if (above && *value > n) || (!above && *value < n) {
                *value = f64::NAN;
            }
        }
        series.name = format!("{}({}, {})", args.function, series.name, python_g(n));
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `nPercentile(seriesList, n)`: each series' `n`th percentile, the
/// nearest rank (NIST's method, as graphite-web's), at every slot; a series
/// without values is left out.
pub(super) fn n_percentile(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "n"])?;
    let (n, _) = args.number(1, "n")?;
    if !(n > 0.0 && n <= 100.0) {
        return Err(args.wrong("n", "a percent above 0 and at most 100"));
    }
    let mut list = args.series(cx, 0, "seriesList")?;
    list.retain(|series| series.values.iter().any(|value| !value.is_nan()));
    for series in &mut list {
        let mut sorted: Vec<f64> = series.values.iter().copied().filter(|value| !value.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        let percentile = percentile(&sorted, n, false).unwrap_or(f64::NAN);
        series.values.iter_mut().for_each(|value| *value = percentile);
        series.tags.insert("nPercentile".to_owned(), float_tag(n));
        series.name = format!("nPercentile({}, {})", series.name, python_g(n));
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// The `n`th percentile of `sorted` (ascending, without NaN) by
/// graphite-web's `_getPercentile`: the nearest rank (NIST), or between
/// the two nearest with `interpolate`; `None` when empty.
pub(super) fn percentile(sorted: &[f64], n: f64, interpolate: bool) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let fractional = n / 100.0 * (sorted.len() + 1) as f64;
    let mut rank = fractional.trunc() as usize;
    let fraction = fractional - rank as f64;
    if !interpolate {
        rank += usize::from(fraction > 0.0);
    }
    let mut value = match rank {
        0 => sorted[0],
        rank => sorted[(rank - 1).min(last)],
    };
    if interpolate && rank != sorted.len() {
        if let Some(&next) = sorted.get(rank) {
            value += fraction * (next - value);
        }
    }
    Some(value)
}

/// `removeAbovePercentile(seriesList, n)` and `removeBelowPercentile`:
/// values beyond the series' `n`th percentile become `None`.
pub(super) fn remove_beyond_percentile(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    above: bool,
) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "n"])?;
    let (n, _) = args.number(1, "n")?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.name = format!("{}({}, {})", args.function, series.name, python_g(n));
        series.path_expression.clone_from(&series.name);
        let mut sorted: Vec<f64> = series.values.iter().copied().filter(|value| !value.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        let Some(limit) = percentile(&sorted, n, false) else { continue };
        // graphite-web's nPercentile tags the series it was given.
        series.tags.insert("nPercentile".to_owned(), float_tag(n));
        for value in &mut series.values {
            if (above && *value > limit) || (!above && (value.is_nan() || *value < limit)) {
                *value = f64::NAN;
            }
        }
    }
    Ok(list)
}

/// `interpolate(seriesList, limit=inf)`: runs of at most `limit` `None`s
/// between two values filled on the straight line between them.
pub(super) fn interpolate(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "limit"])?;
    let limit = run_limit(args)?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let mut last: Option<usize> = None;
        for index in 0..series.values.len() {
            let value = series.values[index];
            if value.is_nan() {
                continue;
            }
            if let Some(before) = last {
                let gap = index - before - 1;
                if gap > 0 && gap <= limit {
                    let from = series.values[before];
                    for (step, slot) in (before + 1..index).enumerate() {
                        series.values[slot] = from + (step + 1) as f64 * (value - from) / (gap + 1) as f64;
                    }
                }
            }
            last = Some(index);
        }
        series.name = format!("interpolate({})", series.name);
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// The `limit` of `keepLastValue` and `interpolate`: the longest run of
/// `None`s to fill, any by default.
fn run_limit(args: &Args<'_>) -> Result<usize, String> {
    match args.find(1, "limit") {
        None => Ok(usize::MAX),
        Some(Expr::Number(limit, _)) if *limit >= 0.0 => Ok(*limit as usize),
        Some(_) => Err(args.wrong("limit", "a count")),
    }
}
