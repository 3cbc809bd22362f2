//! Conntrack entries of a router netns (MASQUERADE for the pod subnet) must equal what
//! `conntrack -L` reports; NAT checks pass on `NATed` flows and fail with a clear message
//! once the NAT rule is removed.

use serde_json::Value;
use tplab_probe::{ConntrackSource, FactKind, Outcome, Query, Verdict, evaluate};
use tplab_testkit::{Failed, check, fail};

use crate::support::{Rng, Topo, probe, s, same_set, sh};

type Row = Vec<Option<String>>;

/// Parses `conntrack -L -o extended` lines into comparable rows.
fn reference(ns: &str) -> Result<Vec<Row>, Failed> {
    let text = sh(ns, "conntrack -L -o extended 2>/dev/null")?;
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let toks: Vec<&str> = line.split_whitespace().collect();
        // ipv4 2 icmp 1 29 [STATE] k=v ... [UNREPLIED] k=v ... [ASSURED] mark=0 [zone=N] use=1
        let proto = toks.get(2).copied().unwrap_or_default().to_string();
        let mut orig: Vec<(String, String)> = Vec::new();
        let mut reply: Vec<(String, String)> = Vec::new();
        let (mut state, mut assured, mut unreplied, mut mark, mut zone) =
            (None, false, false, "0".to_string(), "0".to_string());
        for t in toks.iter().skip(5) {
            match t.split_once('=') {
                Some(("mark", v)) => mark = v.to_string(),
                Some(("zone", v)) => zone = v.to_string(),
                Some(("use", _)) => {}
                Some((k, v)) => {
                    let seen = orig.iter().any(|(kk, _)| kk == k);
                    let target = if seen { &mut reply } else { &mut orig };
                    target.push((k.to_string(), v.to_string()));
                }
                None if *t == "[ASSURED]" => assured = true,
                None if *t == "[UNREPLIED]" => unreplied = true,
                None if t.starts_with('[') => {}
                None => state = Some((*t).to_string()),
            }
        }
        let get = |v: &[(String, String)], k: &str| {
            v.iter().find(|(kk, _)| kk == k).map(|(_, x)| x.clone())
        };
        let icmp = proto.starts_with("icmp");
        rows.push(vec![
            Some(proto),
            get(&orig, "src"),
            get(&orig, "dst"),
            get(&orig, if icmp { "id" } else { "sport" }),
            get(&orig, if icmp { "type" } else { "dport" }),
            get(&reply, "src"),
            get(&reply, "dst"),
            get(&reply, if icmp { "id" } else { "sport" }),
            get(&reply, if icmp { "type" } else { "dport" }),
            state,
            Some(assured.to_string()),
            Some((!unreplied).to_string()),
            Some(mark),
            Some(zone),
        ]);
    }
    Ok(rows)
}

fn ours(records: &[Value]) -> Vec<Row> {
    records
        .iter()
        .map(|e| {
            let icmp = e["proto"].as_str().is_some_and(|p| p.starts_with("icmp"));
            let pick = |a: &str, b: &str| s(e, if icmp { a } else { b });
            vec![
                s(e, "proto"),
                s(e, "src"),
                s(e, "dst"),
                pick("icmp_id", "sport"),
                pick("icmp_type", "dport"),
                s(e, "reply_src"),
                s(e, "reply_dst"),
                pick("reply_icmp_id", "reply_sport"),
                pick("reply_icmp_type", "reply_dport"),
                s(e, "state"),
                s(e, "assured"),
                s(e, "seen_reply"),
                s(e, "mark"),
                s(e, "zone"),
            ]
        })
        .collect()
}

struct Lab {
    topo: Topo,
    pod: String,
    gw: String,
    node_out: String,
    world: String,
}

fn build(rng: &mut Rng) -> Result<Lab, Failed> {
    let topo = Topo::new(rng, 3, "tpt-probe-")?;
    let (c, r, w) = (topo.ns(0), topo.ns(1), topo.ns(2));
    // No DAD on new links: IPv6 neighbour discovery would otherwise wait ~2 s.
    for ns in [c, r, w] {
        sh(ns, "sysctl -qw net.ipv6.conf.default.accept_dad=0")?;
    }
    let k = rng.range(1, 250);
    let pod = format!("10.244.{k}.{}", rng.range(2, 250));
    let gw = format!("10.244.{k}.1");
    let node_out = "198.51.100.1".to_string();
    let world = format!("203.0.113.{}", rng.range(2, 250));
    sh(
        c,
        &format!("ip link add eth0 type veth peer name lxc0 netns {r}"),
    )?;
    sh(
        r,
        &format!("ip link add eth1 type veth peer name eth0 netns {w}"),
    )?;
    sh(
        c,
        &format!(
            "ip link set eth0 up && ip addr add {pod}/24 dev eth0 && ip route add default via {gw}"
        ),
    )?;
    sh(
        r,
        &format!(
            "ip link set lxc0 up && ip addr add {gw}/24 dev lxc0 && ip link set eth1 up && ip addr add {node_out}/24 dev eth1"
        ),
    )?;
    sh(
        r,
        &format!(
            "ip route add {world}/32 via 198.51.100.2 dev eth1 && sysctl -qw net.ipv4.ip_forward=1"
        ),
    )?;
    sh(
        w,
        &format!(
            "ip link set eth0 up && ip addr add 198.51.100.2/24 dev eth0 && ip addr add {world}/32 dev eth0"
        ),
    )?;
    sh(w, &format!("ip route add 10.244.{k}.0/24 via {node_out}"))?;
    sh(
        r,
        &format!("iptables -t nat -A POSTROUTING -s 10.244.{k}.0/24 -o eth1 -j MASQUERADE"),
    )?;
    // Conntrack only runs in a netns while some rule needs it: keep a stateful filter
    // rule so that removing the NAT rule later does not also stop tracking.
    sh(
        r,
        "iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED,NEW -j ACCEPT",
    )?;
    // IPv6 too (procfs prints IPv6 uncompressed: both readers must still agree).
    sh(
        c,
        "ip addr add 2001:db8:1::2/64 dev eth0 nodad && ip -6 route add default via 2001:db8:1::1",
    )?;
    sh(
        r,
        "ip addr add 2001:db8:1::1/64 dev lxc0 nodad && ip addr add 2001:db8:2::1/64 dev eth1 nodad",
    )?;
    sh(r, "sysctl -qw net.ipv6.conf.all.forwarding=1")?;
    sh(
        r,
        "ip6tables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED,NEW -j ACCEPT",
    )?;
    sh(
        w,
        "ip addr add 2001:db8:2::2/64 dev eth0 nodad && ip -6 route add 2001:db8:1::/64 via 2001:db8:2::1",
    )?;
    Ok(Lab {
        topo,
        pod,
        gw,
        node_out,
        world,
    })
}

fn traffic(rng: &mut Rng, lab: &Lab) -> Result<(), Failed> {
    let (c, r) = (lab.topo.ns(0), lab.topo.ns(1));
    let n = rng.range(1, 3);
    sh(c, &format!("ping -c {n} -i 0.01 -W 1 {}", lab.world))?;
    sh(c, &format!("ping -c 1 -W 1 {}", lab.gw))?;
    sh(r, &format!("ping -c 1 -W 1 {}", lab.world))?;
    sh(c, "ping -6 -c 1 -W 2 2001:db8:2::2")?;
    for _ in 0..rng.range(1, 3) {
        let port = rng.range(1024, 60000);
        sh(
            c,
            &format!("bash -c 'echo x > /dev/udp/{}/{port}'", lab.world),
        )?;
    }
    // A refused TCP connection: a tcp entry with a state (CLOSE) and ports.
    let _ = sh(
        c,
        &format!(
            "bash -c 'exec 3<>/dev/tcp/{}/{}' 2>/dev/null",
            lab.world,
            rng.range(1, 1000)
        ),
    );
    Ok(())
}

pub fn conntrack_equals_conntrack_tool_and_nat_checks() -> Result<(), Failed> {
    let mut rng = Rng::new();
    let lab = build(&mut rng)?;
    traffic(&mut rng, &lab)?;
    let r = lab.topo.ns(1);
    let mut last = Ok(());
    for _attempt in 0..10 {
        let got = probe(&lab.topo.path(1), &[FactKind::Conntrack])?.remove(0);
        last = same_set("conntrack entries", ours(&got.records()), reference(r)?);
        if last.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    last?;

    // The fast procfs reader and the ctnetlink dump agree on every entry (NAT bits
    // derived from the tuples == the kernel's IPS_SRC_NAT/IPS_DST_NAT).
    let path = lab.topo.path(1);
    let strip = |mut v: Vec<tplab_probe::ConntrackEntry>| {
        for e in &mut v {
            (e.id, e.timeout) = (None, None);
            e.status.clear();
        }
        v.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        v
    };
    let mut last = Ok(());
    for _attempt in 0..10 {
        let fast = tplab_probe::collect_conntrack_sync(Some(&path), ConntrackSource::Procfs)
            .map_err(fail)?;
        let nl = tplab_probe::collect_conntrack_sync(Some(&path), ConntrackSource::Netlink)
            .map_err(fail)?;
        check!(
            nl.iter().all(|e| e.id.is_some()),
            "ctnetlink entries carry ids"
        );
        last = same_set(
            "procfs vs ctnetlink",
            strip(fast).iter().map(|e| format!("{e:?}")).collect(),
            strip(nl).iter().map(|e| format!("{e:?}")).collect(),
        );
        if last.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    last?;

    let facts = probe(&lab.topo.path(1), &[FactKind::Conntrack])?.remove(0);
    check!(
        facts
            .records()
            .iter()
            .any(|e| e["family"] == "ipv6" && e["proto"] == "icmpv6"),
        "the IPv6 flow is tracked and reported"
    );
    check!(
        facts
            .records()
            .iter()
            .any(|e| e["proto"] == "udp" && e["seen_reply"] == false),
        "unreplied UDP flows are reported"
    );
    let nat = Query::parse(
        "conntrack",
        serde_json::json!({"proto": "icmp", "src": lab.pod, "dst": lab.world, "snat": true, "reply_dst": lab.node_out}),
    )
    .map_err(fail)?;
    check!(
        evaluate(&nat, &facts).passed(),
        "NATed pod flow: {:?}",
        evaluate(&nat, &facts)
    );
    let local = Query::parse(
        "conntrack",
        serde_json::json!({"proto": "icmp", "src": lab.node_out, "dst": lab.world, "snat": false}),
    )
    .map_err(fail)?;
    check!(
        evaluate(&local, &facts).passed(),
        "node's own flow is not NATed"
    );

    // Remove the NAT rule, forget old flows, ping again: the NAT check now fails and says why.
    sh(
        r,
        "iptables -t nat -F POSTROUTING && conntrack -F 2>/dev/null",
    )?;
    sh(
        lab.topo.ns(0),
        &format!("ping -c 1 -W 1 {} || true", lab.world),
    )?;
    let after = probe(&lab.topo.path(1), &[FactKind::Conntrack])?.remove(0);
    match evaluate(&nat, &after) {
        Outcome {
            verdict: Verdict::Fail,
            expected,
            found,
            ..
        } => {
            check!(
                expected.contains("source-NATed"),
                "expected text: {expected}"
            );
            check!(
                found.contains("snat is false, expected true"),
                "found text: {found}"
            );
        }
        other => {
            return Err(fail(format!(
                "NAT check should fail without MASQUERADE: {other:?}"
            )));
        }
    }
    Ok(())
}
