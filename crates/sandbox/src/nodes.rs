//! Nodes of a multi-node sandbox (`SandboxConfig::nodes` > 1), derived from the config so
//! that every process computes the same addresses: node 1 keeps the seed's values (pod
//! CIDR 10.244.0.128/25 holding the gateway, `eth0` 198.51.100.2/24); node k gets the next
//! free cluster-pool /25 of `pod_cidr`, its `cilium_host` at the same offset as the seed's
//! (.201 in .128/25 → base + 73), `eth0` at `node_ip + k - 1` on the public bridge, and
//! `eth1` at `node_network` base + 10 + k on the private node network (`10.135.0.0/16`).
//!
//! ```text
//!  node netns (×N)                     lan netns              world netns
//!  eth1 10.135.0.1k/16 ─────────────── br0 (node1, node2…)
//!  eth0 198.51.100.(1+k)/24 ──────────────────────────────── eth0 (bridge) 198.51.100.1/24
//!  10.244.x.y/25 via 10.135.0.1j dev eth1   (one per other node, auto-direct-node-routes)
//! ```

use std::net::Ipv4Addr;

use crate::config::SandboxConfig;

/// Cilium's `cluster-pool-ipv4-mask-size`: each node's share of the pod CIDR.
pub const NODE_CIDR_PREFIX: u8 = 25;
/// Offset of `cilium_host` in a node's /25 (the seed's 10.244.0.201 in 10.244.0.128/25).
const ROUTER_OFFSET: u32 = 73;
/// Offset of the first pod address in a node's /25 (the seed's 10.244.0.213).
pub const FIRST_POD_OFFSET: u32 = 85;
/// Interface of the private node network in each node.
pub const PRIVATE_IF: &str = "eth1";
/// The bridge of the private node network (in the lan netns).
pub const LAN_BRIDGE: &str = "br0";

/// One node's names and addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePlan {
    /// 1-based.
    pub number: usize,
    /// `node` for the first (the seed's role), then `node2`, `node3`…
    pub name: String,
    pub pod_cidr: Ipv4Addr,
    pub cilium_host: Ipv4Addr,
    /// Address of the public uplink (`eth0`).
    pub public_ip: Ipv4Addr,
    /// Address on the private node network (`eth1`); `None` for a single node (the seed).
    pub private_ip: Option<Ipv4Addr>,
}

/// Role / netns suffix of node `number` (1-based).
pub fn node_name(number: usize) -> String {
    if number <= 1 {
        "node".into()
    } else {
        format!("node{number}")
    }
}

/// The Cilium agent role of node `number`: `agent` on node 1 (the seed's), then `agent2`…
pub fn agent_name(number: usize) -> String {
    if number <= 1 {
        "agent".into()
    } else {
        format!("agent{number}")
    }
}

fn block_of(ip: Ipv4Addr) -> u32 {
    u32::from(ip) & !((1u32 << (32 - NODE_CIDR_PREFIX)) - 1)
}

fn net_base(ip: Ipv4Addr, prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::from(ip) & (u32::MAX << (32 - u32::from(prefix)))
    }
}

/// How many /25 blocks the pod CIDR holds (at least 1).
fn blocks(cfg: &SandboxConfig) -> u32 {
    1u32 << (NODE_CIDR_PREFIX.saturating_sub(cfg.pod_cidr_prefix)).min(24)
}

impl SandboxConfig {
    /// The base address of node `number`'s /25 (1-based), or `None` past the pod CIDR.
    fn node_block(&self, number: usize) -> Option<u32> {
        let first = block_of(self.gateway_ip);
        if number <= 1 {
            return Some(first);
        }
        let base = net_base(self.pod_cidr, self.pod_cidr_prefix);
        let size = 1u32 << (32 - NODE_CIDR_PREFIX);
        (0..blocks(self))
            .map(|i| base + i * size)
            .filter(|b| *b != first)
            .nth(number - 2)
    }

    /// Node `number` (1-based): its names and addresses, `None` past the config's nodes.
    pub fn node_plan(&self, number: usize) -> Option<NodePlan> {
        if number == 0 || number > usize::from(self.nodes) {
            return None;
        }
        let block = self.node_block(number)?;
        let k = u32::try_from(number).ok()?;
        let multi = self.nodes > 1;
        let (net, _) = self.node_network_parts();
        Some(NodePlan {
            number,
            name: node_name(number),
            pod_cidr: Ipv4Addr::from(block),
            cilium_host: if number == 1 {
                self.gateway_ip
            } else {
                Ipv4Addr::from(block + ROUTER_OFFSET)
            },
            public_ip: Ipv4Addr::from(u32::from(self.node_ip) + k - 1),
            private_ip: multi.then(|| Ipv4Addr::from(u32::from(net) + 10 + k)),
        })
    }

    /// Every node, in order.
    pub fn node_plans(&self) -> Vec<NodePlan> {
        (1..=usize::from(self.nodes))
            .filter_map(|n| self.node_plan(n))
            .collect()
    }

    /// `node_network` as (base, prefix); the config was validated.
    pub(crate) fn node_network_parts(&self) -> (Ipv4Addr, u8) {
        self.node_network
            .split_once('/')
            .and_then(|(ip, len)| Some((ip.parse().ok()?, len.parse().ok()?)))
            .unwrap_or((Ipv4Addr::new(10, 135, 0, 0), 16))
    }

    /// The first address of node `number`'s /25 not used by a pod or its router,
    /// from the seed's pod offset up, then from the bottom.
    pub fn free_pod_ip(&self, number: usize, taken: &[Ipv4Addr]) -> Option<Ipv4Addr> {
        let plan = self.node_plan(number)?;
        let base = u32::from(plan.pod_cidr);
        let size = 1u32 << (32 - NODE_CIDR_PREFIX);
        (FIRST_POD_OFFSET..size - 1)
            .chain(2..FIRST_POD_OFFSET)
            .map(|o| Ipv4Addr::from(base + o))
            .find(|ip| {
                *ip != plan.cilium_host
                    && !taken.contains(ip)
                    && !self.pods.iter().any(|p| p.ip == *ip)
            })
    }

    /// The node (1-based) whose /25 holds `ip`.
    pub fn node_of_ip(&self, ip: Ipv4Addr) -> Option<usize> {
        self.node_plans()
            .iter()
            .find(|n| u32::from(n.pod_cidr) == block_of(ip))
            .map(|n| n.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_get_the_cluster_pool_blocks_in_order() {
        let cfg = SandboxConfig {
            nodes: 3,
            ..SandboxConfig::default()
        };
        let plans = cfg.node_plans();
        let cidrs: Vec<String> = plans.iter().map(|p| p.pod_cidr.to_string()).collect();
        assert_eq!(cidrs, ["10.244.0.128", "10.244.0.0", "10.244.1.0"]);
        assert_eq!(plans[0].cilium_host, Ipv4Addr::new(10, 244, 0, 201));
        assert_eq!(plans[1].cilium_host, Ipv4Addr::new(10, 244, 0, 73));
        assert_eq!(plans[2].public_ip, Ipv4Addr::new(198, 51, 100, 4));
        assert_eq!(plans[1].private_ip, Some(Ipv4Addr::new(10, 135, 0, 12)));
        assert_eq!(plans[1].name, "node2");
        assert_eq!(cfg.free_pod_ip(2, &[]), Some(Ipv4Addr::new(10, 244, 0, 85)));
        assert_eq!(cfg.node_of_ip(Ipv4Addr::new(10, 244, 1, 90)), Some(3));
    }

    #[test]
    fn a_single_node_is_the_seed() {
        let cfg = SandboxConfig::default();
        let plans = cfg.node_plans();
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].private_ip, None);
        assert_eq!(plans[0].public_ip, cfg.node_ip);
    }
}
