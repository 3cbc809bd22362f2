//! The API's stop: on SIGTERM (the sandbox's teardown) every open stream (`logs -f`)
//! is ended cleanly, so its client sees the end of the stream rather than a cut
//! connection, then the process exits.

use std::sync::OnceLock;
use std::time::Duration;

static STOP: OnceLock<tokio::sync::watch::Sender<bool>> = OnceLock::new();

fn sender() -> &'static tokio::sync::watch::Sender<bool> {
    STOP.get_or_init(|| tokio::sync::watch::channel(false).0)
}

/// A receiver that changes when the API stops.
pub fn subscribe() -> tokio::sync::watch::Receiver<bool> {
    sender().subscribe()
}

/// How long open streams get to send their last frames.
const DRAIN: Duration = Duration::from_millis(100);

/// Waits for SIGTERM, ends the streams, exits.
pub async fn on_sigterm() {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        return;
    };
    term.recv().await;
    sender().send_replace(true);
    tokio::time::sleep(DRAIN).await;
    std::process::exit(0);
}
