//! Output shape of the sandbox `cilium` commands against the seed's lines.

use std::net::Ipv4Addr;

use super::*;
use crate::ct::{CtDirection, CtEntry};
use crate::observer::{Direction, PacketEvent};
use crate::proto::Proto;

fn seed_tcp() -> CtEntry {
    CtEntry {
        proto: Proto::Tcp,
        direction: CtDirection::Out,
        related: false,
        src: Ipv4Addr::new(10, 244, 0, 213),
        dst: Ipv4Addr::new(1, 0, 0, 1),
        sport: 46486,
        dport: 80,
        expires: 17_755_044,
        rx_packets: 4,
        rx_bytes: 614,
        rx_flags_seen: 0x1b,
        last_rx_report: 17_755_035,
        tx_packets: 6,
        tx_bytes: 415,
        tx_flags_seen: 0x1b,
        last_tx_report: 17_755_035,
        flags: 0x13,
        rev_nat: 0,
        source_security_id: 42837,
        ifindex: 0,
    }
}

#[test]
fn ct_lines_match_the_seed_byte_for_byte() {
    assert_eq!(
        format_ct_entry(&seed_tcp()),
        "TCP OUT 10.244.0.213:46486 -> 1.0.0.1:80 expires=17755044 RxPackets=4 RxBytes=614 \
         RxFlagsSeen=0x1b LastRxReport=17755035 TxPackets=6 TxBytes=415 TxFlagsSeen=0x1b \
         LastTxReport=17755035 Flags=0x0013 [ RxClosing TxClosing SeenNonSyn ] RevNAT=0 \
         SourceSecurityID=42837 IfIndex=0 "
    );
    let related = CtEntry {
        proto: Proto::Icmp,
        related: true,
        sport: 0,
        dport: 0,
        expires: 17_755_093,
        rx_packets: 0,
        rx_bytes: 0,
        rx_flags_seen: 0,
        last_rx_report: 0,
        tx_packets: 1,
        tx_bytes: 74,
        tx_flags_seen: 0x02,
        flags: 0x10,
        ..seed_tcp()
    };
    assert_eq!(
        format_ct_entry(&related),
        "ICMP OUT 10.244.0.213:0 -> 1.0.0.1:0 related expires=17755093 RxPackets=0 RxBytes=0 \
         RxFlagsSeen=0x00 LastRxReport=0 TxPackets=1 TxBytes=74 TxFlagsSeen=0x02 \
         LastTxReport=17755035 Flags=0x0010 [ SeenNonSyn ] RevNAT=0 SourceSecurityID=42837 IfIndex=0 "
    );
    let plain = CtEntry {
        flags: 0,
        ..related
    };
    assert!(format_ct_entry(&plain).contains("Flags=0x0000 [ ] RevNAT=0"));
}

#[test]
fn config_view_has_the_seed_columns() {
    let text = format_config(&sandbox_config("/run/tplab/bpf/x"));
    assert!(
        text.lines()
            .any(|l| l == "enable-bpf-masquerade                  false")
    );
    assert!(
        text.lines()
            .any(|l| l == "masquerade                             true")
    );
    assert!(text.contains("/run/tplab/bpf/x/ct"));
}

fn tcp_event(dir: Direction, flags: u8, from_pod: bool) -> PacketEvent {
    let (pod, world) = (Ipv4Addr::new(10, 244, 0, 213), Ipv4Addr::new(1, 0, 0, 1));
    let (src, dst, sport, dport) = if from_pod {
        (pod, world, 59242, 80)
    } else {
        (world, pod, 80, 59242)
    };
    PacketEvent {
        label: "lxc".into(),
        ifname: "lxcf4cd39e34601".into(),
        ifindex: 25,
        netns_cookie: 1,
        dir,
        proto: Proto::Tcp,
        src,
        dst,
        sport,
        dport,
        icmp_type: None,
        icmp_code: None,
        icmp_id: None,
        tcp_flags: flags,
        len: 74,
        ip_len: 60,
        ts_ns: 1,
    }
}

#[test]
fn monitor_lines_match_the_seed_shape() {
    let ctx = CiliumCtx::new(
        "/x".into(),
        "/run/netns/n".into(),
        "lxcf4cd39e34601".into(),
        Ipv4Addr::new(10, 244, 0, 213),
    );
    let mut st = MonitorState::default();
    let syn = monitor_line(&tcp_event(Direction::Ingress, 0x02, true), &ctx, &mut st);
    assert!(syn.starts_with("-> stack flow 0x"), "{syn}");
    assert!(
        syn.ends_with(
            " identity 42837->world state new ifindex 0 orig-ip 0.0.0.0: 10.244.0.213:59242 -> 1.0.0.1:80 tcp SYN"
        ),
        "{syn}"
    );
    let synack = monitor_line(&tcp_event(Direction::Egress, 0x12, false), &ctx, &mut st);
    assert_eq!(
        synack,
        "-> endpoint 762 flow 0x0 identity world->42837 state reply ifindex lxcf4cd39e34601 \
         orig-ip 1.0.0.1: 1.0.0.1:80 -> 10.244.0.213:59242 tcp SYN, ACK"
    );
    let fin = monitor_line(&tcp_event(Direction::Ingress, 0x11, true), &ctx, &mut st);
    assert!(
        fin.contains("state established") && fin.ends_with("tcp ACK, FIN"),
        "{fin}"
    );
    // Same flow, same flow id.
    assert_eq!(syn.split(' ').nth(3), fin.split(' ').nth(3));
}

#[test]
fn unknown_commands_and_help() {
    let ctx = CiliumCtx::new(
        "/nonexistent".into(),
        "/x".into(),
        "lxc0".into(),
        Ipv4Addr::LOCALHOST,
    );
    let run = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|s| (*s).to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = cilium_run(&args, &ctx, &mut out, &mut err, None);
        (
            code,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    };
    let (code, out, _) = run(&[]);
    assert_eq!(code, 0);
    assert!(out.contains("NOT Cilium") && out.contains("bpf ct list global"));
    let (code, out, _) = run(&["bpf", "ct", "list", "global", "--help"]);
    assert!(code == 0 && out.contains("tplab"));
    let (code, _, err) = run(&["endpoint", "list"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown command `cilium endpoint list`"));
    let (code, _, err) = run(&["bpf", "ct", "list", "global"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/ct"), "{err}");
}
