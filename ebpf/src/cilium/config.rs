//! `cilium config view`: the sandbox's settings in Cilium's two-column format.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The sandbox's configuration, with the seed's keys and Cilium 1.16's. NAT is iptables'
/// job here, hence `enable-bpf-masquerade false` and `masquerade true`. `bpf_root` is where
/// the sandbox pins what Cilium pins under `/sys/fs/bpf` (`tc/globals/cilium_ct4_global`…);
/// `tcx` is the datapath attach mode (`enable-tcx`).
pub fn sandbox_config(bpf_root: &str, tcx: bool) -> BTreeMap<String, String> {
    let pairs = [
        (
            "agent-not-ready-taint-key",
            "node.cilium.io/agent-not-ready",
        ),
        ("auto-direct-node-routes", "false"),
        ("bpf-lb-sock", "false"),
        ("cluster-id", "0"),
        ("cluster-name", "tplab-sandbox"),
        ("cluster-pool-ipv4-cidr", "10.244.0.0/16"),
        ("cluster-pool-ipv4-mask-size", "25"),
        ("debug", "false"),
        ("enable-bpf-masquerade", "false"),
        ("enable-host-legacy-routing", "true"),
        ("enable-hubble", "false"),
        ("enable-ipv4", "true"),
        ("enable-ipv4-masquerade", "true"),
        ("enable-ipv6", "false"),
        ("enable-ipv6-masquerade", "false"),
        ("enable-l7-proxy", "false"),
        ("enable-policy", "default"),
        ("identity-allocation-mode", "crd"),
        ("ipam", "cluster-pool"),
        ("ipv4-native-routing-cidr", "10.244.0.0/16"),
        ("kube-proxy-replacement", "false"),
        ("masquerade", "true"),
        ("monitor-aggregation", "none"),
        ("routing-mode", "native"),
        ("tunnel-protocol", "disabled"),
    ];
    let mut map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    for (k, v) in super::seed_keys::SEED_KEYS {
        map.entry((*k).to_string())
            .or_insert_with(|| (*v).to_string());
    }
    // Where a reader finds the maps, and the attach mode: the sandbox's own values win
    // over the seed's.
    map.insert("bpf-root".into(), bpf_root.to_string());
    map.insert("enable-tcx".into(), tcx.to_string());
    map
}

/// `key<padding>value` lines, values aligned on column 40 as in the seed.
pub fn format_config(cfg: &BTreeMap<String, String>) -> String {
    cfg.iter().fold(String::new(), |mut out, (k, v)| {
        let _ = writeln!(out, "{k:<38} {v}");
        out
    })
}
