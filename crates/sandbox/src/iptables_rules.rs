//! The node's iptables, shaped like Cilium 1.16's for this sandbox's config (native
//! routing, iptables masquerading, no kube-proxy replacement, no L7 proxy): its `CILIUM_*`
//! chains fed from the base chains (`cilium-feeder: …`, first in each base chain as Cilium
//! prepends them), the masquerade rule in `CILIUM_POST_nat`, plus kube-proxy-like KUBE-*
//! chains so the seed's `iptables-save | grep -c KUBE` has something to count.
//! Applied by [`crate::iptables`] in one `iptables-restore` run.

use std::fmt::Write as _;

use crate::config::SandboxConfig;

/// Cilium's chains: (table, chain, base chain that feeds it), in Cilium's order.
pub const CILIUM_CHAINS: [(&str, &str, &str); 10] = [
    ("filter", "CILIUM_INPUT", "INPUT"),
    ("filter", "CILIUM_OUTPUT", "OUTPUT"),
    ("raw", "CILIUM_OUTPUT_raw", "OUTPUT"),
    ("nat", "CILIUM_POST_nat", "POSTROUTING"),
    ("nat", "CILIUM_OUTPUT_nat", "OUTPUT"),
    ("nat", "CILIUM_PRE_nat", "PREROUTING"),
    ("mangle", "CILIUM_POST_mangle", "POSTROUTING"),
    ("mangle", "CILIUM_PRE_mangle", "PREROUTING"),
    ("raw", "CILIUM_PRE_raw", "PREROUTING"),
    ("filter", "CILIUM_FORWARD", "FORWARD"),
];

/// Base chains of each table, with their policy.
const BASE: [(&str, &[&str]); 4] = [
    ("raw", &["PREROUTING", "OUTPUT"]),
    (
        "mangle",
        &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
    ),
    ("filter", &["INPUT", "FORWARD", "OUTPUT"]),
    ("nat", &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]),
];

const CILIUM_FILTER_RULES: &str = r#"-A CILIUM_FORWARD -o cilium_host -m comment --comment "cilium: any->cluster on cilium_host forward accept" -j ACCEPT
-A CILIUM_FORWARD -i cilium_host -m comment --comment "cilium: cluster->any on cilium_host forward accept (nodeport)" -j ACCEPT
-A CILIUM_FORWARD -i lxc+ -m comment --comment "cilium: cluster->any on lxc+ forward accept" -j ACCEPT
-A CILIUM_FORWARD -i cilium_net -m comment --comment "cilium: cluster->any on cilium_net forward accept (nodeport)" -j ACCEPT
-A CILIUM_OUTPUT -m mark ! --mark 0xe00/0xf00 -m mark ! --mark 0xd00/0xf00 -m mark ! --mark 0x400/0xf00 -m mark ! --mark 0xa00/0xe00 -m mark ! --mark 0x800/0xe00 -m mark ! --mark 0xf00/0xf00 -m comment --comment "cilium: host->any mark as from host" -j MARK --set-xmark 0xc00/0xf00
"#;

const KUBE_FILTER_CHAINS: &str = ":KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
";

const KUBE_FILTER_RULES: &str = r#"-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
"#;

const KUBE_NAT_CHAINS: &str = ":KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
";

const KUBE_NAT_RULES: &str = r#"-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
"#;

/// Last in KUBE-SERVICES, after the Services' rules.
const KUBE_NODEPORTS_LAST: &str = r#"-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
"#;

/// Cilium's rules of `table` for this config (feeders excluded).
fn cilium_rules(cfg: &SandboxConfig, table: &str) -> String {
    match table {
        "filter" => CILIUM_FILTER_RULES.to_string(),
        "nat" => format!(
            "-A CILIUM_POST_nat -s {} ! -d {} ! -o cilium_+ -m comment --comment \"cilium masquerade non-cluster\" -j MASQUERADE\n\
             -A CILIUM_POST_nat -m mark --mark 0xa00/0xe00 -m comment --comment \"exclude proxy return traffic from masquerade\" -j ACCEPT\n",
            cfg.pod_cidr_text(),
            cfg.native_routing_cidr
        ),
        _ => String::new(),
    }
}

/// The `iptables-restore` input for `cfg`.
pub fn rules(cfg: &SandboxConfig) -> String {
    let mut out = String::new();
    for (table, bases) in BASE {
        let _ = writeln!(out, "*{table}");
        for base in bases {
            let _ = writeln!(out, ":{base} ACCEPT [0:0]");
        }
        let ours: Vec<_> = CILIUM_CHAINS.iter().filter(|c| c.0 == table).collect();
        for (_, chain, _) in &ours {
            let _ = writeln!(out, ":{chain} - [0:0]");
        }
        if cfg.kube_rules {
            match table {
                "filter" => out.push_str(KUBE_FILTER_CHAINS),
                "nat" => {
                    out.push_str(KUBE_NAT_CHAINS);
                    out.push_str(&crate::services::nat_chains(cfg));
                }
                _ => {}
            }
        }
        // Feeders first: Cilium inserts them at the top of the base chains.
        for (_, chain, base) in &ours {
            let _ = writeln!(
                out,
                "-A {base} -m comment --comment \"cilium-feeder: {chain}\" -j {chain}"
            );
        }
        if cfg.kube_rules {
            match table {
                "filter" => out.push_str(KUBE_FILTER_RULES),
                "nat" => {
                    out.push_str(KUBE_NAT_RULES);
                    out.push_str(&crate::services::nat_rules(cfg));
                    out.push_str(KUBE_NODEPORTS_LAST);
                }
                _ => {}
            }
        }
        out.push_str(&cilium_rules(cfg, table));
        out.push_str("COMMIT\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masquerade_sits_in_cilium_post_nat() {
        let text = rules(&SandboxConfig::default());
        assert!(text.contains(
            "-A CILIUM_POST_nat -s 10.244.0.0/16 ! -d 10.244.0.0/16 ! -o cilium_+ -m comment --comment \"cilium masquerade non-cluster\" -j MASQUERADE\n"
        ));
        assert!(!text.contains("-A POSTROUTING -s"));
        for (_, chain, base) in CILIUM_CHAINS {
            assert!(
                text.contains(&format!(
                    "-A {base} -m comment --comment \"cilium-feeder: {chain}\" -j {chain}\n"
                )),
                "{chain}"
            );
        }
        // A table's own chains are declared before any rule uses them.
        assert_eq!(text.matches("COMMIT").count(), 4);
    }
}

#[cfg(test)]
mod bench_script {
    /// The baseline script of `bench/sandbox` must load the same rules, or the comparison
    /// is not fair.
    #[test]
    fn bench_script_feeds_the_same_rules() {
        let script = include_str!("../../../bench/sandbox/topology.sh");
        let rules = super::rules(&crate::config::SandboxConfig::default());
        assert!(
            script.contains(&rules),
            "bench/sandbox/topology.sh must contain, between its RULES markers:\n{rules}"
        );
    }
}
