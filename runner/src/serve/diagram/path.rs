//! The path of the student's last packets: each observed hop in order, with what
//! [`tplab_ebpf::Trace`] (the engine of `tplab trace`) says happened there — routing
//! inside a role, NAT — and a sentence in the lab's language.

use std::fmt::Write as _;

use serde::Serialize;
use tplab_ebpf::{Direction, Nat, NatSide, PacketEvent, Trace};
use tplab_vocab::Lang;

/// Packets further apart than this start a new path (the previous one is replaced).
const BURST_GAP_NS: u64 = 1_500_000_000;
/// At most this many hops are kept.
const MAX_HOPS: usize = 24;

/// One lit hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lit {
    pub label: String,
    pub ifname: String,
    pub dir: Direction,
    pub src: String,
    pub dst: String,
    pub what: String,
    pub routed_from: Option<String>,
    pub nat: Vec<Nat>,
    /// The hop told in the lab's language.
    pub line: String,
}

#[derive(Default)]
pub struct Path {
    trace: Trace,
    hops: Vec<Lit>,
    last_ts: Option<u64>,
}

impl Path {
    pub fn hops(&self) -> &[Lit] {
        &self.hops
    }

    pub fn add(&mut self, ev: &PacketEvent, lang: Lang) {
        if self
            .last_ts
            .is_some_and(|t| ev.ts_ns.saturating_sub(t) > BURST_GAP_NS)
        {
            // A new path: and the trace's memory of flows starts again (it stays small).
            self.hops.clear();
            self.trace = Trace::new();
        }
        self.last_ts = Some(ev.ts_ns);
        let step = self.trace.step(ev);
        // One entry per hop and direction: a flow's later packets light the same hops,
        // and a NAT seen on its first packet (the SYN) stays shown where it happened.
        let at = self
            .hops
            .iter()
            .position(|h| h.label == ev.label && h.dir == ev.dir);
        let nat = match at {
            Some(i) if step.nat.is_empty() => self.hops[i].nat.clone(),
            _ => step.nat.clone(),
        };
        let shown = tplab_ebpf::Step {
            routed_from: step.routed_from,
            nat,
        };
        let lit = Lit {
            line: line(ev, &shown, lang),
            label: ev.label.clone(),
            ifname: ev.ifname.clone(),
            dir: ev.dir,
            src: ev.src.to_string(),
            dst: ev.dst.to_string(),
            what: ev.l4_summary(),
            routed_from: shown.routed_from,
            nat: shown.nat,
        };
        // Kept in the order the hops were first crossed.
        match at {
            Some(i) => self.hops[i] = lit,
            None => self.hops.push(lit),
        }
        if self.hops.len() > MAX_HOPS {
            self.hops.remove(0);
        }
    }
}

/// `node:eth0 (eth0) leaves: 198.51.100.2 → 203.0.113.10, tcp … — NAT (source): a → b`.
fn line(ev: &PacketEvent, step: &tplab_ebpf::Step, lang: Lang) -> String {
    let verb = match ev.dir {
        Direction::Egress => lang.pick("leaves", "sort"),
        Direction::Ingress => lang.pick("enters", "entre"),
    };
    let mut out = format!(
        "{} {verb}: {} → {}, {}",
        ev.label,
        ev.src,
        ev.dst,
        ev.l4_summary()
    );
    if let Some(from) = &step.routed_from {
        let _ = write!(
            out,
            " — {} {from}",
            lang.pick("routed from", "routé depuis")
        );
    }
    for nat in &step.nat {
        let side = match nat.side {
            NatSide::Source => "source",
            NatSide::Destination => "destination",
        };
        let _ = write!(out, " — NAT ({side}): {} → {}", nat.from, nat.to);
    }
    lang.typo(&out)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use tplab_ebpf::Proto;

    use super::*;

    fn tcp(label: &str, dir: Direction, src: [u8; 4], ts_ns: u64) -> PacketEvent {
        PacketEvent {
            label: label.into(),
            ifname: "eth0".into(),
            ifindex: 2,
            netns_cookie: 1,
            dir,
            proto: Proto::Tcp,
            src: Ipv4Addr::from(src),
            dst: Ipv4Addr::new(203, 0, 113, 10),
            sport: 40000,
            dport: 80,
            icmp_type: None,
            icmp_code: None,
            icmp_id: None,
            tcp_flags: 0x02,
            len: 74,
            ip_len: 60,
            ts_ns,
        }
    }

    #[test]
    fn the_masquerade_shows_at_node_eth0_and_a_pause_starts_a_new_path() {
        let pod = [10, 244, 0, 213];
        let mut p = Path::default();
        p.add(&tcp("pod:eth0", Direction::Egress, pod, 1_000), Lang::Fr);
        p.add(&tcp("node:lxc", Direction::Ingress, pod, 2_000), Lang::Fr);
        p.add(
            &tcp("node:eth0", Direction::Egress, [198, 51, 100, 2], 3_000),
            Lang::Fr,
        );
        let hops = p.hops();
        assert_eq!(hops.len(), 3);
        assert!(hops[0].nat.is_empty() && hops[1].nat.is_empty());
        assert_eq!(hops[2].nat[0].side, NatSide::Source);
        assert_eq!(hops[2].nat[0].from, "10.244.0.213:40000");
        assert_eq!(hops[2].routed_from.as_deref(), Some("node:lxc"));
        assert!(hops[2].line.contains("sort\u{202f}:"), "{}", hops[2].line);
        // The flow's next packet lights the same hops; the NAT stays at node:eth0.
        p.add(&tcp("pod:eth0", Direction::Egress, pod, 4_000), Lang::Fr);
        p.add(
            &tcp("node:eth0", Direction::Egress, [198, 51, 100, 2], 6_000),
            Lang::Fr,
        );
        let hops = p.hops();
        assert_eq!(hops.len(), 3);
        assert_eq!(hops[0].label, "pod:eth0");
        assert_eq!(hops[2].label, "node:eth0");
        assert_eq!(hops[2].nat.len(), 1);
        p.add(
            &tcp("pod:eth0", Direction::Egress, pod, 5_000_000_000),
            Lang::En,
        );
        assert_eq!(p.hops().len(), 1);
    }
}
