//! The sandbox datapath: `from_container` on the lxc ingress and `to_container` on its
//! egress, as LEGACY tc filters (clsact + netlink) so `tc filter show dev lxc… ingress`
//! lists them as in the seed. Legacy filters outlive this process on purpose (the sandbox
//! keeps running after `tplab sandbox up` exits); [`detach_all`] and
//! [`crate::cleanup_pins`] remove them, idempotently, even after a SIGKILL.

use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use aya::EbpfLoader;
use aya::programs::{SchedClassifier, TcAttachType};

use crate::bpffs::{cleanup_pin_dir, ensure_bpffs_for};
use crate::ct::CT_PIN_NAME;
use crate::error::{EbpfError, error_chain};
use crate::objects::{FROM_CONTAINER, MAP_CT, PROG_FROM_CONTAINER, PROG_TO_CONTAINER};
use crate::tc_attach::add_bpf_filter;
use crate::tc_cleanup;

/// Tunables of the datapath.
#[derive(Debug, Clone)]
pub struct DatapathOptions {
    /// Written in each CT entry as `SourceSecurityID` (the seed's pod identity by default).
    pub security_id: u32,
}

impl Default for DatapathOptions {
    fn default() -> Self {
        DatapathOptions { security_id: 42837 }
    }
}

/// An attached datapath. Dropping it does NOT detach (the filters must outlive the
/// process); call [`Datapath::detach`].
#[derive(Debug, Clone)]
pub struct Datapath {
    pub node_netns: PathBuf,
    pub lxc_ifname: String,
    pub pin_dir: PathBuf,
    /// Kernel ids of the two loaded programs (`from_container`, `to_container`).
    pub prog_ids: Vec<u32>,
}

const HOOKS: [(&str, TcAttachType, &str, &str); 2] = [
    (
        PROG_FROM_CONTAINER,
        TcAttachType::Ingress,
        "ingress",
        FILTER_FROM_CONTAINER,
    ),
    (
        PROG_TO_CONTAINER,
        TcAttachType::Egress,
        "egress",
        FILTER_TO_CONTAINER,
    ),
];

impl Datapath {
    /// Loads the programs, pins the CT map at `<pin_dir>/ct` and attaches both filters to
    /// `lxc_ifname` inside `node_netns`. Re-attaching replaces earlier filters of ours.
    pub fn attach(node_netns: &Path, lxc_ifname: &str, pin_dir: &Path) -> Result<Self, EbpfError> {
        Self::attach_with(node_netns, lxc_ifname, pin_dir, &DatapathOptions::default())
    }

    pub fn attach_with(
        node_netns: &Path,
        lxc_ifname: &str,
        pin_dir: &Path,
        opts: &DatapathOptions,
    ) -> Result<Self, EbpfError> {
        if !tplab_netns::have_privileges() {
            return Err(EbpfError::NoPrivilege {
                action: format!("attach the datapath to {lxc_ifname}"),
            });
        }
        ensure_bpffs_for(pin_dir)?;
        std::fs::create_dir_all(pin_dir)
            .map_err(|e| EbpfError::io(format!("creating pin dir {}", pin_dir.display()), e))?;
        let (ns, ifname, pins, sec) = (
            node_netns.to_path_buf(),
            lxc_ifname.to_string(),
            pin_dir.to_path_buf(),
            opts.security_id,
        );
        let prog_ids = tplab_netns::run_in(Some(node_netns), move || {
            attach_here(&ns, &ifname, &pins, sec)
        })??;
        Ok(Datapath {
            node_netns: node_netns.to_path_buf(),
            lxc_ifname: lxc_ifname.to_string(),
            pin_dir: pin_dir.to_path_buf(),
            prog_ids,
        })
    }

    /// Removes both filters (and the clsact qdisc when nothing else uses it) and the pins.
    pub fn detach(&self) -> Result<(), EbpfError> {
        detach_all(&self.node_netns, &self.lxc_ifname)?;
        cleanup_pin_dir(&self.pin_dir)
    }
}

/// Removes tplab's datapath filters from `ifname` in `netns` (and the clsact qdisc if it is
/// left empty). Idempotent: a missing netns, interface or filter is not an error.
pub fn detach_all(netns: &Path, ifname: &str) -> Result<(), EbpfError> {
    if !netns.exists() {
        return Ok(());
    }
    tc_cleanup::remove_filters(
        netns,
        ifname,
        &[
            FILTER_FROM_CONTAINER,
            FILTER_TO_CONTAINER,
            PROG_FROM_CONTAINER,
            PROG_TO_CONTAINER,
        ],
    )
}

/// Filter names as `tc filter show` prints them (Cilium's loader style, tplab's object).
pub const FILTER_FROM_CONTAINER: &str = "tplab_lxc.o:[from-container]";
pub const FILTER_TO_CONTAINER: &str = "tplab_lxc.o:[to-container]";

fn attach_here(ns: &Path, ifname: &str, pins: &Path, sec: u32) -> Result<Vec<u32>, EbpfError> {
    let Ok(ifindex) = nix::net::if_::if_nametoindex(ifname) else {
        return Err(EbpfError::NoInterface {
            ifname: ifname.into(),
            netns: ns.display().to_string(),
        });
    };
    let mut bpf = EbpfLoader::new()
        .map_pin_path(MAP_CT, pins.join(CT_PIN_NAME))
        .override_global("tplab_security_id", &sec, true)
        .load(FROM_CONTAINER)
        .map_err(|e| EbpfError::from_object("from_container.bpf.o", &e))?;
    if let Err(e) = aya::programs::tc::qdisc_add_clsact(ifname) {
        // EEXIST: the qdisc is already there (ours from a previous attach, or someone's).
        let text = error_chain(&e);
        if !text.contains("exists") {
            return Err(attach_err(PROG_FROM_CONTAINER, ifname, "clsact", ns, text));
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| EbpfError::io("building a runtime for netlink", e))?;
    let mut ids = Vec::new();
    for (name, hook, dir, filter) in HOOKS {
        let prog: &mut SchedClassifier = bpf
            .program_mut(name)
            .and_then(|p| p.try_into().ok())
            .ok_or_else(|| EbpfError::MissingProgram {
                program: name.into(),
                object: "from_container.bpf.o".into(),
            })?;
        prog.load().map_err(|e| EbpfError::from_load(name, e))?;
        // Replace, never stack: drop an older filter of ours on this hook first.
        for old in [filter, name] {
            let _ = aya::programs::tc::qdisc_detach_program(ifname, hook, old);
        }
        let fd = prog
            .fd()
            .map_err(|e| attach_err(name, ifname, dir, ns, error_chain(&e)))?
            .as_fd()
            .as_raw_fd();
        // The filter holds its own reference: it outlives this process on purpose.
        rt.block_on(add_bpf_filter(ifindex, dir == "egress", fd, filter))
            .map_err(|e| attach_err(name, ifname, dir, ns, e))?;
        if let Ok(info) = prog.info() {
            ids.push(info.id());
        }
    }
    Ok(ids)
}

fn attach_err(program: &str, ifname: &str, dir: &str, ns: &Path, detail: String) -> EbpfError {
    if detail.contains("Operation not permitted") {
        return EbpfError::NoPrivilege {
            action: format!("attach `{program}` to {ifname}"),
        };
    }
    EbpfError::Attach {
        program: program.into(),
        ifname: ifname.into(),
        direction: dir.into(),
        netns: ns.display().to_string(),
        detail,
    }
}
