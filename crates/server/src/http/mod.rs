//! The HTTP listener beside the protocol port: the store's and the
//! server's statistics as JSON at `/api/v1/stats`, series by name pattern
//! at `/api/v1/series` and their points over a time range at
//! `/api/v1/points`, Graphite's `/metrics/find` and `/render` (so that
//! Grafana's Graphite data source works unchanged), and the server's own
//! figures for Prometheus at `/metrics`, and the dashboard at `/`.
//! docs/http-api.md documents the routes.

mod dashboard;
mod expand;
mod failure;
mod find;
mod functions;
mod limits;
mod points;
mod prometheus;
mod python_json;

pub use limits::HttpLimits;

#[doc(hidden)]
pub use render::render_for_fuzzing;
mod render;
mod serve;
mod stream;
mod tags;
#[cfg(test)]
mod tests;

pub(crate) use serve::HttpListener;

use crate::auth::{bearer_token, AuthToken};
use crate::stats::{Counters, Stats};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use eardrum_graphite::pattern::Pattern;
use eardrum_graphite::schema::StorageSchemas;
use eardrum_storage::names::{Found, NameIndex};
use eardrum_storage::Backend;
use failure::{error, off_workers, ApiError, ApiResult, ReadSlots};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) store: Arc<dyn Backend>,
    pub(crate) counters: Arc<Counters>,
    /// When set, every request must carry it as a bearer token.
    pub(crate) auth: Option<AuthToken>,
    /// The keys by level, for name patterns; catches up with the store
    /// before each query.
    pub(crate) names: Arc<Mutex<NameIndex>>,
    /// What one request may cost.
    pub(crate) limits: HttpLimits,
    /// The cap on reads running at once.
    pub(crate) reads: ReadSlots,
    /// The steps `/render` reads series at.
    pub(crate) storage_schemas: Arc<StorageSchemas>,
}

impl AppState {
    /// The state of the API over `store`.
    pub(crate) fn new(
        store: Arc<dyn Backend>,
        counters: Arc<Counters>,
        auth: Option<AuthToken>,
        limits: HttpLimits,
    ) -> AppState {
        let reads = ReadSlots::new(limits.max_concurrent_reads, limits.read_queue_timeout);
        let storage_schemas = Arc::default();
        AppState { store, counters, auth, names: Arc::default(), limits, reads, storage_schemas }
    }

    /// The same state, rendering by `schemas`.
    pub(crate) fn with_storage_schemas(self, storage_schemas: Arc<StorageSchemas>) -> AppState {
        AppState { storage_schemas, ..self }
    }
}

/// The HTTP routes.
pub(crate) fn router(state: AppState) -> Router {
    let limits = state.limits.clone();
    Router::new()
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/series", get(find::series))
        .route("/api/v1/points", get(points::points))
        .route("/metrics", get(prometheus::metrics))
        .route("/metrics/find", get(find::find_get).post(find::find_post))
        .route("/metrics/find/", get(find::find_get).post(find::find_post))
        .route("/render", get(render::render).post(render::render))
        .route("/render/", get(render::render).post(render::render))
        .route("/metrics/expand", get(expand::expand).post(expand::expand))
        .route("/metrics/expand/", get(expand::expand).post(expand::expand))
        .route("/metrics/index.json", get(expand::index_json).post(expand::index_json))
        .route("/functions", get(functions::list))
        .route("/functions/", get(functions::list))
        .route("/functions/{name}", get(functions::one))
        .route("/tags", get(tags::list))
        .route("/tags/", get(tags::list))
        .route("/tags/findSeries", get(tags::find_series).post(tags::find_series))
        .route("/tags/findSeries/", get(tags::find_series).post(tags::find_series))
        .route("/tags/autoComplete/tags", get(tags::complete_tags).post(tags::complete_tags))
        .route("/tags/autoComplete/tags/", get(tags::complete_tags).post(tags::complete_tags))
        .route("/tags/autoComplete/values", get(tags::complete_values).post(tags::complete_values))
        .route("/tags/autoComplete/values/", get(tags::complete_values).post(tags::complete_values))
        .route("/tags/{tag}", get(tags::one))
        .route("/version", get(graphite_version))
        .route("/version/", get(graphite_version))
        .merge(dashboard::routes())
        // The body is read, in time and within its limit, before a route
        // runs, but only once the token is checked.
        .layer(middleware::from_fn_with_state(limits.clone(), serve::read_body_in_time))
        .layer(axum::extract::DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        .with_state(state)
}

/// The state of a router over `store`, for tests that call routes without
/// a socket.
#[cfg(test)]
pub(crate) fn state_for_tests(store: eardrum_storage::Store, auth: Option<AuthToken>) -> AppState {
    AppState::new(Arc::new(store), Arc::default(), auth, HttpLimits::default())
}

/// A request's query string read into `T`.
///
/// # Errors
///
/// [`ApiError::BadRequest`] saying which parameter is wrong.
fn query_params<T: serde::de::DeserializeOwned>(query: Option<&str>) -> ApiResult<T> {
    serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|reason| ApiError::BadRequest(format!("invalid query parameters: {reason}")))
}

/// The parameters of the query string and then of a form body, in order,
/// repeated ones kept (graphite-web reads both, and some repeat).
fn parameters(query: Option<&str>, body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .chain(form_urlencoded::parse(body))
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

/// A form body read into `T`.
///
/// # Errors
///
/// [`ApiError::BadRequest`] saying which parameter is wrong.
fn form_params<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_urlencoded::from_bytes(body)
        .map_err(|reason| ApiError::BadRequest(format!("invalid form parameters: {reason}")))
}

/// The nodes `pattern` matches. It reads the store: call it off the async
/// workers.
fn find_names(state: &AppState, pattern: &Pattern) -> eardrum_storage::Result<Vec<Found>> {
    with_names(state, |index| index.find(pattern))
}

/// Every key in the store, sorted, each counted against `budget` as it is
/// listed (one key over it ends the listing with the budget's error). It
/// reads the store: call it off the async workers.
fn all_keys(state: &AppState, budget: &mut limits::Budget) -> ApiResult<Vec<String>> {
    let mut keys = Vec::new();
    let mut over = None;
    state.store.keys_from(0, state.limits.max_series_per_request + 1, &mut |_, key| match budget
        .spend_series(1)
    {
        Ok(()) => keys.push(key.to_owned()),
        Err(error) => over = Some(error),
    })?;
    if let Some(error) = over {
        return Err(error);
    }
    keys.sort_unstable();
    Ok(keys)
}

/// `read` of the name index, after it has caught up with the store's new
/// keys (or, over a backend whose key positions can move, of an index
/// built afresh). It reads the store: call it off the async workers.
fn with_names<T>(state: &AppState, read: impl FnOnce(&NameIndex) -> T) -> eardrum_storage::Result<T> {
    if !state.store.key_positions_stable() {
        let mut index = NameIndex::default();
        index.catch_up(&*state.store)?;
        return Ok(read(&index));
    }
    let mut index = state.names.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    index.catch_up(&*state.store)?;
    Ok(read(&index))
}

/// Refuses requests without the bearer token, when one is configured:
/// 401 with a JSON message, as every error of the API.
async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(token) = &state.auth else {
        return next.run(request).await;
    };
    if dashboard::is_public(request.uri().path()) {
        return next.run(request).await;
    }
    let presented =
        request.headers().get(header::AUTHORIZATION).and_then(|value| bearer_token(value.as_bytes()));
    if presented.is_some_and(|presented| token.matches(presented)) {
        return next.run(request).await;
    }
    state.counters.auth_failures.fetch_add(1, Ordering::Relaxed);
    let message = match presented {
        None => "this server requires a token: send the header `Authorization: Bearer <token>`",
        Some(_) => "the bearer token is wrong",
    };
    let mut response = error(StatusCode::UNAUTHORIZED, message);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer realm=\"eardrum\""));
    response
}

/// The graphite-web release whose render API eardrum answers as, which
/// clients such as Grafana read to choose the features they use.
pub(crate) const GRAPHITE_VERSION: &str = "1.1.10";

/// `GET /version`: [`GRAPHITE_VERSION`], as graphite-web prints its own.
async fn graphite_version() -> ([(header::HeaderName, &'static str); 1], String) {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{GRAPHITE_VERSION}\n"))
}

/// `GET /api/v1/stats`: sizes, counters and the last checkpoint.
async fn stats(State(state): State<AppState>) -> ApiResult<Json<Stats>> {
    Ok(Json(gather_stats(&state).await?))
}

/// The store's figures and the counters, as one [`Stats`].
pub(crate) async fn gather_stats(state: &AppState) -> ApiResult<Stats> {
    // The store's figures list the data folder: a little file-system work,
    // off the async workers.
    let store = Arc::clone(&state.store);
    let storage = off_workers(move || store.stats()).await?;
    Ok(Stats::new(storage, state.counters.values()))
}
