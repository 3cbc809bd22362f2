//! The seed's observations, checked with iproute2, ping, conntrack, iptables-save, wget.

use serde_json::Value;
use tplab_testkit::{check, fail};

use crate::support::{R, fact, in_ns, ip_json, ok_in, sandbox};

pub fn pod_routes_like_the_seed() -> R {
    let sb = sandbox()?;
    let pod = fact(&sb, "pod_netns")?;
    let routes = ip_json(&pod, "route show")?;
    let routes = routes.as_array().ok_or_else(|| fail("routes not a list"))?;
    let default = routes
        .iter()
        .find(|r| r["dst"] == "default")
        .ok_or_else(|| fail(format!("no default route: {routes:?}")))?;
    check!(
        default["gateway"] == "10.244.0.201",
        "default route {default}"
    );
    check!(default["dev"] == "eth0", "default route {default}");
    let host = routes
        .iter()
        .find(|r| r["dst"] == "10.244.0.201")
        .ok_or_else(|| fail(format!("no host route to the gateway: {routes:?}")))?;
    check!(
        host["scope"] == "link" && host["dev"] == "eth0",
        "host route {host}"
    );
    let addrs = ip_json(&pod, "addr show dev eth0")?;
    let has_ip = addrs[0]["addr_info"].as_array().is_some_and(|a| {
        a.iter()
            .any(|i| i["local"] == "10.244.0.213" && i["prefixlen"] == 32)
    });
    check!(has_ip, "eth0 lacks 10.244.0.213/32: {addrs}");
    // `route -n` reads like the seed's.
    let table = ok_in(&pod, "route -n")?;
    check!(
        table.contains("0.0.0.0         10.244.0.201    0.0.0.0         UG")
            && table.contains("10.244.0.201    0.0.0.0         255.255.255.255 UH"),
        "route -n:\n{table}"
    );
    Ok(())
}

pub fn gateway_mac_is_the_lxc_mac() -> R {
    let sb = sandbox()?;
    let (pod, node, lxc) = (
        fact(&sb, "pod_netns")?,
        fact(&sb, "node_netns")?,
        fact(&sb, "lxc_name")?,
    );
    ok_in(&pod, "ping -c1 -W2 10.244.0.201")?;
    let lxc_link = ip_json(&node, &format!("link show dev {lxc}"))?;
    let lxc_mac = lxc_link[0]["address"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    check!(!lxc_mac.is_empty(), "no lxc MAC: {lxc_link}");
    let neigh = ip_json(&pod, "neigh show dev eth0")?;
    let gw = neigh
        .as_array()
        .and_then(|n| n.iter().find(|e| e["dst"] == "10.244.0.201"))
        .ok_or_else(|| fail(format!("no neighbour entry for the gateway: {neigh}")))?;
    check!(
        gw["lladdr"] == lxc_mac.as_str(),
        "gateway MAC {} != lxc MAC {lxc_mac}",
        gw["lladdr"]
    );
    check!(fact(&sb, "lxc_mac")? == lxc_mac, "fact lxc_mac is stale");
    let arp = ok_in(&pod, "arp -an")?;
    check!(
        arp.contains(&format!("(10.244.0.201) at {lxc_mac}")),
        "arp -an: {arp}"
    );
    Ok(())
}

pub fn lxc_is_the_pods_peer() -> R {
    let sb = sandbox()?;
    let (pod, node, lxc) = (
        fact(&sb, "pod_netns")?,
        fact(&sb, "node_netns")?,
        fact(&sb, "lxc_name")?,
    );
    check!(lxc.len() == 15 && lxc.starts_with("lxc"), "lxc name {lxc}");
    let lxc_link = &ip_json(&node, &format!("link show dev {lxc}"))?[0];
    let eth0 = &ip_json(&pod, "link show dev eth0")?[0];
    check!(
        lxc_link["link_index"] == eth0["ifindex"],
        "lxc peer index {lxc_link} vs {eth0}"
    );
    check!(
        eth0["link_index"] == lxc_link["ifindex"],
        "eth0 peer index {eth0} vs {lxc_link}"
    );
    let nsid = lxc_link["link_netnsid"].clone();
    let ids = ip_json(&node, "netns list-id")?;
    let named = ids
        .as_array()
        .and_then(|l| l.iter().find(|e| e["nsid"] == nsid))
        .ok_or_else(|| fail(format!("nsid {nsid} not in {ids}")))?;
    check!(
        named["name"] == pod.as_str(),
        "lxc peer netns {named} != {pod}"
    );
    // proxy-ARP on the lxc, forwarding on the node.
    let proxy = ok_in(
        &node,
        &format!("cat /proc/sys/net/ipv4/conf/{lxc}/proxy_arp"),
    )?;
    check!(proxy.trim() == "1", "proxy_arp = {proxy}");
    check!(
        ok_in(&node, "cat /proc/sys/net/ipv4/ip_forward")?.trim() == "1",
        "ip_forward off"
    );
    let host = ip_json(&node, "addr show dev cilium_host")?;
    let holds = host[0]["addr_info"].as_array().is_some_and(|a| {
        a.iter()
            .any(|i| i["local"] == "10.244.0.201" && i["prefixlen"] == 32)
    });
    check!(holds, "cilium_host lacks 10.244.0.201/32: {host}");
    let routes = ip_json(&node, "route show")?;
    let to_pod = routes.as_array().is_some_and(|r| {
        r.iter()
            .any(|e| e["dst"] == "10.244.0.213" && e["dev"] == lxc.as_str())
    });
    check!(to_pod, "node has no route to the pod via {lxc}: {routes}");
    Ok(())
}

pub fn ping_is_masqueraded() -> R {
    let sb = sandbox()?;
    let (pod, node) = (fact(&sb, "pod_netns")?, fact(&sb, "node_netns")?);
    ok_in(&pod, "ping -c2 -W2 203.0.113.10")?;
    let ct = ok_in(&node, "conntrack -L -p icmp 2>/dev/null")?;
    let line = ct
        .lines()
        .find(|l| l.contains("src=10.244.0.213 dst=203.0.113.10"))
        .ok_or_else(|| fail(format!("no conntrack entry for the ping:\n{ct}")))?;
    check!(
        line.contains("src=203.0.113.10 dst=198.51.100.2"),
        "not SNATed to the node: {line}"
    );
    let kube = ok_in(&node, "iptables-save | grep -c KUBE")?;
    check!(
        kube.trim().parse::<u32>().unwrap_or(0) >= 10,
        "iptables-save | grep -c KUBE = {kube}"
    );
    // Without MASQUERADE the world cannot answer: it has no route to 10.244.0.0/16.
    ok_in(
        &node,
        "iptables -t nat -D CILIUM_POST_nat -s 10.244.0.0/16 ! -d 10.244.0.0/16 ! -o cilium_+ -m comment --comment 'cilium masquerade non-cluster' -j MASQUERADE",
    )?;
    let (ok, _, _) = in_ns(&pod, "ping -c1 -W1 203.0.113.10");
    check!(!ok, "ping succeeded without NAT");
    Ok(())
}

pub fn http_get_returns_200() -> R {
    let sb = sandbox()?;
    let pod = fact(&sb, "pod_netns")?;
    let (ok, out, err) = in_ns(&pod, "wget -S -O- -T 5 http://203.0.113.10/");
    check!(ok, "wget failed: {err}");
    check!(err.contains("HTTP/1.1 200 OK"), "no 200: {err}");
    check!(out.contains("you came from 198.51.100.2"), "body: {out}");
    let world = fact(&sb, "world_netns")?;
    let (ok, _, _) = in_ns(&world, "ip route get 10.244.0.213");
    check!(!ok, "the world must have no route back to the pod CIDR");
    let v: Value = ip_json(&world, "addr show dev lo")?;
    check!(v.to_string().contains("203.0.113.10"), "world lo: {v}");
    Ok(())
}
