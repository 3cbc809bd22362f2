//! Neighbour (ARP / NDP) entries (`ip neigh`).

use futures::TryStreamExt;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use serde::{Deserialize, Serialize};

use crate::error::ProbeError;
use crate::names;
use crate::session::{Session, name_of};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neighbour {
    pub ip: String,
    /// Link-layer address, lowercase; absent while INCOMPLETE/FAILED.
    pub lladdr: Option<String>,
    pub dev: String,
    pub ifindex: u32,
    /// `inet` or `inet6`.
    pub family: String,
    /// Main NUD state word (`REACHABLE`, `STALE`, `PERMANENT`...).
    pub state: String,
    /// Every NUD state bit set, as `ip -j neigh` lists them.
    pub states: Vec<String>,
    /// `NTF_ROUTER` (IPv6 neighbours that are routers).
    pub router: bool,
}

pub async fn collect(s: &mut Session) -> Result<Vec<Neighbour>, ProbeError> {
    let msgs: Vec<NeighbourMessage> = s
        .handle
        .neighbours()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(|e| ProbeError::rtnl(&s.netns, "dumping neighbours", None, e))?;
    let links = s.links().await?;
    Ok(msgs.iter().filter_map(|m| from_message(m, links)).collect())
}

fn from_message(m: &NeighbourMessage, links: &[crate::links::Link]) -> Option<Neighbour> {
    let family = match m.header.family {
        AddressFamily::Inet => "inet",
        AddressFamily::Inet6 => "inet6",
        _ => return None,
    };
    let mut ip = None;
    let mut lladdr = None;
    for a in &m.attributes {
        match a {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => {
                ip = Some(v4.to_string());
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => {
                ip = Some(v6.to_string());
            }
            NeighbourAttribute::LinkLayerAddress(l) if !l.is_empty() => {
                lladdr = Some(names::mac(l));
            }
            _ => {}
        }
    }
    let states = names::nud_states(u16::from(m.header.state));
    Some(Neighbour {
        ip: ip?,
        lladdr,
        dev: name_of(links, m.header.ifindex),
        ifindex: m.header.ifindex,
        family: family.into(),
        state: states.first().cloned().unwrap_or_default(),
        states,
        router: m.header.flags.bits() & 0x80 != 0,
    })
}

/// The `neighbours` collector of the kind table (`kinds.rs`).
pub(crate) async fn collect_for(
    s: &mut Session,
    _query: Option<&crate::query::NeighbourQuery>,
) -> Result<Vec<Neighbour>, ProbeError> {
    collect(s).await
}
