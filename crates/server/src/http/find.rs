//! Finding series by name pattern: eardrum's `/api/v1/series`, and
//! Graphite's `/metrics/find`, which lists the nodes a pattern matches as
//! graphite-web's `treejson` format does (Grafana's Graphite data source
//! browses metrics with it).

use super::{error, find_names, unavailable, AppState};
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use eardrum_storage::names::{Found, Pattern};
use serde_json::{json, Value};
use std::collections::HashMap;

/// `GET /metrics/find?query=PATTERN[&wildcards=1][&format=treejson]`.
pub(crate) async fn find_get(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    find(state, params).await
}

/// `POST /metrics/find` with the same parameters as a form.
pub(crate) async fn find_post(
    State(state): State<AppState>,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    find(state, params).await
}

/// `GET /api/v1/series[?match=PATTERN]`: the keys of the series the
/// pattern matches (every series without one), sorted.
pub(crate) async fn series(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let pattern = match params.get("match").map(|text| Pattern::parse(text)).transpose() {
        Ok(pattern) => pattern,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason.to_string()),
    };
    let keys = tokio::task::spawn_blocking(move || {
        let mut keys = Vec::new();
        match pattern {
            Some(pattern) => {
                let found = find_names(&state, &pattern)?;
                keys.extend(found.into_iter().filter(|f| f.series.is_some()).map(|f| f.path));
            }
            None => {
                state.store.keys_from(0, usize::MAX, &mut |_, key| keys.push(key.to_owned()))?;
                keys.sort_unstable();
            }
        }
        Ok(keys)
    })
    .await
    .unwrap_or_else(|_| Ok(Vec::new()));
    match keys {
        Ok(keys) => Json(json!({ "series": keys })).into_response(),
        Err(failure) => unavailable(&failure),
    }
}

async fn find(state: AppState, params: HashMap<String, String>) -> Response {
    let Some(query) = params.get("query") else {
        return error(StatusCode::BAD_REQUEST, "missing required parameter 'query'");
    };
    match params.get("format").map(String::as_str) {
        None | Some("treejson") => {}
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("invalid format {other:?}: only treejson is served"),
            )
        }
    }
    let pattern = match Pattern::parse(query) {
        Ok(pattern) => pattern,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason.to_string()),
    };
    let found = match tokio::task::spawn_blocking(move || find_names(&state, &pattern)).await {
        Ok(Ok(found)) => found,
        Ok(Err(failure)) => return unavailable(&failure),
        Err(_) => Vec::new(),
    };
    let wildcards = params.get("wildcards").is_some_and(|w| w == "1");
    Json(tree_json(query, &found, wildcards)).into_response()
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
