//! The committed eBPF objects, embedded so building tplab needs no clang.

use aya::include_bytes_aligned;

/// Cilium-named endpoint programs `cil_from_container` (lxc ingress) and
/// `cil_to_container` (lxc egress), maps `cilium_ct4_global` / `cilium_ct_any4_global`.
pub static BPF_LXC: &[u8] = include_bytes_aligned!("../bpf/bpf_lxc.o");
/// The object's file name, as Cilium names its endpoint object.
pub const BPF_LXC_OBJECT: &str = "bpf_lxc.o";
/// `tplab_obs_ing` / `tplab_obs_egr`, maps `tplab_obs_rb` (ring buffer) and `tplab_obs_lost`.
pub static OBSERVER: &[u8] = include_bytes_aligned!("../bpf/observer.bpf.o");
/// The socket load-balancer: `cil_sock4_*` cgroup programs, maps `cilium_lb4_*`.
pub static SOCK_LB: &[u8] = include_bytes_aligned!("../bpf/sock_lb.bpf.o");
pub const SOCK_LB_OBJECT: &str = "sock_lb.bpf.o";
/// Its programs, as Cilium names its `bpf_sock.o` ones.
pub const SOCK_LB_PROGRAMS: [&str; 4] = [
    "cil_sock4_connect",
    "cil_sock4_sendmsg",
    "cil_sock4_recvmsg",
    "cil_sock4_getpeername",
];

/// Program (function) names, as Cilium's. The kernel keeps 15 bytes of a program's name
/// (`cil_from_contai`); bpftool prints the whole name from BTF.
pub const PROG_FROM_CONTAINER: &str = "cil_from_container";
pub const PROG_TO_CONTAINER: &str = "cil_to_container";
pub const PROG_OBS_INGRESS: &str = "tplab_obs_ing";
pub const PROG_OBS_EGRESS: &str = "tplab_obs_egr";

/// Every program name tplab loads: what cleanup checks look for in `bpftool prog`.
pub const ALL_PROGRAMS: [&str; 8] = [
    PROG_FROM_CONTAINER,
    PROG_TO_CONTAINER,
    PROG_OBS_INGRESS,
    PROG_OBS_EGRESS,
    SOCK_LB_PROGRAMS[0],
    SOCK_LB_PROGRAMS[1],
    SOCK_LB_PROGRAMS[2],
    SOCK_LB_PROGRAMS[3],
];

pub use crate::ct::{CT_MAP_ANY as MAP_CT_ANY, CT_MAP_TCP as MAP_CT_TCP};
pub const MAP_OBS_RING: &str = "tplab_obs_rb";
pub const MAP_OBS_LOST: &str = "tplab_obs_lost";
