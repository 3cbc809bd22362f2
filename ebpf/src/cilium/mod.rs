//! The sandbox's answers to the seed's `cilium` agent commands, computed from the
//! sandbox's real eBPF state. This is tplab's implementation, not Cilium: the help says so.

mod config;
mod ct_list;
mod monitor;
mod nat;
mod seed_keys;
mod signals;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

pub use config::{format_config, sandbox_config};
pub use ct_list::{format_ct_entry, format_ct_list};
pub use monitor::{MonitorState, monitor_line};
pub use nat::{SNAT_MAPS, nat_list_report};

use crate::ct::ct_entries;

/// Everything the commands need to find the sandbox's state.
#[derive(Debug, Clone)]
pub struct CiliumCtx {
    /// Pin directory of the sandbox (the CT map is `<pin_dir>/ct`).
    pub pin_dir: PathBuf,
    /// Node netns and the pod's lxc interface in it (for `monitor`).
    pub node_netns: PathBuf,
    pub lxc_ifname: String,
    pub pod_ip: Ipv4Addr,
    /// Security identity of the pod (`SourceSecurityID`, `identity 42837->world`).
    pub identity: u32,
    /// Cilium endpoint id of the pod (`-> endpoint 762`).
    pub endpoint_id: u16,
    /// Overrides/additions for `config view`.
    pub config: BTreeMap<String, String>,
}

impl CiliumCtx {
    /// A context with the seed's identity/endpoint numbers.
    pub fn new(
        pin_dir: PathBuf,
        node_netns: PathBuf,
        lxc_ifname: String,
        pod_ip: Ipv4Addr,
    ) -> Self {
        CiliumCtx {
            pin_dir,
            node_netns,
            lxc_ifname,
            pod_ip,
            identity: 42837,
            endpoint_id: 762,
            config: BTreeMap::new(),
        }
    }
}

const BANNER: &str = "tplab sandbox `cilium` — an implementation of a few Cilium agent commands by tplab \
over the sandbox's own eBPF datapath. This is NOT Cilium: output has Cilium's shape, values come \
from tplab's from_container program and maps.";

const HELP: &str = "Usage: cilium <command>

Commands (tplab sandbox implementation, not Cilium):
  bpf ct list global   list the sandbox's eBPF conntrack entries (pinned map written by
                       tplab's from_container/to_container programs on the pod's lxc)
  bpf nat list         list BPF NAT entries (there are none: NAT is done by iptables here)
  monitor              print each packet crossing the pod's lxc veth (Ctrl-C to stop)
  config view          show the sandbox's datapath settings
  help                 this text";

/// Entry point for `tplab cilium ...` and the agent-role shim: prints to stdout/stderr,
/// returns the exit code. `args` excludes the program name.
pub fn cilium_main(args: &[String], ctx: &CiliumCtx) -> i32 {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    cilium_run(args, ctx, &mut out, &mut err, None)
}

/// Same as [`cilium_main`] with explicit streams; `monitor_for` bounds `monitor` (tests).
pub fn cilium_run(
    args: &[String],
    ctx: &CiliumCtx,
    out: &mut dyn Write,
    err: &mut dyn Write,
    monitor_for: Option<Duration>,
) -> i32 {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let wants_help = words.iter().any(|w| matches!(*w, "-h" | "--help"));
    match words.as_slice() {
        [] | ["help" | "-h" | "--help"] => {
            let _ = writeln!(out, "{BANNER}\n\n{HELP}");
            0
        }
        _ if wants_help => {
            let _ = writeln!(out, "{BANNER}\n\n{HELP}");
            0
        }
        ["bpf", "ct", "list", "global"] => match ct_entries(&ctx.pin_dir) {
            Ok(entries) => {
                let _ = out.write_all(format_ct_list(&entries).as_bytes());
                0
            }
            Err(e) => {
                let _ = writeln!(err, "Error: Unable to open CT map: {e}");
                1
            }
        },
        ["bpf", "ct", "list", other] => {
            let _ = writeln!(
                err,
                "Error: unknown CT map `{other}`: the tplab sandbox only has `global`"
            );
            1
        }
        ["bpf", "nat", "list"] => {
            let (text, any) = nat_list_report();
            let _ = err.write_all(text.as_bytes());
            i32::from(!any)
        }
        ["monitor", rest @ ..] if rest.iter().all(|a| a.starts_with('-')) => {
            monitor::run_monitor(ctx, out, err, monitor_for)
        }
        ["config"] | ["config", "view" | "--all" | "-a"] => {
            let mut cfg = sandbox_config(&ctx.pin_dir.display().to_string());
            cfg.extend(ctx.config.clone());
            let _ = out.write_all(format_config(&cfg).as_bytes());
            0
        }
        _ => {
            let _ = writeln!(
                err,
                "Error: unknown command `cilium {}`\n\n{HELP}",
                words.join(" ")
            );
            2
        }
    }
}

#[cfg(test)]
mod tests;
