//! The sandbox datapath: `cil_from_container` on the lxc ingress and `cil_to_container` on
//! its egress, attached the way the chosen Cilium mode does:
//! - [`AttachMode::Tc`] (the seed's, Cilium < 1.16 or kernels < 6.6): LEGACY tc filters
//!   (clsact + netlink, `pref 1 handle 0x1 bpf da`) named `cil_from_container-<lxc>` as
//!   Cilium 1.16's loader names them, so `tc filter show dev lxc… ingress` lists them;
//! - [`AttachMode::Tcx`] (Cilium ≥ 1.16 on kernel ≥ 6.6): TCX links, pinned like Cilium
//!   pins an endpoint's links (`<bpf root>/cilium/endpoints/<id>/links/cil_from_container`);
//!   `tc filter show` prints nothing, `bpftool net show` lists them.
//!
//! Both outlive this process on purpose (the sandbox keeps running after `tplab sandbox
//! up` exits); [`detach_all`] and [`crate::cleanup_pins`] remove them, idempotently, even
//! after a SIGKILL (a TCX link goes with its pin).

use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use aya::programs::links::{FdLink, LinkOrder};
use aya::programs::tc::TcAttachOptions;
use aya::programs::{SchedClassifier, TcAttachType};
use serde::{Deserialize, Serialize};

use crate::bpffs::{cleanup_pin_dir, ensure_bpffs_for};
use crate::ct::{CT_MAP_ANY, CT_MAP_TCP, ct_map_paths};
use crate::error::{EbpfError, error_chain};
use crate::loader::loader;
use crate::objects::{BPF_LXC, BPF_LXC_OBJECT, PROG_FROM_CONTAINER, PROG_TO_CONTAINER};
use crate::tc_attach::add_bpf_filter;
use crate::tc_cleanup;

/// How the endpoint programs are attached to the lxc.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachMode {
    /// Legacy tc filters on a clsact qdisc (the seed's cluster).
    #[default]
    Tc,
    /// TCX links (Cilium ≥ 1.16 on Linux ≥ 6.6).
    Tcx,
}

impl AttachMode {
    pub fn name(self) -> &'static str {
        match self {
            AttachMode::Tc => "tc",
            AttachMode::Tcx => "tcx",
        }
    }
}

impl std::str::FromStr for AttachMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tc" | "legacy" => Ok(AttachMode::Tc),
            "tcx" => Ok(AttachMode::Tcx),
            other => Err(format!("unknown datapath attach mode `{other}` (tc, tcx)")),
        }
    }
}

/// Tunables of the datapath.
#[derive(Debug, Clone)]
pub struct DatapathOptions {
    /// Written in each CT entry as `SourceSecurityID` (the seed's pod identity by default).
    pub security_id: u32,
    /// Cilium endpoint id of the pod (names the TCX link pin directory).
    pub endpoint_id: u16,
    pub attach: AttachMode,
    /// Capacity of `cilium_ct4_global` (TCP flows).
    pub ct_tcp_max: u32,
    /// Capacity of `cilium_ct_any4_global` (the other flows).
    pub ct_any_max: u32,
}

/// CT map capacities of a sandbox. LRU hashes are always preallocated (the kernel refuses
/// `BPF_F_NO_PREALLOC` for them), so capacity is memory: 136 bytes an entry (the kernel's
/// `bytes_memlock`), 12.8 MiB per sandbox at the former 65536 + 32768. A lab's pod opens a handful of
/// flows; these are what `--bpf-ct-global-tcp-max` / `--bpf-ct-global-any-max` would set
/// on a real agent (Cilium accepts down to 1024), in Cilium's 2:1 TCP:any proportion.
pub const CT_TCP_MAX: u32 = 4096;
pub const CT_ANY_MAX: u32 = 2048;

impl Default for DatapathOptions {
    fn default() -> Self {
        DatapathOptions {
            security_id: 42837,
            endpoint_id: 762,
            attach: AttachMode::Tc,
            ct_tcp_max: CT_TCP_MAX,
            ct_any_max: CT_ANY_MAX,
        }
    }
}

/// An attached datapath. Dropping it does NOT detach (the programs must outlive the
/// process); call [`Datapath::detach`].
#[derive(Debug, Clone)]
pub struct Datapath {
    pub node_netns: PathBuf,
    pub lxc_ifname: String,
    pub pin_dir: PathBuf,
    pub attach: AttachMode,
    /// Kernel ids of the two loaded programs (`cil_from_container`, `cil_to_container`).
    pub prog_ids: Vec<u32>,
}

const HOOKS: [(&str, TcAttachType, &str); 2] = [
    (PROG_FROM_CONTAINER, TcAttachType::Ingress, "ingress"),
    (PROG_TO_CONTAINER, TcAttachType::Egress, "egress"),
];

/// Legacy filter name of `program` on `ifname`, as Cilium 1.16's loader names it.
pub fn filter_name(program: &str, ifname: &str) -> String {
    format!("{program}-{ifname}")
}

/// Filter names of tplab releases before the Cilium names (removed on detach too).
const OLD_FILTERS: [&str; 4] = [
    "tplab_lxc.o:[from-container]",
    "tplab_lxc.o:[to-container]",
    "from_container",
    "to_container",
];

/// Where an endpoint's TCX links are pinned under a bpf root (Cilium's layout).
pub fn endpoint_links_dir(bpf_root: &Path, endpoint_id: u16) -> PathBuf {
    bpf_root
        .join("cilium/endpoints")
        .join(endpoint_id.to_string())
        .join("links")
}

impl Datapath {
    /// Loads the programs, pins the CT maps at `<pin_dir>/tc/globals/…` and attaches both
    /// programs to `lxc_ifname` inside `node_netns` (legacy tc). Re-attaching replaces
    /// earlier programs of ours.
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
        let globals = pin_dir.join(crate::ct::GLOBALS_DIR);
        std::fs::create_dir_all(&globals)
            .map_err(|e| EbpfError::io(format!("creating pin dir {}", globals.display()), e))?;
        let links = endpoint_links_dir(pin_dir, opts.endpoint_id);
        if opts.attach == AttachMode::Tcx {
            std::fs::create_dir_all(&links)
                .map_err(|e| EbpfError::io(format!("creating pin dir {}", links.display()), e))?;
        }
        // Switching modes or re-attaching: drop what an earlier attach left.
        detach_all(node_netns, lxc_ifname)?;
        unpin_links(&links)?;
        let (ns, ifname, pins, o) = (
            node_netns.to_path_buf(),
            lxc_ifname.to_string(),
            pin_dir.to_path_buf(),
            opts.clone(),
        );
        let prog_ids = tplab_netns::run_in(Some(node_netns), move || {
            attach_here(&ns, &ifname, &pins, &o)
        })??;
        Ok(Datapath {
            node_netns: node_netns.to_path_buf(),
            lxc_ifname: lxc_ifname.to_string(),
            pin_dir: pin_dir.to_path_buf(),
            attach: opts.attach,
            prog_ids,
        })
    }

    /// Removes both programs (filters and clsact qdisc when nothing else uses it, or the
    /// TCX links) and the pins.
    pub fn detach(&self) -> Result<(), EbpfError> {
        detach_all(&self.node_netns, &self.lxc_ifname)?;
        cleanup_pin_dir(&self.pin_dir)
    }
}

/// Removes tplab's legacy datapath filters from `ifname` in `netns` (and the clsact qdisc
/// if it is left empty). Idempotent: a missing netns, interface or filter is not an error.
/// TCX links go with their pins ([`crate::cleanup_pin_dir`]).
pub fn detach_all(netns: &Path, ifname: &str) -> Result<(), EbpfError> {
    if !netns.exists() {
        return Ok(());
    }
    let current = [
        filter_name(PROG_FROM_CONTAINER, ifname),
        filter_name(PROG_TO_CONTAINER, ifname),
    ];
    let mut names: Vec<&str> = current.iter().map(String::as_str).collect();
    names.extend(OLD_FILTERS);
    names.extend([PROG_FROM_CONTAINER, PROG_TO_CONTAINER]);
    tc_cleanup::remove_filters(netns, ifname, &names)
}

/// Unpins the TCX links of an endpoint (each link detaches when its last reference goes).
fn unpin_links(dir: &Path) -> Result<(), EbpfError> {
    for prog in [PROG_FROM_CONTAINER, PROG_TO_CONTAINER] {
        let path = dir.join(prog);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(EbpfError::io(format!("unpinning {}", path.display()), e)),
        }
    }
    Ok(())
}

fn attach_here(
    ns: &Path,
    ifname: &str,
    pins: &Path,
    opts: &DatapathOptions,
) -> Result<Vec<u32>, EbpfError> {
    let Ok(ifindex) = nix::net::if_::if_nametoindex(ifname) else {
        return Err(EbpfError::NoInterface {
            ifname: ifname.into(),
            netns: ns.display().to_string(),
        });
    };
    let [tcp_pin, any_pin] = ct_map_paths(pins);
    let mut bpf = loader()
        .map_pin_path(CT_MAP_TCP, tcp_pin)
        .map_pin_path(CT_MAP_ANY, any_pin)
        .map_max_entries(CT_MAP_TCP, opts.ct_tcp_max)
        .map_max_entries(CT_MAP_ANY, opts.ct_any_max)
        .override_global("tplab_security_id", &opts.security_id, true)
        .load(BPF_LXC)
        .map_err(|e| EbpfError::from_object(BPF_LXC_OBJECT, &e))?;
    if opts.attach == AttachMode::Tc
        && let Err(e) = aya::programs::tc::qdisc_add_clsact(ifname)
    {
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
    let links = endpoint_links_dir(pins, opts.endpoint_id);
    let mut ids = Vec::new();
    for (name, hook, dir) in HOOKS {
        let prog: &mut SchedClassifier = bpf
            .program_mut(name)
            .and_then(|p| p.try_into().ok())
            .ok_or_else(|| EbpfError::MissingProgram {
                program: name.into(),
                object: BPF_LXC_OBJECT.into(),
            })?;
        prog.load().map_err(|e| EbpfError::from_load(name, e))?;
        match opts.attach {
            AttachMode::Tc => {
                let fd = prog
                    .fd()
                    .map_err(|e| attach_err(name, ifname, dir, ns, error_chain(&e)))?
                    .as_fd()
                    .as_raw_fd();
                // The filter holds its own reference: it outlives this process on purpose.
                rt.block_on(add_bpf_filter(
                    ifindex,
                    dir == "egress",
                    fd,
                    &filter_name(name, ifname),
                ))
                .map_err(|e| attach_err(name, ifname, dir, ns, e))?;
            }
            AttachMode::Tcx => {
                // After any other program (the observer attaches first).
                let id = prog
                    .attach_with_options(
                        ifname,
                        hook,
                        TcAttachOptions::TcxOrder(LinkOrder::default()),
                    )
                    .map_err(|e| tcx_err(name, ifname, dir, ns, &e))?;
                let link = prog
                    .take_link(id)
                    .map_err(|e| attach_err(name, ifname, dir, ns, error_chain(&e)))?;
                let fd_link: FdLink =
                    link.try_into()
                        .map_err(|e: aya::programs::links::LinkError| {
                            attach_err(name, ifname, dir, ns, error_chain(&e))
                        })?;
                // The pin keeps the link (and the program) after this process exits.
                fd_link
                    .pin(links.join(name))
                    .map_err(|e| attach_err(name, ifname, dir, ns, error_chain(&e)))?;
            }
        }
        if let Ok(info) = prog.info() {
            ids.push(info.id());
        }
    }
    Ok(ids)
}

fn tcx_err(
    program: &str,
    ifname: &str,
    dir: &str,
    ns: &Path,
    e: &aya::programs::ProgramError,
) -> EbpfError {
    let detail = error_chain(e);
    if detail.contains("Invalid argument") || detail.contains("not supported") {
        return EbpfError::NoTcx {
            program: program.into(),
            ifname: ifname.into(),
            detail,
        };
    }
    attach_err(program, ifname, dir, ns, detail)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_modes() {
        assert_eq!(
            filter_name(PROG_FROM_CONTAINER, "lxc0123456789ab"),
            "cil_from_container-lxc0123456789ab"
        );
        assert_eq!("tcx".parse(), Ok(AttachMode::Tcx));
        assert_eq!("tc".parse(), Ok(AttachMode::Tc));
        assert!("xdp".parse::<AttachMode>().is_err());
        assert_eq!(
            endpoint_links_dir(Path::new("/run/tplab/bpf/ab12"), 762),
            Path::new("/run/tplab/bpf/ab12/cilium/endpoints/762/links")
        );
    }
}
