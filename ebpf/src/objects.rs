//! The committed eBPF objects, embedded so building tplab needs no clang.

use aya::include_bytes_aligned;

/// `from_container` (lxc ingress) and `to_container` (lxc egress), map `tplab_ct4`.
pub static FROM_CONTAINER: &[u8] = include_bytes_aligned!("../bpf/from_container.bpf.o");
/// `tplab_obs_ing` / `tplab_obs_egr`, maps `tplab_obs_rb` (ring buffer) and `tplab_obs_lost`.
pub static OBSERVER: &[u8] = include_bytes_aligned!("../bpf/observer.bpf.o");

/// Program names (the kernel truncates names to 15 bytes; these fit).
pub const PROG_FROM_CONTAINER: &str = "from_container";
pub const PROG_TO_CONTAINER: &str = "to_container";
pub const PROG_OBS_INGRESS: &str = "tplab_obs_ing";
pub const PROG_OBS_EGRESS: &str = "tplab_obs_egr";

/// Every program name tplab loads: what cleanup checks look for in `bpftool prog`.
pub const ALL_PROGRAMS: [&str; 4] = [
    PROG_FROM_CONTAINER,
    PROG_TO_CONTAINER,
    PROG_OBS_INGRESS,
    PROG_OBS_EGRESS,
];

pub const MAP_CT: &str = "tplab_ct4";
pub const MAP_OBS_RING: &str = "tplab_obs_rb";
pub const MAP_OBS_LOST: &str = "tplab_obs_lost";
