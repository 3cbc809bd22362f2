//! Every observation of the seed lab's "Vu du Pod", "Vu du Node" and "Routage sur le
//! Node" sections, as probe checks over a pod/node/world topology shaped like the
//! seed's, with captures chained by hand the way the runner does (gateway MAC from the
//! pod's neighbour entry -> the node link holding it -> its name). Then the state is
//! altered and the checks must fail with readable messages.

use std::path::Path;

use serde_json::Value;
use tplab_probe::{Outcome, Query, Verdict, collect_for_sync, evaluate};
use tplab_testkit::{Failed, check, fail};

use crate::support::{Rng, Topo, sh};

/// `TPT_PROBE_VERBOSE=1` prints every check and message (the harness does not capture).
fn say(text: &str) {
    if std::env::var_os("TPT_PROBE_VERBOSE").is_some() {
        eprintln!("{text}");
    }
}

fn run(ns: &Path, yaml: &str) -> Result<Outcome, Failed> {
    let q: Query = serde_yaml::from_str(yaml).map_err(|e| fail(format!("{yaml}: {e}")))?;
    let facts = collect_for_sync(Some(ns), &q).map_err(|e| fail(format!("{yaml}: {e}")))?;
    Ok(evaluate(&q, &facts))
}

fn pass(ns: &Path, yaml: &str) -> Result<Value, Failed> {
    match run(ns, yaml)? {
        o if o.passed() => {
            say(&format!("pass  {yaml}\n      {}", o.found));
            Ok(o.evidence["record"].clone())
        }
        other => Err(fail(format!("{yaml}: {other:?}"))),
    }
}

fn fails(ns: &Path, yaml: &str) -> Result<(String, String), Failed> {
    match run(ns, yaml)? {
        Outcome {
            verdict: Verdict::Fail,
            expected,
            found,
            ..
        } => {
            say(&format!(
                "fail  {yaml}\n      expected {expected}\n      found    {found}"
            ));
            Ok((expected, found))
        }
        other => Err(fail(format!("{yaml} should fail: {other:?}"))),
    }
}

pub fn seed_observations_are_checks() -> Result<(), Failed> {
    let mut rng = Rng::new();
    let topo = Topo::new(&mut rng, 3, "tpt-probe-")?;
    let (pod, node, world) = (topo.ns(0), topo.ns(1), topo.ns(2));
    let (pod_p, node_p) = (topo.path(0), topo.path(1));
    let lxc = format!("lxc{}", rng.tag());
    let (gw, pod_ip, node_ip, world_ip) = (
        "10.244.0.201",
        "10.244.0.213",
        "198.51.100.1",
        "203.0.113.10",
    );
    sh(
        pod,
        &format!("ip link add eth0 type veth peer name {lxc} netns {node}"),
    )?;
    sh(
        pod,
        &format!("ip addr add {pod_ip}/32 dev eth0 && ip link set eth0 up"),
    )?;
    sh(
        pod,
        &format!("ip route add {gw} dev eth0 scope link && ip route add default via {gw} dev eth0"),
    )?;
    sh(
        node,
        &format!(
            "ip link set {lxc} up && sysctl -qw net.ipv4.conf.{lxc}.proxy_arp=1 net.ipv4.ip_forward=1"
        ),
    )?;
    sh(
        node,
        "ip link add cilium_host type veth peer name cilium_net && ip link set cilium_host up && ip link set cilium_net up",
    )?;
    sh(
        node,
        &format!("ip addr add {gw}/32 dev cilium_host && ip route add {pod_ip} dev {lxc}"),
    )?;
    sh(
        node,
        &format!("ip link add eth0 type veth peer name eth0 netns {world}"),
    )?;
    sh(
        node,
        &format!(
            "ip addr add {node_ip}/24 dev eth0 && ip link set eth0 up && ip route add default via 198.51.100.2"
        ),
    )?;
    sh(
        world,
        &format!(
            "ip addr add 198.51.100.2/24 dev eth0 && ip addr add {world_ip}/32 dev eth0 && ip link set eth0 up"
        ),
    )?;
    sh(
        node,
        "iptables -t nat -A POSTROUTING -s 10.244.0.0/16 -o eth0 -j MASQUERADE",
    )?;
    let dir = tempfile::tempdir().map_err(fail)?;
    let obj = dir.path().join("bpf_lxc.o");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tpt_pass.bpf.c");
    let have_clang = std::process::Command::new("clang")
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .is_ok_and(|s| s.success());
    if have_clang {
        sh(
            node,
            &format!(
                "tc qdisc add dev {lxc} clsact && tc filter add dev {lxc} ingress bpf da obj {} sec classifier",
                obj.display()
            ),
        )?;
    } else {
        eprintln!("clang not found: skipping the bpf_attached observation (apt-get install clang)");
    }
    sh(pod, &format!("ping -c 1 -W 1 {world_ip}"))?;

    // Vu du Pod
    pass(
        &pod_p,
        &format!("route: {{dst: default, gateway: {gw}, dev: eth0}}"),
    )?;
    pass(
        &pod_p,
        &format!("route: {{dst: {gw}, dev: eth0, scope: link}}"),
    )?;
    let neigh = pass(
        &pod_p,
        &format!(
            "neighbour: {{ip: {gw}, dev: eth0, state: {{one_of: [REACHABLE, STALE, DELAY, PROBE]}}}}"
        ),
    )?;
    let gw_mac = neigh["lladdr"]
        .as_str()
        .ok_or_else(|| fail("no lladdr captured"))?
        .to_string();
    pass(
        &pod_p,
        &format!("address: {{ifname: eth0, address: {pod_ip}, prefix_len: 32, scope: global}}"),
    )?;
    let eth0 = pass(
        &pod_p,
        "link: {name: eth0, kind: veth, peer_ifindex: {exists: true}, oper_state: up}",
    )?;
    let peer_ifindex = eth0["peer_ifindex"]
        .as_u64()
        .ok_or_else(|| fail("no peer_ifindex"))?;

    // Vu du Node: the gateway MAC is the lxc end of the pod's veth.
    let link = pass(
        &node_p,
        &format!(
            "link: {{mac: '{}', name: {{regex: '^lxc'}}, ifindex: {peer_ifindex}}}",
            gw_mac.to_uppercase()
        ),
    )?;
    check!(
        link["name"] == lxc.as_str(),
        "captured {} instead of {lxc}",
        link["name"]
    );
    pass(
        &node_p,
        &format!("address: {{ifname: cilium_host, address: {gw}}}"),
    )?;
    if have_clang {
        pass(
            &node_p,
            &format!(
                "bpf_attached: {{dev: {lxc}, direction: ingress, name: {{regex: 'bpf_lxc'}}, direct_action: true}}"
            ),
        )?;
    }

    // Routage sur le Node
    pass(
        &node_p,
        "route: {dst: default, gateway: 198.51.100.2, dev: eth0}",
    )?;
    pass(&node_p, &format!("route: {{dst: {pod_ip}, dev: {lxc}}}"))?;
    pass(
        &node_p,
        &format!(
            "conntrack: {{proto: icmp, src: {pod_ip}, dst: {world_ip}, snat: true, reply_dst: {node_ip}}}"
        ),
    )?;

    // Altered states fail with messages a student can act on.
    sh(pod, "ip route del default")?;
    let (expected, found) = fails(
        &pod_p,
        &format!("route: {{dst: default, gateway: {gw}, dev: eth0}}"),
    )?;
    check!(
        expected == format!("a default route via {gw} dev eth0"),
        "expected: {expected}"
    );
    check!(
        found.contains(&format!("routes: {gw} dev eth0 scope link")),
        "found: {found}"
    );
    if have_clang {
        sh(node, &format!("tc filter del dev {lxc} ingress"))?;
        let (_, found) = fails(
            &node_p,
            &format!("bpf_attached: {{dev: {lxc}, direction: ingress}}"),
        )?;
        check!(
            found == "no attached BPF programs in this namespace",
            "found: {found}"
        );
    }
    sh(node, &format!("ip addr del {gw}/32 dev cilium_host"))?;
    let (_, found) = fails(
        &node_p,
        &format!("address: {{ifname: cilium_host, address: {gw}}}"),
    )?;
    check!(
        found.contains("closest:") || found.contains("addresses:"),
        "found: {found}"
    );
    Ok(())
}
