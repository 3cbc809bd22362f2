//! Observation points and how they are identified in kernel events.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::EbpfError;

/// Where to observe: an interface in a netns, and the label checks refer to it by
/// (e.g. `pod:eth0`, `node:lxc`, `node:eth0`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservePoint {
    pub netns: PathBuf,
    pub ifname: String,
    pub label: String,
}

/// A point checked inside its netns, with the netns cookie reported in its events.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedPoint {
    pub label: String,
    pub ifname: String,
    pub netns_cookie: u64,
}

const SO_NETNS_COOKIE: libc::c_int = 71;

/// Resolves `ifname` and the netns cookie, from a thread already inside the netns.
pub(crate) fn resolve_here(point: &ObservePoint) -> Result<ResolvedPoint, EbpfError> {
    nix::net::if_::if_nametoindex(point.ifname.as_str()).map_err(|_| EbpfError::NoInterface {
        ifname: point.ifname.clone(),
        netns: point.netns.display().to_string(),
    })?;
    Ok(ResolvedPoint {
        label: point.label.clone(),
        ifname: point.ifname.clone(),
        netns_cookie: netns_cookie_here(&point.netns)?,
    })
}

/// The current thread's netns cookie (what `bpf_get_netns_cookie` returns in tc).
fn netns_cookie_here(ns: &Path) -> Result<u64, EbpfError> {
    // SAFETY: plain socket syscalls; the fd is wrapped in an OwnedFd right away.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(EbpfError::io(
            format!("socket in netns {}", ns.display()),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: fd is a fresh, valid descriptor we own.
    let sock = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let mut cookie: u64 = 0;
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<u64>()).unwrap_or(8);
    // SAFETY: cookie/len point to valid, correctly sized storage.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_NETNS_COOKIE,
            (&raw mut cookie).cast(),
            &raw mut len,
        )
    };
    if rc != 0 {
        return Err(EbpfError::io(
            format!("SO_NETNS_COOKIE in netns {}", ns.display()),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(cookie)
}

impl ObservePoint {
    pub fn new(
        netns: impl Into<PathBuf>,
        ifname: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        ObservePoint {
            netns: netns.into(),
            ifname: ifname.into(),
            label: label.into(),
        }
    }
}

/// The seed's hops with the labels checks use: `pod:eth0`, `node:lxc`, `node:<uplink>`
/// (the uplink label is `node:eth0` for the usual `eth0`).
pub fn sandbox_points(
    pod_netns: &Path,
    node_netns: &Path,
    lxc: &str,
    uplink: &str,
) -> Vec<ObservePoint> {
    vec![
        ObservePoint::new(pod_netns, "eth0", "pod:eth0"),
        ObservePoint::new(node_netns, lxc, "node:lxc"),
        ObservePoint::new(node_netns, uplink, format!("node:{uplink}")),
    ]
}
