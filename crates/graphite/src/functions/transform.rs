//! Functions that change each series' values: arithmetic, derivatives,
//! filling and removing values, resampling.

use super::{float_tag, python_g, Args, Context};
use crate::expr::Expr;
use crate::series::{Series, MAX_SLOTS_PER_SERIES};
use crate::time::{parse_offset, Aggregation};
use serde_json::Value;

/// `scale(seriesList, factor)`.
pub(super) fn scale(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "factor"])?;
    let (factor, _) = args.number(1, "factor")?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.values.iter_mut().for_each(|value| *value *= factor);
        series.name = format!("scale({},{})", series.name, python_g(factor));
        series.path_expression.clone_from(&series.name);
        series.tags.insert("scale".to_owned(), float_tag(factor));
    }
    Ok(list)
}

/// `summarize(seriesList, "1h", func="sum", alignToFrom=false)`: one value
/// per interval, buckets aligned to multiples of the interval (or to the
/// series' start with `alignToFrom`).
pub(super) fn summarize(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
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
        let values = series.bucketed(start, interval, buckets, by, cx.x_files_factor_of(series));
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
pub(super) fn consolidate_by(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "consolidationFunc"])?;
    let func = args
        .text(1, "consolidationFunc")?
        .ok_or_else(|| args.wrong("consolidationFunc", "a quoted function name"))?;
    consolidate_by_fixed(args, cx, func)
}

/// `consolidateBy` with `func`, and `cumulative(seriesList)`, which is
/// `consolidateBy(seriesList, "sum")`.
pub(super) fn consolidate_by_fixed(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    func: &str,
) -> Result<Vec<Series>, String> {
    let by = Aggregation::parse(func).map_err(|reason| format!("{}: {reason}", args.function))?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.consolidate_by = by;
        series.name = format!("consolidateBy({},\"{func}\")", series.name);
        series.path_expression.clone_from(&series.name);
        series.tags.insert("consolidateBy".to_owned(), Value::String(func.to_owned()));
    }
    Ok(list)
}

/// Renames each series `{function}({name})` (its path expression too) and
/// tags it `{function}: 1`, as graphite-web marks its transforms.
fn mark(series: &mut Series, function: &str) {
    series.name = format!("{function}({})", series.name);
    series.path_expression.clone_from(&series.name);
    series.tags.insert(function.to_owned(), Value::String("1".to_owned()));
}

/// `offset(seriesList, 10)`: values plus a constant.
pub(super) fn offset(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "factor"])?;
    let (factor, _) = args.number(1, "factor")?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.values.iter_mut().for_each(|value| *value += factor);
        series.tags.insert("offset".to_owned(), float_tag(factor));
        series.name = format!("offset({},{})", series.name, python_g(factor));
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `absolute(seriesList)`.
pub(super) fn absolute(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList"])?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.values.iter_mut().for_each(|value| *value = value.abs());
        mark(series, "absolute");
    }
    Ok(list)
}

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
        Some(Expr::Path(none)) if none == "None" => Ok(None),
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
fn round6(value: f64) -> f64 {
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

/// `timeShift(seriesList, "1d", resetEnd=true)`: the series of the same
/// expression read a time earlier (a bare interval counts back) and drawn
/// over the requested range. Times are UTC here, so `alignDST` changes
/// nothing.
pub(super) fn time_shift(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "timeShift", "resetEnd", "alignDST"])?;
    let given = args.text(1, "timeShift")?.ok_or_else(|| args.wrong("timeShift", "a quoted interval"))?;
    let shift = match given.starts_with(|c: char| c.is_ascii_digit()) {
        true => format!("-{given}"),
        false => given.to_owned(),
    };
    let delta = parse_offset(&shift).map_err(|reason| format!("timeShift: {reason}"))?;
    let reset_end = match args.find(2, "resetEnd") {
        None => true,
        Some(Expr::Bool(reset)) => *reset,
        Some(_) => return Err(args.wrong("resetEnd", "true or false")),
    };
    let originals = args.series(cx, 0, "seriesList")?;
    let Some(first) = originals.first() else {
        return Ok(Vec::new());
    };
    let expression = args.find(0, "seriesList").ok_or_else(|| args.wrong("seriesList", "a series list"))?;
    let (from, until) = (cx.from.saturating_add(delta), cx.until.saturating_add(delta));
    let mut shifted_cx = cx.over(from, until);
    let mut shifted = super::evaluate(expression, &mut shifted_cx)?;
    for series in &mut shifted {
        series.tags.insert("timeShift".to_owned(), Value::String(shift.clone()));
        series.name = format!("timeShift({}, \"{shift}\")", series.name);
        series.start = first.start;
        if reset_end {
            // graphite-web draws the values up to the first series' end.
            let timestamps =
                usize::try_from((first.end() - first.start) / series.step.max(1) + 1).unwrap_or(0);
            series.values.truncate(timestamps);
        }
    }
    Ok(shifted)
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

/// The most values the moving windows of one series may aggregate in all
/// (a window's points times the points it slides over): a bound on one
/// request's work.
const MAX_WINDOW_WORK: usize = 100_000_000;

/// `movingAverage(seriesList, windowSize, xFilesFactor=None)` and its kin
/// (`movingSum`, `movingMin`, `movingMax`, `movingMedian`,
/// `movingWindow(…, func)`): each slot the aggregate of the `windowSize`
/// slots before it (a count of points, or a quoted interval), reading that
/// much before the range so that the first slots have their window; a
/// window with fewer values than `xFilesFactor` of it (default: any) is
/// `None`.
pub(super) fn moving_window(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    func: Option<&str>,
) -> Result<Vec<Series>, String> {
    let (func, xff_position) = match func {
        Some(func) => {
            args.only(&["seriesList", "windowSize", "xFilesFactor"])?;
            (func, 2)
        }
        None => {
            args.only(&["seriesList", "windowSize", "func", "xFilesFactor"])?;
            (args.text(2, "func")?.unwrap_or("average"), 3)
        }
    };
    let by = Aggregation::parse(func).map_err(|reason| format!("{}: {reason}", args.function))?;
    // Without one, each series' own (graphite-web's `effectiveXFF`).
    let x_files_factor = match args.find(xff_position, "xFilesFactor") {
        None => None,
        Some(_) => Some(args.number(xff_position, "xFilesFactor")?.0),
    };
    let window =
        args.find(1, "windowSize").ok_or_else(|| args.wrong("windowSize", "a count or a quoted interval"))?;
    let originals = args.series(cx, 0, "seriesList")?;
    let Some(widest) = originals.iter().map(|series| series.step).max() else {
        return Ok(Vec::new());
    };
    let (preview, label, points): (i64, String, Option<usize>) = match window {
        Expr::Number(count, text) if *count >= 0.0 && count.fract() == 0.0 => {
            (widest.saturating_mul(*count as i64), text.clone(), Some(*count as usize))
        }
        Expr::Text(interval) => {
            let seconds = parse_offset(interval).map_err(|reason| format!("{}: {reason}", args.function))?;
            (seconds.saturating_abs(), format!("\"{interval}\""), None)
        }
        _ => return Err(args.wrong("windowSize", "a whole count or a quoted interval")),
    };
    let tag = match window {
        Expr::Text(interval) => interval.clone(),
        _ => label.clone(),
    };
    let expression = args.find(0, "seriesList").ok_or_else(|| args.wrong("seriesList", "a series list"))?;
    let mut preview_cx = cx.over(cx.from.saturating_sub(preview), cx.until);
    let previewed = super::evaluate(expression, &mut preview_cx)?;
    let tag_name = format!("moving{}{}", func[..1].to_uppercase(), &func[1..]);
    let mut result = Vec::with_capacity(previewed.len());
    for mut series in previewed {
        let x_files_factor = x_files_factor.unwrap_or_else(|| preview_cx.x_files_factor_of(&series));
        let window_points =
            points.unwrap_or_else(|| usize::try_from(preview / series.step.max(1)).unwrap_or(0));
        let outputs = series.values.len().saturating_sub(window_points);
        if window_points.saturating_mul(outputs) > MAX_WINDOW_WORK {
            return Err(format!(
                "{}: a window of {window_points} points over {} points is more than {MAX_WINDOW_WORK} values \
                 to aggregate: use a shorter window or range",
                args.function,
                series.values.len()
            ));
        }
        let values: Vec<f64> = (window_points + 1..=series.values.len())
            .map(|end| {
                let window = &series.values[end - window_points..end];
                let present: Vec<f64> = window.iter().copied().filter(|value| !value.is_nan()).collect();
                let enough =
                    !present.is_empty() && present.len() as f64 / window_points as f64 >= x_files_factor;
                if enough {
                    by.of(&present)
                } else {
                    f64::NAN
                }
            })
            .collect();
        series.tags.insert(tag_name.clone(), Value::String(tag.clone()));
        series.name = format!("{tag_name}({},{label})", series.name);
        series.path_expression.clone_from(&series.name);
        series.start = series.start.saturating_add(preview);
        series.values = values;
        result.push(series);
    }
    Ok(result)
}

/// Python's `math.pow` as graphite-web's `safePow` takes it: `None` where
/// it raises (a negative number to a fractional power, 0 to a negative
/// one, an overflow).
pub(super) fn safe_pow(value: f64, exponent: f64) -> f64 {
    let result = value.powf(exponent);
    match result.is_finite() || !value.is_finite() {
        true => result,
        false => f64::NAN,
    }
}

/// `pow(seriesList, factor)`.
pub(super) fn pow(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "factor"])?;
    let (factor, _) = args.number(1, "factor")?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.values.iter_mut().for_each(|value| *value = safe_pow(*value, factor));
        series.tags.insert("pow".to_owned(), float_tag(factor));
        series.name = format!("pow({},{})", series.name, python_g(factor));
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `squareRoot(seriesList)` and `invert(seriesList)`: values to the power
/// 0.5 and -1.
pub(super) fn power_of(
    args: &Args<'_>,
    cx: &mut Context<'_>,
    exponent: f64,
    function: &str,
) -> Result<Vec<Series>, String> {
    args.only(&["seriesList"])?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.values.iter_mut().for_each(|value| *value = safe_pow(*value, exponent));
        mark(series, function);
    }
    Ok(list)
}

/// `delay(seriesList, steps)`: values moved `steps` slots later (earlier
/// for a negative count), `None` where nothing moved in.
pub(super) fn delay(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "steps"])?;
    let steps = match args.find(1, "steps") {
        Some(Expr::Number(steps, _)) if steps.fract() == 0.0 => *steps as i64,
        _ => return Err(args.wrong("steps", "a whole number")),
    };
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let len = series.values.len();
        let moved = usize::try_from(steps.unsigned_abs()).unwrap_or(usize::MAX).min(len);
        let mut values = vec![f64::NAN; len];
        match steps >= 0 {
            true => values[moved..].copy_from_slice(&series.values[..len - moved]),
            false => values[..len - moved].copy_from_slice(&series.values[moved..]),
        }
        series.values = values;
        series.tags.insert("delay".to_owned(), Value::String(steps.to_string()));
        series.name = format!("delay({},{steps})", series.name);
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `offsetToZero(seriesList)`: values less the series' minimum.
pub(super) fn offset_to_zero(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList"])?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let minimum = series.values.iter().copied().filter(|value| !value.is_nan()).reduce(f64::min);
        if let Some(minimum) = minimum {
            series.values.iter_mut().for_each(|value| *value -= minimum);
        }
        let tag = minimum
            .map_or_else(|| "None".to_owned(), |minimum| eardrum_protocol::PyFloat(minimum).to_string());
        series.tags.insert("offsetToZero".to_owned(), Value::String(tag));
        series.name = format!("offsetToZero({})", series.name);
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `scaleToSeconds(seriesList, seconds)`: values per step as values per
/// `seconds`, rounded to six decimals as graphite-web's are.
pub(super) fn scale_to_seconds(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "seconds"])?;
    let (seconds, _) = args.number(1, "seconds")?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let factor = seconds / series.step as f64;
        series.values.iter_mut().for_each(|value| *value = round6(*value * factor));
        series.tags.insert("scaleToSeconds".to_owned(), float_tag(seconds));
        series.name = format!("scaleToSeconds({},{})", series.name, seconds.trunc());
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `isNonNull(seriesList)`: 1 where there is a value, 0 where not.
pub(super) fn is_non_null(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList"])?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.values.iter_mut().for_each(|value| *value = if value.is_nan() { 0.0 } else { 1.0 });
        mark(series, "isNonNull");
    }
    Ok(list)
}

/// `changed(seriesList)`: 1 where the value differs from the last one
/// seen, else 0.
pub(super) fn changed(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList"])?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        // graphite-web's "previous" is unset again by a None.
        let mut previous: Option<f64> = None;
        for value in &mut series.values {
            let current = (!value.is_nan()).then_some(*value);
            *value = match previous {
                None => {
                    previous = current;
                    0.0
                }
                Some(last) => match current {
                    Some(current) if current != last => {
                        previous = Some(current);
                        1.0
                    }
                    _ => 0.0,
                },
            };
        }
        series.name = format!("changed({})", series.name);
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `minMax(seriesList)`: values scaled to 0..1 between the series' minimum
/// and maximum (0 where they are equal).
pub(super) fn min_max(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList"])?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let present = || series.values.iter().copied().filter(|value| !value.is_nan());
        let minimum = present().reduce(f64::min).unwrap_or(0.0);
        let maximum = present().reduce(f64::max).unwrap_or(0.0);
        series.values.iter_mut().filter(|value| !value.is_nan()).for_each(|value| {
            *value = if maximum == minimum { 0.0 } else { (*value - minimum) / (maximum - minimum) };
        });
        series.name = format!("minMax({})", series.name);
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

/// `add(seriesList, n)`: values plus a constant, named with its integer
/// part as graphite-web's `%d` prints it.
pub(super) fn add(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "constant"])?;
    let (constant, _) = args.number(1, "constant")?;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.values.iter_mut().for_each(|value| *value += constant);
        series.tags.insert("add".to_owned(), float_tag(constant));
        series.name = format!("add({},{})", series.name, constant.trunc());
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `exp`, `logit` and `sigmoid` of each value, `None` where undefined.
pub(super) fn elementwise(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList"])?;
    let (apply, tag): (fn(f64) -> f64, &str) = match args.function {
        "exp" => (f64::exp, "e"),
        "logit" => (|value| (value / (1.0 - value)).ln(), "logit"),
        _ => (|value| 1.0 / (1.0 + (-value).exp()), "sigmoid"),
    };
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.values.iter_mut().for_each(|value| {
            let result = apply(*value);
            *value = if result.is_finite() { result } else { f64::NAN };
        });
        series.tags.insert(args.function.to_owned(), Value::String(tag.to_owned()));
        series.name = format!("{}({})", args.function, series.name);
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `log(seriesList, base=10)`: `None` for values at or below 0.
pub(super) fn log(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "base"])?;
    let (base, text) = match args.find(1, "base") {
        None => (10.0, "10".to_owned()),
        Some(Expr::Number(base, text)) if base.fract() == 0.0 && *base > 0.0 => (*base, text.clone()),
        Some(_) => return Err(args.wrong("base", "a whole number above 0")),
    };
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.values.iter_mut().for_each(|value| {
            *value = if *value > 0.0 { value.ln() / base.ln() } else { f64::NAN };
        });
        series.tags.insert("log".to_owned(), Value::String(text.clone()));
        series.name = format!("log({}, {text})", series.name);
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `round(seriesList, precision=0)`: values rounded to `precision`
/// decimals (tens for -1), ties to even as Python's `round`.
pub(super) fn round(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "precision"])?;
    let precision = match args.find(1, "precision") {
        None => None,
        Some(Expr::Number(precision, _)) if precision.fract() == 0.0 && precision.abs() <= 300.0 => {
            Some(*precision as i32)
        }
        Some(_) => return Err(args.wrong("precision", "a whole number")),
    };
    let digits = precision.unwrap_or(0);
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.values.iter_mut().filter(|value| value.is_finite()).for_each(|value| {
            *value = match usize::try_from(digits) {
                Ok(decimals) => format!("{value:.decimals$}").parse().unwrap_or(*value),
                Err(_) => {
                    let scale = 10f64.powi(-digits);
                    (*value / scale).round_ties_even() * scale
                }
            };
        });
        series.tags.insert("round".to_owned(), Value::String(digits.to_string()));
        series.name = match precision {
            None => format!("round({})", series.name),
            Some(precision) => format!("round({},{precision})", series.name),
        };
        series.path_expression.clone_from(&series.name);
    }
    Ok(list)
}

/// `integralByInterval(seriesList, "1d")`: the running total, restarting
/// at every multiple of the interval from the range's start (`None` keeps
/// the total).
pub(super) fn integral_by_interval(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "intervalUnit"])?;
    let unit =
        args.text(1, "intervalUnit")?.ok_or_else(|| args.wrong("intervalUnit", "a quoted interval"))?;
    let interval = parse_offset(unit)
        .ok()
        .map(i64::unsigned_abs)
        .filter(|&seconds| seconds > 0)
        .and_then(|seconds| i64::try_from(seconds).ok())
        .ok_or_else(|| args.wrong("intervalUnit", "a non-zero interval such as \"1d\""))?;
    let start = cx.from;
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        let mut total = 0.0;
        let mut time = series.start;
        for value in &mut series.values {
            if (time - start).div_euclid(interval) != (time - start - series.step).div_euclid(interval) {
                total = 0.0;
            }
            if !value.is_nan() {
                total += *value;
            }
            *value = total;
            time += series.step;
        }
        series.tags.insert("integralByInterval".to_owned(), Value::String(unit.to_owned()));
        series.name = format!("integralByInterval({},'{unit}')", series.name);
        series.path_expression.clone_from(&series.name);
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

/// `hitcount(seriesList, "10min", alignToInterval=false)`: a rate per
/// second as hits per interval: each value times the seconds of its slot
/// that fall in each interval, summed per interval, intervals ending at the
/// series' end (or, aligned, starting at the range's start floored to the
/// day, hour or minute).
pub(super) fn hitcount(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "intervalString", "alignToInterval"])?;
    let text =
        args.text(1, "intervalString")?.ok_or_else(|| args.wrong("intervalString", "a quoted interval"))?;
    let interval = parse_offset(text)
        .ok()
        .map(i64::unsigned_abs)
        .and_then(|seconds| i64::try_from(seconds).ok())
        .filter(|&seconds| seconds > 0)
        .ok_or_else(|| args.wrong("intervalString", "a non-zero interval such as \"10min\""))?;
    let align = match args.find(2, "alignToInterval") {
        None => false,
        Some(Expr::Bool(align)) => *align,
        Some(_) => return Err(args.wrong("alignToInterval", "true or false")),
    };
    let mut list = args.series(cx, 0, "seriesList")?;
    // Each series with the end graphite-web counts its intervals back from.
    let mut ends: Vec<i64> = list.iter().map(Series::end).collect();
    if align {
        let unit = match interval {
            86_400.. => 86_400,
            3_600.. => 3_600,
            60.. => 60,
            _ => 1,
        };
        let expression =
            args.find(0, "seriesList").ok_or_else(|| args.wrong("seriesList", "a series list"))?;
        let from = cx.from.div_euclid(unit) * unit;
        let mut aligned_cx = cx.over(from, cx.until);
        list = super::evaluate(expression, &mut aligned_cx)?;
        ends = list
            .iter()
            .map(|series| {
                series.start + (series.end() - series.start).div_euclid(interval) * interval + interval
            })
            .collect();
    }
    let buckets_allowed = crate::series::MAX_SLOTS_PER_SERIES;
    for (series, end) in list.iter_mut().zip(ends) {
        let buckets = (end - series.start + interval - 1).div_euclid(interval).max(0);
        if buckets > buckets_allowed {
            return Err(format!("hitcount: {text:?} makes {buckets} intervals, more than {buckets_allowed}"));
        }
        let start = end - buckets * interval;
        let last = usize::try_from(buckets).unwrap_or(0);
        let mut sums: Vec<Option<f64>> = vec![None; last];
        let mut add = |bucket: i64, hits: f64| {
            if let Some(sum) = usize::try_from(bucket).ok().and_then(|bucket| sums.get_mut(bucket)) {
                *sum = Some(sum.unwrap_or(0.0) + hits);
            }
        };
        for (slot, &value) in series.values.iter().enumerate() {
            if value.is_nan() {
                continue;
            }
            let slot_start = series.start + slot as i64 * series.step;
            let (start_bucket, start_mod) =
                ((slot_start - start).div_euclid(interval), (slot_start - start).rem_euclid(interval));
            let slot_end = slot_start + series.step;
            let (mut end_bucket, mut end_mod) =
                ((slot_end - start).div_euclid(interval), (slot_end - start).rem_euclid(interval));
            if end_bucket >= buckets {
                (end_bucket, end_mod) = (buckets - 1, interval);
            }
            if start_bucket == end_bucket {
                if start_bucket >= 0 {
                    add(start_bucket, value * (end_mod - start_mod) as f64);
                }
            } else {
                if start_bucket >= 0 {
                    add(start_bucket, value * (interval - start_mod) as f64);
                }
                for bucket in start_bucket + 1..end_bucket {
                    add(bucket, value * interval as f64);
                }
                if end_mod > 0 {
                    add(end_bucket, value * end_mod as f64);
                }
            }
        }
        series.tags.insert("hitcount".to_owned(), Value::String(text.to_owned()));
        let aligned = if align { ", true" } else { "" };
        series.name = format!("hitcount({}, \"{text}\"{aligned})", series.name);
        series.path_expression.clone_from(&series.name);
        (series.start, series.step) = (start, interval);
        series.values = sums.into_iter().map(|sum| sum.unwrap_or(f64::NAN)).collect();
    }
    Ok(list)
}

/// `exponentialMovingAverage(seriesList, windowSize)`: the first value the
/// average of the `windowSize` points before the range (0 without any),
/// then each value weighted `2 / (windowSize + 1)` against the average so
/// far; rounded to six decimals as graphite-web's are.
pub(super) fn exponential_moving_average(
    args: &Args<'_>,
    cx: &mut Context<'_>,
) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "windowSize"])?;
    let window =
        args.find(1, "windowSize").ok_or_else(|| args.wrong("windowSize", "a count or a quoted interval"))?;
    let originals = args.series(cx, 0, "seriesList")?;
    let Some(widest) = originals.iter().map(|series| series.step).max() else {
        return Ok(Vec::new());
    };
    let (preview, label, tag, points) = match window {
        Expr::Number(count, text) if *count >= 0.0 && count.fract() == 0.0 => {
            (widest.saturating_mul(*count as i64), text.clone(), text.clone(), Some(*count as usize))
        }
        Expr::Text(interval) => {
            let seconds = parse_offset(interval).map_err(|reason| format!("{}: {reason}", args.function))?;
            (seconds.saturating_abs(), format!("\"{interval}\""), interval.clone(), None)
        }
        _ => return Err(args.wrong("windowSize", "a whole count or a quoted interval")),
    };
    // graphite-web's constant: from the count, or from the interval's seconds.
    let constant = 2.0 / (points.map_or(preview, |points| points as i64) + 1) as f64;
    let expression = args.find(0, "seriesList").ok_or_else(|| args.wrong("seriesList", "a series list"))?;
    let mut preview_cx = cx.over(cx.from.saturating_sub(preview), cx.until);
    let mut previewed = super::evaluate(expression, &mut preview_cx)?;
    for series in &mut previewed {
        let window_points = points
            .unwrap_or_else(|| usize::try_from(preview / series.step.max(1)).unwrap_or(0))
            .min(series.values.len());
        let first: Vec<f64> =
            series.values[..window_points].iter().copied().filter(|value| !value.is_nan()).collect();
        let mut average = if first.is_empty() { 0.0 } else { Aggregation::Avg.of(&first) };
        let mut values = Vec::with_capacity(series.values.len() - window_points + 1);
        values.push(round6(average));
        for &value in &series.values[window_points..] {
            if value.is_nan() {
                values.push(f64::NAN);
            } else {
                average = constant * value + (1.0 - constant) * average;
                values.push(round6(average));
            }
        }
        series.tags.insert("exponentialMovingAverage".to_owned(), Value::String(tag.clone()));
        series.name = format!("exponentialMovingAverage({},{label})", series.name);
        series.path_expression.clone_from(&series.name);
        series.start = series.start.saturating_add(preview);
        series.values = values;
    }
    Ok(previewed)
}
