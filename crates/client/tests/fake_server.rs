//! The client against a scripted fake server: every malformed reply is a
//! `Error`, never partial data.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_client::{Client, Error, Point};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

/// Accepts one connection, reads one request line, writes `reply`, then
/// closes (or, with `hold`, waits before closing).
fn fake_server(reply: &'static [u8], hold: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        (&stream).write_all(reply).unwrap();
        std::thread::sleep(hold);
    });
    addr
}

fn get_with_reply(reply: &'static [u8]) -> Result<eardrum_client::Metrics, Error> {
    let addr = fake_server(reply, Duration::ZERO);
    let mut client = Client::connect_timeout(addr, Duration::from_secs(5)).unwrap();
    client.get("k")
}

#[test]
fn malformed_replies_are_errors_never_partial_data() {
    let cases: &[&[u8]] = &[
        b"ok\nk 1.0\n\n",
        b"ok\nk 1.0 2 3\n\n",
        b"ok\nk x 2\n\n",
        b"ok\nk 1.0 2.5\n\n",
        b"ok\nk 1.0 2\nk 1.0\n\n",
        b"okay\n\n",
        b"OK\n\n",
        b"\n\n",
        b"ok\n\xff 1.0 2\n\n",
    ];
    for reply in cases {
        let result = get_with_reply(reply);
        assert!(
            matches!(result, Err(Error::MalformedReply(_))),
            "{:?} gave {result:?}",
            String::from_utf8_lossy(reply)
        );
    }
}

#[test]
fn a_connection_closed_mid_reply_is_an_error() {
    for reply in [&b""[..], b"ok", b"ok\n", b"ok\nk 1.0 2\n", b"error\nwrong command\n"] {
        let addr = fake_server(reply, Duration::ZERO);
        let mut client = Client::connect(addr).unwrap();
        assert!(matches!(client.get("k"), Err(Error::Closed)), "{reply:?}");
        // The connection is now out of step: further calls say so.
        assert!(matches!(client.get("k"), Err(Error::Broken)));
    }
}

#[test]
fn an_error_reply_is_a_server_error() {
    assert!(matches!(
        get_with_reply(b"error\nwrong command\n\n"),
        Err(Error::Server { message }) if message == "wrong command"
    ));
}

#[test]
fn a_silent_server_times_out() {
    let addr = fake_server(b"ok\n", Duration::from_secs(3));
    let mut client = Client::connect_timeout(addr, Duration::from_millis(200)).unwrap();
    assert!(matches!(client.put("k", 1.0, Some(1)), Err(Error::Timeout)));
}

#[test]
fn reads_only_up_to_the_end_of_the_reply_and_sorts_points() {
    let metrics = get_with_reply(b"ok\nb 2.0 20\nb 1.0 10\na 3.0 5\n\n").unwrap();
    let keys: Vec<&String> = metrics.keys().collect();
    assert_eq!(keys, ["b", "a"]);
    assert_eq!(metrics["b"], [Point::new(10, 1.0), Point::new(20, 2.0)]);
}

#[test]
fn a_put_answered_with_rows_is_malformed() {
    let addr = fake_server(b"ok\nk 1.0 2\n\n", Duration::ZERO);
    let mut client = Client::connect(addr).unwrap();
    assert!(matches!(client.put("k", 1.0, Some(2)), Err(Error::MalformedReply(_))));
}

#[test]
fn get_each_streams_rows_in_order_and_fails_as_get_does() {
    let addr = fake_server(b"ok\nb 2.0 20\nb 1.0 10\na 3.0 5\n\nok\n\n", Duration::ZERO);
    let mut client = Client::connect(addr).unwrap();
    let mut rows = Vec::new();
    let count = client.get_all_each(|key, point| rows.push((key.to_owned(), point))).unwrap();
    assert_eq!(count, 3);
    let expected = [("b", Point::new(20, 2.0)), ("b", Point::new(10, 1.0)), ("a", Point::new(5, 3.0))];
    assert_eq!(rows, expected.map(|(key, point)| (key.to_owned(), point)));

    for reply in [&b"ok\nk 1.0\n\n"[..], b"ok\nk x 2\n\n", b"okay\n\n", b"\n\n", b"ok\n\xff 1.0 2\n\n"] {
        let mut client = Client::connect(fake_server(reply, Duration::ZERO)).unwrap();
        let result = client.get_each("k", |_, _| {});
        assert!(matches!(result, Err(Error::MalformedReply(_))), "{reply:?} gave {result:?}");
    }
    for reply in [&b""[..], b"ok", b"ok\nk 1.0 2\n", b"error\nwrong command\n"] {
        let mut client = Client::connect(fake_server(reply, Duration::ZERO)).unwrap();
        assert!(matches!(client.get_each("k", |_, _| {}), Err(Error::Closed)), "{reply:?}");
    }
    let mut client = Client::connect(fake_server(b"error\nwrong command\n\n", Duration::ZERO)).unwrap();
    let result = client.get_each("k", |_, _| {});
    assert!(matches!(result, Err(Error::Server { message }) if message == "wrong command"));
}
