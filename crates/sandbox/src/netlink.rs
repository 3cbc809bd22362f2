//! Thin rtnetlink helpers used by the topology builder. A [`Nl`] is created on a thread
//! that already lives in the target netns (see `tplab_netns::block_on_in`), so its socket
//! talks to that namespace for its whole life.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::RawFd;

use futures::TryStreamExt;
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth};
use netlink_packet_route::route::{RouteProtocol, RouteScope};
use rtnetlink::{Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, RouteMessageBuilder};

use crate::error::{Result, SandboxError};

/// A netlink connection bound to one netns, with that netns' name for error messages.
pub(crate) struct Nl {
    handle: Handle,
    netns: String,
}

/// One veth pair: `name` stays here, `peer` may move to another netns at creation.
pub(crate) struct Veth<'a> {
    pub name: &'a str,
    pub mac: [u8; 6],
    pub peer: &'a str,
    pub peer_mac: [u8; 6],
    /// Netns fd the peer is created in (None: same netns).
    pub peer_netns: Option<RawFd>,
    pub mtu: u32,
    /// Bring `name` up at creation (saves a round trip).
    pub up: bool,
    /// Create `name` with ARP off (like the seed's `cilium_host`).
    pub noarp: bool,
}

impl Nl {
    /// Must run inside a tokio runtime on the netns thread.
    pub(crate) fn connect(netns: &str) -> Result<Nl> {
        let (conn, handle, _) = rtnetlink::new_connection()
            .map_err(|e| SandboxError::netlink(netns, "opening a netlink socket", &e))?;
        tokio::spawn(conn);
        Ok(Nl {
            handle,
            netns: netns.to_string(),
        })
    }

    fn err(&self, action: impl Into<String>, e: &rtnetlink::Error) -> SandboxError {
        SandboxError::netlink(&self.netns, action, e)
    }

    pub(crate) async fn add_veth(&self, v: &Veth<'_>) -> Result<()> {
        // The peer cannot be set up at creation (veth_open: ENOTCONN until both ends
        // are linked): its owner brings it up afterwards.
        let mut peer = LinkUnspec::new_with_name(v.peer)
            .address(v.peer_mac.to_vec())
            .mtu(v.mtu);
        if let Some(fd) = v.peer_netns {
            peer = peer.setns_by_fd(fd);
        }
        let mut msg = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Veth)
            .name(v.name)
            .address(v.mac.to_vec())
            .mtu(v.mtu)
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())));
        if v.up {
            msg = msg.up();
        }
        if v.noarp {
            msg = msg.arp(false);
        }
        self.handle
            .link()
            .add(msg.build())
            .execute()
            .await
            .map_err(|e| self.err(format!("creating veth {} <-> {}", v.name, v.peer), &e))
    }

    pub(crate) async fn index(&self, name: &str) -> Result<u32> {
        let link = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute()
            .try_next()
            .await
            .map_err(|e| self.err(format!("looking up link {name}"), &e))?;
        link.map(|l| l.header.index)
            .ok_or_else(|| SandboxError::Netlink {
                netns: self.netns.clone(),
                action: format!("looking up link {name}"),
                message: "no such link".into(),
            })
    }

    /// `ip link set <idx> up` (and `arp off` when `noarp`).
    pub(crate) async fn set_up(&self, index: u32, noarp: bool) -> Result<()> {
        let mut msg = LinkUnspec::new_with_index(index).up();
        if noarp {
            msg = msg.arp(false);
        }
        self.handle
            .link()
            .set(msg.build())
            .execute()
            .await
            .map_err(|e| self.err(format!("setting link #{index} up"), &e))
    }

    pub(crate) async fn add_addr(&self, index: u32, ip: Ipv4Addr, prefix: u8) -> Result<()> {
        self.handle
            .address()
            .add(index, IpAddr::V4(ip), prefix)
            .execute()
            .await
            .map_err(|e| self.err(format!("adding {ip}/{prefix} on link #{index}"), &e))
    }

    /// `ip route add <dst>/<prefix> dev <idx> scope link`.
    pub(crate) async fn route_dev(&self, index: u32, dst: Ipv4Addr, prefix: u8) -> Result<()> {
        let msg = RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(dst, prefix)
            .output_interface(index)
            .scope(RouteScope::Link)
            .protocol(RouteProtocol::Boot)
            .build();
        self.handle
            .route()
            .add(msg)
            .execute()
            .await
            .map_err(|e| self.err(format!("adding route {dst}/{prefix} dev #{index}"), &e))
    }

    /// `ip route add default via <gw> dev <idx>`.
    pub(crate) async fn route_default(&self, index: u32, gw: Ipv4Addr) -> Result<()> {
        let msg = RouteMessageBuilder::<Ipv4Addr>::new()
            .gateway(gw)
            .output_interface(index)
            .protocol(RouteProtocol::Boot)
            .build();
        self.handle
            .route()
            .add(msg)
            .execute()
            .await
            .map_err(|e| self.err(format!("adding default route via {gw}"), &e))
    }
}

impl Nl {
    /// `ip link add <name> type bridge` (up).
    pub(crate) async fn add_bridge(&self, name: &str) -> Result<u32> {
        self.handle
            .link()
            .add(LinkBridge::new(name).build())
            .execute()
            .await
            .map_err(|e| self.err(format!("creating bridge {name}"), &e))?;
        self.index(name).await
    }

    /// `ip link set <port> master <bridge> up`.
    pub(crate) async fn enslave(&self, port: &str, bridge: u32) -> Result<()> {
        let index = self.index(port).await?;
        let msg = LinkUnspec::new_with_index(index).controller(bridge).up();
        self.handle
            .link()
            .set(msg.build())
            .execute()
            .await
            .map_err(|e| self.err(format!("adding {port} to bridge #{bridge}"), &e))
    }

    /// `ip route add <dst>/<prefix> via <gw> dev <idx>` (as Cilium's
    /// `auto-direct-node-routes` installs a route to another node's pod CIDR).
    pub(crate) async fn route_via(
        &self,
        index: u32,
        dst: Ipv4Addr,
        prefix: u8,
        gw: Ipv4Addr,
    ) -> Result<()> {
        let msg = RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(dst, prefix)
            .gateway(gw)
            .output_interface(index)
            .protocol(RouteProtocol::Boot)
            .build();
        self.handle
            .route()
            .add(msg)
            .execute()
            .await
            .map_err(|e| self.err(format!("adding route {dst}/{prefix} via {gw}"), &e))
    }
}

/// Writes `value` to `/proc/sys/<key>` of the calling thread's netns.
pub(crate) fn sysctl(netns: &str, key: &str, value: &str) -> Result<()> {
    let path = format!("/proc/sys/{key}");
    std::fs::write(&path, value).map_err(|source| SandboxError::Sysctl {
        netns: netns.to_string(),
        path,
        source,
    })
}
