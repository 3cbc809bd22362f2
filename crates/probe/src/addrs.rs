//! Addresses (`ip addr`).

use futures::TryStreamExt;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use serde::{Deserialize, Serialize};

use crate::error::ProbeError;
use crate::names;
use crate::session::{Session, name_of};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub ifname: String,
    pub ifindex: u32,
    /// `inet` or `inet6`.
    pub family: String,
    /// The interface's own address (`IFA_LOCAL`, else `IFA_ADDRESS`), without prefix.
    pub address: String,
    pub prefix_len: u8,
    pub scope: String,
    /// For point-to-point configurations, the peer address (`IFA_ADDRESS` != `IFA_LOCAL`).
    pub peer: Option<String>,
}

pub async fn collect(s: &mut Session) -> Result<Vec<Address>, ProbeError> {
    let msgs: Vec<AddressMessage> = s
        .handle
        .address()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(|e| ProbeError::rtnl(&s.netns, "dumping addresses", None, e))?;
    let links = s.links().await?;
    Ok(msgs.iter().filter_map(|m| from_message(m, links)).collect())
}

fn from_message(m: &AddressMessage, links: &[crate::links::Link]) -> Option<Address> {
    let family = match m.header.family {
        AddressFamily::Inet => "inet",
        AddressFamily::Inet6 => "inet6",
        _ => return None,
    };
    let mut local = None;
    let mut address = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            _ => {}
        }
    }
    let own = local.or(address)?;
    let peer = match (local, address) {
        (Some(l), Some(a)) if l != a => Some(a.to_string()),
        _ => None,
    };
    Some(Address {
        ifname: name_of(links, m.header.index),
        ifindex: m.header.index,
        family: family.into(),
        address: own.to_string(),
        prefix_len: m.header.prefix_len,
        scope: names::scope(u8::from(m.header.scope)),
        peer,
    })
}

/// The `addresses` collector of the kind table (`kinds.rs`).
pub(crate) async fn collect_for(
    s: &mut Session,
    _query: Option<&crate::query::AddressQuery>,
) -> Result<Vec<Address>, ProbeError> {
    collect(s).await
}
