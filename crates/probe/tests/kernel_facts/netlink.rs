//! Links, addresses, routes and neighbours of randomised topologies must equal what
//! `ip -j` reports for the same namespaces.

use serde_json::Value;
use tplab_probe::{FactKind, Facts};
use tplab_testkit::{Failed, fail};

use crate::support::{Rng, Topo, json, probe, s, same_set, sh};

/// Builds a random topology in `topo.ns(0)` (with peers in ns 1) and returns nothing:
/// the kernel state itself is what both sides read.
fn build(rng: &mut Rng, topo: &Topo) -> Result<(), Failed> {
    let (a, b) = (topo.ns(0), topo.ns(1));
    let pairs = rng.range(1, 3);
    let mut links = Vec::new();
    for i in 0..pairs {
        sh(
            a,
            &format!("ip link add a{i} type veth peer name b{i} netns {b}"),
        )?;
        links.push(format!("a{i}"));
    }
    for i in 0..rng.range(1, 2) {
        sh(a, &format!("ip link add x{i} type veth peer name y{i}"))?;
        links.push(format!("x{i}"));
        links.push(format!("y{i}"));
    }
    // Other link kinds when the kernel has their modules (kind, lower link and master
    // coverage); missing modules just leave them out.
    let _ = sh(a, "ip link add link a0 name a0.7 type vlan id 7");
    let _ = sh(a, "ip link add link a0 name mv0 type macvlan mode bridge");
    let _ = sh(a, "ip link add vx0 type vxlan id 42 dstport 4789 dev a0");
    let bridge = sh(a, "ip link add br0 type bridge && ip link set br0 up").is_ok();
    let mut up = Vec::new();
    for (i, l) in links.iter().enumerate() {
        if rng.coin() {
            sh(a, &format!("ip link set {l} mtu {}", rng.range(1280, 9000)))?;
        }
        if i == 0 || rng.coin() {
            sh(a, &format!("ip link set {l} address {}", rng.mac()))?;
        }
        // Both ends of an internal pair must be up for either to carry routes.
        let is_up = i == 0 || rng.range(0, 3) > 0;
        if is_up {
            sh(a, &format!("ip link set {l} up"))?;
        }
        up.push(is_up);
    }
    for i in 0..pairs {
        sh(b, &format!("ip link set b{i} up"))?;
    }
    for (i, l) in links.iter().enumerate() {
        let net = format!("10.{}.{}", rng.range(0, 255), i);
        let host = rng.range(2, 250);
        let len = rng.range(16, 32);
        sh(a, &format!("ip addr add {net}.{host}/{len} dev {l}"))?;
        if rng.coin() {
            sh(
                a,
                &format!("ip addr add 2001:db8:{i:x}::{host:x}/64 dev {l} nodad"),
            )?;
        }
        let gw = format!("{net}.1");
        let nud = if rng.coin() { "permanent" } else { "stale" };
        sh(
            a,
            &format!("ip neigh add {gw} lladdr {} dev {l} nud {nud}", rng.mac()),
        )?;
        if !up[i] {
            continue;
        }
        sh(
            a,
            &format!("ip route add 198.51.100.{i}/32 dev {l} scope link"),
        )?;
        // One table range per link: two default routes with the same table and metric
        // would collide (EEXIST).
        let table = 100 + 30 * (i as u64) + rng.range(0, 29);
        let metric = rng.range(0, 50);
        sh(
            a,
            &format!("ip route add default via {gw} dev {l} onlink table {table} metric {metric}"),
        )?;
        sh(
            a,
            &format!(
                "ip route add blackhole 203.0.113.{i}/32 table {}",
                rng.range(100, 250)
            ),
        )?;
        if rng.coin() {
            sh(
                a,
                &format!("ip route add 192.0.2.{}/32 via {gw} dev {l} onlink", i * 8),
            )?;
        }
        if rng.coin() {
            // An ECMP route over this link, with two weighted gateways.
            let w = rng.range(1, 5);
            sh(
                a,
                &format!(
                    "ip route add 192.0.2.{}/32 nexthop via {gw} dev {l} onlink weight {w} nexthop via {net}.2 dev {l} onlink",
                    i * 8 + 1
                ),
            )?;
        }
    }
    // Enslaved last: a bridge port refuses some of the routes added above.
    if bridge && rng.coin() {
        sh(a, "ip link set y0 master br0")?;
    }
    Ok(())
}

fn facts(v: &[Facts], kind: FactKind) -> Vec<Value> {
    v.iter()
        .find(|f| f.kind() == kind)
        .map(Facts::records)
        .unwrap_or_default()
}

type LinkRow = (
    u32,
    String,
    Option<String>,
    String,
    u32,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<String>,
);

fn link_rows_ip(ns: &str) -> Result<Vec<LinkRow>, Failed> {
    let ip = json(ns, "ip -j -d link show")?;
    let mut rows = Vec::new();
    for l in ip
        .as_array()
        .ok_or_else(|| fail("ip -j link: not a list"))?
    {
        let nsid = s(l, "link_netnsid");
        // Same-netns peers print by name, others by index + netnsid.
        let peer = if nsid.is_some() {
            s(l, "link_index").map(|i| format!("if{i}"))
        } else {
            s(l, "link")
        };
        let mac = s(l, "address");
        rows.push((
            u32::try_from(l["ifindex"].as_u64().unwrap_or(0)).unwrap_or(0),
            s(l, "ifname").unwrap_or_default(),
            mac,
            s(l, "operstate").unwrap_or_default(),
            u32::try_from(l["mtu"].as_u64().unwrap_or(0)).unwrap_or(0),
            l.get("linkinfo").and_then(|i| s(i, "info_kind")),
            s(l, "master"),
            peer,
            nsid,
            l["flags"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        ));
    }
    Ok(rows)
}

fn link_rows_ours(v: &[Value]) -> Vec<LinkRow> {
    v.iter()
        .map(|l| {
            let nsid = s(l, "peer_netns_id");
            let peer = if nsid.is_some() {
                s(l, "peer_ifindex").map(|i| format!("if{i}"))
            } else {
                s(l, "peer")
            };
            (
                u32::try_from(l["ifindex"].as_u64().unwrap_or(0)).unwrap_or(0),
                s(l, "name").unwrap_or_default(),
                s(l, "mac"),
                s(l, "oper_state").unwrap_or_default(),
                u32::try_from(l["mtu"].as_u64().unwrap_or(0)).unwrap_or(0),
                s(l, "kind"),
                s(l, "master"),
                peer,
                nsid,
                serde_json::from_value(l["flags"].clone()).unwrap_or_default(),
            )
        })
        .collect()
}

type Row = Vec<Option<String>>;

fn addr_rows_ip(ns: &str) -> Result<Vec<Row>, Failed> {
    let ip = json(ns, "ip -j addr show")?;
    let mut rows = Vec::new();
    for l in ip.as_array().into_iter().flatten() {
        for a in l["addr_info"].as_array().into_iter().flatten() {
            rows.push(vec![
                s(l, "ifname"),
                s(a, "family"),
                s(a, "local"),
                s(a, "prefixlen"),
                s(a, "scope"),
            ]);
        }
    }
    Ok(rows)
}

fn addr_rows_ours(v: &[Value]) -> Vec<Row> {
    v.iter()
        .map(|a| {
            vec![
                s(a, "ifname"),
                s(a, "family"),
                s(a, "address"),
                s(a, "prefix_len"),
                s(a, "scope"),
            ]
        })
        .collect()
}

fn with_len(dst: &str, family: &str) -> String {
    if dst == "default" || dst.contains('/') {
        dst.to_string()
    } else if family == "inet6" {
        format!("{dst}/128")
    } else {
        format!("{dst}/32")
    }
}

fn route_rows_ip(ns: &str) -> Result<Vec<Row>, Failed> {
    let mut rows = Vec::new();
    for (family, flag) in [("inet", "-4"), ("inet6", "-6")] {
        let ip = json(ns, &format!("ip {flag} -j route show table all"))?;
        for r in ip.as_array().into_iter().flatten() {
            let or = |k: &str, d: &str| Some(s(r, k).unwrap_or_else(|| d.to_string()));
            rows.push(vec![
                Some(family.to_string()),
                or("table", "main"),
                s(r, "dst").map(|d| with_len(&d, family)),
                s(r, "gateway"),
                s(r, "dev"),
                or("scope", "global"),
                or("protocol", "boot"),
                or("type", "unicast"),
                s(r, "prefsrc"),
                s(r, "metric"),
                nexthops(r),
            ]);
        }
    }
    Ok(rows)
}

fn route_rows_ours(v: &[Value]) -> Vec<Row> {
    v.iter()
        .map(|r| {
            [
                "family", "table", "dst", "gateway", "dev", "scope", "protocol", "type", "prefsrc",
                "metric",
            ]
            .iter()
            .map(|k| s(r, k))
            .chain([nexthops(r)])
            .collect()
        })
        .collect()
}

/// ECMP paths as one comparable string (`ip -j` and tplab use the same field names).
fn nexthops(r: &Value) -> Option<String> {
    let hops = r.get("nexthops")?.as_array()?;
    Some(
        hops.iter()
            .map(|h| {
                format!(
                    "{:?}/{:?}/{:?}",
                    s(h, "gateway"),
                    s(h, "dev"),
                    s(h, "weight")
                )
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn neigh_rows_ip(ns: &str) -> Result<Vec<Row>, Failed> {
    let ip = json(ns, "ip -j neigh show nud all")?;
    Ok(ip
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| vec![s(n, "dst"), s(n, "dev"), s(n, "lladdr"), s(n, "state")])
        .collect())
}

fn neigh_rows_ours(v: &[Value]) -> Vec<Row> {
    v.iter()
        .map(|n| vec![s(n, "ip"), s(n, "dev"), s(n, "lladdr"), s(n, "states")])
        .collect()
}

pub fn links_addresses_routes_neighbours_equal_iproute2() -> Result<(), Failed> {
    let mut rng = Rng::new();
    for _round in 0..3 {
        let topo = Topo::new(&mut rng, 2, "tpt-probe-")?;
        build(&mut rng, &topo)?;
        for i in 0..2 {
            // IPv6 link-local addresses and multicast neighbours appear a moment after
            // links come up: retry until both views agree or the state has settled.
            let mut last = Ok(());
            for _attempt in 0..30 {
                last = compare(topo.ns(i), &topo.path(i));
                if last.is_ok() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            last?;
        }
    }
    Ok(())
}

fn compare(ns: &str, path: &std::path::Path) -> Result<(), Failed> {
    let kinds = [
        FactKind::Links,
        FactKind::Addresses,
        FactKind::Routes,
        FactKind::Neighbours,
    ];
    let got = probe(path, &kinds)?;
    same_set(
        "links",
        link_rows_ours(&facts(&got, FactKind::Links)),
        link_rows_ip(ns)?,
    )?;
    same_set(
        "addresses",
        addr_rows_ours(&facts(&got, FactKind::Addresses)),
        addr_rows_ip(ns)?,
    )?;
    same_set(
        "routes",
        route_rows_ours(&facts(&got, FactKind::Routes)),
        route_rows_ip(ns)?,
    )?;
    same_set(
        "neighbours",
        neigh_rows_ours(&facts(&got, FactKind::Neighbours)),
        neigh_rows_ip(ns)?,
    )
}

pub fn missing_netns_is_not_found() -> Result<(), Failed> {
    let path = tplab_netns::path_of("tpt-probe-does-not-exist");
    match tplab_probe::collect_many_sync(Some(&path), &[FactKind::Links]) {
        Err(tplab_probe::ProbeError::NetnsNotFound { netns }) => {
            tplab_testkit::check!(
                netns.contains("tpt-probe-does-not-exist"),
                "netns label: {netns}"
            );
            Ok(())
        }
        other => Err(fail(format!("expected NetnsNotFound, got {other:?}"))),
    }
}

pub fn async_collect_in_current_netns() -> Result<(), Failed> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(fail)?;
    let facts = rt
        .block_on(tplab_probe::collect(None, FactKind::Links))
        .map_err(fail)?;
    tplab_testkit::check!(
        facts.records().iter().any(|l| l["name"] == "lo"),
        "the current netns has a loopback"
    );
    Ok(())
}
