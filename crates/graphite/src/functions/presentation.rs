//! Functions that say how a chart draws series: graphite-web keeps most
//! of that in options its JSON does not show, so here they change names,
//! tags and (for `stacked`) values as graphite-web's JSON shows them.

use super::{python_g, Args, Context};
use crate::expr::Expr;
use crate::series::Series;
use serde_json::Value;

/// `color(seriesList, "red")`, `alpha(seriesList, 0.5)`,
/// `lineWidth(seriesList, 2)`: the series unchanged.
pub(super) fn unchanged(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let second = match args.function {
        "color" => "theColor",
        "alpha" => "alpha",
        _ => "width",
    };
    args.only(&["seriesList", second])?;
    if args.find(1, second).is_none() {
        return Err(args.wrong(second, "given"));
    }
    args.series(cx, 0, "seriesList")
}

/// `secondYAxis(seriesList)` and `drawAsInfinite(seriesList)`: renamed and
/// tagged.
pub(super) fn marked(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList"])?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.tags.insert(args.function.to_owned(), Value::String("1".to_owned()));
        series.name = format!("{}({})", args.function, series.name);
    }
    Ok(list)
}

/// `dashed(seriesList, dashLength=5)`.
pub(super) fn dashed(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "dashLength"])?;
    let length = match args.find(1, "dashLength") {
        None => 5.0,
        Some(Expr::Number(length, _)) => *length,
        Some(_) => return Err(args.wrong("dashLength", "a number")),
    };
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.tags.insert("dashed".to_owned(), Value::String(python_g(length)));
        series.name = format!("dashed({}, {})", series.name, python_g(length));
    }
    Ok(list)
}

/// `stacked(seriesList, stack="__DEFAULT__")`: each series the running sum
/// of those before it, slot by slot (`None` stays `None`), as a stacked
/// chart draws them; named `stacked(…)` in the default stack.
pub(super) fn stacked(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesLists", "stack"])?;
    let stack = args.text(1, "stack")?.unwrap_or("__DEFAULT__");
    let mut list = args.series(cx, 0, "seriesLists")?;
    let mut totals: Vec<f64> = Vec::new();
    for series in &mut list {
        for (slot, value) in series.values.iter_mut().enumerate() {
            if totals.len() <= slot {
                totals.push(0.0);
            }
            if !value.is_nan() {
                totals[slot] += *value;
                *value = totals[slot];
            }
        }
        if stack == "__DEFAULT__" {
            series.tags.insert("stacked".to_owned(), Value::String(stack.to_owned()));
            series.name = format!("stacked({})", series.name);
        }
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `setXFilesFactor(seriesList, xFilesFactor)` (`xFilesFactor`): the share
/// of a group's values that must be known for it to have a value when
/// these series, and those read after them in the request, are
/// consolidated or aggregated; tagged with it.
pub(super) fn set_x_files_factor(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "xFilesFactor"])?;
    let Some(Expr::Number(share, _)) = args.find(1, "xFilesFactor") else {
        return Err(args.wrong("xFilesFactor", "a share from 0 to 1"));
    };
    if !(0.0..=1.0).contains(share) {
        return Err(args.wrong("xFilesFactor", "a share from 0 to 1"));
    }
    // graphite-web takes it as a float and tags series with it as Python
    // prints one (`1.0`).
    let tag = Value::String(eardrum_protocol::PyFloat(*share).to_string());
    let mut list = args.series(cx, 0, "seriesList")?;
    cx.x_files_factor = *share;
    for series in &mut list {
        series.x_files_factor = Some(*share);
        series.tags.insert("xFilesFactor".to_owned(), tag.clone());
    }
    Ok(list)
}
