//! Turning the process' stop signals into the server's shutdown token.

use tokio_util::sync::CancellationToken;

/// Cancels `token` on the first SIGINT (Ctrl-C) or SIGTERM.
///
/// # Errors
///
/// When the signal handlers cannot be installed.
pub async fn cancel_on_signal(token: CancellationToken) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
        () = token.cancelled() => return Ok(()),
    };
    tracing::info!(signal = name, "shutting down: no new connections, finishing requests in flight");
    token.cancel();
    Ok(())
}
