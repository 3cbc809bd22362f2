//! `cilium monitor`: live per-packet lines from the observer on the lxc veth, in the
//! shape of Cilium's trace notifications (`-> stack ...` leaving the pod, `-> endpoint ...`
//! delivered to it).

use std::collections::HashSet;
use std::io::Write;
use std::time::{Duration, Instant};

use super::CiliumCtx;
use crate::observer::{Direction, ObservePoint, Observer, PacketEvent};
use crate::proto::Proto;

type FlowKey = (Proto, [u8; 4], [u8; 4], u16, u16);

/// Per-stream state: which flows were already seen (`state new` vs `established`).
#[derive(Debug, Default)]
pub struct MonitorState {
    seen: HashSet<FlowKey>,
}

/// The monitor line for an event observed on the lxc (None for other points).
pub fn monitor_line(ev: &PacketEvent, ctx: &CiliumCtx, st: &mut MonitorState) -> String {
    let (sport, dport) = match ev.proto {
        Proto::Icmp => (ev.icmp_id.unwrap_or(0), 0),
        _ => (ev.sport, ev.dport),
    };
    let summary = summary(ev);
    match ev.dir {
        // lxc ingress = the packet leaves the pod towards the stack.
        Direction::Ingress => {
            let key = (ev.proto, ev.src.octets(), ev.dst.octets(), sport, dport);
            let state = if st.seen.insert(key) {
                "new"
            } else {
                "established"
            };
            format!(
                "-> stack flow {:#010x} identity {}->world state {state} ifindex 0 orig-ip 0.0.0.0: {summary}",
                flow_hash(&key),
                ctx.identity
            )
        }
        Direction::Egress => format!(
            "-> endpoint {} flow 0x0 identity world->{} state reply ifindex {} orig-ip {}: {summary}",
            ctx.endpoint_id, ctx.identity, ctx.lxc_ifname, ev.src
        ),
    }
}

/// `src:port -> dst:port tcp SYN, ACK` / `src -> dst EchoRequest`, as Cilium's dissector.
fn summary(ev: &PacketEvent) -> String {
    match ev.proto {
        Proto::Tcp => {
            let mut flags = Vec::new();
            for (bit, name) in [(0x02, "SYN"), (0x10, "ACK"), (0x04, "RST"), (0x01, "FIN")] {
                if ev.tcp_flags & bit != 0 {
                    flags.push(name);
                }
            }
            format!(
                "{}:{} -> {}:{} tcp {}",
                ev.src,
                ev.sport,
                ev.dst,
                ev.dport,
                flags.join(", ")
            )
        }
        Proto::Udp => format!("{}:{} -> {}:{} udp", ev.src, ev.sport, ev.dst, ev.dport),
        Proto::Icmp => {
            let kind = match ev.icmp_type {
                Some(8) => "EchoRequest".to_string(),
                Some(0) => "EchoReply".to_string(),
                Some(3) => "DestinationUnreachable".to_string(),
                Some(11) => "TimeExceeded".to_string(),
                Some(t) => format!("ICMPv4 type {t}"),
                None => "ICMPv4".to_string(),
            };
            format!("{} -> {} {kind}", ev.src, ev.dst)
        }
        Proto::Other(n) => format!("{} -> {} proto {n}", ev.src, ev.dst),
    }
}

/// Stable 32-bit FNV-1a of the flow key (Cilium shows a per-flow hash here).
fn flow_hash(key: &FlowKey) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |b: u8| {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    };
    feed(key.0.number());
    key.1.iter().chain(key.2.iter()).for_each(|b| feed(*b));
    key.3
        .to_be_bytes()
        .iter()
        .chain(key.4.to_be_bytes().iter())
        .for_each(|b| feed(*b));
    h
}

/// Streams lines until `until` elapses, Ctrl-C/SIGTERM, or the output closes.
pub fn run_monitor(
    ctx: &CiliumCtx,
    out: &mut dyn Write,
    err: &mut dyn Write,
    until: Option<Duration>,
) -> i32 {
    let point = ObservePoint {
        netns: ctx.node_netns.clone(),
        ifname: ctx.lxc_ifname.clone(),
        label: "lxc".into(),
    };
    let mut obs = match Observer::start(vec![point]) {
        Ok(o) => o,
        Err(e) => {
            let _ = writeln!(err, "Error: unable to start the monitor: {e}");
            return 1;
        }
    };
    let _ = writeln!(
        err,
        "level=info msg=\"Initializing dissection cache...\" subsys=monitor"
    );
    let _ = writeln!(
        out,
        "Listening for events on {} CPUs (tplab sandbox observer on {})\nPress Ctrl-C to quit",
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        ctx.lxc_ifname
    );
    let interrupted = super::signals::install();
    let start = Instant::now();
    let mut st = MonitorState::default();
    loop {
        for ev in obs.drain() {
            if writeln!(out, "{}", monitor_line(&ev, ctx, &mut st)).is_err() {
                return 0; // reader went away (e.g. `| head`)
            }
        }
        let _ = out.flush();
        if interrupted.load(std::sync::atomic::Ordering::Relaxed)
            || until.is_some_and(|u| start.elapsed() >= u)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let lost = obs.lost();
    for ev in obs.stop() {
        let _ = writeln!(out, "{}", monitor_line(&ev, ctx, &mut st));
    }
    if lost > 0 {
        let _ = writeln!(err, "warning: {lost} events lost (ring buffer full)");
    }
    0
}
