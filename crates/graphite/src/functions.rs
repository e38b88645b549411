//! The Graphite functions `/render` evaluates: those Grafana's Graphite
//! data source issues most. Names, tags and semantics follow graphite-web
//! 1.1, so that a dashboard built against Graphite shows the same legends.

use crate::expr::Expr;
use crate::series::{Series, MAX_SLOTS_PER_SERIES};
use crate::time::{parse_offset, Aggregation};
use serde_json::Value;

/// What evaluating a target needs besides the expression.
#[expect(missing_debug_implementations, reason = "it holds the caller's fetching closure")]
pub struct Context<'a> {
    /// The start of the requested range, Unix seconds.
    pub from: i64,
    /// The end of the requested range, Unix seconds.
    pub until: i64,
    /// The series a name pattern matches, read between `from` and `until`.
    pub fetch: &'a mut dyn FnMut(&str) -> Result<Vec<Series>, String>,
}

/// The functions served, for error messages and docs/http-api.md.
pub const FUNCTIONS: &str = "sumSeries (sum), averageSeries (avg), maxSeries, minSeries, alias, \
     aliasByNode, scale, summarize, consolidateBy, constantLine";

/// The series a target expression stands for.
pub fn evaluate(expr: &Expr, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let (name, args, keywords) = match expr {
        Expr::Path(pattern) => return (cx.fetch)(pattern),
        Expr::Call { name, args, keywords } => (name.as_str(), args, keywords),
        _ => return Err("expected a series pattern or a function call".to_owned()),
    };
    let args = Args { function: name, positional: args, keywords };
    match name {
        "sumSeries" | "sum" => aggregate(&args, cx, Aggregation::Sum, "sum"),
        "averageSeries" | "avg" => aggregate(&args, cx, Aggregation::Avg, "average"),
        "maxSeries" => aggregate(&args, cx, Aggregation::Max, "max"),
        "minSeries" => aggregate(&args, cx, Aggregation::Min, "min"),
        "alias" => alias(&args, cx),
        "aliasByNode" => alias_by_node(&args, cx),
        "scale" => scale(&args, cx),
        "summarize" => summarize(&args, cx),
        "consolidateBy" => consolidate_by(&args, cx),
        "constantLine" => constant_line(&args, cx),
        other => Err(format!("unknown function {other:?}: eardrum renders {FUNCTIONS}")),
    }
}

/// A call's arguments, each found by position or keyword.
struct Args<'a> {
    function: &'a str,
    positional: &'a [Expr],
    keywords: &'a [(String, Expr)],
}

impl Args<'_> {
    fn find(&self, position: usize, name: &str) -> Option<&Expr> {
        self.positional
            .get(position)
            .or_else(|| self.keywords.iter().find(|(key, _)| key == name).map(|(_, value)| value))
    }

    /// Refuses arguments beyond the `names` the function takes.
    fn only(&self, names: &[&str]) -> Result<(), String> {
        if self.positional.len() > names.len() {
            return Err(format!("{} takes at most {} arguments", self.function, names.len()));
        }
        match self.keywords.iter().find(|(key, _)| !names.contains(&key.as_str())) {
            Some((key, _)) => Err(format!("{} has no argument {key:?}", self.function)),
            None => Ok(()),
        }
    }

    fn wrong(&self, name: &str, what: &str) -> String {
        format!("{}: argument {name:?} must be {what}", self.function)
    }

    fn series(&self, cx: &mut Context<'_>, position: usize, name: &str) -> Result<Vec<Series>, String> {
        match self.find(position, name) {
            Some(expr @ (Expr::Path(_) | Expr::Call { .. })) => evaluate(expr, cx),
            _ => Err(self.wrong(name, "a series list")),
        }
    }

    fn number(&self, position: usize, name: &str) -> Result<(f64, &str), String> {
        match self.find(position, name) {
            Some(Expr::Number(value, text)) => Ok((*value, text)),
            _ => Err(self.wrong(name, "a number")),
        }
    }

    fn text(&self, position: usize, name: &str) -> Result<Option<&str>, String> {
        match self.find(position, name) {
            None => Ok(None),
            Some(Expr::Text(text)) => Ok(Some(text)),
            Some(_) => Err(self.wrong(name, "a quoted string")),
        }
    }
}

/// `sumSeries(a.*, b.*)` and its kin: one series, each slot the
/// aggregation of the series' values there. Series of different steps are
/// first brought to the least common multiple of their steps, as Graphite
/// normalises them.
fn aggregate(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    by: Aggregation,
    func: &str,
) -> Result<Vec<Series>, String> {
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
    let Some(first) = all.first() else {
        return Ok(Vec::new());
    };
    let step =
        all.iter().fold(first.step, |step, series| lcm(step, series.step).unwrap_or(step.max(series.step)));
    let all: Vec<Series> = all.iter().map(|series| series.resampled(step)).collect();
    let start = all.iter().map(|s| s.start).min().unwrap_or(cx.from);
    let end = all.iter().map(Series::end).max().unwrap_or(start);
    let mut row = Vec::with_capacity(all.len());
    let values = (start..end)
        .step_by(step as usize)
        .map(|timestamp| {
            row.clear();
            row.extend(all.iter().map(|s| s.value_at(timestamp)).filter(|v| !v.is_nan()));
            by.of(&row)
        })
        .collect();
    let mut expressions: Vec<&str> = all.iter().map(|s| s.path_expression.as_str()).collect();
    expressions.sort_unstable();
    expressions.dedup();
    let name = format!("{func}Series({})", expressions.join(","));
    // The tags every series shares, as graphite-web keeps them.
    let mut tags = all[0].tags.clone();
    tags.retain(|tag, value| all.iter().all(|s| s.tags.get(tag) == Some(value)));
    tags.entry("name").or_insert_with(|| Value::String(name.clone()));
    tags.insert("aggregatedBy".to_owned(), Value::String(func.to_owned()));
    let mut series = Series::new(&name, &name, start, step, values);
    series.tags = tags;
    Ok(vec![series])
}

fn lcm(a: i64, b: i64) -> Option<i64> {
    let gcd = |mut a: i64, mut b: i64| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    (a / gcd(a, b)).checked_mul(b)
}

/// `alias(seriesList, "name")`.
fn alias(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "newName"])?;
    let name = args.text(1, "newName")?.ok_or_else(|| args.wrong("newName", "a quoted string"))?.to_owned();
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.name.clone_from(&name);
    }
    Ok(list)
}

/// `aliasByNode(seriesList, 1, -1, "tag")`: the name made of the given
/// levels of the series' first path (negative counts from the end), or of
/// tag values.
fn alias_by_node(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let mut list = args.series(cx, 0, "seriesList")?;
    if args.positional.len() < 2 {
        return Err("aliasByNode needs at least one node".to_owned());
    }
    for series in &mut list {
        let parsed = Expr::parse(&series.name).ok();
        let path = parsed.as_ref().and_then(Expr::first_path).unwrap_or(&series.name);
        let levels: Vec<&str> = path.split('.').collect();
        let mut parts = Vec::new();
        for node in &args.positional[1..] {
            match node {
                Expr::Number(index, _) if index.fract() == 0.0 => {
                    let index = *index as i64;
                    let at = if index < 0 { levels.len() as i64 + index } else { index };
                    let level = usize::try_from(at).ok().and_then(|at| levels.get(at)).ok_or_else(|| {
                        format!("aliasByNode: node {index} is beyond the {} levels of {path:?}", levels.len())
                    })?;
                    parts.push((*level).to_owned());
                }
                Expr::Text(tag) => parts.push(match series.tags.get(tag) {
                    Some(Value::String(value)) => value.clone(),
                    Some(value) => value.to_string(),
                    None => String::new(),
                }),
                _ => return Err(args.wrong("nodes", "whole numbers or quoted tag names")),
            }
        }
        series.name = parts.join(".");
    }
    Ok(list)
}

/// `scale(seriesList, factor)`.
fn scale(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "factor"])?;
    let (factor, text) = args.number(1, "factor")?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.values.iter_mut().for_each(|value| *value *= factor);
        series.name = format!("scale({},{})", series.name, python_g(factor));
        series.path_expression.clone_from(&series.name);
        series.tags.insert("scale".to_owned(), literal(factor, text));
    }
    Ok(list)
}

/// `summarize(seriesList, "1h", func="sum", alignToFrom=false)`: one value
/// per interval, buckets aligned to multiples of the interval (or to the
/// series' start with `alignToFrom`).
fn summarize(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "intervalString", "func", "alignToFrom"])?;
    let interval_text =
        args.text(1, "intervalString")?.ok_or_else(|| args.wrong("intervalString", "a quoted interval"))?;
    let interval = parse_offset(interval_text)
        .ok()
        .filter(|&seconds| seconds > 0)
        .ok_or_else(|| args.wrong("intervalString", "a positive interval such as \"1h\""))?;
    let func = args.text(2, "func")?.unwrap_or("sum");
    let by = Aggregation::parse(func).map_err(|reason| format!("summarize: {reason}"))?;
    let align_to_from = match args.find(3, "alignToFrom") {
        None => false,
        Some(Expr::Bool(align)) => *align,
        Some(_) => return Err(args.wrong("alignToFrom", "true or false")),
    };
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let (start, end) = match align_to_from {
            true => (series.start, series.end()),
            false => (series.start.div_euclid(interval) * interval, series.end()),
        };
        let buckets = ((end - start).max(0) + interval - 1) / interval;
        if buckets > MAX_SLOTS_PER_SERIES {
            return Err(format!(
                "summarize: {interval_text:?} makes {buckets} buckets of {:?}, more than {MAX_SLOTS_PER_SERIES}: \
                 use a longer interval or a shorter range",
                series.name
            ));
        }
        let values = series.bucketed(start, interval, buckets, by);
        let aligned = if align_to_from { ", true" } else { "" };
        series.name = format!("summarize({}, \"{interval_text}\", \"{func}\"{aligned})", series.name);
        series.path_expression.clone_from(&series.name);
        series.tags.insert("summarize".to_owned(), Value::String(interval_text.to_owned()));
        series.tags.insert("summarizeFunction".to_owned(), Value::String(func.to_owned()));
        (series.start, series.step, series.values) = (start, interval, values);
    }
    Ok(list)
}

/// `consolidateBy(seriesList, "max")`: how slots merge when a chart shows
/// fewer points than the series has.
fn consolidate_by(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "consolidationFunc"])?;
    let func = args
        .text(1, "consolidationFunc")?
        .ok_or_else(|| args.wrong("consolidationFunc", "a quoted function name"))?;
    let by = Aggregation::parse(func).map_err(|reason| format!("consolidateBy: {reason}"))?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.consolidate_by = by;
        series.name = format!("consolidateBy({},\"{func}\")", series.name);
        series.path_expression.clone_from(&series.name);
        series.tags.insert("consolidateBy".to_owned(), Value::String(func.to_owned()));
    }
    Ok(list)
}

/// `constantLine(100)`: the value at the range's start, middle and end
/// (Grafana's health check renders it).
fn constant_line(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["value"])?;
    let (value, text) = args.number(0, "value")?;
    let step = ((cx.until - cx.from) / 2).max(1);
    let expression = format!("constantLine({text})");
    Ok(vec![Series::new(text, &expression, cx.from, step, vec![value; 3])])
}

/// A number argument as a tag value: an integer stays one.
fn literal(value: f64, text: &str) -> Value {
    serde_json::from_str::<serde_json::Number>(text)
        .map(Value::Number)
        .unwrap_or_else(|_| serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
}

/// A number as Python's `%g` prints it (six significant digits, trailing
/// zeros dropped), as graphite-web names scaled series.
fn python_g(value: f64) -> String {
    if !value.is_finite() {
        return if value.is_nan() {
            "nan"
        } else if value > 0.0 {
            "inf"
        } else {
            "-inf"
        }
        .to_owned();
    }
    let scientific = format!("{value:.5e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |text: &str| -> String {
        match text.contains('.') {
            true => text.trim_end_matches('0').trim_end_matches('.').to_owned(),
            false => text.to_owned(),
        }
    };
    if (-4..6).contains(&exponent) {
        let decimals = (5 - exponent).max(0) as usize;
        trim(&format!("{value:.decimals$}"))
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_python_percent_g() {
        for (value, text) in [
            (2.0, "2"),
            (0.5, "0.5"),
            (-1.25, "-1.25"),
            (1234567.0, "1.23457e+06"),
            (123456.0, "123456"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (0.0, "0"),
            (1e100, "1e+100"),
        ] {
            assert_eq!(python_g(value), text, "{value}");
        }
    }

    #[test]
    fn least_common_multiples_of_steps() {
        assert_eq!(lcm(10, 60), Some(60));
        assert_eq!(lcm(10, 15), Some(30));
        assert_eq!(lcm(i64::MAX, i64::MAX - 1), None);
    }
}
