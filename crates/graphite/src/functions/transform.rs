//! Functions that change each series' values: arithmetic, powers and
//! logarithms, shifts in time and value, consolidation. Counters are in
//! `counters`, gaps and removed values in `gaps`.

use super::counters::round6;
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
pub(super) fn mark(series: &mut Series, function: &str) {
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
