//! "Life of a packet" lines for `tplab trace`: one line per hop, plus a NAT line when the
//! addresses change between consecutive hops of the same packet flow.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use serde::Serialize;

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
    /// The last packet that *entered* a hop, by each of its ends: a packet leaving a
    /// role is compared with what entered that role (where it was routed and translated),
    /// never with a hop further on, which a new packet of the same flow would wrongly
    /// show as a NAT undone.
    entered: HashMap<End, Entered>,
}

/// Where and how a packet of a flow entered a hop.
#[derive(Debug, Clone)]
struct Entered {
    label: String,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
}

/// One end of a packet's tuple, by the side it is on: a NAT rewrites one side at a time
/// (DNAT the destination address and port, SNAT the source), so a packet after NAT still
/// shares the other end with itself before. The ICMP type keeps an echo reply apart
/// from its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct End(Proto, Side, Ipv4Addr, u16, Option<u8>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    Src,
    Dst,
}

/// The port of each side: TCP/UDP ports, the ICMP id on both sides.
fn ports(ev: &PacketEvent) -> (u16, u16) {
    match ev.icmp_id {
        Some(id) => (id, id),
        None => (ev.sport, ev.dport),
    }
}

/// The role of a hop label (`node` of `node:eth0`): forwarding happens inside one.
fn role(label: &str) -> &str {
    label.split_once(':').map_or(label, |(r, _)| r)
}

impl Trace {
    pub fn new() -> Self {
        Self::default()
    }

    /// Lines for this event: optional routing/NAT notes, then the hop itself.
    pub fn describe(&mut self, ev: &PacketEvent) -> Vec<String> {
        let step = self.step(ev);
        let mut lines = Vec::new();
        if let Some(from) = &step.routed_from {
            lines.push(format!(
                "{:>15}routing: forwarded from {from} to {} (route to {})",
                "", ev.label, ev.dst
            ));
        }
        for nat in &step.nat {
            let side = match nat.side {
                NatSide::Source => "source",
                NatSide::Destination => "destination",
            };
            lines.push(format!("{:>15}NAT: {side} {} -> {}", "", nat.from, nat.to));
        }
        lines.push(describe_hop(ev));
        lines
    }

    /// What happened to the packet since its flow's previous hop: routed inside a role,
    /// addresses rewritten (the text view and the page's diagram both draw this).
    pub fn step(&mut self, ev: &PacketEvent) -> Step {
        let (sport, dport) = ports(ev);
        let src_end = End(ev.proto, Side::Src, ev.src, sport, ev.icmp_type);
        let dst_end = End(ev.proto, Side::Dst, ev.dst, dport, ev.icmp_type);
        let mut step = Step::default();
        // A node that both DNATs and masquerades rewrites both addresses at once; the
        // client's source port (MASQUERADE keeps it when it is free) still ties the
        // packet to the one before.
        let port_end = End(
            ev.proto,
            Side::Src,
            Ipv4Addr::UNSPECIFIED,
            sport,
            ev.icmp_type,
        );
        if ev.dir == Direction::Ingress {
            let entered = Entered {
                label: ev.label.clone(),
                src: ev.src,
                dst: ev.dst,
                sport,
                dport,
            };
            self.entered.insert(src_end, entered.clone());
            self.entered.insert(port_end, entered.clone());
            self.entered.insert(dst_end, entered);
            return step;
        }
        // Leaving a role: forwarded (and maybe NATed) only if it entered this same role;
        // otherwise it starts here (the pod sending, a reply leaving its server).
        let same_role = |e: &&Entered| role(&e.label) == role(&ev.label);
        let prev = [src_end, dst_end, port_end]
            .iter()
            .find_map(|end| self.entered.get(end).filter(same_role));
        if let Some(prev) = prev {
            if prev.label != ev.label {
                step.routed_from = Some(prev.label.clone());
            }
            let with_port = |a: &Ipv4Addr, p: u16| {
                if ev.icmp_id.is_some() || p == 0 {
                    a.to_string()
                } else {
                    format!("{a}:{p}")
                }
            };
            if prev.src != ev.src || prev.sport != sport {
                step.nat.push(Nat {
                    side: NatSide::Source,
                    from: with_port(&prev.src, prev.sport),
                    to: with_port(&ev.src, sport),
                });
            }
            if prev.dst != ev.dst || prev.dport != dport {
                step.nat.push(Nat {
                    side: NatSide::Destination,
                    from: with_port(&prev.dst, prev.dport),
                    to: with_port(&ev.dst, dport),
                });
            }
        }
        step
    }
}

/// What [`Trace::step`] found about one hop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The hop of the same role the packet entered before being routed here.
    pub routed_from: Option<String>,
    /// Rewrites since the flow's previous hop (none: no NAT there).
    pub nat: Vec<Nat>,
}

/// One address rewrite: which side of the tuple, from what to what (`addr[:port]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nat {
    pub side: NatSide,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NatSide {
    Source,
    Destination,
}

/// `tplab trace --to ADDR`: the packets to or from that address and every packet of the
/// same flows after NAT rewrote it (a Service address translated to a backend, then the
/// replies translated back), linked by the tuple end each NAT left unchanged.
#[derive(Debug)]
pub struct Follow {
    addr: Ipv4Addr,
    ends: std::collections::HashSet<(Proto, Ipv4Addr, u16)>,
    /// The client ports of the followed flows: a node that DNATs and masquerades at
    /// once rewrites both addresses, but MASQUERADE keeps the port when it is free.
    ports: std::collections::HashSet<(Proto, u16)>,
}

impl Follow {
    pub fn new(addr: Ipv4Addr) -> Self {
        Self {
            addr,
            ends: std::collections::HashSet::new(),
            ports: std::collections::HashSet::new(),
        }
    }

    /// Whether to show `ev` (and remember its flow when so).
    pub fn wants(&mut self, ev: &PacketEvent) -> bool {
        let (sport, dport) = ports(ev);
        let a = (ev.proto, ev.src, sport);
        let b = (ev.proto, ev.dst, dport);
        if ev.dst == self.addr {
            self.ports.insert((ev.proto, sport));
        }
        if ev.src == self.addr {
            self.ports.insert((ev.proto, dport));
        }
        let hit = ev.src == self.addr
            || ev.dst == self.addr
            || self.ends.contains(&a)
            || self.ends.contains(&b)
            || self.ports.contains(&(ev.proto, sport))
            || self.ports.contains(&(ev.proto, dport));
        if hit {
            self.ends.insert(a);
            self.ends.insert(b);
        }
        hit
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
        // Its way back to the pod: the masquerade undone where it leaves for the lxc.
        let mut back = reply.clone();
        back.label = "node:lxc".into();
        back.ifname = "lxc1234".into();
        back.dir = Direction::Egress;
        back.dst = Ipv4Addr::from(pod);
        let lines = t.describe(&back).join("\n");
        assert!(
            lines.contains("NAT: destination 198.51.100.2 -> 10.244.0.213"),
            "{lines}"
        );
        // The next request leaves the pod as the first did: no NAT "undone" there.
        let lines = t.describe(&ev("pod:eth0", Direction::Egress, pod, 2_000_001_000));
        assert_eq!(lines.len(), 1, "{lines:#?}");
    }

    fn tcp(label: &str, dir: Direction, from: ([u8; 4], u16), to: ([u8; 4], u16)) -> PacketEvent {
        PacketEvent {
            proto: Proto::Tcp,
            src: Ipv4Addr::from(from.0),
            sport: from.1,
            dst: Ipv4Addr::from(to.0),
            dport: to.1,
            icmp_type: None,
            icmp_code: None,
            icmp_id: None,
            tcp_flags: 0x02,
            ..ev(label, dir, [0, 0, 0, 0], 1)
        }
    }

    #[test]
    fn a_service_address_is_followed_through_dnat_and_back() {
        const POD: [u8; 4] = [10, 244, 0, 213];
        const SVC: [u8; 4] = [10, 96, 0, 10];
        const BACKEND: [u8; 4] = [10, 244, 1, 7];
        const NODE: [u8; 4] = [198, 51, 100, 2];
        let flow = [
            tcp("pod:eth0", Direction::Egress, (POD, 40000), (SVC, 8080)),
            tcp("node:lxc", Direction::Ingress, (POD, 40000), (SVC, 8080)),
            tcp("node:eth1", Direction::Egress, (POD, 40000), (BACKEND, 80)),
            tcp("node:eth1", Direction::Ingress, (BACKEND, 80), (POD, 40000)),
            tcp("node:lxc", Direction::Egress, (SVC, 8080), (POD, 40000)),
            // DNAT and masquerade at once, on another interface: only the port is kept.
            tcp("node:eth0", Direction::Egress, (NODE, 40000), (BACKEND, 80)),
            tcp(
                "node:eth0",
                Direction::Ingress,
                (BACKEND, 80),
                (NODE, 40000),
            ),
            // Unrelated traffic stays out.
            tcp(
                "node:eth1",
                Direction::Egress,
                ([10, 244, 0, 9], 5000),
                ([1, 1, 1, 1], 443),
            ),
        ];
        let mut follow = Follow::new(Ipv4Addr::from(SVC));
        let shown: Vec<bool> = flow.iter().map(|e| follow.wants(e)).collect();
        assert_eq!(shown, [true, true, true, true, true, true, true, false]);
        let mut t = Trace::new();
        let lines: Vec<String> = flow[..3].iter().flat_map(|e| t.describe(e)).collect();
        let text = lines.join("\n");
        assert!(
            text.contains("routing: forwarded from node:lxc to node:eth1 (route to 10.244.1.7)"),
            "{text}"
        );
        assert!(
            text.contains("NAT: destination 10.96.0.10:8080 -> 10.244.1.7:80"),
            "{text}"
        );
        let masq = t.describe(&flow[5]).join("\n");
        assert!(
            masq.contains("NAT: source 10.244.0.213:40000 -> 198.51.100.2:40000"),
            "{masq}"
        );
        // A retransmission from the pod is not "forwarded" from the node to the pod.
        let again = t.describe(&flow[0]);
        assert_eq!(again.len(), 1, "{again:#?}");
    }
}
