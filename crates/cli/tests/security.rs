//! `serve` with TLS and a token, and the client commands that reach it.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

mod common;

use common::{run, text, ServerProcess};

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    /// A self-signed certificate for `localhost`, its key, a token file,
    /// and a certificate nobody uses.
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let issued = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(dir.path().join("cert.pem"), issued.cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), issued.signing_key.serialize_pem()).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(dir.path().join("other.pem"), other.cert.pem()).unwrap();
        std::fs::write(dir.path().join("token"), "s3cret\n").unwrap();
        std::fs::write(dir.path().join("wrong-token"), "guess\n").unwrap();
        Files { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }
}

#[test]
fn client_commands_reach_a_server_with_tls_and_a_token_and_are_refused_without_them() {
    let files = Files::new();
    let data = tempfile::tempdir().unwrap();
    let (cert, key, token) = (files.path("cert.pem"), files.path("key.pem"), files.path("token"));
    let server = ServerProcess::start_with_http(
        data.path(),
        &["--tls-cert", &cert, "--tls-key", &key, "--auth-token-file", &token],
    );
    let port = server.port.to_string();
    let remote = ["--host", "localhost", "--port", &port];
    let secure = [&remote[..], &["--tls-ca", &cert, "--auth-token-file", &token]].concat();

    let put = run(&[&["put", "palm.cpu", "23.7", "1150864247"], &secure[..]].concat());
    assert!(put.status.success(), "{}", text(&put.stderr));
    let get = run(&[&["get", "*"], &secure[..]].concat());
    assert_eq!(text(&get.stdout), "palm.cpu 23.7 1150864247\n", "{}", text(&get.stderr));

    let (wrong_token, other_cert) = (files.path("wrong-token"), files.path("other.pem"));
    let refusals = [
        (vec!["--tls-ca", &cert], "pass --auth-token-file"),
        (vec!["--tls-ca", &cert, "--auth-token-file", &wrong_token], "refused the auth token"),
        (vec!["--tls-ca", &other_cert, "--auth-token-file", &token], "TLS"),
        (vec!["--auth-token-file", &token], ""),
    ];
    for (flags, message) in refusals {
        let out = run(&[&["get", "*", "--timeout", "5"], &remote[..], &flags[..]].concat());
        assert!(!out.status.success(), "{flags:?} got in");
        assert!(text(&out.stderr).contains(message), "{flags:?}: {}", text(&out.stderr));
    }

    let http = server.http_port.to_string();
    let stats = ["stats", "--host", "localhost", "--http-port", &http, "--tls-ca", &cert];
    let out = run(&[&stats[..], &["--auth-token-file", &token]].concat());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("2 failed authentications, 2 failed TLS handshakes"), "{stdout}");
    let out = run(&stats);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));
}

#[test]
fn bad_tls_and_token_files_stop_the_server_with_a_clear_error() {
    let files = Files::new();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(files.dir.path().join("empty-token"), "\n").unwrap();
    let serve = |flags: &[&str]| {
        let dir = data.path().to_str().unwrap();
        run(&[
            &["serve", "--port", "0", "--http-port", "0", "--graphite-port", "0", "--data-dir", dir],
            flags,
        ]
        .concat())
    };
    let [cert, key, missing, token, other, empty_token] =
        ["cert.pem", "key.pem", "missing.pem", "token", "other.pem", "empty-token"]
            .map(|name| files.path(name));
    let cases = [
        (vec!["--tls-cert", &cert], "--tls-key"),
        (vec!["--tls-cert", &missing, "--tls-key", &key], "missing.pem"),
        (vec!["--tls-cert", &token, "--tls-key", &key], "no certificate"),
        (vec!["--tls-cert", &other, "--tls-key", &key], "does not fit"),
        (vec!["--auth-token-file", &missing], "cannot read the auth token file"),
        (vec!["--auth-token-file", &empty_token], "invalid auth token"),
    ];
    for (flags, message) in cases {
        let out = serve(&flags);
        assert!(!out.status.success(), "{flags:?} started");
        assert!(text(&out.stderr).contains(message), "{flags:?}: {}", text(&out.stderr));
    }
}

#[test]
fn bench_authenticates_with_a_token_file_and_is_refused_without_the_right_one() {
    let files = Files::new();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), &["--auth-token-file", &files.path("token")]);
    let port = server.port.to_string();
    let bench = |extra: &[&str]| {
        let flags =
            ["bench", "--port", &port, "--series", "20", "--points", "5", "--connections", "2", "--json"];
        run(&[&flags[..], extra].concat())
    };
    let out = bench(&["--auth-token-file", &files.path("token")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(
        (report["acknowledged"].as_u64(), report["query"]["all_rows"].as_u64()),
        (Some(100), Some(100))
    );
    let out = bench(&["--auth-token-file", &files.path("wrong-token")]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("refused the auth token"), "{}", text(&out.stderr));
}
