//! The client against the real server on 127.0.0.1.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_client::{Client, Error, Point, Reply};
use eardrum_server::{Config, Server};
use eardrum_storage::{Options, Store};
use std::net::SocketAddr;
use std::time::Duration;

/// Runs a server on its own runtime thread for the life of the test.
fn start_server() -> (SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Options::default()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: None,
        graphite_addr: None,
        ..Config::default()
    };
    let server = runtime.block_on(Server::bind(config, store)).unwrap();
    let addr = server.local_addr();
    std::thread::spawn(move || runtime.block_on(server.run(Default::default())));
    (addr, dir)
}

#[test]
fn put_and_get_round_trip_with_the_course_semantics() {
    let (addr, _dir) = start_server();
    let mut client = Client::connect_timeout(addr, Duration::from_secs(10)).unwrap();
    assert!(client.get_all().unwrap().is_empty());
    client.put("palm.cpu", 0.5, Some(1150864250)).unwrap();
    client.put("palm.cpu", 2.0, Some(1150864247)).unwrap();
    client.put("eardrum.cpu", 3.0, Some(1150864248)).unwrap();
    client.put("palm.cpu", 0.1 + 0.2, Some(1150864250)).unwrap();

    let metrics = client.get_all().unwrap();
    let keys: Vec<&String> = metrics.keys().collect();
    assert_eq!(keys, ["palm.cpu", "eardrum.cpu"]);
    assert_eq!(metrics["palm.cpu"], [Point::new(1150864247, 2.0), Point::new(1150864250, 0.1 + 0.2)]);
    assert_eq!(client.get("eardrum.cpu").unwrap()["eardrum.cpu"], [Point::new(1150864248, 3.0)]);
    assert!(client.get("missing").unwrap().is_empty());
}

#[test]
fn put_without_timestamp_uses_now() {
    let (addr, _dir) = start_server();
    let mut client = Client::connect(addr).unwrap();
    let before = eardrum_protocol::clock::unix_seconds();
    client.put("now", 1.0, None).unwrap();
    let after = eardrum_protocol::clock::unix_seconds();
    let timestamp = client.get("now").unwrap()["now"][0].timestamp;
    assert!((before..=after).contains(&timestamp));
}

#[test]
fn special_values_survive_the_round_trip_bit_for_bit() {
    let (addr, _dir) = start_server();
    let mut client = Client::connect(addr).unwrap();
    let values = [f64::INFINITY, f64::NEG_INFINITY, -0.0, 5e-324, f64::MAX, 1e16, 0.000015, 1.0 / 3.0];
    for (i, value) in values.iter().enumerate() {
        client.put("special", *value, Some(i as i64)).unwrap();
    }
    client.put("special", f64::NAN, Some(100)).unwrap();
    let points = &client.get("special").unwrap()["special"];
    for (i, value) in values.iter().enumerate() {
        assert_eq!(points[i].value.to_bits(), value.to_bits());
    }
    assert!(points[values.len()].value.is_nan());
}

#[test]
fn put_many_pipelines_a_large_batch() {
    let (addr, _dir) = start_server();
    let mut client = Client::connect(addr).unwrap();
    let keys: Vec<String> = (0..10).map(|i| format!("host{i}.cpu")).collect();
    client.put_many((0..25_000).map(|i| (&keys[i % 10], Point::new(i as i64, i as f64 / 4.0)))).unwrap();
    let metrics = client.get_all().unwrap();
    assert_eq!(metrics.len(), 10);
    assert_eq!(metrics.values().map(Vec::len).sum::<usize>(), 25_000);
    assert_eq!(metrics["host3.cpu"][1], Point::new(13, 3.25));
}

#[test]
fn server_errors_and_bad_keys_are_client_errors_and_the_connection_goes_on() {
    let (addr, _dir) = start_server();
    let mut client = Client::connect(addr).unwrap();
    assert!(matches!(client.request("got x").unwrap(), Reply::Error(m) if m == "wrong command"));
    assert!(matches!(client.request("put a b c"), Ok(Reply::Error(_))));
    for key in ["", "a b", "a\nget *", "tab\there"] {
        assert!(matches!(client.put(key, 1.0, Some(1)), Err(Error::InvalidKey { .. })), "{key:?}");
        assert!(matches!(client.get(key), Err(Error::InvalidKey { .. })), "{key:?}");
    }
    assert!(matches!(client.request("  "), Err(Error::InvalidRequest)));
    // `*` is every key: a read of it alone is refused, pointing at get_all.
    match client.get("*") {
        Err(error @ Error::InvalidKey { .. }) => assert!(error.to_string().contains("get_all"), "{error}"),
        other => panic!("{other:?}"),
    }
    client.put("fine", 1.0, Some(1)).unwrap();
    assert_eq!(client.get("fine").unwrap()["fine"], [Point::new(1, 1.0)]);
}

#[test]
fn connecting_to_a_closed_port_is_a_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let result = Client::connect_timeout(("127.0.0.1", port), Duration::from_secs(2));
    assert!(matches!(result, Err(Error::Connect { .. })));
}
