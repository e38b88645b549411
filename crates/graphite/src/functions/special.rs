//! Functions that make series rather than read them (`constantLine`,
//! `threshold`, `identity`, `time`, `sin`, `randomWalk`, `verticalLine`,
//! `aggregateLine`) and those that place series in time (`timeSlice`,
//! `timeStack`) or pair them (`powSeries`, `areaBetween`).

use super::{python_g, Args, Context};
use crate::expr::Expr;
use crate::series::Series;
use crate::time::{parse_offset, parse_time, Aggregation};
use serde_json::Value;

/// `threshold(value, label=None, color=None)`: `constantLine(value)`,
/// named `label` when given.
pub(super) fn threshold(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["value", "label", "color"])?;
    let (value, _) = args.number(0, "value")?;
    let mut line = constant(cx, value);
    if let Some(label) = args.text(1, "label")? {
        line.name = label.to_owned();
    }
    args.text(2, "color")?;
    Ok(vec![line])
}

/// What [`generated`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wave {
    /// `time`: each slot's timestamp.
    Time,
    /// `sin`: the sine of each timestamp, times an amplitude.
    Sine,
    /// `randomWalk`: from 0, each slot the one before plus a random step
    /// in [-0.5, 0.5).
    RandomWalk,
}

/// `time("name", step=60)` (`timeFunction`), `sin("name", amplitude=1,
/// step=60)` (`sinFunction`) and `randomWalk("name", step=60)`
/// (`randomWalkFunction`): a series every `step` through the range.
pub(super) fn generated(args: &Args<'_>, cx: &mut Context<'_>, wave: Wave) -> Result<Vec<Series>, String> {
    let (names, step_position): (&[&str], usize) = match wave {
        Wave::Sine => (&["name", "amplitude", "step"], 2),
        Wave::Time | Wave::RandomWalk => (&["name", "step"], 1),
    };
    args.only(names)?;
    let name = args.text(0, "name")?.ok_or_else(|| args.wrong("name", "a quoted name"))?;
    let whole = |position: usize, label: &str, default: i64| match args.find(position, label) {
        None => Ok(default),
        Some(Expr::Number(value, _)) if value.fract() == 0.0 => Ok(*value as i64),
        Some(_) => Err(args.wrong(label, "a whole number")),
    };
    let step = whole(step_position, "step", 60)?;
    let amplitude = if wave == Wave::Sine { whole(1, "amplitude", 1)? } else { 1 };
    if step <= 0 {
        return Err(args.wrong("step", "a number of seconds above 0"));
    }
    let slots = (cx.until - cx.from + step - 1).div_euclid(step).max(0);
    if slots > crate::series::MAX_SLOTS_PER_SERIES {
        return Err(format!(
            "{}: {slots} points, more than {}",
            args.function,
            crate::series::MAX_SLOTS_PER_SERIES
        ));
    }
    let times = (0..slots).map(|slot| (cx.from + slot * step) as f64);
    let values = match wave {
        Wave::Time => times.collect(),
        Wave::Sine => times.map(|time| time.sin() * amplitude as f64).collect(),
        Wave::RandomWalk => {
            let mut random = SplitMix64::seeded(name, cx.from);
            let mut position = 0.0;
            times
                .map(|_| {
                    let here = position;
                    position += random.unit() - 0.5;
                    here
                })
                .collect()
        }
    };
    Ok(vec![Series::new(name, name, cx.from, step, values)])
}

/// A small, fast generator for `randomWalk`, seeded from the name and the
/// range's start so that a chart keeps its walk when it is redrawn (test
/// data, not cryptography).
struct SplitMix64(u64);

impl SplitMix64 {
    fn seeded(name: &str, from: i64) -> SplitMix64 {
        // FNV-1a over the name, then the start mixed in.
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        SplitMix64(hash ^ from as u64)
    }

    /// A number in [0, 1), as Python's `random.random()` gives.
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^= mixed >> 31;
        // The top 53 bits, the precision of an f64.
        (mixed >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `identity("name")`: a series whose value is its timestamp, every
/// minute of the range.
pub(super) fn identity(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["name"])?;
    let name = args.text(0, "name")?.ok_or_else(|| args.wrong("name", "a quoted name"))?;
    const STEP: i64 = 60;
    let slots = (cx.until - cx.from).div_euclid(STEP) + i64::from((cx.until - cx.from).rem_euclid(STEP) > 0);
    if slots > crate::series::MAX_SLOTS_PER_SERIES {
        return Err(format!(
            "identity: {slots} minutes, more than {}: use a shorter range",
            crate::series::MAX_SLOTS_PER_SERIES
        ));
    }
    let values = (0..slots.max(0)).map(|slot| (cx.from + slot * STEP) as f64).collect();
    Ok(vec![Series::new(name, &format!("identity(\"{name}\")"), cx.from, STEP, values)])
}

/// `constantLine(100)`: the value at the range's start, middle and end
/// (Grafana's health check renders it).
pub(super) fn constant_line(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["value"])?;
    let (value, _) = args.number(0, "value")?;
    Ok(vec![constant(cx, value)])
}

/// The value at the range's start, middle and end, named as Python prints
/// the float graphite-web makes of it (`100.0`).
fn constant(cx: &Context<'_>, value: f64) -> Series {
    let step = ((cx.until - cx.from) / 2).max(1);
    let name = eardrum_protocol::PyFloat(value).to_string();
    Series::new(&name, &format!("constantLine({name})"), cx.from, step, vec![value; 3])
}

/// `aggregateLine(seriesList, func="average", keepStep=false)`: a line at
/// each series' aggregate, named `aggregateLine(name, %g)`; over the range
/// as `constantLine` draws it, or at every slot of the series with
/// `keepStep`.
pub(super) fn aggregate_line(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "func", "keepStep"])?;
    let func = args.text(1, "func")?.unwrap_or("average");
    let by = Aggregation::parse(func).map_err(|reason| format!("aggregateLine: {reason}"))?;
    let keep_step = match args.find(2, "keepStep") {
        None => false,
        Some(Expr::Bool(keep)) => *keep,
        Some(_) => return Err(args.wrong("keepStep", "true or false")),
    };
    let list = args.series(cx, 0, "seriesList")?;
    let mut lines = Vec::with_capacity(list.len());
    for series in list {
        let present: Vec<f64> = series.values.iter().copied().filter(|value| !value.is_nan()).collect();
        let value = if present.is_empty() { f64::NAN } else { by.of(&present) };
        let shown = if value.is_nan() { "None".to_owned() } else { python_g(value) };
        let name = format!("aggregateLine({}, {shown})", series.name);
        let mut line = match keep_step {
            true => Series { values: vec![value; series.values.len()], ..series },
            false => constant(cx, value),
        };
        line.path_expression.clone_from(&name);
        line.name = name;
        lines.push(line);
    }
    Ok(lines)
}

/// `verticalLine(ts, label=None, color=None)`: one point of 1 at `ts`,
/// which must lie within the range.
pub(super) fn vertical_line(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["ts", "label", "color"])?;
    let at = args.text(0, "ts")?.ok_or_else(|| args.wrong("ts", "a quoted time"))?;
    let at = parse_time(at, cx.now).map_err(|reason| format!("verticalLine: {reason}"))?;
    if at < cx.from {
        return Err(format!("verticalLine(): timestamp {at} exists before start of range"));
    }
    if at > cx.until {
        return Err(format!("verticalLine(): timestamp {at} exists after end of range"));
    }
    let label = args.text(1, "label")?.unwrap_or("None");
    args.text(2, "color")?;
    Ok(vec![Series::new(label, label, at, 1, vec![1.0])])
}

/// `timeSlice(seriesList, startSliceAt, endSliceAt="now")`: the values
/// outside the slice removed, counting slot times from the range's start
/// as graphite-web does.
pub(super) fn time_slice(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList", "startSliceAt", "endSliceAt"])?;
    let time = |position: usize, name: &str, default: Option<&str>| -> Result<i64, String> {
        let text = args.text(position, name)?.or(default).ok_or_else(|| args.wrong(name, "a quoted time"))?;
        parse_time(text, cx.now).map_err(|reason| format!("timeSlice: {reason}"))
    };
    let (start, end) = (time(1, "startSliceAt", None)?, time(2, "endSliceAt", Some("now"))?);
    let mut list = args.series(cx, 0, "seriesList")?;
    for series in &mut list {
        series.tags.insert("timeSliceStart".to_owned(), Value::String(start.to_string()));
        series.tags.insert("timeSliceEnd".to_owned(), Value::String(end.to_string()));
        series.name = format!("timeSlice({}, {start}, {end})", series.name);
        let mut at = cx.from;
        for value in &mut series.values {
            if at < start || at > end {
                *value = f64::NAN;
            }
            at = at.saturating_add(series.step);
        }
    }
    Ok(list)
}

/// `timeStack(seriesList, timeShiftUnit="1d", timeShiftStart=0,
/// timeShiftEnd=7)`: the expression read again `timeShiftStart` through
/// `timeShiftEnd - 1` units back, each drawn over the range.
pub(super) fn time_stack(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    /// More shifts than this is a mistake, not a chart.
    const MAX_SHIFTS: i64 = 1000;
    args.only(&["seriesList", "timeShiftUnit", "timeShiftStart", "timeShiftEnd"])?;
    let given = args.text(1, "timeShiftUnit")?.unwrap_or("1d");
    let unit = match given.starts_with(|c: char| c.is_ascii_digit()) {
        true => format!("-{given}"),
        false => given.to_owned(),
    };
    let delta = parse_offset(&unit).map_err(|reason| format!("timeStack: {reason}"))?;
    let whole = |position: usize, name: &str, default: i64| match args.find(position, name) {
        None => Ok(default),
        Some(Expr::Number(value, _)) if value.fract() == 0.0 => Ok(*value as i64),
        Some(_) => Err(args.wrong(name, "a whole number")),
    };
    let (first_shift, end_shift) = (whole(2, "timeShiftStart", 0)?, whole(3, "timeShiftEnd", 7)?);
    if end_shift.saturating_sub(first_shift) > MAX_SHIFTS {
        return Err(format!("timeStack: more than {MAX_SHIFTS} shifts"));
    }
    let originals = args.series(cx, 0, "seriesList")?;
    let Some(first) = originals.first() else {
        return Ok(Vec::new());
    };
    let expression = args.find(0, "seriesList").ok_or_else(|| args.wrong("seriesList", "a series list"))?;
    let mut stacked = Vec::new();
    for shift in first_shift..end_shift {
        let offset = delta.saturating_mul(shift);
        let mut shifted_cx = cx.over(cx.from.saturating_add(offset), cx.until.saturating_add(offset));
        for mut series in super::evaluate(expression, &mut shifted_cx)? {
            series.tags.insert("timeShiftUnit".to_owned(), Value::String(unit.clone()));
            series.tags.insert("timeShift".to_owned(), Value::String(shift.to_string()));
            series.name = format!("timeShift({}, {unit}, {shift})", series.name);
            series.path_expression.clone_from(&series.name);
            series.start = first.start;
            // Drawn over the first series' span, as graphite-web draws it.
            let timestamps =
                usize::try_from((first.end() - first.start) / series.step.max(1) + 1).unwrap_or(0);
            series.values.truncate(timestamps);
            stacked.push(series);
        }
    }
    Ok(stacked)
}

/// `powSeries(a, b, …)`: at each slot the first series' value to the
/// power of the second's, that to the third's, and so on (`None` where
/// any is `None` or Python's `math.pow` fails).
pub(super) fn pow_series(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    let all = super::combine::series_lists(args, cx)?;
    if all.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = all.iter().map(|series| series.name.as_str()).collect();
    let name = format!("powSeries({})", names.join(","));
    let (start, step, values) = super::combine::aligned(&all, cx.x_files_factor, |row| {
        let mut row = row.iter().copied();
        let first = row.next().unwrap_or(f64::NAN);
        row.fold(first, super::transform::safe_pow)
    });
    Ok(vec![Series::new(&name, &name, start, step, values)])
}

/// `areaBetween(seriesList)`: exactly two series, the area between them
/// filled when drawn; both named `areaBetween(pattern)` after the second,
/// and tagged `areaBetween` as graphite-web tags them.
pub(super) fn area_between(args: &Args<'_>, cx: &mut Context<'_>) -> Result<Vec<Series>, String> {
    args.only(&["seriesList"])?;
    let mut list = args.series(cx, 0, "seriesList")?;
    let [lower, upper] = list.as_mut_slice() else {
        return Err(format!(
            "areaBetween: the series list must hold exactly 2 series (it holds {})",
            list.len()
        ));
    };
    upper.tags.insert("areaBetween".to_owned(), Value::String("1".to_owned()));
    lower.tags.clone_from(&upper.tags);
    let name = format!("areaBetween({})", upper.path_expression);
    lower.name.clone_from(&name);
    upper.name = name;
    Ok(list)
}
