//! Firewall facts: the `nf_tables` chains and rules of a network namespace, dumped over
//! netlink (`NFT_MSG_GETCHAIN` / `NFT_MSG_GETRULE`) and decoded into flat, iptables-like
//! records a check can match with plain equality on text (`dst: "!10.244.0.0/16"`).
//!
//! iptables-nft (the default iptables here) stores every rule in `nf_tables`, partly as
//! native expressions and partly as xt "compat" matches/targets; both are decoded. What
//! is not understood is listed in `unknown`, never guessed.

mod decode;
mod describe;
mod dump;
mod expr;
mod nat;
mod regs;
mod replay;
mod text;
mod xt;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ProbeError, ns_label};

/// Every `nf_tables` chain and rule of one namespace (all families).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firewall {
    pub chains: Vec<FirewallChain>,
    pub rules: Vec<FirewallRule>,
    /// `x_tables` tables of iptables-*legacy* present in this netns (`ip_tables_names`,
    /// `ip6_tables_names`): their rules live outside `nf_tables` and are not listed here.
    pub legacy_tables: Vec<String>,
}

/// One chain, as `iptables-save` prints `:INPUT ACCEPT [packets:bytes]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallChain {
    /// `ip`, `ip6`, `inet`, `arp`, `bridge` or `netdev` (nft family names).
    pub family: String,
    pub table: String,
    pub name: String,
    /// `prerouting`, `input`, `forward`, `output`, `postrouting`, `ingress`...; `None`
    /// for a user chain (only reached by jump/goto).
    pub hook: Option<String>,
    pub priority: Option<i32>,
    /// `filter`, `nat` or `route` (base chains only).
    #[serde(rename = "type")]
    pub chain_type: Option<String>,
    /// `ACCEPT` or `DROP` (base chains only).
    pub policy: Option<String>,
    /// Base-chain counters: packets that reached the *policy*, not every packet seen.
    pub packets: Option<u64>,
    pub bytes: Option<u64>,
    /// Number of rules in the chain.
    pub rules: usize,
}

/// One rule as a flat record. Text values carry iptables' spelling: a leading `!` for a
/// negated match, CIDR for addresses (`10.96.0.10/32`), `a:b` for port ranges, `eth+`
/// for an interface prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallRule {
    pub family: String,
    pub table: String,
    pub chain: String,
    /// Kernel rule handle (unique per table).
    pub handle: u64,
    /// 1-based index in the chain, as `iptables -L --line-numbers` prints it.
    pub position: usize,
    pub src: Option<String>,
    pub dst: Option<String>,
    /// `tcp`, `udp`, `icmp`, `ipv6-icmp`... or the protocol number.
    pub proto: Option<String>,
    pub sport: Option<String>,
    pub dport: Option<String>,
    #[serde(rename = "in")]
    pub in_iface: Option<String>,
    #[serde(rename = "out")]
    pub out_iface: Option<String>,
    /// Packet mark match, `0x4000` or `0x4000/0x4000` (value/mask).
    pub mark: Option<String>,
    /// `ACCEPT`, `DROP`, `RETURN`, `MASQUERADE`, `SNAT`, `DNAT`, `REDIRECT`, `MARK`,
    /// `REJECT`, `LOG`..., or the user chain jumped to.
    pub target: Option<String>,
    /// `jump` or `goto` when `target` is a user chain.
    pub verdict: Option<String>,
    /// NAT destination: `203.0.113.10:80`, `198.51.100.2`, or ports (`1024-2000`) for
    /// MASQUERADE / REDIRECT.
    pub to: Option<String>,
    /// Other target options in iptables-save spelling (`--random-fully`,
    /// `--reject-with tcp-reset`, `--set-xmark 0x4000/0x4000`, `--log-prefix x: `).
    pub target_options: Vec<String>,
    pub comment: Option<String>,
    pub packets: Option<u64>,
    pub bytes: Option<u64>,
    /// Names of xt matches kept as opaque blobs (`conntrack`, `multiport`, `addrtype`...).
    pub matches: Vec<String>,
    /// Expressions not understood, described; a rule with entries here matches more
    /// narrowly than its decoded fields say.
    pub unknown: Vec<String>,
}

/// Reads the firewall of `netns` (`None` = the caller's netns) on a dedicated thread.
pub async fn collect_firewall(netns: Option<&Path>) -> Result<Firewall, ProbeError> {
    let label = ns_label(netns);
    let label2 = label.clone();
    tplab_netns::block_on_in(netns.map(Path::to_path_buf), move || async move {
        collect_here(&label2)
    })
    .await
    .map_err(|e| ProbeError::from_netns(&label, e))?
}

/// Blocking form of [`collect_firewall`] for callers outside any async runtime.
pub fn collect_firewall_sync(netns: Option<&Path>) -> Result<Firewall, ProbeError> {
    let label = ns_label(netns);
    let label2 = label.clone();
    tplab_netns::run_in(netns, move || collect_here(&label2))
        .map_err(|e| ProbeError::from_netns(&label, e))?
}

/// The raw netlink messages (headers included) of one consistent chain + rule dump of
/// `netns`: what [`decode_messages`] reads. Used to capture test fixtures.
pub fn capture_sync(netns: Option<&Path>) -> Result<Vec<Vec<u8>>, ProbeError> {
    let label = ns_label(netns);
    let label2 = label.clone();
    tplab_netns::run_in(netns, move || dump::consistent(&label2))
        .map_err(|e| ProbeError::from_netns(&label, e))?
}

/// Decodes captured netlink messages (chain and rule replies, any order, anything else
/// ignored). Never panics, whatever the bytes.
pub fn decode_messages<M: AsRef<[u8]>>(messages: &[M]) -> Firewall {
    decode::firewall(messages)
}

/// Runs on the thread that entered the netns: the socket must be created here.
fn collect_here(netns: &str) -> Result<Firewall, ProbeError> {
    let messages = dump::consistent(netns)?;
    let mut fw = decode::firewall(&messages);
    fw.legacy_tables = legacy_tables();
    Ok(fw)
}

/// Legacy `x_tables` in this thread's netns (`/proc/net` would follow the main thread).
fn legacy_tables() -> Vec<String> {
    let mut out = Vec::new();
    for (family, file) in [("ip", "ip_tables_names"), ("ip6", "ip6_tables_names")] {
        let path = format!("/proc/thread-self/net/{file}");
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        out.extend(text.split_whitespace().map(|t| format!("{family} {t}")));
    }
    out
}

crate::query::query_struct!(
    /// `firewall:` — a packet-filter rule, e.g. `{table: nat, chain: POSTROUTING,
    /// src: 10.244.0.0/16, dst: "!10.244.0.0/16", out: "!cilium_+", target: MASQUERADE}`.
    FirewallQuery { family, table, chain, handle, position, src, dst, proto, sport, dport,
        in_iface as "in", out_iface as "out", mark, target, verdict, to, target_options,
        comment, packets, bytes, matches, unknown }
);

/// Fields of a firewall rule record.
pub(crate) const FIELDS: &[&str] = &[
    "family",
    "table",
    "chain",
    "handle",
    "position",
    "src",
    "dst",
    "proto",
    "sport",
    "dport",
    "in",
    "out",
    "mark",
    "target",
    "verdict",
    "to",
    "target_options",
    "comment",
    "packets",
    "bytes",
    "matches",
    "unknown",
];

/// The `firewall` collector of the kind table (`kinds.rs`): the namespace's rules.
#[allow(clippy::unused_async, reason = "the kind table's collectors are async")]
pub(crate) async fn collect_for(
    s: &mut crate::session::Session,
    _query: Option<&FirewallQuery>,
) -> Result<Vec<FirewallRule>, ProbeError> {
    Ok(collect_here(&s.netns)?.rules)
}
