//! The HTTP API beside the protocol port.

mod common;

use common::*;

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
    assert_eq!(stats["connections_open"], 1);
    assert!(stats["memory_bytes"].as_u64().unwrap() > 0);
    assert!(stats["log_bytes"].as_u64().unwrap() > 0);
    let (status, _) = http_get(server.http_addr, "/nowhere").await;
    assert_eq!(status, "HTTP/1.0 404 Not Found");
    server.stop().await;
}
