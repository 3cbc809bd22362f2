//! "The sandbox CT map has an entry for this flow" check.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::ct::{CtDirection, CtEntry};
use crate::proto::Proto;

/// What to look for in the CT map; unset fields match anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtQuery {
    pub proto: Proto,
    #[serde(default)]
    pub src: Option<Ipv4Addr>,
    #[serde(default)]
    pub dst: Option<Ipv4Addr>,
    #[serde(default)]
    pub dport: Option<u16>,
    #[serde(default)]
    pub direction: Option<CtDirection>,
    /// Match `related` entries too (ICMP errors); default: only the flow's own entries.
    #[serde(default)]
    pub related: bool,
}

/// Fields of a matched CT map entry that a check may capture (each a field of
/// [`CtEntry`]'s JSON, checked by a test).
pub const CT_ENTRY_FIELDS: &[&str] = &[
    "proto",
    "src",
    "dst",
    "sport",
    "dport",
    "direction",
    "packets",
    "bytes",
    "flags",
    "source_security_id",
];

/// First entry matching `q`, or an explanation (in English) of what the map holds instead.
pub fn find_ct_entry<'a>(q: &CtQuery, entries: &'a [CtEntry]) -> Result<&'a CtEntry, String> {
    find_ct_entry_in(q, entries, tplab_vocab::Lang::En)
}

/// [`find_ct_entry`], the explanation in `lang`.
pub fn find_ct_entry_in<'a>(
    q: &CtQuery,
    entries: &'a [CtEntry],
    lang: tplab_vocab::Lang,
) -> Result<&'a CtEntry, String> {
    use tplab_vocab::Lang;
    let matches = |e: &&CtEntry| {
        e.proto == q.proto
            && e.related == q.related
            && q.src.is_none_or(|s| s == e.src)
            && q.dst.is_none_or(|d| d == e.dst)
            && q.dport.is_none_or(|p| p == e.dport)
            && q.direction.is_none_or(|d| d == e.direction)
    };
    if let Some(e) = entries.iter().find(matches) {
        return Ok(e);
    }
    let same_proto: Vec<String> = entries
        .iter()
        .filter(|e| e.proto == q.proto)
        .take(5)
        .map(|e| format!("{} -> {}", e.src, e.dst))
        .collect();
    let want = format!(
        "{} {}{} -> {}",
        q.proto.cilium_name(),
        q.direction
            .map_or(String::new(), |d| format!("{d:?} ").to_uppercase()),
        q.src.map_or("*".into(), |a| a.to_string()),
        q.dst.map_or("*".into(), |a| a.to_string()),
    );
    let n = entries.len() as u64;
    let proto = q.proto;
    if lang == Lang::Fr {
        let head = format!("aucune entrée CT ne correspond à {want}");
        return Err(if entries.is_empty() {
            format!("{head}\u{202f}: la map CT est vide (aucun trafic n’est sorti du pod\u{202f}?)")
        } else if same_proto.is_empty() {
            format!(
                "{head}\u{202f}: {}, aucune en {proto}",
                lang.count(n, "entrée", "entrées")
            )
        } else {
            format!(
                "{head}\u{202f}; entrées {proto} vues\u{202f}: {}",
                same_proto.join(", ")
            )
        });
    }
    Err(if entries.is_empty() {
        format!("no CT entry matches {want}: the CT map is empty (no traffic left the pod?)")
    } else if same_proto.is_empty() {
        format!(
            "no CT entry matches {want}: {} entries, none {}",
            entries.len(),
            q.proto
        )
    } else {
        format!(
            "no CT entry matches {want}; {} entries seen: {}",
            q.proto,
            same_proto.join(", ")
        )
    })
}
