//! Finding series by name pattern: eardrum's `/api/v1/series`, and
//! Graphite's `/metrics/find`, which lists the nodes a pattern matches as
//! graphite-web's `treejson` format does (Grafana's Graphite data source
//! browses metrics with it).

use super::failure::{ApiError, ApiResult};
use super::limits::Budget;
use super::{all_keys, find_names, form_params, query_params, AppState};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::Json;
use eardrum_graphite::pattern::Pattern;
use eardrum_storage::names::Found;
use serde::Deserialize;
use serde_json::{json, Value};

/// The parameters of `/metrics/find`.
#[derive(Debug, Deserialize)]
pub(crate) struct FindParams {
    query: Option<String>,
    format: Option<String>,
    wildcards: Option<String>,
}

/// The parameters of `/api/v1/series`.
#[derive(Debug, Deserialize)]
pub(crate) struct SeriesParams {
    #[serde(rename = "match")]
    pattern: Option<String>,
}

/// `GET /metrics/find?query=PATTERN[&wildcards=1][&format=treejson]`.
pub(crate) async fn find_get(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    find(state, move || query_params(query.as_deref())).await
}

/// `POST /metrics/find` with the same parameters as a form.
pub(crate) async fn find_post(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    find(state, move || form_params(&body)).await
}

/// `GET /api/v1/series[?match=PATTERN]`: the keys of the series the
/// pattern matches (every series without one), sorted.
pub(crate) async fn series(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let reads = state.reads.clone();
    let keys = reads
        .run(move || {
            let params: SeriesParams = query_params(query.as_deref())?;
            let mut budget = Budget::new(&state.limits);
            let mut keys = Vec::new();
            match params.pattern {
                Some(pattern) => {
                    let found = find_names(&state, &Pattern::parse(&pattern).map_err(ApiError::BadRequest)?)?;
                    keys.extend(found.into_iter().filter(|f| f.series.is_some()).map(|f| f.path));
                    budget.spend_series(keys.len())?;
                }
                None => keys = all_keys(&state, &mut budget)?,
            }
            budget.check_reply(keys.iter().map(|key| key.len() + 3).sum())?;
            Ok(json!({ "series": keys }))
        })
        .await?;
    Ok(Json(keys))
}

/// `/metrics/find` with the parameters `read_params` reads, which it does
/// off the async workers with the rest (a form may be megabytes long).
async fn find(
    state: AppState,
    read_params: impl FnOnce() -> ApiResult<FindParams> + Send + 'static,
) -> ApiResult<Json<Value>> {
    let reads = state.reads.clone();
    reads
        .run(move || {
            let params = read_params()?;
            let query = params
                .query
                .ok_or_else(|| ApiError::BadRequest("missing required parameter 'query'".to_owned()))?;
            match params.format.as_deref() {
                None | Some("treejson") => {}
                Some(other) => {
                    return Err(ApiError::BadRequest(format!(
                        "invalid format {other:?}: only treejson is served"
                    )))
                }
            }
            let wildcards = params.wildcards.is_some_and(|w| w == "1");
            let found = find_names(&state, &Pattern::parse(&query).map_err(ApiError::BadRequest)?)?;
            let mut budget = Budget::new(&state.limits);
            budget.spend_series(found.len())?;
            budget.check_reply(found.iter().map(|f| 2 * f.path.len() + 100).sum())?;
            Ok(Json(tree_json(&query, &found, wildcards)))
        })
        .await
}

/// graphite-web's `treejson`: an optional `*` node when `wildcards` is set
/// and several nodes match, then the branches, then the leaves, each by
/// name. A node that is both a series and the parent of others is listed
/// once, as the branch (graphite-web too lists a name once), so that its
/// children stay reachable; its own series is still rendered by name.
fn tree_json(query: &str, found: &[Found], wildcards: bool) -> Value {
    let base_path = query.rsplit_once('.').map_or(String::new(), |(base, _)| format!("{base}."));
    let node = |name: &str, branch: bool| {
        let flag = u8::from(branch);
        json!({
            "text": name,
            "id": format!("{base_path}{name}"),
            "context": {},
            "allowChildren": flag,
            "expandable": flag,
            "leaf": 1 - flag,
        })
    };
    let mut named: Vec<(&str, bool)> = found
        .iter()
        .map(|found| (found.path.rsplit('.').next().unwrap_or(&found.path), found.has_children))
        .collect();
    named.sort_by(|a, b| a.0.cmp(b.0).then(b.1.cmp(&a.1)));
    named.dedup_by(|a, b| a.0 == b.0);
    let mut nodes = Vec::new();
    if wildcards && named.len() > 1 {
        nodes.push(node("*", named.iter().any(|&(_, branch)| branch)));
    }
    nodes.extend(named.iter().filter(|(_, branch)| *branch).map(|&(name, _)| node(name, true)));
    nodes.extend(named.iter().filter(|(_, branch)| !*branch).map(|&(name, _)| node(name, false)));
    Value::Array(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(path: &str, leaf: bool, branch: bool) -> Found {
        Found { path: path.to_owned(), series: leaf.then_some(0), has_children: branch }
    }

    #[test]
    fn tree_json_lists_branches_then_leaves_as_graphite_web_does() {
        let nodes =
            [found("palm.mem", true, true), found("palm.cpu", true, false), found("palm.disk", false, true)];
        let json = tree_json("palm.*", &nodes, true);
        assert_eq!(
            json,
            json!([
                {"text": "*", "id": "palm.*", "context": {}, "allowChildren": 1, "expandable": 1, "leaf": 0},
                {"text": "disk", "id": "palm.disk", "context": {}, "allowChildren": 1, "expandable": 1, "leaf": 0},
                {"text": "mem", "id": "palm.mem", "context": {}, "allowChildren": 1, "expandable": 1, "leaf": 0},
                {"text": "cpu", "id": "palm.cpu", "context": {}, "allowChildren": 0, "expandable": 0, "leaf": 1},
            ])
        );
        assert_eq!(
            tree_json("*", &[found("palm", false, true)], true)[0]["id"],
            "palm",
            "one node: no wildcard"
        );
    }
}
