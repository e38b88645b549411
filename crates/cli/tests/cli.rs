//! The command-line tool end to end: serve, put, get, shell, and the
//! messages a person sees when something is wrong.

mod common;

use common::*;

#[test]
fn put_then_get_prints_rows_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let port = server.port.to_string();
    for (value, timestamp) in [("23.7", "1150864247"), ("-inf", "1150864246"), ("1e16", "1150864248")] {
        let out = run(&["put", "palm.cpu", value, timestamp, "--port", &port]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = run(&["get", "palm.cpu", "--port", &port]);
    assert_eq!(
        text(&out.stdout),
        "palm.cpu -inf 1150864246\npalm.cpu 23.7 1150864247\npalm.cpu 1e+16 1150864248\n"
    );
    let out = run(&["get", "*", "--json", "--port", &port]);
    assert_eq!(
        text(&out.stdout),
        "{\"palm.cpu\":[[1150864246,\"-inf\"],[1150864247,23.7],[1150864248,1e+16]]}\n"
    );
    let out = run(&["get", "missing", "--json", "--port", &port]);
    assert_eq!(text(&out.stdout), "{}\n");
}

#[test]
fn the_shell_sends_requests_and_prints_replies_readably() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let port = server.port.to_string();
    let input = "help\nput test_key 12.0 1503319740\nput test_key 13.0 1503319739\n\nget test_key\ngot test_key\nput x 1\nget nothing\nquit\nget never_sent\n";
    let out = run_with_input(&["shell", "--port", &port], input);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("put KEY VALUE [TIMESTAMP]"), "{stdout}");
    assert!(
        stdout.contains("test_key  13.0  1503319739\ntest_key  12.0  1503319740\n(2 points, 1 series)"),
        "{stdout}"
    );
    assert!(stdout.contains("error: wrong command: unknown command \"got\""), "{stdout}");
    assert!(stdout.contains("(no points)"), "{stdout}");
    assert!(!stdout.contains("never_sent"), "{stdout}");
    // `put x 1` got the current time.
    let out = run(&["get", "x", "--port", &port]);
    assert!(text(&out.stdout).starts_with("x 1.0 1"), "{}", text(&out.stdout));
}

#[test]
fn bad_arguments_and_unreachable_servers_are_clear_errors() {
    let out = run(&["put", "k", "10,5"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("\"10,5\" is not a number"), "{}", text(&out.stderr));
    let out = run(&["serve", "--fsync", "sometimes"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("possible values: always, everysec, never"), "{}", text(&out.stderr));
    let port = free_port().to_string();
    let out = run(&["get", "k", "--port", &port]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("error: cannot connect to 127.0.0.1:"), "{}", text(&out.stderr));
}

#[test]
fn storage_schemas_set_the_steps_render_reads_and_bad_ones_are_refused_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let schemas = dir.path().join("storage-schemas.conf");
    let aggregation = dir.path().join("storage-aggregation.conf");
    std::fs::write(&schemas, "[minute]\npattern = ^palm\\.\nretentions = 1m:30d\n").unwrap();
    std::fs::write(&aggregation, "[all]\npattern = .\naggregationMethod = sum\n").unwrap();
    let data = dir.path().join("data");
    let flags = [
        "--storage-schemas",
        schemas.to_str().unwrap(),
        "--storage-aggregation",
        aggregation.to_str().unwrap(),
    ];
    let server = ServerProcess::start_with_http(&data, &flags);
    let port = server.port.to_string();
    // Every 10 s, but the schema says a minute: the last in each minute.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let minute = now - now % 60 - 120;
    for (offset, value) in [(0, "1"), (10, "2"), (50, "3"), (60, "4")] {
        let timestamp = (minute + offset).to_string();
        assert!(run(&["put", "palm.cpu", value, &timestamp, "--port", &port]).status.success());
    }
    let query = format!("/render?target=palm.cpu&from={}&until={}", minute - 1, minute + 60);
    let (status, body) = http_get(server.http_port, &query);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&format!("[[3.0, {minute}], [4.0, {}]]", minute + 60)), "{body}");
    // `get` still has every point as put.
    let out = run(&["get", "palm.cpu", "--port", &port]);
    assert_eq!(text(&out.stdout).lines().count(), 4);

    std::fs::write(&schemas, "[minute]\npattern = ^palm\\.\nretentions = 1m:30d,90s:1y\n").unwrap();
    let out =
        run(&["serve", "--port", &free_port().to_string(), "--storage-schemas", schemas.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{}: line 3: precision 60s does not divide 90s", schemas.display())),
        "{stderr}"
    );
    let out = run(&["serve", "--storage-aggregation", aggregation.to_str().unwrap()]);
    assert!(text(&out.stderr).contains("--storage-schemas"), "{}", text(&out.stderr));
    // One way to say how long points are kept: the schemas' retentions.
    let out = run(&["serve", "--storage-schemas", schemas.to_str().unwrap(), "--retention", "30d"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("'--storage-schemas <FILE>' cannot be used with '--retention"), "{stderr}");
}

#[test]
fn sigterm_shuts_down_cleanly_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path(), &["--fsync", "never"]);
    let port = server.port.to_string();
    assert!(run(&["put", "kept", "1", "1", "--port", &port]).status.success());
    assert!(server.terminate().success());
    assert!(server.stderr().contains("stopped; the log is synced"));
    let server = ServerProcess::start(dir.path(), &[]);
    let out = run(&["get", "kept", "--port", &server.port.to_string()]);
    assert_eq!(text(&out.stdout), "kept 1.0 1\n");
}

#[test]
fn a_corrupt_log_is_refused_with_file_offset_and_the_salvage_flag() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path(), &[]);
    let port = server.port.to_string();
    for i in 0..5 {
        assert!(run(&["put", "k", &i.to_string(), &i.to_string(), "--port", &port]).status.success());
    }
    // Killed, so that no shutdown checkpoint takes the log away.
    server.kill();
    let segment = dir.path().join("wal/00000000000000000001.wal");
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[30] ^= 0xff;
    std::fs::write(&segment, bytes).unwrap();

    let out = run(&["serve", "--port", &free_port().to_string(), "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&segment.display().to_string()), "{stderr}");
    assert!(stderr.contains("corrupt at byte offset"), "{stderr}");
    assert!(stderr.contains("--salvage"), "{stderr}");

    let server = ServerProcess::start(dir.path(), &["--salvage"]);
    let out = run(&["get", "*", "--port", &server.port.to_string()]);
    assert!(out.status.success());
    assert!(dir.path().join("damaged").is_dir());
}

#[test]
fn a_folder_whose_manifest_was_deleted_is_refused_then_salvaged_without_deleting_anything() {
    let dir = tempfile::tempdir().unwrap();
    // Two clean stops checkpoint twice: the points are in block files, and
    // the log the first checkpoint covers is gone. (With the whole log
    // still there, as after one checkpoint, the folder would open from it
    // and lose nothing: a crash in the first checkpoint leaves it so.)
    for round in 0..2 {
        let mut server = ServerProcess::start(dir.path(), &[]);
        let port = server.port.to_string();
        for i in 0..5 {
            let (value, timestamp) = ((round * 10 + i).to_string(), (round * 10 + i).to_string());
            assert!(run(&["put", "k", &value, &timestamp, "--port", &port]).status.success());
        }
        assert!(server.terminate().success());
    }
    let blocks = || std::fs::read_dir(dir.path().join("blocks")).unwrap().count();
    let block_files = blocks();
    assert!(block_files > 0);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("checkpoint-") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let out = run(&["serve", "--port", &free_port().to_string(), "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no checkpoint manifest") && stderr.contains("--salvage"), "{stderr}");
    assert_eq!(blocks(), block_files, "refusing deleted nothing");

    let server = ServerProcess::start(dir.path(), &["--salvage"]);
    let out = run(&["get", "*", "--port", &server.port.to_string()]);
    assert!(out.status.success());
    let aside = dir.path().join("damaged");
    let kept: usize = std::fs::read_dir(&aside)
        .unwrap()
        .map(|d| std::fs::read_dir(d.unwrap().path()).unwrap().count())
        .sum();
    assert!(kept >= block_files, "every block file is kept aside: {kept}");
}

#[test]
fn stats_prints_what_the_server_holds() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with_http(dir.path(), &[]);
    let port = server.port.to_string();
    for i in 0..3 {
        assert!(run(&["put", "host1.cpu", "1.5", &i.to_string(), "--port", &port]).status.success());
    }
    let out = run(&["stats", "--http-port", &server.http_port.to_string()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("series           1\npoints           3\n"), "{stdout}");
    assert!(stdout.contains("B/point"), "{stdout}");
    let out = run(&["stats", "--json", "--http-port", &server.http_port.to_string()]);
    let json: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(json["puts_stored"], 3);
    let out = run(&["stats", "--http-port", &free_port().to_string()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("is the server's HTTP API on that port?"), "{}", text(&out.stderr));
}

#[test]
fn bench_loads_a_server_it_starts_and_checks_every_point() {
    let out = run(&["bench", "--serve", "--series", "200", "--points", "20", "--connections", "3", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(report["acknowledged"], 4000);
    assert_eq!(report["query"]["all_rows"], 4000);
    assert_eq!(report["query"]["one_key_rows"], 20);
    assert!(report["server_cpu_seconds"].as_f64().is_some());
    assert!(report["server_peak_rss_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn bench_fails_loudly_when_the_server_refuses_puts() {
    // A "server" that answers every line with the error reply.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    std::thread::spawn(move || {
        use std::io::{BufRead, Write};
        let (stream, _) = listener.accept().unwrap();
        let mut writer = stream.try_clone().unwrap();
        for line in std::io::BufReader::new(stream).lines() {
            if line.is_err() || writer.write_all(b"error\nwrong command\n\n").is_err() {
                break;
            }
        }
    });
    let out = run(&["bench", "--port", &port, "--series", "10", "--points", "2", "--connections", "1"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("instead of ok"), "{}", text(&out.stderr));
}

#[test]
fn a_taken_port_names_its_listener_and_the_flag_that_moves_it() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let data = dir.path().to_str().unwrap();
    for (flag, others) in
        [("--graphite-port", ["--http-port", "0"]), ("--http-port", ["--graphite-port", "0"])]
    {
        let out = run(&["serve", "--port", "0", flag, &port, others[0], others[1], "--data-dir", data]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert!(stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{stderr}");
        assert!(stderr.contains(&format!("choose another with {flag}")), "{stderr}");
    }
}
