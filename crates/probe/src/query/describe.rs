//! Student-readable sentence for what a query expects
//! ("a default route via 10.244.0.201 dev eth0").

use super::Query;
use super::matcher::Matcher;
use crate::facts::FactKind;

/// Phrase for one field inside the sentence; `{}` is the matcher description.
fn phrase(kind: FactKind, field: &str, m: &Matcher) -> String {
    let d = m.describe();
    let is_true = m.plain().as_deref() == Some("true");
    let is_false = m.plain().as_deref() == Some("false");
    let flag = |yes: &str, no: &str| -> String {
        if is_true {
            yes.into()
        } else if is_false {
            no.into()
        } else {
            format!("{} {d}", field.replace('_', " "))
        }
    };
    match (kind, field) {
        (FactKind::Routes, "gateway") => format!("via {d}"),
        (FactKind::Routes | FactKind::Neighbours | FactKind::Bpf, "dev") => format!("dev {d}"),
        (FactKind::Addresses, "ifname") | (FactKind::Bpf, "direction") => format!("on {d}"),
        // "named lxc1", but "with a name matching /^lxc/".
        (FactKind::Links | FactKind::Bpf, "name") if m.plain().is_some() => format!("named {d}"),
        (FactKind::Links | FactKind::Bpf, "name") => format!("with a name {d}"),
        (FactKind::Bpf, "attach") => format!("attached with {d}"),
        (FactKind::Conntrack, "snat") => flag("source-NATed", "not source-NATed"),
        (FactKind::Conntrack, "dnat") => flag("destination-NATed", "not destination-NATed"),
        (FactKind::Conntrack, "assured") => flag("assured", "not assured"),
        (FactKind::Conntrack, "seen_reply") => flag("replied", "without reply"),
        (FactKind::Links, "admin_up") => flag("administratively up", "administratively down"),
        (FactKind::Bpf, "direct_action") => {
            flag("in direct-action mode", "not in direct-action mode")
        }
        (FactKind::Neighbours, "router") => flag("flagged router", "not flagged router"),
        (_, f) => format!("{} {d}", f.replace('_', " ")),
    }
}

/// "a default route via X dev Y" / "an icmp conntrack entry 10.0.0.1 -> 10.0.0.2, source-NATed".
pub fn expected(q: &Query) -> String {
    let kind = q.fact_kind();
    let ms = q.matchers();
    let get = |f: &str| ms.iter().find(|(n, _)| *n == f).map(|(_, m)| *m);
    let mut used: Vec<&str> = Vec::new();
    let mut head: String;
    match kind {
        FactKind::Routes => {
            head = match get("dst") {
                Some(m)
                    if m.plain()
                        .is_some_and(|d| d == "default" || d.ends_with("/0")) =>
                {
                    "default route".into()
                }
                Some(m) => format!("route to {}", m.describe()),
                None => "route".into(),
            };
            used.push("dst");
        }
        FactKind::Neighbours => {
            head = match get("ip") {
                Some(m) => format!("neighbour entry for {}", m.describe()),
                None => "neighbour entry".into(),
            };
            used.push("ip");
        }
        FactKind::Conntrack => {
            let proto = get("proto")
                .and_then(Matcher::plain)
                .map(|p| format!("{p} "))
                .unwrap_or_default();
            if !proto.is_empty() {
                used.push("proto");
            }
            head = format!("{proto}conntrack entry");
            if let (Some(s), Some(d)) = (get("src"), get("dst")) {
                head = format!("{head} {} -> {}", s.describe(), d.describe());
                used.extend(["src", "dst"]);
            }
        }
        FactKind::Bpf => {
            head = "BPF program".into();
            if let Some(d) = get("dev") {
                head = format!("{head} on {}", d.describe());
                used.push("dev");
                if let Some(dir) = get("direction") {
                    head = format!("{head} {}", dir.describe());
                    used.push("direction");
                }
            }
        }
        FactKind::Addresses => {
            head = match get("address") {
                Some(m) => format!("address {}", m.describe()),
                None => "address".into(),
            };
            used.push("address");
        }
        // Links, and kinds whose sentence is their noun and fields.
        _ => head = kind.noun().into(),
    }
    let rest: Vec<String> = ms
        .iter()
        .filter(|(f, _)| !used.contains(f))
        .map(|(f, m)| phrase(kind, f, m))
        .collect();
    let mut s = format!("{} {head}", article(&head));
    if !rest.is_empty() {
        if matches!(kind, FactKind::Routes | FactKind::Addresses) {
            s.push(' ');
            s.push_str(&rest.join(" "));
        } else {
            s.push_str(if used.is_empty() { " with " } else { ", " });
            s.push_str(&rest.join(", "));
        }
    }
    s
}

/// Same sentence without the article, for "no ..." clauses.
pub fn bare(q: &Query) -> String {
    let e = expected(q);
    e.strip_prefix("an ")
        .or_else(|| e.strip_prefix("a "))
        .unwrap_or(&e)
        .to_string()
}

fn article(word: &str) -> &'static str {
    match word.chars().next() {
        Some(c) if "aeiouAEIOU".contains(c) => "an",
        _ => "a",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(y: &str) -> Query {
        serde_yaml::from_str(y).unwrap()
    }

    #[test]
    fn sentences() {
        assert_eq!(
            expected(&q(
                "route: {dst: default, gateway: 10.244.0.201, dev: eth0}"
            )),
            "a default route via 10.244.0.201 dev eth0"
        );
        assert_eq!(
            expected(&q(
                "conntrack: {proto: icmp, src: 10.244.0.213, dst: 203.0.113.10, snat: true, reply_dst: 198.51.100.2}"
            )),
            "an icmp conntrack entry 10.244.0.213 -> 203.0.113.10, reply dst 198.51.100.2, source-NATed"
        );
        assert_eq!(
            expected(&q(
                "bpf_attached: {dev: lxc1, direction: ingress, name: {regex: from-container}}"
            )),
            "a BPF program on lxc1 ingress, with a name matching /from-container/"
        );
        assert_eq!(
            expected(&q("neighbour: {ip: 10.0.0.1}")),
            "a neighbour entry for 10.0.0.1"
        );
        assert_eq!(
            bare(&q("link: {mac: aa:bb:cc:dd:ee:ff}")),
            "link with mac aa:bb:cc:dd:ee:ff"
        );
    }
}
