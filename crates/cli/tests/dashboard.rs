//! The dashboard in a real browser: Debian's Chromium, headless, driven by
//! playwright-core (tests/browser/dashboard.mjs) against a server with
//! data. It selects a series in the tree and checks the chart drawn for it;
//! the screenshot is kept as target/tmp/dashboard.png.

mod common;

use common::*;
use std::fmt::Write;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

#[test]
fn the_dashboard_draws_a_chart_of_the_series_picked_in_the_tree() {
    install_test_deps();
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with_http(dir.path(), &[]);
    // Half an hour of points every 10 s, the last one apart.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let now = now - now % 10;
    let mut lines = String::new();
    for i in 0..180i64 {
        let timestamp = now - (179 - i) * 10;
        let cpu = if i == 179 { 42.5 } else { 30.0 + (10.0 * (i as f64 / 15.0).sin()).round() };
        writeln!(lines, "put palm.cpu {cpu} {timestamp}").unwrap();
        writeln!(lines, "put palm.mem {} {timestamp}", 2048 + i).unwrap();
        writeln!(lines, "put eardrum.cpu {} {timestamp}", 20 + i % 7).unwrap();
    }
    assert_eq!(send_lines(server.addr(), &lines), "ok\n\n".repeat(540));

    let expected = dir.path().join("expected.json");
    std::fs::write(&expected, r#"{"path": ["palm", "cpu"], "points": 180, "last": 42.5}"#).unwrap();
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
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
