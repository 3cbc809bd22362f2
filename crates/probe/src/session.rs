//! One probing session: a netlink route socket opened inside the target netns (on the
//! dedicated thread that `tplab_netns::block_on_in` gives us) and the link table that the
//! other collectors need to turn ifindexes into names.

use futures::TryStreamExt;
use netlink_packet_route::link::LinkMessage;

use crate::error::ProbeError;
use crate::links::{self, Link};

pub struct Session {
    pub handle: rtnetlink::Handle,
    pub netns: String,
    links: Option<Vec<Link>>,
}

impl Session {
    /// Opens the route socket in the *current thread's* netns. Must run inside a tokio
    /// runtime (the connection task is spawned on it).
    pub fn open(netns: String) -> Result<Self, ProbeError> {
        let (conn, handle, _) = rtnetlink::new_connection()
            .map_err(|e| ProbeError::netlink(&netns, "opening a netlink route socket", None, e))?;
        tokio::spawn(conn);
        Ok(Session {
            handle,
            netns,
            links: None,
        })
    }

    /// The namespace's links, dumped once per session.
    pub async fn links(&mut self) -> Result<&[Link], ProbeError> {
        if self.links.is_none() {
            let msgs: Vec<LinkMessage> = self
                .handle
                .link()
                .get()
                .execute()
                .try_collect()
                .await
                .map_err(|e| ProbeError::rtnl(&self.netns, "dumping links", None, e))?;
            self.links = Some(links::from_messages(&msgs));
        }
        Ok(self.links.as_deref().unwrap_or_default())
    }
}

pub fn name_of(links: &[Link], ifindex: u32) -> String {
    links
        .iter()
        .find(|l| l.ifindex == ifindex)
        .map_or_else(|| format!("if{ifindex}"), |l| l.name.clone())
}
