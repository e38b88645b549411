//! Functions that write targets and evaluate them: `applyByNode` fills a
//! template with each prefix, `aliasQuery` and `useSeriesAbove` rewrite
//! names into queries. Each written target is evaluated as a request's
//! target would be, its nesting bounded
//! ([`super::MAX_NESTED_TARGETS`]).

use super::naming::python_replacement;
use super::printf::percent_format;
use super::{Args, Context};
use crate::expr::Expr;
use crate::series::Series;

/// `applyByNode(seriesList, nodeNum, templateFunction, newName=None)`: for
/// each distinct prefix of the names through level `nodeNum`, sorted, the
/// template with every `%` replaced by the prefix, evaluated; its series
/// renamed by `newName` (`%` the prefix) when given, and drawn over the
/// span of the last series of the list, as graphite-web draws them.
pub(super) fn apply_by_node(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "nodeNum", "templateFunction", "newName"])?;
    let node = match args.find(1, "nodeNum") {
        Some(Expr::Number(node, _)) if *node >= 0.0 && node.fract() == 0.0 => *node as usize,
        _ => return Err(args.wrong("nodeNum", "a node number")),
    };
    let template =
        args.text(2, "templateFunction")?.ok_or_else(|| args.wrong("templateFunction", "a quoted target"))?;
    let new_name = args.text(3, "newName")?;
    let list = args.series(cx, 0, "seriesList")?;
    let Some(last) = list.last() else {
        return Ok(Vec::new());
    };
    let (start, end) = (last.start, last.end());
    let mut prefixes: Vec<String> = list
        .iter()
        .map(|series| series.name.split('.').take(node + 1).collect::<Vec<_>>().join("."))
        .collect();
    prefixes.sort();
    prefixes.dedup();
    let mut results = Vec::new();
    for prefix in prefixes {
        for mut series in cx.evaluate_text(&template.replace('%', &prefix))? {
            if let Some(new_name) = new_name {
                series.name = new_name.replace('%', &prefix);
            }
            series.path_expression.clone_from(&prefix);
            series.start = start;
            let timestamps = usize::try_from((end - start) / series.step.max(1) + 1).unwrap_or(0);
            series.values.truncate(timestamps);
            results.push(series);
        }
    }
    Ok(results)
}

/// `aliasQuery(seriesList, search, replace, newName)`: each series renamed
/// by `newName` (a Python format such as `"%d hosts"`) of the last value of
/// the first series the query gives, the query being the series' name with
/// `search` replaced by `replace`.
pub(super) fn alias_query(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "search", "replace", "newName"])?;
    let search = args.text(1, "search")?.ok_or_else(|| args.wrong("search", "a regular expression"))?;
    let replace = args.text(2, "replace")?.ok_or_else(|| args.wrong("replace", "a quoted string"))?;
    let new_name = args.text(3, "newName")?.ok_or_else(|| args.wrong("newName", "a quoted format"))?;
    let search = super::regex(args, "search", search)?;
    let replace = python_replacement(replace);
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let query = search.replace_all(&series.name, replace.as_str()).into_owned();
        let found = cx.evaluate_text(&query)?;
        let first =
            found.first().ok_or_else(|| format!("aliasQuery: no series found with query {query:?}"))?;
        let last = first
            .values
            .iter()
            .rev()
            .copied()
            .find(|value| !value.is_nan())
            .ok_or_else(|| format!("aliasQuery: {:?} has no value to name by", first.name))?;
        series.name = percent_format(new_name, last).map_err(|reason| format!("aliasQuery: {reason}"))?;
    }
    Ok(list)
}

/// `useSeriesAbove(seriesList, value, search, replace)`: for the series
/// whose maximum is above `value`, the series named by their names with
/// `search` replaced by `replace`.
pub(super) fn use_series_above(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "value", "search", "replace"])?;
    let (threshold, _) = args.number(1, "value")?;
    let search = args.text(2, "search")?.ok_or_else(|| args.wrong("search", "a regular expression"))?;
    let replace = args.text(3, "replace")?.ok_or_else(|| args.wrong("replace", "a quoted string"))?;
    let search = super::regex(args, "search", search)?;
    let replace = python_replacement(replace);
    let list = args.series(cx, 0, "seriesList")?;
    let names: Vec<String> = list
        .iter()
        .filter(|series| series.values.iter().any(|&value| value > threshold))
        .map(|series| search.replace_all(&series.name, replace.as_str()).into_owned())
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = cx.evaluate_text(&format!("group({})", names.join(",")))?;
    found.retain(|series| !series.values.is_empty());
    Ok(found)
}
