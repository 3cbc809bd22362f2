//! The sandbox CT map: Cilium-shaped conntrack entries written by `from_container` /
//! `to_container`, read here from the pin (from any process).

pub mod raw;

use std::net::Ipv4Addr;
use std::path::Path;

use aya::maps::{HashMap, Map, MapData};
use serde::{Deserialize, Serialize};

use crate::error::EbpfError;
use crate::proto::Proto;
use raw::{RawCtKey, RawCtValue, TUPLE_F_IN, TUPLE_F_RELATED};

/// File name of the CT map inside a pin directory.
pub const CT_PIN_NAME: &str = "ct";

/// Entry flag bits (same as Cilium's `ct_entry` bitfield as printed by `bpf ct list`).
pub const FLAG_RX_CLOSING: u16 = 0x01;
pub const FLAG_TX_CLOSING: u16 = 0x02;
pub const FLAG_SEEN_NON_SYN: u16 = 0x10;

/// Direction of the connection relative to the pod: OUT = opened by the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CtDirection {
    Out,
    In,
}

/// One conntrack entry. `sport` of an ICMP echo entry is the echo id, as in Cilium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtEntry {
    pub proto: Proto,
    pub direction: CtDirection,
    pub related: bool,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    /// Absolute expiry, seconds of `CLOCK_MONOTONIC`.
    pub expires: u32,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub rx_flags_seen: u8,
    pub last_rx_report: u32,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub tx_flags_seen: u8,
    pub last_tx_report: u32,
    pub flags: u16,
    pub rev_nat: u16,
    pub source_security_id: u32,
    pub ifindex: u32,
}

impl CtEntry {
    pub fn from_raw(k: &RawCtKey, v: &RawCtValue) -> Self {
        CtEntry {
            proto: Proto::from_number(k.nexthdr),
            direction: if k.flags & TUPLE_F_IN == 0 {
                CtDirection::Out
            } else {
                CtDirection::In
            },
            related: k.flags & TUPLE_F_RELATED != 0,
            src: Ipv4Addr::from(k.saddr),
            dst: Ipv4Addr::from(k.daddr),
            sport: u16::from_be_bytes(k.sport),
            dport: u16::from_be_bytes(k.dport),
            expires: v.lifetime,
            rx_packets: v.rx_packets,
            rx_bytes: v.rx_bytes,
            rx_flags_seen: v.rx_flags_seen,
            last_rx_report: v.last_rx_report,
            tx_packets: v.tx_packets,
            tx_bytes: v.tx_bytes,
            tx_flags_seen: v.tx_flags_seen,
            last_tx_report: v.last_tx_report,
            flags: v.flags,
            rev_nat: v.rev_nat_index,
            source_security_id: v.src_sec_id,
            ifindex: v.ifindex,
        }
    }

    /// Names of the set flag bits, as Cilium prints them between `[ ]`.
    pub fn flag_names(&self) -> Vec<&'static str> {
        const NAMES: [(u16, &str); 7] = [
            (0x01, "RxClosing"),
            (0x02, "TxClosing"),
            (0x08, "LBLoopback"),
            (0x10, "SeenNonSyn"),
            (0x20, "NodePort"),
            (0x40, "ProxyRedirect"),
            (0x80, "DSR"),
        ];
        NAMES
            .iter()
            .filter(|(bit, _)| self.flags & bit != 0)
            .map(|(_, n)| *n)
            .collect()
    }
}

/// Reads every entry of the CT map pinned in `pin_dir`, sorted for stable output.
pub fn ct_entries(pin_dir: &Path) -> Result<Vec<CtEntry>, EbpfError> {
    let path = pin_dir.join(CT_PIN_NAME);
    if !path.exists() {
        return Err(EbpfError::NotPinned { path });
    }
    let data = MapData::from_pin(&path).map_err(|e| map_err(&path, &e))?;
    let map = Map::HashMap(data);
    let hash: HashMap<_, RawCtKey, RawCtValue> =
        HashMap::try_from(map).map_err(|e| map_err(&path, &e))?;
    let mut out = Vec::new();
    for item in &hash {
        let (k, v) = item.map_err(|e| map_err(&path, &e))?;
        out.push(CtEntry::from_raw(&k, &v));
    }
    out.sort_by(|a, b| {
        (a.proto, a.src, a.dst, a.sport, a.dport, a.related)
            .cmp(&(b.proto, b.src, b.dst, b.sport, b.dport, b.related))
    });
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
