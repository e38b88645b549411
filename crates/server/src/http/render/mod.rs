//! Graphite's render API, the subset Grafana's Graphite data source uses:
//! `/render` by GET or form POST, `target` repeated, `from` and `until` in
//! Graphite's formats, `format=json`, `maxDataPoints`, `noNullPoints`.
//! The JSON is graphite-web's: a list of
//! `{"target": NAME, "tags": {...}, "datapoints": [[VALUE, TIMESTAMP], ...]}`.

mod fetch;

use super::failure::{ApiError, ApiResult};
use super::limits::Budget;
use super::python_json::{is_javascript_name, python_json_string};
use super::tags::find_tagged;
use super::{find_names, parameters, AppState};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use eardrum_graphite::expr::Expr;
use eardrum_graphite::functions::{evaluate, Context, Selector};
use eardrum_graphite::pattern::Pattern;
use eardrum_graphite::series::{consolidate, Series};
use eardrum_graphite::tags::TagQuery;
use eardrum_graphite::time::parse_time;
use eardrum_protocol::clock::unix_seconds;
use eardrum_protocol::format_value;
use fetch::{read_series, Range};
use std::fmt::Write;

/// What a render request asks for, checked.
struct Request {
    targets: Vec<Expr>,
    from: i64,
    until: i64,
    /// The time the request is answered as of: series end at it.
    now: i64,
    /// The share of a group's values that must be known for it to have a
    /// value when series are consolidated or aggregated.
    x_files_factor: f64,
    max_data_points: Option<usize>,
    no_null_points: bool,
    format: Format,
    /// The JavaScript function a JSON reply is wrapped in (`jsonp`).
    jsonp: Option<String>,
    /// `template[name]=value` parameters, for `template(…)` targets.
    template_values: Vec<(String, String)>,
}

/// The reply formats served: graphite-web's that need no drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `[{"target": …, "tags": …, "datapoints": [[value, time], …]}, …]`.
    Json,
    /// `name,YYYY-MM-DD HH:MM:SS,value` rows.
    Csv,
    /// `name,start,end,step|value,value,…` lines.
    Raw,
}

impl Request {
    fn content_type(&self) -> &'static str {
        match (self.format, &self.jsonp) {
            (Format::Json, None) => "application/json",
            (Format::Json, Some(_)) => "text/javascript",
            (Format::Csv, _) => "text/csv",
            (Format::Raw, _) => "text/plain",
        }
    }
}

/// `GET` or `POST /render`: parameters from the query string and, for a
/// form post, the body too (graphite-web reads both).
pub(crate) async fn render(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let now = unix_seconds();
    let reads = state.reads.clone();
    let max_reply_bytes = state.limits.max_reply_bytes;
    // Parsing the targets is work proportional to the request: it too runs
    // off the async workers.
    reads
        .stream("application/json", max_reply_bytes, move |out| {
            let params = parameters(query.as_deref(), &body);
            let request = read_request(&params, now).map_err(ApiError::BadRequest)?;
            out.set_content_type(request.content_type());
            render_reply(&state, &request, &mut |text| out.write(text))
        })
        .await
}

fn read_request(params: &[(String, String)], now: i64) -> Result<Request, String> {
    let last = |name: &str| params.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let format = match last("format") {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some("raw") => Format::Raw,
        Some(other) => return Err(format!("format {other:?} is not served: use json, csv or raw")),
    };
    // A reply that runs a function the request names: only a plain name, so
    // that a link cannot make it run script of its choosing.
    let jsonp = match last("jsonp") {
        None => None,
        Some(name) if is_javascript_name(name) => Some(name.to_owned()),
        Some(name) => {
            let shown: String = name.chars().take(60).collect();
            return Err(format!(
                "jsonp {shown:?} is not a JavaScript function name such as draw or app.draw"
            ));
        }
    };
    let targets = params
        .iter()
        .filter(|(key, value)| key == "target" && !value.trim().is_empty())
        .map(|(_, target)| Expr::parse(target))
        .collect::<Result<Vec<Expr>, String>>()?;
    // graphite-web's `now` moves the clock the other times count from.
    let now = match last("now") {
        Some(text) => parse_time(text, now)?,
        None => now,
    };
    let from = parse_time(last("from").unwrap_or("-1d"), now)?;
    let until = parse_time(last("until").unwrap_or("now"), now)?;
    // Given the wrong way round, as graphite-web takes them.
    let (from, until) = (from.min(until), from.max(until));
    if from == until {
        return Err(format!("from and until are both {from}: the range is empty"));
    }
    let max_data_points = match last("maxDataPoints") {
        None => None,
        Some(text) => Some(
            text.parse::<f64>()
                .ok()
                .filter(|&max| max >= 1.0 && max.is_finite())
                .ok_or_else(|| format!("invalid maxDataPoints {text:?}: a count of at least 1"))?
                as usize,
        ),
    };
    let x_files_factor = match last("xFilesFactor") {
        None => 0.0,
        Some(text) => text
            .parse::<f64>()
            .ok()
            .filter(|share| (0.0..=1.0).contains(share))
            .ok_or_else(|| format!("invalid xFilesFactor {text:?}: a share from 0 to 1"))?,
    };
    let no_null_points = last("noNullPoints").is_some_and(|value| matches!(value, "1" | "true" | "True"));
    // graphite-web's `template[name]=value`: values for `template(…)`.
    let template_values = params
        .iter()
        .filter_map(|(key, value)| {
            let name = key.strip_prefix("template[")?.strip_suffix(']')?;
            Some((name.to_owned(), value.clone()))
        })
        .collect();
    Ok(Request {
        targets,
        from,
        until,
        now,
        x_files_factor,
        max_data_points,
        no_null_points,
        format,
        jsonp,
        template_values,
    })
}

/// One render request's query string over `store`, as `/render` would
/// answer it under `limits`: the reply's length, or the error's status and
/// message. For the fuzz targets, which cannot reach the crate's routes;
/// not part of the API.
#[doc(hidden)]
pub fn render_for_fuzzing(
    store: std::sync::Arc<dyn eardrum_storage::Backend>,
    limits: super::HttpLimits,
    query: &str,
    now: i64,
) -> Result<usize, (u16, String)> {
    let state = AppState::new(store, std::sync::Arc::default(), None, limits);
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let budget = Budget::new(&state.limits);
    let mut json = String::new();
    let rendered = read_request(&params, now).map_err(ApiError::BadRequest).and_then(|request| {
        render_reply(&state, &request, &mut |text| {
            json.push_str(text);
            budget.check_reply(json.len())
        })
    });
    rendered.map(|()| json.len()).map_err(|error| (error.status().as_u16(), error.message()))
}

/// Evaluates every target and writes the reply in the request's format to
/// `out`, a series at a time. It reads the store: call it off the async
/// workers.
fn render_reply(
    state: &AppState,
    request: &Request,
    out: &mut dyn FnMut(&str) -> ApiResult<()>,
) -> ApiResult<()> {
    let (from, until) = (request.from, request.until);
    let mut budget = Budget::new(&state.limits);
    // A backend failure or a spent budget ends the evaluation like a bad
    // argument would, but is answered as what it is.
    let mut fetch_failure: Option<ApiError> = None;
    let mut fetch = |selector: Selector<'_>, from: i64, until: i64| -> Result<Vec<Series>, String> {
        let mut list = Vec::new();
        let mut failed = |failure: ApiError| {
            let message = format!("{failure:?}");
            fetch_failure = Some(failure);
            message
        };
        // Each series' name and the key it is stored under: the same but
        // for tagged series put with their tags in another order.
        let sources: Vec<(String, String)> = match selector {
            Selector::Pattern(text) => {
                let pattern = Pattern::parse(text).map_err(|reason| reason.to_string())?;
                let found = find_names(state, &pattern).map_err(|failure| failed(failure.into()))?;
                found
                    .into_iter()
                    .filter(|found| found.series.is_some())
                    .map(|f| (f.path.clone(), f.path))
                    .collect()
            }
            Selector::Tags { expressions, .. } => {
                let query = TagQuery::parse(expressions.iter().map(String::as_str))?;
                let found = find_tagged(state, &query).map_err(|failure| failed(failure.into()))?;
                found.into_iter().map(|tagged| (tagged.path, tagged.key)).collect()
            }
        };
        for (name, key) in sources {
            budget.spend_series(1).map_err(&mut failed)?;
            let layout = state.storage_schemas.layout_for(&name);
            let range = Range { from, until, now: request.now, max_points: request.max_data_points };
            let series = read_series(&*state.store, &key, &name, selector.text(), range, layout.as_ref())
                .map_err(|f| failed(f.into()))?;
            // A range wholly in the future (or past the retention) has no
            // series, as whisper gives none.
            if let Some(series) = series {
                budget.spend_points(series.values.len()).map_err(&mut failed)?;
                list.push(series);
            }
        }
        Ok(list)
    };
    let mut cx = Context::new(from, until, &mut fetch);
    cx.x_files_factor = request.x_files_factor;
    cx.now = request.now;
    cx.template_values.clone_from(&request.template_values);
    let mut rendered = Vec::new();
    for target in &request.targets {
        match evaluate(target, &mut cx) {
            Ok(series) => rendered.extend(series),
            Err(message) => return Err(fetch_failure.take().unwrap_or(ApiError::BadRequest(message))),
        }
    }
    // What `setXFilesFactor` left, for thinning.
    let request_xff = cx.x_files_factor;
    if request.format != Format::Json {
        // Rows of a dozen bytes at the least, as below.
        budget.check_reply(rendered.iter().map(|series| series.values.len() * 12).sum::<usize>())?;
        return write_rows(&rendered, request.format, out);
    }
    // graphite-web answers `[]` when no series has a slot, and lists the
    // empty ones beside any that has.
    if rendered.iter().all(|series| series.values.is_empty()) {
        rendered.clear();
    }
    // graphite-web thins every series by the span of them all.
    let first = rendered.iter().map(|series| series.start).min().unwrap_or(from);
    let last = rendered.iter().map(Series::end).max().unwrap_or(until);
    let rendered: Vec<Series> = rendered
        .into_iter()
        .map(|series| fit_to(series, request.max_data_points, last - first, request_xff))
        .collect();
    // Every point takes a dozen bytes at the least: a reply sure to pass
    // the budget is refused before a byte of it is sent.
    let least_bytes = rendered.iter().map(|series| series.values.len() * 12).sum::<usize>();
    budget.check_reply(least_bytes)?;
    if let Some(name) = &request.jsonp {
        out(name)?;
        out("(")?;
    }
    out("[")?;
    let mut text = String::new();
    let mut first = true;
    for series in rendered {
        let points = series
            .values
            .iter()
            .enumerate()
            .map(|(slot, &value)| (series.start + slot as i64 * series.step, value));
        let points: Vec<(i64, f64)> = match request.no_null_points {
            true => points.filter(|(_, value)| !value.is_nan()).collect(),
            false => points.collect(),
        };
        if request.no_null_points && points.is_empty() {
            continue;
        }
        text.clear();
        if !std::mem::take(&mut first) {
            text.push_str(", ");
        }
        write_series(&mut text, &series, &points);
        out(&text)?;
    }
    out("]")?;
    match request.jsonp {
        Some(_) => out(")"),
        None => Ok(()),
    }
}

/// graphite-web's CSV (`name,YYYY-MM-DD HH:MM:SS,value`, times in UTC,
/// `\r\n` line ends, a name with a comma or quote quoted) or raw lines
/// (`name,start,end,step|value,…`, `None` for no value), neither thinned.
fn write_rows(
    series: &[Series],
    format: Format,
    out: &mut dyn FnMut(&str) -> ApiResult<()>,
) -> ApiResult<()> {
    let mut text = String::new();
    let mut digits = Vec::with_capacity(32);
    let mut number = |value: f64, missing: &'static str, text: &mut String| {
        if value.is_nan() {
            text.push_str(missing);
        } else {
            digits.clear();
            format_value(value, &mut digits);
            text.push_str(std::str::from_utf8(&digits).unwrap_or(missing));
        }
    };
    for one in series {
        text.clear();
        match format {
            Format::Raw => {
                let _ = write!(text, "{},{},{},{}|", one.name, one.start, one.end(), one.step);
                for (index, &value) in one.values.iter().enumerate() {
                    if index > 0 {
                        text.push(',');
                    }
                    number(value, "None", &mut text);
                }
                text.push('\n');
            }
            _ => {
                let name = match one.name.contains([',', '"', '\r', '\n']) {
                    true => format!("\"{}\"", one.name.replace('"', "\"\"")),
                    false => one.name.clone(),
                };
                for (slot, &value) in one.values.iter().enumerate() {
                    let time = one.start + slot as i64 * one.step;
                    let _ = write!(text, "{name},{},", eardrum_graphite::time::utc_datetime(time));
                    number(value, "", &mut text);
                    text.push_str("\r\n");
                }
            }
        }
        out(&text)?;
    }
    Ok(())
}

/// The series thinned for `maxDataPoints` as graphite-web 1.1.10 thins it
/// (`render/views.py`), to the point: when the span of all the series
/// (`time_range`) holds more of this one's steps than `max_points`, each
/// point consolidates `ceil(steps / max_points)` values by the series'
/// function (average unless `consolidateBy` said otherwise), the last one
/// from what is left; the first point is "nudged" to a multiple of the new
/// step, and one value fewer than the nudge covers is dropped (graphite's
/// `range(1, valuesToLose)`), so values sit one old step after their
/// timestamps, as graphite's do; there are no more points than timestamps
/// from the new start through the series' end.
fn fit_to(series: Series, max_points: Option<usize>, time_range: i64, request_xff: f64) -> Series {
    let Some(max_points) = max_points else {
        return series;
    };
    let x_files_factor = series.x_files_factor.unwrap_or(request_xff);
    if max_points == 1 {
        if series.values.len() <= 1 {
            return series;
        }
        let values = series.consolidated_values(series.values.len(), x_files_factor);
        return Series { step: series.end() - series.start, values, ..series };
    }
    let steps = time_range as f64 / series.step as f64;
    if max_points as f64 >= steps {
        return series;
    }
    let values_per_point = (steps / max_points as f64).ceil() as usize;
    let step = values_per_point as i64 * series.step;
    let nudge = step + series.start.rem_euclid(series.step) - series.start.rem_euclid(step);
    let start = series.start + nudge;
    let dropped = usize::try_from(nudge / series.step - 1).unwrap_or(0).min(series.values.len());
    let end = series.end();
    let timestamps = usize::try_from((end + 1 - start + step - 1).div_euclid(step)).unwrap_or(0);
    let mut values =
        consolidate(&series.values[dropped..], values_per_point, series.consolidate_by, x_files_factor);
    values.truncate(timestamps);
    Series { start, step, values, ..series }
}

/// One series' JSON object, fields in graphite-web's order. Values print
/// as Python prints them; infinities as `1e9999` (graphite-web's way to
/// get them through JSON), and nothing as `null`.
fn write_series(json: &mut String, series: &Series, points: &[(i64, f64)]) {
    json.push_str("{\"target\": ");
    python_json_string(json, &series.name);
    json.push_str(", \"tags\": {");
    for (index, (tag, value)) in series.tags.iter().enumerate() {
        if index > 0 {
            json.push_str(", ");
        }
        python_json_string(json, tag);
        json.push_str(": ");
        match value {
            serde_json::Value::String(text) => python_json_string(json, text),
            other => json.push_str(&other.to_string()),
        }
    }
    json.push_str("}, \"datapoints\": [");
    // One buffer for every value's digits: a point costs no allocation.
    let mut digits = Vec::with_capacity(32);
    for (index, &(timestamp, value)) in points.iter().enumerate() {
        json.push_str(if index == 0 { "[" } else { ", [" });
        match value {
            v if v.is_nan() => json.push_str("null"),
            v if v == f64::INFINITY => json.push_str("1e9999"),
            v if v == f64::NEG_INFINITY => json.push_str("-1e9999"),
            v => {
                digits.clear();
                format_value(v, &mut digits);
                // format_value writes ASCII only.
                json.push_str(std::str::from_utf8(&digits).unwrap_or("null"));
            }
        }
        let _ = write!(json, ", {timestamp}]");
    }
    json.push_str("]}");
}

#[cfg(test)]
mod tests;
