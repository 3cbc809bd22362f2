//! The CT maps, in Cilium 1.16's names and layout: `cilium_ct4_global` (TCP) and
//! `cilium_ct_any4_global` (other protocols), pinned under `<bpf root>/tc/globals/`.
//! The bpf root is `/sys/fs/bpf` for a real agent and the sandbox's own pin directory
//! (`/run/tplab/bpf/<id>`) for tplab's datapath, so one reader serves both.

pub mod layout;
pub mod raw;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use aya::maps::{HashMap, Map, MapData};
use serde::{Deserialize, Serialize};

use crate::error::EbpfError;
use crate::proto::Proto;
pub use layout::CtLayout;
use raw::{RawCtKey, RawCtValue, TUPLE_F_IN, TUPLE_F_RELATED, TUPLE_F_SERVICE};

/// Cilium's global IPv4 CT map for TCP.
pub const CT_MAP_TCP: &str = "cilium_ct4_global";
/// Cilium's global IPv4 CT map for every other protocol (ICMP, UDP...).
pub const CT_MAP_ANY: &str = "cilium_ct_any4_global";
/// Where Cilium pins its global maps, relative to its bpf root.
pub const GLOBALS_DIR: &str = "tc/globals";

/// Entry flag bits (Cilium's `ct_entry` bitfield as printed by `bpf ct list`).
pub const FLAG_RX_CLOSING: u16 = 0x01;
pub const FLAG_TX_CLOSING: u16 = 0x02;
pub const FLAG_SEEN_NON_SYN: u16 = 0x10;

/// Pin paths of the two CT maps under `bpf_root` (TCP first, as Cilium lists them).
pub fn ct_map_paths(bpf_root: &Path) -> [PathBuf; 2] {
    let globals = bpf_root.join(GLOBALS_DIR);
    [globals.join(CT_MAP_TCP), globals.join(CT_MAP_ANY)]
}

/// Direction of the connection relative to the pod: OUT = opened by the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CtDirection {
    Out,
    In,
}

/// One conntrack entry, in the flow's original direction (`src` opened it). `sport` of an
/// ICMP echo entry is the echo id, as in Cilium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtEntry {
    pub proto: Proto,
    pub direction: CtDirection,
    pub related: bool,
    #[serde(default)]
    pub service: bool,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    /// Absolute expiry, seconds of `CLOCK_MONOTONIC`.
    pub expires: u32,
    /// Packets and bytes of both directions (one counter since Cilium 1.16).
    pub packets: u64,
    pub bytes: u64,
    pub rx_flags_seen: u8,
    pub last_rx_report: u32,
    pub tx_flags_seen: u8,
    pub last_tx_report: u32,
    pub flags: u16,
    pub rev_nat: u16,
    pub source_security_id: u32,
    pub ifindex: u16,
    pub backend_id: u64,
}

impl CtEntry {
    pub fn from_raw(k: &RawCtKey, v: &RawCtValue) -> Self {
        // Copies out of the packed key (no reference to a packed field).
        let (daddr, saddr, sport, dport, flags, nexthdr) =
            (k.daddr, k.saddr, k.sport, k.dport, k.flags, k.nexthdr);
        CtEntry {
            proto: Proto::from_number(nexthdr),
            direction: if flags & TUPLE_F_IN == 0 {
                CtDirection::Out
            } else {
                CtDirection::In
            },
            related: flags & TUPLE_F_RELATED != 0,
            service: flags & TUPLE_F_SERVICE != 0,
            // Cilium's tuple holds the reply direction's addresses: daddr opened the flow.
            src: Ipv4Addr::from(daddr),
            dst: Ipv4Addr::from(saddr),
            sport: u16::from_be_bytes(sport),
            dport: u16::from_be_bytes(dport),
            expires: v.lifetime,
            packets: v.packets,
            bytes: v.bytes,
            rx_flags_seen: v.rx_flags_seen,
            last_rx_report: v.last_rx_report,
            tx_flags_seen: v.tx_flags_seen,
            last_tx_report: v.last_tx_report,
            flags: v.flags,
            // Stored in network order, printed in host order (as Cilium does).
            rev_nat: u16::from_be(v.rev_nat_index),
            source_security_id: v.src_sec_id,
            ifindex: v.ifindex,
            backend_id: v.backend_id,
        }
    }

    /// Names of the set flag bits, as Cilium prints them between `[ ]` (unknown bits as
    /// `Unknown=0x…`).
    pub fn flag_names(&self) -> Vec<String> {
        const NAMES: [(u16, &str); 9] = [
            (0x001, "RxClosing"),
            (0x002, "TxClosing"),
            (0x008, "LBLoopback"),
            (0x010, "SeenNonSyn"),
            (0x020, "NodePort"),
            (0x040, "ProxyRedirect"),
            (0x080, "DSR"),
            (0x100, "FromL7LB"),
            (0x400, "FromTunnel"),
        ];
        let mut out: Vec<String> = NAMES
            .iter()
            .filter(|(bit, _)| self.flags & bit != 0)
            .map(|(_, n)| (*n).to_string())
            .collect();
        let known = NAMES.iter().fold(0u16, |acc, (bit, _)| acc | bit);
        let unknown = self.flags & !known;
        if unknown != 0 {
            out.push(format!("Unknown={unknown:#06x}"));
        }
        out
    }
}

/// Reads both CT maps under `bpf_root` (the sandbox's pin dir, or `/sys/fs/bpf`), laid
/// out as the sandbox's Cilium version (1.16); TCP entries first, each map sorted.
pub fn ct_entries(bpf_root: &Path) -> Result<Vec<CtEntry>, EbpfError> {
    ct_entries_with(bpf_root, CtLayout::SANDBOX)
}

/// Same, for a map written by the Cilium version `layout` stands for. A map whose key or
/// value size is not that layout's is refused ([`EbpfError::CtLayout`]), never misread.
pub fn ct_entries_with(bpf_root: &Path, layout: CtLayout) -> Result<Vec<CtEntry>, EbpfError> {
    let mut out = Vec::new();
    for path in ct_map_paths(bpf_root) {
        if !path.exists() {
            return Err(EbpfError::NotPinned { path });
        }
        let mut entries = read_map(&path, layout)?;
        entries.sort_by(|a, b| {
            (a.proto, a.src, a.dst, a.sport, a.dport, a.related)
                .cmp(&(b.proto, b.src, b.dst, b.sport, b.dport, b.related))
        });
        out.extend(entries);
    }
    Ok(out)
}

fn read_map(path: &Path, layout: CtLayout) -> Result<Vec<CtEntry>, EbpfError> {
    let data = MapData::from_pin(path).map_err(|e| map_err(path, &e))?;
    let info = data.info().map_err(|e| map_err(path, &e))?;
    layout.check(path, info.key_size(), info.value_size())?;
    let map = match info.map_type() {
        Ok(aya::maps::MapType::LruHash) => Map::LruHashMap(data),
        _ => Map::HashMap(data),
    };
    let hash: HashMap<_, RawCtKey, RawCtValue> =
        HashMap::try_from(map).map_err(|e| map_err(path, &e))?;
    let mut out = Vec::new();
    for item in &hash {
        let (k, v) = item.map_err(|e| map_err(path, &e))?;
        out.push(CtEntry::from_raw(&k, &v));
    }
    Ok(out)
}

fn map_err(path: &Path, e: &dyn std::error::Error) -> EbpfError {
    let detail = crate::error::error_chain(e);
    if detail.contains("Operation not permitted") || detail.contains("Permission denied") {
        return EbpfError::NoPrivilege {
            action: format!("read the pinned map {}", path.display()),
        };
    }
    EbpfError::Map {
        action: format!("reading the pinned map {}", path.display()),
        detail,
    }
}
