//! Functions for counters and rates: `derivative`,
//! `nonNegativeDerivative`, `perSecond` and `integral`.

use super::transform::mark;
use super::{Args, Context};
use crate::expr::Expr;
use crate::series::Series;

/// `derivative(seriesList)`: each value less the one before (`None` after
/// a `None`).
pub(super) fn derivative(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList"])?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let mut previous = f64::NAN;
        for value in &mut series.values {
            let current = *value;
            *value = current - previous;
            previous = current;
        }
        mark(series, "derivative");
    }
    Ok(list)
}

/// The optional `maxValue` and `minValue` of a counter's derivative.
fn counter_bounds(args: &Args<'_>) -> Result<(Option<f64>, Option<f64>), String> {
    args.only(&["seriesList", "maxValue", "minValue"])?;
    let bound = |position: usize, name: &str| match args.find(position, name) {
        None => Ok(None),
        Some(Expr::Number(value, _)) => Ok(Some(*value)),
        _ => Err(args.wrong(name, "a number")),
    };
    Ok((bound(1, "maxValue")?, bound(2, "minValue")?))
}

/// The increase of a counter from `previous` to `value`, as graphite-web's
/// `_nonNegativeDelta`: `None` for a first reading or one out of bounds;
/// a counter that went down wrapped at `max` (or restarted from `min`), or
/// else gives `None`. Returns the delta and the new previous reading.
fn counter_delta(value: f64, previous: f64, max: Option<f64>, min: Option<f64>) -> (f64, f64) {
    if max.is_some_and(|max| value > max) || min.is_some_and(|min| value < min) {
        return (f64::NAN, f64::NAN);
    }
    if previous.is_nan() || value.is_nan() {
        return (f64::NAN, value);
    }
    if value >= previous {
        return (value - previous, value);
    }
    match (max, min) {
        (Some(max), min) => (max + 1.0 + value - previous - min.unwrap_or(0.0), value),
        (None, Some(min)) => (value - min, value),
        (None, None) => (f64::NAN, value),
    }
}

/// `nonNegativeDerivative(seriesList, maxValue=None, minValue=None)`: a
/// counter's increase per slot.
pub(super) fn non_negative_derivative(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let (max, min) = counter_bounds(args)?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let mut previous = f64::NAN;
        for value in &mut series.values {
            (*value, previous) = counter_delta(*value, previous, max, min);
        }
        mark(series, "nonNegativeDerivative");
    }
    Ok(list)
}

/// `perSecond(seriesList, maxValue=None, minValue=None)`: a counter's
/// increase per second, rounded to six decimals as graphite-web's is.
pub(super) fn per_second(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let (max, min) = counter_bounds(args)?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let step = series.step as f64;
        let mut previous = f64::NAN;
        for value in &mut series.values {
            let delta;
            (delta, previous) = counter_delta(*value, previous, max, min);
            *value = round6(delta / step);
        }
        mark(series, "perSecond");
    }
    Ok(list)
}

/// Python's `round(value, 6)`: the nearest of the decimals, ties to even,
/// on the exact binary value (as Rust's formatting rounds).
pub(super) fn round6(value: f64) -> f64 {
    if !value.is_finite() {
        return value;
    }
    format!("{value:.6}").parse().unwrap_or(value)
}

/// `integral(seriesList)`: the running total (`None` stays `None`).
pub(super) fn integral(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList"])?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let mut total = 0.0;
        for value in &mut series.values {
            if !value.is_nan() {
                total += *value;
                *value = total;
            }
        }
        mark(series, "integral");
    }
    Ok(list)
}
