//! Human views of facts: an aligned table for `tplab probe <role> <kind>` and a one-line
//! `ip`-like summary of a record for verdict messages.

use serde_json::Value;

use crate::facts::{FactKind, Facts};

fn s(r: &Value, f: &str) -> String {
    r.get(f).map(text).unwrap_or_default()
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(x) => x.clone(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(","),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        v => v.to_string(),
    }
}

/// Host routes print without their `/32` (`/128`), as `ip route` does.
fn short_dst(d: &str) -> &str {
    d.strip_suffix("/32")
        .filter(|a| !a.contains(':'))
        .or_else(|| d.strip_suffix("/128").filter(|a| a.contains(':')))
        .unwrap_or(d)
}

fn endpoint(r: &Value, ip: &str, port: &str) -> String {
    let p = s(r, port);
    if p.is_empty() {
        s(r, ip)
    } else {
        format!("{}:{p}", s(r, ip))
    }
}

/// `127.0.0.1:80`, `[::1]:80` as `ss` writes an endpoint.
fn socket_end(r: &Value, ip: &str, port: &str) -> String {
    let addr = s(r, ip);
    if addr.contains(':') {
        format!("[{addr}]:{}", s(r, port))
    } else {
        format!("{addr}:{}", s(r, port))
    }
}

/// `python3(pid 42)`: a socket's holders, one process name per pid when they pair up.
fn owners(r: &Value) -> String {
    let list = |f: &str| -> Vec<String> {
        r.get(f)
            .and_then(Value::as_array)
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default()
    };
    let (names, pids) = (list("process"), list("pid"));
    match (names.as_slice(), pids.as_slice()) {
        ([], _) => String::new(),
        ([name], [pid]) => format!("{name}(pid {pid})"),
        _ => format!("{}(pid {})", names.join(","), pids.join(",")),
    }
}

fn ct_flags(r: &Value) -> String {
    let mut f = Vec::new();
    for (k, label) in [("snat", "SNAT"), ("dnat", "DNAT"), ("assured", "ASSURED")] {
        if r.get(k) == Some(&Value::Bool(true)) {
            f.push(label);
        }
    }
    if r.get("seen_reply") == Some(&Value::Bool(false)) {
        f.push("UNREPLIED");
    }
    f.join(",")
}

fn push_opt(out: &mut Vec<String>, key: &str, v: &str) {
    if !v.is_empty() {
        out.push(format!("{key} {v}"));
    }
}

/// One line describing a record, close to what iproute2/conntrack print.
pub fn summary(kind: FactKind, r: &Value) -> String {
    let mut p: Vec<String> = Vec::new();
    match kind {
        FactKind::Routes => {
            let ty = s(r, "type");
            if ty != "unicast" {
                p.push(ty);
            }
            p.push(short_dst(&s(r, "dst")).to_string());
            push_opt(&mut p, "via", &s(r, "gateway"));
            push_opt(&mut p, "dev", &s(r, "dev"));
            for h in r
                .get("nexthops")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                p.push(format!(
                    "nexthop via {} dev {} weight {}",
                    s(h, "gateway"),
                    s(h, "dev"),
                    s(h, "weight")
                ));
            }
            let table = s(r, "table");
            if table != "main" {
                p.push(format!("table {table}"));
            }
            let proto = s(r, "protocol");
            if proto != "boot" {
                p.push(format!("proto {proto}"));
            }
            let scope = s(r, "scope");
            if scope != "global" {
                p.push(format!("scope {scope}"));
            }
            push_opt(&mut p, "src", &s(r, "prefsrc"));
            push_opt(&mut p, "metric", &s(r, "metric"));
        }
        FactKind::Neighbours => {
            p.push(s(r, "ip"));
            push_opt(&mut p, "dev", &s(r, "dev"));
            push_opt(&mut p, "lladdr", &s(r, "lladdr"));
            p.push(s(r, "state"));
        }
        FactKind::Links => {
            let peer = s(r, "peer");
            let name = if peer.is_empty() {
                s(r, "name")
            } else {
                format!("{}@{peer}", s(r, "name"))
            };
            p.push(format!("{}: {name}", s(r, "ifindex")));
            push_opt(&mut p, "kind", &s(r, "kind"));
            push_opt(&mut p, "state", &s(r, "oper_state"));
            push_opt(&mut p, "mtu", &s(r, "mtu"));
            push_opt(&mut p, "mac", &s(r, "mac"));
            push_opt(&mut p, "master", &s(r, "master"));
            push_opt(&mut p, "peer-ifindex", &s(r, "peer_ifindex"));
        }
        FactKind::Addresses => {
            p.push(format!("{}/{}", s(r, "address"), s(r, "prefix_len")));
            push_opt(&mut p, "dev", &s(r, "ifname"));
            push_opt(&mut p, "scope", &s(r, "scope"));
        }
        FactKind::Bpf => {
            p.push(format!(
                "{} {} ({})",
                s(r, "dev"),
                s(r, "direction"),
                s(r, "attach")
            ));
            p.push(s(r, "name"));
            push_opt(&mut p, "id", &s(r, "id"));
            push_opt(&mut p, "tag", &s(r, "tag"));
            if r.get("direct_action") == Some(&Value::Bool(true)) {
                p.push("direct-action".into());
            }
        }
        FactKind::Conntrack => {
            p.push(s(r, "proto"));
            p.push(format!(
                "{} -> {}",
                endpoint(r, "src", "sport"),
                endpoint(r, "dst", "dport")
            ));
            p.push(format!(
                "reply {} -> {}",
                endpoint(r, "reply_src", "reply_sport"),
                endpoint(r, "reply_dst", "reply_dport")
            ));
            let st = s(r, "state");
            if !st.is_empty() {
                p.push(st);
            }
            let f = ct_flags(r);
            if !f.is_empty() {
                p.push(format!("[{f}]"));
            }
        }
        // `tcp LISTEN 127.0.0.1:8000 users python3(pid 42)`, close to `ss -tanp`.
        FactKind::Sockets => {
            p.push(s(r, "proto"));
            p.push(s(r, "state"));
            p.push(socket_end(r, "local_address", "local_port"));
            if s(r, "remote_port") != "0" {
                p.push(format!(
                    "-> {}",
                    socket_end(r, "remote_address", "remote_port")
                ));
            }
            push_opt(&mut p, "dev", &s(r, "dev"));
            push_opt(&mut p, "users", &owners(r));
        }
        // Kinds without a hand-written line: their set fields, in declaration order.
        _ => {
            for field in kind.fields() {
                push_opt(&mut p, field, &s(r, field));
            }
        }
    }
    p.retain(|x| !x.is_empty());
    p.join(" ")
}

/// Hand-picked columns of the kinds that have them; other kinds show every field.
fn columns(kind: FactKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        FactKind::Links => &[
            ("IFINDEX", "ifindex"),
            ("NAME", "name"),
            ("KIND", "kind"),
            ("STATE", "oper_state"),
            ("MTU", "mtu"),
            ("MAC", "mac"),
            ("MASTER", "master"),
            ("PEER", "peer"),
            ("PEER-IFINDEX", "peer_ifindex"),
            ("PEER-NSID", "peer_netns_id"),
            ("FLAGS", "flags"),
        ],
        FactKind::Addresses => &[
            ("DEV", "ifname"),
            ("FAMILY", "family"),
            ("ADDRESS", "address"),
            ("PREFIX", "prefix_len"),
            ("SCOPE", "scope"),
        ],
        FactKind::Routes => &[
            ("TABLE", "table"),
            ("TYPE", "type"),
            ("DST", "dst"),
            ("GATEWAY", "gateway"),
            ("DEV", "dev"),
            ("SCOPE", "scope"),
            ("PROTO", "protocol"),
            ("PREFSRC", "prefsrc"),
            ("METRIC", "metric"),
        ],
        FactKind::Neighbours => &[
            ("IP", "ip"),
            ("DEV", "dev"),
            ("LLADDR", "lladdr"),
            ("STATE", "state"),
        ],
        FactKind::Bpf => &[
            ("DEV", "dev"),
            ("DIRECTION", "direction"),
            ("ATTACH", "attach"),
            ("NAME", "name"),
            ("PROG", "prog_name"),
            ("ID", "id"),
            ("TAG", "tag"),
            ("DA", "direct_action"),
            ("PREF", "pref"),
        ],
        FactKind::Sockets => &[
            ("PROTO", "proto"),
            ("STATE", "state"),
            ("LOCAL", "local_address"),
            ("PORT", "local_port"),
            ("REMOTE", "remote_address"),
            ("RPORT", "remote_port"),
            ("DEV", "dev"),
            ("PROCESS", "process"),
            ("PID", "pid"),
            ("INODE", "inode"),
        ],
        _ => &[],
    }
}

/// An aligned, readable table of the facts (`tplab probe <role> <kind>`).
pub fn render_text(facts: &Facts) -> String {
    let kind = facts.kind();
    let records = facts.records();
    if records.is_empty() {
        return format!("(no {kind})\n");
    }
    let (head, rows): (Vec<String>, Vec<Vec<String>>) = if kind == FactKind::Conntrack {
        (
            [
                "PROTO", "ORIGINAL", "REPLY", "STATE", "FLAGS", "TIMEOUT", "MARK", "ZONE",
            ]
            .map(str::to_string)
            .to_vec(),
            records
                .iter()
                .map(|r| {
                    vec![
                        s(r, "proto"),
                        format!(
                            "{} -> {}",
                            endpoint(r, "src", "sport"),
                            endpoint(r, "dst", "dport")
                        ),
                        format!(
                            "{} -> {}",
                            endpoint(r, "reply_src", "reply_sport"),
                            endpoint(r, "reply_dst", "reply_dport")
                        ),
                        s(r, "state"),
                        ct_flags(r),
                        s(r, "timeout"),
                        s(r, "mark"),
                        s(r, "zone"),
                    ]
                })
                .collect(),
        )
    } else {
        let picked = columns(kind);
        let cols: Vec<(String, &str)> = if picked.is_empty() {
            kind.fields()
                .iter()
                .map(|f| (f.to_ascii_uppercase(), *f))
                .collect()
        } else {
            picked.iter().map(|(h, f)| ((*h).to_string(), *f)).collect()
        };
        (
            cols.iter().map(|(h, _)| h.clone()).collect(),
            records
                .iter()
                .map(|r| cols.iter().map(|(_, f)| s(r, f)).collect())
                .collect(),
        )
    };
    table(&head, &rows)
}

fn table(head: &[String], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = cells
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        l.truncate(l.trim_end().len());
        l.push('\n');
        l
    };
    let mut out = line(head);
    for r in rows {
        out.push_str(&line(r));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn route_summary_reads_like_ip_route() {
        let r = json!({"family":"inet","table":"main","dst":"10.244.0.201/32","gateway":null,"dev":"eth0",
            "scope":"link","protocol":"boot","type":"unicast","prefsrc":null,"metric":null});
        assert_eq!(
            summary(FactKind::Routes, &r),
            "10.244.0.201 dev eth0 scope link"
        );
        let d = json!({"family":"inet","table":"main","dst":"default","gateway":"10.244.0.201","dev":"eth0",
            "scope":"global","protocol":"boot","type":"unicast","prefsrc":null,"metric":null});
        assert_eq!(
            summary(FactKind::Routes, &d),
            "default via 10.244.0.201 dev eth0"
        );
    }

    #[test]
    fn table_is_aligned() {
        let facts: Facts = serde_json::from_value(json!({"kind": "neighbours", "records": [
            {"ip":"10.244.0.201","lladdr":"f6:93:7d:11:4d:37","dev":"eth0","ifindex":2,"family":"inet",
             "state":"REACHABLE","states":["REACHABLE"],"router":false},
            {"ip":"10.1.1.1","lladdr":null,"dev":"eth10","ifindex":3,"family":"inet",
             "state":"FAILED","states":["FAILED"],"router":false}]})).unwrap();
        let t = render_text(&facts);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "IP            DEV    LLADDR             STATE");
        assert_eq!(
            lines[1],
            "10.244.0.201  eth0   f6:93:7d:11:4d:37  REACHABLE"
        );
        assert_eq!(lines[2], "10.1.1.1      eth10                     FAILED");
        let links: Facts = serde_json::from_value(json!({"kind": "links", "records": [
            {"ifindex":1,"name":"lo","mac":null,"oper_state":"UNKNOWN","admin_up":true,"mtu":65536,"kind":null,
             "master":null,"peer_ifindex":null,"peer":null,"peer_netns_id":null,"flags":["LOOPBACK","UP"]}]})).unwrap();
        assert!(render_text(&links).contains("LOOPBACK,UP"));
    }
}
