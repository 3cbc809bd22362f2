//! The packet observer: `tplab_obs_ing`/`tplab_obs_egr` attached FIRST in TCX order on
//! each chosen interface, returning `TC_ACT_UNSPEC` so the rest of the chain (e.g. the
//! datapath) still runs. TCX links are fd-owned: dropping the [`Observer`] (or the process
//! dying) detaches everything.

mod event;
mod point;
mod reader;

use std::time::Duration;

use aya::Ebpf;
use aya::maps::{MapData, PerCpuArray, RingBuf};
use aya::programs::tc::TcAttachOptions;
use aya::programs::{LinkOrder, SchedClassifier, TcAttachType};
use tokio::sync::mpsc;

pub use event::{Direction, PacketEvent, tcp_flag_names};
pub use point::{ObservePoint, sandbox_points};
use point::{ResolvedPoint, resolve_here};

use crate::error::{EbpfError, error_chain};
use crate::loader::loader;
use crate::objects::{MAP_OBS_LOST, MAP_OBS_RING, OBSERVER, PROG_OBS_EGRESS, PROG_OBS_INGRESS};

const HOOKS: [(&str, TcAttachType, &str); 2] = [
    (PROG_OBS_INGRESS, TcAttachType::Ingress, "ingress"),
    (PROG_OBS_EGRESS, TcAttachType::Egress, "egress"),
];

/// A running observer. Events arrive in timestamp order per read batch.
pub struct Observer {
    /// One loaded instance per point: dropping them detaches the TCX links.
    instances: Vec<Ebpf>,
    lost: Vec<PerCpuArray<MapData, u64>>,
    rx: mpsc::UnboundedReceiver<PacketEvent>,
    stop: reader::StopSignal,
    reader: Option<std::thread::JoinHandle<()>>,
    prog_ids: Vec<u32>,
}

impl Observer {
    /// Loads one observer instance per point (its index baked in as `tplab_point_id`)
    /// and attaches it first on both hooks of the point's interface.
    pub fn start(points: Vec<ObservePoint>) -> Result<Observer, EbpfError> {
        if !tplab_netns::have_privileges() {
            return Err(EbpfError::NoPrivilege {
                action: "start the packet observer".into(),
            });
        }
        let mut instances = Vec::new();
        let mut resolved = Vec::new();
        let mut rings = Vec::new();
        let mut lost = Vec::new();
        let mut prog_ids = Vec::new();
        // One loader for every point: aya 0.14's loader reads the kernel's BTF when it is
        // made, so one per point meant one 5.5 MB parse per point.
        let mut loader = loader();
        for (idx, point) in points.into_iter().enumerate() {
            let id = POINT_IDS.get(idx).ok_or_else(|| EbpfError::Object {
                object: "observer.bpf.o".into(),
                detail: format!("at most {} observation points", POINT_IDS.len()),
            })?;
            // Loading is netns-independent; the ifindex of a TCX attach is resolved in the
            // caller's netns: attach on a thread there.
            let bpf = loader
                .override_global("tplab_point_id", id, true)
                .load(OBSERVER)
                .map_err(|e| EbpfError::from_object("observer.bpf.o", &e))?;
            let ns = point.netns.clone();
            let (mut bpf, res, ids) =
                tplab_netns::run_in(Some(&ns), move || attach_here(bpf, &point))??;
            prog_ids.extend(ids);
            resolved.push(res);
            rings.push(
                bpf.take_map(MAP_OBS_RING)
                    .and_then(|m| RingBuf::try_from(m).ok())
                    .ok_or_else(|| EbpfError::MissingMap {
                        map: MAP_OBS_RING.into(),
                        object: "observer.bpf.o".into(),
                    })?,
            );
            lost.extend(
                bpf.take_map(MAP_OBS_LOST)
                    .and_then(|m| PerCpuArray::try_from(m).ok()),
            );
            instances.push(bpf);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let stop = reader::StopSignal::new()
            .map_err(|e| EbpfError::io("creating the observer's stop eventfd", e))?;
        let reader = reader::spawn(rings, resolved, tx, &stop)
            .map_err(|e| EbpfError::io("spawning the observer reader thread", e))?;
        Ok(Observer {
            instances,
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
            .iter()
            .filter_map(|m| m.get(&0, 0).ok())
            .map(|v| v.iter().sum::<u64>())
            .sum()
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
        self.instances.clear();
        self.stop.raise();
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

/// Point ids baked into each instance (`override_global` keeps a reference to the value
/// for as long as the loader lives).
static POINT_IDS: [u32; 256] = point_ids();

const fn point_ids() -> [u32; 256] {
    let mut ids = [0u32; 256];
    let mut i: u32 = 0;
    while (i as usize) < ids.len() {
        ids[i as usize] = i;
        i += 1;
    }
    ids
}

fn attach_here(
    mut bpf: Ebpf,
    point: &ObservePoint,
) -> Result<(Ebpf, ResolvedPoint, Vec<u32>), EbpfError> {
    let resolved = resolve_here(point)?;
    let mut ids = Vec::new();
    for (name, hook, dir) in HOOKS {
        let prog = classifier(&mut bpf, name)?;
        prog.load().map_err(|e| EbpfError::from_load(name, e))?;
        if let Ok(info) = prog.info() {
            ids.push(info.id());
        }
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
    Ok((bpf, resolved, ids))
}

/// TCX exists from Linux 6.6.
fn tcx_supported() -> bool {
    aya::util::KernelVersion::current().is_ok_and(|v| v >= aya::util::KernelVersion::new(6, 6, 0))
}
