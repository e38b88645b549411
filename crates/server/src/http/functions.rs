//! Graphite's `/functions` and `/functions/<name>`: the served functions
//! described as graphite-web describes them, which Grafana's function
//! editor reads to offer them with their parameters.

use super::failure::error;
use super::python_json::python_json_value;
use axum::extract::{Path, Query};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use eardrum_graphite::functions::catalogue::{catalogue, describe, INFINITY};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The query of both routes.
#[derive(Debug, Deserialize)]
pub(crate) struct FunctionsQuery {
    /// `1` or `true`: a map of groups, each a map of its functions.
    #[serde(default)]
    grouped: Option<String>,
    /// Only the functions of this group (`Combine`, `Transform`, …).
    #[serde(default)]
    group: Option<String>,
    /// Any value: indented, keys sorted.
    #[serde(default)]
    pretty: Option<String>,
    /// `pie`: the functions that reduce a series to one value for a pie
    /// chart, of which eardrum serves none.
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// `GET /functions[?grouped=1][&group=NAME][&pretty=1]`: every served
/// function by name, in graphite-web's order.
pub(crate) async fn list(Query(query): Query<FunctionsQuery>) -> Response {
    let grouped =
        query.grouped.as_deref().is_some_and(|value| matches!(value.to_lowercase().as_str(), "1" | "true"));
    let mut result = Map::new();
    let entries = catalogue().iter().filter(|_| query.kind.as_deref() != Some("pie"));
    for entry in entries {
        let (Some(name), Some(group)) = (entry["name"].as_str(), entry["group"].as_str()) else { continue };
        if query.group.as_deref().is_some_and(|wanted| wanted != group) {
            continue;
        }
        if !grouped {
            result.insert(name.to_owned(), entry.clone());
        } else if let Value::Object(members) =
            result.entry(group.to_owned()).or_insert_with(|| Value::Object(Map::new()))
        {
            members.insert(name.to_owned(), entry.clone());
        }
    }
    reply(StatusCode::OK, &Value::Object(result), query.pretty.is_some())
}

/// `GET /functions/<name>`: one function, or 404.
pub(crate) async fn one(Path(name): Path<String>, Query(query): Query<FunctionsQuery>) -> Response {
    match describe(&name).filter(|_| query.kind.as_deref() != Some("pie")) {
        Some(entry) => reply(StatusCode::OK, entry, query.pretty.is_some()),
        None => error(StatusCode::NOT_FOUND, &format!("Function not found: {name}")),
    }
}

/// `value` as graphite-web writes it, a default of infinity as `1e9999`
/// (graphite-web's spelling, which JavaScript reads as `Infinity`).
fn reply(status: StatusCode, value: &Value, pretty: bool) -> Response {
    let mut json = String::new();
    python_json_value(&mut json, value, pretty.then_some(2));
    let json = json.replace(&format!("\"default\": \"{INFINITY}\""), "\"default\": 1e9999");
    (status, [(header::CONTENT_TYPE, "application/json")], json).into_response()
}

#[cfg(test)]
mod tests {
    use crate::http::tests::{app_with, send, send_text};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};

    fn get(path: &str) -> Request<Body> {
        Request::get(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn functions_are_described_for_grafanas_editor() {
        let (_dir, app) = app_with(&[], None);
        let (status, all) = send_text(&app, get("/functions")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(all.starts_with("{\"aggregate\": {\"name\": \"aggregate\", \"function\": \"aggregate(seriesList, func, xFilesFactor=None)\""), "{all}");
        // Infinity as graphite-web spells it.
        assert!(all.contains("{\"name\": \"limit\", \"type\": \"intOrInf\", \"default\": 1e9999}"), "{all}");
        let (_, grouped) = send(&app, get("/functions?grouped=true&group=Alias")).await;
        let groups: Vec<&String> = grouped.as_object().unwrap().keys().collect();
        assert_eq!(groups, ["Alias"]);
        assert_eq!(grouped["Alias"]["aliasByNode"]["params"][1]["multiple"], true);
        let (status, one) = send(&app, get("/functions/sumSeries")).await;
        assert_eq!(
            (status, &one["group"], &one["module"]),
            (StatusCode::OK, &"Combine".into(), &"graphite.render.functions".into())
        );
        let (_, pretty) = send_text(&app, get("/functions/alias?pretty=1")).await;
        assert!(pretty.starts_with("{\n  \"description\": "), "keys sorted, indented: {pretty}");
        let (status, missing) = send(&app, get("/functions/events")).await;
        assert_eq!(
            (status, missing["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("Function not found: events"))
        );
        let (_, pie) = send_text(&app, get("/functions?type=pie")).await;
        assert_eq!(pie, "{}");
    }
}
