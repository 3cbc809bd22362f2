//! What wakes watch mode: the kernel's change notifications in each role's namespace
//! (rtnetlink groups, conntrack events) and the student's Enter, instead of a timer.
//! A slow periodic re-check stays as a safety net for what sends no notification
//! (sysctls, iptables-legacy rules, files a command check reads).

use std::collections::BTreeSet;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tplab_probe::FactKind;

use crate::env::Environment;

/// A change the kernel announced: what kind of fact, in which role.
pub type Change = (String, FactKind);

/// Why watch mode woke up.
#[derive(Debug)]
pub enum Wake {
    /// The kernel announced these changes (deduplicated).
    Changes(BTreeSet<Change>),
    /// The safety-net period elapsed (or a subscription overflowed): re-check all.
    Period,
    /// The student pressed Enter.
    Enter,
}

/// Set `TPLAB_WATCH_POLL=1` to re-check every second as before (the bench's peer).
pub fn polling_forced() -> bool {
    std::env::var_os("TPLAB_WATCH_POLL").is_some_and(|v| v == "1")
}

/// The subscriptions of a watch session; dropping it stops their readers.
pub struct Wakers {
    rx: mpsc::UnboundedReceiver<Option<Change>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    enter: Enter,
}

impl Wakers {
    /// Subscribes in every watchable role of `env`; a role that cannot be subscribed
    /// to is left to the periodic re-check.
    pub fn start(env: &dyn Environment) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut readers = Vec::new();
        if !polling_forced() {
            for (role, ns) in env.watchable_netns() {
                let Ok(subs) = tplab_probe::notify::subscribe(ns.as_deref()) else {
                    continue;
                };
                readers.extend(reader(role.clone(), subs.route, tx.clone(), |d| {
                    tplab_probe::notify::route_changes(d)
                }));
                if let Some(ct) = subs.conntrack {
                    readers.extend(reader(role, ct, tx.clone(), |_| vec![FactKind::Conntrack]));
                }
            }
        }
        Self {
            rx,
            readers,
            enter: Enter::start(),
        }
    }

    /// True when the kernel's notifications drive the re-checks.
    pub fn event_driven(&self) -> bool {
        !self.readers.is_empty()
    }

    /// Waits up to `period` for a change or Enter; changes arriving together (one
    /// `ip route add` sends several messages) are taken as one wake.
    pub async fn next(&mut self, period: Duration) -> Wake {
        let first = tokio::select! {
            biased;
            () = self.enter.pressed() => return Wake::Enter,
            c = self.rx.recv(), if self.event_driven() => c,
            () = tokio::time::sleep(period) => return Wake::Period,
        };
        let mut changes = BTreeSet::new();
        let mut overflow = false;
        let rest = std::iter::from_fn(|| self.rx.try_recv().ok().map(Some));
        for c in std::iter::once(first).chain(rest) {
            match c {
                Some(Some(change)) => {
                    changes.insert(change);
                }
                _ => overflow = true,
            }
        }
        if overflow {
            Wake::Period
        } else {
            Wake::Changes(changes)
        }
    }

    /// True if Enter was pressed (without waiting).
    pub fn enter_pressed(&mut self) -> bool {
        self.enter.try_pressed()
    }
}

impl Drop for Wakers {
    fn drop(&mut self) {
        for r in &self.readers {
            r.abort();
        }
    }
}

/// A task reading one subscription; sends `None` when the socket overflowed or failed
/// (changes were lost: re-check everything).
fn reader(
    role: String,
    socket: tplab_probe::notify::Socket,
    tx: mpsc::UnboundedSender<Option<Change>>,
    kinds: fn(&[u8]) -> Vec<FactKind>,
) -> Option<tokio::task::JoinHandle<()>> {
    // SAFETY: the socket owns its descriptor and keeps it open, unchanged, until the
    // AsyncFd (which owns the socket) drops it.
    let fd = unsafe { AsyncFd::register(socket) }.ok()?;
    Some(tokio::spawn(async move {
        let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
        loop {
            let Ok(mut guard) = fd.readable().await else {
                let _ = tx.send(None);
                return;
            };
            buf.clear();
            match guard.try_io(|s| s.get_ref().recv(&mut buf, 0)) {
                Ok(Ok(_)) => {
                    for k in kinds(&buf) {
                        if tx.send(Some((role.clone(), k))).is_err() {
                            return;
                        }
                    }
                }
                // ENOBUFS: the kernel dropped notifications; the socket still works.
                Ok(Err(_)) => {
                    if tx.send(None).is_err() {
                        return;
                    }
                }
                Err(_would_block) => {}
            }
        }
    }))
}

/// Enter on stdin, read by one blocking thread that sleeps in `poll` on stdin and a
/// stop pipe (no periodic wakeups), for the whole watch session.
struct Enter {
    rx: mpsc::UnboundedReceiver<()>,
    stop: Option<OwnedFd>,
}

impl Enter {
    fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let Ok((stop_rx, stop_tx)) = nix::unistd::pipe() else {
            return Self { rx, stop: None };
        };
        std::thread::spawn(move || {
            use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
            let stdin = std::io::stdin();
            loop {
                let mut fds = [
                    PollFd::new(stdin.as_fd(), PollFlags::POLLIN),
                    PollFd::new(stop_rx.as_fd(), PollFlags::POLLIN),
                ];
                if poll(&mut fds, PollTimeout::NONE).is_err() {
                    return;
                }
                let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
                if ready(&fds[1]) {
                    return;
                }
                if ready(&fds[0]) {
                    let mut line = String::new();
                    // EOF (stdin closed) ends the session like Enter would.
                    let eof = stdin.read_line(&mut line).map_or(true, |n| n == 0);
                    if tx.send(()).is_err() || eof {
                        return;
                    }
                }
            }
        });
        Self {
            rx,
            stop: Some(stop_tx),
        }
    }

    async fn pressed(&mut self) {
        if self.rx.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }

    fn try_pressed(&mut self) -> bool {
        self.rx.try_recv().is_ok()
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        // Closing the pipe's write end wakes the reader thread, which then exits.
        self.stop.take();
    }
}
