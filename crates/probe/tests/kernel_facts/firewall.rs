//! Firewall facts of a netns loaded with `iptables-restore` must equal what
//! `iptables-save -c` and `ip6tables-save -c` print: every chain, rule option and
//! counter, before and after more traffic. Namespaces are `fwt-*` (never `tplab-*`,
//! which other tools sweep) and deleted on every exit path by [`Topo`]'s drop.

use std::time::Instant;

use tplab_testkit::{Failed, check, fail};

use crate::iptsave::{self, ChainRow, Row};
use crate::support::{Rng, Topo, same_set, sh};

const RULES_V4: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/firewall/ruleset.v4"
);
const RULES_V6: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/firewall/ruleset.v6"
);

fn reference(ns: &str) -> Result<(Vec<ChainRow>, Vec<Row>), Failed> {
    let text = sh(ns, "iptables-save -c && ip6tables-save -c")?;
    iptsave::parse(&text).map_err(|e| fail(format!("parsing iptables-save: {e}\n{text}")))
}

fn compare(ns: &str, fw: &tplab_probe::Firewall) -> Result<(), Failed> {
    let (chains, rules) = iptsave::ours(fw);
    let (ref_chains, ref_rules) = reference(ns)?;
    same_set("chains", chains, ref_chains)?;
    same_set("rules", rules, ref_rules)
}

fn traffic(rng: &mut Rng, ns: &str) -> Result<u64, Failed> {
    let pings = rng.range(1, 4);
    // INPUT drops the UDP datagrams ("x y" rule) and accepts the pings on lo; a ping
    // without an answer is fine, the counters are what is checked.
    let _ = sh(ns, &format!("ping -c {pings} -i 0.01 -W 1 127.0.0.1"));
    let _ = sh(ns, "ping -6 -c 1 -W 1 ::1");
    let udp = rng.range(1, 3);
    for _ in 0..udp {
        sh(ns, "bash -c 'echo x > /dev/udp/127.0.0.1/5353'")?;
    }
    Ok(udp)
}

pub fn firewall_equals_iptables_save() -> Result<(), Failed> {
    let mut rng = Rng::new();
    let topo = Topo::new(&mut rng, 1, "fwt-")?;
    let ns = topo.ns(0);
    sh(
        ns,
        &format!("iptables-restore < {RULES_V4} && ip6tables-restore < {RULES_V6}"),
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(fail)?;
    let path = topo.path(0);

    let mut dropped = 0;
    for round in 0..2 {
        dropped += traffic(&mut rng, ns)?;
        let started = Instant::now();
        let fw = rt
            .block_on(tplab_probe::collect_firewall(Some(&path)))
            .map_err(|e| fail(format!("collect_firewall: {e}")))?;
        eprintln!(
            "round {round}: {} chains, {} rules dumped and decoded in {:?}",
            fw.chains.len(),
            fw.rules.len(),
            started.elapsed()
        );
        compare(ns, &fw)?;
        let drop = fw
            .rules
            .iter()
            .find(|r| r.comment.as_deref() == Some("x y"))
            .ok_or_else(|| fail("no `x y` rule"))?;
        check!(
            drop.packets == Some(dropped) && drop.target.as_deref() == Some("DROP"),
            "the DROP rule counted {:?}, expected {dropped}",
            drop.packets
        );
        // Handles are unique per table.
        let mut keys: Vec<_> = fw
            .rules
            .iter()
            .map(|r| (&r.family, &r.table, r.handle))
            .collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        check!(keys.len() == n, "duplicate rule handles");
        check!(
            fw.legacy_tables.is_empty(),
            "legacy tables: {:?}",
            fw.legacy_tables
        );
    }

    // The blocking form sees the same thing; a flushed ruleset is empty, not an error.
    let sync = tplab_probe::collect_firewall_sync(Some(&path)).map_err(fail)?;
    compare(ns, &sync)?;
    sh(
        ns,
        "iptables -F && iptables -t nat -F && ip6tables -F && ip6tables -t nat -F",
    )?;
    let flushed = tplab_probe::collect_firewall_sync(Some(&path)).map_err(fail)?;
    check!(flushed.rules.is_empty(), "rules left: {:?}", flushed.rules);
    compare(ns, &flushed)
}

pub fn missing_netns_firewall_is_not_found() -> Result<(), Failed> {
    let path = tplab_netns::path_of("fwt-does-not-exist");
    match tplab_probe::collect_firewall_sync(Some(&path)) {
        Err(tplab_probe::ProbeError::NetnsNotFound { .. }) => Ok(()),
        other => Err(fail(format!("expected NetnsNotFound, got {other:?}"))),
    }
}

/// While another process keeps committing a new chain *and* a rule jumping to it in one
/// transaction (`iptables-restore --noflush`), every dump
/// is one generation of the ruleset: no rule jumps to a chain the chain dump missed
/// (what a chain dump and a rule dump taken across a commit would show).
pub fn dump_is_consistent_while_rules_change() -> Result<(), Failed> {
    let mut rng = Rng::new();
    let topo = Topo::new(&mut rng, 1, "fwt-")?;
    let ns = topo.ns(0).to_string();
    let path = topo.path(0);
    sh(&ns, "iptables -L -n >/dev/null")?;
    let writer = std::thread::spawn(move || {
        sh(
            &ns,
            "for i in $(seq 1 100); do printf '*filter\\n:C%s - [0:0]\\n-A INPUT -j C%s\\nCOMMIT\\n' $i $i | iptables-restore --noflush || exit 1; done",
        )
    });
    let mut dumps = 0;
    let mut sizes = Vec::new();
    while !writer.is_finished() {
        let fw = tplab_probe::collect_firewall_sync(Some(&path)).map_err(fail)?;
        for r in &fw.rules {
            if r.verdict.as_deref() == Some("jump") {
                check!(
                    fw.chains
                        .iter()
                        .any(|c| Some(&c.name) == r.target.as_ref() && c.table == r.table),
                    "rule jumps to {:?}, absent from the chain dump",
                    r.target
                );
            }
        }
        for c in &fw.chains {
            let n = fw
                .rules
                .iter()
                .filter(|r| r.table == c.table && r.chain == c.name)
                .count();
            check!(
                n == c.rules,
                "chain {} counts {} rules, {n} listed",
                c.name,
                c.rules
            );
        }
        sizes.push(fw.rules.len());
        dumps += 1;
    }
    writer.join().map_err(|_| fail("writer panicked"))??;
    sizes.dedup();
    eprintln!(
        "{dumps} dumps during the changes, {} distinct rule counts",
        sizes.len()
    );
    check!(
        dumps > 5 && sizes.len() > 2,
        "the dumps did overlap the changes"
    );
    Ok(())
}

/// Rules loaded with iptables-*legacy* are invisible to `nf_tables`: the namespace's
/// legacy tables are at least named, so a check can say why it sees no rule.
pub fn legacy_tables_are_named() -> Result<(), Failed> {
    let mut rng = Rng::new();
    let topo = Topo::new(&mut rng, 1, "fwt-")?;
    let ns = topo.ns(0);
    let path = topo.path(0);
    let before = tplab_probe::collect_firewall_sync(Some(&path)).map_err(fail)?;
    check!(
        before.legacy_tables.is_empty(),
        "{:?}",
        before.legacy_tables
    );
    if sh(ns, "iptables-legacy -t nat -A POSTROUTING -j MASQUERADE").is_err() {
        eprintln!("iptables-legacy unavailable: nothing more to check");
        return Ok(());
    }
    let after = tplab_probe::collect_firewall_sync(Some(&path)).map_err(fail)?;
    check!(
        after.legacy_tables.contains(&"ip nat".to_string()) && after.rules.is_empty(),
        "legacy tables {:?}, rules {:?}",
        after.legacy_tables,
        after.rules
    );
    Ok(())
}
