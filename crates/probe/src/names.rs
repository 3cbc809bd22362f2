//! Kernel numbers -> the words iproute2 prints, so facts read like `ip` output and
//! a lab author can match on what they see in a terminal.

pub fn scope(n: u8) -> String {
    match n {
        0 => "global".into(),
        200 => "site".into(),
        253 => "link".into(),
        254 => "host".into(),
        255 => "nowhere".into(),
        n => n.to_string(),
    }
}

pub fn table(n: u32) -> String {
    match n {
        0 => "unspec".into(),
        253 => "default".into(),
        254 => "main".into(),
        255 => "local".into(),
        n => n.to_string(),
    }
}

pub fn route_protocol(n: u8) -> String {
    let name = match n {
        0 => "unspec",
        1 => "redirect",
        2 => "kernel",
        3 => "boot",
        4 => "static",
        8 => "gated",
        9 => "ra",
        10 => "mrt",
        11 => "zebra",
        12 => "bird",
        13 => "dnrouted",
        14 => "xorp",
        15 => "ntk",
        16 => "dhcp",
        17 => "mrouted",
        18 => "keepalived",
        42 => "babel",
        99 => "openr",
        186 => "bgp",
        187 => "isis",
        188 => "ospf",
        189 => "rip",
        192 => "eigrp",
        n => return n.to_string(),
    };
    name.into()
}

pub fn route_type(n: u8) -> String {
    let name = match n {
        0 => "unspec",
        1 => "unicast",
        2 => "local",
        3 => "broadcast",
        4 => "anycast",
        5 => "multicast",
        6 => "blackhole",
        7 => "unreachable",
        8 => "prohibit",
        9 => "throw",
        10 => "nat",
        11 => "xresolve",
        n => return n.to_string(),
    };
    name.into()
}

/// NUD state bits, as `ip neigh` prints them (one word per bit set).
pub fn nud_states(bits: u16) -> Vec<String> {
    const NAMES: [(u16, &str); 8] = [
        (0x01, "INCOMPLETE"),
        (0x02, "REACHABLE"),
        (0x04, "STALE"),
        (0x08, "DELAY"),
        (0x10, "PROBE"),
        (0x20, "FAILED"),
        (0x40, "NOARP"),
        (0x80, "PERMANENT"),
    ];
    if bits == 0 {
        return vec!["NONE".into()];
    }
    NAMES
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| (*n).to_string())
        .collect()
}

pub fn oper_state(n: u8) -> String {
    let name = match n {
        0 => "UNKNOWN",
        1 => "NOTPRESENT",
        2 => "DOWN",
        3 => "LOWERLAYERDOWN",
        4 => "TESTING",
        5 => "DORMANT",
        6 => "UP",
        n => return n.to_string(),
    };
    name.into()
}

/// Interface flags in the order (and with the synthetic NO-CARRIER) of `ip link`.
pub fn link_flags(bits: u32) -> Vec<String> {
    const UP: u32 = 0x1;
    const RUNNING: u32 = 0x40;
    const ORDER: [(u32, &str); 18] = [
        (0x8, "LOOPBACK"),
        (0x2, "BROADCAST"),
        (0x10, "POINTOPOINT"),
        (0x1000, "MULTICAST"),
        (0x80, "NOARP"),
        (0x200, "ALLMULTI"),
        (0x100, "PROMISC"),
        (0x400, "MASTER"),
        (0x800, "SLAVE"),
        (0x4, "DEBUG"),
        (0x8000, "DYNAMIC"),
        (0x4000, "AUTOMEDIA"),
        (0x2000, "PORTSEL"),
        (0x20, "NOTRAILERS"),
        (UP, "UP"),
        (0x10000, "LOWER_UP"),
        (0x20000, "DORMANT"),
        (0x40000, "ECHO"),
    ];
    let mut out = Vec::new();
    if bits & UP != 0 && bits & RUNNING == 0 {
        out.push("NO-CARRIER".to_string());
    }
    out.extend(
        ORDER
            .iter()
            .filter(|(b, _)| bits & b != 0)
            .map(|(_, n)| (*n).to_string()),
    );
    out
}

pub fn mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub fn ip_proto(n: u8) -> String {
    let name = match n {
        1 => "icmp",
        2 => "igmp",
        6 => "tcp",
        17 => "udp",
        33 => "dccp",
        47 => "gre",
        58 => "icmpv6",
        132 => "sctp",
        136 => "udplite",
        n => return n.to_string(),
    };
    name.into()
}

/// TCP conntrack states (`enum tcp_conntrack`), as `conntrack -L` prints them.
pub fn tcp_state(n: u8) -> String {
    let name = match n {
        0 => "NONE",
        1 => "SYN_SENT",
        2 => "SYN_RECV",
        3 => "ESTABLISHED",
        4 => "FIN_WAIT",
        5 => "CLOSE_WAIT",
        6 => "LAST_ACK",
        7 => "TIME_WAIT",
        8 => "CLOSE",
        9 => "SYN_SENT2",
        n => return n.to_string(),
    };
    name.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_iproute2() {
        assert_eq!(table(254), "main");
        assert_eq!(table(100), "100");
        assert_eq!(scope(253), "link");
        assert_eq!(route_type(2), "local");
        assert_eq!(route_protocol(2), "kernel");
        assert_eq!(nud_states(0x80), ["PERMANENT"]);
        assert_eq!(oper_state(6), "UP");
        assert_eq!(
            link_flags(0x1 | 0x2 | 0x40 | 0x1000 | 0x10000),
            ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]
        );
        assert_eq!(
            link_flags(0x1 | 0x2 | 0x1000),
            ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]
        );
        assert_eq!(
            mac(&[0xf6, 0x93, 0x7d, 0x11, 0x4d, 0x37]),
            "f6:93:7d:11:4d:37"
        );
        assert_eq!(tcp_state(7), "TIME_WAIT");
    }
}
