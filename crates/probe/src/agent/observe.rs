//! `observe` / `unobserve` queries: tplab's eBPF packet observer run by the agent on
//! the node, its events streamed back as `observed` lines between the answers. Each
//! observation owns its observer on a thread of its own: TCX links are fd-owned, so
//! they go when the observation stops, when stdin ends, or when the agent dies.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use tplab_ebpf::{ObservePoint, Observer, PacketEvent};

use super::locate::Locator;
use super::serve::error;
use super::{Answer, ErrorCode, EventsLine, Observe};
use crate::wire::FACTS_FORMAT;

/// How often a running observation forwards what it saw (the observer's own reader
/// polls its ring buffers every 10 ms).
const FORWARD_EVERY: Duration = Duration::from_millis(10);

/// The observations of one agent session; every line goes to `out` (the writer).
pub struct Observations {
    running: BTreeMap<String, Running>,
    out: Sender<String>,
}

struct Running {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Observations {
    pub fn new(out: Sender<String>) -> Self {
        Self {
            running: BTreeMap::new(),
            out,
        }
    }

    /// Starts `obs`: answered once every point is attached (or with why not).
    pub fn start(&mut self, id: String, obs: Observe, locator: &mut Locator<'_>) -> Answer {
        if self.running.contains_key(&obs.id) {
            return error(
                id,
                None,
                ErrorCode::Observe,
                format!("observation `{}` is already running", obs.id),
            );
        }
        let mut points = Vec::with_capacity(obs.points.len());
        for p in obs.points {
            let netns = match locator.resolve(&p.netns) {
                Ok(ns) => ns.unwrap_or_else(|| PathBuf::from("/proc/self/ns/net")),
                Err(e) => {
                    return error(
                        id,
                        None,
                        e.code,
                        format!("observing {}: {}", p.label, e.message),
                    );
                }
            };
            points.push(ObservePoint {
                netns,
                ifname: p.ifname,
                label: p.label,
            });
        }
        let observer = match Observer::start(points) {
            Ok(o) => o,
            Err(e) => {
                return error(
                    id,
                    None,
                    ErrorCode::Observe,
                    format!("starting the eBPF observer: {}", super::serve::chain(&e)),
                );
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let out = self.out.clone();
        let name = obs.id.clone();
        let thread = std::thread::Builder::new()
            .name("tplab-agent-obs".into())
            .spawn(move || forward(observer, &name, &flag, &out));
        match thread {
            Ok(thread) => {
                self.running
                    .insert(obs.id.clone(), Running { stop, thread });
                Answer {
                    id,
                    netns: None,
                    facts: None,
                    ct_entries: None,
                    observing: Some(obs.id),
                    error: None,
                }
            }
            Err(e) => error(
                id,
                None,
                ErrorCode::Observe,
                format!("starting the observation's thread: {e}"),
            ),
        }
    }

    /// Stops observation `which`: its last events line (`end`) is queued before the
    /// answer, so a client has every event once it reads the answer.
    pub fn stop(&mut self, id: String, which: &str) -> Answer {
        let Some(running) = self.running.remove(which) else {
            return error(
                id,
                None,
                ErrorCode::Observe,
                format!("no observation `{which}` is running"),
            );
        };
        finish(running);
        Answer {
            id,
            netns: None,
            facts: None,
            ct_entries: None,
            observing: Some(which.to_string()),
            error: None,
        }
    }

    /// Stops every observation (the session ends).
    pub fn stop_all(&mut self) {
        for (_, running) in std::mem::take(&mut self.running) {
            finish(running);
        }
    }
}

impl Drop for Observations {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn finish(running: Running) {
    running.stop.store(true, Ordering::Release);
    let _ = running.thread.join();
}

/// Forwards `observer`'s events as lines until `stop`, then detaches it and sends the
/// rest with `end`.
fn forward(mut observer: Observer, id: &str, stop: &AtomicBool, out: &Sender<String>) {
    loop {
        let stopping = stop.load(Ordering::Acquire);
        let events = observer.drain();
        if !events.is_empty() && out.send(line(id, events, observer.lost(), false)).is_err() {
            // The writer is gone (the client left): detach and end.
            break;
        }
        if stopping {
            break;
        }
        std::thread::sleep(FORWARD_EVERY);
    }
    let lost = observer.lost();
    let rest = observer.stop();
    let _ = out.send(line(id, rest, lost, true));
}

fn line(id: &str, events: Vec<PacketEvent>, lost: u64, end: bool) -> String {
    let ev = EventsLine {
        format: FACTS_FORMAT.to_string(),
        observed: id.to_string(),
        events,
        lost,
        end,
    };
    let mut text = serde_json::to_string(&ev).unwrap_or_default();
    text.push('\n');
    text
}
