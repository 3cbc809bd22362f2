//! The packet observer: `tplab_obs_ing`/`tplab_obs_egr` attached FIRST in TCX order on
//! each chosen interface, returning `TC_ACT_UNSPEC` so the rest of the chain (e.g. the
//! datapath) still runs. TCX links are fd-owned: dropping the [`Observer`] (or the process
//! dying) detaches everything.

mod event;
mod point;
mod reader;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aya::maps::{MapData, PerCpuArray, RingBuf};
use aya::programs::tc::TcAttachOptions;
use aya::programs::{LinkOrder, SchedClassifier, TcAttachType};
use aya::{Ebpf, EbpfLoader};
use tokio::sync::mpsc;

pub use event::{Direction, PacketEvent, tcp_flag_names};
pub use point::ObservePoint;
use point::{ResolvedPoint, resolve_here};

use crate::error::{EbpfError, error_chain};
use crate::objects::{MAP_OBS_LOST, MAP_OBS_RING, OBSERVER, PROG_OBS_EGRESS, PROG_OBS_INGRESS};

const HOOKS: [(&str, TcAttachType, &str); 2] = [
    (PROG_OBS_INGRESS, TcAttachType::Ingress, "ingress"),
    (PROG_OBS_EGRESS, TcAttachType::Egress, "egress"),
];

/// A running observer. Events arrive in kernel submission order.
pub struct Observer {
    bpf: Option<Ebpf>,
    lost: Option<PerCpuArray<MapData, u64>>,
    rx: mpsc::UnboundedReceiver<PacketEvent>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
    prog_ids: Vec<u32>,
}

impl Observer {
    /// Loads the observer and attaches it on both hooks of every point.
    pub fn start(points: Vec<ObservePoint>) -> Result<Observer, EbpfError> {
        let mut bpf = EbpfLoader::new()
            .load(OBSERVER)
            .map_err(|e| EbpfError::from_object("observer.bpf.o", &e))?;
        let mut prog_ids = Vec::new();
        for (name, _, _) in HOOKS {
            let prog = classifier(&mut bpf, name)?;
            prog.load().map_err(|e| EbpfError::from_load(name, e))?;
            if let Ok(info) = prog.info() {
                prog_ids.push(info.id());
            }
        }
        let mut resolved = Vec::new();
        for point in points {
            // TCX attach resolves the ifindex in the caller's netns: do it on a thread there,
            // moving the loaded object in and back out.
            let ns = point.netns.clone();
            let (back, res) = tplab_netns::run_in(Some(&ns), move || {
                let res = attach_point(&mut bpf, &point);
                (bpf, res)
            })?;
            bpf = back;
            resolved.push(res?);
        }
        let ring = bpf
            .take_map(MAP_OBS_RING)
            .and_then(|m| RingBuf::try_from(m).ok())
            .ok_or_else(|| EbpfError::MissingMap {
                map: MAP_OBS_RING.into(),
                object: "observer.bpf.o".into(),
            })?;
        let lost = bpf
            .take_map(MAP_OBS_LOST)
            .and_then(|m| PerCpuArray::try_from(m).ok());
        let (tx, rx) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let reader = reader::spawn(ring, resolved, tx, Arc::clone(&stop))
            .map_err(|e| EbpfError::io("spawning the observer reader thread", e))?;
        Ok(Observer {
            bpf: Some(bpf),
            lost,
            rx,
            stop,
            reader: Some(reader),
            prog_ids,
        })
    }

    /// Next event, waiting for it; `None` once stopped and drained.
    pub async fn next(&mut self) -> Option<PacketEvent> {
        self.rx.recv().await
    }

    /// Next event if one is ready.
    pub fn try_next(&mut self) -> Option<PacketEvent> {
        self.rx.try_recv().ok()
    }

    /// Every event received so far.
    pub fn drain(&mut self) -> Vec<PacketEvent> {
        std::iter::from_fn(|| self.try_next()).collect()
    }

    /// Waits `window` then returns what arrived (for sync callers: no runtime needed).
    pub fn collect_for(&mut self, window: Duration) -> Vec<PacketEvent> {
        std::thread::sleep(window);
        self.drain()
    }

    /// Events the kernel could not queue (ring buffer full). Zero means lossless.
    pub fn lost(&self) -> u64 {
        self.lost
            .as_ref()
            .and_then(|m| m.get(&0, 0).ok())
            .map_or(0, |v| v.iter().sum())
    }

    /// Kernel ids of the observer programs (for "nothing left behind" checks).
    pub fn prog_ids(&self) -> &[u32] {
        &self.prog_ids
    }

    /// Detaches every link, then returns the events still queued.
    pub fn stop(mut self) -> Vec<PacketEvent> {
        self.shutdown();
        self.drain()
    }

    fn shutdown(&mut self) {
        // Detach first, then let the reader drain what was already submitted.
        drop(self.bpf.take());
        self.stop.store(true, Ordering::Release);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn classifier<'a>(bpf: &'a mut Ebpf, name: &str) -> Result<&'a mut SchedClassifier, EbpfError> {
    bpf.program_mut(name)
        .and_then(|p| p.try_into().ok())
        .ok_or_else(|| EbpfError::MissingProgram {
            program: name.into(),
            object: "observer.bpf.o".into(),
        })
}

fn attach_point(bpf: &mut Ebpf, point: &ObservePoint) -> Result<ResolvedPoint, EbpfError> {
    let resolved = resolve_here(point)?;
    for (name, hook, dir) in HOOKS {
        let prog = classifier(bpf, name)?;
        let opts = TcAttachOptions::TcxOrder(LinkOrder::first());
        prog.attach_with_options(&point.ifname, hook, opts)
            .map_err(|e| {
                let detail = error_chain(&e);
                let netns = point.netns.display().to_string();
                if detail.contains("Operation not permitted") {
                    EbpfError::NoPrivilege {
                        action: format!("attach `{name}` to {}", point.ifname),
                    }
                } else if !tcx_supported() {
                    EbpfError::NoTcx {
                        program: name.into(),
                        ifname: point.ifname.clone(),
                        detail,
                    }
                } else {
                    EbpfError::Attach {
                        program: name.into(),
                        ifname: point.ifname.clone(),
                        direction: dir.into(),
                        netns,
                        detail,
                    }
                }
            })?;
    }
    Ok(resolved)
}

/// TCX exists from Linux 6.6.
fn tcx_supported() -> bool {
    aya::util::KernelVersion::current().is_ok_and(|v| v >= aya::util::KernelVersion::new(6, 6, 0))
}
