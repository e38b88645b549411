//! Functions over a window of the slots before each: the moving
//! aggregates, `exponentialMovingAverage` and `stdev`.

use super::counters::round6;
use super::{Args, Context};
use crate::expr::Expr;
use crate::series::Series;
use crate::time::{parse_offset, Aggregation};
use serde_json::Value;

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

/// `stdev(seriesList, points, windowTolerance=0.1)`: each slot the
/// standard deviation of the `points` slots through it (fewer at the
/// start), computed from running sums as graphite-web computes it; `None`
/// where fewer than `windowTolerance` of the window have values.
pub(super) fn stdev(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "points", "windowTolerance"])?;
    let points = match args.find(1, "points") {
        Some(Expr::Number(points, _)) if *points >= 1.0 && points.fract() == 0.0 => *points as usize,
        _ => return Err(args.wrong("points", "a whole number of points above 0")),
    };
    let tolerance = match args.find(2, "windowTolerance") {
        None => 0.1,
        Some(_) => args.number(2, "windowTolerance")?.0,
    };
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.tags.insert("stdev".to_owned(), Value::String(points.to_string()));
        series.name = format!("stdev({},{points})", series.name);
        series.path_expression.clone_from(&series.name);
        let (mut valid, mut sum, mut squares) = (0usize, 0.0f64, 0.0f64);
        let mut deviations = Vec::with_capacity(series.values.len());
        for (index, &value) in series.values.iter().enumerate() {
            if let Some(&dropped) = index.checked_sub(points).and_then(|at| series.values.get(at)) {
                if !dropped.is_nan() {
                    valid -= 1;
                    sum -= dropped;
                    squares -= dropped * dropped;
                }
            }
            if !value.is_nan() {
                valid += 1;
                sum += value;
                squares += value * value;
            }
            let deviation = match valid > 0 && valid as f64 / points as f64 >= tolerance {
                // A negative square (rounding) is graphite-web's ValueError: None.
                true => (valid as f64 * squares - sum * sum).sqrt() / valid as f64,
                false => f64::NAN,
            };
            deviations.push(deviation);
        }
        series.values = deviations;
    }
    Ok(list)
}
