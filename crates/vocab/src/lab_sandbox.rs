//! A lab's `sandbox:` front-matter block: the topology its sandbox is built with (the
//! seed's single node and pod when absent). Plain data; the runner turns it into the
//! sandbox's config (addresses allocated there).
//!
//! ```yaml
//! sandbox:
//!   nodes: 2
//!   pods:
//!     client: { node: 1 }
//!     web: { node: 2, serve: 8080 }   # ip: optional, from the node's /25
//!   services:
//!     - { name: web, port: 80, target_port: 8080, backends: [web] }
//!     - { name: web-np, type: NodePort, port: 80, target_port: 8080, node_port: 30080, backends: [web] }
//!     - { name: api, port: 80, backends: [web], selector: { tier: api } }
//!   services_lb: iptables            # or socket (Cilium's); per Service: `lb: socket`
//! ```

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSandbox {
    /// Nodes 1…N (node 1 is role `node`, then `node2`…).
    #[serde(default = "one")]
    pub nodes: u8,
    /// Pods besides the seed's `pod` (on node 1): role `pod:<name>`.
    #[serde(default)]
    pub pods: BTreeMap<String, LabPod>,
    #[serde(default)]
    pub services: Vec<LabService>,
    /// How the Services are load-balanced unless one says otherwise (`lb:`).
    #[serde(default)]
    pub services_lb: ServicesLb,
}

/// How Services are load-balanced: kube-proxy's iptables rules (the default) or Cilium's
/// socket load-balancing (its kube-proxy replacement at the socket layer).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantNames,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum ServicesLb {
    /// kube-proxy (iptables mode): `KUBE-SERVICES` → `KUBE-SVC-…` → `KUBE-SEP-…` DNAT.
    #[default]
    Iptables,
    /// Cilium's socket LB: `cil_sock4_connect` on the sandbox's cgroup.
    Socket,
}

impl ServicesLb {
    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if signature
    pub fn is_default(&self) -> bool {
        *self == ServicesLb::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabPod {
    /// 1-based node number.
    #[serde(default = "one")]
    pub node: u8,
    #[serde(default)]
    pub ip: Option<Ipv4Addr>,
    /// A TCP port the pod answers HTTP on (tplab's own server: it tells the client the
    /// address it came from).
    #[serde(default)]
    pub serve: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabService {
    pub name: String,
    /// `ClusterIP` (default) or `NodePort`.
    #[serde(default = "cluster_ip_type", rename = "type")]
    pub kind: String,
    pub port: u16,
    /// Defaults to `port`.
    #[serde(default)]
    pub target_port: Option<u16>,
    #[serde(default)]
    pub node_port: Option<u16>,
    /// Defaults to the next free address of 10.96.0.0/12 from 10.96.0.100.
    #[serde(default)]
    pub cluster_ip: Option<Ipv4Addr>,
    /// Pod names.
    pub backends: Vec<String>,
    /// This Service's load-balancer, when not the block's `services_lb`.
    #[serde(default)]
    pub lb: Option<ServicesLb>,
    /// The labels the Service selects, carried by its backends (default: `app: <name of
    /// the first Service listing its first backend>`).
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
}

fn one() -> u8 {
    1
}

fn cluster_ip_type() -> String {
    "ClusterIP".into()
}

impl LabSandbox {
    /// The roles this topology adds to the sandbox's fixed ones.
    pub fn roles(&self) -> Vec<String> {
        let nodes = (2..=self.nodes).map(|n| format!("node{n}"));
        // Each node runs its own Cilium agent (`agent2`… as `node2`…).
        let agents = (2..=self.nodes).map(|n| format!("agent{n}"));
        let pods = self.pods.keys().map(|p| format!("pod:{p}"));
        nodes.chain(agents).chain(pods).collect()
    }
}
