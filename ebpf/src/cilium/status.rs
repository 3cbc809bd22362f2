//! `cilium status` (and `--brief`, `--verbose`), in Cilium 1.16's `cilium-dbg status`
//! shape, every value from the sandbox: its pods, addresses, attach mode and config.

use std::fmt::Write as _;

use super::{CILIUM_VERSION, CiliumCtx};
use crate::datapath::AttachMode;

/// The `Attach Mode:` value Cilium 1.16 prints.
pub fn attach_mode_text(mode: AttachMode) -> &'static str {
    match mode {
        AttachMode::Tc => "Legacy TC",
        AttachMode::Tcx => "TCX",
    }
}

/// Addresses the sandbox's IPAM hands out: the router (`cilium_host`) and each pod.
fn allocated(ctx: &CiliumCtx) -> Vec<(String, String)> {
    let mut out = vec![(ctx.router_ip.to_string(), "router".to_string())];
    out.extend(
        ctx.pods
            .iter()
            .map(|p| (p.ip.to_string(), format!("{}/{}", p.namespace, p.name))),
    );
    out
}

fn line(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "{:<25}{value}", format!("{key}:"));
}

/// The full text of `cilium status [--verbose]`.
pub fn format_status(ctx: &CiliumCtx, verbose: bool) -> String {
    let view = ctx.config_view();
    let cfg = |k: &str| view.get(k).map_or("", String::as_str);
    let mut out = String::new();
    line(&mut out, "KVStore", "Ok   Disabled");
    match &ctx.kube_version {
        Some(v) => {
            let minor = v
                .trim_start_matches('v')
                .split('.')
                .take(2)
                .collect::<Vec<_>>()
                .join(".");
            line(
                &mut out,
                "Kubernetes",
                &format!(
                    "Ok   {minor} ({v}) [linux/{}]",
                    go_arch(std::env::consts::ARCH)
                ),
            );
        }
        None => line(&mut out, "Kubernetes", "Disabled"),
    }
    let kpr = if cfg("kube-proxy-replacement") == "true" {
        "True"
    } else {
        "False"
    };
    line(&mut out, "KubeProxyReplacement", kpr);
    line(&mut out, "Host firewall", "Disabled");
    line(&mut out, "SRv6", "Disabled");
    line(&mut out, "CNI Chaining", "none");
    line(
        &mut out,
        "Cilium",
        &format!("Ok   {CILIUM_VERSION} (tplab sandbox agent, not Cilium)"),
    );
    line(
        &mut out,
        "NodeMonitor",
        &format!(
            "Listening for events on {} CPUs (tplab observer, started by `cilium monitor`)",
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        ),
    );
    let addrs = allocated(ctx);
    line(
        &mut out,
        "IPAM",
        &format!(
            "IPv4: {}/{} allocated from {}, ",
            addrs.len(),
            ctx.ipam_capacity(),
            ctx.pod_cidr
        ),
    );
    if verbose {
        out.push_str("Allocated addresses:\n");
        for (ip, owner) in &addrs {
            let _ = writeln!(out, "  {ip} ({owner})");
        }
    }
    line(&mut out, "IPv4 BIG TCP", "Disabled");
    line(&mut out, "IPv6 BIG TCP", "Disabled");
    line(&mut out, "BandwidthManager", "Disabled");
    let network = if cfg("routing-mode") == "native" {
        "Native"
    } else {
        "Tunnel"
    };
    let host = if cfg("enable-host-legacy-routing") == "false" {
        "BPF"
    } else {
        "Legacy"
    };
    line(
        &mut out,
        "Routing",
        &format!("Network: {network}   Host: {host}"),
    );
    line(&mut out, "Attach Mode", attach_mode_text(ctx.attach));
    line(&mut out, "Device Mode", "veth");
    let masq = if cfg("enable-bpf-masquerade") == "true" {
        "BPF"
    } else {
        "IPTables"
    };
    let v4 = if cfg("enable-ipv4-masquerade") == "true" {
        "Enabled"
    } else {
        "Disabled"
    };
    line(
        &mut out,
        "Masquerading",
        &format!("{masq} [IPv4: {v4}, IPv6: Disabled]"),
    );
    line(&mut out, "Hubble", "Disabled");
    line(&mut out, "Encryption", "Disabled");
    line(
        &mut out,
        "Cluster health",
        "Probe disabled (the sandbox has one node)",
    );
    out
}

/// Go's name of an architecture (`amd64`), as Cilium prints it.
fn go_arch(rust: &str) -> &str {
    match rust {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}
