//! The sandbox's answers to the `cilium` / `cilium-dbg` agent commands a reader of the TP
//! types, in Cilium 1.16's output shapes, computed from the sandbox's real state (its CT
//! maps, pods, addresses, attach mode). This is tplab's implementation, not Cilium: the
//! help and `version` say so.

mod config;
mod ct_list;
mod endpoint;
mod monitor;
mod nat;
mod seed_keys;
mod service_list;
mod signals;
mod status;
mod table;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

pub use config::{format_config, sandbox_config};
pub use ct_list::{format_ct_entry, format_ct_entry_with, format_ct_list};
pub use endpoint::{format_bpf_endpoint_list, format_endpoint_list};
pub use monitor::{MonitorState, monitor_line};
pub use nat::{SNAT_MAP_NAMES, nat_list_report};
pub use service_list::{format_service_list, service_list_report};
pub use status::{attach_mode_text, format_status};

use crate::ct::ct_entries;
use crate::datapath::AttachMode;

/// The Cilium release whose output shapes, names and CT layout the sandbox follows.
pub const CILIUM_VERSION: &str = "1.16.5";

/// One endpoint (pod) of the sandbox.
#[derive(Debug, Clone)]
pub struct EndpointInfo {
    pub name: String,
    pub namespace: String,
    pub ip: Ipv4Addr,
    pub endpoint_id: u16,
    pub identity: u32,
    /// Pod-side MAC (`mac=` in `bpf endpoint list`) and the node-side lxc's (`nodemac=`).
    pub mac: String,
    pub lxc_ifname: String,
    pub lxc_mac: String,
    /// Pod labels (besides the ones Cilium derives from the namespace).
    pub labels: Vec<(String, String)>,
}

/// Everything the commands need to find the sandbox's state.
#[derive(Debug, Clone)]
pub struct CiliumCtx {
    /// The bpf root: the CT maps are `<pin_dir>/tc/globals/cilium_ct{,_any}4_global`.
    pub pin_dir: PathBuf,
    /// Node netns and the first pod's lxc interface in it (for `monitor`).
    pub node_netns: PathBuf,
    pub lxc_ifname: String,
    pub pod_ip: Ipv4Addr,
    /// Security identity of the first pod (`SourceSecurityID`, `identity 42837->world`).
    pub identity: u32,
    /// Cilium endpoint id of the first pod (`-> endpoint 762`).
    pub endpoint_id: u16,
    /// Every pod, the first one included.
    pub pods: Vec<EndpointInfo>,
    pub host_endpoint_id: u16,
    pub router_ip: Ipv4Addr,
    pub node_ip: Ipv4Addr,
    pub pod_cidr: String,
    pub attach: AttachMode,
    /// The sandbox API's Kubernetes version (`v1.33.1`), if it serves one.
    pub kube_version: Option<String>,
    /// Name the command was invoked as (`cilium` or `cilium-dbg`), for messages.
    pub prog_name: String,
    /// Overrides/additions for `config view`.
    pub config: BTreeMap<String, String>,
}

impl CiliumCtx {
    /// A context with the seed's numbers and one pod.
    pub fn new(
        pin_dir: PathBuf,
        node_netns: PathBuf,
        lxc_ifname: String,
        pod_ip: Ipv4Addr,
    ) -> Self {
        let pod = EndpointInfo {
            name: "pod".into(),
            namespace: "default".into(),
            ip: pod_ip,
            endpoint_id: 762,
            identity: 42837,
            mac: String::new(),
            lxc_ifname: lxc_ifname.clone(),
            lxc_mac: String::new(),
            labels: Vec::new(),
        };
        CiliumCtx {
            pin_dir,
            node_netns,
            lxc_ifname,
            pod_ip,
            identity: pod.identity,
            endpoint_id: pod.endpoint_id,
            pods: vec![pod],
            host_endpoint_id: 1130,
            router_ip: Ipv4Addr::new(10, 244, 0, 201),
            node_ip: Ipv4Addr::UNSPECIFIED,
            pod_cidr: "10.244.0.0/16".into(),
            attach: AttachMode::Tc,
            kube_version: None,
            prog_name: "cilium".into(),
            config: BTreeMap::new(),
        }
    }

    /// `config view`'s data: the sandbox's settings plus this context's overrides.
    pub fn config_view(&self) -> BTreeMap<String, String> {
        let mut cfg = sandbox_config(
            &self.pin_dir.display().to_string(),
            self.attach == AttachMode::Tcx,
        );
        cfg.extend(self.config.clone());
        cfg
    }

    /// Addresses the pod CIDR offers (Cilium counts usable ones: size - 2).
    pub(crate) fn ipam_capacity(&self) -> u64 {
        let prefix: u32 = self
            .pod_cidr
            .split_once('/')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or(32)
            .min(32);
        (1u64 << (32 - prefix)).saturating_sub(2).max(1)
    }

    /// The ifindex of `ifname` in the node netns (what Cilium stores in its maps).
    pub(crate) fn lxc_ifindex(&self, ifname: &str) -> Option<u32> {
        let name = ifname.to_string();
        tplab_netns::run_in(Some(&self.node_netns), move || {
            nix::net::if_::if_nametoindex(name.as_str()).ok()
        })
        .ok()
        .flatten()
    }
}

const BANNER: &str = "tplab sandbox `cilium` — an implementation of a few Cilium agent commands by tplab \
over the sandbox's own eBPF datapath. This is NOT Cilium: output has Cilium 1.16's shape, values \
come from the sandbox (tplab's cil_from_container program, its CT maps, pods and addresses).";

const HELP: &str =
    "Usage: cilium <command>   (also installed as cilium-dbg, its name since Cilium 1.15)

Commands (tplab sandbox implementation, not Cilium):
  status [--brief|--verbose]  the agent's status (attach mode, IPAM, routing, masquerading)
  version                     client and daemon versions
  endpoint list               the endpoints (the pods and the host)
  bpf endpoint list           the local endpoints map
  bpf ct list global [-d]     the eBPF conntrack entries (cilium_ct4_global and
                              cilium_ct_any4_global, written by cil_from_container /
                              cil_to_container on the pod's lxc)
  bpf nat list                BPF NAT entries (there are none: NAT is done by iptables here)
  service list                the load-balanced services (none: no BPF service translation here)
  monitor                     each packet crossing the pod's lxc veth (Ctrl-C to stop)
  config view                 the agent's configuration
  help                        this text";

/// Entry point for `tplab cilium ...` and the agent-role shims: prints to stdout/stderr,
/// returns the exit code. `args` excludes the program name.
pub fn cilium_main(args: &[String], ctx: &CiliumCtx) -> i32 {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    cilium_run(args, ctx, &mut out, &mut err, None)
}

/// `CLOCK_MONOTONIC` seconds, the clock of CT `expires` values.
fn monotonic_secs() -> Option<u32> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: one valid timespec to fill.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts) } != 0 {
        return None;
    }
    u32::try_from(ts.tv_sec).ok()
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
    let text = |out: &mut dyn Write, s: &str| {
        let _ = out.write_all(s.as_bytes());
        0
    };
    match words.as_slice() {
        [] | ["help"] => {
            let _ = writeln!(out, "{BANNER}\n\n{HELP}");
            0
        }
        _ if wants_help => {
            let _ = writeln!(out, "{BANNER}\n\n{HELP}");
            0
        }
        ["status"] => text(out, &format_status(ctx, false)),
        ["status", "--verbose" | "-v"] => text(out, &format_status(ctx, true)),
        ["status", "--brief"] => text(out, "OK\n"),
        ["version"] => {
            let line = format!(
                "{CILIUM_VERSION} tplab-{} (tplab sandbox agent, not Cilium) linux/{}",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::ARCH
            );
            let _ = writeln!(out, "Client: {line}\nDaemon: {line}");
            0
        }
        ["endpoint" | "endpoints", "list" | "ls"] => text(out, &format_endpoint_list(ctx)),
        ["bpf", "endpoint", "list" | "ls"] => text(out, &format_bpf_endpoint_list(ctx)),
        ["service", "list" | "ls"] => match service_list_report(&ctx.pin_dir) {
            Ok(table) => text(out, &table),
            Err(e) => {
                let _ = writeln!(err, "Error: {e}");
                1
            }
        },
        ["bpf", "ct", "list", "global", flags @ ..]
            if flags.iter().all(|f| matches!(*f, "-d" | "--time-diff")) =>
        {
            let now = if flags.is_empty() {
                None
            } else {
                monotonic_secs()
            };
            match ct_entries(&ctx.pin_dir) {
                Ok(entries) => text(out, &format_ct_list(&entries, now)),
                Err(e) => {
                    let _ = writeln!(err, "Error: Unable to open CT map: {e}");
                    1
                }
            }
        }
        ["bpf", "ct", "list", other, ..] => {
            let _ = writeln!(
                err,
                "Error: unknown CT map `{other}`: the tplab sandbox has only `global` (endpoint-local CT maps are off, as by default)"
            );
            1
        }
        ["bpf", "nat", "list"] => {
            let (text, any) = nat_list_report(&ctx.pin_dir);
            let _ = err.write_all(text.as_bytes());
            i32::from(!any)
        }
        ["monitor", rest @ ..] if rest.iter().all(|a| a.starts_with('-')) => {
            monitor::run_monitor(ctx, out, err, monitor_for)
        }
        ["config"] | ["config", "view" | "--all" | "-a"] => {
            text(out, &format_config(&ctx.config_view()))
        }
        _ => unknown(&words, ctx, err),
    }
}

/// Commands with subcommands, as Cilium's command tree has them.
const GROUPS: [(&[&str], &[&str]); 5] = [
    (
        &[],
        &[
            "bpf", "config", "endpoint", "help", "monitor", "service", "status", "version",
        ],
    ),
    (&["bpf"], &["ct", "endpoint", "nat"]),
    (&["bpf", "ct"], &["list"]),
    (&["endpoint"], &["list"]),
    (&["service"], &["list"]),
];

/// An unknown command, answered like Cilium's command line (cobra) does: the deepest known
/// command names the unknown word.
fn unknown(words: &[&str], ctx: &CiliumCtx, err: &mut dyn Write) -> i32 {
    let mut depth = 0;
    for (path, _) in GROUPS.iter().rev() {
        if !path.is_empty() && words.starts_with(path) {
            depth = path.len();
            break;
        }
    }
    let parent = std::iter::once(ctx.prog_name.as_str())
        .chain(words[..depth].iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let word = words.get(depth).copied().unwrap_or_default();
    let _ = writeln!(
        err,
        "Error: unknown command \"{word}\" for \"{parent}\"\nRun '{parent} --help' for usage."
    );
    1
}

#[cfg(test)]
mod tests;
