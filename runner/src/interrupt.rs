//! Ctrl-C in a guided session means *Quit*: the student keeps their sandbox and their
//! progress, and is told how to resume. While a session [`claim`]s the interrupt, the
//! teardown handler (`env::sandbox::install_signal_cleanup`) leaves SIGINT to it;
//! SIGTERM and SIGHUP still tear everything down. Ctrl-C reaches tplab two ways: as
//! SIGINT (the terminal in cooked mode: watching, checking, running a command) and, in a
//! prompt (raw mode, no signal), as a read that fails with `Interrupted`.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

static CLAIMED: AtomicBool = AtomicBool::new(false);
static PENDING: AtomicBool = AtomicBool::new(false);
static NOTIFY: Notify = Notify::const_new();

/// True while a guided session handles Ctrl-C itself.
pub fn claimed() -> bool {
    CLAIMED.load(Ordering::SeqCst)
}

/// Makes Ctrl-C a request to quit, for the rest of the process: SIGINT is listened to
/// from now on (call inside the runtime, before the session's first prompt).
pub fn claim() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    CLAIMED.store(true, Ordering::SeqCst);
    tokio::spawn(async move {
        while int.recv().await.is_some() {
            raise();
        }
    });
    Ok(())
}

/// Records a quit request (SIGINT, or Ctrl-C read by a prompt).
pub fn raise() {
    PENDING.store(true, Ordering::SeqCst);
    NOTIFY.notify_waiters();
}

/// True once Ctrl-C was pressed.
pub fn requested() -> bool {
    PENDING.load(Ordering::SeqCst)
}

/// Resolves when Ctrl-C is pressed (at once if it already was).
pub async fn requested_now() {
    loop {
        let notified = NOTIFY.notified();
        if requested() {
            return;
        }
        notified.await;
    }
}

/// True for the error a prompt returns when Ctrl-C is typed at it (raw mode).
pub fn is_interrupt(e: &dialoguer::Error) -> bool {
    let dialoguer::Error::IO(io) = e;
    io.kind() == std::io::ErrorKind::Interrupted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_interrupt_is_recognised() {
        let e = dialoguer::Error::IO(std::io::Error::new(
            std::io::ErrorKind::Interrupted,
            "read interrupted",
        ));
        assert!(is_interrupt(&e));
        let other = dialoguer::Error::IO(std::io::Error::other("x"));
        assert!(!is_interrupt(&other));
    }

    #[tokio::test]
    async fn a_raised_interrupt_wakes_the_waiter() {
        let waiter = tokio::spawn(requested_now());
        tokio::task::yield_now().await;
        raise();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("joined");
        assert!(requested());
    }
}
