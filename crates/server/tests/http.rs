//! The HTTP API beside the protocol port.

use eardrum_test_support::server::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_report_the_store_and_the_server_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let mut s = connect(server.addr).await;
    exchange(
        &mut s,
        b"put a 1 1\nput a 2 2\nput b 3 3\nget a\nbad\n",
        &[OK, OK, OK, b"ok\na 1.0 1\na 2.0 2\n\n", ERROR].concat(),
    )
    .await;
    let (status, body) = http_get(server.http_addr, "/api/v1/stats").await;
    assert_eq!(status, "HTTP/1.0 200 OK");
    let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["series"], 2);
    assert_eq!(stats["points"], 3);
    assert_eq!(stats["puts_stored"], 3);
    assert_eq!(stats["gets"], 1);
    assert_eq!(stats["errors"], 1);
    assert_eq!(stats["connections_open"], 2, "the protocol connection and this HTTP one");
    assert!(stats["memory_bytes"].as_u64().unwrap() > 0);
    assert!(stats["log_bytes"].as_u64().unwrap() > 0);
    let (status, body) = http_get(server.http_addr, "/metrics").await;
    assert_eq!(status, "HTTP/1.0 200 OK");
    assert!(body.contains("eardrum_points_stored_total{listener=\"protocol\"} 3\n"), "{body}");
    assert!(body.contains("# TYPE eardrum_series gauge\neardrum_series 2\n"), "{body}");
    let (status, _) = http_get(server.http_addr, "/nowhere").await;
    assert_eq!(status, "HTTP/1.0 404 Not Found");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_and_metrics_find_list_what_a_pattern_matches() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let mut s = connect(server.addr).await;
    let puts = b"put palm.cpu 1 1\nput palm.mem.free 2 1\nput eardrum.cpu 3 1\nput palm.disk.sda 4 1\n";
    exchange(&mut s, puts, &[OK, OK, OK, OK].concat()).await;

    let (status, body) = http_get(server.http_addr, "/metrics/find?query=palm.*").await;
    assert_eq!(status, "HTTP/1.0 200 OK");
    let nodes: serde_json::Value = serde_json::from_str(&body).unwrap();
    let listed: Vec<(&str, &str, u64)> = nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["text"].as_str().unwrap(), n["id"].as_str().unwrap(), n["leaf"].as_u64().unwrap()))
        .collect();
    assert_eq!(listed, [("disk", "palm.disk", 0), ("mem", "palm.mem", 0), ("cpu", "palm.cpu", 1)]);

    // Grafana posts its queries as a form.
    let mut stream = tokio::net::TcpStream::connect(server.http_addr).await.unwrap();
    let form = "query=%7Bpalm%2Ceardrum%7D.cpu";
    let request = format!(
        "POST /metrics/find HTTP/1.0\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{form}",
        form.len()
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1;
    let nodes: serde_json::Value = serde_json::from_str(body).unwrap();
    let ids: Vec<&str> = nodes.as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    // As graphite-web: ids are the query's base plus the name, and a name
    // is listed once however many parents it has.
    assert_eq!(ids, ["{palm,eardrum}.cpu"]);

    let (_, body) = http_get(server.http_addr, "/api/v1/series?match=palm.*.*").await;
    assert_eq!(body, r#"{"series":["palm.disk.sda","palm.mem.free"]}"#);
    let (_, body) = http_get(server.http_addr, "/api/v1/series").await;
    assert_eq!(body, r#"{"series":["eardrum.cpu","palm.cpu","palm.disk.sda","palm.mem.free"]}"#);

    for (path, expected) in [
        ("/metrics/find", "missing required parameter"),
        ("/metrics/find?query=a.%5Bb", "invalid pattern"),
        ("/api/v1/series?match=a..b", "invalid pattern"),
    ] {
        let (status, body) = http_get(server.http_addr, path).await;
        assert_eq!(status, "HTTP/1.0 400 Bad Request", "{path}");
        assert!(body.contains(expected), "{path}: {body}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_come_back_for_a_range_raw_or_in_steps() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let mut s = connect(server.addr).await;
    let puts = b"put palm.cpu 1 100\nput palm.cpu 3 110\nput palm.cpu nan 130\nput palm.mem 5 100\nput eardrum.cpu 9 100\n";
    exchange(&mut s, puts, &[OK, OK, OK, OK, OK].concat()).await;

    let (status, body) = http_get(server.http_addr, "/api/v1/points?match=palm.*&from=100&until=120").await;
    assert_eq!(status, "HTTP/1.0 200 OK");
    assert_eq!(
        body,
        r#"{"series":[{"key":"palm.cpu","points":[[100,1.0],[110,3.0]]},{"key":"palm.mem","points":[[100,5.0]]}]}"#
    );
    let (_, body) =
        http_get(server.http_addr, "/api/v1/points?match=palm.cpu&from=100&until=159&step=20&agg=max").await;
    assert_eq!(body, r#"{"series":[{"key":"palm.cpu","points":[[100,3.0],[120,null],[140,null]]}]}"#);
    let (status, body) = http_get(server.http_addr, "/api/v1/points?match=palm.cpu&from=later").await;
    assert_eq!(status, "HTTP/1.0 400 Bad Request");
    assert!(body.contains("invalid time"), "{body}");
    server.stop().await;
}
