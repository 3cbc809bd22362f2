//! `net.*` sysctls read by tplab in a netns must equal `ip netns exec NS sysctl`, and
//! differ from the host's where the test made them differ — proof the values are the
//! namespace's own. Only the test's `fwt-*` namespace is ever written to; the host's
//! sysctls are only read.

use std::collections::BTreeMap;

use tplab_testkit::{Failed, check, fail};

use crate::support::{Rng, Topo, sh};

fn host(name: &str) -> Result<String, Failed> {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    std::fs::read_to_string(&path)
        .map(|s| s.trim_end().to_string())
        .map_err(|e| fail(format!("{path}: {e}")))
}

pub fn sysctls_are_per_netns() -> Result<(), Failed> {
    let mut rng = Rng::new();
    let topo = Topo::new(&mut rng, 1, "fwt-")?;
    let ns = topo.ns(0);
    let path = topo.path(0);

    let forward = if host("net.ipv4.ip_forward")? == "1" {
        "0"
    } else {
        "1"
    };
    let host_ttl: u64 = host("net.ipv4.ip_default_ttl")?.parse().map_err(fail)?;
    let mut ttl = rng.range(2, 250);
    if ttl == host_ttl {
        ttl += 1;
    }
    sh(
        ns,
        &format!("sysctl -qw net.ipv4.ip_forward={forward} net.ipv4.ip_default_ttl={ttl}"),
    )?;

    let names: Vec<String> = [
        "net.ipv4.ip_forward",
        "net.ipv4.ip_default_ttl",
        "net.ipv4.conf.lo.rp_filter",
        "net.ipv4.tcp_rmem",
        "net.ipv4.no_such_sysctl",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(fail)?;
    let got = rt
        .block_on(tplab_probe::read_sysctls(Some(&path), &names))
        .map_err(fail)?;
    let got: BTreeMap<_, _> = got.into_iter().map(|s| (s.name, s.value)).collect();
    check!(
        !got.contains_key("net.ipv4.no_such_sysctl"),
        "a missing sysctl is left out"
    );
    for name in &names[..4] {
        let theirs = sh(ns, &format!("sysctl -n {name}"))?;
        check!(
            got.get(name).map(String::as_str) == Some(theirs.trim_end()),
            "{name}: tplab {:?}, sysctl {theirs:?}",
            got.get(name)
        );
    }
    check!(
        got["net.ipv4.ip_forward"] == forward,
        "ip_forward in the netns"
    );
    check!(
        got["net.ipv4.ip_default_ttl"] == ttl.to_string(),
        "ttl in the netns"
    );
    check!(
        host("net.ipv4.ip_forward")? != forward,
        "the host's ip_forward is untouched"
    );
    check!(
        host("net.ipv4.ip_default_ttl")? != ttl.to_string(),
        "the host's ttl is untouched"
    );

    // The full dump equals `sysctl -a` restricted to net.* (names and values; procps hides
    // the deprecated `base_reachable_time` / `retrans_time` unless asked).
    let all = tplab_probe::read_all_net_sysctls_sync(Some(&path)).map_err(fail)?;
    let ours: BTreeMap<_, _> = all.into_iter().map(|s| (s.name, s.value)).collect();
    let text = sh(ns, "sysctl -a --deprecated 2>/dev/null")?;
    let theirs: BTreeMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .filter(|(k, _)| k.starts_with("net."))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let differ: Vec<_> = theirs
        .iter()
        .filter(|(k, v)| ours.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}: sysctl {v:?}, tplab {:?}", ours.get(k)))
        .chain(
            ours.keys()
                .filter(|k| !theirs.contains_key(*k))
                .map(|k| format!("{k}: only tplab")),
        )
        .collect();
    check!(
        differ.is_empty(),
        "net.* dump differs:\n{}",
        differ.join("\n")
    );
    check!(ours.len() > 100, "only {} net.* sysctls", ours.len());
    eprintln!("{} net.* sysctls in the netns", ours.len());
    Ok(())
}
