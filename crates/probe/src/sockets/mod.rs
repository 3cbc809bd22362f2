//! Sockets of a namespace (`ss -tuanp`): TCP and UDP sockets of both families, read
//! from the kernel with `sock_diag` over netlink on the namespace's thread ([`diag`]),
//! with the processes holding each one found by its inode in `/proc/*/fd` ([`owners`]).

mod diag;
mod owners;

use serde::{Deserialize, Serialize};

use crate::error::ProbeError;

/// One socket, as `ss -tuanp` lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Socket {
    /// `tcp` or `udp`.
    pub proto: String,
    /// `inet` or `inet6` (as `address` records say).
    pub family: String,
    /// TCP state (`LISTEN`, `ESTABLISHED`, `TIME_WAIT`...); a UDP socket is `UNCONN`
    /// unless connected (`ESTABLISHED`), as `ss` says.
    pub state: String,
    /// The bound address: `0.0.0.0` / `::` for every address.
    pub local_address: String,
    pub local_port: u16,
    /// The peer's address (`0.0.0.0` / `::` when not connected).
    pub remote_address: String,
    pub remote_port: u16,
    /// The interface the socket is bound to (`SO_BINDTODEVICE`), if any.
    pub dev: Option<String>,
    /// The socket's inode (`ss -e`), how its owners are found.
    pub inode: u32,
    pub uid: u32,
    /// Names (`/proc/PID/comm`) of the processes holding it, sorted, without repeats.
    pub process: Vec<String>,
    /// Their process ids, ascending.
    pub pid: Vec<u32>,
}

crate::query::query_struct!(
    /// `socket:` — e.g. `{proto: tcp, state: listen, local_port: 8080, process: python3}`,
    /// read in the role's network namespace.
    SocketQuery { proto | "protocol", family, state, local_address | "local", local_port
        | "port", remote_address | "remote", remote_port, dev, inode, uid, process, pid }
);

/// Fields of a socket record.
pub(crate) const FIELDS: &[&str] = &[
    "proto",
    "family",
    "state",
    "local_address",
    "local_port",
    "remote_address",
    "remote_port",
    "dev",
    "inode",
    "uid",
    "process",
    "pid",
];

/// The `sockets` collector of the kind table (`kinds.rs`): every TCP and UDP socket of
/// the namespace, with their owners.
pub(crate) async fn collect_for(
    s: &mut crate::session::Session,
    _query: Option<&SocketQuery>,
) -> Result<Vec<Socket>, ProbeError> {
    let links = s.links().await?.to_vec();
    let mut sockets = diag::dump(&s.netns, &links)?;
    owners::fill(&mut sockets);
    sockets.sort();
    Ok(sockets)
}
