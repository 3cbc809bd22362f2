//! NAT targets: the xt compat structs iptables-nft stores for SNAT / DNAT / MASQUERADE /
//! REDIRECT, and the native `nat` / `masq` / `redir` expressions, both printed as
//! iptables-save prints `--to-destination`, `--to-source` and `--to-ports`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// `NF_NAT_RANGE_*` flags (linux/netfilter/nf_nat.h).
const MAP_IPS: u32 = 1;
const PROTO_SPECIFIED: u32 = 2;
const RANDOM: u32 = 4;
const PERSISTENT: u32 = 8;
const RANDOM_FULLY: u32 = 16;

/// A decoded NAT range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub flags: u32,
    pub addrs: Option<(IpAddr, IpAddr)>,
    pub ports: Option<(u16, u16)>,
}

/// What a NAT target contributes to a rule: `to` and the flag options.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Nat {
    pub to: Option<String>,
    pub options: Vec<String>,
}

/// Decodes an xt NAT target's info blob. `v4_compat` selects
/// `nf_nat_ipv4_multi_range_compat` (IPv4 revision 0 of SNAT/DNAT/MASQUERADE/REDIRECT);
/// otherwise the blob starts with `nf_nat_range` (rev 1) / `nf_nat_range2` (rev 2,
/// same prefix plus `base_proto`), which IPv6 revision 0 targets use as well.
pub fn xt_range(info: &[u8], v6: bool, v4_compat: bool) -> Option<Range> {
    if v4_compat {
        // u32 rangesize; { u32 flags; be32 min_ip, max_ip; be16 min, max } range[1]
        let flags = ne32(info.get(4..8)?)?;
        let min = ip4(info.get(8..12)?)?;
        let max = ip4(info.get(12..16)?)?;
        let ports = (be16(info.get(16..18)?)?, be16(info.get(18..20)?)?);
        return Some(build(flags, (min, max), ports));
    }
    // u32 flags; nf_inet_addr min_addr, max_addr (16 bytes each); be16 min, max
    let flags = ne32(info.get(..4)?)?;
    let addr = |b: &[u8]| if v6 { ip6(b) } else { ip4(b.get(..4)?) };
    let min = addr(info.get(4..20)?)?;
    let max = addr(info.get(20..36)?)?;
    let ports = (be16(info.get(36..38)?)?, be16(info.get(38..40)?)?);
    Some(build(flags, (min, max), ports))
}

fn build(flags: u32, addrs: (IpAddr, IpAddr), ports: (u16, u16)) -> Range {
    Range {
        flags,
        addrs: (flags & MAP_IPS != 0).then_some(addrs),
        ports: (flags & PROTO_SPECIFIED != 0).then_some(ports),
    }
}

/// `--to-destination` / `--to-source` text for SNAT / DNAT, `--to-ports` text for
/// MASQUERADE / REDIRECT (which only map ports).
pub fn describe(range: &Range, ports_only: bool) -> Nat {
    let ports = range.ports.map(|(lo, hi)| {
        if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        }
    });
    let to = if ports_only {
        ports
    } else {
        let ips = range.addrs.map(|(lo, hi)| {
            let text = if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            };
            // iptables brackets IPv6 addresses only when a port follows.
            if lo.is_ipv6() && ports.is_some() {
                format!("[{text}]")
            } else {
                text
            }
        });
        match (ips, ports) {
            (None, None) => None,
            (Some(i), None) => Some(i),
            (None, Some(p)) => Some(format!(":{p}")),
            (Some(i), Some(p)) => Some(format!("{i}:{p}")),
        }
    };
    let mut options = Vec::new();
    for (bit, name) in [
        (RANDOM, "--random"),
        (RANDOM_FULLY, "--random-fully"),
        (PERSISTENT, "--persistent"),
    ] {
        if range.flags & bit != 0 {
            options.push(name.to_string());
        }
    }
    Nat { to, options }
}

/// A native `nat` range from the bytes its registers held (`None` = not an immediate).
pub fn native(
    flags: u32,
    v6: bool,
    addrs: Option<(&[u8], &[u8])>,
    ports: Option<(&[u8], &[u8])>,
) -> Option<Range> {
    let addr = |b: &[u8]| if v6 { ip6(b) } else { ip4(b) };
    let addrs = match addrs {
        Some((lo, hi)) => Some((addr(lo)?, addr(hi)?)),
        None => None,
    };
    let ports = match ports {
        Some((lo, hi)) => Some((be16(lo)?, be16(hi)?)),
        None => None,
    };
    Some(Range {
        flags,
        addrs,
        ports,
    })
}

fn ne32(b: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

fn be16(b: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(..2)?.try_into().ok()?))
}

fn ip4(b: &[u8]) -> Option<IpAddr> {
    let a: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(a)))
}

fn ip6(b: &[u8]) -> Option<IpAddr> {
    let a: [u8; 16] = b.get(..16)?.try_into().ok()?;
    Some(IpAddr::V6(Ipv6Addr::from(a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compat(flags: u32, min: [u8; 4], max: [u8; 4], ports: (u16, u16)) -> Vec<u8> {
        let mut v = 1u32.to_ne_bytes().to_vec();
        v.extend(flags.to_ne_bytes());
        v.extend(min);
        v.extend(max);
        v.extend(ports.0.to_be_bytes());
        v.extend(ports.1.to_be_bytes());
        v.extend([0; 4]); // XT_ALIGN padding to 24 bytes
        v
    }

    #[test]
    fn snat_range_with_ports() {
        let info = compat(
            MAP_IPS | PROTO_SPECIFIED,
            [198, 51, 100, 2],
            [198, 51, 100, 5],
            (1000, 2000),
        );
        let r = xt_range(&info, false, true).unwrap();
        let nat = describe(&r, false);
        assert_eq!(
            nat.to.as_deref(),
            Some("198.51.100.2-198.51.100.5:1000-2000")
        );
    }

    #[test]
    fn masquerade_ports_and_flags() {
        let info = compat(PROTO_SPECIFIED | RANDOM_FULLY, [0; 4], [0; 4], (1024, 2000));
        let nat = describe(&xt_range(&info, false, true).unwrap(), true);
        assert_eq!(nat.to.as_deref(), Some("1024-2000"));
        assert_eq!(nat.options, ["--random-fully"]);
        let plain = describe(
            &xt_range(&compat(0, [0; 4], [0; 4], (0, 0)), false, true).unwrap(),
            true,
        );
        assert_eq!(plain, Nat::default());
    }

    #[test]
    fn ipv6_dnat_brackets_only_with_ports() {
        let mut info = (MAP_IPS | PROTO_SPECIFIED).to_ne_bytes().to_vec();
        let a: Ipv6Addr = "2001:db8::1".parse().unwrap();
        info.extend(a.octets());
        info.extend(a.octets());
        info.extend(8080u16.to_be_bytes());
        info.extend(8080u16.to_be_bytes());
        info.extend([0; 8]);
        let r = xt_range(&info, true, false).unwrap();
        assert_eq!(
            describe(&r, false).to.as_deref(),
            Some("[2001:db8::1]:8080")
        );
        info[0] = 1; // MAP_IPS only
        let r = xt_range(&info, true, false).unwrap();
        assert_eq!(describe(&r, false).to.as_deref(), Some("2001:db8::1"));
    }

    #[test]
    fn short_blobs_are_none() {
        for n in 0..40 {
            assert!(xt_range(&[0xff; 40][..n], true, false).is_none());
            let _ = xt_range(&[0xff; 40][..n], false, true);
        }
    }
}
