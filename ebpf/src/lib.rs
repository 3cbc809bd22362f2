//! tplab's eBPF side.
//!
//! - [`Datapath`]: the sandbox's `from_container`/`to_container` tc programs on the pod's
//!   lxc veth (legacy tc filters, visible to `tc filter show`), keeping a Cilium-shaped
//!   conntrack map pinned under a per-sandbox directory ([`ct_entries`] reads it from any
//!   process).
//! - [`Observer`]: non-intrusive TCX programs attached first on chosen interfaces, one
//!   [`PacketEvent`] per IPv4 packet through a ring buffer.
//! - [`check`]: pure packet-path and CT-map checks over those facts.
//! - [`cilium`]: the sandbox's answers to the seed's `cilium` commands (not Cilium).
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
pub mod objects;
pub mod observer;
pub mod proto;
mod tc_attach;
mod tc_cleanup;
pub mod trace;
pub mod verify;

pub use attached::{TcxProgram, tcx_programs};
pub use bpffs::{PIN_ROOT, cleanup_pin_dir, cleanup_pins, pin_dir_for};
pub use cilium::{CiliumCtx, cilium_main, cilium_run};
pub use ct::{CtDirection, CtEntry, ct_entries};
pub use datapath::{
    Datapath, DatapathOptions, FILTER_FROM_CONTAINER, FILTER_TO_CONTAINER, detach_all,
};
pub use error::EbpfError;
pub use observer::{Direction, ObservePoint, Observer, PacketEvent, sandbox_points};
pub use proto::Proto;
pub use trace::{Trace, describe_hop};
pub use verify::verify_object;
