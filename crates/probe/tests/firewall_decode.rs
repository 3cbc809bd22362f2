//! The `nf_tables` decoder on real dump bytes (no root needed): messages captured from a
//! netns loaded with `fixtures/firewall/ruleset.v4` + `ruleset.v6` (iptables-nft) and
//! `native.nft` (nft), see `fixtures/firewall/README.md`.

#[path = "kernel_facts/iptsave.rs"]
mod iptsave;

use serde_json::json;
use tplab_probe::firewall::decode_messages;
use tplab_probe::{Firewall, FirewallRule};

fn messages(hex: &str) -> Vec<Vec<u8>> {
    hex.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect()
}

fn iptables() -> Vec<Vec<u8>> {
    messages(include_str!("fixtures/firewall/iptables.hex"))
}

fn native() -> Vec<Vec<u8>> {
    messages(include_str!("fixtures/firewall/native.hex"))
}

fn find<'a>(fw: &'a Firewall, table: &str, chain: &str, position: usize) -> &'a FirewallRule {
    fw.rules
        .iter()
        .find(|r| r.table == table && r.chain == chain && r.position == position)
        .unwrap_or_else(|| panic!("no rule {table}/{chain}#{position}"))
}

#[test]
fn fixture_agrees_with_its_iptables_save() {
    let fw = decode_messages(&iptables());
    let (mut chains, mut rules) = iptsave::ours(&fw);
    let (mut ref_chains, mut ref_rules) =
        iptsave::parse(include_str!("fixtures/firewall/iptables.save")).unwrap();
    for v in [&mut chains, &mut ref_chains] {
        v.sort();
    }
    rules.sort();
    ref_rules.sort();
    assert_eq!(chains, ref_chains);
    for (ours, theirs) in rules.iter().zip(&ref_rules) {
        assert_eq!(ours, theirs);
    }
    assert_eq!(rules.len(), ref_rules.len());
    assert_eq!(rules.len(), 37);
}

#[test]
fn masquerade_rule_is_a_flat_record() {
    let fw = decode_messages(&iptables());
    let masq = find(&fw, "nat", "POSTROUTING", 1);
    let v = serde_json::to_value(masq).unwrap();
    assert_eq!(
        v,
        json!({
            "family": "ip", "table": "nat", "chain": "POSTROUTING",
            "handle": masq.handle, "position": 1,
            "src": "10.244.0.0/16", "dst": "!10.244.0.0/16", "proto": null,
            "sport": null, "dport": null, "in": null, "out": "!cilium_+", "mark": null,
            "target": "MASQUERADE", "verdict": null, "to": null, "target_options": [],
            "comment": null, "packets": 0, "bytes": 0, "matches": [], "unknown": []
        })
    );
}

#[test]
fn brief_rules_decode() {
    let fw = decode_messages(&iptables());
    let dnat = find(&fw, "nat", "PREROUTING", 1);
    assert_eq!(
        (
            dnat.dst.as_deref(),
            dnat.proto.as_deref(),
            dnat.dport.as_deref()
        ),
        (Some("10.96.0.10/32"), Some("tcp"), Some("8080"))
    );
    assert_eq!(
        (dnat.target.as_deref(), dnat.to.as_deref()),
        (Some("DNAT"), Some("203.0.113.10:80"))
    );
    let fwd = find(&fw, "filter", "FORWARD", 1);
    assert_eq!(
        (
            fwd.in_iface.as_deref(),
            fwd.proto.as_deref(),
            fwd.sport.as_deref()
        ),
        (Some("eth0"), Some("udp"), Some("53"))
    );
    let jump = find(&fw, "nat", "OUTPUT", 1);
    assert_eq!(
        (jump.target.as_deref(), jump.verdict.as_deref()),
        (Some("KUBE-SERVICES"), Some("jump"))
    );
    let drop = find(&fw, "filter", "INPUT", 2);
    assert_eq!(
        (drop.comment.as_deref(), drop.target.as_deref()),
        (Some("x y"), Some("DROP"))
    );
    assert_eq!((drop.packets, drop.bytes), (Some(2), Some(60)));
    let snat = find(&fw, "nat", "POSTROUTING", 3);
    assert_eq!(snat.to.as_deref(), Some("198.51.100.2"));
    let range = find(&fw, "filter", "INPUT", 3);
    assert_eq!(range.dport.as_deref(), Some("1024:65535"));
    let goto = find(&fw, "filter", "FORWARD", 2);
    assert_eq!(goto.verdict.as_deref(), Some("goto"));
    let flags = find(&fw, "filter", "INPUT", 11);
    assert_eq!(flags.unknown, ["payload @th+13/1 & 12 == 02"]);
    let ct = find(&fw, "filter", "INPUT", 8);
    assert_eq!(ct.matches, ["conntrack"]);
    let v6 = fw
        .rules
        .iter()
        .find(|r| r.family == "ip6" && r.target.as_deref() == Some("DNAT"))
        .unwrap();
    assert_eq!(v6.to.as_deref(), Some("[2001:db8::1]:8080"));
    let user = fw
        .chains
        .iter()
        .find(|c| c.name == "KUBE-SERVICES")
        .unwrap();
    assert_eq!(
        (user.hook.as_deref(), user.policy.as_deref(), user.rules),
        (None, None, 1)
    );
    let input = fw
        .chains
        .iter()
        .find(|c| c.family == "ip" && c.table == "filter" && c.name == "INPUT")
        .unwrap();
    assert_eq!(
        (
            input.hook.as_deref(),
            input.priority,
            input.chain_type.as_deref()
        ),
        (Some("input"), Some(0), Some("filter"))
    );
}

#[test]
fn native_nft_expressions() {
    let fw = decode_messages(&native());
    let rule = |table: &str, chain: &str, pos| find(&fw, table, chain, pos).clone();
    let lo = rule("fw", "input", 1);
    assert_eq!(
        (
            lo.family.as_str(),
            lo.in_iface.as_deref(),
            lo.comment.as_deref()
        ),
        ("inet", Some("lo"), Some("loopback"))
    );
    assert_eq!(lo.packets, None, "no counter expression in that rule");
    // `meta nfproto ipv4` is implied by the address match, not listed.
    let ssh = rule("fw", "input", 2);
    assert_eq!(ssh.src.as_deref(), Some("10.0.0.0/8"));
    assert!(ssh.unknown.is_empty(), "{:?}", ssh.unknown);
    assert_eq!(rule("fw", "input", 3).src.as_deref(), Some("2001:db8::/32"));
    assert_eq!(
        rule("fw", "input", 4).unknown,
        ["payload @th+2/2 in set __set0"]
    );
    assert_eq!(
        rule("fw", "input", 5).unknown,
        ["ct state & 06000000 != 00000000"]
    );
    let logged = rule("fw", "input", 6);
    assert_eq!(
        (
            logged.mark.as_deref(),
            logged.target.as_deref(),
            logged.unknown.as_slice()
        ),
        (Some("0x10"), Some("DROP"), ["log".to_string()].as_slice())
    );
    let reject = rule("fw", "input", 7);
    assert_eq!(reject.target_options, ["--reject-with tcp-reset"]);
    assert_eq!(reject.unknown, ["payload @th+2/2 >= 0400"]);

    let dnat = rule("natv", "pre", 1);
    assert_eq!(
        (
            dnat.target.as_deref(),
            dnat.to.as_deref(),
            dnat.comment.as_deref()
        ),
        (Some("DNAT"), Some("203.0.113.10:80"), Some("svc"))
    );
    assert_eq!(rule("natv", "pre", 2).to.as_deref(), Some("8081"));
    let masq = rule("natv", "post", 1);
    assert_eq!(
        (
            masq.target.as_deref(),
            masq.out_iface.as_deref(),
            masq.target_options.as_slice()
        ),
        (
            Some("MASQUERADE"),
            Some("!cilium_+"),
            ["--random".to_string()].as_slice()
        )
    );
    let snat = rule("natv", "post", 2);
    assert_eq!(
        snat.to.as_deref(),
        Some("198.51.100.2-198.51.100.5:1000-2000")
    );
    assert_eq!(snat.target_options, ["--persistent"]);
    assert_eq!(
        rule("natv", "post", 3).target_options,
        ["--set-xmark 0x4000/0xffffffff"]
    );
    let v6 = rule("nat6", "post", 1);
    assert_eq!(
        (v6.src.as_deref(), v6.to.as_deref()),
        (Some("fd00::/8"), Some("[2001:db8::5]:1000"))
    );
    let policy = fw.chains.iter().find(|c| c.table == "fw").unwrap();
    assert_eq!(policy.policy.as_deref(), Some("DROP"));
}

/// Every prefix of every real message (as ctparse's tests do): no panic, at most the
/// one record the whole message holds.
#[test]
fn every_truncation_is_safe() {
    for msg in iptables().iter().chain(&native()) {
        for cut in 0..=msg.len() {
            let fw = decode_messages(&[&msg[..cut]]);
            assert!(fw.rules.len() + fw.chains.len() <= 1);
        }
    }
}

/// Each byte of each message inverted, and a header length that lies: no panic.
#[test]
fn corrupted_bytes_are_safe() {
    for msg in iptables().iter().chain(&native()) {
        for i in 0..msg.len() {
            let mut bad = msg.clone();
            bad[i] ^= 0xff;
            let _ = decode_messages(&[&bad]);
            bad[i] = 0;
            let _ = decode_messages(&[&bad]);
        }
        let mut long = msg.clone();
        long[..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        let _ = decode_messages(&[&long]);
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        let len = usize::try_from(x % 300).unwrap();
        let mut m = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            m.push(u8::try_from(x & 0xff).unwrap());
        }
        // A plausible header so the garbage reaches the rule decoder.
        if m.len() >= 20 {
            m[4..6].copy_from_slice(&((10u16 << 8) | 6).to_ne_bytes());
        }
        let _ = decode_messages(&[&m]);
    }
    assert_eq!(decode_messages::<&[u8]>(&[]), Firewall::default());
}
