//! `eardrum serve`: open the store, run the server until a stop signal.

use crate::args::{Fsync, ServeArgs};
use anyhow::Context;
use eardrum_clickhouse::{ClickHouse, FrontEnd};
use eardrum_graphite::schema::StorageSchemas;
use eardrum_server::CancellationToken;
use eardrum_server::{AuthToken, Config, Server, TlsConfig};
use eardrum_storage::{Backend, Options, RecoveryMode, Store, SyncMode};
use std::net::SocketAddr;
use std::sync::Arc;

/// Runs the server in the foreground.
pub(crate) fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let storage_schemas = Arc::new(read_storage_schemas(&args)?);
    let options = Options {
        sync: match args.fsync {
            Fsync::Always => SyncMode::Always,
            Fsync::Everysec => SyncMode::EverySecond,
            Fsync::Never => SyncMode::Never,
        },
        recovery: if args.salvage { RecoveryMode::Salvage } else { RecoveryMode::Strict },
        retention: args.retention.clone().unwrap_or_default().raw,
        rollups: args.retention.clone().unwrap_or_default().rollups,
        storage_schemas: storage_schemas.is_configured().then(|| Arc::clone(&storage_schemas)),
        checkpoint_interval: (!args.checkpoint_interval.is_zero()).then_some(args.checkpoint_interval),
        max_series: (args.max_series != 0).then_some(args.max_series),
        memory_budget: args.memory_budget,
        ..Options::default()
    };
    // Checked before the store opens: a typo in a path should not cost a
    // log replay.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsConfig::from_pem_files(cert, key)?),
        _ => None,
    };
    let auth_token = args.auth_token_file.as_deref().map(AuthToken::read_file).transpose()?;
    warn_about_exposure(&args);
    raise_open_file_limit(args.max_connections + args.limits.max_pending_connections);
    let store = open_backend(&args, options)?;
    let config = Config {
        addr: SocketAddr::new(args.host, args.port),
        http_addr: (args.http_port != 0).then(|| SocketAddr::new(args.host, args.http_port)),
        graphite_addr: (args.graphite_port != 0).then(|| SocketAddr::new(args.host, args.graphite_port)),
        max_line_bytes: args.max_line_bytes,
        max_key_bytes: args.max_key_bytes,
        max_reply_buffer_bytes: args.max_reply_buffer_bytes,
        max_connections: args.max_connections,
        max_pending_connections: args.limits.max_pending_connections,
        listen_backlog: args.limits.listen_backlog,
        handshake_timeout: args.limits.handshake_timeout,
        http_limits: args.limits.http_limits(),
        idle_timeout: (!args.idle_timeout.is_zero()).then_some(args.idle_timeout),
        auth_token,
        tls,
        storage_schemas,
        ..Config::default()
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.worker_threads(match args.threads {
        0 => default_threads(std::thread::available_parallelism().map_or(1, usize::from)),
        threads => threads,
    });
    let runtime =
        runtime.enable_all().thread_name("eardrum-worker").build().context("starting the async runtime")?;
    runtime.block_on(async {
        let ports = (args.port, args.http_port, args.graphite_port);
        let server =
            Server::bind_shared(config, store).await.map_err(|error| explain_bind_error(error, ports))?;
        let shutdown = CancellationToken::new();
        let signals = tokio::spawn(eardrum_server::shutdown::cancel_on_signal(shutdown.clone()));
        server.run(shutdown).await?;
        signals.abort();
        anyhow::Ok(())
    })
}

/// The storage schemas `--storage-schemas` and `--storage-aggregation`
/// name, none without them.
fn read_storage_schemas(args: &ServeArgs) -> anyhow::Result<StorageSchemas> {
    let Some(schemas) = &args.storage_schemas else {
        return Ok(StorageSchemas::default());
    };
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    };
    let aggregation = args.storage_aggregation.as_deref().map(read).transpose()?;
    StorageSchemas::parse(&read(schemas)?, aggregation.as_deref()).map_err(|reason| {
        let file = match reason.starts_with("storage-aggregation") {
            true => args.storage_aggregation.as_deref().unwrap_or(schemas),
            false => schemas,
        };
        anyhow::anyhow!("{}: {reason}", file.display())
    })
}

/// The embedded store in the data folder, or with `--storage` a front end
/// over ClickHouse whose local log is there.
fn open_backend(args: &ServeArgs, options: Options) -> anyhow::Result<Arc<dyn Backend>> {
    let Some(url) = &args.storage else {
        let store = Store::open(&args.data_dir, options).map_err(|error| explain_open_error(error, args))?;
        return Ok(Arc::new(store));
    };
    let mut clickhouse = ClickHouse::new(url, args.clickhouse_timeout)?;
    if let Some(cluster) = &args.clickhouse_cluster {
        clickhouse = clickhouse.with_cluster(cluster)?;
    }
    let front_end = FrontEnd::open(&args.data_dir, options, clickhouse, args.ship_interval)
        .map_err(|error| explain_open_error(error, args))?;
    Ok(Arc::new(front_end))
}

/// Connection threads when `--threads` is not given: half the CPUs, at
/// least one and at most four.
///
/// Every put batch takes a turn on the store (a log write and the memory
/// update: about a third of a batch's CPU, measured), so threads beyond
/// three or four only queue for it. And a thread that runs out of work
/// sleeps and must be woken, which on a small machine costs more than the
/// parallelism gains: on 2 CPUs one thread served 4 pipelining clients
/// faster than two did, and strict request/response clients too
/// (BENCHMARKS.md). The other CPUs are left to the kernel's network stack,
/// the log's syncs, checkpoints and the HTTP API.
fn default_threads(cpus: usize) -> usize {
    (cpus / 2).clamp(1, 4)
}

/// Warns about settings that leave the token exposed: readable by other
/// users of the machine, or sent in clear text beyond this machine.
fn warn_about_exposure(args: &ServeArgs) {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = &args.auth_token_file else {
        return;
    };
    if let Ok(metadata) = std::fs::metadata(path) {
        if metadata.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                file = %path.display(),
                "the auth token file is readable by other users; `chmod 600` it"
            );
        }
    }
    if args.tls_cert.is_none() && !args.host.is_loopback() {
        tracing::warn!(
            host = %args.host,
            "the auth token travels in clear text to a non-loopback address; add --tls-cert and --tls-key"
        );
    }
}

/// Raises this process's open-file limit (the soft limit, up to the hard
/// one) so that every connection slot can be used: the usual soft limit of
/// 1,024 would make accepting fail long before the default 10,000.
fn raise_open_file_limit(connection_slots: usize) {
    // Log segments, the listeners and the block files the store keeps open
    // need some.
    let wanted = (connection_slots + 256 + eardrum_storage::OPEN_BLOCK_FILES) as u64;
    match rlimit::increase_nofile_limit(wanted) {
        Ok(limit) if limit < wanted => tracing::warn!(
            limit,
            connection_slots,
            "the open-file limit is below --max-connections plus --max-pending-connections plus \
             768 (the store's files); accepting will fail before the connection limit (raise it \
             with `ulimit -n` or LimitNOFILE=, or lower --max-connections)"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot read or raise the open-file limit"),
    }
}

/// Names the listener whose port is taken, and the flag that moves it.
fn explain_bind_error(
    error: eardrum_server::Error,
    (port, http, graphite): (u16, u16, u16),
) -> anyhow::Error {
    let hint = match &error {
        eardrum_server::Error::Bind { addr, .. } if addr.port() == graphite => {
            "the Graphite plaintext port: choose another with --graphite-port, or 0 to turn it off"
        }
        eardrum_server::Error::Bind { addr, .. } if addr.port() == http => {
            "the HTTP port: choose another with --http-port, or 0 to turn it off"
        }
        eardrum_server::Error::Bind { addr, .. } if addr.port() == port => {
            "the protocol port: choose another with --port"
        }
        _ => return anyhow::Error::new(error),
    };
    let error = anyhow::Error::new(error);
    anyhow::anyhow!("{error:#}\nhint: is another server running? That is {hint}.")
}

/// Adds what an operator needs to act on a store that will not open.
fn explain_open_error(error: eardrum_storage::Error, args: &ServeArgs) -> anyhow::Error {
    let dir = args.data_dir.display();
    let hint = match &error {
        eardrum_storage::Error::CorruptLog { .. }
        | eardrum_storage::Error::CorruptFile { .. }
        | eardrum_storage::Error::MissingManifest { .. } => format!(
            "\nhint: the data folder is damaged in a way a crash cannot explain, so the server refuses \
             to start rather than silently drop points. Restore the file from a backup, or run again \
             with --salvage: it moves every damaged file or tail aside (into {dir}/damaged/), falls \
             back to the previous checkpoint when that is whole, logs exactly what it could not load, \
             and starts with everything else."
        ),
        eardrum_storage::Error::Locked { .. } => {
            "\nhint: another eardrum server is using this folder; stop it or choose another --data-dir."
                .to_owned()
        }
        _ => String::new(),
    };
    let error = anyhow::Error::new(error);
    anyhow::anyhow!("cannot open the data folder {dir}: {error:#}{hint}")
}

/// Logs to stderr, filtered by `EARDRUM_LOG` (default `info`).
pub(crate) fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("EARDRUM_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let colors = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colors).with_writer(std::io::stderr).init();
}
