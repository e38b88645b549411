//! The shared token and TLS, on the protocol port and the HTTP port.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_client::{Client, ClientError, ConnectOptions, Point, TlsOptions};
use eardrum_server::{AuthToken, Config, TlsConfig};
use eardrum_storage::SyncMode;
use eardrum_test_support::server::{
    exchange, expect_bytes, expect_closed, http_get, start_server_with_config, ERROR, OK,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "s3cret-token";

fn with_token() -> Config {
    Config { auth_token: Some(AuthToken::new(TOKEN).unwrap()), ..Config::default() }
}

fn stat(body: &str, name: &str) -> u64 {
    let stats: serde_json::Value = serde_json::from_str(body).unwrap();
    stats[name].as_u64().unwrap_or_else(|| panic!("no {name} in {body}"))
}

#[tokio::test]
async fn with_a_token_a_connection_must_start_with_auth_and_is_closed_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server_with_config(dir.path(), SyncMode::Never, with_token()).await;

    // The right token, with requests pipelined behind it in one write.
    let mut good = TcpStream::connect(server.addr).await.unwrap();
    let request = format!("\nauth {TOKEN}\nput a 1 1\nget a\n");
    exchange(&mut good, request.as_bytes(), &[OK, OK, b"ok\na 1.0 1\n\n"].concat()).await;

    // A request before auth, a wrong token, a bare `auth`: the error
    // reply, then the server closes, and nothing was stored.
    for first in
        ["put b 1 1\n".to_owned(), "auth wrong\n".to_owned(), "auth\n".to_owned(), format!("auth {TOKEN}x\n")]
    {
        let mut bad = TcpStream::connect(server.addr).await.unwrap();
        bad.write_all(format!("{first}put b 1 1\n").as_bytes()).await.unwrap();
        expect_bytes(&mut bad, ERROR).await;
        expect_closed(&mut bad).await;
    }
    exchange(&mut good, b"get *\n", b"ok\na 1.0 1\n\n").await;

    let (status, _) = http_get(server.http_addr, "/api/v1/stats").await;
    assert_eq!(status, "HTTP/1.0 401 Unauthorized");
    let body = https_or_http_get(server.http_addr, None, Some(TOKEN)).await;
    assert_eq!(stat(&body, "auth_failures"), 5, "four connections and one HTTP request");
    server.stop().await;
}

#[tokio::test]
async fn a_connection_that_does_not_authenticate_in_time_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { handshake_timeout: Duration::from_millis(300), ..with_token() };
    let server = start_server_with_config(dir.path(), SyncMode::Never, config).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    // A client that sends its auth line a byte at a time, too slowly.
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    let mut refused = false;
    for byte in format!("auth {TOKEN}\n").bytes() {
        // Once closed, a write fails (the server resets the connection).
        refused |= slow.write_all(&[byte]).await.is_err();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    expect_closed(&mut silent).await;
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut rest)).await;
    let read = read.expect("the slow client was let in and kept open");
    assert!(refused || read.is_err() || rest.is_empty(), "the slow client was let in: {rest:?}");
    let body = https_or_http_get(server.http_addr, None, Some(TOKEN)).await;
    assert_eq!(stat(&body, "auth_failures"), 2);
    server.stop().await;
}

#[tokio::test]
async fn http_requests_need_the_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server_with_config(dir.path(), SyncMode::Never, with_token()).await;
    for header in ["", "Authorization: Bearer wrong\r\n", "Authorization: Basic czNjcmV0\r\n"] {
        let response = raw_http(server.http_addr, header).await;
        assert!(response.starts_with("HTTP/1.0 401 Unauthorized\r\n"), "{response}");
        assert!(response.contains("www-authenticate: Bearer realm=\"eardrum\""), "{response}");
        assert!(response.contains(r#"{"error":"#), "{response}");
    }
    let response = raw_http(server.http_addr, &format!("Authorization: Bearer {TOKEN}\r\n")).await;
    assert!(response.starts_with("HTTP/1.0 200 OK\r\n"), "{response}");
    server.stop().await;
}

/// A self-signed certificate for `localhost`, and its key, as PEM files.
struct Certificate {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

fn self_signed() -> Certificate {
    let dir = tempfile::tempdir().unwrap();
    let issued = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, issued.cert.pem()).unwrap();
    std::fs::write(&key, issued.signing_key.serialize_pem()).unwrap();
    Certificate { _dir: dir, cert, key }
}

fn tls_config(certificate: &Certificate) -> Config {
    Config {
        tls: Some(TlsConfig::from_pem_files(&certificate.cert, &certificate.key).unwrap()),
        ..Config::default()
    }
}

/// Connects with the blocking client, off the async workers.
async fn client(addr: SocketAddr, options: ConnectOptions) -> Result<Client, ClientError> {
    let addr = format!("localhost:{}", addr.port());
    tokio::task::spawn_blocking(move || Client::connect_with(&addr, &options)).await.unwrap()
}

fn trusting(ca: &Path) -> ConnectOptions {
    ConnectOptions {
        tls: Some(TlsOptions { ca_file: Some(ca.to_owned()), server_name: None }),
        timeout: Some(Duration::from_secs(10)),
        ..ConnectOptions::default()
    }
}

#[tokio::test]
async fn with_tls_the_protocol_works_for_clients_that_trust_the_certificate_and_no_one_else() {
    let certificate = self_signed();
    let dir = tempfile::tempdir().unwrap();
    let config = Config { handshake_timeout: Duration::from_secs(1), ..tls_config(&certificate) };
    let server = start_server_with_config(dir.path(), SyncMode::Never, config).await;

    let mut trusted = client(server.addr, trusting(&certificate.cert)).await.unwrap();
    let metrics = tokio::task::spawn_blocking(move || {
        trusted.put("palm.cpu", 23.7, Some(1_150_864_247)).unwrap();
        trusted.get_all().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(metrics["palm.cpu"], [Point::new(1_150_864_247, 23.7)]);

    // A client trusting another certificate refuses the server's.
    let other = self_signed();
    let refused = client(server.addr, trusting(&other.cert)).await;
    match refused {
        Err(ClientError::Tls { reason, source }) => {
            assert!(reason.contains("--tls-ca"), "says what to do: {reason}");
            // The cause is kept beneath, not flattened into the text.
            let source = source.expect("the handshake's error");
            assert!(source.downcast_ref::<rustls::Error>().is_some(), "{source:?}");
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }

    // Plain text gets no reply: the server is waiting for a handshake, and
    // gives up on it.
    let mut plain = TcpStream::connect(server.addr).await.unwrap();
    plain.write_all(b"put a 1 1\n").await.unwrap();
    let mut reply = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), plain.read_to_end(&mut reply)).await;
    assert!(matches!(read, Ok(Ok(_)) | Ok(Err(_))), "the server must close it");
    assert!(!reply.starts_with(b"ok") && !reply.starts_with(b"error"), "{reply:?}");

    let body = https_or_http_get(server.http_addr, Some(&certificate.cert), None).await;
    assert_eq!(stat(&body, "puts_stored"), 1);
    assert_eq!(stat(&body, "tls_handshake_failures"), 2);
    server.stop().await;
}

#[tokio::test]
async fn tls_and_the_token_together() {
    let certificate = self_signed();
    let dir = tempfile::tempdir().unwrap();
    let config = Config { auth_token: Some(AuthToken::new(TOKEN).unwrap()), ..tls_config(&certificate) };
    let server = start_server_with_config(dir.path(), SyncMode::Never, config).await;

    let options = ConnectOptions { auth_token: Some(TOKEN.to_owned()), ..trusting(&certificate.cert) };
    let mut client_with_token = client(server.addr, options).await.unwrap();
    tokio::task::spawn_blocking(move || client_with_token.put("k", 1.0, Some(1)).unwrap()).await.unwrap();

    let options = ConnectOptions { auth_token: Some("wrong".to_owned()), ..trusting(&certificate.cert) };
    let refused = client(server.addr, options).await;
    assert!(matches!(refused, Err(ClientError::Unauthorized { .. })), "{refused:?}");

    let body = https_or_http_get(server.http_addr, Some(&certificate.cert), Some(TOKEN)).await;
    assert_eq!(stat(&body, "puts_stored"), 1);
    assert_eq!(stat(&body, "auth_failures"), 1);
    server.stop().await;
}

/// A GET of the stats with `header` lines added; the whole response.
async fn raw_http(addr: SocketAddr, header: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /api/v1/stats HTTP/1.0\r\nHost: test\r\n{header}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// The stats' JSON body, over TLS when `ca` is given (trusting it), with
/// the token when given.
async fn https_or_http_get(addr: SocketAddr, ca: Option<&Path>, token: Option<&str>) -> String {
    let header = token.map(|token| format!("Authorization: Bearer {token}\r\n")).unwrap_or_default();
    let request = format!("GET /api/v1/stats HTTP/1.0\r\nHost: localhost\r\n{header}\r\n");
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut response = String::new();
    match ca {
        None => {
            let mut tcp = tcp;
            tcp.write_all(request.as_bytes()).await.unwrap();
            tcp.read_to_string(&mut response).await.unwrap();
        }
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca).unwrap() {
                roots.add(cert.unwrap()).unwrap();
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
            let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
            let name = ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, tcp).await.unwrap();
            tls.write_all(request.as_bytes()).await.unwrap();
            // The server may close without a TLS close_notify; what was
            // read is the whole response either way.
            let mut bytes = Vec::new();
            let _ = tls.read_to_end(&mut bytes).await;
            response = String::from_utf8(bytes).unwrap();
        }
    }
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{response:?}"));
    assert!(head.contains(" 200 OK"), "{head}");
    body.to_owned()
}

#[tokio::test]
async fn without_an_idle_timeout_an_authenticated_connection_outlives_the_handshake_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { idle_timeout: None, handshake_timeout: Duration::from_millis(200), ..with_token() };
    let server = start_server_with_config(dir.path(), SyncMode::Never, config).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    exchange(&mut stream, format!("auth {TOKEN}\n").as_bytes(), OK).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    exchange(&mut stream, b"put a 1 1\n", OK).await;
    server.stop().await;
}
