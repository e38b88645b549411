//! Forecasts: Holt-Winters triple exponential smoothing (`holtWinters…`)
//! and least-squares lines (`linearRegression`), computed in graphite-web's
//! order of operations so that the values match it to the last bit.

use super::{Args, Context};
use crate::series::Series;
use crate::time::{parse_offset, parse_time, Aggregation};
use serde_json::Value;

/// graphite-web's smoothing constants: level and season (`alpha`,
/// `gamma`), trend (`beta`).
const ALPHA: f64 = 0.1;
const GAMMA: f64 = 0.1;
const BETA: f64 = 0.0035;

/// What one Holt-Winters pass over a series gives: the value predicted
/// for each slot (NaN where none could be) and the seasonal deviation
/// there.
struct Analysis {
    predictions: Vec<f64>,
    deviations: Vec<f64>,
}

/// Holt-Winters over `values`, a season being `season` slots: graphite-web's
/// `holtWintersAnalysis`, gaps included (a gap predicts what the slot
/// before it foresaw and resets the level to the next value).
fn analyse(values: &[f64], season: usize) -> Analysis {
    let mut intercepts: Vec<Option<f64>> = Vec::with_capacity(values.len());
    let mut slopes = Vec::with_capacity(values.len());
    let mut seasonals: Vec<f64> = Vec::with_capacity(values.len());
    let mut predictions = Vec::with_capacity(values.len());
    let mut deviations: Vec<f64> = Vec::with_capacity(values.len());
    // The value a season before slot `at`, 0 in the first season.
    let season_ago = |list: &[f64], at: usize| at.checked_sub(season).map_or(0.0, |before| list[before]);
    let mut next_prediction: Option<f64> = None;
    for (at, &actual) in values.iter().enumerate() {
        if actual.is_nan() {
            intercepts.push(None);
            slopes.push(0.0);
            seasonals.push(0.0);
            predictions.push(next_prediction.take().unwrap_or(f64::NAN));
            deviations.push(0.0);
            continue;
        }
        let (last_intercept, last_slope, prediction) = match at {
            0 => (actual, 0.0, Some(actual)),
            _ => (intercepts[at - 1].unwrap_or(actual), slopes[at - 1], next_prediction),
        };
        let last_seasonal = season_ago(&seasonals, at);
        let next_last_seasonal = season_ago(&seasonals, at + 1);
        let last_deviation = season_ago(&deviations, at);
        let intercept = ALPHA * (actual - last_seasonal) + (1.0 - ALPHA) * (last_intercept + last_slope);
        let slope = BETA * (intercept - last_intercept) + (1.0 - BETA) * last_slope;
        let seasonal = GAMMA * (actual - intercept) + (1.0 - GAMMA) * last_seasonal;
        next_prediction = Some(intercept + slope + next_last_seasonal);
        let deviation = GAMMA * (actual - prediction.unwrap_or(0.0)).abs() + (1.0 - GAMMA) * last_deviation;
        intercepts.push(Some(intercept));
        slopes.push(slope);
        seasonals.push(seasonal);
        predictions.push(prediction.unwrap_or(f64::NAN));
        deviations.push(deviation);
    }
    Analysis { predictions, deviations }
}

/// A forecast's inputs: the bootstrap before the range, in seconds, and
/// each series read from that much earlier with its analysis.
struct Forecasts {
    bootstrap: i64,
    analysed: Vec<(Series, Analysis)>,
}

impl Forecasts {
    /// Reads the first argument again from `bootstrapInterval` (7 days)
    /// before the range and analyses each series with seasons of
    /// `seasonality` (1 day), the arguments at `bootstrap_at` and after.
    fn read(args: &Args<'_>, cx: &mut Context<'_>, bootstrap_at: usize) -> Result<Forecasts, String> {
        let interval = |position: usize, name: &str, default: &str| -> Result<i64, String> {
            let text = args.text(position, name)?.unwrap_or(default);
            let seconds = parse_offset(text).map_err(|reason| format!("{}: {reason}", args.function))?;
            match seconds {
                0.. => Ok(seconds),
                _ => Err(args.wrong(name, "an interval forward in time, such as \"7d\"")),
            }
        };
        let bootstrap = interval(bootstrap_at, "bootstrapInterval", "7d")?;
        let seasonality = interval(bootstrap_at + 1, "seasonality", "1d")?;
        let expression =
            args.find(0, "seriesList").ok_or_else(|| args.wrong("seriesList", "a series list"))?;
        let previewed =
            super::evaluate(expression, &mut cx.over(cx.from.saturating_sub(bootstrap), cx.until))?;
        let mut analysed = Vec::with_capacity(previewed.len());
        for series in previewed {
            let season = usize::try_from(seasonality / series.step.max(1)).unwrap_or(0);
            // graphite-web looks a season back from the next slot: a
            // season of one slot would read the slot it is computing.
            if season < 2 {
                return Err(format!(
                    "{}: a season ({seasonality} s) must span at least two steps of {:?} ({} s)",
                    args.function, series.name, series.step
                ));
            }
            let analysis = analyse(&series.values, season);
            analysed.push((series, analysis));
        }
        Ok(Forecasts { bootstrap, analysed })
    }

    /// The slots of the bootstrap, which the forecast leaves out.
    fn skipped(&self, series: &Series) -> usize {
        usize::try_from(self.bootstrap / series.step.max(1)).unwrap_or(0)
    }

    /// Each series' lower and upper confidence bands, `delta` deviations
    /// from the forecast, lower first: graphite-web's
    /// `holtWintersConfidenceBands`.
    fn bands(self, delta: f64) -> Vec<Series> {
        let mut bands = Vec::with_capacity(2 * self.analysed.len());
        for (series, analysis) in &self.analysed {
            let skipped = self.skipped(series);
            let forecast = analysis.predictions.get(skipped..).unwrap_or_default();
            let deviation = analysis.deviations.get(skipped..).unwrap_or_default();
            let band = |sign: f64| -> Vec<f64> {
                forecast
                    .iter()
                    .zip(deviation)
                    .map(|(forecast, deviation)| forecast + sign * delta * deviation)
                    .collect()
            };
            // graphite-web gives every series it derives here one tag map.
            let mut tags = series.tags.clone();
            for tag in [
                "holtWintersForecast",
                "holtWintersDeviation",
                "holtWintersConfidenceUpper",
                "holtWintersConfidenceLower",
            ] {
                tags.insert(tag.to_owned(), Value::String("1".to_owned()));
            }
            for (kind, sign) in [("Lower", -1.0), ("Upper", 1.0)] {
                let mut made = derived(series, format!("holtWintersConfidence{kind}({})", series.name));
                made.path_expression.clone_from(&series.path_expression);
                made.start = series.start.saturating_add(self.bootstrap);
                made.values = band(sign);
                made.tags.clone_from(&tags);
                bands.push(made);
            }
        }
        bands
    }
}

/// A new series derived from `series` as graphite-web makes one: named
/// `name` (its path expression too), averaged when consolidated, with the
/// series' tags, step and `xFilesFactor`.
fn derived(series: &Series, name: String) -> Series {
    Series {
        path_expression: name.clone(),
        name,
        tags: series.tags.clone(),
        start: series.start,
        step: series.step,
        values: Vec::new(),
        consolidate_by: Aggregation::Avg,
        x_files_factor: series.x_files_factor,
    }
}

/// `holtWintersForecast(seriesList, bootstrapInterval="7d",
/// seasonality="1d")`: the value Holt-Winters predicts for each slot,
/// learnt from the bootstrap interval before the range on.
pub(super) fn forecast(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "bootstrapInterval", "seasonality"])?;
    let forecasts = Forecasts::read(args, cx, 1)?;
    let mut result = Vec::with_capacity(forecasts.analysed.len());
    for (series, analysis) in &forecasts.analysed {
        let mut made = derived(series, format!("holtWintersForecast({})", series.name));
        made.start = series.start.saturating_add(forecasts.bootstrap);
        made.values = analysis.predictions.get(forecasts.skipped(series)..).unwrap_or_default().to_vec();
        for tag in ["holtWintersForecast", "holtWintersDeviation"] {
            made.tags.insert(tag.to_owned(), Value::String("1".to_owned()));
        }
        result.push(made);
    }
    Ok(result)
}

/// The arguments of the band functions: the series, `delta` (3) and the
/// forecast's intervals.
const BAND_ARGUMENTS: [&str; 4] = ["seriesList", "delta", "bootstrapInterval", "seasonality"];

/// `delta`: how many deviations the bands lie from the forecast.
fn delta(args: &Args<'_>) -> Result<f64, String> {
    match args.find(1, "delta") {
        None => Ok(3.0),
        Some(_) => Ok(args.number(1, "delta")?.0),
    }
}

/// `holtWintersConfidenceBands(seriesList, delta=3, bootstrapInterval="7d",
/// seasonality="1d")`: for each series, the bands `delta` deviations
/// below and above its forecast, lower first.
pub(super) fn confidence_bands(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&BAND_ARGUMENTS)?;
    let delta = delta(args)?;
    Ok(Forecasts::read(args, cx, 2)?.bands(delta))
}

/// `holtWintersConfidenceArea(…)`: the two bands of one series, the area
/// between them filled when drawn (as `areaBetween` draws it).
pub(super) fn confidence_area(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&BAND_ARGUMENTS)?;
    let delta = delta(args)?;
    let mut bands = Forecasts::read(args, cx, 2)?.bands(delta);
    let [_, upper] = bands.as_slice() else {
        return Err(format!(
            "holtWintersConfidenceArea: the series list must hold exactly 1 series (it holds {})",
            bands.len() / 2
        ));
    };
    let name = format!("holtWintersConfidenceArea({})", upper.path_expression);
    for band in &mut bands {
        band.tags.insert("holtWintersConfidenceArea".to_owned(), Value::String("1".to_owned()));
        band.name.clone_from(&name);
        band.path_expression.clone_from(&name);
    }
    Ok(bands)
}

/// `holtWintersAberration(…)`: how far each value lies outside its
/// series' bands (0 inside them and in gaps), over the range.
pub(super) fn aberration(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&BAND_ARGUMENTS)?;
    let delta = delta(args)?;
    let list = args.series(cx, 0, "seriesList")?;
    let bands = Forecasts::read(args, cx, 2)?.bands(delta);
    let band = |name: String| {
        bands
            .iter()
            .find(|band| band.name == name)
            .ok_or_else(|| format!("holtWintersAberration: no forecast for {name:?}"))
    };
    let mut result = Vec::with_capacity(list.len());
    for series in &list {
        let lower = band(format!("holtWintersConfidenceLower({})", series.name))?;
        let upper = band(format!("holtWintersConfidenceUpper({})", series.name))?;
        let bound = |band: &Series, at: usize| band.values.get(at).copied().filter(|value| !value.is_nan());
        let mut made = derived(series, format!("holtWintersAberration({})", series.name));
        made.tags.insert("holtWintersAberration".to_owned(), Value::String("1".to_owned()));
        made.values = series
            .values
            .iter()
            .enumerate()
            .map(|(at, &value)| match (bound(lower, at), bound(upper, at)) {
                _ if value.is_nan() => 0.0,
                (_, Some(upper)) if value > upper => value - upper,
                (Some(lower), _) if value < lower => value - lower,
                _ => 0.0,
            })
            .collect();
        result.push(made);
    }
    Ok(result)
}

/// `linearRegression(seriesList, startSourceAt=None, endSourceAt=None)`:
/// for each series the least-squares line through the values the same
/// target has between the two times (the range's by default), drawn over
/// the range; a series with fewer than two values there has none.
pub(super) fn linear_regression(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "startSourceAt", "endSourceAt"])?;
    let time = |position: usize, name: &str, default: i64| -> Result<i64, String> {
        match args.text(position, name)? {
            None => Ok(default),
            Some(text) => parse_time(text, cx.now).map_err(|reason| format!("linearRegression: {reason}")),
        }
    };
    let (from, until) = (time(1, "startSourceAt", cx.from)?, time(2, "endSourceAt", cx.until)?);
    let list = args.series(cx, 0, "seriesList")?;
    let expression = args.find(0, "seriesList").ok_or_else(|| args.wrong("seriesList", "a series list"))?;
    let sources = super::evaluate(expression, &mut cx.over(from, until))?;
    let mut result = Vec::with_capacity(list.len());
    for (source, series) in sources.iter().zip(&list) {
        let Some((factor, offset)) = least_squares(source) else {
            continue;
        };
        let mut made = derived(series, format!("linearRegression({}, {from}, {until})", series.name));
        made.tags.insert("linearRegressions".to_owned(), Value::String(format!("{from}, {until}")));
        made.values = (0..series.values.len())
            .map(|at| offset + (series.start + at as i64 * series.step) as f64 * factor)
            .collect();
        result.push(made);
    }
    Ok(result)
}

/// The slope per second and the offset at time 0 of the least-squares
/// line through `series`' values, with graphite-web's sums (the slot
/// numbers' in whole numbers, so exact); `None` for fewer than two values.
pub(super) fn least_squares(series: &Series) -> Option<(f64, f64)> {
    let (mut count, mut sum_at, mut sum_at_squared) = (0i128, 0i128, 0i128);
    let (mut sum_values, mut sum_at_values) = (0.0, 0.0);
    for (at, &value) in series.values.iter().enumerate().filter(|(_, value)| !value.is_nan()) {
        let at = at as i128;
        count += 1;
        sum_at += at;
        sum_at_squared += at * at;
        sum_values += value;
        sum_at_values += at as f64 * value;
    }
    let denominator = (count * sum_at_squared - sum_at * sum_at) as f64;
    if denominator == 0.0 {
        return None;
    }
    let (count, sum_at, sum_at_squared) = (count as f64, sum_at as f64, sum_at_squared as f64);
    let factor = (count * sum_at_values - sum_at * sum_values) / denominator / series.step as f64;
    let offset =
        (sum_at_squared * sum_values - sum_at_values * sum_at) / denominator - factor * series.start as f64;
    Some((factor, offset))
}
