//! Services of a sandbox as kube-proxy (iptables mode, `clusterCIDR` set,
//! `externalTrafficPolicy: Cluster`) writes them in every node's nat table:
//! `KUBE-SERVICES` → `KUBE-SVC-<hash>` → one `KUBE-SEP-<hash>` per backend (DNAT), and for
//! a `NodePort` `KUBE-NODEPORTS` → `KUBE-EXT-<hash>` (mark for masquerade) → `KUBE-SVC-…`.
//! Chain names are kube-proxy's: base32(sha256(portname + protocol [+ endpoint]))[..16].

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::SandboxConfig;
use crate::services_lb::ServicesLb;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceType {
    #[default]
    ClusterIP,
    NodePort,
}

impl ServiceType {
    pub fn name(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
        }
    }
}

/// One Service in namespace `default`, TCP, its backends named by pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: ServiceType,
    pub cluster_ip: Ipv4Addr,
    pub port: u16,
    pub target_port: u16,
    /// Required for a `NodePort` (30000-32767).
    #[serde(default)]
    pub node_port: Option<u16>,
    /// Pod names (the sandbox's own pods).
    pub backends: Vec<String>,
    /// Its load-balancer, when not the sandbox's `services_lb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lb: Option<ServicesLb>,
    /// The labels the Service selects (empty: its first backend's `app`, see `selectors.rs`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub selector: std::collections::BTreeMap<String, String>,
}

/// The Service CIDR that `ClusterIP`s come from (kubeadm's default).
pub const SERVICE_CIDR: &str = "10.96.0.0/12";

/// kube-proxy's chain name for `prefix` and the hashed text.
fn chain(prefix: &str, text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    let encoded = data_encoding::BASE32.encode(&hash);
    format!("{prefix}{}", &encoded[..16])
}

impl ServiceConfig {
    /// `default/<name>` (the port is unnamed, as in a one-port Service).
    pub fn port_name(&self) -> String {
        format!("default/{}", self.name)
    }

    pub fn svc_chain(&self) -> String {
        chain("KUBE-SVC-", &format!("{}tcp", self.port_name()))
    }

    pub fn ext_chain(&self) -> String {
        chain("KUBE-EXT-", &format!("{}tcp", self.port_name()))
    }

    pub fn sep_chain(&self, endpoint: &str) -> String {
        chain("KUBE-SEP-", &format!("{}tcp{endpoint}", self.port_name()))
    }

    /// `ip:port` of every backend found in `cfg`'s pods, in order.
    pub fn endpoints(&self, cfg: &SandboxConfig) -> Vec<String> {
        self.backends
            .iter()
            .filter_map(|b| cfg.pods.iter().find(|p| &p.name == b))
            .map(|p| format!("{}:{}", p.ip, self.target_port))
            .collect()
    }
}

/// Chain declarations of the nat table for every Service kube-proxy serves (a socket
/// load-balanced one has no rule at all, as with Cilium's kube-proxy replacement).
pub(crate) fn nat_chains(cfg: &SandboxConfig) -> String {
    let mut out = String::new();
    for svc in cfg.iptables_services() {
        let _ = writeln!(out, ":{} - [0:0]", svc.svc_chain());
        if svc.kind == ServiceType::NodePort {
            let _ = writeln!(out, ":{} - [0:0]", svc.ext_chain());
        }
        for ep in svc.endpoints(cfg) {
            let _ = writeln!(out, ":{} - [0:0]", svc.sep_chain(&ep));
        }
    }
    out
}

/// The Services' nat rules, before KUBE-SERVICES' final nodeports rule (as kube-proxy
/// orders them).
pub(crate) fn nat_rules(cfg: &SandboxConfig) -> String {
    let mut out = String::new();
    let cluster = cfg.pod_cidr_text();
    for svc in cfg.iptables_services() {
        let (pn, svc_chain, ip, port) =
            (svc.port_name(), svc.svc_chain(), svc.cluster_ip, svc.port);
        let _ = writeln!(
            out,
            "-A KUBE-SERVICES -d {ip}/32 -p tcp -m comment --comment \"{pn} cluster IP\" -m tcp --dport {port} -j {svc_chain}"
        );
        if let (ServiceType::NodePort, Some(np)) = (svc.kind, svc.node_port) {
            let ext = svc.ext_chain();
            let _ = writeln!(
                out,
                "-A KUBE-NODEPORTS -p tcp -m comment --comment \"{pn}\" -m tcp --dport {np} -j {ext}"
            );
            let _ = writeln!(
                out,
                "-A {ext} -m comment --comment \"masquerade traffic for {pn} external destinations\" -j KUBE-MARK-MASQ\n-A {ext} -j {svc_chain}"
            );
        }
        let _ = writeln!(
            out,
            "-A {svc_chain} ! -s {cluster} -d {ip}/32 -p tcp -m comment --comment \"{pn} cluster IP\" -m tcp --dport {port} -j KUBE-MARK-MASQ"
        );
        let eps = svc.endpoints(cfg);
        for (i, ep) in eps.iter().enumerate() {
            let sep = svc.sep_chain(ep);
            let left = eps.len() - i;
            // kube-proxy: 1/n, 1/(n-1), … so each backend gets an equal share; the last none.
            let statistic = if left > 1 {
                #[allow(clippy::cast_precision_loss)]
                let p = 1.0 / left as f64;
                format!(" -m statistic --mode random --probability {p:.11}")
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "-A {svc_chain} -m comment --comment \"{pn} -> {ep}\"{statistic} -j {sep}"
            );
            let src = ep.split(':').next().unwrap_or_default();
            let _ = writeln!(
                out,
                "-A {sep} -s {src}/32 -m comment --comment \"{pn}\" -j KUBE-MARK-MASQ\n-A {sep} -p tcp -m comment --comment \"{pn}\" -m tcp -j DNAT --to-destination {ep}"
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_names_are_kube_proxys() {
        // kube-proxy's own hash of "default/kubernetes:https" + "tcp" (a kubeadm cluster's
        // `iptables-save` shows KUBE-SVC-NPX46M4PTMTKRN6Y for it).
        assert_eq!(
            chain("KUBE-SVC-", "default/kubernetes:httpstcp"),
            "KUBE-SVC-NPX46M4PTMTKRN6Y"
        );
    }
}
