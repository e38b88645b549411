//! Functions that pair two lists series by series: `aggregateSeriesLists`
//! and its fixed kinds (`sumSeriesLists`, …), `divideSeriesLists`, and
//! `weightedAverage`, which pairs by nodes.

use super::combine::{aggregated, combined, quotient, x_files_factor_argument};
use super::{Args, Context};
use crate::expr::Expr;
use crate::series::Series;
use crate::time::Aggregation;

use std::collections::HashMap;

/// `aggregateSeriesLists(first, second, func)` and `sumSeriesLists`,
/// `diffSeriesLists`, `multiplySeriesLists`: the series of two lists
/// aggregated pair by pair, named `{func}Series(a,b)`.
pub(super) fn aggregate_series_lists(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    fixed: Option<&str>,
) -> Result<Vec<Series>, String> {
    let func = match fixed {
        Some(func) => {
            args.only(&["seriesListFirstPos", "seriesListSecondPos"])?;
            func
        }
        None => {
            args.only(&["seriesListFirstPos", "seriesListSecondPos", "func", "xFilesFactor"])?;
            args.text(2, "func")?.ok_or_else(|| args.wrong("func", "a quoted aggregation"))?
        }
    };
    let x_files_factor = match fixed {
        Some(_) => None,
        None => x_files_factor_argument(args, 3)?,
    };
    let by = Aggregation::parse(func).map_err(|reason| format!("{}: {reason}", args.function))?;
    let (first, second) = equal_lists(args, cx, "seriesListFirstPos", "seriesListSecondPos")?;
    Ok(first
        .into_iter()
        .zip(second)
        .filter_map(|(a, b)| {
            let name = format!("{func}Series({},{})", a.name, b.name);
            let mut series = aggregated(&[a, b], by, func, cx.x_files_factor, x_files_factor)?;
            series.name = name;
            Some(series)
        })
        .collect())
}

/// `divideSeriesLists(dividends, divisors)`: the series of two lists
/// divided pair by pair.
pub(super) fn divide_series_lists(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["dividendSeriesList", "divisorSeriesList"])?;
    let (dividends, divisors) = equal_lists(args, cx, "dividendSeriesList", "divisorSeriesList")?;
    Ok(dividends
        .into_iter()
        .zip(divisors)
        .map(|(dividend, divisor)| quotient(&dividend, &divisor, cx.x_files_factor))
        .collect())
}

/// The two series lists of a pairwise function, of equal length.
fn equal_lists(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    first: &str,
    second: &str,
) -> Result<(Vec<Series>, Vec<Series>), String> {
    let (a, b) = (args.series(cx, 0, first)?, args.series(cx, 1, second)?);
    if a.len() != b.len() {
        return Err(format!(
            "{}: {first} and {second} must have equal length ({} and {})",
            args.function,
            a.len(),
            b.len()
        ));
    }
    Ok((a, b))
}

/// `weightedAverage(values, weights, *nodes)`: the sum of each value times
/// its weight (paired by the nodes of their names) over the sum of the
/// weights.
pub(super) fn weighted_average(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let (averages, weights) = equal_lists(args, cx, "seriesListAvg", "seriesListWeight")?;
    let nodes = args.positional.get(2..).unwrap_or_default();
    let mut pairs: Vec<(String, Option<usize>, Option<usize>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (at, (average, weight)) in averages.iter().zip(&weights).enumerate() {
        for (key, is_weight) in [
            (super::naming::nodes_of(args, average, nodes)?, false),
            (super::naming::nodes_of(args, weight, nodes)?, true),
        ] {
            let slot = *index.entry(key.clone()).or_insert_with(|| {
                pairs.push((key, None, None));
                pairs.len() - 1
            });
            match is_weight {
                true => pairs[slot].2 = Some(at),
                false => pairs[slot].1 = Some(at),
            }
        }
    }
    let products: Vec<Series> = pairs
        .iter()
        .filter_map(|(_, average, weight)| {
            let (average, weight) = (&averages[(*average)?], &weights[(*weight)?]);
            let values = average
                .values
                .iter()
                .zip(&weight.values)
                .map(|(a, w)| if a.is_nan() || w.is_nan() { f64::NAN } else { a * w })
                .collect();
            let name = format!("product({},{})", weight.name, average.name);
            Some(Series::new(&name, &name, average.start, average.step, values))
        })
        .collect();
    let xff = cx.x_files_factor;
    let (Some(products_sum), Some(weights_sum)) = (
        combined(&products, Aggregation::Sum, "sum", xff, xff),
        combined(&weights, Aggregation::Sum, "sum", xff, xff),
    ) else {
        return Ok(Vec::new());
    };
    let patterns = |list: &[Series]| {
        let mut expressions: Vec<&str> = list.iter().map(|s| s.path_expression.as_str()).collect();
        expressions.sort_unstable();
        expressions.dedup();
        expressions.join(",")
    };
    let node_text: Vec<String> = nodes
        .iter()
        .map(|node| match node {
            Expr::Number(_, text) => text.clone(),
            Expr::Text(tag) => tag.clone(),
            _ => String::new(),
        })
        .collect();
    let name =
        format!("weightedAverage({}, {}, {})", patterns(&averages), patterns(&weights), node_text.join(","));
    let values = products_sum
        .values
        .iter()
        .zip(&weights_sum.values)
        .map(|(p, w)| if p.is_nan() || w.is_nan() || *w == 0.0 { f64::NAN } else { p / w })
        .collect();
    Ok(vec![Series::new(&name, &name, products_sum.start, products_sum.step, values)])
}
