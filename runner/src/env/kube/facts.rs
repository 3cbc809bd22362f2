//! The template facts of a cluster, under the sandbox's names (a lab written for the
//! sandbox runs unchanged): from the API (pod, node, Cilium pod) and from what the node
//! agent reads of the node's and the pod's namespaces (gateway on `cilium_host`, the
//! pod's lxc peer, the node's uplink).

use std::collections::BTreeMap;

use tplab_probe::{Address, Facts, Link, Route};

/// What the node agent read of one namespace.
#[derive(Debug, Clone, Default)]
pub struct NetView {
    pub links: Vec<Link>,
    pub addrs: Vec<Address>,
    pub routes: Vec<Route>,
}

impl NetView {
    /// Sorts the facts of an agent answer into a view.
    pub fn of(facts: Vec<Facts>) -> Self {
        let mut v = Self::default();
        for f in facts {
            match f {
                Facts::Links(l) => v.links = l,
                Facts::Addresses(a) => v.addrs = a,
                Facts::Routes(r) => v.routes = r,
                _ => {}
            }
        }
        v
    }

    fn inet(&self, ifname: &str) -> Option<&Address> {
        self.addrs
            .iter()
            .find(|a| a.ifname == ifname && a.family == "inet")
    }

    fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    fn default_route(&self) -> Option<&Route> {
        self.routes
            .iter()
            .find(|r| r.dst == "default" && r.family == "inet" && r.table == "main")
    }
}

/// The network facts of the pod holding `pod_ip` on a Cilium node (`node_ip`: the API's
/// `InternalIP` of the node).
pub fn network(
    pod_ip: &str,
    node_ip: &str,
    node: &NetView,
    pod: &NetView,
) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            f.insert(k.to_string(), v);
        }
    };
    let host = node.link("cilium_host");
    put("cilium_host_if", host.map(|l| l.name.clone()));
    put("cilium_host_mac", host.and_then(|l| l.mac.clone()));
    put(
        "gateway_ip",
        node.inet("cilium_host").map(|a| a.address.clone()),
    );
    // The pod's interface is the one holding its IP; its veth peer on the node is the lxc.
    let pod_addr = pod.addrs.iter().find(|a| a.address == pod_ip);
    let pod_if = pod_addr.and_then(|a| pod.links.iter().find(|l| l.ifindex == a.ifindex));
    put("pod_if", pod_if.map(|l| l.name.clone()));
    put("pod_mac", pod_if.and_then(|l| l.mac.clone()));
    let lxc = pod_if
        .and_then(|l| l.peer_ifindex)
        .and_then(|i| node.links.iter().find(|l| l.ifindex == i));
    put("lxc_name", lxc.map(|l| l.name.clone()));
    put("lxc_mac", lxc.and_then(|l| l.mac.clone()));
    let uplink = node.default_route();
    let node_if = uplink.and_then(|r| r.dev.clone()).or_else(|| {
        node.addrs
            .iter()
            .find(|a| a.address == node_ip)
            .map(|a| a.ifname.clone())
    });
    put("node_gateway", uplink.and_then(|r| r.gateway.clone()));
    if let Some(dev) = &node_if {
        put("node_mac", node.link(dev).and_then(|l| l.mac.clone()));
        let on_dev = node
            .addrs
            .iter()
            .find(|a| a.ifname == *dev && a.address == node_ip)
            .or_else(|| node.inet(dev));
        put("node_prefix", on_dev.map(|a| a.prefix_len.to_string()));
    }
    put("node_if", node_if);
    f
}

/// The Cilium version an agent image names: `quay.io/cilium/cilium:v1.16.5@sha256:…` → `1.16.5`.
pub fn cilium_version(image: &str) -> Option<String> {
    let no_digest = image.split('@').next()?;
    let (repo, tag) = no_digest.rsplit_once(':')?;
    // `host:port/repo` without a tag has its colon before the last `/`.
    if tag.contains('/') || repo.is_empty() {
        return None;
    }
    let v = tag.strip_prefix('v').unwrap_or(tag);
    v.starts_with(|c: char| c.is_ascii_digit())
        .then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(ifindex: u32, name: &str, mac: &str, peer: Option<u32>) -> Link {
        serde_json::from_value(serde_json::json!({
            "ifindex": ifindex, "name": name, "mac": mac, "oper_state": "UP", "admin_up": true,
            "mtu": 1500, "kind": null, "master": null, "peer_ifindex": peer, "peer": null,
            "peer_netns_id": null, "flags": []
        }))
        .unwrap()
    }

    fn addr(ifindex: u32, ifname: &str, ip: &str, len: u8) -> Address {
        serde_json::from_value(serde_json::json!({
            "ifname": ifname, "ifindex": ifindex, "family": "inet", "address": ip,
            "prefix_len": len, "scope": "global", "peer": null
        }))
        .unwrap()
    }

    #[test]
    fn gateway_lxc_and_uplink_come_from_the_namespaces() {
        let node = NetView {
            links: vec![
                link(2, "eth0", "aa:00:00:00:00:02", None),
                link(5, "cilium_host", "aa:00:00:00:00:05", None),
                link(9, "lxc1234", "aa:00:00:00:00:09", Some(7)),
            ],
            addrs: vec![
                addr(2, "eth0", "10.0.0.4", 20),
                addr(5, "cilium_host", "10.244.0.1", 32),
            ],
            routes: vec![
                serde_json::from_value(serde_json::json!({
                    "family": "inet", "table": "main", "dst": "default", "gateway": "10.0.0.1",
                    "dev": "eth0", "scope": "universe", "protocol": "boot", "type": "unicast",
                    "prefsrc": null, "metric": null
                }))
                .unwrap(),
            ],
        };
        let pod = NetView {
            links: vec![link(7, "eth0", "bb:00:00:00:00:07", Some(9))],
            addrs: vec![addr(7, "eth0", "10.244.0.213", 32)],
            routes: vec![],
        };
        let f = network("10.244.0.213", "10.0.0.4", &node, &pod);
        assert_eq!(f["gateway_ip"], "10.244.0.1");
        assert_eq!(f["cilium_host_mac"], "aa:00:00:00:00:05");
        assert_eq!(f["lxc_name"], "lxc1234");
        assert_eq!(f["lxc_mac"], "aa:00:00:00:00:09");
        assert_eq!(f["pod_if"], "eth0");
        assert_eq!(f["pod_mac"], "bb:00:00:00:00:07");
        assert_eq!(f["node_if"], "eth0");
        assert_eq!(f["node_gateway"], "10.0.0.1");
        assert_eq!(f["node_prefix"], "20");
        assert_eq!(f["node_mac"], "aa:00:00:00:00:02");
    }

    #[test]
    fn versions_from_images() {
        assert_eq!(
            cilium_version("quay.io/cilium/cilium:v1.16.5@sha256:abc").as_deref(),
            Some("1.16.5")
        );
        assert_eq!(cilium_version("cilium:1.14.2").as_deref(), Some("1.14.2"));
        assert_eq!(cilium_version("registry:5000/cilium"), None);
        assert_eq!(cilium_version("cilium:latest"), None);
    }
}
