//! Reading the pinned LB maps back (`cilium service list`), from any process.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use aya::maps::{HashMap, Map, MapData};

use super::layout::{Lb4Backend, Lb4Key, Lb4Service};
use super::{LbService, MAP_BACKENDS, MAP_SERVICES};
use crate::ct::GLOBALS_DIR;
use crate::error::{EbpfError, error_chain};

/// One frontend as the maps hold it (same shape as what [`super::attach`] writes).
pub type LbEntry = LbService;

pub fn services_map_path(bpf_root: &Path) -> PathBuf {
    bpf_root.join(GLOBALS_DIR).join(MAP_SERVICES)
}

fn open<K: aya::Pod, V: aya::Pod>(path: &Path) -> Result<HashMap<MapData, K, V>, EbpfError> {
    let err = |e: &dyn std::error::Error| EbpfError::Map {
        action: format!("reading the pinned map {}", path.display()),
        detail: error_chain(e),
    };
    let data = MapData::from_pin(path).map_err(|e| err(&e))?;
    HashMap::try_from(Map::HashMap(data)).map_err(|e| err(&e))
}

/// Every Service in the pinned maps under `bpf_root`, by id. `NotPinned` when the sandbox
/// has no socket load-balancing.
pub fn lb_entries(bpf_root: &Path) -> Result<Vec<LbEntry>, EbpfError> {
    let services_path = services_map_path(bpf_root);
    if !services_path.exists() {
        return Err(EbpfError::NotPinned {
            path: services_path,
        });
    }
    let services: HashMap<MapData, Lb4Key, Lb4Service> = open(&services_path)?;
    let backends: HashMap<MapData, u32, Lb4Backend> =
        open(&bpf_root.join(GLOBALS_DIR).join(MAP_BACKENDS))?;
    let addr = |a: [u8; 4], p: [u8; 2]| (Ipv4Addr::from(a), u16::from_be_bytes(p));
    let mut by_frontend: BTreeMap<(Ipv4Addr, u16), (u16, BTreeMap<u16, u32>)> = BTreeMap::new();
    for item in services.iter().filter_map(Result::ok) {
        let (k, v) = item;
        let entry = by_frontend
            .entry(addr(k.address, k.dport))
            .or_insert((v.rev_nat_index, BTreeMap::new()));
        if k.backend_slot > 0 {
            entry.1.insert(k.backend_slot, v.backend_id);
        }
    }
    let mut out: Vec<LbEntry> = by_frontend
        .into_iter()
        .map(|(frontend, (id, slots))| LbService {
            id,
            frontend,
            backends: slots
                .values()
                .filter_map(|b| backends.get(b, 0).ok())
                .map(|b| addr(b.address, b.port))
                .collect(),
        })
        .collect();
    out.sort_by_key(|s| (s.id, s.frontend));
    Ok(out)
}
