//! Two ClickHouse servers forming a cluster of two shards, with
//! `Distributed` tables over them: what one front end writes through its
//! node, another reads through the other, and each shard holds a share.

use eardrum_clickhouse::Point;
use eardrum_test_support::clickhouse::*;

#[test]
#[ignore = "needs ClickHouse (Debian's clickhouse-server): `cargo xtask test` installs it"]
fn two_shards_share_the_points_and_either_node_reads_them_all() {
    let nodes = start_cluster("eardrum", 2);
    let front_ends: Vec<_> =
        nodes.iter().map(|node| connect(node, "metrics").with_cluster("eardrum").unwrap()).collect();
    // One node's tables are not enough: the other shard has none yet.
    match front_ends[0].ensure_schema() {
        Err(error @ eardrum_clickhouse::Error::ShardsWithoutTables { .. }) => {
            assert!(error.to_string().contains("start a front end against each node"), "{error}")
        }
        other => panic!("{other:?}"),
    }
    front_ends[1].create_schema().unwrap();
    for front_end in &front_ends {
        front_end.ensure_schema().unwrap();
    }
    let points: Vec<Point> = (0..200)
        .map(|i| Point {
            key: format!("host{}.cpu", i % 20),
            timestamp: i / 20,
            value: i as f64,
            version: i as u64 + 1,
        })
        .collect();
    let first_seen: Vec<(String, u64)> = (0..20).map(|h| (format!("host{h}.cpu"), h)).collect();
    front_ends[0].insert(&points, &first_seen).unwrap();

    // Read through the other node: every point, keys in first-put order.
    let mut order: Vec<String> = Vec::new();
    let rows = front_ends[1]
        .scan_all(|key, _, _| {
            if order.last().is_none_or(|last| last != key) {
                order.push(key.to_owned());
            }
        })
        .unwrap();
    assert_eq!(rows, 200);
    let expected: Vec<String> = first_seen.iter().map(|(key, _)| key.clone()).collect();
    assert_eq!(order, expected, "get * lists keys in first-put order across shards");
    assert_eq!(front_ends[1].keys().unwrap(), expected);
    assert_eq!(front_ends[1].points("host3.cpu", 0, 9).unwrap().len(), 10);

    // Each shard holds some of the keys, each key on one shard only.
    let local_keys: Vec<Vec<String>> = nodes
        .iter()
        .map(|node| {
            let url = format!("http://127.0.0.1:{}/?database=metrics", node.http_port);
            let mut response = ureq::post(&url)
                .query("query", "SELECT DISTINCT key FROM points_local")
                .send(&b""[..])
                .unwrap();
            response.body_mut().read_to_string().unwrap().lines().map(str::to_owned).collect::<Vec<String>>()
        })
        .collect();
    assert!(local_keys.iter().all(|keys| !keys.is_empty()), "{local_keys:?}");
    assert_eq!(local_keys[0].len() + local_keys[1].len(), 20, "{local_keys:?}");
}
