//! The ring-buffer reader thread: sleeps in `poll` on every point's ring buffer and a
//! stop eventfd (no timer: an idle observer never wakes), decodes records, orders each
//! batch by timestamp, labels them and forwards them on an unbounded channel (so a slow
//! consumer never makes the kernel drop).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aya::maps::{MapData, RingBuf};
use tokio::sync::mpsc::UnboundedSender;

use super::event::{PacketEvent, RawEvent};
use super::point::ResolvedPoint;

/// After a batch, let the next one gather this long before draining again: the programs
/// wake us only when we have caught up, so under load this bounds the wakeups (and what
/// they cost the packets) to a few hundred a second; idle, nothing wakes us at all.
const BATCH: std::time::Duration = std::time::Duration::from_millis(5);

/// Wakes the reader out of its `poll` to stop it.
pub(crate) struct StopSignal {
    flag: Arc<AtomicBool>,
    fd: Arc<OwnedFd>,
}

impl StopSignal {
    pub(crate) fn new() -> std::io::Result<StopSignal> {
        // SAFETY: plain syscall; the fd is owned right away.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh fd nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(StopSignal {
            flag: Arc::new(AtomicBool::new(false)),
            fd: Arc::new(fd),
        })
    }

    fn handle(&self) -> StopSignal {
        StopSignal {
            flag: Arc::clone(&self.flag),
            fd: Arc::clone(&self.fd),
        }
    }

    fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Sets the flag, then wakes the reader (which drains once more and returns).
    pub(crate) fn raise(&self) {
        self.flag.store(true, Ordering::Release);
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to our eventfd.
        unsafe { libc::write(self.fd.as_raw_fd(), (&raw const one).cast(), 8) };
    }
}

pub(crate) fn spawn(
    mut rings: Vec<RingBuf<MapData>>,
    points: Vec<ResolvedPoint>,
    tx: UnboundedSender<PacketEvent>,
    stop: &StopSignal,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let stop = stop.handle();
    std::thread::Builder::new()
        .name("tplab-observer".into())
        .spawn(move || {
            let mut pfds: Vec<libc::pollfd> = rings
                .iter()
                .map(|r| libc::pollfd {
                    fd: r.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .chain(std::iter::once(libc::pollfd {
                    fd: stop.fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                }))
                .collect();
            loop {
                // Read the flag before draining so events submitted before stop() are kept.
                let stopping = stop.is_set();
                let mut batch: Vec<RawEvent> = Vec::new();
                for ring in &mut rings {
                    while let Some(item) = ring.next() {
                        batch.extend(RawEvent::decode(&item));
                    }
                }
                let busy = !batch.is_empty();
                batch.sort_by_key(|r| r.ts_ns);
                for raw in batch {
                    let ev = match points.get(raw.point_id as usize) {
                        Some(p) => {
                            raw.into_event(p.label.clone(), p.ifname.clone(), p.netns_cookie)
                        }
                        None => raw.into_event(format!("?{}", raw.point_id), String::new(), 0),
                    };
                    // A closed receiver just means nobody listens any more.
                    let _ = tx.send(ev);
                }
                if stopping {
                    return;
                }
                if busy {
                    std::thread::sleep(BATCH);
                    continue;
                }
                let n = libc::nfds_t::try_from(pfds.len()).unwrap_or(0);
                // No timeout: a record after we caught up, or stop(), wakes us.
                // SAFETY: valid pollfd array.
                unsafe { libc::poll(pfds.as_mut_ptr(), n, -1) };
            }
        })
}
