//! Facts read by this very process, on the lab's own kernel: what `local` and `sandbox`
//! answer through the [`super::Environment`] seam (a remote environment answers the
//! same types from its node agent instead).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tplab_ebpf::{CtEntry, ObservePoint, Observer, PacketEvent};
use tplab_probe::{FactKind, Facts, Query};

use super::{EnvError, PacketStream};

/// Kernel facts for `query`, read in `netns` (`None`: this process's own).
pub async fn probe(role: &str, netns: Option<PathBuf>, query: &Query) -> Result<Facts, EnvError> {
    tplab_probe::collect_for(netns, query)
        .await
        .map_err(|source| EnvError::Probe {
            role: role.to_string(),
            what: query.fact_kind().noun(),
            source: Box::new(source),
        })
}

/// Every fact of `kinds`, read in `netns`.
pub async fn probe_kinds(
    role: &str,
    netns: Option<PathBuf>,
    kinds: &[FactKind],
) -> Result<Vec<Facts>, EnvError> {
    tplab_probe::collect_many(netns, kinds)
        .await
        .map_err(|source| EnvError::Probe {
            role: role.to_string(),
            what: "kernel facts",
            source: Box::new(source),
        })
}

/// The datapath's CT map pinned under `pin_dir`.
pub async fn datapath_ct(pin_dir: &Path) -> Result<Vec<CtEntry>, EnvError> {
    let pin_dir = pin_dir.to_path_buf();
    tokio::task::spawn_blocking(move || tplab_ebpf::ct_entries(&pin_dir))
        .await
        .map_err(|source| EnvError::Task {
            action: "reading the CT map",
            source,
        })?
        .map_err(|source| EnvError::Ebpf {
            action: "reading the CT map".into(),
            source: Box::new(source),
        })
}

/// Starts the eBPF packet observer at `points`.
pub async fn observe(points: Vec<ObservePoint>) -> Result<Box<dyn PacketStream>, EnvError> {
    let observer = tokio::task::spawn_blocking(move || Observer::start(points))
        .await
        .map_err(|source| EnvError::Task {
            action: "starting the eBPF observer",
            source,
        })?
        .map_err(|source| EnvError::Ebpf {
            action: "starting the eBPF observer".into(),
            source: Box::new(source),
        })?;
    Ok(Box::new(Local(observer)))
}

/// The in-process observer as a [`PacketStream`].
struct Local(Observer);

#[async_trait]
impl PacketStream for Local {
    async fn next(&mut self) -> Option<PacketEvent> {
        self.0.next().await
    }

    fn drain(&mut self) -> Vec<PacketEvent> {
        self.0.drain()
    }

    fn lost(&self) -> u64 {
        self.0.lost()
    }

    async fn stop(self: Box<Self>) -> Vec<PacketEvent> {
        // Detaching joins the reader thread: keep it off the async workers.
        let observer = self.0;
        tokio::task::spawn_blocking(move || observer.stop())
            .await
            .unwrap_or_default()
    }
}
