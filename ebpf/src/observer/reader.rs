//! The ring-buffer reader thread: polls every point's ring buffer, decodes records,
//! orders each batch by timestamp, labels them and forwards them on an unbounded channel
//! (so a slow consumer never makes the kernel drop).

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aya::maps::{MapData, RingBuf};
use tokio::sync::mpsc::UnboundedSender;

use super::event::{PacketEvent, RawEvent};
use super::point::ResolvedPoint;

pub(crate) fn spawn(
    mut rings: Vec<RingBuf<MapData>>,
    points: Vec<ResolvedPoint>,
    tx: UnboundedSender<PacketEvent>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
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
                .collect();
            loop {
                // Read the flag before draining so events submitted before stop() are kept.
                let stopping = stop.load(Ordering::Acquire);
                let mut batch: Vec<RawEvent> = Vec::new();
                for ring in &mut rings {
                    while let Some(item) = ring.next() {
                        batch.extend(RawEvent::decode(&item));
                    }
                }
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
                let n = libc::nfds_t::try_from(pfds.len()).unwrap_or(0);
                // The programs submit without wakeups (cheaper at high rates), so this is mostly a
                // 10 ms timer; it also lets us notice stop().
                // SAFETY: valid pollfd array.
                unsafe { libc::poll(pfds.as_mut_ptr(), n, 10) };
            }
        })
}
