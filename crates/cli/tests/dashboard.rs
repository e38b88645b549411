//! The dashboard in a real browser: Debian's Chromium, headless, driven by
//! playwright-core (tests/browser/dashboard.mjs) against a server with
//! data. It selects a series in the tree and checks the chart drawn for it,
//! once on a server without a token and once on one with (the page asks
//! for it), then that auto-refresh shows a point written afterwards; the
//! screenshots are kept as target/tmp/dashboard*.png.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

mod common;

use common::*;
use std::fmt::Write;
use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "needs Chromium and playwright-core (Debian, npm): `cargo xtask test` installs them"]
fn the_dashboard_draws_a_chart_of_the_series_picked_in_the_tree() {
    draw_a_chart(None);
}

#[test]
#[ignore = "needs Chromium and playwright-core (Debian, npm): `cargo xtask test` installs them"]
fn with_a_token_the_dashboard_asks_for_it_then_draws() {
    draw_a_chart(Some("dashboard-test-token-0123456789"));
}

/// Puts half an hour of points, then has the browser script pick
/// `palm.cpu` and check its chart (giving `token` when asked).
fn draw_a_chart(token: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    let mut extra = Vec::new();
    if let Some(token) = token {
        std::fs::write(&token_file, token).unwrap();
        std::fs::set_permissions(&token_file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        extra = vec!["--auth-token-file", token_file.to_str().unwrap()];
    }
    let server = ServerProcess::start_with_http(dir.path(), &extra);
    // Half an hour of points every 10 s, the last one apart.
    let now = eardrum_protocol::clock::unix_seconds();
    let now = now - now % 10;
    let mut lines = String::new();
    for i in 0..180i64 {
        let timestamp = now - (179 - i) * 10;
        let cpu = if i == 179 { 42.5 } else { 30.0 + (10.0 * (i as f64 / 15.0).sin()).round() };
        writeln!(lines, "put palm.cpu {cpu} {timestamp}").unwrap();
        writeln!(lines, "put palm.mem {} {timestamp}", 2048 + i).unwrap();
        writeln!(lines, "put eardrum.cpu {} {timestamp}", 20 + i % 7).unwrap();
    }
    let auth = token.map(|token| format!("auth {token}\n")).unwrap_or_default();
    let replies = send_lines(server.addr(), &format!("{auth}{lines}"));
    assert_eq!(replies, "ok\n\n".repeat(540 + usize::from(token.is_some())));

    let expected = dir.path().join("expected.json");
    let token_field = token.map(|token| format!(r#", "token": "{token}""#)).unwrap_or_default();
    let fields = format!(
        r#""path": ["palm", "cpu"], "points": 180, "last": 42.5, "protocol_port": {}, "last_timestamp": {now}{token_field}"#,
        server.port
    );
    std::fs::write(&expected, format!("{{{fields}}}")).unwrap();
    let name = if token.is_some() { "dashboard-token.png" } else { "dashboard.png" };
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let browser_tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    let output = Command::new("node")
        .current_dir(&browser_tests)
        .arg("dashboard.mjs")
        .arg(format!("http://127.0.0.1:{}", server.http_port))
        .arg(&screenshot)
        .arg(&expected)
        .output()
        .unwrap();
    println!("screenshot: {}", screenshot.display());
    assert!(
        output.status.success(),
        "the browser test failed:\n{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000, "the screenshot is saved");
}
