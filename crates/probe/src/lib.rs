//! Kernel facts for tplab checks, read straight from the kernel instead of parsing tool
//! output: links, addresses, routes (all tables), neighbours, BPF programs attached to
//! interfaces (legacy tc filters *and* TCX), conntrack entries, `nf_tables` firewall rules
//! `net.*` sysctls and TCP/UDP sockets (`sock_diag`) — in any network namespace — plus the matchers the `check` blocks
//! evaluate over them.
//!
//! Nothing here assumes the sandbox: a namespace is just an optional path, so the same
//! code runs in a node-side agent on a real cluster.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tplab_probe::ProbeError> {
//! use tplab_probe::{FactKind, Query, collect, evaluate};
//! let facts = collect(Some("/run/netns/pod".into()), FactKind::Routes).await?;
//! let q: Query = serde_yaml::from_str("route: {dst: default, gateway: 10.244.0.201}").unwrap();
//! println!("{:?}", evaluate(&q, &facts));
//! # Ok(()) }
//! ```

mod addrs;
pub mod agent;
mod bpf;
mod bpfinfo;
mod btfname;
mod collect;
mod conntrack;
mod ctparse;
mod ctproc;
mod error;
mod facts;
pub mod firewall;
mod kinds;
mod links;
mod names;
mod neigh;
pub mod notify;
pub mod query;
mod render;
mod routes;
mod session;
mod sockets;
mod sysctl;
mod tc;
mod tcx;
pub mod wire;

pub use addrs::Address;
pub use bpf::BpfProgram;
pub use collect::{
    collect, collect_conntrack_sync, collect_for, collect_for_sync, collect_many, collect_many_sync,
};
pub use conntrack::{ConntrackEntry, ConntrackSource};
pub use error::ProbeError;
pub use facts::{FactKind, Facts};
pub use firewall::{
    Firewall, FirewallChain, FirewallRule, collect_firewall, collect_firewall_sync,
};
pub use links::Link;
pub use neigh::Neighbour;
pub use query::{
    Matcher, Outcome, Query, QueryError, Verdict, evaluate, evaluate_in, fields, matching,
};
pub use render::render_text;
pub use routes::{NextHop, Route};
pub use sockets::Socket;
pub use sysctl::{
    Sysctl, read_all_net_sysctls, read_all_net_sysctls_sync, read_sysctls, read_sysctls_sync,
};
