//! `tplab trace`: a live "life of a packet" view of the sandbox — each hop of a flow
//! (pod eth0 -> lxc -> node routing -> node eth0), with NAT shown when addresses change.

use std::net::Ipv4Addr;
use std::time::Duration;

use tplab_sandbox::Role;

use super::status;
use crate::cli::{Global, TraceArgs};
use crate::env::sandbox as sb;

pub async fn run(global: Global, args: TraceArgs) -> anyhow::Result<u8> {
    let sandbox = sb::find(global.sandbox.as_deref())?;
    let from: Role = args.from.parse()?;
    let pod_ns = sandbox.netns_path(&from).ok_or_else(|| {
        anyhow::anyhow!(
            "role `{}` has no network namespace to trace from",
            args.from
        )
    })?;
    let node_ns = sandbox
        .netns_path(&Role::Node)
        .ok_or_else(|| anyhow::anyhow!("the sandbox has no node"))?;
    let facts = sandbox.facts();
    let lxc = facts.get("lxc_name").cloned().unwrap_or_default();
    let to: Option<Ipv4Addr> = match &args.to {
        Some(a) => Some(
            a.parse()
                .map_err(|_| anyhow::anyhow!("--to expects an IPv4 address, got `{a}`"))?,
        ),
        None => None,
    };
    let points = tplab_ebpf::observer::sandbox_points(&pod_ns, &node_ns, &lxc, "eth0");
    let mut observer =
        tokio::task::spawn_blocking(move || tplab_ebpf::Observer::start(points)).await??;
    println!(
        "tracing packets of `{}` in sandbox {}{} — hops: {}:eth0 -> node:{lxc} -> node routing -> node:eth0 (Ctrl-C to stop)",
        args.from,
        sandbox.id(),
        to.map(|a| format!(" to/from {a}")).unwrap_or_default(),
        args.from
    );
    let mut child = match &args.run {
        Some(cmd) => Some(
            sandbox
                .command(&from, cmd)?
                .kill_on_drop(true)
                .stdout(std::process::Stdio::null())
                .spawn()?,
        ),
        None => None,
    };
    let mut trace = tplab_ebpf::Trace::new();
    let deadline = args
        .duration
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let mut seen = 0u64;
    loop {
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = observer.next() => {
                let Some(ev) = ev else { break };
                if to.is_some_and(|a| ev.src != a && ev.dst != a) {
                    continue;
                }
                seen += 1;
                for line in trace.describe(&ev) {
                    println!("{line}");
                }
            }
            () = sleep => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    if let Some(c) = child.as_mut() {
        let _ = c.kill().await;
    }
    let lost = observer.lost();
    drop(observer.stop());
    println!(
        "{seen} packet event(s) shown{}",
        if lost > 0 {
            format!(", {lost} lost")
        } else {
            String::new()
        }
    );
    Ok(status::OK)
}
