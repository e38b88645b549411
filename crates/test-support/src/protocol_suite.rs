//! PROTOCOL.md's rules, byte for byte, as one async function per case over
//! any backend: the embedded store (`eardrum-server`'s `tests/protocol.rs`)
//! and the ClickHouse front end (`tests/protocol_clickhouse.rs`) run the
//! same cases through [`protocol_suite!`](crate::protocol_suite!). A new case
//! is an async function here and its name in the macro's list.

use crate::server::{connect, exchange, expect_bytes, expect_closed, expect_silence, TestServer, ERROR, OK};
use eardrum_storage::SyncMode;
use std::future::Future;
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// The line limit of a server started without one of its own.
const DEFAULT_LINE_BYTES: usize = eardrum_protocol::DEFAULT_MAX_LINE_BYTES;

/// Starts a server over the backend under test.
pub trait Harness {
    /// A server with its store (or local log) in `dir`, syncing as `sync`
    /// says and taking lines of at most `max_line_bytes`.
    fn start(&self, dir: &Path, sync: SyncMode, max_line_bytes: usize) -> impl Future<Output = TestServer>;
}

/// One `#[tokio::test]` per case of the suite, each starting its servers
/// with the [`Harness`] given (a unit struct's path); attributes before it (`#[ignore = "…"]`)
/// go on every test.
#[macro_export]
macro_rules! protocol_suite {
    ($(#[$attribute:meta])* $harness:path) => {
        $crate::protocol_suite!(@cases [$(#[$attribute])*] $harness;
            worked_telnet_example_with_crlf,
            blank_lines_get_no_reply,
            whitespace_runs_and_tabs_split_words,
            every_error_keeps_the_connection_open_and_the_store_unchanged,
            values_print_as_python_repr,
            overwrite_keeps_one_row_and_star_is_an_ordinary_key_on_put,
            requests_split_at_every_byte_boundary,
            an_overlong_line_gets_the_error_reply_and_the_connection_closes,
            a_line_cut_off_by_the_client_gets_no_reply_and_stores_nothing,
            all_connections_share_one_store
        );
    };
    (@cases $attributes:tt $harness:path; $($case:ident),* $(,)?) => {
        $( $crate::protocol_suite!(@case $attributes $harness; $case); )*
    };
    (@case [$($attribute:tt)*] $harness:path; $case:ident) => {
        $($attribute)*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            $crate::protocol_suite::$case(&$harness).await;
        }
    };
}

/// A case of PROTOCOL.md's, as its name says.
pub async fn worked_telnet_example_with_crlf(harness: &impl Harness) {
    let dir = tempfile::tempdir().unwrap();
    let server = harness.start(dir.path(), SyncMode::Always, DEFAULT_LINE_BYTES).await;
    let mut s = connect(server.addr).await;
    exchange(&mut s, b"get test_key\r\n", OK).await;
    exchange(&mut s, b"got test_key\r\n", ERROR).await;
    exchange(&mut s, b"put test_key 12.0 1503319740\r\n", OK).await;
    exchange(&mut s, b"put test_key 13.0 1503319739\r\n", OK).await;
    exchange(&mut s, b"get test_key\r\n", b"ok\ntest_key 13.0 1503319739\ntest_key 12.0 1503319740\n\n")
        .await;
    exchange(&mut s, b"put another_key 10 1503319739\r\n", OK).await;
    exchange(
        &mut s,
        b"get *\r\n",
        b"ok\ntest_key 13.0 1503319739\ntest_key 12.0 1503319740\nanother_key 10.0 1503319739\n\n",
    )
    .await;
    server.stop().await;
}

/// A case of PROTOCOL.md's, as its name says.
pub async fn blank_lines_get_no_reply(harness: &impl Harness) {
    let dir = tempfile::tempdir().unwrap();
    let server = harness.start(dir.path(), SyncMode::Always, DEFAULT_LINE_BYTES).await;
    let mut s = connect(server.addr).await;
    exchange(&mut s, b"get x\n\n", OK).await;
    expect_silence(&mut s).await;
    s.write_all(b"\n \n\t\r\n\r\n").await.unwrap();
    expect_silence(&mut s).await;
    exchange(&mut s, b"\n\nget x\n \n", OK).await;
    expect_silence(&mut s).await;
}

/// A case of PROTOCOL.md's, as its name says.
pub async fn whitespace_runs_and_tabs_split_words(harness: &impl Harness) {
    let dir = tempfile::tempdir().unwrap();
    let server = harness.start(dir.path(), SyncMode::Always, DEFAULT_LINE_BYTES).await;
    let mut s = connect(server.addr).await;
    exchange(&mut s, b"  put\t\tk   1.5 \t 7  \r\n", OK).await;
    exchange(&mut s, b"\tget   k\t\n", b"ok\nk 1.5 7\n\n").await;
}

/// A case of PROTOCOL.md's, as its name says.
pub async fn every_error_keeps_the_connection_open_and_the_store_unchanged(harness: &impl Harness) {
    let dir = tempfile::tempdir().unwrap();
    let server = harness.start(dir.path(), SyncMode::Always, DEFAULT_LINE_BYTES).await;
    let mut s = connect(server.addr).await;
    exchange(&mut s, b"put palm.cpu 23.7 1150864247\n", OK).await;
    let snapshot = b"ok\npalm.cpu 23.7 1150864247\n\n";
    let bad_requests: &[&[u8]] = &[
        b"got test_key\n",
        b"PUT palm.cpu 1 2\n",
        b"Get palm.cpu\n",
        b"malformed command test\n",
        b"put palm.cpu 1\n",
        b"put palm.cpu 1 2 3\n",
        b"put\n",
        b"put palm.cpu\n",
        b"get\n",
        b"get a b\n",
        b"put palm.cpu 10,5 1150864247\n",
        b"put palm.cpu abc 1150864247\n",
        b"put palm.cpu 1 1.5\n",
        b"put palm.cpu 1 1e3\n",
        b"put palm.cpu 1 abc\n",
        b"put palm.cpu 1 9223372036854775808\n",
        b"put palm.cpu 1 -9223372036854775809\n",
        b"put palm.cpu 0x10 1\n",
        b"put \xff\xfe 1 1\n",
        b"get \xc3\x28\n",
        b"\xff\n",
        b"put palm.cpu 1 1150864247 \xff\n",
        // Keys Python's str.split() would cut in two (PROTOCOL.md, key).
        b"put palm\x1ccpu 1 1\n",
        b"put palm\x1fcpu 1 1\n",
        "put palm\u{a0}cpu 1 1\n".as_bytes(),
        "put palm\u{2028}cpu 1 1\n".as_bytes(),
        "put palm\u{3000}cpu 1 1\n".as_bytes(),
    ];
    for request in bad_requests {
        exchange(&mut s, request, ERROR).await;
        exchange(&mut s, b"get *\n", snapshot).await;
    }
    // Everything at once, pipelined: one error reply each, in order.
    let all: Vec<u8> = bad_requests.concat();
    exchange(&mut s, &all, &ERROR.repeat(bad_requests.len())).await;
    exchange(&mut s, b"get *\n", snapshot).await;
}

/// A case of PROTOCOL.md's, as its name says.
pub async fn values_print_as_python_repr(harness: &impl Harness) {
    let dir = tempfile::tempdir().unwrap();
    let server = harness.start(dir.path(), SyncMode::Always, DEFAULT_LINE_BYTES).await;
    let mut s = connect(server.addr).await;
    let table = [
        ("10", "10.0"),
        ("4200000", "4200000.0"),
        ("0.1", "0.1"),
        ("2.50", "2.5"),
        ("1e16", "1e+16"),
        ("0.000015", "1.5e-05"),
        ("0.0001", "0.0001"),
        ("-0.0", "-0.0"),
        ("nan", "nan"),
        ("inf", "inf"),
        ("-inf", "-inf"),
    ];
    for (i, (put, shown)) in table.iter().enumerate() {
        let key = format!("v{i}");
        exchange(&mut s, format!("put {key} {put} {i}\n").as_bytes(), OK).await;
        exchange(&mut s, format!("get {key}\n").as_bytes(), format!("ok\n{key} {shown} {i}\n\n").as_bytes())
            .await;
    }
}

/// A case of PROTOCOL.md's, as its name says.
pub async fn overwrite_keeps_one_row_and_star_is_an_ordinary_key_on_put(harness: &impl Harness) {
    let dir = tempfile::tempdir().unwrap();
    let server = harness.start(dir.path(), SyncMode::Always, DEFAULT_LINE_BYTES).await;
    let mut s = connect(server.addr).await;
    exchange(&mut s, b"put b 1 5\nput * 2 5\nput b 3 5\nput b 4 4\n", &OK.repeat(4)).await;
    exchange(&mut s, b"get b\n", b"ok\nb 4.0 4\nb 3.0 5\n\n").await;
    exchange(&mut s, b"get *\n", b"ok\nb 4.0 4\nb 3.0 5\n* 2.0 5\n\n").await;
    exchange(&mut s, b"get B\n", OK).await;
}

/// A case of PROTOCOL.md's, as its name says.
pub async fn requests_split_at_every_byte_boundary(harness: &impl Harness) {
    let dir = tempfile::tempdir().unwrap();
    let server = harness.start(dir.path(), SyncMode::Never, 1024).await;
    // Each split works on its own key, so earlier splits cannot leak in.
    let script = |key: &str| format!("put {key} 1 10\r\nget {key}\n\nbad\nput {key} 2.5 9\nget {key}\n");
    let replies = |key: &str| {
        format!("ok\n\nok\n{key} 1.0 10\n\nerror\nwrong command\n\nok\n\nok\n{key} 2.5 9\n{key} 1.0 10\n\n")
    };
    let length = script("k00").len();
    for split in 1..length {
        let key = format!("k{split:02}");
        let script = script(&key);
        let mut s = connect(server.addr).await;
        s.write_all(&script.as_bytes()[..split]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        s.write_all(&script.as_bytes()[split..]).await.unwrap();
        expect_bytes(&mut s, replies(&key).as_bytes()).await;
    }
    // And one byte at a time on one connection.
    let mut s = connect(server.addr).await;
    for byte in script("bytewise").as_bytes() {
        s.write_all(std::slice::from_ref(byte)).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_micros(200)).await;
    }
    expect_bytes(&mut s, replies("bytewise").as_bytes()).await;
}

/// A case of PROTOCOL.md's, as its name says.
pub async fn an_overlong_line_gets_the_error_reply_and_the_connection_closes(harness: &impl Harness) {
    let dir = tempfile::tempdir().unwrap();
    let server = harness.start(dir.path(), SyncMode::Always, 100).await;
    let mut s = connect(server.addr).await;
    // With a newline...
    let long = format!("put {} 1 1\n", "k".repeat(200));
    exchange(&mut s, format!("put a 1 1\n{long}").as_bytes(), &[OK, ERROR].concat()).await;
    expect_closed(&mut s).await;
    // ...and without one, as the bytes keep coming.
    let mut s = connect(server.addr).await;
    s.write_all(&[b'x'; 150]).await.unwrap();
    expect_bytes(&mut s, ERROR).await;
    expect_closed(&mut s).await;
    // ...and while the client keeps sending megabytes: the reply still
    // arrives (the server closes gently rather than resetting).
    let s = connect(server.addr).await;
    let (mut read_half, mut write_half) = s.into_split();
    let flood = tokio::spawn(async move {
        let chunk = vec![b'y'; 64 * 1024];
        for _ in 0..64 {
            if write_half.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });
    let mut reply = vec![0; ERROR.len()];
    tokio::io::AsyncReadExt::read_exact(&mut read_half, &mut reply).await.unwrap();
    assert_eq!(reply, ERROR);
    flood.await.unwrap();
    // Others are unaffected, and the long line stored nothing.
    let mut s = connect(server.addr).await;
    exchange(&mut s, b"get *\n", b"ok\na 1.0 1\n\n").await;
}

/// A case of PROTOCOL.md's, as its name says.
pub async fn a_line_cut_off_by_the_client_gets_no_reply_and_stores_nothing(harness: &impl Harness) {
    let dir = tempfile::tempdir().unwrap();
    let server = harness.start(dir.path(), SyncMode::Always, DEFAULT_LINE_BYTES).await;
    let mut s = connect(server.addr).await;
    s.write_all(b"put a 1 1\nput b 2 2").await.unwrap();
    s.shutdown().await.unwrap();
    expect_bytes(&mut s, OK).await;
    expect_closed(&mut s).await;
    let mut s = connect(server.addr).await;
    exchange(&mut s, b"get *\n", b"ok\na 1.0 1\n\n").await;
}

/// A case of PROTOCOL.md's, as its name says.
pub async fn all_connections_share_one_store(harness: &impl Harness) {
    let dir = tempfile::tempdir().unwrap();
    let server = harness.start(dir.path(), SyncMode::Always, DEFAULT_LINE_BYTES).await;
    let mut writer = connect(server.addr).await;
    let mut reader = connect(server.addr).await;
    exchange(&mut writer, b"put shared 1 1\n", OK).await;
    exchange(&mut reader, b"get shared\n", b"ok\nshared 1.0 1\n\n").await;
}
