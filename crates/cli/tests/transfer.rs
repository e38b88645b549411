//! `eardrum import` and `eardrum export` against a real server: a round
//! trip of many points that comes back byte for byte (after sorting), in
//! both formats; an import stopped by a bad line and resumed; filters.
//!
//! `EARDRUM_ROUNDTRIP_POINTS` sets the round trip's size (default 200,000;
//! BENCHMARKS.md records a 10,000,000-point run in release mode).

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

mod common;

use common::*;
use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;

/// `count` points over 1,000 series every 10 s, values with 0 to 3
/// decimals, some repeated, and the special values, as `get` prints them.
fn points_file(count: usize) -> String {
    let mut text = String::with_capacity(count * 32);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..count {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let value = match state % 50 {
            0 => "nan".to_owned(),
            1 => "inf".to_owned(),
            2 => "-inf".to_owned(),
            3 => "42.0".to_owned(),
            r => format!(
                "{}",
                eardrum_protocol::PyFloat((state >> 20) as f64 / [1.0, 10.0, 100.0, 1000.0][r as usize % 4])
            ),
        };
        let _ = writeln!(
            text,
            "host{}.metric{} {value} {}",
            i % 1000,
            i % 3,
            1_700_000_000 + (i / 1000) as i64 * 10
        );
    }
    text
}

fn sorted_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines
}

fn import(port: u16, path: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import", path.to_str().unwrap(), "--port"];
    let port = port.to_string();
    args.push(&port);
    args.extend_from_slice(extra);
    run(&args)
}

fn export(port: u16, extra: &[&str]) -> String {
    let port = port.to_string();
    let output = run(&[&["export", "--port", &port], extra].concat());
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
}

#[test]
fn many_points_round_trip_exactly_in_both_formats() {
    let count: usize =
        std::env::var("EARDRUM_ROUNDTRIP_POINTS").ok().and_then(|n| n.parse().ok()).unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let original = points_file(count);
    let file = dir.path().join("points.txt");
    std::fs::write(&file, &original).unwrap();

    let started = Instant::now();
    let output = import(server.port, &file, &[]);
    let import_seconds = started.elapsed().as_secs_f64();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains(&format!("imported {count} points from {count} lines")),
        "{}",
        text(&output.stderr)
    );
    let started = Instant::now();
    let exported = export(server.port, &[]);
    let export_seconds = started.elapsed().as_secs_f64();
    assert!(sorted_lines(&exported) == sorted_lines(&original), "the export differs from the import");
    println!(
        "{count} points: import {import_seconds:.2} s ({:.0} points/s), export {export_seconds:.2} s ({:.0} points/s)",
        count as f64 / import_seconds,
        count as f64 / export_seconds
    );

    // CSV, into a second server, from standard input.
    let csv = export(server.port, &["--format", "csv"]);
    assert!(csv.starts_with("key,timestamp,value\n"));
    let other_dir = tempfile::tempdir().unwrap();
    let other = ServerProcess::start(other_dir.path(), &[]);
    let mut child = Command::new(BIN)
        .args(["import", "-", "--format", "csv", "--quiet", "--port", &other.port.to_string()])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, csv.as_bytes()).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(sorted_lines(&export(other.port, &[])) == sorted_lines(&original), "the CSV round trip differs");
}

#[test]
fn an_import_stopped_by_a_bad_line_says_where_and_resumes_there() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let mut lines: Vec<String> = points_file(50_000).lines().map(str::to_owned).collect();
    let good = lines[40_000].clone();
    let (key, rest) = good.split_once(' ').unwrap();
    let timestamp = rest.rsplit(' ').next().unwrap();
    lines[40_000] = format!("{key} not-a-number {timestamp}");
    let file = dir.path().join("points.txt");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let output = import(server.port, &file, &["--quiet"]);
    assert!(!output.status.success());
    let message = text(&output.stderr);
    assert!(message.contains("line 40001: value \"not-a-number\" is not a float"), "{message}");
    assert!(message.contains("the points of the first 40000 lines are stored"), "{message}");
    assert!(message.contains("--skip-lines 40000"), "{message}");
    assert_eq!(export(server.port, &[]).lines().count(), 40_000, "every point before the bad line");

    lines[40_000] = good;
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let output = import(server.port, &file, &["--skip-lines", "40000"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("imported 10000 points"), "{}", text(&output.stderr));
    let mut expected = lines.clone();
    expected.sort_unstable();
    assert!(sorted_lines(&export(server.port, &[])) == expected, "the export differs from the file");
}

#[test]
fn export_filters_by_pattern_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let file = dir.path().join("points.txt");
    std::fs::write(&file, "palm.cpu 1.0 100\npalm.cpu 2.0 200\npalm.mem 3.0 100\neardrum.cpu 4.0 100\n")
        .unwrap();
    assert!(import(server.port, &file, &["--quiet"]).status.success());
    assert_eq!(export(server.port, &["*.cpu", "--until", "150"]), "palm.cpu 1.0 100\neardrum.cpu 4.0 100\n");
    assert_eq!(export(server.port, &["palm.cpu", "--from", "150"]), "palm.cpu 2.0 200\n");
    assert_eq!(
        export(server.port, &["{palm,x}.mem", "--format", "csv"]),
        "key,timestamp,value\npalm.mem,100,3.0\n"
    );
    let output = run(&["export", "a.[b", "--port", &server.port.to_string()]);
    assert!(
        !output.status.success() && text(&output.stderr).contains("invalid pattern \"a.[b\""),
        "{}",
        text(&output.stderr)
    );
}
