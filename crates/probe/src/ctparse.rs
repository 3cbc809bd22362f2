//! A small, bounds-checked parser for ctnetlink conntrack messages (nested netlink
//! attributes, big-endian values). Pure logic so it is unit-tested without root.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::conntrack::ConntrackEntry;
use crate::names;

const NLA_TYPE_MASK: u16 = 0x3fff;

/// Iterates `(type, payload)` over a buffer of netlink attributes; stops at the first
/// malformed header instead of panicking.
pub fn attrs(mut buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if buf.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([buf[0], buf[1]]));
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > buf.len() {
            return None;
        }
        let payload = &buf[4..len];
        let advance = (len + 3) & !3;
        buf = buf.get(advance..).unwrap_or_default();
        Some((kind, payload))
    })
}

fn be16(p: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(p.get(..2)?.try_into().ok()?))
}

fn be32(p: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(p.get(..4)?.try_into().ok()?))
}

fn ip(p: &[u8]) -> Option<IpAddr> {
    match p.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(p).ok()?))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(p).ok()?))),
        _ => None,
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tuple {
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub proto: Option<u8>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub icmp_id: Option<u16>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
}

fn tuple(buf: &[u8]) -> Tuple {
    let mut t = Tuple::default();
    for (kind, p) in attrs(buf) {
        match kind {
            1 => {
                for (k, v) in attrs(p) {
                    match k {
                        1 | 3 => t.src = ip(v),
                        2 | 4 => t.dst = ip(v),
                        _ => {}
                    }
                }
            }
            2 => {
                for (k, v) in attrs(p) {
                    match k {
                        1 => t.proto = v.first().copied(),
                        2 => t.sport = be16(v),
                        3 => t.dport = be16(v),
                        4 | 7 => t.icmp_id = be16(v),
                        5 | 8 => t.icmp_type = v.first().copied(),
                        6 | 9 => t.icmp_code = v.first().copied(),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    t
}

const STATUS_NAMES: [&str; 16] = [
    "EXPECTED",
    "SEEN_REPLY",
    "ASSURED",
    "CONFIRMED",
    "SRC_NAT",
    "DST_NAT",
    "SEQ_ADJUST",
    "SRC_NAT_DONE",
    "DST_NAT_DONE",
    "DYING",
    "FIXED_TIMEOUT",
    "TEMPLATE",
    "UNTRACKED",
    "HELPER",
    "OFFLOAD",
    "HW_OFFLOAD",
];

/// Parses one conntrack message body (after the 4-byte nfgenmsg header).
pub fn entry(family: u8, body: &[u8]) -> Option<ConntrackEntry> {
    let mut orig = None;
    let mut reply = None;
    let mut status = 0u32;
    let mut e = ConntrackEntry::default();
    for (kind, p) in attrs(body) {
        match kind {
            1 => orig = Some(tuple(p)),
            2 => reply = Some(tuple(p)),
            3 => status = be32(p).unwrap_or(0),
            4 => {
                for (k, v) in attrs(p) {
                    if k == 1 {
                        e.state = attrs(v)
                            .find(|(kk, _)| *kk == 1)
                            .and_then(|(_, s)| s.first().copied())
                            .map(names::tcp_state);
                    }
                }
            }
            7 => e.timeout = be32(p),
            8 => e.mark = be32(p).unwrap_or(0),
            12 => e.id = be32(p),
            18 => e.zone = be16(p).unwrap_or(0),
            _ => {}
        }
    }
    let orig = orig?;
    let reply = reply.unwrap_or_default();
    e.family = match family {
        2 => "ipv4",
        10 => "ipv6",
        _ => "unknown",
    }
    .into();
    e.proto = names::ip_proto(orig.proto?);
    e.src = orig.src?.to_string();
    e.dst = orig.dst?.to_string();
    e.sport = orig.sport;
    e.dport = orig.dport;
    e.icmp_id = orig.icmp_id;
    e.icmp_type = orig.icmp_type;
    e.icmp_code = orig.icmp_code;
    e.reply_src = reply.src.map(|a| a.to_string()).unwrap_or_default();
    e.reply_dst = reply.dst.map(|a| a.to_string()).unwrap_or_default();
    e.reply_sport = reply.sport;
    e.reply_dport = reply.dport;
    e.reply_icmp_id = reply.icmp_id;
    e.reply_icmp_type = reply.icmp_type;
    e.snat = status & (1 << 4) != 0;
    e.dnat = status & (1 << 5) != 0;
    e.assured = status & (1 << 2) != 0;
    e.seen_reply = status & (1 << 1) != 0;
    e.status = STATUS_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| status & (1 << i) != 0)
        .map(|(_, n)| (*n).to_string())
        .collect();
    Some(e)
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Builds a netlink attribute (test helper, also used to fuzz-ish truncations).
    pub fn nla(kind: u16, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(4 + payload.len()).unwrap();
        let mut v = len.to_ne_bytes().to_vec();
        v.extend(kind.to_ne_bytes());
        v.extend(payload);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    fn nested(kind: u16, parts: &[Vec<u8>]) -> Vec<u8> {
        nla(kind | 0x8000, &parts.concat())
    }

    fn icmp_tuple(kind: u16, src: [u8; 4], dst: [u8; 4], id: u16, ty: u8) -> Vec<u8> {
        nested(
            kind,
            &[
                nested(1, &[nla(1, &src), nla(2, &dst)]),
                nested(
                    2,
                    &[
                        nla(1, &[1]),
                        nla(4, &id.to_be_bytes()),
                        nla(5, &[ty]),
                        nla(6, &[0]),
                    ],
                ),
            ],
        )
    }

    #[test]
    fn parses_a_masqueraded_icmp_flow() {
        let body = [
            icmp_tuple(1, [10, 244, 0, 213], [203, 0, 113, 10], 77, 8),
            icmp_tuple(2, [203, 0, 113, 10], [198, 51, 100, 2], 77, 0),
            nla(3, &(2u32 | 8 | 16 | 128).to_be_bytes()),
            nla(7, &29u32.to_be_bytes()),
            nla(8, &5u32.to_be_bytes()),
            nla(18, &3u16.to_be_bytes()),
        ]
        .concat();
        let e = entry(2, &body).unwrap();
        assert_eq!(e.proto, "icmp");
        assert_eq!(
            (e.src.as_str(), e.dst.as_str()),
            ("10.244.0.213", "203.0.113.10")
        );
        assert_eq!(e.reply_dst, "198.51.100.2");
        assert_eq!(
            (e.icmp_id, e.icmp_type, e.reply_icmp_type),
            (Some(77), Some(8), Some(0))
        );
        assert!(e.snat && e.seen_reply && !e.dnat && !e.assured);
        assert_eq!((e.mark, e.zone, e.timeout), (5, 3, Some(29)));
        assert!(e.status.contains(&"SRC_NAT_DONE".to_string()));
    }

    #[test]
    fn parses_tcp_state() {
        let t = |kind| {
            nested(
                kind,
                &[
                    nested(1, &[nla(1, &[10, 0, 0, 1]), nla(2, &[10, 0, 0, 2])]),
                    nested(
                        2,
                        &[
                            nla(1, &[6]),
                            nla(2, &4000u16.to_be_bytes()),
                            nla(3, &80u16.to_be_bytes()),
                        ],
                    ),
                ],
            )
        };
        let body = [t(1), t(2), nested(4, &[nested(1, &[nla(1, &[3])])])].concat();
        let e = entry(2, &body).unwrap();
        assert_eq!(e.proto, "tcp");
        assert_eq!((e.sport, e.dport), (Some(4000), Some(80)));
        assert_eq!(e.state.as_deref(), Some("ESTABLISHED"));
    }

    #[test]
    fn truncated_input_never_panics() {
        let body = icmp_tuple(1, [1, 2, 3, 4], [5, 6, 7, 8], 1, 8);
        for cut in 0..body.len() {
            let _ = entry(2, &body[..cut]);
        }
        assert!(entry(2, &[]).is_none());
        assert!(entry(2, &[0xff; 7]).is_none());
    }
}
