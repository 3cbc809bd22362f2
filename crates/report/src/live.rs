//! Live values of a report: what only the student's own environment could have produced
//! (random MACs, veth names, the nonce) and what merely describes it (IP addresses).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde_json::Value;

use crate::schema::Report;

/// Kind of a live value; only the strong ones are evidence of copying on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LiveKind {
    Nonce,
    Mac,
    Interface,
    /// A network namespace with a random part (`tplab-26e789-pod`, `cni-1794…`).
    Netns,
    Ip,
}

impl LiveKind {
    /// Random per environment: two students sharing it copied something.
    pub fn is_strong(self) -> bool {
        !matches!(self, Self::Ip)
    }

    pub fn word(self) -> &'static str {
        match self {
            Self::Nonce => "nonce",
            Self::Mac => "MAC",
            Self::Interface => "interface",
            Self::Netns => "netns",
            Self::Ip => "IP",
        }
    }
}

/// Every live value found in a report's nonce, facts, captures, evidence, findings and outputs.
pub fn live_values(report: &Report) -> BTreeSet<(LiveKind, String)> {
    let mut out = BTreeSet::new();
    if let Some(nonce) = &report.student.nonce {
        out.insert((LiveKind::Nonce, nonce.clone()));
    }
    for value in report.env.facts.values() {
        scan(value, &mut out);
    }
    for step in &report.steps {
        for value in step.captures.values() {
            scan(value, &mut out);
        }
        for check in &step.checks {
            scan(&check.found, &mut out);
            scan_json(&check.evidence, &mut out);
        }
        for command in &step.commands {
            scan(&command.stdout, &mut out);
        }
    }
    out
}

fn scan_json(value: &Value, out: &mut BTreeSet<(LiveKind, String)>) {
    match value {
        Value::String(s) => scan(s, out),
        Value::Array(items) => items.iter().for_each(|v| scan_json(v, out)),
        Value::Object(map) => map.values().for_each(|v| scan_json(v, out)),
        _ => {}
    }
}

fn scan(text: &str, out: &mut BTreeSet<(LiveKind, String)>) {
    let tokens = text.split(|c: char| {
        !(c.is_ascii_alphanumeric() || c == ':' || c == '.' || c == '-' || c == '_')
    });
    for token in tokens {
        let token = token.trim_matches(|c| c == ':' || c == '.' || c == '-');
        if let Some(kind) = classify(token) {
            out.insert((kind, token.to_ascii_lowercase()));
        } else if let Some((host, _port)) = token.rsplit_once(':') {
            // `10.244.0.213:46486`
            if classify(host) == Some(LiveKind::Ip) {
                out.insert((LiveKind::Ip, host.to_owned()));
            }
        }
    }
}

fn classify(token: &str) -> Option<LiveKind> {
    if is_mac(token) {
        let lower = token.to_ascii_lowercase();
        // Broadcast / zero MACs are the same everywhere.
        return (lower != "ff:ff:ff:ff:ff:ff" && lower != "00:00:00:00:00:00")
            .then_some(LiveKind::Mac);
    }
    if let Ok(ip) = token.parse::<Ipv4Addr>() {
        return (!ip.is_unspecified() && !ip.is_broadcast() && !ip.is_loopback())
            .then_some(LiveKind::Ip);
    }
    if is_random_ifname(token) {
        return Some(LiveKind::Interface);
    }
    if is_random_netns(token) {
        return Some(LiveKind::Netns);
    }
    None
}

fn is_mac(token: &str) -> bool {
    let parts: Vec<&str> = token.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `lxcf4cd39e34601`, `veth3a9c1f2`, `cali12ab34cd56`, `tap0a1b2c3d`: names with a random tail.
fn is_random_ifname(token: &str) -> bool {
    ["lxc", "veth", "cali", "tap"].iter().any(|prefix| {
        token.strip_prefix(prefix).is_some_and(|tail| {
            tail.len() >= 6
                && tail.len() <= 15
                && tail.chars().all(|c| c.is_ascii_hexdigit())
                && tail.chars().any(|c| c.is_ascii_digit())
        })
    })
}

/// The sandbox's `tplab-<hex id>-<role>` and CNI's `cni-<uuid>` namespace names.
fn is_random_netns(token: &str) -> bool {
    let hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    if let Some(rest) = token.strip_prefix("tplab-") {
        let id = rest.split('-').next().unwrap_or("");
        return id.len() >= 6 && hex(id) && id.chars().any(|c| c.is_ascii_digit());
    }
    token.strip_prefix("cni-").is_some_and(|uuid| {
        uuid.len() == 36 && uuid.split('-').count() == 5 && hex(&uuid.replace('-', ""))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_macs_ips_and_veths_in_text() {
        let mut out = BTreeSet::new();
        scan(
            "25: lxcf4cd39e34601@if24: link/ether F6:93:7d:11:4d:37 brd ff:ff:ff:ff:ff:ff src=10.244.0.213:46486",
            &mut out,
        );
        assert!(out.contains(&(LiveKind::Mac, "f6:93:7d:11:4d:37".into())));
        assert!(out.contains(&(LiveKind::Interface, "lxcf4cd39e34601".into())));
        assert!(out.contains(&(LiveKind::Ip, "10.244.0.213".into())));
        assert!(!out.iter().any(|(_, v)| v == "ff:ff:ff:ff:ff:ff"));
    }

    #[test]
    fn finds_random_netns_names() {
        let mut out = BTreeSet::new();
        scan(
            "link-netns cni-17945243-a306-236e-f504-5197df7b88d9 in tplab-26e789-node, not tplab-pod",
            &mut out,
        );
        let netns: Vec<&str> = out
            .iter()
            .filter(|(k, _)| *k == LiveKind::Netns)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(
            netns,
            [
                "cni-17945243-a306-236e-f504-5197df7b88d9",
                "tplab-26e789-node"
            ]
        );
    }

    #[test]
    fn common_words_are_not_live_values() {
        let mut out = BTreeSet::new();
        scan("eth0 lxc cilium_host tap veth0 default", &mut out);
        assert!(out.is_empty(), "{out:?}");
    }
}
