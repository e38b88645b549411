//! The Graphite functions `/render` evaluates. Names, tags and values
//! follow graphite-web 1.1.10, so that a dashboard built against Graphite
//! shows the same lines and legends; the server's differential test
//! compares them case by case.
//!
//! By job: `combine` (many series into one), `transform` (each
//! series' values), `naming`, `filter` (choosing and ordering),
//! `presentation` (how a chart draws them, which the JSON shows only in
//! names and tags).

pub mod catalogue;
mod combine;
mod counters;
mod filter;
mod forecast;
mod gaps;
mod moving;
mod naming;
mod pairs;
mod percent;
mod presentation;
mod printf;
mod special;
mod tagged;
mod templates;
mod transform;
mod windows;

use crate::expr::Expr;
use crate::series::Series;
use crate::time::Aggregation;
use serde_json::Value;
use std::cell::Cell;
use std::rc::Rc;

/// What evaluating a target needs besides the expression.
#[expect(missing_debug_implementations, reason = "it holds the caller's fetching closure")]
pub struct Context<'a> {
    /// The start of the requested range, Unix seconds.
    pub from: i64,
    /// The end of the requested range, Unix seconds.
    pub until: i64,
    /// The time the request is answered as of (what `now` means in
    /// times that functions take).
    pub now: i64,
    /// The share of a group's values that must be known for the group to
    /// have a value when series are consolidated or aggregated: the
    /// request's `xFilesFactor` (0: any one value will do), or what
    /// `setXFilesFactor` last set.
    pub x_files_factor: f64,
    /// How many targets written by functions (`applyByNode`'s template,
    /// `aliasQuery`'s query) this evaluation is inside.
    nested: usize,
    /// The request's `template[name]=value` parameters, which override a
    /// `template(…)`'s own values.
    pub template_values: Vec<(String, String)>,
    /// Bytes of targets and patterns that functions may still write or
    /// scan (`template(…)` filling in values, `applyByNode` filling in its
    /// template, `aliasQuery` and `useSeriesAbove` writing queries), shared
    /// by the whole evaluation.
    written_budget: Rc<Cell<usize>>,
    /// The series a name pattern matches, read between two times (the
    /// requested range, or another that a function such as `timeShift`
    /// asks for).
    pub fetch: &'a mut Fetch<'a>,
}

impl<'a> Context<'a> {
    /// A context for `from..until` that reads series with `fetch`, with
    /// graphite-web's default `xFilesFactor` (0), as of `until`.
    pub fn new(from: i64, until: i64, fetch: &'a mut Fetch<'a>) -> Context<'a> {
        Context {
            from,
            until,
            now: until,
            x_files_factor: 0.0,
            nested: 0,
            template_values: Vec::new(),
            written_budget: Rc::new(Cell::new(MAX_WRITTEN_BYTES)),
            fetch,
        }
    }

    /// A context like this one over another range (`timeShift`, a moving
    /// window's preview).
    fn over(&mut self, from: i64, until: i64) -> Context<'_> {
        let (now, x_files_factor, nested) = (self.now, self.x_files_factor, self.nested);
        let (template_values, written_budget) =
            (self.template_values.clone(), Rc::clone(&self.written_budget));
        Context {
            from,
            until,
            now,
            x_files_factor,
            nested,
            template_values,
            written_budget,
            fetch: &mut *self.fetch,
        }
    }

    /// Takes `bytes` of targets or patterns a function is about to write
    /// or scan from the request's budget ([`MAX_WRITTEN_BYTES`]), or says
    /// why not.
    fn spend_written(&self, what: &str, bytes: usize) -> Result<(), String> {
        let left = self.written_budget.get().checked_sub(bytes).ok_or_else(|| {
            format!("{what}: the targets and patterns written or scanned pass {MAX_WRITTEN_BYTES} bytes")
        })?;
        self.written_budget.set(left);
        Ok(())
    }

    /// The series of a target a function wrote (a template filled in, a
    /// name rewritten): parsed and evaluated here, at most
    /// [`MAX_NESTED_TARGETS`] deep, so that templates inside templates
    /// cannot recurse without end.
    fn evaluate_text(&mut self, target: &str) -> Result<Vec<Series>, String> {
        if self.nested >= MAX_NESTED_TARGETS {
            return Err(format!("targets written by functions nest more than {MAX_NESTED_TARGETS} deep"));
        }
        self.spend_written("a written target", target.len())?;
        let expr = Expr::parse(target)?;
        self.nested += 1;
        let evaluated = evaluate(&expr, self);
        self.nested -= 1;
        evaluated
    }

    /// The `xFilesFactor` of `series`: its own, else the request's.
    pub fn x_files_factor_of(&self, series: &Series) -> f64 {
        series.x_files_factor.unwrap_or(self.x_files_factor)
    }
}

/// How deep targets that functions write may nest.
pub const MAX_NESTED_TARGETS: usize = 8;

/// How many bytes of targets and patterns the functions of one request may
/// write or scan (what `Context::spend_written` takes): the work of filling in
/// templates stays bounded whatever the number of values or series.
pub const MAX_WRITTEN_BYTES: usize = 16 << 20;

/// How a [`Context`] reads series: the series a selector picks, between
/// two times, or why not.
pub type Fetch<'a> = dyn FnMut(Selector<'_>, i64, i64) -> Result<Vec<Series>, String> + 'a;

/// What a target reads series by.
#[derive(Debug, Clone, Copy)]
pub enum Selector<'e> {
    /// A name pattern: `palm.*.cpu`.
    Pattern(&'e str),
    /// `seriesByTag(…)`: the call as written (the series' path
    /// expression) and its tag expressions.
    Tags {
        /// The call as written.
        raw: &'e str,
        /// Its tag expressions, unquoted.
        expressions: &'e [String],
    },
}

impl Selector<'_> {
    /// The path expression of the series read: the pattern, or the call.
    pub fn text(&self) -> &str {
        match self {
            Selector::Pattern(text) | Selector::Tags { raw: text, .. } => text,
        }
    }
}

/// The functions served, for error messages and docs/http-api.md.
pub const FUNCTIONS: &str = "sumSeries (sum), averageSeries (avg), maxSeries, minSeries, diffSeries, \
     multiplySeries, countSeries, divideSeries, asPercent, groupByNode, groupByNodes, alias, aliasByNode, \
     aliasByMetric, aliasSub, scale, offset, absolute, pow, squareRoot, invert, delay, offsetToZero, \
     scaleToSeconds, isNonNull, changed, minMax, derivative, nonNegativeDerivative, perSecond, integral, \
     keepLastValue, transformNull, removeAboveValue, removeBelowValue, summarize, consolidateBy, cumulative, \
     timeShift, movingAverage, movingSum, movingMin, movingMax, movingMedian, movingWindow, nPercentile, limit, \
     exclude, grep, unique, removeEmptySeries, sortByName, sortByMaxima, sortByMinima, sortBy, sortByTotal, \
     highest, lowest, highestAverage, highestCurrent, highestMax, lowestAverage, lowestCurrent, filterSeries, \
     averageAbove, averageBelow, currentAbove, currentBelow, maximumAbove, maximumBelow, minimumAbove, \
     minimumBelow, color, alpha, lineWidth, dashed, secondYAxis, drawAsInfinite, stacked, rangeOfSeries, \
     stddevSeries, aggregate, aggregateWithWildcards, sumSeriesWithWildcards, averageSeriesWithWildcards, \
     multiplySeriesWithWildcards, group, fallbackSeries, percentileOfSeries, add, exp, logit, sigmoid, log, round, \
     removeAbovePercentile, removeBelowPercentile, substr, threshold, identity, pct, aggregateSeriesLists, \
     sumSeriesLists, diffSeriesLists, multiplySeriesLists, divideSeriesLists, weightedAverage, integralByInterval, \
     interpolate, mostDeviant, averageOutsidePercentile, removeBetweenPercentile, upper, lower, hitcount, \
     exponentialMovingAverage, legendValue, time, timeFunction, sin, sinFunction, setXFilesFactor, xFilesFactor, groupByTags, aliasByTags, seriesByTag, aggregateLine, verticalLine, timeSlice, timeStack, \
     powSeries, areaBetween, smartSummarize, compressPeriodicGaps, stdev, \
     applyByNode, aliasQuery, useSeriesAbove, cactiStyle, holtWintersForecast, holtWintersConfidenceBands, \
     holtWintersConfidenceArea, holtWintersAberration, linearRegression, reduceSeries (reduce), mapSeries (map), \
     randomWalk, randomWalkFunction, constantLine";

/// The series a target expression stands for.
pub fn evaluate(expr: &Expr, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let (name, args, keywords) = match expr {
        Expr::Path(pattern) => return (cx.fetch)(Selector::Pattern(pattern), cx.from, cx.until),
        Expr::Tagged { raw, expressions } => {
            return (cx.fetch)(Selector::Tags { raw, expressions }, cx.from, cx.until)
        }
        Expr::Call { name, args, keywords } => (name.as_str(), args, keywords),
        Expr::Template { inner, values } => return templates::template(inner, values, cx),
        _ => return Err("expected a series pattern or a function call".to_owned()),
    };
    let args = Args { function: name, positional: args, keywords };
    match name {
        "sumSeries" | "sum" => combine::aggregate(&args, cx, Aggregation::Sum, "sum"),
        "averageSeries" | "avg" => combine::aggregate(&args, cx, Aggregation::Avg, "average"),
        "maxSeries" => combine::aggregate(&args, cx, Aggregation::Max, "max"),
        "minSeries" => combine::aggregate(&args, cx, Aggregation::Min, "min"),
        "diffSeries" => combine::aggregate(&args, cx, Aggregation::Diff, "diff"),
        "multiplySeries" => combine::multiply_series(&args, cx),
        "countSeries" => combine::count_series(&args, cx),
        "divideSeries" => combine::divide_series(&args, cx),
        "rangeOfSeries" => combine::aggregate(&args, cx, Aggregation::Range, "rangeOf"),
        "stddevSeries" => combine::aggregate(&args, cx, Aggregation::Stddev, "stddev"),
        "aggregate" => combine::aggregate_by(&args, cx),
        "aggregateWithWildcards" => combine::aggregate_with_wildcards(&args, cx, None),
        "sumSeriesWithWildcards" => combine::aggregate_with_wildcards(&args, cx, Some("sum")),
        "averageSeriesWithWildcards" => combine::aggregate_with_wildcards(&args, cx, Some("average")),
        "multiplySeriesWithWildcards" => combine::aggregate_with_wildcards(&args, cx, Some("multiply")),
        "group" => combine::group(&args, cx),
        "fallbackSeries" => combine::fallback_series(&args, cx),
        "percentileOfSeries" => combine::percentile_of_series(&args, cx),
        "asPercent" | "pct" => percent::as_percent(&args, cx),
        "aggregateSeriesLists" => pairs::aggregate_series_lists(&args, cx, None),
        "sumSeriesLists" => pairs::aggregate_series_lists(&args, cx, Some("sum")),
        "diffSeriesLists" => pairs::aggregate_series_lists(&args, cx, Some("diff")),
        "multiplySeriesLists" => pairs::aggregate_series_lists(&args, cx, Some("multiply")),
        "divideSeriesLists" => pairs::divide_series_lists(&args, cx),
        "weightedAverage" => pairs::weighted_average(&args, cx),
        "integralByInterval" => windows::integral_by_interval(&args, cx),
        "hitcount" => windows::hitcount(&args, cx),
        "smartSummarize" => windows::smart_summarize(&args, cx),
        "compressPeriodicGaps" => windows::compress_periodic_gaps(&args, cx),
        "stdev" => moving::stdev(&args, cx),
        "holtWintersForecast" => forecast::forecast(&args, cx),
        "holtWintersConfidenceBands" => forecast::confidence_bands(&args, cx),
        "holtWintersConfidenceArea" => forecast::confidence_area(&args, cx),
        "holtWintersAberration" => forecast::aberration(&args, cx),
        "linearRegression" => forecast::linear_regression(&args, cx),
        "applyByNode" => templates::apply_by_node(&args, cx),
        "reduceSeries" | "reduce" => templates::reduce_series(&args, cx),
        "mapSeries" | "map" => templates::map_alone(&args),
        "aliasQuery" => templates::alias_query(&args, cx),
        "useSeriesAbove" => templates::use_series_above(&args, cx),
        "cactiStyle" => naming::cacti_style(&args, cx),
        "exponentialMovingAverage" => moving::exponential_moving_average(&args, cx),
        "legendValue" => naming::legend_value(&args, cx),
        "time" | "timeFunction" => special::generated(&args, cx, special::Wave::Time),
        "sin" | "sinFunction" => special::generated(&args, cx, special::Wave::Sine),
        "randomWalk" | "randomWalkFunction" => special::generated(&args, cx, special::Wave::RandomWalk),
        "interpolate" => gaps::interpolate(&args, cx),
        "mostDeviant" => filter::most_deviant(&args, cx),
        "averageOutsidePercentile" => filter::outside_percentile(&args, cx, true),
        "removeBetweenPercentile" => filter::outside_percentile(&args, cx, false),
        "upper" => naming::change_case(&args, cx, true),
        "lower" => naming::change_case(&args, cx, false),
        "groupByNode" => {
            args.only(&["seriesList", "nodeNum", "callback"])?;
            let node =
                args.find(1, "nodeNum").ok_or_else(|| args.wrong("nodeNum", "a node number or tag"))?;
            let callback = args.text(2, "callback")?.unwrap_or("average");
            combine::group_by_nodes(&args, cx, std::slice::from_ref(node), callback)
        }
        "groupByNodes" => {
            let callback =
                args.text(1, "callback")?.ok_or_else(|| args.wrong("callback", "a quoted function"))?;
            combine::group_by_nodes(&args, cx, args.positional.get(2..).unwrap_or_default(), callback)
        }
        "alias" => naming::alias(&args, cx),
        "aliasByNode" => naming::alias_by_node(&args, cx),
        "aliasByTags" => tagged::alias_by_tags(&args, cx),
        "groupByTags" => tagged::group_by_tags(&args, cx),
        "aliasByMetric" => naming::substr(&args, cx, Some((-1, 0))),
        "substr" => naming::substr(&args, cx, None),
        "aliasSub" => naming::alias_sub(&args, cx),
        "scale" => transform::scale(&args, cx),
        "offset" => transform::offset(&args, cx),
        "absolute" => transform::absolute(&args, cx),
        "derivative" => counters::derivative(&args, cx),
        "nonNegativeDerivative" => counters::non_negative_derivative(&args, cx),
        "perSecond" => counters::per_second(&args, cx),
        "integral" => counters::integral(&args, cx),
        "keepLastValue" => gaps::keep_last_value(&args, cx),
        "transformNull" => gaps::transform_null(&args, cx),
        "removeAboveValue" => gaps::remove_beyond(&args, cx, true),
        "removeBelowValue" => gaps::remove_beyond(&args, cx, false),
        "summarize" => windows::summarize(&args, cx),
        "timeShift" => transform::time_shift(&args, cx),
        "movingAverage" => moving::moving_window(&args, cx, Some("average")),
        "movingSum" => moving::moving_window(&args, cx, Some("sum")),
        "movingMin" => moving::moving_window(&args, cx, Some("min")),
        "movingMax" => moving::moving_window(&args, cx, Some("max")),
        "movingMedian" => moving::moving_window(&args, cx, Some("median")),
        "movingWindow" => moving::moving_window(&args, cx, None),
        "nPercentile" => gaps::n_percentile(&args, cx),
        "consolidateBy" => transform::consolidate_by(&args, cx),
        "setXFilesFactor" | "xFilesFactor" => presentation::set_x_files_factor(&args, cx),
        "limit" => filter::limit(&args, cx),
        "exclude" => filter::exclude(&args, cx),
        "sortByName" => filter::sort_by_name(&args, cx),
        "sortByMaxima" => filter::sort_by_maxima(&args, cx),
        "sortByMinima" => filter::sort_by_minima(&args, cx),
        "sortBy" => filter::sort_by(&args, cx, None),
        "sortByTotal" => filter::sort_by(&args, cx, Some((Aggregation::Sum, true))),
        "highest" => filter::extremes(&args, cx, true, None),
        "lowest" => filter::extremes(&args, cx, false, None),
        "highestAverage" => filter::extremes(&args, cx, true, Some(Aggregation::Avg)),
        "highestCurrent" => filter::extremes(&args, cx, true, Some(Aggregation::Last)),
        "highestMax" => filter::extremes(&args, cx, true, Some(Aggregation::Max)),
        "lowestAverage" => filter::extremes(&args, cx, false, Some(Aggregation::Avg)),
        "lowestCurrent" => filter::extremes(&args, cx, false, Some(Aggregation::Last)),
        "filterSeries" => filter::filter_series(&args, cx, None),
        "averageAbove" => filter::filter_series(&args, cx, Some((Aggregation::Avg, ">"))),
        "averageBelow" => filter::filter_series(&args, cx, Some((Aggregation::Avg, "<="))),
        "currentAbove" => filter::filter_series(&args, cx, Some((Aggregation::Last, ">"))),
        "currentBelow" => filter::filter_series(&args, cx, Some((Aggregation::Last, "<="))),
        "maximumAbove" => filter::filter_series(&args, cx, Some((Aggregation::Max, ">"))),
        "maximumBelow" => filter::filter_series(&args, cx, Some((Aggregation::Max, "<="))),
        "minimumAbove" => filter::filter_series(&args, cx, Some((Aggregation::Min, ">"))),
        "minimumBelow" => filter::filter_series(&args, cx, Some((Aggregation::Min, "<="))),
        "removeEmptySeries" => filter::remove_empty_series(&args, cx),
        "unique" => filter::unique(&args, cx),
        "grep" => filter::grep(&args, cx),
        "pow" => transform::pow(&args, cx),
        "add" => transform::add(&args, cx),
        "exp" | "logit" | "sigmoid" => transform::elementwise(&args, cx),
        "log" => transform::log(&args, cx),
        "round" => transform::round(&args, cx),
        "removeAbovePercentile" => gaps::remove_beyond_percentile(&args, cx, true),
        "removeBelowPercentile" => gaps::remove_beyond_percentile(&args, cx, false),
        "squareRoot" => transform::power_of(&args, cx, 0.5, "squareRoot"),
        "invert" => transform::power_of(&args, cx, -1.0, "invert"),
        "delay" => transform::delay(&args, cx),
        "offsetToZero" => transform::offset_to_zero(&args, cx),
        "scaleToSeconds" => transform::scale_to_seconds(&args, cx),
        "isNonNull" => transform::is_non_null(&args, cx),
        "changed" => transform::changed(&args, cx),
        "minMax" => transform::min_max(&args, cx),
        "cumulative" => transform::consolidate_by_fixed(&args, cx, "sum"),
        "color" | "alpha" | "lineWidth" => presentation::unchanged(&args, cx),
        "dashed" => presentation::dashed(&args, cx),
        "secondYAxis" | "drawAsInfinite" => presentation::marked(&args, cx),
        "stacked" => presentation::stacked(&args, cx),
        "constantLine" => special::constant_line(&args, cx),
        "threshold" => special::threshold(&args, cx),
        "identity" => special::identity(&args, cx),
        "aggregateLine" => special::aggregate_line(&args, cx),
        "verticalLine" => special::vertical_line(&args, cx),
        "timeSlice" => special::time_slice(&args, cx),
        "timeStack" => special::time_stack(&args, cx),
        "powSeries" => special::pow_series(&args, cx),
        "areaBetween" => special::area_between(&args, cx),
        "events" => Err("events: graphite-web draws these from its event database, which eardrum does not \
                         keep (the one graphite-web function it does not serve)"
            .to_owned()),
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
    /// The argument at `position` or named `name`; `None` when it is not
    /// given or given as `None` (which leaves it at its default, as in
    /// Python).
    fn find(&self, position: usize, name: &str) -> Option<&Expr> {
        self.positional
            .get(position)
            .or_else(|| self.keywords.iter().find(|(key, _)| key == name).map(|(_, value)| value))
            .filter(|found| **found != Expr::None)
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
            Some(
                expr @ (Expr::Path(_) | Expr::Call { .. } | Expr::Tagged { .. } | Expr::Template { .. }),
            ) => evaluate(expr, cx),
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

/// A regular expression argument, in the syntax of Rust's `regex` crate
/// (Python's, but for look-around and backreferences).
fn regex(args: &Args<'_>, name: &str, text: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(text)
        .size_limit(1 << 20)
        .build()
        .map_err(|error| format!("{}: argument {name:?} is not a regular expression: {error}", args.function))
}

/// A float argument as a tag value: graphite-web converts float
/// parameters with `float()` and keeps every tag as `str()` of it, so
/// `2` reads `"2.0"`.
fn float_tag(value: f64) -> Value {
    Value::String(eardrum_protocol::PyFloat(value).to_string())
}

/// A number as Python's `%g` prints it (six significant digits, trailing
/// zeros dropped), as graphite-web names scaled series.
fn python_g(value: f64) -> String {
    printf::format_g(value, 6, false)
}

#[cfg(test)]
mod tests;
