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
        service: false,
        src: Ipv4Addr::new(10, 244, 0, 213),
        dst: Ipv4Addr::new(1, 0, 0, 1),
        sport: 46486,
        dport: 80,
        expires: 17_755_044,
        packets: 10,
        bytes: 1029,
        rx_flags_seen: 0x1b,
        last_rx_report: 17_755_035,
        tx_flags_seen: 0x1b,
        last_tx_report: 17_755_035,
        flags: 0x13,
        rev_nat: 0,
        source_security_id: 42837,
        ifindex: 0,
        backend_id: 0,
    }
}

#[test]
fn ct_lines_have_cilium_1_16_shape() {
    // The seed's line, in Cilium 1.16's shape (one Packets/Bytes pair, BackendID).
    assert_eq!(
        format_ct_entry(&seed_tcp()),
        "TCP OUT 10.244.0.213:46486 -> 1.0.0.1:80 expires=17755044 Packets=10 Bytes=1029 \
         RxFlagsSeen=0x1b LastRxReport=17755035 TxFlagsSeen=0x1b \
         LastTxReport=17755035 Flags=0x0013 [ RxClosing TxClosing SeenNonSyn ] RevNAT=0 \
         SourceSecurityID=42837 IfIndex=0 BackendID=0 "
    );
    assert!(
        format_ct_entry_with(&seed_tcp(), Some(21599))
            .contains("expires=17755044 (remaining: 21599 sec(s)) Packets=10 ")
    );
    let related = CtEntry {
        proto: Proto::Icmp,
        related: true,
        sport: 0,
        dport: 0,
        expires: 17_755_093,
        packets: 1,
        bytes: 74,
        rx_flags_seen: 0,
        last_rx_report: 0,
        tx_flags_seen: 0x02,
        flags: 0x10,
        ..seed_tcp()
    };
    assert_eq!(
        format_ct_entry(&related),
        "ICMP OUT 10.244.0.213:0 -> 1.0.0.1:0 related expires=17755093 Packets=1 Bytes=74 \
         RxFlagsSeen=0x00 LastRxReport=0 TxFlagsSeen=0x02 \
         LastTxReport=17755035 Flags=0x0010 [ SeenNonSyn ] RevNAT=0 SourceSecurityID=42837 IfIndex=0 BackendID=0 "
    );
    let plain = CtEntry {
        flags: 0,
        ..related
    };
    assert!(format_ct_entry(&plain).contains("Flags=0x0000 [ ] RevNAT=0"));
    let odd = CtEntry {
        flags: 0x1204,
        ..plain
    };
    assert!(
        format_ct_entry(&odd).contains("Flags=0x1204 [ Unknown=0x1204 ] RevNAT=0"),
        "{}",
        format_ct_entry(&odd)
    );
}

#[test]
fn config_view_has_the_seed_columns() {
    let text = format_config(&sandbox_config("/run/tplab/bpf/x", false));
    assert!(
        text.lines()
            .any(|l| l == "enable-bpf-masquerade                  false")
    );
    assert!(
        text.lines()
            .any(|l| l == "masquerade                             true")
    );
    assert!(
        text.lines()
            .any(|l| l == "bpf-root                               /run/tplab/bpf/x")
    );
    assert!(
        text.lines()
            .any(|l| l == "enable-tcx                             false")
    );
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
    let (code, _, err) = run(&["frobnicate"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "Error: unknown command \"frobnicate\" for \"cilium\"\nRun 'cilium --help' for usage.\n"
    );
    let (code, _, err) = run(&["bpf", "lb", "list"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("Error: unknown command \"lb\" for \"cilium bpf\""),
        "{err}"
    );
    let (code, _, err) = run(&["bpf", "ct", "list", "global"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("/nonexistent/tc/globals/cilium_ct4_global"),
        "{err}"
    );
}

fn two_pod_ctx() -> CiliumCtx {
    let mut ctx = CiliumCtx::new(
        "/run/tplab/bpf/ab12".into(),
        "/nonexistent-netns".into(),
        "lxc0123456789ab".into(),
        Ipv4Addr::new(10, 244, 0, 213),
    );
    ctx.node_ip = Ipv4Addr::new(198, 51, 100, 2);
    ctx.pods[0].mac = "02:00:00:00:00:01".into();
    ctx.pods[0].lxc_mac = "02:00:00:00:00:02".into();
    ctx.pods.push(EndpointInfo {
        name: "web".into(),
        ip: Ipv4Addr::new(10, 244, 0, 14),
        endpoint_id: 763,
        ..ctx.pods[0].clone()
    });
    ctx.kube_version = Some("v1.33.1".into());
    ctx
}

#[test]
fn status_follows_the_sandbox() {
    let mut ctx = two_pod_ctx();
    let text = format_status(&ctx, false);
    assert!(
        text.lines()
            .any(|l| l == "Attach Mode:             Legacy TC"),
        "{text}"
    );
    assert!(
        text.contains("IPAM:                    IPv4: 3/65534 allocated from 10.244.0.0/16, "),
        "{text}"
    );
    assert!(text.contains("Masquerading:            IPTables [IPv4: Enabled, IPv6: Disabled]"));
    assert!(text.contains("Kubernetes:              Ok   1.33 (v1.33.1)"));
    assert!(text.contains("Routing:                 Network: Native   Host: Legacy"));
    ctx.attach = AttachMode::Tcx;
    let verbose = format_status(&ctx, true);
    assert!(verbose.contains("Attach Mode:             TCX"));
    assert!(
        verbose.contains("  10.244.0.14 (default/web)\n"),
        "{verbose}"
    );
    assert!(verbose.contains("  10.244.0.201 (router)\n"));
}

#[test]
fn endpoint_lists_have_cilium_columns() {
    let ctx = two_pod_ctx();
    let text = format_endpoint_list(&ctx);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(
            "ENDPOINT   POLICY (ingress)   POLICY (egress)   IDENTITY   LABELS (source:key[=value])"
        ),
        "{text}"
    );
    assert!(
        lines[1]
            .trim_start()
            .starts_with("ENFORCEMENT        ENFORCEMENT"),
        "{text}"
    );
    let ep = lines
        .iter()
        .find(|l| l.starts_with("762 "))
        .expect("endpoint 762");
    assert!(
        ep.contains(" Disabled ") && ep.contains("42837") && ep.ends_with("10.244.0.213   ready"),
        "{ep}"
    );
    assert!(text.contains("reserved:host"));
    // Columns line up: IPv4 starts at the same offset on every endpoint line.
    let col = lines[0].find("IPv4").expect("IPv4 column");
    assert_eq!(ep.find("10.244.0.213"), Some(col), "{text}");
    let bpf = format_bpf_endpoint_list(&ctx);
    assert!(
        bpf.starts_with("IP ADDRESS       LOCAL ENDPOINT INFO\n"),
        "{bpf}"
    );
    assert!(bpf.contains("10.244.0.213:0   id=762   sec_id=42837 flags=0x0000 ifindex=0   mac=02:00:00:00:00:01 nodemac=02:00:00:00:00:02"), "{bpf}");
    assert!(bpf.contains("10.244.0.201:0   (localhost)"), "{bpf}");
    assert!(bpf.contains("198.51.100.2:0   (localhost)"), "{bpf}");
}

#[test]
fn dbg_name_and_read_only_commands() {
    let mut ctx = two_pod_ctx();
    ctx.prog_name = "cilium-dbg".into();
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
    let (code, _, err) = run(&["nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("for \"cilium-dbg\"") && err.contains("Run 'cilium-dbg --help'"));
    let (code, out, _) = run(&["version"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!("Client: {CILIUM_VERSION} ")) && out.contains("\nDaemon: "),
        "{out}"
    );
    let (code, out, _) = run(&["service", "list"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "ID   Frontend   Service Type   Backend\n")
    );
    let (code, out, _) = run(&["status", "--brief"]);
    assert_eq!((code, out.as_str()), (0, "OK\n"));
    let (code, _, err) = run(&["bpf", "nat", "list"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("/run/tplab/bpf/ab12/tc/globals/cilium_snat_v4_external"),
        "{err}"
    );
}
