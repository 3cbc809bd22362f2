//! The ring-buffer reader thread: polls the map fd, decodes records, labels them and
//! forwards them on an unbounded channel (so a slow consumer never makes the kernel drop).

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aya::maps::{MapData, RingBuf};
use tokio::sync::mpsc::UnboundedSender;

use super::event::{PacketEvent, RawEvent};
use super::point::ResolvedPoint;

pub(crate) fn spawn(
    mut ring: RingBuf<MapData>,
    points: Vec<ResolvedPoint>,
    tx: UnboundedSender<PacketEvent>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("tplab-observer".into())
        .spawn(move || {
            let fd = ring.as_raw_fd();
            loop {
                // Read the flag before draining so events submitted before stop() are kept.
                let stopping = stop.load(Ordering::Acquire);
                while let Some(item) = ring.next() {
                    let Some(raw) = RawEvent::decode(&item) else {
                        continue;
                    };
                    let (label, ifname) = points
                        .iter()
                        .find(|p| p.ifindex == raw.ifindex && p.netns_cookie == raw.netns_cookie)
                        .map_or_else(
                            || (format!("?:{}", raw.ifindex), String::new()),
                            |p| (p.label.clone(), p.ifname.clone()),
                        );
                    // A closed receiver just means nobody listens any more.
                    let _ = tx.send(raw.into_event(label, ifname));
                }
                if stopping {
                    return;
                }
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd; a short timeout lets us notice stop().
                unsafe { libc::poll(&raw mut pfd, 1, 50) };
            }
        })
}
