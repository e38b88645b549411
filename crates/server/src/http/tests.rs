//! Every route through the router, without a socket (`tower`'s `oneshot`):
//! statuses, content and errors. The tests in `crates/server/tests/http.rs`
//! do the same through a real listener.

use super::{router, state_for_tests, AppState, HttpLimits};
use crate::auth::AuthToken;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use eardrum_storage::{Options, Sample, Store};
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

/// Sends `request` to `app`: the status and the body as text.
pub(super) async fn send_text(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// Sends `request` to `app`: the status and the body as JSON.
pub(super) async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let (status, text) = send_text(app, request).await;
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")))
}

/// A form POST, as Grafana sends its queries.
pub(super) fn post_form(path: &str, form: &str) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// A router over a store holding `samples`, with `token` if given.
pub(super) fn app_with(samples: &[Sample<'_>], token: Option<&str>) -> (tempfile::TempDir, Router) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Options::default()).unwrap();
    store.put(samples).unwrap();
    let auth = token.map(|token| AuthToken::new(token).unwrap());
    (dir, router(state_for_tests(store, auth)))
}

fn sample(key: &str, timestamp: i64, value: f64) -> Sample<'_> {
    Sample { key, timestamp, value }
}

#[tokio::test]
async fn each_route_answers_with_its_json_and_errors_say_what_was_wrong() {
    let samples = [
        sample("palm.cpu", 100, 1.0),
        sample("palm.cpu", 110, 3.0),
        sample("palm.mem.free", 100, 5.0),
        sample("eardrum.cpu", 100, 9.0),
    ];
    let (_dir, app) = app_with(&samples, None);

    let (status, stats) = send(&app, get("/api/v1/stats")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((stats["series"].as_u64(), stats["points"].as_u64()), (Some(3), Some(4)));

    let (_, series) = send(&app, get("/api/v1/series?match=palm.*")).await;
    assert_eq!(series, json!({"series": ["palm.cpu"]}));
    let (_, series) = send(&app, get("/api/v1/series")).await;
    assert_eq!(series, json!({"series": ["eardrum.cpu", "palm.cpu", "palm.mem.free"]}));

    let (_, points) = send(&app, get("/api/v1/points?match=*.cpu&from=100&until=110&step=20&agg=sum")).await;
    assert_eq!(
        points,
        json!({"series": [
            {"key": "eardrum.cpu", "points": [[100, 9.0]]},
            {"key": "palm.cpu", "points": [[100, 4.0]]},
        ]})
    );

    let (_, nodes) = send(&app, get("/metrics/find?query=palm.*")).await;
    let names: Vec<(&str, u64)> = nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["text"].as_str().unwrap(), n["leaf"].as_u64().unwrap()))
        .collect();
    assert_eq!(names, [("mem", 0), ("cpu", 1)]);
    let (status, nodes) = send(&app, post_form("/metrics/find/", "query=%2A")).await;
    assert_eq!((status, nodes.as_array().unwrap().len()), (StatusCode::OK, 2));

    let (status, text) = send_text(&app, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("# TYPE eardrum_series gauge\neardrum_series 3\n"), "{text}");

    for (path, status, message) in [
        ("/api/v1/series?match=a..b", StatusCode::BAD_REQUEST, "invalid pattern"),
        ("/api/v1/points", StatusCode::BAD_REQUEST, "missing required parameter 'match'"),
        ("/api/v1/points?match=a&step=-1", StatusCode::BAD_REQUEST, "invalid step"),
        ("/metrics/find?format=pickle&query=a", StatusCode::BAD_REQUEST, "only treejson"),
        ("/render?target=a(", StatusCode::BAD_REQUEST, "invalid target"),
    ] {
        let (got, body) = send(&app, get(path)).await;
        assert_eq!(got, status, "{path}");
        assert!(body["error"].as_str().unwrap().contains(message), "{path}: {body}");
    }
    let (status, _) = send_text(&app, get("/nowhere")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn with_a_token_every_data_route_wants_it() {
    let token = "a-token-long-enough-to-pass";
    let (_dir, app) = app_with(&[sample("a", 1, 1.0)], Some(token));
    for path in [
        "/api/v1/stats",
        "/api/v1/series",
        "/api/v1/points?match=a",
        "/metrics/find?query=*",
        "/metrics",
        "/render?target=a",
    ] {
        let (status, body) = send(&app, get(path)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(body["error"].as_str().unwrap().contains("Authorization: Bearer"), "{path}");
        let wrong =
            Request::get(path).header(header::AUTHORIZATION, "Bearer nope").body(Body::empty()).unwrap();
        assert_eq!(send(&app, wrong).await.0, StatusCode::UNAUTHORIZED, "{path}");
        let right = Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(send_text(&app, right).await.0, StatusCode::OK, "{path}");
    }
}

/// Twenty hours of a series every 10 s in halves (so that sums are exact
/// in any grouping), as `(timestamp, value)`.
fn twenty_hours(start: i64) -> Vec<(i64, f64)> {
    (0..7200).map(|i| (start + i * 10, ((i * 7) % 23) as f64 * 0.5 - 4.0)).collect()
}

/// `/api/v1/points` in steps, each bucket's aggregation from the points.
fn expected_buckets(points: &[(i64, f64)], from: i64, until: i64, step: i64, agg: &str) -> Value {
    let start = from.div_euclid(step) * step;
    let buckets = (start..=until).step_by(step as usize).map(|bucket| {
        let values: Vec<f64> =
            points.iter().filter(|(t, _)| (bucket..bucket + step).contains(t)).map(|(_, v)| *v).collect();
        let (min, max) = values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        let value = match agg {
            _ if values.is_empty() => Value::Null,
            "avg" => json!(values.iter().sum::<f64>() / values.len() as f64),
            "sum" => json!(values.iter().sum::<f64>()),
            "count" => json!(values.len() as f64),
            "min" => json!(min),
            "max" => json!(max),
            "range" => json!(max - min),
            "first" => json!(values[0]),
            _ => json!(values[values.len() - 1]),
        };
        json!([bucket, value])
    });
    let expected = json!({"series": [{"key": "fleet.a", "points": buckets.collect::<Vec<_>>()}]});
    // Through text, as the answer: serde_json reads some numbers an ulp off.
    serde_json::from_str(&expected.to_string()).unwrap()
}

#[tokio::test]
async fn steps_read_from_rollups_answer_as_the_points_do_wherever_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options { checkpoint_interval: None, ..Options::default() };
    let store = Arc::new(Store::open(dir.path(), options).unwrap());
    let app = router(AppState::new(store.clone(), Arc::default(), None, HttpLimits::default()));
    let start = 1_700_006_400; // a window's start
    let mut points = twenty_hours(start);
    let put = |points: &[(i64, f64)]| {
        let samples: Vec<Sample<'_>> =
            points.iter().map(|&(timestamp, value)| sample("fleet.a", timestamp, value)).collect();
        store.put(&samples).unwrap();
    };
    put(&points);
    let check = |points: Vec<(i64, f64)>, when: &'static str| {
        let app = app.clone();
        async move {
            // Ranges that start and end inside buckets, at a rollup step,
            // at multiples of one, and at steps no rollup divides.
            for (from, until, step) in [
                (start + 1234, start + 70_000, 3600),
                (start, start + 72_000, 7200),
                (start + 5, start + 9000, 600),
                (start, start + 3000, 90),
            ] {
                for agg in ["avg", "sum", "count", "min", "max", "range", "first", "last"] {
                    let path = format!(
                        "/api/v1/points?match=fleet.a&from={from}&until={until}&step={step}&agg={agg}"
                    );
                    let (status, answer) = send(&app, get(&path)).await;
                    assert_eq!(status, StatusCode::OK, "{when}: {path}");
                    assert_eq!(answer, expected_buckets(&points, from, until, step, agg), "{when}: {path}");
                }
            }
        }
    };
    check(points.clone(), "all in memory").await;
    store.checkpoint().unwrap();
    assert!(store.stats().windows_on_disk >= 8, "the older windows are read from disk");
    check(points.clone(), "history on disk").await;
    // Late points into a window on disk: read from its points until the
    // next checkpoint rolls it up again.
    let late = [(start + 3605, 100.0), (start + 3610, -50.5)];
    put(&late);
    for &(timestamp, value) in &late {
        match points.binary_search_by_key(&timestamp, |&(t, _)| t) {
            Ok(at) => points[at].1 = value,
            Err(at) => points.insert(at, (timestamp, value)),
        }
    }
    check(points.clone(), "late points waiting").await;
    store.checkpoint().unwrap();
    check(points.clone(), "late points rolled up").await;
}
