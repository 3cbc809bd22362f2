//! Routes of every table (`ip route show table all`, IPv4 and IPv6).

use futures::TryStreamExt;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use serde::{Deserialize, Serialize};

use crate::error::ProbeError;
use crate::names;
use crate::session::{Session, name_of};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// `inet` or `inet6`.
    pub family: String,
    /// `main`, `local`, `default` or the table number.
    pub table: String,
    /// `default` for 0/0, else `addr/len` (always with the prefix length).
    pub dst: String,
    pub gateway: Option<String>,
    pub dev: Option<String>,
    pub scope: String,
    pub protocol: String,
    /// Route type (`unicast`, `local`, `broadcast`, `blackhole`...).
    #[serde(rename = "type")]
    pub kind: String,
    pub prefsrc: Option<String>,
    pub metric: Option<u32>,
    /// ECMP routes: one entry per path (then `gateway`/`dev` are unset, as with `ip route`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nexthops: Vec<NextHop>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextHop {
    pub gateway: Option<String>,
    pub dev: Option<String>,
    /// `ip route`'s weight (`rtnh_hops + 1`).
    pub weight: u16,
}

pub async fn collect(s: &mut Session) -> Result<Vec<Route>, ProbeError> {
    let mut out = Vec::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut msg = RouteMessage::default();
        msg.header.address_family = family;
        // table 0 + dump = every table (the kernel ignores the table without strict checks).
        let msgs: Vec<RouteMessage> = s
            .handle
            .route()
            .get(msg)
            .execute()
            .try_collect()
            .await
            .map_err(|e| ProbeError::rtnl(&s.netns, "dumping routes", None, e))?;
        let links = s.links().await?;
        out.extend(msgs.iter().filter_map(|m| from_message(m, links)));
    }
    Ok(out)
}

fn addr(a: &RouteAddress) -> Option<String> {
    match a {
        RouteAddress::Inet(ip) => Some(ip.to_string()),
        RouteAddress::Inet6(ip) => Some(ip.to_string()),
        _ => None,
    }
}

fn from_message(m: &RouteMessage, links: &[crate::links::Link]) -> Option<Route> {
    let family = match m.header.address_family {
        AddressFamily::Inet => "inet",
        AddressFamily::Inet6 => "inet6",
        _ => return None,
    };
    let len = m.header.destination_prefix_length;
    let mut table = u32::from(m.header.table);
    let mut dst = None;
    let mut r = Route {
        family: family.into(),
        table: String::new(),
        dst: String::new(),
        gateway: None,
        dev: None,
        scope: names::scope(u8::from(m.header.scope)),
        protocol: names::route_protocol(u8::from(m.header.protocol)),
        kind: names::route_type(u8::from(m.header.kind)),
        prefsrc: None,
        metric: None,
        nexthops: Vec::new(),
    };
    for a in &m.attributes {
        match a {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(d) => dst = addr(d),
            RouteAttribute::Gateway(g) => r.gateway = addr(g),
            RouteAttribute::Oif(i) => r.dev = Some(name_of(links, *i)),
            RouteAttribute::PrefSource(p) => r.prefsrc = addr(p),
            RouteAttribute::Priority(p) => r.metric = Some(*p),
            RouteAttribute::MultiPath(hops) => {
                r.nexthops = hops
                    .iter()
                    .map(|h| NextHop {
                        gateway: h.attributes.iter().find_map(|a| match a {
                            RouteAttribute::Gateway(g) => addr(g),
                            _ => None,
                        }),
                        dev: (h.interface_index != 0).then(|| name_of(links, h.interface_index)),
                        weight: u16::from(h.hops) + 1,
                    })
                    .collect();
            }
            _ => {}
        }
    }
    r.table = names::table(table);
    r.dst = match (dst, len) {
        (_, 0) => "default".into(),
        (Some(d), l) => format!("{d}/{l}"),
        (None, l) => format!("?/{l}"),
    };
    Some(r)
}

/// The `routes` collector of the kind table (`kinds.rs`).
pub(crate) async fn collect_for(
    s: &mut Session,
    _query: Option<&crate::query::RouteQuery>,
) -> Result<Vec<Route>, ProbeError> {
    collect(s).await
}
