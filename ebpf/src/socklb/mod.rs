//! Socket load-balancing: Cilium's kube-proxy replacement at the socket layer. The
//! `cil_sock4_*` programs of `sock_lb.bpf.o` are attached to a cgroup (v2) that the
//! sandbox's pod and node processes run in; `connect()` to a Service's `ClusterIP:port`
//! is rewritten to a backend before any packet is sent, from the maps
//! `cilium_lb4_services_v2` / `cilium_lb4_backends_v3` (Cilium's names and layout), pinned
//! at `<bpf root>/tc/globals/` like Cilium's. The links are pinned too, so the programs stay
//! attached after this process exits; [`crate::cleanup_pin_dir`] and the cgroup's removal
//! detach them.

mod attach;
pub mod layout;
mod read;

use std::net::Ipv4Addr;

pub use attach::{SockLbAttached, attach, check_kernel, link_pin_dir};
pub use read::{LbEntry, lb_entries, services_map_path};

/// Cilium's map names, as `bpftool map` shows them.
pub const MAP_SERVICES: &str = "cilium_lb4_services_v2";
pub const MAP_BACKENDS: &str = "cilium_lb4_backends_v3";
pub const MAP_REVERSE_SK: &str = "cilium_lb4_reverse_sk";
pub const MAPS: [&str; 3] = [MAP_SERVICES, MAP_BACKENDS, MAP_REVERSE_SK];

/// One Service frontend and its backends, as the maps hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbService {
    /// Cilium's service id (`rev_nat_index`, the `ID` of `cilium service list`), from 1.
    pub id: u16,
    pub frontend: (Ipv4Addr, u16),
    pub backends: Vec<(Ipv4Addr, u16)>,
}
