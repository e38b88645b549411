//! Running the real `eardrum` binary as a separate process.

#![allow(dead_code, reason = "each test file uses a different part")]
#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

pub(crate) mod writers;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_eardrum");

/// A server process; killed when dropped if still running.
pub(crate) struct ServerProcess {
    pub child: Child,
    pub port: u16,
    pub http_port: u16,
    /// Everything the server has logged so far.
    log: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Starts `eardrum serve` on a port the system picks (so no test can
    /// race another for it), with the HTTP API off, and waits until it
    /// listens.
    pub(crate) fn start(dir: &Path, extra: &[&str]) -> ServerProcess {
        ServerProcess::start_with_env(dir, extra, &[])
    }

    /// As [`ServerProcess::start`], with extra environment variables.
    pub(crate) fn start_with_env(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        ServerProcess::spawn(dir, &[&["--http-port", "0"], extra].concat(), env, 0)
    }

    /// As [`ServerProcess::start`], with the HTTP API on a free port.
    pub(crate) fn start_with_http(dir: &Path, extra: &[&str]) -> ServerProcess {
        let http_port = free_port();
        ServerProcess::spawn(dir, &[&["--http-port", &http_port.to_string()], extra].concat(), &[], http_port)
    }

    fn spawn(dir: &Path, args: &[&str], env: &[(&str, &str)], http_port: u16) -> ServerProcess {
        // A port the system picks, and the Graphite listener off, unless a
        // test says otherwise.
        let default = |flag: &'static str| if args.contains(&flag) { vec![] } else { vec![flag, "0"] };
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(default("--port"))
            .args(default("--graphite-port"))
            .arg("--data-dir")
            .arg(dir)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (port_tx, port_rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(port) = line.split_whitespace().find_map(|w| w.strip_prefix("addr=")) {
                    let _ = port_tx.send(port.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()));
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let port = match port_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Some(port)) => port,
            _ => {
                let _ = child.kill();
                let status = child.wait().unwrap();
                std::thread::sleep(Duration::from_millis(100));
                panic!("server did not start ({status}): {}", log.lock().unwrap());
            }
        };
        ServerProcess { child, port, http_port, log }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// SIGKILL: no chance to flush or sync anything.
    pub(crate) fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then wait for the exit status.
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = i32::try_from(self.child.id()).unwrap();
        assert_eq!(send_signal(pid, libc::SIGTERM), 0);
        self.child.wait().unwrap()
    }

    /// What the server logged (complete once it has exited).
    pub(crate) fn stderr(&mut self) -> String {
        // The reader thread finishes shortly after the process exits.
        std::thread::sleep(Duration::from_millis(50));
        self.log.lock().unwrap().clone()
    }
}

#[expect(unsafe_code, reason = "sending a signal needs libc")]
fn send_signal(pid: i32, signal: i32) -> i32 {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, signal) }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A loopback port that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs the binary to completion.
pub(crate) fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).stdin(Stdio::null()).output().unwrap()
}

/// Runs the binary with `input` on stdin.
pub(crate) fn run_with_input(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("HOME", std::env::temp_dir())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Sends protocol lines and reads their replies to the end.
pub(crate) fn send_lines(addr: SocketAddr, lines: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        let lines = lines.to_owned();
        std::thread::spawn(move || {
            stream.write_all(lines.as_bytes()).unwrap();
            stream.shutdown(std::net::Shutdown::Write).unwrap();
        })
    };
    let mut replies = String::new();
    stream.read_to_string(&mut replies).unwrap();
    writer.join().unwrap();
    replies
}

/// A GET to the HTTP API: the status code and the body.
pub(crate) fn http_get(port: u16, path_and_query: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path_and_query} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    (status, body.to_owned())
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
