//! A real server on 127.0.0.1 in the test's own runtime, and raw bytes to
//! and from it.

use eardrum_server::{Config, Server};
use eardrum_storage::{Options, Store, SyncMode};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A server running in this test's runtime.
#[derive(Debug)]
pub struct TestServer {
    /// The protocol port.
    pub addr: SocketAddr,
    /// The HTTP API.
    pub http_addr: SocketAddr,
    /// The Graphite plaintext listener.
    pub graphite_addr: SocketAddr,
    /// Cancelled to stop the server.
    pub shutdown: CancellationToken,
    /// The server's task; it ends once the store is closed.
    pub task: JoinHandle<eardrum_server::Result<()>>,
}

impl TestServer {
    /// Stops the server gracefully and waits until its store is closed.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// A server over a store in `dir` that syncs every put.
pub async fn start_server(dir: &Path) -> TestServer {
    start_server_with(dir, SyncMode::Always, Config::default().max_line_bytes).await
}

/// A server over a store in `dir` with `sync`, taking lines of at most
/// `max_line_bytes`.
pub async fn start_server_with(dir: &Path, sync: SyncMode, max_line_bytes: usize) -> TestServer {
    start_server_with_config(dir, sync, Config { max_line_bytes, ..Config::default() }).await
}

/// A server with `config`, but on ports the system picks.
pub async fn start_server_with_config(dir: &Path, sync: SyncMode, config: Config) -> TestServer {
    start_server_with_options(dir, Options { sync, ..Options::default() }, config).await
}

/// A server over a store opened with `options`, with `config` but on ports
/// the system picks.
pub async fn start_server_with_options(dir: &Path, options: Options, config: Config) -> TestServer {
    start_server_over(std::sync::Arc::new(Store::open(dir, options).unwrap()), config).await
}

/// A server over `store`, with `config` but on ports the system picks.
pub async fn start_server_over(
    store: std::sync::Arc<dyn eardrum_storage::Backend>,
    config: Config,
) -> TestServer {
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: Some("127.0.0.1:0".parse().unwrap()),
        graphite_addr: Some("127.0.0.1:0".parse().unwrap()),
        ..config
    };
    let server = Server::bind_shared(config, store).await.unwrap();
    let addr = server.local_addr();
    let http_addr = server.http_addr().unwrap();
    let graphite_addr = server.graphite_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(shutdown.clone()));
    TestServer { addr, http_addr, graphite_addr, shutdown, task }
}

/// A plain HTTP/1.0 GET; returns the status line and the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

/// A protocol connection, with Nagle off so that each write leaves at once.
pub async fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Reads exactly `expected.len()` bytes and compares them.
pub async fn expect_bytes(stream: &mut TcpStream, expected: &[u8]) {
    let mut got = vec![0; expected.len()];
    tokio::time::timeout(Duration::from_secs(30), stream.read_exact(&mut got))
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {:?}", String::from_utf8_lossy(expected)))
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(expected));
}

/// Asserts that nothing more arrives for a moment.
pub async fn expect_silence(stream: &mut TcpStream) {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut byte)).await {
        Err(_) => {}
        Ok(read) => panic!("expected no reply, got {read:?} {:?}", byte),
    }
}

/// Asserts that the server closed the connection.
pub async fn expect_closed(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest)).await;
    match read {
        Ok(Ok(_)) | Ok(Err(_)) => assert!(rest.is_empty(), "unexpected bytes {rest:?}"),
        Err(_) => panic!("the connection stayed open"),
    }
}

/// Sends `request` and checks the exact reply.
pub async fn exchange(stream: &mut TcpStream, request: &[u8], reply: &[u8]) {
    stream.write_all(request).await.unwrap();
    expect_bytes(stream, reply).await;
}

/// The protocol's one error reply.
pub const ERROR: &[u8] = b"error\nwrong command\n\n";
/// The reply to a put, or to a get that found nothing.
pub const OK: &[u8] = b"ok\n\n";
