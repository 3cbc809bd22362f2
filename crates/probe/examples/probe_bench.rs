//! In-process side of `bench/probe/run.sh`: evaluates the seed lab's six observations
//! (collect facts over netlink + evaluate the query) N times and prints the mean time
//! per check, plus the batched form (one thread/socket per netns for all its kinds).
//!
//! Usage: `probe_bench` <pod-netns> <node-netns> <gw-ip> <pod-ip> <world-ip> <lxc> <iterations>

use std::path::{Path, PathBuf};
use std::time::Instant;

use tplab_probe::{FactKind, Outcome, Query, collect_for_sync, collect_many_sync, evaluate};

fn check(ns: &Path, yaml: &str) -> Result<Outcome, String> {
    let q: Query = serde_yaml::from_str(yaml).map_err(|e| format!("{yaml}: {e}"))?;
    let facts = collect_for_sync(Some(ns), &q).map_err(|e| e.to_string())?;
    Ok(evaluate(&q, &facts))
}

fn main() -> Result<(), String> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 8 {
        return Err("usage: probe_bench <pod-netns> <node-netns> <gw> <pod-ip> <world-ip> <lxc> <iterations>".into());
    }
    let (pod, node) = (PathBuf::from(&a[1]), PathBuf::from(&a[2]));
    let (gw, pod_ip, world, lxc) = (&a[3], &a[4], &a[5], &a[6]);
    let n: u32 = a[7].parse().map_err(|e| format!("iterations: {e}"))?;

    // The gateway MAC is captured from the pod's neighbour entry, as a lab would.
    let neighbour = check(&pod, &format!("neighbour: {{ip: {gw}, dev: eth0}}"))?;
    if !neighbour.passed() {
        return Err("no neighbour entry for the gateway in the pod (ping first)".into());
    }
    let mac = neighbour.evidence["record"]["lladdr"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let checks: Vec<(&str, &Path, String)> = vec![
        (
            "pod default route",
            &pod,
            format!("route: {{dst: default, gateway: {gw}, dev: eth0}}"),
        ),
        (
            "pod gateway neighbour",
            &pod,
            format!("neighbour: {{ip: {gw}, lladdr: '{mac}'}}"),
        ),
        (
            "node link with gw MAC",
            &node,
            format!("link: {{mac: '{mac}', name: {{regex: '^lxc'}}}}"),
        ),
        (
            "node cilium_host address",
            &node,
            format!("address: {{ifname: cilium_host, address: {gw}}}"),
        ),
        (
            "node bpf on lxc ingress",
            &node,
            format!("bpf_attached: {{dev: {lxc}, direction: ingress}}"),
        ),
        (
            "node conntrack SNAT",
            &node,
            format!("conntrack: {{proto: icmp, src: {pod_ip}, dst: {world}, snat: true}}"),
        ),
    ];
    let mut total = 0.0;
    println!("in-process (collect + evaluate), mean of {n} runs:");
    for (i, (name, ns, yaml)) in checks.iter().enumerate() {
        let first = check(ns, yaml)?;
        let verdict = if first.passed() { "pass" } else { "FAIL" };
        let t = Instant::now();
        for _ in 0..n {
            check(ns, yaml)?;
        }
        let us = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        total += us;
        println!("  {name:<28} {us:>9.1} us  {verdict}");
        println!("CHECK {} {us:.1} {name}", i + 1);
    }
    println!(
        "  {:<28} {:>9.1} us  (per check {:.1} us)",
        "total (6 checks)",
        total,
        total / 6.0
    );

    // Batched: one thread + one netlink socket per netns for every kind a step needs.
    let pod_kinds = [FactKind::Routes, FactKind::Neighbours];
    let node_kinds = [
        FactKind::Links,
        FactKind::Addresses,
        FactKind::Bpf,
        FactKind::Conntrack,
    ];
    let queries: Vec<(bool, Query)> = checks
        .iter()
        .map(|(_, ns, y)| {
            (
                *ns == pod.as_path(),
                serde_yaml::from_str(y).unwrap_or_else(|e| panic!("{y}: {e}")),
            )
        })
        .collect();
    let t = Instant::now();
    for _ in 0..n {
        let pf = collect_many_sync(Some(&pod), &pod_kinds).map_err(|e| e.to_string())?;
        let nf = collect_many_sync(Some(&node), &node_kinds).map_err(|e| e.to_string())?;
        for (in_pod, q) in &queries {
            let facts = if *in_pod { &pf } else { &nf };
            if let Some(f) = facts.iter().find(|f| f.kind() == q.fact_kind()) {
                let _ = evaluate(q, f);
            }
        }
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!(
        "  {:<28} {:>9.1} us  (per check {:.1} us)",
        "batched (6 checks, 2 netns)",
        us,
        us / 6.0
    );
    println!("INPROC_PER_CHECK_US={:.1}", total / 6.0);
    println!("BATCHED_PER_CHECK_US={:.1}", us / 6.0);
    Ok(())
}
