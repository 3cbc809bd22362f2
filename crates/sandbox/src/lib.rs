//! The built-in sandbox: the seed lab's Cilium topology (a pod, its node with `lxc…`,
//! `cilium_host` and MASQUERADE, and a "world" serving HTTP) in local network namespaces,
//! built in-process over netlink.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tplab_sandbox::SandboxError> {
//! use tplab_sandbox::{Role, Sandbox, SandboxConfig, SandboxGuard};
//! tplab_sandbox::install_signal_cleanup()?;            // Ctrl-C / SIGTERM tear down
//! let sb = SandboxGuard::new(Sandbox::up(SandboxConfig::default()).await?);
//! let out = sb.command(&Role::Pod, "ping -c1 203.0.113.10")?.output().await;
//! # let _ = out; Ok(()) }
//! ```
//! Every `main()` linking this crate must call [`dispatch_if_daemon`] first: the world's
//! HTTP server is this same binary re-executed with [`DAEMON_MARKER`] as `argv[1]`.
//!
//! Lifecycle: the state of each sandbox is `/run/tplab/sandboxes/<id>.json`
//! ([`Sandbox::attach`], [`Sandbox::list`]); its netns are `tplab-<id>-{pod,node,world}`.
//! [`Sandbox::down`] / [`teardown`] remove one sandbox (netns, daemons, processes still
//! inside its netns, state, `/sys/fs/bpf/tplab/<id>`); [`down`] / [`down_all`] do so for
//! one / every sandbox of the caller that no live process uses ([`DownOptions`] widen
//! that), also after a SIGKILL. Every process using a sandbox holds its lock
//! (`<id>.lock`, flock) as long as it holds the [`Sandbox`]; the owner is in the state.
//! [`install_signal_cleanup`] kills running lab commands' process groups ([`CommandGroup`])
//! and tears down what this process built on SIGINT/SIGTERM/SIGHUP (exit 130/143/129);
//! [`Sandbox::persist`] exempts a sandbox meant to outlive the process.
//! Ids are validated before any path is built from them.
//! Nothing is ever changed in the host's netns: links are created inside the sandbox's
//! namespaces, sysctls are written from threads inside them, iptables runs in the node netns.

mod cleanup;
mod config;
mod daemon;
mod error;
mod facts;
mod groups;
mod guard;
mod ids;
mod iptables;
mod iptables_rules;
mod lock;
mod netlink;
mod nftgen;
mod nodes;
mod pod_remove;
mod reap;
mod roles;
mod sandbox;
mod selectors;
mod services;
mod services_lb;
mod signals;
mod socklb_cgroup;
mod state;
mod sweep;
mod tools;
mod topology;
mod trace;

pub use cleanup::{DownReport, SkipReason, Skipped, teardown};
pub use config::{DatapathAttach, PodConfig, SandboxConfig};
pub use daemon::{DAEMON_MARKER, dispatch_if_daemon, exit_when_removed};
pub use error::{Result, SandboxError};
pub use facts::{FACT_NAMES, NODE_FACTS, POD_FACTS, SERVICE_FACTS};
pub use groups::CommandGroup;
pub use guard::SandboxGuard;
pub use ids::{NETNS_PREFIX, netns_name, valid_id};
pub use iptables_rules::{CILIUM_CHAINS, rules as iptables_rules};
pub use lock::lock_holders;
pub use nodes::{NODE_CIDR_PREFIX, NodePlan, agent_name, node_name};
pub use reap::reap as reap_netns_processes;
pub use roles::{BASE_PATH, Role};
pub use sandbox::{Sandbox, SandboxSummary};
pub use selectors::{Labels, selector_text};
pub use services::{SERVICE_CIDR, ServiceConfig, ServiceType};
pub use services_lb::ServicesLb;
pub use signals::{install_signal_cleanup, live_ids, shutting_down, teardown_registered};
pub use socklb_cgroup::{CGROUP_PARENT, cgroup_dir, cgroup2_root};
pub use state::{BPF_PIN_DIR, NodeState, Phase, PodState, STATE_DIR, SandboxState};
pub use sweep::{DownOptions, caller_uid, down, down_all, down_matching};
pub use tools::{check_privileges, debian_package, has_tool, install_command, missing_tools};
