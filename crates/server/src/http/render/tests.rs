//! `/render` through the router, without a socket: graphite-web's JSON,
//! field for field, for each function.

use crate::http::tests::{app_with, post_form, send};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use eardrum_storage::Sample;
use serde_json::{json, Value};

/// A store with `palm.cpu` and `eardrum.cpu` every 10 s from 1000 to
/// 1090 (values 0..9 and 10..19) and `palm.mem` every 60 s.
fn app() -> (tempfile::TempDir, axum::Router) {
    let mut samples = Vec::new();
    for i in 0..10 {
        samples.push(Sample { key: "palm.cpu", timestamp: 1000 + 10 * i, value: i as f64 });
        samples.push(Sample { key: "eardrum.cpu", timestamp: 1000 + 10 * i, value: 10.0 + i as f64 });
    }
    samples.push(Sample { key: "palm.mem", timestamp: 960, value: 512.0 });
    samples.push(Sample { key: "palm.mem", timestamp: 1020, value: 640.0 });
    samples.push(Sample { key: "palm.mem", timestamp: 1080, value: 768.0 });
    app_with(&samples, None)
}

async fn render(app: &axum::Router, query: &str) -> (StatusCode, Value) {
    let query = query.replace(' ', "%20").replace('"', "%22");
    send(app, Request::get(format!("/render?{query}")).body(Body::empty()).unwrap()).await
}

/// The datapoints' values, `None` for null.
fn values(series: &Value) -> Vec<Option<f64>> {
    series["datapoints"].as_array().unwrap().iter().map(|point| point[0].as_f64()).collect()
}

fn timestamps(series: &Value) -> Vec<i64> {
    series["datapoints"].as_array().unwrap().iter().map(|point| point[1].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn a_pattern_renders_each_series_as_graphite_web_does() {
    let (_dir, app) = app();
    let (status, body) = render(&app, "target=palm.cpu&from=995&until=1030&format=json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([{
            "target": "palm.cpu",
            "tags": {"name": "palm.cpu"},
            "datapoints": [[0.0, 1000], [1.0, 1010], [2.0, 1020], [3.0, 1030]],
        }])
    );
    let (_, body) = render(&app, "target=*.cpu&from=995&until=1010").await;
    let names: Vec<&str> = body.as_array().unwrap().iter().map(|s| s["target"].as_str().unwrap()).collect();
    assert_eq!(names, ["eardrum.cpu", "palm.cpu"]);
    // A series that has nothing in the range is all nulls; one that
    // matches nothing is not there.
    let (_, body) = render(&app, "target=palm.cpu&target=nothing.*&from=2000&until=2300").await;
    assert_eq!(values(&body[0]), [None; 5], "an unknown step is a minute");
    assert_eq!(body.as_array().unwrap().len(), 1);
    let (_, body) = render(&app, "target=palm.mem&from=900&until=1100").await;
    assert_eq!(timestamps(&body[0]), [960, 1020, 1080]);
}

#[tokio::test]
async fn times_are_taken_as_graphite_web_takes_them() {
    let (_dir, app) = app();
    // The wrong way round: swapped.
    let (_, body) = render(&app, "target=palm.cpu&from=1030&until=995").await;
    assert_eq!(timestamps(&body[0]), [1000, 1010, 1020, 1030]);
    // `now` moves the clock: offsets count from it, and no slot after the
    // one holding it is returned.
    let (_, body) = render(&app, "target=palm.cpu&now=1025&from=-30s&until=1090").await;
    assert_eq!(timestamps(&body[0]), [1000, 1010, 1020]);
    // A range wholly after now has no series.
    let (_, body) = render(&app, "target=palm.cpu&now=1025&from=1030&until=1090").await;
    assert_eq!(body, json!([]));
}

#[tokio::test]
async fn series_functions_name_and_tag_their_results_like_graphite() {
    let (_dir, app) = app();
    let range = "from=995&until=1020";
    let (_, body) = render(&app, &format!("target=sumSeries(*.cpu)&{range}")).await;
    assert_eq!(body[0]["target"], "sumSeries(*.cpu)");
    assert_eq!(body[0]["tags"], json!({"name": "sumSeries(*.cpu)", "aggregatedBy": "sum"}));
    assert_eq!(values(&body[0]), [Some(10.0), Some(12.0), Some(14.0)]);
    for (function, expected) in [("averageSeries", 6.0), ("maxSeries", 11.0), ("minSeries", 1.0)] {
        let (_, body) = render(&app, &format!("target={function}(palm.cpu,eardrum.cpu)&{range}")).await;
        // The patterns once each, in order, as graphite-web names them.
        assert_eq!(body[0]["target"], format!("{function}(palm.cpu,eardrum.cpu)"));
        assert_eq!(values(&body[0])[1], Some(expected), "{function}");
    }
    // Steps of 10 s and 60 s combine at 60 s as graphite-web combines
    // them: the 10 s one averaged six at a time from its own start (910),
    // then both taken index by index from the earliest start, so the
    // minute values (960, 1020, 1080) land a slot early.
    let (_, body) = render(&app, "target=sumSeries(palm.*)&from=900&until=1100").await;
    assert_eq!(timestamps(&body[0]), [910, 970, 1030, 1090]);
    assert_eq!(values(&body[0]), [Some(512.0), Some(640.0 + 1.0), Some(768.0 + 5.5), Some(9.0)]);

    let (_, body) = render(&app, &format!("target=scale(palm.cpu,0.5)&{range}")).await;
    assert_eq!(body[0]["target"], "scale(palm.cpu,0.5)");
    // Every tag is a string in graphite-web, a float argument as Python prints it.
    assert_eq!(body[0]["tags"], json!({"name": "palm.cpu", "scale": "0.5"}));
    assert_eq!(values(&body[0]), [Some(0.0), Some(0.5), Some(1.0)]);

    let (_, body) = render(&app, &format!("target=alias(scale(palm.cpu,2),\"cpu x2\")&{range}")).await;
    assert_eq!(body[0]["target"], "cpu x2");
    let (_, body) = render(&app, &format!("target=aliasByNode(scale(*.cpu,2),0)&{range}")).await;
    assert_eq!(body[0]["target"], "eardrum");
    let (_, body) = render(&app, &format!("target=aliasByNode(*.cpu,-1,0)&{range}")).await;
    assert_eq!(body[1]["target"], "cpu.palm");

    let (_, body) = render(&app, "target=summarize(palm.cpu,\"30s\",\"max\")&from=990&until=1090").await;
    assert_eq!(body[0]["target"], "summarize(palm.cpu, \"30s\", \"max\")");
    assert_eq!(body[0]["tags"], json!({"name": "palm.cpu", "summarize": "30s", "summarizeFunction": "max"}));
    assert_eq!(timestamps(&body[0]), [990, 1020, 1050, 1080]);
    assert_eq!(values(&body[0]), [Some(1.0), Some(4.0), Some(7.0), Some(9.0)]);
    let (_, body) =
        render(&app, "target=summarize(palm.cpu,'30s',alignToFrom=true)&from=990&until=1090").await;
    assert_eq!(body[0]["target"], "summarize(palm.cpu, \"30s\", \"sum\", true)");
    assert_eq!(values(&body[0]), [Some(3.0), Some(12.0), Some(21.0), Some(9.0)]);
    assert_eq!(timestamps(&body[0]), [1000, 1030, 1060, 1090]);

    let (_, body) = render(&app, "target=constantLine(100)&from=1000&until=1600").await;
    assert_eq!(
        body,
        json!([{
            "target": "100.0",
            "tags": {"name": "100.0"},
            "datapoints": [[100.0, 1000], [100.0, 1300], [100.0, 1600]],
        }])
    );
}

#[tokio::test]
async fn max_data_points_consolidates_by_the_series_function() {
    let (_dir, app) = app();
    // As graphite-web 1.1.10: 10 steps over 4 points is 3 a point; the
    // start is nudged from 1000 to 1020, one value (0) dropped, and each
    // point takes the next three.
    let (_, body) = render(&app, "target=palm.cpu&from=995&until=1090&maxDataPoints=4").await;
    assert_eq!(timestamps(&body[0]), [1020, 1050, 1080]);
    assert_eq!(values(&body[0]), [Some(2.0), Some(5.0), Some(8.0)]);
    let query = "target=consolidateBy(palm.cpu,'max')&from=995&until=1090&maxDataPoints=4";
    let (_, body) = render(&app, query).await;
    assert_eq!(body[0]["target"], "consolidateBy(palm.cpu,\"max\")");
    assert_eq!(values(&body[0]), [Some(3.0), Some(6.0), Some(9.0)]);
    let (_, body) = render(&app, "target=palm.cpu&from=995&until=1090&maxDataPoints=1").await;
    assert_eq!(body[0]["datapoints"], json!([[4.5, 1000]]));
    let (_, body) =
        render(&app, "target=palm.cpu&target=palm.disk&from=1050&until=1120&noNullPoints=1").await;
    assert_eq!(timestamps(&body[0]), [1060, 1070, 1080, 1090]);
}

#[tokio::test]
async fn grafana_posts_forms_and_gets_errors_as_json() {
    let (_dir, app) = app();
    let form = "target=alias(palm.cpu%2C%27a%27)&target=constantLine(1)&from=-100y&until=now&format=json\
                &maxDataPoints=1000";
    let (status, body) = send(&app, post_form("/render", form)).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body.as_array().unwrap().iter().map(|s| s["target"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "1.0"]);
    // Grafana's health check, as its backend sends it.
    let form = "format=json&from=1700000000&maxDataPoints=100&target=constantLine%28100%29&until=1700003600";
    let (status, body) = send(&app, post_form("/render", form)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["datapoints"], json!([[100.0, 1700000000], [100.0, 1700001800], [100.0, 1700003600]]));
    for (query, message) in [
        ("target=sum(a", "expected ',' or ')'"),
        ("target=median(a)", "unknown function \"median\""),
        ("target=scale(a,b)", "argument \"factor\" must be a number"),
        ("target=summarize(a,'soon')", "a positive interval"),
        ("target=summarize(palm.cpu,'1s')&from=-10y", "more than 1000000"),
        ("target=movingAverage(palm.cpu,500000)&from=-10y", "use a shorter window or range"),
        ("target=aliasByNode(palm.cpu,5)", "node 5 is beyond the 2 levels"),
        ("target=a&format=png", "format \"png\" is not served"),
        ("target=a&from=today&until=today", "the range is empty"),
        ("target=a&now=soon", "invalid"),
        ("target=a&maxDataPoints=0", "invalid maxDataPoints"),
        ("target=a..b", "invalid pattern"),
    ] {
        let (status, body) = render(&app, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(message), "{query}: {error}");
    }
}

#[test]
fn names_are_written_as_python_writes_json() {
    let mut json = String::new();
    crate::http::python_json::python_json_string(&mut json, "caf\u{e9} \"q\" \u{1f600}\t\u{7f}");
    // DEL stays as it is, as Python leaves it.
    let expected = concat!(r#""caf\u00e9 \"q\" \ud83d\ude00\t"#, "\u{7f}\"");
    assert_eq!(json, expected);
}

#[tokio::test]
async fn csv_raw_jsonp_and_the_version_answer_as_graphite_web_does() {
    use crate::http::tests::send_text;
    let (_dir, app) = app();
    let text = |path: &str| send_text(&app, Request::get(path).body(Body::empty()).unwrap());
    let (status, csv) = text("/render?target=palm.cpu&from=1035&until=1060&format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csv, "palm.cpu,1970-01-01 00:17:20,4.0\r\npalm.cpu,1970-01-01 00:17:30,5.0\r\npalm.cpu,1970-01-01 00:17:40,6.0\r\n");
    let (_, csv) =
        text("/render?target=sumSeries(palm.cpu,eardrum.cpu)&from=1075&until=1080&format=csv").await;
    assert_eq!(
        csv, "\"sumSeries(palm.cpu,eardrum.cpu)\",1970-01-01 00:18:00,26.0\r\n",
        "a name with a comma is quoted"
    );
    let (_, raw) = text("/render?target=palm.mem&from=1000&until=1100&format=raw").await;
    assert_eq!(raw, "palm.mem,1020,1140,60|640.0,768.0\n");
    let (_, raw) = text("/render?target=palm.cpu&from=1065&until=1110&format=raw").await;
    assert_eq!(raw, "palm.cpu,1070,1120,10|7.0,8.0,9.0,None,None\n");
    let (_, jsonp) = text("/render?target=palm.mem&from=1000&until=1100&jsonp=draw").await;
    assert!(
        jsonp.starts_with("draw([{\"target\": \"palm.mem\", \"tags\": {\"name\": \"palm.mem\"}"),
        "{jsonp}"
    );
    assert!(jsonp.ends_with("]}])"), "{jsonp}");
    let (status, body) = render(&app, "target=palm.mem&jsonp=alert(1)//").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("not a JavaScript function name"), "{body}");
    assert_eq!(text("/version").await, (StatusCode::OK, "1.1.10\n".to_owned()));
}

#[tokio::test]
async fn expand_and_the_index_list_names_as_graphite_web_does() {
    use crate::http::tests::send_text;
    let (_dir, app) = app();
    let text = |path: &str| send_text(&app, Request::get(path).body(Body::empty()).unwrap());
    assert_eq!(text("/metrics/expand?query=*").await.1, r#"{"results": ["eardrum", "palm"]}"#);
    assert_eq!(
        text("/metrics/expand?query=palm.*&query=*.cpu&groupByExpr=1").await.1,
        r#"{"results": {"palm.*": ["palm.cpu", "palm.mem"], "*.cpu": ["eardrum.cpu", "palm.cpu"]}}"#
    );
    assert_eq!(text("/metrics/expand?query=*&leavesOnly=1").await.1, r#"{"results": []}"#);
    assert_eq!(
        text("/metrics/index.json?jsonp=list").await.1,
        r#"list(["eardrum.cpu", "palm.cpu", "palm.mem"])"#
    );
    assert_eq!(text("/metrics/expand").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn without_a_schema_max_data_points_reads_long_ranges_from_rollups() {
    use crate::http::{router, AppState, HttpLimits};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let options = eardrum_storage::Options { checkpoint_interval: None, ..Default::default() };
    let store = Arc::new(eardrum_storage::Store::open(dir.path(), options).unwrap());
    let app = router(AppState::new(store.clone(), Arc::default(), None, HttpLimits::default()));
    let start = 1_700_006_400;
    let points: Vec<(i64, f64)> =
        (0..17_280).map(|i| (start + i * 10, ((i * 7) % 23) as f64 * 0.5)).collect();
    let samples: Vec<Sample<'_>> =
        points.iter().map(|&(timestamp, value)| Sample { key: "fleet.a", timestamp, value }).collect();
    store.put(&samples).unwrap();
    let mean_of = |from: i64, step: i64| {
        let inside: Vec<f64> =
            points.iter().filter(|(t, _)| (from..from + step).contains(t)).map(|p| p.1).collect();
        (!inside.is_empty()).then(|| inside.iter().sum::<f64>() / inside.len() as f64)
    };
    let (from, until) = (start - 1, start + 2 * 86_400 - 1);
    for stage in ["in memory", "on disk"] {
        // 48 points over two days: hourly slots, each the hour's mean.
        let query = format!("target=fleet.a&from={from}&until={until}&format=json&maxDataPoints=48");
        let (_, body) = render(&app, &query).await;
        let hours: Vec<i64> = (0..48).map(|hour| start + hour * 3600).collect();
        assert_eq!(timestamps(&body[0]), hours, "{stage}");
        let expected: Vec<Option<f64>> = hours.iter().map(|&hour| mean_of(hour, 3600)).collect();
        let expected: Value = serde_json::from_str(&json!(expected).to_string()).unwrap();
        assert_eq!(json!(values(&body[0])), expected, "{stage}");
        // Enough points for five minutes a point: five-minute slots.
        let query = format!("target=fleet.a&from={from}&until={until}&format=json&maxDataPoints=576");
        let (_, body) = render(&app, &query).await;
        assert_eq!(timestamps(&body[0])[..2], [start, start + 300], "{stage}");
        assert_eq!(values(&body[0])[1], mean_of(start + 300, 300), "{stage}");
        // Without maxDataPoints, the points' own step.
        let query = format!("target=fleet.a&from={from}&until={until}&format=json");
        let (_, body) = render(&app, &query).await;
        assert_eq!(timestamps(&body[0]).len(), 17_280, "{stage}");
        store.checkpoint().unwrap();
        assert!(store.stats().windows_on_disk > 0);
    }
}
