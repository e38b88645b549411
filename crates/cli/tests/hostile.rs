//! Hostile and broken clients against a real server process: a 64 MiB
//! line, random binary, slowloris clients, 10,000 idle connections, a
//! client that never reads. In each, the server's peak memory stays
//! bounded and a well-behaved client keeps being served.
//!
//! Each test prints the server's resident memory before and its peak
//! after (`cargo test --release -p eardrum --test hostile -- --nocapture
//! --test-threads 1` gives the figures in RELIABILITY.md).

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

mod common;

use common::ServerProcess;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const MIB: u64 = 1024 * 1024;

/// A field of /proc/PID/status in bytes (`VmRSS` now, `VmHWM` the peak).
fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// A server, and its resident memory once it has served a first client.
fn server(flags: &[&str]) -> (tempfile::TempDir, ServerProcess, u64) {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[&["--fsync", "never"], flags].concat());
    assert_served(server.addr(), "warm.up");
    let baseline = memory(server.child.id(), "VmRSS");
    (dir, server, baseline)
}

/// A well-behaved client stores a point and reads it back, promptly.
fn assert_served(addr: SocketAddr, key: &str) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(format!("put {key} 1.5 1\nget {key}\n").as_bytes()).unwrap();
    let expected = format!("ok\n\nok\n{key} 1.5 1\n\n");
    let mut reply = vec![0; expected.len()];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(String::from_utf8_lossy(&reply), expected);
    assert!(started.elapsed() < Duration::from_secs(5), "served, but only after {:?}", started.elapsed());
}

/// Checks the server's peak against `baseline + allowed` and prints both.
fn assert_peak(name: &str, server: &ServerProcess, baseline: u64, allowed: u64) {
    let peak = memory(server.child.id(), "VmHWM");
    println!(
        "hostile/{name}: resident {:.1} MiB before, peak {:.1} MiB (+{:.1} MiB)",
        baseline as f64 / MIB as f64,
        peak as f64 / MIB as f64,
        peak.saturating_sub(baseline) as f64 / MIB as f64
    );
    assert!(peak <= baseline + allowed, "{name}: peak {peak} over {baseline} + {allowed}");
}

/// Reads and discards what arrives until the peer closes or `limit` passes.
fn drain(mut stream: TcpStream, limit: Duration) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        stream.set_read_timeout(Some(limit)).unwrap();
        let mut chunk = [0u8; 64 * 1024];
        let mut total = 0;
        while let Ok(read @ 1..) = stream.read(&mut chunk) {
            total += read as u64;
        }
        total
    })
}

#[test]
fn a_64_mib_line_without_a_newline_gets_the_error_reply_and_a_close() {
    let (_dir, server, baseline) = server(&[]);
    let mut attacker = TcpStream::connect(server.addr()).unwrap();
    let replies = drain(attacker.try_clone().unwrap(), Duration::from_secs(30));
    let chunk = vec![b'a'; MIB as usize];
    let mut sent = 0;
    for _ in 0..64 {
        // The server closes after the error reply: later writes fail.
        if attacker.write_all(&chunk).is_err() {
            break;
        }
        sent += 1;
    }
    assert_served(server.addr(), "during.long.line");
    let replied = replies.join().unwrap();
    assert_eq!(replied, b"error\nwrong command\n\n".len() as u64, "one error reply, then the close");
    assert!(sent < 64, "the server read all 64 MiB of one line");
    assert_peak("64 MiB line", &server, baseline, 16 * MIB);
}

#[test]
fn random_binary_gets_error_replies_and_changes_nothing() {
    let (_dir, server, baseline) = server(&[]);
    let mut attacker = TcpStream::connect(server.addr()).unwrap();
    let replies = drain(attacker.try_clone().unwrap(), Duration::from_secs(30));
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk = vec![0u8; MIB as usize];
    for _ in 0..32 {
        for byte in &mut chunk {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        if attacker.write_all(&chunk).is_err() {
            break;
        }
    }
    assert_served(server.addr(), "during.binary");
    drop(attacker);
    assert!(replies.join().unwrap() > 0, "the garbage got error replies");
    // Random bytes rarely form a valid put; none may have a key that is
    // not valid UTF-8, and the store still answers.
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.write_all(b"get *\n").unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut all = Vec::new();
    let mut chunk = [0u8; 4096];
    while !all.ends_with(b"\n\n") {
        let read = stream.read(&mut chunk).unwrap();
        assert!(read > 0);
        all.extend_from_slice(&chunk[..read]);
    }
    assert!(std::str::from_utf8(&all).is_ok(), "a get reply that is not UTF-8");
    assert_peak("random binary", &server, baseline, 16 * MIB);
}

#[test]
fn slowloris_clients_sending_a_byte_at_a_time_hold_up_no_one() {
    let (_dir, server, baseline) = server(&[]);
    let mut slow: Vec<TcpStream> = (0..200).map(|_| TcpStream::connect(server.addr()).unwrap()).collect();
    let request = b"put slow 1 1\n";
    for (at, byte) in request.iter().enumerate() {
        for stream in &mut slow {
            stream.write_all(&[*byte]).unwrap();
        }
        if at % 4 == 0 {
            assert_served(server.addr(), "between.bytes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for stream in &mut slow {
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut reply = [0u8; 4];
        stream.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"ok\n\n");
    }
    assert_peak("200 slowloris clients", &server, baseline, 32 * MIB);
}

#[test]
fn ten_thousand_idle_connections_cost_little_and_hold_up_no_one() {
    const IDLE: usize = 10_000;
    let wanted = IDLE as u64 + 256;
    let limit = rlimit::increase_nofile_limit(wanted).unwrap();
    assert!(limit >= wanted, "this test needs {wanted} open files; the hard limit is {limit}");
    let (_dir, server, baseline) = server(&["--max-connections", "10100"]);
    let idle: Vec<TcpStream> = (0..IDLE).map(|_| TcpStream::connect(server.addr()).unwrap()).collect();
    // Let the server accept them all: they count once served.
    let deadline = Instant::now() + Duration::from_secs(60);
    while open_connections(&server) < IDLE as u64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_served(server.addr(), "among.idle");
    let per_connection = memory(server.child.id(), "VmHWM").saturating_sub(baseline) / IDLE as u64;
    println!("hostile/10,000 idle connections: {per_connection} bytes of peak memory each");
    assert_peak("10,000 idle connections", &server, baseline, 128 * MIB);
    drop(idle);
}

/// The server's open connections, from its process: its TCP sockets.
fn open_connections(server: &ServerProcess) -> u64 {
    let fds = std::fs::read_dir(format!("/proc/{}/fd", server.child.id())).unwrap();
    fds.flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        })
        .count() as u64
}

#[test]
fn a_client_that_never_reads_its_replies_is_held_by_backpressure() {
    let (_dir, server, baseline) = server(&[]);
    let mut greedy = TcpStream::connect(server.addr()).unwrap();
    greedy.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let chunk = b"put greedy 1 1\n".repeat(65_536);
    let mut sent = 0u64;
    // Writes until a write blocks for 2 s: the server stopped reading.
    while greedy.write_all(&chunk).is_ok() {
        sent += chunk.len() as u64;
        assert!(sent < 1024 * MIB, "the server kept reading a client that reads nothing");
    }
    println!(
        "hostile/never reads: {:.1} MiB sent before the server stopped reading",
        sent as f64 / MIB as f64
    );
    assert_served(server.addr(), "beside.greedy");
    assert_peak("a client that never reads", &server, baseline, 16 * MIB);
}
