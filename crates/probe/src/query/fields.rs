//! Record field names per fact kind (what `capture:` may name) and how each compares.

use super::matcher::FieldType;
use crate::facts::FactKind;

pub(crate) const LINK: &[&str] = &[
    "ifindex",
    "name",
    "mac",
    "oper_state",
    "admin_up",
    "mtu",
    "kind",
    "master",
    "peer_ifindex",
    "peer",
    "peer_netns_id",
    "flags",
];
pub(crate) const ADDRESS: &[&str] = &[
    "ifname",
    "ifindex",
    "family",
    "address",
    "prefix_len",
    "scope",
    "peer",
];
pub(crate) const ROUTE: &[&str] = &[
    "family", "table", "dst", "gateway", "dev", "scope", "protocol", "type", "prefsrc", "metric",
    "nexthops",
];
pub(crate) const NEIGHBOUR: &[&str] = &[
    "ip", "lladdr", "dev", "ifindex", "family", "state", "states", "router",
];
pub(crate) const BPF: &[&str] = &[
    "dev",
    "ifindex",
    "direction",
    "attach",
    "name",
    "prog_name",
    "id",
    "tag",
    "direct_action",
    "pref",
    "handle",
    "chain",
    "order",
];
pub(crate) const CONNTRACK: &[&str] = &[
    "family",
    "proto",
    "src",
    "dst",
    "sport",
    "dport",
    "icmp_type",
    "icmp_code",
    "icmp_id",
    "reply_src",
    "reply_dst",
    "reply_sport",
    "reply_dport",
    "reply_icmp_type",
    "reply_icmp_id",
    "state",
    "snat",
    "dnat",
    "assured",
    "seen_reply",
    "status",
    "mark",
    "zone",
    "timeout",
    "id",
];

/// Field names of a kind's records: what a check may match and `capture` may name.
pub fn fields(kind: FactKind) -> &'static [&'static str] {
    kind.fields()
}

/// How a field's values compare in matchers.
pub fn field_type(kind: FactKind, field: &str) -> FieldType {
    use FieldType::{Bool, Ip, Keyword, Mac, Number, Text};
    match (kind, field) {
        (_, "mac" | "lladdr") => Mac,
        (FactKind::Links, "peer") => Text,
        (
            _,
            "address" | "peer" | "dst" | "gateway" | "prefsrc" | "ip" | "src" | "reply_src"
            | "reply_dst" | "local_address" | "remote_address",
        ) => Ip,
        (
            _,
            "ifindex" | "mtu" | "peer_ifindex" | "peer_netns_id" | "prefix_len" | "metric" | "id"
            | "pref" | "handle" | "chain" | "order" | "sport" | "dport" | "icmp_type" | "icmp_code"
            | "icmp_id" | "reply_sport" | "reply_dport" | "reply_icmp_type" | "reply_icmp_id"
            | "mark" | "zone" | "timeout" | "position" | "packets" | "bytes" | "value"
            | "local_port" | "remote_port" | "inode" | "uid" | "pid",
        ) => Number,
        (
            _,
            "admin_up" | "router" | "direct_action" | "snat" | "dnat" | "assured" | "seen_reply",
        ) => Bool,
        (
            _,
            "oper_state" | "kind" | "flags" | "family" | "scope" | "protocol" | "type" | "state"
            | "states" | "direction" | "attach" | "proto" | "status" | "tag" | "target" | "verdict",
        )
        | (FactKind::Routes, "table") => Keyword,
        _ => Text,
    }
}
