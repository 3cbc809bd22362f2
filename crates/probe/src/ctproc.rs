//! Conntrack from `/proc/thread-self/net/nf_conntrack`: the kernel walks its (global)
//! conntrack hash under RCU for procfs, which is ~20x cheaper than the locked walk of a
//! ctnetlink dump. The text lacks the raw status word, so the NAT bits are derived
//! from the tuples exactly as the kernel sets them (`IPS_SRC_NAT` is set iff the source
//! manip changed the tuple, which shows as reply.dst/dport != orig.src/sport).

use crate::conntrack::ConntrackEntry;

/// Where this thread's netns conntrack table is exposed (`/proc/net` would follow the
/// *process's* main thread, not the thread that entered the netns).
pub const PATH: &str = "/proc/thread-self/net/nf_conntrack";

#[derive(Default)]
struct Tuple {
    src: Option<String>,
    dst: Option<String>,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    icmp_id: Option<u16>,
}

impl Tuple {
    fn set(&mut self, k: &str, v: &str) {
        match k {
            // procfs prints IPv6 uncompressed (`%pI6`); normalise like ctnetlink's bytes.
            "src" => self.src = Some(canonical_ip(v)),
            "dst" => self.dst = Some(canonical_ip(v)),
            "sport" => self.sport = v.parse().ok(),
            "dport" => self.dport = v.parse().ok(),
            "type" => self.icmp_type = v.parse().ok(),
            "code" => self.icmp_code = v.parse().ok(),
            "id" => self.icmp_id = v.parse().ok(),
            _ => {}
        }
    }
}

fn canonical_ip(v: &str) -> String {
    v.parse::<std::net::IpAddr>()
        .map_or_else(|_| v.to_string(), |ip| ip.to_string())
}

/// Parses one line; `None` for lines that do not look like conntrack entries.
pub fn line(l: &str) -> Option<ConntrackEntry> {
    let toks: Vec<&str> = l.split_whitespace().collect();
    // ipv4 2 icmp 1 29 [STATE] src=.. dst=.. ... [UNREPLIED] src=.. ... [ASSURED] mark=0 zone=0 use=2
    let family = match *toks.first()? {
        "ipv4" => "ipv4",
        "ipv6" => "ipv6",
        _ => return None,
    };
    let proto = (*toks.get(2)?).to_string();
    let timeout = toks.get(4)?.parse().ok();
    let mut e = ConntrackEntry {
        family: family.into(),
        proto: if proto == "unknown" {
            toks.get(3)?.to_string()
        } else {
            proto
        },
        timeout,
        seen_reply: true,
        ..ConntrackEntry::default()
    };
    let (mut orig, mut reply) = (Tuple::default(), Tuple::default());
    let mut in_reply = false;
    let mut offload = Vec::new();
    for t in toks.iter().skip(5) {
        match t.split_once('=') {
            Some(("mark", v)) => e.mark = v.parse().unwrap_or(0),
            Some(("zone", v)) => e.zone = v.parse().unwrap_or(0),
            Some(("src", v)) => {
                if orig.src.is_some() {
                    in_reply = true;
                }
                if in_reply {
                    reply.set("src", v);
                } else {
                    orig.set("src", v);
                }
            }
            Some((k, v)) => {
                if in_reply {
                    reply.set(k, v);
                } else {
                    orig.set(k, v);
                }
            }
            None => match *t {
                "[UNREPLIED]" => e.seen_reply = false,
                "[ASSURED]" => e.assured = true,
                "[OFFLOAD]" => offload.push("OFFLOAD"),
                "[HW_OFFLOAD]" => offload.push("HW_OFFLOAD"),
                s if !s.starts_with('[')
                    && s.chars().all(|c| c.is_ascii_uppercase() || c == '_') =>
                {
                    e.state = Some(s.to_string());
                }
                _ => {}
            },
        }
    }
    e.src = orig.src.clone()?;
    e.dst = orig.dst.clone()?;
    e.sport = orig.sport;
    e.dport = orig.dport;
    e.icmp_type = orig.icmp_type;
    e.icmp_code = orig.icmp_code;
    e.icmp_id = orig.icmp_id;
    e.reply_src = reply.src.clone().unwrap_or_default();
    e.reply_dst = reply.dst.clone().unwrap_or_default();
    e.reply_sport = reply.sport;
    e.reply_dport = reply.dport;
    e.reply_icmp_type = reply.icmp_type;
    e.reply_icmp_id = reply.icmp_id;
    // ICMP ids are the "port" the NAT rewrites; compare like ports.
    let (osp, odp, rsp, rdp) = if e.icmp_id.is_some() {
        (orig.icmp_id, orig.icmp_id, reply.icmp_id, reply.icmp_id)
    } else {
        (orig.sport, orig.dport, reply.sport, reply.dport)
    };
    if reply.src.is_some() {
        e.snat = reply.dst != orig.src || rdp != osp;
        e.dnat = reply.src != orig.dst || rsp != odp;
    }
    let mut status = Vec::new();
    if e.seen_reply {
        status.push("SEEN_REPLY");
    }
    if e.assured {
        status.push("ASSURED");
    }
    status.push("CONFIRMED");
    if e.snat {
        status.push("SRC_NAT");
    }
    if e.dnat {
        status.push("DST_NAT");
    }
    if e.snat {
        status.push("SRC_NAT_DONE");
    }
    if e.dnat {
        status.push("DST_NAT_DONE");
    }
    status.extend(offload);
    e.status = status.into_iter().map(str::to_string).collect();
    Some(e)
}

pub fn parse(text: &str) -> Vec<ConntrackEntry> {
    text.lines().filter_map(line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masqueraded_icmp() {
        let e = line("ipv4     2 icmp     1 29 src=10.244.0.213 dst=203.0.113.10 type=8 code=0 id=7 src=203.0.113.10 dst=198.51.100.1 type=0 code=0 id=7 mark=0 zone=0 use=2").unwrap();
        assert_eq!(
            (e.proto.as_str(), e.src.as_str(), e.reply_dst.as_str()),
            ("icmp", "10.244.0.213", "198.51.100.1")
        );
        assert_eq!(
            (e.icmp_type, e.icmp_id, e.reply_icmp_type, e.timeout),
            (Some(8), Some(7), Some(0), Some(29))
        );
        assert!(e.snat && !e.dnat && e.seen_reply && !e.assured);
        assert!(e.status.contains(&"SRC_NAT".to_string()));
    }

    #[test]
    fn tcp_states_and_flags() {
        let e = line("ipv4     2 tcp      6 117 TIME_WAIT src=10.244.0.213 dst=1.0.0.1 sport=41708 dport=80 src=1.0.0.1 dst=10.244.0.213 sport=80 dport=41708 [ASSURED] mark=5 zone=3 use=2").unwrap();
        assert_eq!(e.state.as_deref(), Some("TIME_WAIT"));
        assert!(e.assured && !e.snat && !e.dnat);
        assert_eq!(
            (e.sport, e.dport, e.reply_sport, e.mark, e.zone),
            (Some(41708), Some(80), Some(80), 5, 3)
        );
        let u = line("ipv4     2 udp      17 29 src=10.0.0.2 dst=203.0.113.9 sport=5000 dport=53 [UNREPLIED] src=203.0.113.9 dst=198.51.100.1 sport=53 dport=5000 mark=0 use=1").unwrap();
        assert!(!u.seen_reply && u.snat);
        let p = line("ipv4     2 udp      17 29 src=10.0.0.2 dst=203.0.113.9 sport=5000 dport=53 src=203.0.113.9 dst=10.0.0.2 sport=53 dport=1024 mark=0 use=1").unwrap();
        assert!(p.snat, "a port-only rewrite is SNAT too");
    }

    #[test]
    fn ipv6_is_compressed() {
        let e = line("ipv6     10 udp      17 29 src=2001:0db8:0000:0000:0000:0000:0000:0001 dst=2001:0db8:0000:0000:0000:0000:0000:0002 sport=5000 dport=53 [UNREPLIED] src=2001:0db8:0000:0000:0000:0000:0000:0002 dst=2001:0db8:0000:0000:0000:0000:0000:0001 sport=53 dport=5000 mark=0 use=1").unwrap();
        assert_eq!(
            (e.family.as_str(), e.src.as_str(), e.reply_src.as_str()),
            ("ipv6", "2001:db8::1", "2001:db8::2")
        );
        assert!(!e.snat && !e.dnat);
    }

    #[test]
    fn junk_is_skipped() {
        assert!(parse("garbage\n\nipv4 2\n").is_empty());
    }
}
