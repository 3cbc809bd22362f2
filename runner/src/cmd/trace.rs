//! `tplab trace`: a live "life of a packet" view of the sandbox — each hop of a flow
//! (pod eth0 -> lxc -> node routing -> node eth0), with NAT shown when addresses change.

use std::net::Ipv4Addr;
use std::time::Duration;

use tplab_sandbox::Role;

use super::status;
use crate::cli::{Global, TraceArgs};
use crate::env::open::{self, Instance};
use crate::env::{Environment as _, packet_path};
use crate::error::Error;

pub async fn run(global: Global, args: TraceArgs) -> super::Result {
    let env = open::open_sandbox(Instance::Existing(global.sandbox.clone())).await?;
    if args.from.parse::<Role>()? == Role::Local {
        return Err(Error::Usage(
            "role `local` has no sandbox network namespace to trace from".into(),
        ));
    }
    let facts = env.facts().await?;
    let to: Option<Ipv4Addr> = match &args.to {
        Some(a) => Some(
            a.parse()
                .map_err(|_| Error::Usage(format!("--to expects an IPv4 address, got `{a}`")))?,
        ),
        None => None,
    };
    let hops = packet_path::seed_hops(&args.from);
    let mut observer = env.observe(&hops).await?;
    println!(
        "tracing packets of `{}` in sandbox {}{} — hops: {} (Ctrl-C to stop)",
        args.from,
        env.id(),
        to.map(|a| format!(" to/from {a}")).unwrap_or_default(),
        packet_path::summary(&hops, &facts)
    );
    // The traffic to follow runs through the environment, beside the observation; it is
    // dropped (its process group killed) when the trace ends.
    let traffic = async {
        if let Some(cmd) = &args.run {
            let limit = Duration::from_secs(args.duration.unwrap_or(3600));
            if let Err(e) = env.exec(&args.from, cmd, limit).await {
                eprintln!("{} --run: {e}", console::style("error:").red().bold());
            }
        }
        std::future::pending::<()>().await;
    };
    tokio::pin!(traffic);
    let mut trace = tplab_ebpf::Trace::new();
    // `--to` follows the flows past NAT (a Service address DNATed to its backend).
    let mut follow = to.map(tplab_ebpf::Follow::new);
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
                if follow.as_mut().is_some_and(|f| !f.wants(&ev)) {
                    continue;
                }
                seen += 1;
                for line in trace.describe(&ev) {
                    println!("{}", crate::ui::safe::text(&line));
                }
            }
            () = sleep => break,
            _ = tokio::signal::ctrl_c() => break,
            () = &mut traffic => {}
        }
    }
    let lost = observer.lost();
    drop(observer.stop().await);
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
