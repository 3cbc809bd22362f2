//! The kernel's own change notifications in a network namespace: rtnetlink multicast
//! groups (links, addresses, routes, neighbours, tc) and conntrack events. A watcher
//! wakes on these instead of re-reading every fact on a timer.
//!
//! Sockets are created on a thread inside the namespace: a netlink socket stays bound
//! to the namespace it was opened in, whatever thread reads it later.

use std::path::Path;

pub use netlink_sys::Socket;
use netlink_sys::{SocketAddr, protocols};

use crate::{FactKind, ProbeError};

// Legacy rtnetlink group bits (linux/rtnetlink.h), bound in one `bind`.
const RTMGRP_LINK: u32 = 0x1;
const RTMGRP_NEIGH: u32 = 0x4;
const RTMGRP_TC: u32 = 0x8;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV4_ROUTE: u32 = 0x40;
// linux/netfilter/nfnetlink.h: NFNLGRP_CONNTRACK_NEW = 1, _UPDATE = 2, _DESTROY = 3.
const NFNLGRP_CONNTRACK: [u32; 3] = [1, 2, 3];

/// Opened subscriptions of one namespace (non-blocking sockets, ready for an event loop).
pub struct Subscriptions {
    /// rtnetlink: links, addresses, routes, neighbours, tc filters.
    pub route: Socket,
    /// ctnetlink events; `None` when conntrack is unavailable there.
    pub conntrack: Option<Socket>,
}

/// Subscribes to the change notifications of the namespace at `ns` (`None`: this
/// process's own).
pub fn subscribe(ns: Option<&Path>) -> Result<Subscriptions, ProbeError> {
    let label = ns.map(|p| p.display().to_string()).unwrap_or_default();
    let owned = ns.map(Path::to_path_buf);
    let inner = label.clone();
    tplab_netns::run_in(owned.as_deref(), move || open(&inner))
        .map_err(|e| ProbeError::from_netns(&label, e))?
}

fn open(label: &str) -> Result<Subscriptions, ProbeError> {
    let action = "subscribing to rtnetlink notifications";
    let net = |e| ProbeError::netlink(label, action, None, e);
    let mut route = Socket::new(protocols::NETLINK_ROUTE).map_err(net)?;
    let groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_TC | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE;
    route.bind(&SocketAddr::new(0, groups)).map_err(net)?;
    route.set_non_blocking(true).map_err(net)?;
    // Conntrack events need nf_conntrack loaded; without it, conntrack checks fall
    // back to the periodic re-check.
    let conntrack = Socket::new(protocols::NETLINK_NETFILTER)
        .and_then(|mut s| {
            s.bind_auto()?;
            for g in NFNLGRP_CONNTRACK {
                s.add_membership(g)?;
            }
            s.set_non_blocking(true)?;
            Ok(s)
        })
        .ok();
    Ok(Subscriptions { route, conntrack })
}

/// The fact kinds an rtnetlink datagram's messages may have changed (one bit each).
pub fn route_changes(datagram: &[u8]) -> Vec<FactKind> {
    let mut kinds = Vec::new();
    let mut rest = datagram;
    // nlmsghdr: u32 len, u16 type, u16 flags, u32 seq, u32 pid.
    while rest.len() >= 16 {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let ty = u16::from_ne_bytes([rest[4], rest[5]]);
        let kind = match ty {
            16..=19 => Some(FactKind::Links),
            20..=23 => Some(FactKind::Addresses),
            24..=27 => Some(FactKind::Routes),
            28..=31 => Some(FactKind::Neighbours),
            // RTM_{NEW,DEL,GET}{QDISC,TCLASS,TFILTER}, RTM_*CHAIN: tc programs.
            36..=47 | 100..=102 => Some(FactKind::Bpf),
            _ => None,
        };
        if let Some(k) = kind
            && !kinds.contains(&k)
        {
            kinds.push(k);
        }
        // Messages are 4-byte aligned; a bad length ends the walk.
        let step = (len + 3) & !3;
        if len < 16 || step > rest.len() {
            break;
        }
        rest = &rest[step..];
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(ty: u16) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend(20u32.to_ne_bytes());
        m.extend(ty.to_ne_bytes());
        m.extend([0u8; 14]);
        m
    }

    #[test]
    fn datagrams_name_the_kinds_they_change() {
        let mut d = msg(24); // RTM_NEWROUTE
        d.extend(msg(28)); // RTM_NEWNEIGH
        d.extend(msg(25)); // RTM_DELROUTE: already named
        assert_eq!(
            route_changes(&d),
            vec![FactKind::Routes, FactKind::Neighbours]
        );
        assert_eq!(route_changes(&msg(16)), vec![FactKind::Links]);
        assert_eq!(route_changes(&msg(44)), vec![FactKind::Bpf]);
        assert!(route_changes(&[1, 2, 3]).is_empty(), "truncated: nothing");
        assert!(route_changes(&msg(3)).is_empty(), "NLMSG_DONE: nothing");
    }
}
