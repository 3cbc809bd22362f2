//! Text for what the decoder could not map to a field: register contents, comparison
//! operators and conntrack keys, as `nft --debug=netlink` would name them.

use super::regs::Val;
use super::text;

/// `enum nft_ct_keys`, as nft names them.
pub fn ct_key(key: u32) -> String {
    let names = [
        "state",
        "direction",
        "status",
        "mark",
        "secmark",
        "expiration",
        "helper",
        "l3protocol",
        "saddr",
        "daddr",
        "protocol",
        "proto-src",
        "proto-dst",
        "label",
        "packets",
        "bytes",
        "avgpkt",
        "zone",
        "event",
        "ip saddr",
        "ip daddr",
        "ip6 saddr",
        "ip6 daddr",
        "id",
    ];
    usize::try_from(key)
        .ok()
        .and_then(|k| names.get(k))
        .map_or_else(|| format!("key {key}"), |n| (*n).to_string())
}

pub fn op_name(op: u32) -> &'static str {
    match op {
        0 => "==",
        1 => "!=",
        2 => "<",
        3 => "<=",
        4 => ">",
        5 => ">=",
        _ => "?",
    }
}

/// What a register holds, for `unknown` entries.
pub fn describe(v: Option<&Val>) -> String {
    match v {
        None => "an unset register".into(),
        Some(Val::Payload { base, offset, len }) => {
            let b = match base {
                0 => "ll",
                1 => "nh",
                2 => "th",
                _ => "inner",
            };
            format!("payload @{b}+{offset}/{len}")
        }
        Some(Val::Meta(key)) => format!("meta key {key}"),
        Some(Val::Masked(inner, mask)) => {
            format!("{} & {}", describe(Some(inner)), text::hex(mask))
        }
        Some(Val::Imm(b)) => format!("immediate {}", text::hex(b)),
        Some(Val::Opaque(what)) => what.clone(),
    }
}
