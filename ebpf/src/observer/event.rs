//! One observed packet, as the observer's ring buffer delivers it (layout of
//! `ebpf/bpf/event.h`) and as tplab's checks consume it.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::proto::Proto;

/// Hook direction on the interface: ingress = received by it, egress = sent by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Ingress,
    Egress,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        })
    }
}

/// A packet seen at one observation point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketEvent {
    /// The [`super::ObservePoint`] label, e.g. `node:lxc`.
    pub label: String,
    pub ifname: String,
    pub ifindex: u32,
    /// The point's netns cookie (`SO_NETNS_COOKIE`), identifying the namespace.
    pub netns_cookie: u64,
    pub dir: Direction,
    pub proto: Proto,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// TCP/UDP ports; 0 for ICMP (see `icmp_id`).
    pub sport: u16,
    pub dport: u16,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub icmp_id: Option<u16>,
    /// TCP flags byte (FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10).
    pub tcp_flags: u8,
    /// Bytes at tc, Ethernet header included.
    pub len: u32,
    /// IPv4 total length.
    pub ip_len: u16,
    /// `CLOCK_MONOTONIC` nanoseconds.
    pub ts_ns: u64,
}

/// Raw ring-buffer record (48 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RawEvent {
    pub ts_ns: u64,
    pub point_id: u32,
    pub ifindex: u32,
    pub skb_len: u32,
    pub saddr: [u8; 4],
    pub daddr: [u8; 4],
    pub sport: [u8; 2],
    pub dport: [u8; 2],
    pub ip_len: u16,
    pub icmp_id: u16,
    pub proto: u8,
    pub dir: u8,
    pub tcp_flags: u8,
    pub icmp_type: u8,
    pub icmp_code: u8,
    pub pad: [u8; 7],
}

const _: () = assert!(std::mem::size_of::<RawEvent>() == 48);

impl RawEvent {
    /// Decodes a ring-buffer record; `None` when it is too short.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < std::mem::size_of::<Self>() {
            return None;
        }
        // SAFETY: length checked; RawEvent is plain integers (any bit pattern valid);
        // read_unaligned copes with the ring buffer's 8-byte alignment either way.
        Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<Self>()) })
    }

    pub(crate) fn into_event(
        self,
        label: String,
        ifname: String,
        netns_cookie: u64,
    ) -> PacketEvent {
        let proto = Proto::from_number(self.proto);
        let icmp = proto == Proto::Icmp;
        PacketEvent {
            label,
            ifname,
            ifindex: self.ifindex,
            netns_cookie,
            dir: if self.dir == 0 {
                Direction::Ingress
            } else {
                Direction::Egress
            },
            proto,
            src: Ipv4Addr::from(self.saddr),
            dst: Ipv4Addr::from(self.daddr),
            sport: u16::from_be_bytes(self.sport),
            dport: u16::from_be_bytes(self.dport),
            icmp_type: icmp.then_some(self.icmp_type),
            icmp_code: icmp.then_some(self.icmp_code),
            icmp_id: icmp.then_some(self.icmp_id),
            tcp_flags: self.tcp_flags,
            len: self.skb_len,
            ip_len: self.ip_len,
            ts_ns: self.ts_ns,
        }
    }
}

impl PacketEvent {
    /// True when `addr` is the source or the destination (for `tplab trace --to ADDR`).
    pub fn involves(&self, addr: Ipv4Addr) -> bool {
        self.src == addr || self.dst == addr
    }

    /// Short text of the L4 part: `icmp echo-request id 7`, `tcp 40000 -> 80 [SYN]`.
    pub fn l4_summary(&self) -> String {
        match self.proto {
            Proto::Icmp => {
                let kind = match (self.icmp_type, self.icmp_code) {
                    (Some(8), _) => "echo-request".to_string(),
                    (Some(0), _) => "echo-reply".to_string(),
                    (Some(3), Some(c)) => format!("dest-unreachable code {c}"),
                    (Some(11), _) => "time-exceeded".to_string(),
                    (Some(t), _) => format!("type {t}"),
                    (None, _) => "?".to_string(),
                };
                match (self.icmp_type, self.icmp_id) {
                    (Some(0 | 8), Some(id)) => format!("icmp {kind} id {id}"),
                    _ => format!("icmp {kind}"),
                }
            }
            Proto::Tcp => format!(
                "tcp {} -> {} [{}]",
                self.sport,
                self.dport,
                tcp_flag_names(self.tcp_flags).join(",")
            ),
            Proto::Udp => format!("udp {} -> {}", self.sport, self.dport),
            Proto::Other(n) => format!("proto {n}"),
        }
    }
}

/// Names of the set TCP flags, in header order.
pub fn tcp_flag_names(flags: u8) -> Vec<&'static str> {
    const NAMES: [(u8, &str); 6] = [
        (0x02, "SYN"),
        (0x10, "ACK"),
        (0x08, "PSH"),
        (0x04, "RST"),
        (0x01, "FIN"),
        (0x20, "URG"),
    ];
    NAMES
        .iter()
        .filter(|(b, _)| flags & b != 0)
        .map(|(_, n)| *n)
        .collect()
}
