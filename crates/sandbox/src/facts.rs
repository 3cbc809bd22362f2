//! Environment facts a lab's templates and checks use (`{{ gateway_ip }}`, `{{ lxc_name }}`).

use std::collections::BTreeMap;

use crate::state::SandboxState;
use crate::topology::{CILIUM_HOST, WORLD_IF};

/// The names [`facts`] defines for every sandbox (besides `pod.<name>.*` per pod): what
/// a lab may use as variables, checked against [`facts`] by a test.
pub const FACT_NAMES: &[&str] = &[
    "env",
    "sandbox",
    "gateway_ip",
    "pod_cidr",
    "cilium_host_if",
    "cilium_host_mac",
    "node_ip",
    "node_prefix",
    "node_if",
    "node_mac",
    "node_gateway",
    "node_netns",
    "world_ip",
    "world_if",
    "world_netns",
    "http_port",
    "world_url",
    "pods",
    "pod_name",
    "pod_ip",
    "pod_if",
    "pod_mac",
    "pod_netns",
    "lxc_name",
    "lxc_mac",
    "datapath_attach",
    "nodes",
    "services",
];

/// The leaves of the per-object facts `pod.<name>.<leaf>`, `node.<name>.<leaf>` and
/// `service.<name>.<leaf>` (lint checks dotted facts against them; a test checks them
/// against [`facts`]). `node.<name>.ip` exists with several nodes, `service.<name>.node_port`
/// for a `NodePort` Service.
pub const POD_FACTS: &[&str] = &["ip", "if", "mac", "netns", "lxc_name", "lxc_mac", "node"];
pub const NODE_FACTS: &[&str] = &[
    "netns",
    "pod_cidr",
    "cilium_host",
    "public_ip",
    "ip",
    "agent",
];
pub const SERVICE_FACTS: &[&str] = &["cluster_ip", "port", "target_port", "node_port", "selector"];

/// Facts of a sandbox, from its state (no kernel access needed).
pub fn facts(state: &SandboxState) -> BTreeMap<String, String> {
    let cfg = &state.config;
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        f.insert(k.to_string(), v);
    };
    put("env", "sandbox".into());
    put("sandbox", state.id.clone());
    put("gateway_ip", cfg.gateway_ip.to_string());
    put("pod_cidr", cfg.pod_cidr_text());
    put("cilium_host_if", CILIUM_HOST.into());
    put("cilium_host_mac", state.cilium_host_mac.clone());
    put("node_ip", cfg.node_ip.to_string());
    put("node_prefix", cfg.node_prefix.to_string());
    put("node_if", cfg.node_if.clone());
    put("node_mac", state.node_mac.clone());
    put("node_gateway", cfg.node_gateway.to_string());
    put("node_netns", state.node_netns.clone());
    put("world_ip", cfg.world_ip.to_string());
    put("world_if", WORLD_IF.into());
    put("world_netns", state.world_netns.clone());
    put("http_port", cfg.http_port.to_string());
    put("datapath_attach", cfg.datapath_attach.name().into());
    let url = if cfg.http_port == 80 {
        format!("http://{}/", cfg.world_ip)
    } else {
        format!("http://{}:{}/", cfg.world_ip, cfg.http_port)
    };
    put("world_url", url);
    put(
        "pods",
        state
            .pods
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
            .join(","),
    );
    let plans = cfg.node_plans();
    put(
        "nodes",
        plans
            .iter()
            .map(|n| n.name.clone())
            .collect::<Vec<_>>()
            .join(","),
    );
    for plan in &plans {
        let p = format!("node.{}.", plan.name);
        if let Some(ns) = state.node_netns_of(plan.number) {
            put(&format!("{p}netns"), ns.to_string());
        }
        put(&format!("{p}pod_cidr"), format!("{}/25", plan.pod_cidr));
        put(&format!("{p}cilium_host"), plan.cilium_host.to_string());
        put(&format!("{p}public_ip"), plan.public_ip.to_string());
        if let Some(ip) = plan.private_ip {
            put(&format!("{p}ip"), ip.to_string());
        }
        put(&format!("{p}agent"), crate::nodes::agent_name(plan.number));
    }
    put(
        "services",
        cfg.services
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
            .join(","),
    );
    for svc in &cfg.services {
        let p = format!("service.{}.", svc.name);
        put(&format!("{p}cluster_ip"), svc.cluster_ip.to_string());
        put(&format!("{p}port"), svc.port.to_string());
        put(&format!("{p}target_port"), svc.target_port.to_string());
        if let Some(np) = svc.node_port {
            put(&format!("{p}node_port"), np.to_string());
        }
        put(
            &format!("{p}selector"),
            crate::selectors::selector_text(&cfg.service_selector(svc)),
        );
    }
    for (i, pod) in state.pods.iter().enumerate() {
        if i == 0 {
            put("pod_name", pod.name.clone());
            put("pod_ip", pod.ip.to_string());
            put("pod_if", pod.if_name.clone());
            put("pod_mac", pod.mac.clone());
            put("pod_netns", pod.netns.clone());
            put("lxc_name", pod.lxc_name.clone());
            put("lxc_mac", pod.lxc_mac.clone());
        }
        let p = format!("pod.{}.", pod.name);
        put(&format!("{p}ip"), pod.ip.to_string());
        put(&format!("{p}if"), pod.if_name.clone());
        put(&format!("{p}mac"), pod.mac.clone());
        put(&format!("{p}netns"), pod.netns.clone());
        put(&format!("{p}lxc_name"), pod.lxc_name.clone());
        put(&format!("{p}lxc_mac"), pod.lxc_mac.clone());
        put(&format!("{p}node"), crate::nodes::node_name(pod.node));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fact_names_are_what_facts_defines() {
        let state = crate::state::SandboxState::example();
        let mut names: Vec<String> = facts(&state)
            .into_keys()
            .filter(|k| {
                !["pod.", "node.", "service."]
                    .iter()
                    .any(|p| k.starts_with(p))
            })
            .collect();
        names.sort();
        let mut declared: Vec<&str> = FACT_NAMES.to_vec();
        declared.sort_unstable();
        assert_eq!(names, declared);
    }

    #[test]
    fn object_fact_leaves_are_what_facts_defines() {
        let mut state = crate::state::SandboxState::example();
        state.config.nodes = 2;
        state.config.services.push(crate::services::ServiceConfig {
            name: "web".into(),
            kind: crate::services::ServiceType::NodePort,
            cluster_ip: std::net::Ipv4Addr::new(10, 96, 0, 100),
            port: 80,
            target_port: 80,
            node_port: Some(30080),
            backends: vec![state.pods[0].name.clone()],
            selector: std::collections::BTreeMap::new(),
            lb: None,
        });
        let facts = facts(&state);
        for (object, leaves) in [
            ("pod", POD_FACTS),
            ("node", NODE_FACTS),
            ("service", SERVICE_FACTS),
        ] {
            let mut found: Vec<&str> = facts
                .keys()
                .filter_map(|k| k.strip_prefix(object)?.strip_prefix('.'))
                .filter_map(|rest| rest.split_once('.').map(|(_, leaf)| leaf))
                .collect();
            found.sort_unstable();
            found.dedup();
            let mut declared = leaves.to_vec();
            declared.sort_unstable();
            assert_eq!(found, declared, "{object}");
        }
    }
}
