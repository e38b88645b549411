//! Functions that write targets and evaluate them: `template(…)` fills
//! `$name`s in, `applyByNode` fills a template with each prefix,
//! `aliasQuery` and `useSeriesAbove` rewrite names into queries,
//! `reduceSeries` calls a function on the series that `mapSeries` grouped. Each written target is evaluated as a request's
//! target would be, its nesting bounded
//! ([`super::MAX_NESTED_TARGETS`]).

use super::naming::{nodes_of, search_and_replace};
use super::printf::percent_format;
use super::{Args, Context, Selector};
use crate::expr::Expr;
use crate::pattern::MAX_PATTERN_BYTES;
use crate::series::Series;
use eardrum_protocol::PyFloat;
use std::collections::HashMap;

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
    let holes = template.matches('%').count();
    for prefix in prefixes {
        // Charged before it is built: many prefixes times a long template.
        cx.spend_written("applyByNode", template.len() + holes * prefix.len())?;
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
    let (search, replace) = search_and_replace(args, 1)?;
    let new_name = args.text(3, "newName")?.ok_or_else(|| args.wrong("newName", "a quoted format"))?;
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
    let (search, replace) = search_and_replace(args, 2)?;
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

/// `mapSeries(seriesList, *mapNodes)` (`map`): the series grouped by the
/// given levels of their names (or tags), groups in the order first seen.
/// Only `reduceSeries` takes such groups: graphite-web fails on them
/// anywhere else.
fn map_series(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Vec<Series>>, String> {
    let nodes = args.positional.get(1..).unwrap_or_default();
    if nodes.is_empty() {
        return Err(format!("{} needs at least one node", args.function));
    }
    let mut groups: Vec<Vec<Series>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for series in args.series(cx, 0, "seriesList")? {
        let key = nodes_of(args, &series, nodes)?;
        match index.get(&key) {
            Some(&at) => groups[at].push(series),
            None => {
                index.insert(key, groups.len());
                groups.push(vec![series]);
            }
        }
    }
    Ok(groups)
}

/// `mapSeries` where a series list is wanted: refused, saying where it
/// belongs.
pub(super) fn map_alone(args: &Args<'_>) -> Result<Vec<Series>, String> {
    Err(format!(
        "{} gives groups of series, which only reduceSeries takes: reduceSeries({}(…), \"func\", node, …)",
        args.function, args.function
    ))
}

/// `reduceSeries(seriesLists, reduceFunction, reduceNode, *reduceMatchers)`
/// (`reduce`): in each group of a `mapSeries`, the series whose level
/// `reduceNode` is one of the matchers, handed to `reduceFunction` in the
/// matchers' order (`asPercent(used, total)`); its first series named
/// after the levels before `reduceNode`, then `reduce.` and the function.
pub(super) fn reduce_series(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let groups = match args.find(0, "seriesLists") {
        Some(Expr::Call { name, args: mapped, keywords }) if name == "mapSeries" || name == "map" => {
            map_series(&Args { function: name, positional: mapped, keywords }, cx)?
        }
        _ => return Err(args.wrong("seriesLists", "a mapSeries(…) call")),
    };
    let function = args
        .text(1, "reduceFunction")?
        .ok_or_else(|| args.wrong("reduceFunction", "a quoted function name"))?;
    let node = match args.find(2, "reduceNode") {
        Some(Expr::Number(node, _)) if node.fract() == 0.0 => *node as i64,
        _ => return Err(args.wrong("reduceNode", "a node number")),
    };
    let mut matchers = Vec::new();
    for matcher in args.positional.get(3..).unwrap_or_default() {
        match matcher {
            Expr::Text(matcher) => matchers.push(matcher.as_str()),
            _ => return Err(args.wrong("reduceMatchers", "quoted level names")),
        }
    }
    // Each reduced name, in the order first seen, with the series for
    // each matcher (the last one seen wins, as in graphite-web).
    let mut reduced: Vec<(String, Vec<Option<Series>>)> = Vec::new();
    for series in groups.into_iter().flatten() {
        let levels: Vec<&str> = series.name.split('.').collect();
        let at = if node < 0 { levels.len() as i64 + node } else { node };
        let Some(at) = usize::try_from(at).ok().filter(|&at| at < levels.len()) else {
            return Err(format!(
                "reduceSeries: node {node} is beyond the {} levels of {:?}",
                levels.len(),
                series.name
            ));
        };
        let Some(slot) = matchers.iter().position(|matcher| *matcher == levels[at]) else {
            continue;
        };
        let name = format!("{}.reduce.{function}", levels[..at].join("."));
        let entry = match reduced.iter().position(|(known, _)| *known == name) {
            Some(entry) => entry,
            None => {
                reduced.push((name, vec![None; matchers.len()]));
                reduced.len() - 1
            }
        };
        reduced[entry].1[slot] = Some(series);
    }
    let mut result = Vec::with_capacity(reduced.len());
    for (name, slots) in reduced {
        let Some(inputs) = slots.into_iter().collect::<Option<Vec<Series>>>() else {
            return Err(format!(
                "reduceSeries: {name:?} lacks a series for one of the matchers {matchers:?}"
            ));
        };
        let mut first = call_with(cx, function, inputs)?
            .into_iter()
            .next()
            .ok_or_else(|| format!("reduceSeries: {function} gave no series for {name:?}"))?;
        first.name = name;
        result.push(first);
    }
    Ok(result)
}

/// `function` called with each of `inputs` as a series list of its own,
/// as graphite-web's `reduceSeries` calls it: the call reads its
/// arguments from `inputs` rather than from the store.
fn call_with(cx: &mut Context<'_>, function: &str, inputs: Vec<Series>) -> Result<Vec<Series>, String> {
    let call = Expr::Call {
        name: function.to_owned(),
        args: (0..inputs.len()).map(|at| Expr::Path(at.to_string())).collect(),
        keywords: Vec::new(),
    };
    let mut serve = |selector: Selector<'_>, _from: i64, _until: i64| -> Result<Vec<Series>, String> {
        let input = selector.text().parse::<usize>().ok().and_then(|at| inputs.get(at));
        input
            .map(|series| vec![series.clone()])
            .ok_or_else(|| format!("reduceSeries: {function} reads more than its arguments"))
    };
    let mut inner = Context::new(cx.from, cx.until, &mut serve);
    inner.now = cx.now;
    inner.x_files_factor = cx.x_files_factor;
    inner.nested = cx.nested;
    super::evaluate(&call, &mut inner)
}

/// `template(inner, …)`: `inner` with every `$name` in its patterns (not in
/// its strings, nor in a `template` inside it) replaced by the value of
/// `name`, the request's `template[name]` parameters overriding the
/// call's, in graphite-web's order; a pattern that is exactly `$name`
/// becomes the value itself (a number, or a number-like string read as
/// one).
pub(super) fn template(
    inner: &Expr,
    values: &[(String, Expr)],
    cx: &mut Context<'_>,
) -> Result<Vec<Series>, String> {
    let mut replacements: Vec<(String, Expr)> = values.to_vec();
    // Each name's place, so that many request values merge in linear time.
    let mut places: HashMap<String, usize> = HashMap::new();
    for (at, (name, _)) in replacements.iter().enumerate() {
        places.entry(name.clone()).or_insert(at);
    }
    for (name, value) in &cx.template_values {
        let value = Expr::Text(value.clone());
        match places.get(name) {
            Some(&at) => replacements[at].1 = value,
            None => {
                places.insert(name.clone(), replacements.len());
                replacements.push((name.clone(), value));
            }
        }
    }
    let filled = substitute(inner, &replacements, cx)?;
    super::evaluate(&filled, cx)
}

/// `expr` with the replacements made in its patterns, as graphite-web's
/// evaluator makes them.
fn substitute(expr: &Expr, replacements: &[(String, Expr)], cx: &Context<'_>) -> Result<Expr, String> {
    match expr {
        Expr::Path(pattern) => fill_pattern(pattern, replacements, cx),
        Expr::Call { name, args, keywords } => Ok(Expr::Call {
            name: name.clone(),
            args: args.iter().map(|arg| substitute(arg, replacements, cx)).collect::<Result<_, _>>()?,
            keywords: keywords
                .iter()
                .map(|(key, value)| Ok((key.clone(), substitute(value, replacements, cx)?)))
                .collect::<Result<_, String>>()?,
        }),
        other => Ok(other.clone()),
    }
}

/// One pattern with each `$name` replaced in turn; the value itself when
/// the pattern is exactly `$name` by then.
fn fill_pattern(pattern: &str, replacements: &[(String, Expr)], cx: &Context<'_>) -> Result<Expr, String> {
    let mut filled = pattern.to_owned();
    for (name, value) in replacements {
        // Each value read costs a scan of the pattern (and its name).
        cx.spend_written("template", filled.len() + name.len() + 1)?;
        let placeholder = format!("${name}");
        if filled == placeholder {
            return Ok(match value {
                Expr::Text(text) if is_number_like(text) => {
                    let number: f64 =
                        text.parse().map_err(|_| format!("template: {text:?} is not a number"))?;
                    Expr::Number(number, PyFloat(number).to_string())
                }
                value => value.clone(),
            });
        }
        let text = match value {
            Expr::Number(_, text) => python_number_text(text),
            Expr::Text(text) => text.clone(),
            _ => continue,
        };
        // Checked before it is built: many placeholders times a long value
        // must not make a pattern of gigabytes.
        let count = filled.matches(&placeholder).count();
        let grown = filled.len() - count * placeholder.len() + count * text.len();
        if grown > MAX_PATTERN_BYTES {
            return Err(format!(
                "template: replacing ${name} makes a pattern of {grown} bytes, more than {MAX_PATTERN_BYTES}"
            ));
        }
        filled = filled.replace(&placeholder, &text);
    }
    Ok(Expr::Path(filled))
}

/// Whether graphite-web reads a string value as a number (`-?[0-9.]+`).
fn is_number_like(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit() || byte == b'.')
}

/// A number literal as Python's `str()` prints the value it reads: whole
/// numbers as written, others as Python prints the float.
fn python_number_text(text: &str) -> String {
    if let Ok(whole) = text.parse::<i128>() {
        return whole.to_string();
    }
    text.parse::<f64>().map_or_else(|_| text.to_owned(), |number| PyFloat(number).to_string())
}
