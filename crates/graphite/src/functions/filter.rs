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
    Ok(sorted_down_by(list, Aggregation::Max))
}

/// `highestAverage(seriesList, n)` and `highestCurrent`: the `n` series
/// with the highest average (or last value).
pub(super) fn highest(args: &Args<'_>, cx: &mut Context<'_>, by: Aggregation) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "n"])?;
    let n = count(args, 1, "n")?;
    let list = args.series(cx, 0, "seriesList")?;
    let mut sorted = sorted_down_by(list, by);
    sorted.truncate(n);
    Ok(sorted)
}

/// `currentAbove(seriesList, n)`: the series whose last value is above `n`.
pub(super) fn current_above(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "n"])?;
    let (n, _) = args.number(1, "n")?;
    let mut list = args.series(cx, 0, "seriesList")?;
    list.retain(|series| summary(series, Aggregation::Last).is_some_and(|last| last > n));
    Ok(list)
}

/// The series sorted by `by` of their values, highest first, a series
/// without values last; ties keep their order.
fn sorted_down_by(mut list: Vec<Series>, by: Aggregation) -> Vec<Series> {
    let key = |series: &Series| summary(series, by).unwrap_or(f64::NEG_INFINITY);
    list.sort_by(|a, b| key(b).partial_cmp(&key(a)).unwrap_or(Ordering::Equal));
    list
}

/// `by` of a series' values, `None` without any.
fn summary(series: &Series, by: Aggregation) -> Option<f64> {
    let present: Vec<f64> = series.values.iter().copied().filter(|value| !value.is_nan()).collect();
    (!present.is_empty()).then(|| by.of(&present))
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

#[cfg(test)]
mod tests {
    use super::natural_key;

    #[test]
    fn natural_keys_pad_numbers() {
        assert_eq!(natural_key("host10.cpu2"), "host0000000010.cpu0000000002");
        assert!(natural_key("web2") < natural_key("web10"));
    }
}
