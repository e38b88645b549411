//! Graphite 1.1's tagged series: finding them by tag expressions (for
//! `seriesByTag` and `/tags/findSeries`) and the `/tags` routes Grafana's
//! tag editor reads, answered as graphite-web's tag database answers them.
//!
//! eardrum has no separate tag database: a series is tagged by its key
//! (`disk.used;dc=east`), so every tagged key is read as graphite reads
//! it, and a key written with its tags in another order is shown under
//! graphite's normalised name (tags sorted).

use super::failure::{ApiError, ApiResult};
use super::limits::Budget;
use super::python_json::python_json_value;
use super::{parameters, AppState};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use eardrum_graphite::tags::{AnchoredRegex, TagQuery, TaggedSeries};
use eardrum_storage::names::NameIndex;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// graphite-web's `TAGDB_AUTOCOMPLETE_LIMIT`: suggestions given when the
/// request sets no `limit`.
const AUTOCOMPLETE_LIMIT: usize = 100;

/// The tagged series `query` selects, sorted by name: only those that have
/// a value it requires are read.
pub(crate) fn find_tagged(state: &AppState, query: &TagQuery) -> eardrum_storage::Result<Vec<TaggedSeries>> {
    super::with_names(state, |index: &NameIndex| index.tags().select(query))
}

/// The parameters of a `/tags` request, by name.
struct Params(Vec<(String, String)>);

impl Params {
    fn last(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// Every `expr` (or `expr[]`, as jQuery sends them).
    fn expressions(&self) -> Vec<&str> {
        let named = |name: &str| -> Vec<&str> {
            self.0.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str()).collect()
        };
        let plain = named("expr");
        if plain.is_empty() {
            named("expr[]")
        } else {
            plain
        }
    }

    fn limit(&self, default: Option<usize>) -> ApiResult<Option<usize>> {
        match self.last("limit") {
            None | Some("") => Ok(default),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| ApiError::BadRequest(format!("invalid limit {text:?}: a whole number"))),
        }
    }

    /// A filter's regular expression, anchored at the start as graphite
    /// anchors it.
    fn filter(&self, name: &str) -> ApiResult<Option<AnchoredRegex>> {
        match self.last(name) {
            None | Some("") => Ok(None),
            Some(filter) => AnchoredRegex::new(filter)
                .map(Some)
                .map_err(|error| ApiError::BadRequest(format!("invalid {name} {filter:?}: {error}"))),
        }
    }
}

/// Runs `answer` off the async workers over the request's parameters and
/// writes its value as graphite-web does (`pretty` indents it).
async fn reply(
    state: AppState,
    query: Option<String>,
    body: Bytes,
    answer: impl FnOnce(&AppState, &Params) -> ApiResult<Value> + Send + 'static,
) -> ApiResult<Response> {
    let reads = state.reads.clone();
    let max_reply_bytes = state.limits.max_reply_bytes;
    reads
        .stream("application/json", max_reply_bytes, move |out| {
            let params = Params(parameters(query.as_deref(), &body));
            let value = answer(&state, &params)?;
            let mut json = String::new();
            python_json_value(&mut json, &value, params.last("pretty").is_some().then_some(2));
            Budget::new(&state.limits).check_reply(json.len())?;
            out.write(&json)
        })
        .await
}

/// `GET /tags[?filter=REGEX][&limit=N]`: every tag, sorted, each with an
/// `id` (its place in that order: eardrum keeps no database ids).
pub(crate) async fn list(State(state): State<AppState>, RawQuery(query): RawQuery) -> ApiResult<Response> {
    reply(state, query, Bytes::new(), |state, params| {
        let filter = params.filter("filter")?;
        let limit = params.limit(None)?;
        let tags = all_tags(state)?;
        let listed = tags.keys().filter(|tag| filter.as_ref().is_none_or(|filter| filter.is_match(tag)));
        let listed: Vec<Value> = listed
            .take(limit.unwrap_or(usize::MAX))
            .enumerate()
            .map(|(at, tag)| json!({"id": at + 1, "tag": tag}))
            .collect();
        Ok(Value::Array(listed))
    })
    .await
}

/// `GET /tags/<tag>[?filter=REGEX][&limit=N]`: the tag's values, sorted,
/// each with how many series have it; `null` for a tag no series has.
pub(crate) async fn one(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    reply(state, query, Bytes::new(), move |state, params| {
        let filter = params.filter("filter")?;
        let limit = params.limit(None)?;
        let tags = all_tags(state)?;
        let Some((at, values)) =
            tags.iter().enumerate().find(|(_, (name, _))| **name == tag).map(|(at, (_, v))| (at, v))
        else {
            return Ok(Value::Null);
        };
        let values: Vec<Value> = values
            .iter()
            .filter(|(value, _)| filter.as_ref().is_none_or(|filter| filter.is_match(value)))
            .take(limit.unwrap_or(usize::MAX))
            .enumerate()
            .map(|(id, (value, count))| json!({"id": id + 1, "value": value, "count": count}))
            .collect();
        Ok(json!({"id": at + 1, "tag": tag, "values": values}))
    })
    .await
}

/// Every tag with each of its values and how many series have it.
fn all_tags(state: &AppState) -> ApiResult<BTreeMap<String, BTreeMap<String, u64>>> {
    let read = |index: &NameIndex| {
        let tags = index.tags().tags();
        tags.map(|(tag, values)| {
            let values = values.map(|(value, series)| (value.to_owned(), series as u64));
            (tag.to_owned(), values.collect())
        })
        .collect()
    };
    Ok(super::with_names(state, read)?)
}

/// `GET|POST /tags/findSeries?expr=EXPRESSION[&expr=…]`: the names of the
/// series that pass every expression, sorted.
pub(crate) async fn find_series(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    reply(state, query, body, |state, params| {
        let expressions = params.expressions();
        if expressions.is_empty() {
            return Err(ApiError::BadRequest("no tag expressions specified".to_owned()));
        }
        let query = TagQuery::parse(expressions).map_err(ApiError::BadRequest)?;
        let found = find_tagged(state, &query)?;
        Budget::new(&state.limits).spend_series(found.len())?;
        Ok(Value::Array(found.into_iter().map(|tagged| Value::String(tagged.path)).collect()))
    })
    .await
}

/// `GET|POST /tags/autoComplete/tags[?expr=…][&tagPrefix=P][&limit=N]`: the
/// tags of the series the expressions select (every tag without any), less
/// those the expressions name, sorted, the first `limit` (100).
pub(crate) async fn complete_tags(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    reply(state, query, body, |state, params| {
        let prefix = params.last("tagPrefix").unwrap_or("");
        let limit = params.limit(Some(AUTOCOMPLETE_LIMIT))?.unwrap_or(AUTOCOMPLETE_LIMIT);
        let expressions = params.expressions();
        let tags: BTreeSet<String> = match expressions.is_empty() {
            true => all_tags(state)?.into_keys().collect(),
            false => {
                let query = TagQuery::parse(expressions).map_err(ApiError::BadRequest)?;
                let searched: BTreeSet<&str> = query.tags().collect();
                let found = find_tagged(state, &query)?;
                found
                    .into_iter()
                    .flat_map(|tagged| tagged.name.tags.into_iter().map(|(tag, _)| tag))
                    .filter(|tag| !searched.contains(tag.as_str()))
                    .collect()
            }
        };
        let suggested = tags.into_iter().filter(|tag| tag.starts_with(prefix)).take(limit);
        Ok(Value::Array(suggested.map(Value::String).collect()))
    })
    .await
}

/// `GET|POST /tags/autoComplete/values?tag=TAG[&expr=…][&valuePrefix=P][&limit=N]`:
/// the values `tag` has among the series the expressions select (among
/// all without any), sorted, the first `limit` (100).
pub(crate) async fn complete_values(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    reply(state, query, body, |state, params| {
        let Some(tag) = params.last("tag").filter(|tag| !tag.is_empty()) else {
            return Err(ApiError::BadRequest("no tag specified".to_owned()));
        };
        let prefix = params.last("valuePrefix").unwrap_or("");
        let limit = params.limit(Some(AUTOCOMPLETE_LIMIT))?.unwrap_or(AUTOCOMPLETE_LIMIT);
        let expressions = params.expressions();
        let values: BTreeSet<String> = match expressions.is_empty() {
            true => all_tags(state)?.remove(tag).unwrap_or_default().into_keys().collect(),
            false => {
                let query = TagQuery::parse(expressions).map_err(ApiError::BadRequest)?;
                let found = find_tagged(state, &query)?;
                found.into_iter().filter_map(|tagged| tagged.name.get(tag).map(str::to_owned)).collect()
            }
        };
        let suggested = values.into_iter().filter(|value| value.starts_with(prefix)).take(limit);
        Ok(Value::Array(suggested.map(Value::String).collect()))
    })
    .await
}

#[cfg(test)]
mod tests {
    use crate::http::tests::{app_with, send};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use eardrum_storage::Sample;
    use serde_json::json;

    fn get(path: &str) -> Request<Body> {
        Request::get(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn tagged_series_are_found_listed_and_rendered_by_their_tags() {
        let samples = [
            Sample { key: "disk.used;dc=east;host=a", timestamp: 60, value: 1.0 },
            // Put through the protocol with its tags out of order.
            Sample { key: "disk.used;host=b;dc=west", timestamp: 60, value: 2.0 },
            Sample { key: "cpu;dc=east;host=a;rack=r1", timestamp: 60, value: 3.0 },
            Sample { key: "plain.name", timestamp: 60, value: 4.0 },
            Sample { key: "broken;tag", timestamp: 60, value: 5.0 },
        ];
        let (_dir, app) = app_with(&samples, None);
        let (status, found) = send(&app, get("/tags/findSeries?expr=name=disk.used")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(found, json!(["disk.used;dc=east;host=a", "disk.used;dc=west;host=b"]));
        let (_, found) = send(&app, get("/tags/findSeries?expr[]=dc=east&expr[]=rack=")).await;
        assert_eq!(found, json!(["disk.used;dc=east;host=a"]));
        let (status, error) = send(&app, get("/tags/findSeries?expr=rack=")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(error["error"].as_str().unwrap().contains("must require a value"));
        let (_, tags) = send(&app, get("/tags/autoComplete/tags")).await;
        assert_eq!(tags, json!(["dc", "host", "name", "rack"]));
        let (_, tags) = send(&app, get("/tags/autoComplete/tags?expr=name=cpu")).await;
        assert_eq!(tags, json!(["dc", "host", "rack"]), "less the tags searched");
        let (_, values) = send(&app, get("/tags/autoComplete/values?tag=host&expr=dc=east&limit=5")).await;
        assert_eq!(values, json!(["a"]));
        let (_, values) = send(&app, get("/tags/autoComplete/values?tag=name&valuePrefix=d")).await;
        assert_eq!(values, json!(["disk.used"]));
        let (status, _) = send(&app, get("/tags/autoComplete/values")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "no tag");
        let (_, listed) = send(&app, get("/tags?filter=h|r")).await;
        assert_eq!(listed, json!([{"id": 1, "tag": "host"}, {"id": 2, "tag": "rack"}]));
        let (_, host) = send(&app, get("/tags/host")).await;
        assert_eq!(
            host["values"],
            json!([{"id": 1, "value": "a", "count": 2}, {"id": 2, "value": "b", "count": 1}])
        );
        let (_, missing) = send(&app, get("/tags/nope")).await;
        assert_eq!(missing, serde_json::Value::Null);

        let render = "/render?target=seriesByTag(%27dc=west%27)&from=0&until=120";
        let (_, rendered) = send(&app, get(render)).await;
        assert_eq!(rendered[0]["target"], "disk.used;dc=west;host=b");
        assert_eq!(rendered[0]["tags"], json!({"dc": "west", "host": "b", "name": "disk.used"}));
        assert_eq!(rendered[0]["datapoints"][0], json!([2.0, 60]));
        // Patterns do not find tagged series, as graphite's hierarchy does not hold them.
        let (_, rendered) = send(&app, get("/render?target=disk.*&from=0&until=120")).await;
        assert_eq!(rendered, json!([]));
    }
}
