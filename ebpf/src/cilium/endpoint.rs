//! `cilium endpoint list` and `cilium bpf endpoint list`, in Cilium 1.16's table shapes,
//! from the sandbox's pods (addresses, MACs, the lxc's ifindex read in the node netns).

use super::CiliumCtx;
use super::table::render;

/// Cilium's reserved identity of the host.
const HOST_IDENTITY: u32 = 1;

fn s(v: &str) -> String {
    v.to_string()
}

/// Labels Cilium derives for a pod in namespace `ns` (sorted, one per line).
fn pod_labels(ns: &str, extra: &[(String, String)]) -> Vec<String> {
    let mut labels = vec![
        format!("k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name={ns}"),
        s("k8s:io.cilium.k8s.policy.cluster=default"),
        s("k8s:io.cilium.k8s.policy.serviceaccount=default"),
        format!("k8s:io.kubernetes.pod.namespace={ns}"),
    ];
    labels.extend(extra.iter().map(|(k, v)| format!("k8s:{k}={v}")));
    labels.sort();
    labels
}

/// `cilium endpoint list`: the host endpoint and one per pod.
pub fn format_endpoint_list(ctx: &CiliumCtx) -> String {
    let mut rows = vec![
        vec![
            s("ENDPOINT"),
            s("POLICY (ingress)"),
            s("POLICY (egress)"),
            s("IDENTITY"),
            s("LABELS (source:key[=value])"),
            s("IPv6"),
            s("IPv4"),
            s("STATUS"),
        ],
        vec![
            s(""),
            s("ENFORCEMENT"),
            s("ENFORCEMENT"),
            s(""),
            s(""),
            s(""),
            s(""),
            s(""),
        ],
    ];
    let mut endpoints: Vec<(u16, u32, Vec<String>, String)> = ctx
        .pods
        .iter()
        .map(|p| {
            (
                p.endpoint_id,
                p.identity,
                pod_labels(&p.namespace, &p.labels),
                p.ip.to_string(),
            )
        })
        .collect();
    endpoints.push((
        ctx.host_endpoint_id,
        HOST_IDENTITY,
        vec![s("reserved:host")],
        String::new(),
    ));
    endpoints.sort_by_key(|e| e.0);
    for (id, identity, labels, ip) in endpoints {
        for (i, label) in labels.iter().enumerate() {
            rows.push(if i == 0 {
                vec![
                    id.to_string(),
                    s("Disabled"),
                    s("Disabled"),
                    identity.to_string(),
                    label.clone(),
                    s(""),
                    ip.clone(),
                    s("ready"),
                ]
            } else {
                vec![
                    s(""),
                    s(""),
                    s(""),
                    s(""),
                    label.clone(),
                    s(""),
                    s(""),
                    s(""),
                ]
            });
        }
    }
    render(&rows)
}

/// `cilium bpf endpoint list`: the local endpoints map (pods, then the host's addresses).
pub fn format_bpf_endpoint_list(ctx: &CiliumCtx) -> String {
    let mut rows = vec![vec![s("IP ADDRESS"), s("LOCAL ENDPOINT INFO")]];
    let mut entries: Vec<(std::net::Ipv4Addr, String)> = ctx
        .pods
        .iter()
        .map(|p| {
            let ifindex = ctx.lxc_ifindex(&p.lxc_ifname).unwrap_or(0);
            (
                p.ip,
                format!(
                    "id={:<5} sec_id={:<5} flags=0x0000 ifindex={ifindex:<3} mac={} nodemac={}",
                    p.endpoint_id,
                    p.identity,
                    p.mac.to_uppercase(),
                    p.lxc_mac.to_uppercase()
                ),
            )
        })
        .collect();
    for ip in [ctx.router_ip, ctx.node_ip] {
        entries.push((ip, s("(localhost)")));
    }
    entries.sort_by_key(|e| e.0);
    for (ip, info) in entries {
        rows.push(vec![format!("{ip}:0"), info]);
    }
    render(&rows)
}
