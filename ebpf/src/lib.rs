//! tplab's eBPF side.
//!
//! - [`Datapath`]: the sandbox's `cil_from_container`/`cil_to_container` programs on the
//!   pod's lxc veth (legacy tc filters visible to `tc filter show`, or TCX links), keeping
//!   Cilium 1.16's CT maps pinned under a per-sandbox bpf root ([`ct_entries`] reads them,
//!   or a real agent's under `/sys/fs/bpf`, from any process).
//! - [`Observer`]: non-intrusive TCX programs attached first on chosen interfaces, one
//!   [`PacketEvent`] per IPv4 packet through a ring buffer.
//! - [`check`]: pure packet-path and CT-map checks over those facts.
//! - [`cilium`]: the sandbox's answers to the seed's `cilium` commands (not Cilium).
//! - [`socklb`]: Cilium's socket load-balancing (cgroup `connect4`…) for Services.
//! - [`trace`]: readable "life of a packet" lines.
//!
//! The C sources and their committed objects live in `ebpf/bpf/`; `ebpf/build.sh` rebuilds them.

pub mod attached;
pub mod bpffs;
pub mod check;
pub mod cilium;
pub mod ct;
pub mod datapath;
pub mod error;
mod loader;
pub mod objects;
pub mod observer;
pub mod proto;
pub mod socklb;
mod tc_attach;
mod tc_cleanup;
pub mod trace;
pub mod verify;

pub use attached::{TcxProgram, tcx_programs};
pub use bpffs::{PIN_ROOT, cleanup_pin_dir, cleanup_pins, pin_dir_for, pin_dir_for_node};
pub use cilium::{CiliumCtx, cilium_main, cilium_run};
pub use ct::{CtDirection, CtEntry, CtLayout, ct_entries, ct_entries_with, ct_map_paths};
pub use datapath::{
    AttachMode, Datapath, DatapathOptions, detach_all, endpoint_links_dir, filter_name,
};
pub use error::EbpfError;
pub use loader::prewarm_loader;
pub use observer::{Direction, ObservePoint, Observer, PacketEvent, sandbox_points};
pub use proto::Proto;
pub use trace::{Follow, Nat, NatSide, Step, Trace, describe_hop};
pub use verify::verify_object;
