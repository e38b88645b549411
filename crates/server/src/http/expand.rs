//! Graphite's `/metrics/expand` (the names patterns match) and
//! `/metrics/index.json` (every series' name), as graphite-web writes them.

use super::failure::{ApiError, ApiResult};
use super::limits::Budget;
use super::python_json::{is_javascript_name, python_json_list, python_json_string};
use super::{all_keys, find_names, parameters, AppState};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use eardrum_graphite::pattern::Pattern;
use std::collections::BTreeSet;

/// `GET|POST /metrics/expand?query=PATTERN[&query=…][&groupByExpr=1][&leavesOnly=1][&jsonp=NAME]`:
/// the sorted names of the nodes (with `leavesOnly`, the series) the
/// patterns match, all together or, with `groupByExpr`, by pattern.
pub(crate) async fn expand(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let reads = state.reads.clone();
    let max_reply_bytes = state.limits.max_reply_bytes;
    reads
        .stream("application/json", max_reply_bytes, move |out| {
            let params = parameters(query.as_deref(), &body);
            let value = |name: &str| {
                params.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
            };
            let patterns: Vec<&str> =
                params.iter().filter(|(key, _)| key == "query").map(|(_, value)| value.as_str()).collect();
            if patterns.is_empty() {
                return Err(ApiError::BadRequest("missing required parameter 'query'".to_owned()));
            }
            let by_pattern = value("groupByExpr") == Some("1");
            let leaves_only = value("leavesOnly") == Some("1");
            let jsonp = jsonp(value("jsonp"))?;
            let mut budget = Budget::new(&state.limits);
            // Each pattern once, in the order given, as a Python dict keeps them.
            let mut results: Vec<(&str, BTreeSet<String>)> = Vec::new();
            for pattern in patterns {
                let found = find_names(&state, &Pattern::parse(pattern).map_err(ApiError::BadRequest)?)?;
                budget.spend_series(found.len())?;
                let names =
                    found.into_iter().filter(|found| found.series.is_some() || !leaves_only).map(|f| f.path);
                match results.iter_mut().find(|(known, _)| *known == pattern) {
                    Some((_, set)) => set.extend(names),
                    None => results.push((pattern, names.collect())),
                }
            }
            budget
                .check_reply(results.iter().flat_map(|(_, names)| names).map(|name| name.len() + 4).sum())?;
            let mut json = String::from("{\"results\": ");
            if by_pattern {
                json.push('{');
                for (index, (pattern, names)) in results.iter().enumerate() {
                    if index > 0 {
                        json.push_str(", ");
                    }
                    python_json_string(&mut json, pattern);
                    json.push_str(": ");
                    python_json_list(&mut json, names.iter().map(String::as_str));
                }
                json.push('}');
            } else {
                let all: BTreeSet<&str> =
                    results.iter().flat_map(|(_, names)| names.iter().map(String::as_str)).collect();
                python_json_list(&mut json, all);
            }
            json.push('}');
            write_reply(out, &json, jsonp.as_deref())
        })
        .await
}

/// `GET|POST /metrics/index.json[?jsonp=NAME]`: the name of every series,
/// sorted.
pub(crate) async fn index_json(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let reads = state.reads.clone();
    let max_reply_bytes = state.limits.max_reply_bytes;
    reads
        .stream("application/json", max_reply_bytes, move |out| {
            let params = parameters(query.as_deref(), &body);
            let jsonp =
                jsonp(params.iter().rev().find(|(key, _)| key == "jsonp").map(|(_, value)| value.as_str()))?;
            let mut budget = Budget::new(&state.limits);
            let keys = all_keys(&state, &mut budget)?;
            budget.check_reply(keys.iter().map(|key| key.len() + 4).sum())?;
            let mut json = String::new();
            python_json_list(&mut json, keys.iter().map(String::as_str));
            write_reply(out, &json, jsonp.as_deref())
        })
        .await
}

/// A `jsonp` parameter, if it is a plain JavaScript name.
fn jsonp(name: Option<&str>) -> ApiResult<Option<String>> {
    match name {
        None => Ok(None),
        Some(name) if is_javascript_name(name) => Ok(Some(name.to_owned())),
        Some(_) => {
            Err(ApiError::BadRequest("jsonp must be a JavaScript function name such as draw".to_owned()))
        }
    }
}

/// `json`, wrapped in `name(…)` as `text/javascript` for JSONP.
fn write_reply(out: &mut super::stream::ReplyWriter, json: &str, jsonp: Option<&str>) -> ApiResult<()> {
    match jsonp {
        None => out.write(json),
        Some(name) => {
            out.set_content_type("text/javascript");
            out.write(name)?;
            out.write("(")?;
            out.write(json)?;
            out.write(")")
        }
    }
}
