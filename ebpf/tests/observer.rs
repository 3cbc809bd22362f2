//! Root tests of the packet observer: lossless counts on every hop (cross-checked with
//! tcpdump), and `packets` checks passing on the real path and failing clearly when NAT or
//! the route is broken.

mod common;

use std::time::Duration;

use common::{NODE_IP, POD_IP, Topo, WORLD_IP};
use tplab_ebpf::check::{
    CtQuery, PathQuery, Verdict, evaluate_path, find_ct_entry, hops, run_packets_check,
};
use tplab_ebpf::{Datapath, Direction, ObservePoint, Observer, PacketEvent, Proto, Trace};
use tplab_testkit::{Failed, Suite, check, fail};

fn points(t: &Topo) -> Vec<ObservePoint> {
    vec![
        ObservePoint {
            netns: t.pod_path(),
            ifname: "eth0".into(),
            label: "pod:eth0".into(),
        },
        ObservePoint {
            netns: t.node_path(),
            ifname: t.lxc.clone(),
            label: "node:lxc".into(),
        },
        ObservePoint {
            netns: t.node_path(),
            ifname: "eth0".into(),
            label: "node:eth0".into(),
        },
    ]
}

fn echo_requests(evs: &[PacketEvent], label: &str, dir: Direction) -> usize {
    evs.iter()
        .filter(|e| e.label == label && e.dir == dir && e.icmp_type == Some(8))
        .count()
}

fn query(yaml: &str) -> Result<PathQuery, Failed> {
    serde_yaml::from_str(yaml).map_err(fail)
}

const REAL_PATH: &str = "
proto: icmp
src: 10.244.0.213
dst: 203.0.113.10
within: 10s
count: '>= 1'
path:
  - {at: 'pod:eth0', dir: egress}
  - {at: 'node:lxc', dir: ingress}
  - {at: 'node:eth0', dir: egress, src: 198.51.100.2}
";

fn observer_counts_exactly_n() -> Result<(), Failed> {
    const N: usize = 200;
    let t = Topo::new().map_err(fail)?;
    let dp = Datapath::attach(&t.node_path(), &t.lxc, &t.pin_dir).map_err(fail)?;
    let obs = Observer::start(points(&t)).map_err(fail)?;
    // tcpdump on node eth0 as an independent witness.
    let dump =
        common::Tcpdump::start(&t.node, "eth0", "icmp[icmptype] == icmp-echo").map_err(fail)?;
    t.ping(u32::try_from(N).unwrap_or(200), "0.01")
        .map_err(fail)?;
    std::thread::sleep(Duration::from_millis(300));
    let lost = obs.lost();
    let evs = obs.stop();
    check!(lost == 0, "ring buffer lost {lost} events");
    let counts = [
        ("pod:eth0", Direction::Egress),
        ("node:lxc", Direction::Ingress),
        ("node:eth0", Direction::Egress),
    ]
    .map(|(l, d)| (l, echo_requests(&evs, l, d)));
    for (label, n) in counts {
        check!(n == N, "{label}: {n} echo requests observed, {N} sent");
    }
    // The datapath still ran after the observer (TC_ACT_UNSPEC): the CT entry counted all.
    let ct = tplab_ebpf::ct_entries(&t.pin_dir).map_err(fail)?;
    let q = CtQuery {
        proto: Proto::Icmp,
        src: POD_IP.parse().ok(),
        dst: WORLD_IP.parse().ok(),
        dport: None,
        direction: Some(tplab_ebpf::CtDirection::Out),
        related: false,
    };
    let e = find_ct_entry(&q, &ct).map_err(fail)?;
    check!(e.packets == 2 * N as u64, "CT counts {e:?}");
    let out = dump.finish().map_err(fail)?;
    let dumped = out.lines().filter(|l| l.contains("echo request")).count();
    check!(
        dumped == N,
        "tcpdump saw {dumped} echo requests on node eth0, observer {N}: {}",
        out.lines().rev().take(4).collect::<Vec<_>>().join(" | ")
    );
    dp.detach().map_err(fail)
}

fn packets_check_pass_then_fail_without_nat() -> Result<(), Failed> {
    let t = Topo::new().map_err(fail)?;
    let q = query(REAL_PATH)?;
    check!(q.within == Duration::from_secs(10), "within parsed");
    let mut obs = Observer::start(points(&t)).map_err(fail)?;
    t.ping(2, "0.1").map_err(fail)?;
    std::thread::sleep(Duration::from_millis(200));
    let evs = obs.drain();
    if std::env::var_os("TPLAB_DEBUG").is_some() {
        for e in &evs {
            eprintln!(
                "{} {} {} {:x} {}",
                e.label,
                e.ifindex,
                e.dir,
                e.netns_cookie,
                e.l4_summary()
            );
        }
    }
    let outcome = evaluate_path(&q, &evs);
    check!(outcome.passed(), "real path must pass: {outcome:?}");
    // Trace lines show the NAT between lxc and node eth0.
    let mut trace = Trace::new();
    let lines: Vec<String> = evs
        .iter()
        .filter(|e| e.icmp_type == Some(8))
        .take(8)
        .flat_map(|e| trace.describe(e))
        .collect();
    let text = lines.join("\n");
    check!(
        text.contains(&format!("NAT: source {POD_IP} -> {NODE_IP}")) && text.contains("routing:"),
        "trace:\n{text}"
    );
    // Break NAT: packets now leave with the pod address.
    t.masquerade(false).map_err(fail)?;
    t.ping_lossy(2);
    std::thread::sleep(Duration::from_millis(200));
    let evs = obs.stop();
    let later: Vec<PacketEvent> = evs.into_iter().collect();
    let outcome = evaluate_path(&q, &later);
    if outcome.verdict != Verdict::Fail {
        return Err(fail("must fail without NAT"));
    }
    let (message, evidence) = (&outcome.found, hops(&outcome));
    check!(
        *message
            == format!(
                "seen on pod:eth0 and node:lxc, but never leaving node:eth0 with source {NODE_IP} \
                 (seen leaving with source {POD_IP}: NAT missing?)"
            ),
        "message: {message}"
    );
    check!(evidence.len() == 2, "evidence {evidence:?}");
    Ok(())
}

fn packets_check_fails_without_route() -> Result<(), Failed> {
    let t = Topo::new().map_err(fail)?;
    let mut q = query(REAL_PATH)?;
    q.within = Duration::from_secs(2);
    t.exec(&t.node, &["ip", "route", "del", "default"])
        .map_err(fail)?;
    let (outcome, evs) = run_packets_check(points(&t), &q, || t.ping_lossy(2)).map_err(fail)?;
    if outcome.verdict != Verdict::Fail {
        return Err(fail("must fail without a route"));
    }
    let message = &outcome.found;
    check!(
        message.starts_with("seen on pod:eth0 and node:lxc, but never leaving node:eth0")
            && message.contains("route or forwarding missing?"),
        "message: {message}"
    );
    check!(
        evs.iter()
            .all(|e| e.label != "node:eth0" || e.proto != Proto::Icmp),
        "{evs:?}"
    );
    // Put the route back: the same live check now passes.
    t.exec(
        &t.node,
        &["ip", "route", "add", "default", "via", common::WORLD_GW],
    )
    .map_err(fail)?;
    let (outcome, _) = run_packets_check(points(&t), &q, || t.ping_lossy(1)).map_err(fail)?;
    check!(outcome.passed(), "{outcome:?}");
    Ok(())
}

fn observer_detaches_on_drop() -> Result<(), Failed> {
    let t = Topo::new().map_err(fail)?;
    // The datapath (legacy tc) and the observer (TCX, first) side by side, as in the sandbox.
    let dp = Datapath::attach(&t.node_path(), &t.lxc, &t.pin_dir).map_err(fail)?;
    let obs = Observer::start(points(&t)).map_err(fail)?;
    let ids = obs.prog_ids().to_vec();
    check!(ids.len() == 6, "2 programs per point: {ids:?}");
    let tcx = tplab_ebpf::tcx_programs(&t.node_path(), &t.lxc).map_err(fail)?;
    let names: Vec<&str> = tcx.iter().map(|p| p.name.as_str()).collect();
    check!(
        names == ["tplab_obs_ing", "tplab_obs_egr"],
        "TCX on lxc: {tcx:?}"
    );
    drop(obs);
    check!(
        tplab_ebpf::tcx_programs(&t.node_path(), &t.lxc)
            .map_err(fail)?
            .is_empty(),
        "TCX links left after drop"
    );
    for ns in [&t.pod, &t.node] {
        let net = t.exec(ns, &["bpftool", "-j", "net"]).map_err(fail)?;
        check!(!net.contains("tplab_obs"), "left attached in {ns}: {net}");
    }
    std::thread::sleep(Duration::from_millis(200)); // programs are freed after RCU
    let progs = common::sh(&["bpftool", "-j", "prog"]).map_err(fail)?;
    let v: serde_json::Value = serde_json::from_str(&progs).map_err(fail)?;
    let left: Vec<u64> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_u64())
        .filter(|id| ids.iter().any(|i| u64::from(*i) == *id))
        .collect();
    check!(left.is_empty(), "programs still loaded: {left:?}");
    // The datapath kept working under the observer and is still there.
    let tc = t
        .exec(&t.node, &["tc", "filter", "show", "dev", &t.lxc, "ingress"])
        .map_err(fail)?;
    check!(
        tc.contains(&format!("cil_from_container-{}", t.lxc)),
        "datapath filter: {tc}"
    );
    dp.detach().map_err(fail)
}

fn main() {
    Suite::new()
        .root_test(
            "observer counts exactly N packets on each hop, like tcpdump",
            observer_counts_exactly_n,
        )
        .root_test(
            "packets check passes, then fails without NAT",
            packets_check_pass_then_fail_without_nat,
        )
        .root_test(
            "packets check fails without route",
            packets_check_fails_without_route,
        )
        .root_test("observer detaches on drop", observer_detaches_on_drop)
        .run()
}
