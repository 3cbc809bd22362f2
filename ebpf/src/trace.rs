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
/// port of the side NAT does not rewrite (the remote end). Good enough for a live view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowId(Proto, u16, u16);

impl Trace {
    pub fn new() -> Self {
        Self::default()
    }

    /// Lines for this event: optional routing/NAT notes, then the hop itself.
    pub fn describe(&mut self, ev: &PacketEvent) -> Vec<String> {
        let id = FlowId(ev.proto, ev.icmp_id.unwrap_or(ev.sport), ev.dport);
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
