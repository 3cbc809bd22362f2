//! Links (`ip link`): name, MAC, state, MTU, kind, master and veth peer.

use netlink_packet_route::link::{LinkAttribute, LinkInfo, LinkMessage};
use serde::{Deserialize, Serialize};

use crate::names;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub ifindex: u32,
    pub name: String,
    /// Hardware address, lowercase `aa:bb:..`; absent for links without one.
    pub mac: Option<String>,
    /// Operational state as `ip link` prints it (`UP`, `DOWN`, `UNKNOWN`, ...).
    pub oper_state: String,
    /// Administratively up (`ip link set X up`).
    pub admin_up: bool,
    pub mtu: u32,
    /// `IFLA_INFO_KIND` (`veth`, `dummy`, `vlan`...); absent for physical/loopback links.
    pub kind: Option<String>,
    pub master: Option<String>,
    /// `IFLA_LINK`: for a veth, the peer's ifindex (in `peer_netns_id`'s netns when set).
    pub peer_ifindex: Option<u32>,
    /// Peer's name, when it lives in this same namespace.
    pub peer: Option<String>,
    /// `IFLA_LINK_NETNSID`: the peer's netns id as seen from this netns.
    pub peer_netns_id: Option<i32>,
    pub flags: Vec<String>,
}

pub fn from_messages(msgs: &[LinkMessage]) -> Vec<Link> {
    let mut links: Vec<Link> = msgs.iter().map(from_message).collect();
    let by_index: Vec<(u32, String)> = links.iter().map(|l| (l.ifindex, l.name.clone())).collect();
    let name = |i: u32| {
        by_index
            .iter()
            .find(|(x, _)| *x == i)
            .map(|(_, n)| n.clone())
    };
    let admin_up: Vec<(u32, bool)> = links.iter().map(|l| (l.ifindex, l.admin_up)).collect();
    for l in &mut links {
        if l.peer_netns_id.is_none() {
            l.peer = l.peer_ifindex.and_then(name);
            // `ip link` marks a link whose same-netns peer/lower link is down `M-DOWN`.
            let peer_up = l
                .peer_ifindex
                .and_then(|p| admin_up.iter().find(|(i, _)| *i == p));
            if peer_up.is_some_and(|(_, up)| !up) {
                l.flags.push("M-DOWN".into());
            }
        }
    }
    // The master's name needs the whole table too.
    for (msg, l) in msgs.iter().zip(links.iter_mut()) {
        l.master = msg.attributes.iter().find_map(|a| match a {
            LinkAttribute::Controller(i) => name(*i).or_else(|| Some(format!("if{i}"))),
            _ => None,
        });
    }
    links
}

fn from_message(msg: &LinkMessage) -> Link {
    let flags = msg.header.flags.bits();
    let mut link = Link {
        ifindex: msg.header.index,
        name: String::new(),
        mac: None,
        oper_state: "UNKNOWN".into(),
        admin_up: flags & 0x1 != 0,
        mtu: 0,
        kind: None,
        master: None,
        peer_ifindex: None,
        peer: None,
        peer_netns_id: None,
        flags: names::link_flags(flags),
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name.clone_from(n),
            LinkAttribute::Address(a) if !a.is_empty() => link.mac = Some(names::mac(a)),
            LinkAttribute::OperState(s) => link.oper_state = names::oper_state(u8::from(*s)),
            LinkAttribute::Mtu(m) => link.mtu = *m,
            LinkAttribute::Link(i) if *i != 0 => link.peer_ifindex = Some(*i),
            LinkAttribute::LinkNetNsId(id) => link.peer_netns_id = Some(*id),
            LinkAttribute::LinkInfo(infos) => {
                link.kind = infos.iter().find_map(|i| match i {
                    LinkInfo::Kind(k) => Some(k.to_string()),
                    _ => None,
                });
            }
            _ => {}
        }
    }
    // IFLA_LINK == own index means "no lower link" (unless the peer is in another netns,
    // where the same number is a different interface).
    if link.peer_netns_id.is_none() && link.peer_ifindex == Some(link.ifindex) {
        link.peer_ifindex = None;
    }
    link
}

/// The `links` collector of the kind table (`kinds.rs`).
pub(crate) async fn collect_for(
    s: &mut crate::session::Session,
    _query: Option<&crate::query::LinkQuery>,
) -> Result<Vec<Link>, crate::error::ProbeError> {
    Ok(s.links().await?.to_vec())
}
