//! `GET /api/v1/points`: the points of the series a pattern matches,
//! between two times, raw or consolidated into steps.

use super::range::{consolidate, parse_time, Aggregation};
use super::{error, find_names, unavailable, AppState};
use crate::unix_now;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use eardrum_protocol::PyFloat;
use eardrum_storage::names::Pattern;
use eardrum_storage::{Backend, Keys, ScanCursor};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The most buckets one series may have in a reply, so that a tiny step
/// over a long range cannot make the server build a huge answer.
const MAX_BUCKETS: i64 = 100_000;

/// What a request asks for, checked.
struct Request {
    pattern: Pattern,
    from: i64,
    until: i64,
    step: Option<(i64, Aggregation)>,
}

/// `?match=PATTERN&from=-1h&until=now[&step=60&agg=avg]`.
pub(crate) async fn points(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let request = match read_request(&params, unix_now()) {
        Ok(request) => request,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let series = tokio::task::spawn_blocking(move || {
        find_names(&state, &request.pattern)?
            .into_iter()
            .filter(|found| found.series.is_some())
            .map(|found| {
                let points = read_range(&*state.store, &found.path, request.from, request.until)?;
                let rows: Vec<Value> = match request.step {
                    None => points.iter().map(|&(t, v)| json!([t, number(v)])).collect(),
                    Some((step, by)) => consolidate(&points, request.from, request.until, step, by)
                        .into_iter()
                        .map(|(t, v)| json!([t, v.map_or(Value::Null, number)]))
                        .collect(),
                };
                Ok(json!({ "key": found.path, "points": rows }))
            })
            .collect::<eardrum_storage::Result<Vec<Value>>>()
    })
    .await
    .unwrap_or_else(|_| Ok(Vec::new()));
    match series {
        Ok(series) => Json(json!({ "series": series })).into_response(),
        Err(failure) => unavailable(&failure),
    }
}

/// Points read per hold of the store's lock.
const SCAN_BATCH: usize = 4096;

/// The points of `key` from `from` through `until`: the scan starts at
/// `from` (older chunks are skipped undecoded) and stops in the batch that
/// passes `until`.
fn read_range(
    store: &dyn Backend,
    key: &str,
    from: i64,
    until: i64,
) -> eardrum_storage::Result<Vec<(i64, f64)>> {
    let mut points = Vec::new();
    let mut cursor = ScanCursor::starting_at(from);
    let mut past_until = false;
    while !cursor.is_done() && !past_until {
        store.scan_some(
            Keys::One(key),
            &mut cursor,
            SCAN_BATCH,
            &mut |_, timestamp, value| match timestamp <= until {
                true => points.push((timestamp, value)),
                false => past_until = true,
            },
        )?;
    }
    Ok(points)
}

fn read_request(params: &HashMap<String, String>, now: i64) -> Result<Request, String> {
    let pattern = params.get("match").ok_or("missing required parameter 'match'")?;
    let pattern = Pattern::parse(pattern).map_err(|e| e.to_string())?;
    let time = |name: &str, default: &str| parse_time(params.get(name).map_or(default, String::as_str), now);
    let (from, until) = (time("from", "-1d")?, time("until", "now")?);
    if from > until {
        return Err(format!("from ({from}) is after until ({until})"));
    }
    let step = match params.get("step") {
        None => None,
        Some(step) => {
            let step: i64 = step
                .parse()
                .ok()
                .filter(|&s| s > 0)
                .ok_or(format!("invalid step {step:?}: whole seconds, at least 1"))?;
            if (until - from) / step > MAX_BUCKETS {
                return Err(format!(
                    "step {step} gives more than {MAX_BUCKETS} buckets between from and until"
                ));
            }
            let by = Aggregation::parse(params.get("agg").map_or("avg", String::as_str))?;
            Some((step, by))
        }
    };
    if step.is_none() && params.contains_key("agg") {
        return Err("agg needs a step".to_owned());
    }
    Ok(Request { pattern, from, until, step })
}

/// A value as JSON: a number, or for NaN and the infinities (which JSON
/// lacks) the strings Python prints for them, as `eardrum get --json` does.
fn number(value: f64) -> Value {
    serde_json::Number::from_f64(value)
        .map_or_else(|| Value::String(PyFloat(value).to_string()), Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|&(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    #[test]
    fn requests_are_checked_with_messages_that_say_what_is_wrong() {
        let now = 1_700_000_000;
        let ok =
            read_request(&params(&[("match", "a.*"), ("from", "-1h"), ("step", "60"), ("agg", "max")]), now)
                .unwrap();
        assert_eq!((ok.from, ok.until, ok.step), (now - 3_600, now, Some((60, Aggregation::Max))));
        for (bad, message) in [
            (params(&[]), "missing required parameter 'match'"),
            (params(&[("match", "a..b")]), "invalid pattern"),
            (params(&[("match", "a"), ("from", "soon")]), "invalid time"),
            (params(&[("match", "a"), ("from", "now"), ("until", "-1h")]), "is after until"),
            (params(&[("match", "a"), ("step", "0")]), "invalid step"),
            (params(&[("match", "a"), ("from", "-10y"), ("step", "1")]), "more than 100000 buckets"),
            (params(&[("match", "a"), ("step", "60"), ("agg", "mode")]), "unknown aggregation"),
            (params(&[("match", "a"), ("agg", "max")]), "agg needs a step"),
        ] {
            let error = read_request(&bad, now).err().unwrap_or_default();
            assert!(error.contains(message), "{bad:?}: {error}");
        }
    }
}
