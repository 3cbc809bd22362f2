//! The hops a packet of the seed's topology crosses, as `tplab trace` and the page's
//! diagram both observe them: the pod's eth0, its `lxc` peer on the node, the node's
//! eth0 (where masquerade rewrites the source towards the world).

use std::collections::BTreeMap;

use super::Hop;

/// The hop names `lxc` stands for the pod's veth peer, whatever the environment called it.
pub const LXC: &str = "lxc";

/// The hops from the pod role `from` to the world, with the labels checks use.
pub fn seed_hops(from: &str) -> Vec<Hop> {
    let hop = |role: &str, ifname: &str, label: &str| Hop {
        role: role.to_string(),
        ifname: ifname.to_string(),
        label: label.to_string(),
    };
    vec![
        hop(from, "eth0", "pod:eth0"),
        hop("node", LXC, "node:lxc"),
        hop("node", "eth0", "node:eth0"),
    ]
}

/// The interface a hop names, `lxc` resolved with the environment's facts.
pub fn ifname(hop: &Hop, facts: &BTreeMap<String, String>) -> String {
    match (hop.ifname.as_str(), facts.get("lxc_name")) {
        (LXC, Some(lxc)) => lxc.clone(),
        (name, _) => name.to_string(),
    }
}

/// `pod:eth0 -> node:lxc1234 -> node routing -> node:eth0`, as `tplab trace` announces it.
pub fn summary(hops: &[Hop], facts: &BTreeMap<String, String>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut last_role: Option<&str> = None;
    for hop in hops {
        if last_role == Some(hop.role.as_str()) {
            parts.push(format!("{} routing", hop.role));
        }
        parts.push(format!("{}:{}", hop.role, ifname(hop, facts)));
        last_role = Some(&hop.role);
    }
    parts.join(" -> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_path_reads_as_trace_announces_it() {
        let facts = BTreeMap::from([("lxc_name".to_string(), "lxc12ab".to_string())]);
        let hops = seed_hops("pod");
        assert_eq!(
            summary(&hops, &facts),
            "pod:eth0 -> node:lxc12ab -> node routing -> node:eth0"
        );
        assert_eq!(ifname(&hops[1], &facts), "lxc12ab");
        assert_eq!(ifname(&hops[1], &BTreeMap::new()), "lxc");
    }
}
