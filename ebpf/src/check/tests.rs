//! Unit tests of the pure checks over synthetic events.

use std::net::Ipv4Addr;

use super::*;
use crate::ct::{CtDirection, CtEntry};
use crate::observer::{Direction, PacketEvent};
use crate::proto::Proto;

const POD: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 213);
const NODE: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const WORLD: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

fn ev(label: &str, dir: Direction, src: Ipv4Addr, ts: u64) -> PacketEvent {
    PacketEvent {
        label: label.into(),
        ifname: String::new(),
        ifindex: 2,
        netns_cookie: 1,
        dir,
        proto: Proto::Icmp,
        src,
        dst: WORLD,
        sport: 0,
        dport: 0,
        icmp_type: Some(8),
        icmp_code: Some(0),
        icmp_id: Some(7),
        tcp_flags: 0,
        len: 98,
        ip_len: 84,
        ts_ns: ts,
    }
}

fn query() -> PathQuery {
    serde_yaml::from_str(
        "{proto: icmp, src: 10.244.0.213, dst: 203.0.113.10, within: 10s, count: '>= 1', path: [\
         {at: 'pod:eth0', dir: egress}, {at: 'node:lxc', dir: ingress}, \
         {at: 'node:eth0', dir: egress, src: 198.51.100.2}]}",
    )
    .expect("valid query")
}

/// The failure message of a path that must fail.
fn failure(q: &PathQuery, evs: &[PacketEvent]) -> String {
    let o = evaluate_path(q, evs);
    assert_eq!(o.verdict, Verdict::Fail, "must fail: {o:?}");
    o.found
}

#[test]
fn real_path_passes_with_evidence() {
    let evs = [
        ev("pod:eth0", Direction::Egress, POD, 1),
        ev("node:lxc", Direction::Ingress, POD, 2),
        ev("node:eth0", Direction::Egress, NODE, 3),
    ];
    let o = evaluate_path(&query(), &evs);
    assert!(o.passed(), "must pass: {o:?}");
    assert_eq!(o.found, "3 packets observed on the path");
    assert_eq!(
        o.expected,
        "ICMP 10.244.0.213 -> 203.0.113.10 seen pod:eth0 egress, then node:lxc ingress, \
         then node:eth0 egress within 10s"
    );
    let evidence = hops(&o);
    assert_eq!(o.evidence["hops"].as_array().map(Vec::len), Some(3));
    assert_eq!(evidence.len(), 3);
    assert_eq!(evidence[2].at, "node:eth0");
    assert!(evidence[2].first.contains("198.51.100.2 -> 203.0.113.10"));
}

#[test]
fn missing_nat_names_the_hop_and_the_source_seen() {
    let evs = [
        ev("pod:eth0", Direction::Egress, POD, 1),
        ev("node:lxc", Direction::Ingress, POD, 2),
        ev("node:eth0", Direction::Egress, POD, 3),
    ];
    let o = evaluate_path(&query(), &evs);
    assert_eq!(o.verdict, Verdict::Fail);
    let (message, evidence) = (o.found.clone(), hops(&o));
    assert!(o.message.is_empty());
    assert_eq!(
        message,
        "seen on pod:eth0 and node:lxc, but never leaving node:eth0 with source 198.51.100.2 \
         (seen leaving with source 10.244.0.213: NAT missing?)"
    );
    assert_eq!(evidence.len(), 2);
}

#[test]
fn nothing_sent_and_wrong_order_and_counts() {
    let message = failure(&query(), &[]);
    assert!(message.starts_with("never leaving pod:eth0 (icmp 10.244.0.213 -> 203.0.113.10)"));
    assert!(message.contains("was the traffic sent?"));
    // A hop seen only BEFORE the previous one does not count.
    let evs = [
        ev("node:lxc", Direction::Ingress, POD, 1),
        ev("pod:eth0", Direction::Egress, POD, 2),
    ];
    let message = failure(&query(), &evs);
    assert!(message.contains("never entering node:lxc"), "{message}");
    assert!(
        message.contains("route or forwarding missing?"),
        "{message}"
    );
    let mut q = query();
    q.count = CountExpr::parse("== 2").expect("count");
    let evs = [
        ev("pod:eth0", Direction::Egress, POD, 1),
        ev("node:lxc", Direction::Ingress, POD, 2),
    ];
    let message = failure(&q, &evs);
    assert!(
        message.contains("1 icmp packet leaving pod:eth0"),
        "{message}"
    );
    assert!(message.ends_with("expected == 2"), "{message}");
}

#[test]
fn french_sentences_with_typography_and_plurals() {
    use tplab_vocab::Lang;
    let evs = [
        ev("pod:eth0", Direction::Egress, POD, 1),
        ev("node:lxc", Direction::Ingress, POD, 2),
        ev("node:eth0", Direction::Egress, POD, 3),
    ];
    let o = super::evaluate_path_in(&query(), &evs, Lang::Fr);
    assert_eq!(
        o.expected,
        "ICMP 10.244.0.213 -> 203.0.113.10 vu pod:eth0 egress, puis node:lxc ingress, \
         puis node:eth0 egress en moins de 10\u{a0}s"
    );
    assert_eq!(
        o.found,
        "vu sur pod:eth0 et node:lxc, mais aucun paquet sortant de node:eth0 avec la source \
         198.51.100.2 (vu sortant avec la source 10.244.0.213\u{202f}: NAT manquante\u{202f}?)"
    );
    let ok = [
        ev("pod:eth0", Direction::Egress, POD, 1),
        ev("node:lxc", Direction::Ingress, POD, 2),
        ev("node:eth0", Direction::Egress, NODE, 3),
    ];
    let o = super::evaluate_path_in(&query(), &ok, Lang::Fr);
    assert_eq!(o.found, "3 paquets observés sur le chemin");
    let o = super::evaluate_path_in(&query(), &ok[..0], Lang::Fr);
    assert!(
        o.found.contains("le trafic a-t-il été envoyé\u{202f}?"),
        "{}",
        o.found
    );
}

#[test]
fn queries_reject_unknown_keys_and_bad_values() {
    let bad = "{proto: icmp, src: 10.244.0.213, dst: 203.0.113.10, path: [], colour: red}";
    assert!(serde_yaml::from_str::<PathQuery>(bad).is_err());
    let bad = "{proto: icmp, src: 10.244.0.213, dst: 203.0.113.10, path: [{at: x, dir: up}]}";
    assert!(serde_yaml::from_str::<PathQuery>(bad).is_err());
    let bad = "{proto: icmp, src: 10.244.0.213, dst: 203.0.113.10, count: 'about 3', path: []}";
    let err = serde_yaml::from_str::<PathQuery>(bad).expect_err("bad count");
    assert!(err.to_string().contains("invalid comparison"), "{err}");
    let q: PathQuery = serde_yaml::from_str(
        "{proto: tcp, src: 10.244.0.213, dst: 203.0.113.10, dport: 80, count: 3, path: []}",
    )
    .expect("defaults");
    assert_eq!(q.within, std::time::Duration::from_secs(10));
    assert_eq!(
        q.count,
        CountExpr {
            op: CountOp::Eq,
            value: 3.0
        }
    );
    // No hop at all is the lab's mistake (lint refuses it), not the student's.
    assert_eq!(evaluate_path(&q, &[]).verdict, Verdict::Error);
}

#[test]
fn counts_and_durations_parse() {
    for (text, n, ok) in [
        (">= 1", 1, true),
        ("200", 200, true),
        ("< 5", 5, false),
        ("==0", 0, true),
    ] {
        assert_eq!(
            CountExpr::parse(text).expect(text).holds_count(n),
            ok,
            "{text}"
        );
    }
    assert!(CountExpr::parse("lots").is_err());
    assert_eq!(
        parse_duration("500ms"),
        Ok(std::time::Duration::from_millis(500))
    );
    assert_eq!(
        parse_duration("2m"),
        Ok(std::time::Duration::from_secs(120))
    );
    assert_eq!(parse_duration("10"), Ok(std::time::Duration::from_secs(10)));
    assert!(parse_duration("soon").is_err());
    // One duration grammar for every check kind: hours are fine here too.
    assert_eq!(
        parse_duration("1h"),
        Ok(std::time::Duration::from_secs(3600))
    );
}

fn entry(proto: Proto, dst: Ipv4Addr) -> CtEntry {
    CtEntry {
        proto,
        direction: CtDirection::Out,
        related: false,
        service: false,
        src: POD,
        dst,
        sport: 51724,
        dport: 0,
        expires: 0,
        packets: 1,
        bytes: 98,
        rx_flags_seen: 0,
        last_rx_report: 0,
        tx_flags_seen: 0,
        last_tx_report: 0,
        flags: 0,
        rev_nat: 0,
        source_security_id: 42837,
        ifindex: 0,
        backend_id: 0,
    }
}

#[test]
fn ct_query_finds_or_explains() {
    let entries = [entry(Proto::Icmp, WORLD), entry(Proto::Tcp, NODE)];
    let q = CtQuery {
        proto: Proto::Icmp,
        src: Some(POD),
        dst: Some(WORLD),
        dport: None,
        direction: Some(CtDirection::Out),
        related: false,
    };
    assert_eq!(find_ct_entry(&q, &entries).expect("found").dst, WORLD);
    let q = CtQuery {
        proto: Proto::Tcp,
        dst: Some(WORLD),
        ..q
    };
    let err = find_ct_entry(&q, &entries).expect_err("missing");
    assert!(
        err.contains("TCP OUT 10.244.0.213 -> 203.0.113.10"),
        "{err}"
    );
    assert!(err.contains("10.244.0.213 -> 198.51.100.2"), "{err}");
    assert!(find_ct_entry(&q, &[]).expect_err("empty").contains("empty"));
    let yaml = "{proto: icmp, dst: 203.0.113.10, direction: out}";
    assert!(serde_yaml::from_str::<CtQuery>(yaml).is_ok());
    assert!(serde_yaml::from_str::<CtQuery>("{proto: icmp, dest: 1.2.3.4}").is_err());
}

#[test]
fn capturable_ct_fields_are_fields_of_an_entry() {
    let json = serde_json::to_value(entry(Proto::Icmp, WORLD)).expect("json");
    for field in CT_ENTRY_FIELDS {
        assert!(json.get(field).is_some(), "{field} is not a CtEntry field");
    }
}

#[test]
fn a_hop_may_assert_that_nothing_passes() {
    let q: PathQuery = serde_yaml::from_str(
        "{proto: icmp, src: 10.244.0.213, dst: 203.0.113.10, path: [{at: 'pod:eth0', dir: egress}, {at: 'node:eth1', dir: egress, count: '== 0'}]}",
    )
    .expect("query");
    assert!(q.asserts_absence());
    let out = ev("pod:eth0", Direction::Egress, POD, 1);
    assert!(evaluate_path(&q, std::slice::from_ref(&out)).passed());
    let leak = ev("node:eth1", Direction::Egress, POD, 2);
    assert!(!evaluate_path(&q, &[out, leak]).passed());
    // An absence can only be judged once the window closed: no early pass.
    let mut watch = PathWatch::new(&q);
    assert!(!watch.feed([ev("pod:eth0", Direction::Egress, POD, 1)]));
}

fn tcp(label: &str, dir: Direction, dst: Ipv4Addr, dport: u16, ts: u64) -> PacketEvent {
    PacketEvent {
        proto: Proto::Tcp,
        dst,
        sport: 40000,
        dport,
        icmp_type: None,
        icmp_code: None,
        icmp_id: None,
        ..ev(label, dir, POD, ts)
    }
}

const SERVICE: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 10);

fn dnat_query(extra: &str) -> PathQuery {
    let q: PathQuery = serde_yaml::from_str(&format!(
        "{{proto: tcp, src: 10.244.0.213, dst: 10.96.0.10, dport: 8080, path: [\
         {{at: 'pod:eth0', dir: egress}}, \
         {{at: 'node:lxc', dir: egress, dst: 203.0.113.10, dport: 80}}{extra}]}}"
    ))
    .expect("valid query");
    q.validate().expect("valid");
    q
}

#[test]
fn hops_match_ports_through_a_dnat() {
    let q = dnat_query("");
    let through = [
        tcp("pod:eth0", Direction::Egress, SERVICE, 8080, 1),
        tcp("node:lxc", Direction::Egress, WORLD, 80, 2),
    ];
    assert!(evaluate_path(&q, &through).passed());
    // The DNAT rewrote the address but not the port: the hop names what it saw.
    let wrong_port = [
        tcp("pod:eth0", Direction::Egress, SERVICE, 8080, 1),
        tcp("node:lxc", Direction::Egress, WORLD, 8080, 2),
    ];
    let msg = failure(&q, &wrong_port);
    assert!(msg.contains("to port 80"), "{msg}");
    assert!(msg.contains("seen leaving to port 8080 instead"), "{msg}");
}

#[test]
fn absent_hops_and_contradictions() {
    let q = dnat_query(", {at: 'node:eth0', dir: egress, absent: true}");
    assert!(q.asserts_absence());
    let ok = [
        tcp("pod:eth0", Direction::Egress, SERVICE, 8080, 1),
        tcp("node:lxc", Direction::Egress, WORLD, 80, 2),
    ];
    assert!(evaluate_path(&q, &ok).passed());
    // The request leaving without its DNAT.
    let mut leak = ok.to_vec();
    leak.push(tcp("node:eth0", Direction::Egress, SERVICE, 8080, 3));
    let msg = failure(&q, &leak);
    assert!(msg.contains("leaving node:eth0"), "{msg}");
    for (body, says) in [
        (
            "{proto: icmp, src: 1.1.1.1, dst: 2.2.2.2, path: [{at: 'a:b', dir: egress, absent: true, count: '>= 1'}]}",
            "`absent: true` and `count` together",
        ),
        (
            "{proto: icmp, src: 1.1.1.1, dst: 2.2.2.2, path: [{at: 'a:b', dir: egress, absent: true}]}",
            "would pass without any traffic",
        ),
        (
            "{proto: icmp, src: 1.1.1.1, dst: 2.2.2.2, dport: 80, path: [{at: 'a:b', dir: egress}]}",
            "only exist for tcp and udp",
        ),
        (
            "{proto: icmp, src: 1.1.1.1, dst: 2.2.2.2, path: [{at: 'eth0', dir: egress}]}",
            "expected `role:interface`",
        ),
    ] {
        let q: PathQuery = serde_yaml::from_str(body).expect(body);
        let err = q.validate().expect_err(body);
        assert!(err.contains(says), "{body}: {err}");
        assert_eq!(evaluate_path(&q, &[]).verdict, Verdict::Error, "{body}");
    }
}

#[test]
fn captures_read_the_first_packet_of_a_hop() {
    let q = dnat_query(", {at: 'node:eth0', dir: egress, absent: true}");
    let evs = [
        tcp("pod:eth0", Direction::Egress, SERVICE, 8080, 1),
        PacketEvent {
            ifname: "lxc1234".into(),
            ..tcp("node:lxc", Direction::Egress, WORLD, 80, 2)
        },
    ];
    let o = evaluate_path(&q, &evs);
    assert!(o.passed(), "{o:?}");
    assert_eq!(captured(&q, &o, "dport").as_deref(), Ok("8080"));
    assert_eq!(captured(&q, &o, "sport").as_deref(), Ok("40000"));
    assert_eq!(
        captured(&q, &o, "path[1].dst").as_deref(),
        Ok("203.0.113.10")
    );
    assert_eq!(captured(&q, &o, "path[1].ifname").as_deref(), Ok("lxc1234"));
    for (field, says) in [
        ("path[2].src", "may see no packet"),
        ("path[3].src", "has 3 hop(s)"),
        ("path[x].src", "not a hop number"),
        ("mac", "no field `mac`"),
    ] {
        let err = q.capture_source(field).expect_err(field);
        assert!(err.contains(says), "{field}: {err}");
    }
}

fn flagged(label: &str, dir: Direction, flags: u8, ts: u64) -> PacketEvent {
    PacketEvent {
        tcp_flags: flags,
        ..tcp(label, dir, WORLD, 80, ts)
    }
}

#[test]
fn tcp_flags_tell_an_answer_from_a_refusal() {
    // The server's answer: a SYN/ACK leaving world, from port 80 back to the pod.
    let q: PathQuery = serde_yaml::from_str(
        "{proto: tcp, src: 10.244.0.213, dst: 203.0.113.10, dport: 80, path: [\
         {at: 'pod:eth0', dir: egress, flags: [syn], not_flags: ack}, \
         {at: 'world:eth0', dir: egress, src: 203.0.113.10, dst: 10.244.0.213, sport: 80, \
          dport: 40000, flags: [syn, ack], not_flags: [rst]}]}",
    )
    .expect("valid query");
    q.validate().expect("valid");
    assert!(
        q.describe()
            .contains("world:eth0 egress [SYN,ACK] [no RST]"),
        "{}",
        q.describe()
    );
    let answer = |flags: u8| PacketEvent {
        src: WORLD,
        dst: POD,
        sport: 80,
        dport: 40000,
        ..flagged("world:eth0", Direction::Egress, flags, 2)
    };
    let syn = flagged("pod:eth0", Direction::Egress, 0x02, 1);
    let o = evaluate_path(&q, &[syn.clone(), answer(0x12)]);
    assert!(o.passed(), "{o:?}");
    assert_eq!(hops(&o)[1].packet.as_ref().unwrap().flags, "SYN,ACK");
    // Nobody listening: the kernel answers RST/ACK, which is no answer.
    let msg = failure(&q, &[syn, answer(0x14)]);
    assert!(msg.contains("with flags [SYN,ACK] without [RST]"), "{msg}");
    assert!(
        msg.contains("seen leaving with flags [RST,ACK] instead"),
        "{msg}"
    );
}

#[test]
fn tcp_flags_need_tcp_and_no_contradiction() {
    let read = |y: &str| serde_yaml::from_str::<PathQuery>(y).expect("parses");
    let icmp = read(
        "{proto: icmp, src: 1.1.1.1, dst: 2.2.2.2, flags: [syn], path: [{at: 'a:b', dir: egress}]}",
    );
    assert!(icmp.validate().unwrap_err().contains("only exist for tcp"));
    let both = read(
        "{proto: tcp, src: 1.1.1.1, dst: 2.2.2.2, flags: [syn], path: [{at: 'a:b', dir: egress, not_flags: [syn, rst]}]}",
    );
    assert!(both.validate().unwrap_err().contains("SYN both required"));
    assert!(
        serde_yaml::from_str::<PathQuery>(
            "{proto: tcp, src: 1.1.1.1, dst: 2.2.2.2, flags: [synack], path: []}"
        )
        .is_err()
    );
}

/// The query with its last hop replaced by `hop` (YAML).
fn query_with_last(hop: &str) -> PathQuery {
    serde_yaml::from_str(&format!(
        "{{proto: icmp, src: 10.244.0.213, dst: 203.0.113.10, within: 10s, path: [\
         {{at: 'pod:eth0', dir: egress}}, {{at: 'node:lxc', dir: ingress}}, {hop}]}}"
    ))
    .expect("valid query")
}

#[test]
fn settled_when_an_at_least_path_passes_not_before() {
    let q = query();
    let mut evs = vec![
        ev("pod:eth0", Direction::Egress, POD, 1),
        ev("node:lxc", Direction::Ingress, POD, 2),
    ];
    assert!(!settled(&q, &evs), "the last hop may still come");
    evs.push(ev("node:eth0", Direction::Egress, NODE, 3));
    assert!(settled(&q, &evs));
    assert!(evaluate_path(&q, &evs).passed());
}

#[test]
fn absent_hop_settles_only_when_broken() {
    let q = query_with_last("{at: 'node:eth0', dir: egress, src: 198.51.100.2, absent: true}");
    let mut evs = vec![
        ev("pod:eth0", Direction::Egress, POD, 1),
        ev("node:lxc", Direction::Ingress, POD, 2),
    ];
    // Passing so far, but a late packet could still break it: wait the window out.
    assert!(evaluate_path(&q, &evs).passed());
    assert!(!settled(&q, &evs));
    evs.push(ev("node:eth0", Direction::Egress, NODE, 3));
    assert!(
        settled(&q, &evs),
        "a packet where none may pass decides the failure"
    );
    assert_eq!(evaluate_path(&q, &evs).verdict, Verdict::Fail);
}

#[test]
fn exact_counts_settle_only_once_exceeded() {
    let q = query_with_last("{at: 'node:eth0', dir: egress, src: 198.51.100.2, count: '== 2'}");
    let mut evs = vec![
        ev("pod:eth0", Direction::Egress, POD, 1),
        ev("node:lxc", Direction::Ingress, POD, 2),
        ev("node:eth0", Direction::Egress, NODE, 3),
    ];
    assert!(!settled(&q, &evs), "one of two: may still pass");
    evs.push(ev("node:eth0", Direction::Egress, NODE, 4));
    assert!(evaluate_path(&q, &evs).passed());
    assert!(!settled(&q, &evs), "a third packet would break `== 2`");
    evs.push(ev("node:eth0", Direction::Egress, NODE, 5));
    assert!(settled(&q, &evs));
    assert_eq!(evaluate_path(&q, &evs).verdict, Verdict::Fail);
}

#[test]
fn a_broken_hop_after_an_unseen_one_is_not_settled() {
    // The lxc hop has not been seen yet: when it is, it re-anchors what follows.
    let q = query_with_last("{at: 'node:eth0', dir: egress, src: 198.51.100.2, absent: true}");
    let evs = vec![
        ev("pod:eth0", Direction::Egress, POD, 1),
        ev("node:eth0", Direction::Egress, NODE, 3),
    ];
    assert!(!settled(&q, &evs));
}
