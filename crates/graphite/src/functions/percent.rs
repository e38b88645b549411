//! `asPercent` (`pct`): each series as a percentage of a total, which is
//! the sum of them all, a number, one series, one series each, or, with
//! nodes, the sum of each group of series (or of totals) that share those
//! levels of their names.

use super::combine::{aligned, combined};
use super::naming::nodes_of;
use super::{Args, Context};
use crate::expr::Expr;
use crate::series::Series;
use crate::time::Aggregation;
use std::collections::HashMap;

/// graphite-web's `safeMul(safeDiv(value, total), 100)`: `None` where the
/// value or the total is `None`, or the total is 0.
fn percent(value: f64, total: f64) -> f64 {
    if value.is_nan() || total.is_nan() || total == 0.0 {
        f64::NAN
    } else {
        value / total * 100.0
    }
}

/// A series named after the function call it comes from, tagged with its
/// name only.
fn named(name: &str, start: i64, step: i64, values: Vec<f64>) -> Series {
    Series::new(name, name, start, step, values)
}

/// `series` as a percentage of `total`, both brought to one step, named
/// `asPercent(series,total)`.
fn percent_of(series: &Series, total: &Series, request_xff: f64) -> Series {
    let name = format!("asPercent({},{})", series.name, total.name);
    let pair = [series.clone(), total.clone()];
    let (start, step, values) = aligned(&pair, request_xff, |row| percent(row[0], row[1]));
    named(&name, start, step, values)
}

/// `asPercent(seriesList, total=None, *nodes)`: each series as a
/// percentage of a total: the sum of all of them (`None`), a number, one
/// series, or one series each (matched by sorted names); with nodes, see
/// [`by_nodes`].
pub(super) fn as_percent(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    if let Some((key, _)) = args.keywords.iter().find(|(key, _)| key != "total") {
        return Err(format!("{} has no argument {key:?}", args.function));
    }
    let list = args.series(cx, 0, "seriesList")?;
    let nodes = args.positional.get(2..).unwrap_or_default();
    if !nodes.is_empty() {
        return by_nodes(args, cx, list, nodes);
    }
    let (totals, total_text): (Vec<f64>, String) =
        match args.find(1, "total") {
            None => {
                // A plain sum of each row, whatever the xFilesFactor.
                let Some(sum) = combined(&list, Aggregation::Sum, "sum", cx.x_files_factor, 0.0) else {
                    return Ok(Vec::new());
                };
                (sum.values, sum.name)
            }
            Some(Expr::Number(total, text)) => {
                let length = list.first().map_or(0, |series| series.values.len());
                (vec![*total; length], text.clone())
            }
            Some(_) => {
                let totals = args.series(cx, 1, "total")?;
                match totals.len() {
                    1 => (totals[0].values.clone(), totals[0].name.clone()),
                    count if count == list.len() => {
                        let pairs = sorted_by_name(list).into_iter().zip(sorted_by_name(totals));
                        return Ok(pairs
                            .map(|(series, total)| percent_of(&series, &total, cx.x_files_factor))
                            .collect());
                    }
                    _ => return Err(
                        "asPercent: the total must be missing, a number, one series, or as many series as \
                         the first argument"
                            .to_owned(),
                    ),
                }
            }
        };
    Ok(list
        .iter()
        .map(|series| {
            let length = series.values.len().max(totals.len());
            let values = (0..length)
                .map(|at| {
                    let value = series.values.get(at).copied().unwrap_or(f64::NAN);
                    percent(value, totals.get(at).copied().unwrap_or(f64::NAN))
                })
                .collect();
            named(&format!("asPercent({},{total_text})", series.name), series.start, series.step, values)
        })
        .collect())
}

/// The series in name order (Python's sort: stable).
fn sorted_by_name(mut list: Vec<Series>) -> Vec<Series> {
    list.sort_by(|a, b| a.name.cmp(&b.name));
    list
}

/// `asPercent(seriesList, total, node, …)`: the series grouped by the
/// given levels of their names (or tags), each as a percentage of its
/// group's total: the sum of the group (`None`), or the sum of the
/// series of `total` with the same key. A key with series but no total
/// gives `asPercent(name,MISSING)`, one with a total but no series
/// `asPercent(MISSING,total)`, both without values, as graphite-web's do.
fn by_nodes(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    list: Vec<Series>,
    nodes: &[Expr],
) -> Result<Vec<Series>, String> {
    let request_xff = cx.x_files_factor;
    // One series stays itself; several are summed into `sumSeries(…)`.
    let summed = |group: Vec<Series>| -> Option<Series> {
        match group.len() {
            1 => group.into_iter().next(),
            _ => combined(&group, Aggregation::Sum, "sum", request_xff, 0.0),
        }
    };
    let (mut keys, mut groups) = grouped(args, list, nodes)?;
    let mut totals: HashMap<String, Series> = HashMap::new();
    match args.find(1, "total") {
        None => {
            for key in &keys {
                if let Some(total) = groups.get(key).cloned().and_then(summed) {
                    totals.insert(key.clone(), total);
                }
            }
        }
        Some(Expr::Path(_) | Expr::Call { .. } | Expr::Tagged { .. }) => {
            let (total_keys, total_groups) = grouped(args, args.series(cx, 1, "total")?, nodes)?;
            for (key, group) in total_groups {
                if let Some(total) = summed(group) {
                    totals.insert(key, total);
                }
            }
            for key in total_keys {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        Some(_) => return Err("asPercent: with nodes, the total must be None or a series list".to_owned()),
    }
    let mut result = Vec::new();
    for key in keys {
        match (groups.remove(&key), totals.get(&key)) {
            (None, Some(total)) => {
                let values = vec![f64::NAN; total.values.len()];
                result.push(named(
                    &format!("asPercent(MISSING,{})", total.name),
                    total.start,
                    total.step,
                    values,
                ));
            }
            (Some(group), None) => result.extend(group.iter().map(|series| {
                let values = vec![f64::NAN; series.values.len()];
                named(&format!("asPercent({},MISSING)", series.name), series.start, series.step, values)
            })),
            (Some(group), Some(total)) => {
                result.extend(group.iter().map(|series| percent_of(series, total, request_xff)));
            }
            (None, None) => {}
        }
    }
    Ok(result)
}

/// Series grouped by key: the keys in the order first seen, and the
/// series under each.
type Groups = (Vec<String>, HashMap<String, Vec<Series>>);

/// `list` grouped by the levels (or tags) `nodes` of their names:
/// graphite-web's grouping by `aggKey`.
fn grouped(args: &Args<'_>, list: Vec<Series>, nodes: &[Expr]) -> Result<Groups, String> {
    let mut keys = Vec::new();
    let mut groups: HashMap<String, Vec<Series>> = HashMap::new();
    for series in list {
        let key = nodes_of(args, &series, nodes)?;
        if !groups.contains_key(&key) {
            keys.push(key.clone());
        }
        groups.entry(key).or_default().push(series);
    }
    Ok((keys, groups))
}
