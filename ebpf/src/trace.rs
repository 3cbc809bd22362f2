//! "Life of a packet" lines for `tplab trace`: one line per hop, plus a NAT line when the
//! addresses change between consecutive hops of the same packet flow.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::observer::{Direction, PacketEvent};
use crate::proto::Proto;

/// One readable line for a hop: where, which way, what.
pub fn describe_hop(ev: &PacketEvent) -> String {
    let verb = match ev.dir {
        Direction::Egress => "leaves",
        Direction::Ingress => "enters",
    };
    let place = if ev.ifname.is_empty() || ev.label.ends_with(&ev.ifname) {
        ev.label.clone()
    } else {
        format!("{} ({})", ev.label, ev.ifname)
    };
    format!(
        "[{:>5}.{:06}] {place:<22} {verb:<6} {} -> {}  {}  {} bytes",
        ev.ts_ns / 1_000_000_000,
        ev.ts_ns % 1_000_000_000 / 1000,
        ev.src,
        ev.dst,
        ev.l4_summary(),
        ev.ip_len
    )
}

/// Stateful trace view: remembers the last addresses of each flow to show NAT and routing.
#[derive(Debug, Default)]
pub struct Trace {
    last: HashMap<FlowId, (String, Direction, Ipv4Addr, Ipv4Addr)>,
}

/// Identity of a packet flow that survives NAT of one side: protocol + ICMP id or the
/// port of the side NAT does not rewrite (the remote end), plus the ICMP type so an
/// echo reply is not compared with its request. Good enough for a live view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowId(Proto, u16, u16, Option<u8>);

impl Trace {
    pub fn new() -> Self {
        Self::default()
    }

    /// Lines for this event: optional routing/NAT notes, then the hop itself.
    pub fn describe(&mut self, ev: &PacketEvent) -> Vec<String> {
        let id = FlowId(
            ev.proto,
            ev.icmp_id.unwrap_or(ev.sport),
            ev.dport,
            ev.icmp_type,
        );
        let mut lines = Vec::new();
        if let Some((label, dir, src, dst)) = self.last.get(&id) {
            if *dir == Direction::Ingress && ev.dir == Direction::Egress && *label != ev.label {
                lines.push(format!(
                    "{:>15}routing: forwarded from {label} to {} (route to {})",
                    "", ev.label, ev.dst
                ));
            }
            if *src != ev.src {
                lines.push(format!("{:>15}NAT: source {src} -> {}", "", ev.src));
            }
            if *dst != ev.dst {
                lines.push(format!("{:>15}NAT: destination {dst} -> {}", "", ev.dst));
            }
        }
        lines.push(describe_hop(ev));
        self.last
            .insert(id, (ev.label.clone(), ev.dir, ev.src, ev.dst));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(label: &str, dir: Direction, src: [u8; 4], ts: u64) -> PacketEvent {
        PacketEvent {
            label: label.into(),
            ifname: if label == "node:lxc" {
                "lxc1234".into()
            } else {
                "eth0".into()
            },
            ifindex: 2,
            netns_cookie: 1,
            dir,
            proto: Proto::Icmp,
            src: Ipv4Addr::from(src),
            dst: Ipv4Addr::new(203, 0, 113, 10),
            sport: 0,
            dport: 0,
            icmp_type: Some(8),
            icmp_code: Some(0),
            icmp_id: Some(51724),
            tcp_flags: 0,
            len: 98,
            ip_len: 84,
            ts_ns: ts,
        }
    }

    #[test]
    fn life_of_a_packet_shows_routing_and_nat() {
        let mut t = Trace::new();
        let pod = [10, 244, 0, 213];
        let mut lines = t.describe(&ev("pod:eth0", Direction::Egress, pod, 1_000_001_000));
        lines.extend(t.describe(&ev("node:lxc", Direction::Ingress, pod, 1_000_002_000)));
        lines.extend(t.describe(&ev(
            "node:eth0",
            Direction::Egress,
            [198, 51, 100, 2],
            1_000_003_000,
        )));
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(
            lines[0].starts_with("[    1.000001] pod:eth0"),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].contains(
                "leaves 10.244.0.213 -> 203.0.113.10  icmp echo-request id 51724  84 bytes"
            )
        );
        assert!(lines[1].contains("node:lxc (lxc1234)") && lines[1].contains("enters"));
        assert!(
            lines[2]
                .contains("routing: forwarded from node:lxc to node:eth0 (route to 203.0.113.10)")
        );
        assert!(lines[3].contains("NAT: source 10.244.0.213 -> 198.51.100.2"));
        assert!(lines[4].contains("node:eth0") && lines[4].contains("leaves 198.51.100.2"));
        // The echo reply is its own leg: no bogus NAT line against the request.
        let mut reply = ev(
            "node:eth0",
            Direction::Ingress,
            [203, 0, 113, 10],
            1_000_004_000,
        );
        reply.dst = Ipv4Addr::new(198, 51, 100, 2);
        reply.icmp_type = Some(0);
        let lines = t.describe(&reply);
        assert_eq!(lines.len(), 1, "{lines:#?}");
    }
}
