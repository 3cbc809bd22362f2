//! The sandbox's topology as the page draws it: every pod, node, the world and the
//! Services, with the names, addresses and MACs the probes read in each role's netns
//! (the facts checks match against), so what the page shows is the kernel's state.

use std::collections::BTreeMap;

use serde::Serialize;
use tplab_probe::{Address, FactKind, Facts, Link};

use crate::env::{Environment, Hop, packet_path};

/// One interface as drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Iface {
    pub name: String,
    /// IPv4 address with its prefix (`10.244.0.213/32`), when it has one.
    pub ip: Option<String>,
    pub mac: Option<String>,
    pub up: bool,
    /// The packet observer's label for it (`node:eth0`): lit when a packet crosses it.
    pub hop: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pod {
    pub name: String,
    pub role: String,
    pub node: String,
    pub iface: Option<Iface>,
    /// The pod's veth peer on its node.
    pub lxc: Option<Iface>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub name: String,
    pub role: String,
    /// `cilium_host`, then the node's `eth*` interfaces.
    pub ifaces: Vec<Iface>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub name: String,
    pub cluster_ip: String,
    pub port: String,
    pub target_port: String,
    pub node_port: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Topology {
    pub nodes: Vec<Node>,
    pub pods: Vec<Pod>,
    pub world: Option<Iface>,
    pub services: Vec<Service>,
    /// Roles whose interfaces could not be read, with why (drawn as a note).
    pub unreadable: Vec<String>,
}

/// One role's links and addresses.
#[derive(Default)]
struct RoleFacts {
    links: Vec<Link>,
    addrs: Vec<Address>,
}

impl RoleFacts {
    fn iface(&self, role: &str, name: &str, hops: &Hops) -> Option<Iface> {
        let link = self.links.iter().find(|l| l.name == name)?;
        let ip = self
            .addrs
            .iter()
            .find(|a| a.ifname == name && a.family == "inet")
            .map(|a| format!("{}/{}", a.address, a.prefix_len));
        Some(Iface {
            name: link.name.clone(),
            ip,
            mac: link.mac.clone(),
            up: link.admin_up,
            hop: hops.label(role, name),
        })
    }
}

/// The observed hops, by (role, interface).
struct Hops(Vec<(String, String, String)>);

impl Hops {
    fn new(hops: &[Hop], facts: &BTreeMap<String, String>) -> Self {
        Self(
            hops.iter()
                .map(|h| {
                    (
                        h.role.clone(),
                        packet_path::ifname(h, facts),
                        h.label.clone(),
                    )
                })
                .collect(),
        )
    }

    fn label(&self, role: &str, ifname: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(r, i, _)| r == role && i == ifname)
            .map(|(_, _, l)| l.clone())
    }
}

fn list(facts: &BTreeMap<String, String>, key: &str) -> Vec<String> {
    facts
        .get(key)
        .map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The role of the `i`-th pod (the first one is the lab's `pod`).
fn pod_role(i: usize, name: &str) -> String {
    if i == 0 {
        "pod".into()
    } else {
        format!("pod:{name}")
    }
}

/// Reads the topology: the facts say what exists and how it is named, the probes what
/// the kernel has now.
pub async fn read(env: &dyn Environment, hops: &[Hop]) -> Topology {
    let facts = env.facts().await.unwrap_or_default();
    let hops = Hops::new(hops, &facts);
    let bound = env.roles();
    let mut top = Topology::default();
    let mut cache: BTreeMap<String, RoleFacts> = BTreeMap::new();
    let pods = list(&facts, "pods");
    let mut nodes = list(&facts, "nodes");
    if nodes.is_empty() && bound.iter().any(|r| r == "node") {
        nodes.push("node".into());
    }
    let mut roles: Vec<String> = nodes.clone();
    roles.extend(pods.iter().enumerate().map(|(i, p)| pod_role(i, p)));
    roles.push("world".into());
    for role in roles {
        if !bound.contains(&role) {
            continue;
        }
        match env
            .probe_kinds(&role, &[FactKind::Links, FactKind::Addresses])
            .await
        {
            Ok(all) => {
                let mut rf = RoleFacts::default();
                for f in all {
                    match f {
                        Facts::Links(l) => rf.links = l,
                        Facts::Addresses(a) => rf.addrs = a,
                        _ => {}
                    }
                }
                cache.insert(role, rf);
            }
            Err(e) => top.unreadable.push(format!("{role}: {e}")),
        }
    }
    let empty = RoleFacts::default();
    let of = |role: &str| cache.get(role).unwrap_or(&empty);
    let cilium_host = facts.get("cilium_host_if").cloned().unwrap_or_default();
    for node in &nodes {
        let rf = of(node);
        let mut names: Vec<&str> = vec![cilium_host.as_str()];
        names.extend(
            rf.links
                .iter()
                .map(|l| l.name.as_str())
                .filter(|n| n.starts_with("eth")),
        );
        top.nodes.push(Node {
            name: node.clone(),
            role: node.clone(),
            ifaces: names
                .into_iter()
                .filter_map(|n| rf.iface(node, n, &hops))
                .collect(),
        });
    }
    for (i, name) in pods.iter().enumerate() {
        let role = pod_role(i, name);
        let key = |k: &str| facts.get(&format!("pod.{name}.{k}")).cloned();
        let node = key("node").unwrap_or_else(|| "node".into());
        let ifname = key("if").unwrap_or_else(|| "eth0".into());
        top.pods.push(Pod {
            name: name.clone(),
            iface: of(&role).iface(&role, &ifname, &hops),
            lxc: key("lxc_name").and_then(|l| of(&node).iface(&node, &l, &hops)),
            role,
            node,
        });
    }
    if let Some(w) = facts.get("world_if") {
        top.world = of("world").iface("world", w, &hops);
    }
    for name in list(&facts, "services") {
        let key = |k: &str| {
            facts
                .get(&format!("service.{name}.{k}"))
                .cloned()
                .unwrap_or_default()
        };
        top.services.push(Service {
            cluster_ip: key("cluster_ip"),
            port: key("port"),
            target_port: key("target_port"),
            node_port: facts.get(&format!("service.{name}.node_port")).cloned(),
            name,
        });
    }
    top
}
