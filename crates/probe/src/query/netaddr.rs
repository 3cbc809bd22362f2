//! IP/CIDR normalisation for matchers: `10.0.0.1` == `10.0.0.1/32`, `default` ==
//! `0.0.0.0/0`, IPv6 compared in canonical form.

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub addr: IpAddr,
    pub len: u8,
}

fn max_len(a: IpAddr) -> u8 {
    if a.is_ipv4() { 32 } else { 128 }
}

/// Parses `addr`, `addr/len` or `default` (family-less: any default route).
pub fn parse(s: &str) -> Option<Net> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("default") {
        return Some(Net {
            addr: IpAddr::from([0u8, 0, 0, 0]),
            len: 0,
        });
    }
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = a.parse().ok()?;
    let len = match l {
        Some(l) => l.parse::<u8>().ok().filter(|l| *l <= max_len(addr))?,
        None => max_len(addr),
    };
    Some(Net { addr, len })
}

fn mask(addr: IpAddr, len: u8) -> u128 {
    let (bits, width) = match addr {
        IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    };
    if len == 0 {
        return 0;
    }
    let shift = width - u32::from(len);
    (bits >> shift) << shift
}

/// Same network: equal prefix length and equal masked address; any /0 equals any /0.
pub fn same(a: Net, b: Net) -> bool {
    if a.len == 0 && b.len == 0 {
        return true;
    }
    a.addr.is_ipv4() == b.addr.is_ipv4()
        && a.len == b.len
        && mask(a.addr, a.len) == mask(b.addr, b.len)
}

/// `inner` (an address or a prefix) lies inside `outer`.
pub fn within(inner: Net, outer: Net) -> bool {
    if outer.len == 0
        && (inner.addr.is_ipv4() == outer.addr.is_ipv4() || outer.addr.is_unspecified())
    {
        return true;
    }
    inner.addr.is_ipv4() == outer.addr.is_ipv4()
        && inner.len >= outer.len
        && mask(inner.addr, outer.len) == mask(outer.addr, outer.len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        let p = |s| parse(s).unwrap();
        assert!(same(p("10.244.0.201"), p("10.244.0.201/32")));
        assert!(same(p("default"), p("0.0.0.0/0")));
        assert!(same(p("default"), p("::/0")));
        assert!(same(p("fe80::1"), p("fe80:0:0::1/128")));
        assert!(!same(p("10.244.0.0/24"), p("10.244.0.0/16")));
        assert!(parse("10.0.0.1/33").is_none());
        assert!(parse("eth0").is_none());
    }

    #[test]
    fn subnets() {
        let p = |s| parse(s).unwrap();
        assert!(within(p("10.244.0.213"), p("10.244.0.0/16")));
        assert!(within(p("10.244.0.128/25"), p("10.244.0.0/24")));
        assert!(!within(p("10.244.0.0/16"), p("10.244.0.0/24")));
        assert!(!within(p("10.245.0.1"), p("10.244.0.0/16")));
        assert!(within(p("203.0.113.10"), p("0.0.0.0/0")));
        assert!(!within(p("fe80::1"), p("10.0.0.0/8")));
    }
}
