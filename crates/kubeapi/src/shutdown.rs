//! The API's stop: on SIGTERM (the sandbox's teardown) every open stream (`logs -f`)
//! is ended cleanly, so its client sees the end of the stream rather than a cut
//! connection, then the process exits.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Streams open now (so a stop with none open exits at once).
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Held by an open stream for as long as it runs.
pub struct Open(());

impl Open {
    pub fn new() -> Open {
        OPEN.fetch_add(1, Ordering::SeqCst);
        Open(())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Waits for SIGTERM, ends the streams, exits.
pub async fn on_sigterm() {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        return;
    };
    term.recv().await;
    sender().send_replace(true);
    if OPEN.load(Ordering::SeqCst) > 0 {
        let deadline = tokio::time::Instant::now() + DRAIN;
        while OPEN.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // The streams' ends are queued: give the connections a moment to write them.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::process::exit(0);
}
