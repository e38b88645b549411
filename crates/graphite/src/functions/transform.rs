//! Functions that change each series' values: arithmetic, derivatives,
//! filling and removing values, resampling.

use super::{float_tag, python_g, Args, Context};
use crate::expr::Expr;
use crate::series::Series;
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
