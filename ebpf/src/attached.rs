//! Which BPF programs are attached to an interface through TCX (the legacy tc filters are
//! visible with `tc filter show`; TCX links are not, and bpftool < 7.3 does not list them).

use std::path::Path;

use aya::programs::{SchedClassifier, TcAttachType};
use serde::Serialize;

use crate::error::{EbpfError, error_chain};
use crate::observer::Direction;

/// One TCX-attached program, in chain order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcxProgram {
    pub dir: Direction,
    pub name: String,
    pub id: u32,
}

/// Lists the TCX programs on both hooks of `ifname` inside `netns`.
pub fn tcx_programs(netns: &Path, ifname: &str) -> Result<Vec<TcxProgram>, EbpfError> {
    let ifname = ifname.to_string();
    let ns = netns.display().to_string();
    tplab_netns::run_in(Some(netns), move || {
        let mut out = Vec::new();
        for (hook, dir) in [
            (TcAttachType::Ingress, Direction::Ingress),
            (TcAttachType::Egress, Direction::Egress),
        ] {
            let (_, progs) =
                SchedClassifier::query_tcx(&ifname, hook).map_err(|e| EbpfError::Netlink {
                    action: "querying TCX programs".into(),
                    ifname: ifname.clone(),
                    netns: ns.clone(),
                    detail: error_chain(&e),
                })?;
            out.extend(progs.iter().map(|p| TcxProgram {
                dir,
                name: p.name_as_str().unwrap_or_default().to_string(),
                id: p.id(),
            }));
        }
        Ok(out)
    })?
}
