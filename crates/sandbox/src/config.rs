//! The sandbox's addresses, names and sizes; defaults are the seed lab's values.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SandboxError};
use crate::services::{ServiceConfig, ServiceType};
use crate::services_lb::ServicesLb;

/// One pod: its own netns, an `eth0` with a /32 address, and an `lxc…` peer on the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodConfig {
    /// Pod name: role `pod:<name>`, netns `tplab-<id>-<name>`. The first pod is role `pod`.
    pub name: String,
    pub ip: Ipv4Addr,
    /// Interface name inside the pod.
    #[serde(default = "default_if")]
    pub if_name: String,
    /// Node-side veth name; `None` draws `lxc` + 12 random hex digits, as Cilium does.
    #[serde(default)]
    pub lxc_name: Option<String>,
    /// The node it runs on, 1-based (node 1 is role `node`).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub node: usize,
    /// A TCP port the pod serves HTTP on (the sandbox's own daemon, answering who the
    /// client was), e.g. a Service's backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serve: Option<u16>,
}

fn one() -> usize {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if signature
fn is_one(n: &usize) -> bool {
    *n == 1
}

/// How the eBPF datapath attaches to the pods' lxc veths (the eBPF side reads it from the
/// state): legacy tc filters as in the seed (Cilium < 1.16, or a kernel < 6.6), or TCX
/// links as Cilium >= 1.16 does on Linux >= 6.6.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatapathAttach {
    #[default]
    Tc,
    Tcx,
}

impl DatapathAttach {
    pub fn name(self) -> &'static str {
        match self {
            DatapathAttach::Tc => "tc",
            DatapathAttach::Tcx => "tcx",
        }
    }
}

impl std::str::FromStr for DatapathAttach {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "tc" => Ok(DatapathAttach::Tc),
            "tcx" => Ok(DatapathAttach::Tcx),
            other => Err(format!(
                "unknown datapath attach mode `{other}`: use `tc` (legacy tc filters, the seed's) or `tcx` (Cilium >= 1.16 on Linux >= 6.6)"
            )),
        }
    }
}

/// The whole topology. `Default` reproduces the seed (`TP-ebpf-network-deep-dive.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    pub pods: Vec<PodConfig>,
    /// Gateway of every pod, held by `cilium_host` as a /32.
    pub gateway_ip: Ipv4Addr,
    /// Pod CIDR masqueraded when leaving the node's uplink.
    pub pod_cidr: Ipv4Addr,
    pub pod_cidr_prefix: u8,
    /// Node uplink (`eth0` in the node netns) and its default gateway (the world side).
    pub node_if: String,
    pub node_ip: Ipv4Addr,
    pub node_prefix: u8,
    pub node_gateway: Ipv4Addr,
    /// The "internet" address served by the world netns (documentation range only).
    pub world_ip: Ipv4Addr,
    pub http_port: u16,
    pub mtu: u32,
    /// Adds KUBE-* chains beside Cilium's, like a kube-proxy node.
    pub kube_rules: bool,
    /// Cilium's `ipv4-native-routing-cidr`: destinations that are NOT masqueraded.
    pub native_routing_cidr: String,
    /// How the datapath attaches (`tplab sandbox up --datapath-attach`).
    pub datapath_attach: DatapathAttach,
    /// Number of nodes (1: the seed). With more, every node has `eth1` on the private
    /// `node_network` and routes to the others' pod CIDRs (see [`crate::nodes`]).
    pub nodes: u8,
    /// The private node network (`eth1`) of a multi-node sandbox.
    pub node_network: String,
    /// Services, written as kube-proxy's rules in every node (or socket load-balanced).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceConfig>,
    /// How Services are load-balanced unless one says otherwise (`lb:`).
    #[serde(skip_serializing_if = "ServicesLb::is_default")]
    pub services_lb: ServicesLb,
}

fn default_if() -> String {
    "eth0".into()
}

impl Default for PodConfig {
    fn default() -> Self {
        PodConfig {
            name: "pod".into(),
            ip: Ipv4Addr::new(10, 244, 0, 213),
            if_name: default_if(),
            lxc_name: None,
            node: 1,
            serve: None,
        }
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            pods: vec![PodConfig::default()],
            gateway_ip: Ipv4Addr::new(10, 244, 0, 201),
            pod_cidr: Ipv4Addr::new(10, 244, 0, 0),
            pod_cidr_prefix: 16,
            node_if: "eth0".into(),
            node_ip: Ipv4Addr::new(198, 51, 100, 2),
            node_prefix: 24,
            node_gateway: Ipv4Addr::new(198, 51, 100, 1),
            world_ip: Ipv4Addr::new(203, 0, 113, 10),
            http_port: 80,
            mtu: 1500,
            kube_rules: true,
            native_routing_cidr: "10.244.0.0/16".into(),
            datapath_attach: DatapathAttach::Tc,
            nodes: 1,
            node_network: "10.135.0.0/16".into(),
            services: Vec::new(),
            services_lb: ServicesLb::Iptables,
        }
    }
}

/// Names the kernel accepts for an interface (IFNAMSIZ - 1, no '/', ':' or whitespace).
pub(crate) fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace())
}

/// `a.b.c.d/n` with n <= 32 (it ends up in an iptables rule: nothing else may pass).
fn valid_cidr(text: &str) -> bool {
    text.split_once('/').is_some_and(|(ip, len)| {
        ip.parse::<Ipv4Addr>().is_ok() && len.parse::<u8>().is_ok_and(|n| n <= 32)
    })
}

/// Pod names become netns suffixes and role names: keep them short and plain.
pub(crate) fn valid_pod_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 16
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !matches!(name, "node" | "world" | "agent" | "local" | "lan")
        // `node2`… are the netns of further nodes.
        && !name
            .strip_prefix("node")
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
}

/// Service names are DNS labels (RFC 1035) of at most 63 characters.
fn valid_service_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl PodConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        if !valid_pod_name(&self.name) {
            return Err(SandboxError::Config(format!(
                "pod name `{}`: use 1-16 characters among [a-z0-9-], not a role name",
                self.name
            )));
        }
        if !valid_ifname(&self.if_name) {
            return Err(SandboxError::Config(format!(
                "pod `{}`: bad interface name `{}`",
                self.name, self.if_name
            )));
        }
        if let Some(lxc) = &self.lxc_name
            && !valid_ifname(lxc)
        {
            return Err(SandboxError::Config(format!(
                "pod `{}`: bad lxc name `{lxc}`",
                self.name
            )));
        }
        Ok(())
    }
}

impl SandboxConfig {
    /// Checks what the kernel would reject later, with a message naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.pods.is_empty() {
            return Err(SandboxError::Config("at least one pod is needed".into()));
        }
        let mut names = std::collections::BTreeSet::new();
        let mut ips = std::collections::BTreeSet::new();
        for pod in &self.pods {
            pod.validate()?;
            if !names.insert(&pod.name) {
                return Err(SandboxError::Config(format!(
                    "duplicate pod `{}`",
                    pod.name
                )));
            }
            if !ips.insert(pod.ip) || pod.ip == self.gateway_ip {
                return Err(SandboxError::Config(format!(
                    "pod `{}`: address {} is already used",
                    pod.name, pod.ip
                )));
            }
        }
        if self.pod_cidr_prefix > 32 || self.node_prefix > 32 {
            return Err(SandboxError::Config("prefix lengths must be <= 32".into()));
        }
        if !valid_ifname(&self.node_if) {
            return Err(SandboxError::Config(format!(
                "bad node interface `{}`",
                self.node_if
            )));
        }
        if !valid_cidr(&self.native_routing_cidr) {
            return Err(SandboxError::Config(format!(
                "native_routing_cidr `{}`: expected an IPv4 CIDR such as 10.244.0.0/16",
                self.native_routing_cidr
            )));
        }
        self.validate_topology()?;
        if !(68..=65535).contains(&self.mtu) {
            return Err(SandboxError::Config(format!(
                "mtu {} out of range",
                self.mtu
            )));
        }
        Ok(())
    }

    /// Nodes, pods' nodes and addresses, Services.
    fn validate_topology(&self) -> Result<()> {
        let most =
            1usize << (crate::nodes::NODE_CIDR_PREFIX.saturating_sub(self.pod_cidr_prefix)).min(8);
        if self.nodes == 0 || usize::from(self.nodes) > most.min(32) {
            return Err(SandboxError::Config(format!(
                "nodes: {} — between 1 and {} (one /25 of {} each)",
                self.nodes,
                most.min(32),
                self.pod_cidr_text()
            )));
        }
        if !valid_cidr(&self.node_network) {
            return Err(SandboxError::Config(format!(
                "node_network `{}`: expected an IPv4 CIDR such as 10.135.0.0/16",
                self.node_network
            )));
        }
        for pod in &self.pods {
            if pod.node == 0 || pod.node > usize::from(self.nodes) {
                return Err(SandboxError::Config(format!(
                    "pod `{}`: node {} does not exist (nodes 1 to {})",
                    pod.name, pod.node, self.nodes
                )));
            }
            if self.nodes > 1 && self.node_of_ip(pod.ip) != Some(pod.node) {
                let cidr = self
                    .node_plan(pod.node)
                    .map_or(self.pod_cidr, |n| n.pod_cidr);
                return Err(SandboxError::Config(format!(
                    "pod `{}`: address {} is not in node {}'s pod CIDR {cidr}/25",
                    pod.name, pod.ip, pod.node
                )));
            }
            let router = self.node_plans().iter().any(|n| n.cilium_host == pod.ip);
            if router {
                return Err(SandboxError::Config(format!(
                    "pod `{}`: address {} is a node's cilium_host",
                    pod.name, pod.ip
                )));
            }
        }
        if !self.services.is_empty() && !self.kube_rules {
            return Err(SandboxError::Config(
                "services need kube_rules (they are kube-proxy's KUBE-* chains)".into(),
            ));
        }
        self.validate_lb().map_err(SandboxError::Config)?;
        let mut names = std::collections::BTreeSet::new();
        let mut ips = std::collections::BTreeSet::new();
        for svc in &self.services {
            let what = |m: String| SandboxError::Config(format!("service `{}`: {m}", svc.name));
            if !valid_service_name(&svc.name) || !names.insert(&svc.name) {
                return Err(what(
                    "use a unique DNS label ([a-z0-9-], 63 characters at most)".into(),
                ));
            }
            if !ips.insert(svc.cluster_ip) {
                return Err(what(format!(
                    "cluster IP {} is already used",
                    svc.cluster_ip
                )));
            }
            if svc.port == 0 || svc.target_port == 0 {
                return Err(what("port and target_port must be 1-65535".into()));
            }
            if svc.backends.is_empty() {
                return Err(what("no backends: name at least one pod".into()));
            }
            if let Some(b) = svc
                .backends
                .iter()
                .find(|b| !self.pods.iter().any(|p| &p.name == *b))
            {
                return Err(what(format!("backend `{b}` is not a pod of the sandbox")));
            }
            match (svc.kind, svc.node_port) {
                (ServiceType::NodePort, Some(p)) if (30000..=32767).contains(&p) => {}
                (ServiceType::NodePort, _) => {
                    return Err(what("a NodePort needs node_port in 30000-32767".into()));
                }
                (ServiceType::ClusterIP, Some(_)) => {
                    return Err(what("node_port is only for type NodePort".into()));
                }
                (ServiceType::ClusterIP, None) => {}
            }
        }
        Ok(())
    }

    /// `10.244.0.0/16` as text, for iptables rules and facts.
    pub fn pod_cidr_text(&self) -> String {
        format!("{}/{}", self.pod_cidr, self.pod_cidr_prefix)
    }
}
