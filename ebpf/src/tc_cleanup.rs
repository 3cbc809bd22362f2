//! Removal of legacy tc filters (they outlive their loader) and of an emptied clsact qdisc.

use std::path::Path;

use aya::programs::TcAttachType;
use aya::programs::tc::TcError;
use futures::TryStreamExt;
use netlink_packet_route::tc::{TcAttribute, TcHandle};

use crate::error::{EbpfError, error_chain};

/// Removes every filter named after one of `names` from both hooks of `ifname` in `netns`,
/// then the clsact qdisc if no filter remains on it. A missing interface is not an error.
pub(crate) fn remove_filters(netns: &Path, ifname: &str, names: &[&str]) -> Result<(), EbpfError> {
    let owned: Vec<String> = names.iter().map(|s| (*s).to_string()).collect();
    let ifname_owned = ifname.to_string();
    let ns_label = netns.display().to_string();
    let detached = tplab_netns::run_in(Some(netns), move || -> Result<bool, EbpfError> {
        if nix::net::if_::if_nametoindex(ifname_owned.as_str()).is_err() {
            return Ok(false); // interface gone: its filters went with it
        }
        for name in &owned {
            for hook in [TcAttachType::Ingress, TcAttachType::Egress] {
                match aya::programs::tc::qdisc_detach_program(&ifname_owned, hook, name) {
                    Ok(()) => {}
                    // Nothing of that name on this hook.
                    Err(TcError::IoError(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        let text = error_chain(&e);
                        // ENOENT/EINVAL: the interface has no clsact qdisc at all.
                        if !(text.contains("No such file") || text.contains("Invalid argument")) {
                            return Err(EbpfError::Netlink {
                                action: format!("removing filter {name}"),
                                ifname: ifname_owned.clone(),
                                netns: ns_label.clone(),
                                detail: text,
                            });
                        }
                    }
                }
            }
        }
        Ok(true)
    })??;
    if detached {
        remove_clsact_if_empty(netns, ifname)?;
    }
    Ok(())
}

/// Deletes the clsact qdisc of `ifname` when neither hook has a filter left.
fn remove_clsact_if_empty(netns: &Path, ifname: &str) -> Result<(), EbpfError> {
    let ifname_owned = ifname.to_string();
    let ns_label = netns.display().to_string();
    tplab_netns::block_on_in_sync(Some(netns), move || async move {
        let nl_err = |action: &str, e: &dyn std::error::Error| EbpfError::Netlink {
            action: action.into(),
            ifname: ifname_owned.clone(),
            netns: ns_label.clone(),
            detail: error_chain(e),
        };
        let Ok(index) = nix::net::if_::if_nametoindex(ifname_owned.as_str()) else {
            return Ok(());
        };
        let index = i32::try_from(index).unwrap_or(i32::MAX);
        let (conn, handle, _) =
            rtnetlink::new_connection().map_err(|e| nl_err("opening a netlink socket", &e))?;
        tokio::spawn(conn);
        let mut has_clsact = false;
        let mut qdiscs = handle.qdisc().get().index(index).execute();
        while let Some(msg) = qdiscs
            .try_next()
            .await
            .map_err(|e| nl_err("listing qdiscs", &e))?
        {
            if msg.header.index == index
                && msg
                    .attributes
                    .iter()
                    .any(|a| matches!(a, TcAttribute::Kind(k) if k == "clsact"))
            {
                has_clsact = true;
            }
        }
        if !has_clsact {
            return Ok(());
        }
        for egress in [false, true] {
            let req = handle.traffic_filter(index).get();
            let req = if egress { req.egress() } else { req.ingress() };
            let mut filters = req.execute();
            if filters
                .try_next()
                .await
                .map_err(|e| nl_err("listing filters", &e))?
                .is_some()
            {
                return Ok(()); // someone else's filter: keep their qdisc
            }
        }
        let mut del = handle.qdisc().del(index);
        del.message_mut().header.parent = TcHandle::CLSACT;
        del.message_mut().header.handle = TcHandle {
            major: 0xffff,
            minor: 0,
        };
        match del.execute().await {
            Ok(()) => Ok(()),
            Err(e) if error_chain(&e).contains("No such file") => Ok(()),
            Err(e) => Err(nl_err("deleting the clsact qdisc", &e)),
        }
    })?
}
