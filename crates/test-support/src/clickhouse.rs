//! Real ClickHouse servers (Debian's clickhouse-server) on loopback, each
//! in a temporary folder of its own.
//!
//! Nothing here installs anything: the tests that start ClickHouse are
//! `#[ignore = "needs ClickHouse …"]`, and `cargo xtask test` installs it
//! (through `.ci/test-deps`) before running them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A ClickHouse server in a temporary folder, stopped when dropped.
///
/// It runs under a watchdog shell that kills it when the test process
/// goes, so a server shared by a whole test binary (kept in a static,
/// never dropped) does not outlive it.
#[derive(Debug)]
pub struct Server {
    watchdog: Child,
    /// The HTTP interface, which eardrum speaks.
    pub http_port: u16,
    /// The native port, which a cluster's nodes speak to each other.
    pub tcp_port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Server {
    /// The `--storage` URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("clickhouse://127.0.0.1:{}/{database}", self.http_port)
    }

    /// Runs `sql` in `database` over the HTTP interface, for a test to look
    /// at what ClickHouse holds directly; ClickHouse's output, or its error
    /// as the panic.
    pub fn query(&self, database: &str, sql: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.http_port)).unwrap();
        let request = format!(
            "POST /?database={database} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{sql}",
            sql.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
        assert!(head.starts_with("HTTP/1.0 200"), "{sql}: {head}\n{body}");
        body.to_owned()
    }

    /// SIGKILLs ClickHouse, as a crash would.
    pub fn kill(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("clickhouse.pid")) {
            let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
        }
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }

    /// Starts ClickHouse again on the same folder and ports, after
    /// [`Server::kill`].
    pub fn restart(&mut self) {
        self.watchdog = spawn(self.dir.path());
        wait_until_up(self);
    }
}

/// A port no one listens on at the moment.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One server on its own.
pub fn start_clickhouse() -> Server {
    start_node(free_port(), "")
}

/// `count` servers forming the cluster `cluster`, one shard each.
pub fn start_cluster(cluster: &str, count: usize) -> Vec<Server> {
    let ports: Vec<u16> = (0..count).map(|_| free_port()).collect();
    let shards: String = ports
        .iter()
        .map(|port| format!("<shard><replica><host>127.0.0.1</host><port>{port}</port></replica></shard>"))
        .collect();
    let remote_servers = format!("<remote_servers><{cluster}>{shards}</{cluster}></remote_servers>");
    ports.iter().map(|&port| start_node(port, &remote_servers)).collect()
}

/// Where Debian's package puts the server.
const SERVER_BINARY: &str = "/usr/sbin/clickhouse-server";

fn start_node(tcp_port: u16, extra_config: &str) -> Server {
    assert!(
        Path::new(SERVER_BINARY).exists(),
        "{SERVER_BINARY} is missing: install Debian's clickhouse-server (`.ci/test-deps` does), or run `cargo xtask test`"
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let http_port = free_port();
    std::fs::write(
        dir.path().join("users.xml"),
        "<yandex><profiles><default></default></profiles><quotas><default></default></quotas>\
         <users><default><password></password><networks><ip>127.0.0.1</ip></networks>\
         <profile>default</profile><quota>default</quota></default></users></yandex>",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.xml"),
        format!(
            "<yandex><logger><level>warning</level><console>1</console></logger>\
             <http_port>{http_port}</http_port><tcp_port>{tcp_port}</tcp_port>\
             <listen_host>127.0.0.1</listen_host><path>{root}/data/</path><tmp_path>{root}/tmp/</tmp_path>\
             <user_files_path>{root}/files/</user_files_path><users_config>{root}/users.xml</users_config>\
             <default_profile>default</default_profile><default_database>default</default_database>\
             <mark_cache_size>104857600</mark_cache_size>{extra_config}</yandex>"
        ),
    )
    .unwrap();
    let watchdog = spawn(dir.path());
    let server = Server { watchdog, http_port, tcp_port, dir };
    wait_until_up(&server);
    server
}

/// Starts clickhouse-server with the configuration in `dir`, under a shell
/// that kills it when this process (or the shell itself) is gone.
fn spawn(dir: &Path) -> Child {
    let script = format!(
        "{SERVER_BINARY} --config-file={dir}/config.xml & server=$!\n\
         echo $server > {dir}/clickhouse.pid\n\
         trap 'kill -KILL $server; exit' TERM HUP\n\
         while kill -0 {parent} 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 0.5; done\n\
         kill -KILL $server 2>/dev/null",
        dir = dir.display(),
        parent = std::process::id(),
    );
    Command::new("bash")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("clickhouse-server runs")
}

/// Waits until the server answers its HTTP interface's `/ping`.
fn wait_until_up(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !answers_ping(server.http_port) {
        assert!(Instant::now() < deadline, "ClickHouse did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn answers_ping(http_port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", http_port)) else { return false };
    let request = "GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    let mut reply = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut reply).is_ok()
        && reply.starts_with("HTTP/1.0 200")
}

/// A connection to `database` on `server`.
pub fn connect(server: &Server, database: &str) -> eardrum_clickhouse::ClickHouse {
    eardrum_clickhouse::ClickHouse::new(&server.url(database), Duration::from_secs(10)).unwrap()
}
