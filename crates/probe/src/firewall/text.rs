//! Kernel values -> the text `iptables-save` prints, so a lab author can copy what they
//! see in a terminal into a check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const NFPROTO_IPV4: u8 = 2;
pub const NFPROTO_IPV6: u8 = 10;

/// nfgenmsg family -> nft family name.
pub fn family(f: u8) -> String {
    match f {
        1 => "inet".into(),
        2 => "ip".into(),
        3 => "arp".into(),
        5 => "netdev".into(),
        7 => "bridge".into(),
        10 => "ip6".into(),
        n => n.to_string(),
    }
}

/// Hook number -> name; the numbering depends on the family.
pub fn hook(family: u8, n: u32) -> String {
    let names: &[&str] = match family {
        5 => &["ingress", "egress"],
        3 => &["input", "output", "forward"],
        _ => &[
            "prerouting",
            "input",
            "forward",
            "output",
            "postrouting",
            "ingress",
        ],
    };
    usize::try_from(n)
        .ok()
        .and_then(|i| names.get(i))
        .map_or_else(|| n.to_string(), |s| (*s).to_string())
}

/// Standard verdicts (`NF_DROP`, `NF_ACCEPT`, `NFT_RETURN`...).
pub fn verdict(code: i32) -> Option<&'static str> {
    Some(match code {
        0 => "DROP",
        1 => "ACCEPT",
        3 => "QUEUE",
        -5 => "RETURN",
        _ => return None,
    })
}

/// IP protocol number as iptables-save names it (`-p ipv6-icmp`, not `icmpv6`).
pub fn proto(n: u8) -> String {
    match n {
        1 => "icmp".into(),
        2 => "igmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        33 => "dccp".into(),
        47 => "gre".into(),
        50 => "esp".into(),
        51 => "ah".into(),
        58 => "ipv6-icmp".into(),
        132 => "sctp".into(),
        136 => "udplite".into(),
        n => n.to_string(),
    }
}

pub fn neg(negated: bool, v: &str) -> String {
    if negated {
        format!("!{v}")
    } else {
        v.to_string()
    }
}

/// An address of `bytes` (possibly a prefix of it: iptables-nft loads only the bytes a
/// byte-aligned prefix covers) under `mask` (`None` = the loaded bytes, all ones).
/// Prints CIDR, or `addr/mask` for a non-contiguous mask, as iptables-save does.
pub fn address(v6: bool, bytes: &[u8], loaded: usize, mask: Option<&[u8]>) -> Option<String> {
    let full = if v6 { 16 } else { 4 };
    if bytes.len() > full || loaded > full || loaded == 0 {
        return None;
    }
    let mut a = [0u8; 16];
    a[..bytes.len()].copy_from_slice(bytes);
    let mut m = [0u8; 16];
    match mask {
        Some(mask) if mask.len() <= full => m[..mask.len()].copy_from_slice(mask),
        Some(_) => return None,
        None => m[..loaded].fill(0xff),
    }
    let ones: u32 = m[..full].iter().map(|b| b.count_ones()).sum();
    let contiguous = m[..full]
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| b >> i & 1))
        .skip_while(|bit| *bit == 1)
        .all(|bit| bit == 0);
    let ip = |b: [u8; 16]| -> IpAddr {
        if v6 {
            IpAddr::V6(Ipv6Addr::from(b))
        } else {
            IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
        }
    };
    Some(if contiguous {
        format!("{}/{ones}", ip(a))
    } else {
        format!("{}/{}", ip(a), ip(m))
    })
}

/// An interface name compared as `len` bytes: a trailing NUL means an exact name,
/// none a prefix (`cilium_+`).
pub fn iface(data: &[u8]) -> String {
    match data.iter().position(|c| *c == 0) {
        Some(end) => String::from_utf8_lossy(&data[..end]).into_owned(),
        None => format!("{}+", String::from_utf8_lossy(data)),
    }
}

/// A big-endian port.
pub fn port(b: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(..2)?.try_into().ok()?))
}

pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

/// Native `reject` type and ICMP code, spelled as iptables `--reject-with` values.
pub fn reject_with(l3: Option<u8>, kind: u32, code: u8) -> String {
    let name = match (kind, l3, code) {
        (1, _, _) => "tcp-reset",
        (0, Some(NFPROTO_IPV4), 0) => "icmp-net-unreachable",
        (0, Some(NFPROTO_IPV4), 1) => "icmp-host-unreachable",
        (0, Some(NFPROTO_IPV4), 2) => "icmp-proto-unreachable",
        (0, Some(NFPROTO_IPV4), 3) => "icmp-port-unreachable",
        (0, Some(NFPROTO_IPV4), 9) => "icmp-net-prohibited",
        (0, Some(NFPROTO_IPV4), 10) => "icmp-host-prohibited",
        (0, Some(NFPROTO_IPV4), 13) => "icmp-admin-prohibited",
        (0, Some(NFPROTO_IPV6), 0) => "icmp6-no-route",
        (0, Some(NFPROTO_IPV6), 1) => "icmp6-adm-prohibited",
        (0, Some(NFPROTO_IPV6), 3) => "icmp6-addr-unreachable",
        (0, Some(NFPROTO_IPV6), 4) => "icmp6-port-unreachable",
        (0, Some(NFPROTO_IPV6), 5) => "icmp6-policy-fail",
        (0, Some(NFPROTO_IPV6), 6) => "icmp6-reject-route",
        (2, _, 0) => "icmpx-no-route",
        (2, _, 1) => "icmpx-port-unreachable",
        (2, _, 2) => "icmpx-host-unreachable",
        (2, _, 3) => "icmpx-admin-prohibited",
        _ => return format!("type {kind} code {code}"),
    };
    name.to_string()
}
