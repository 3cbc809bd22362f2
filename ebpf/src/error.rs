//! Errors of the eBPF side, each with the context a student or instructor needs
//! (which program, interface, netns; the verifier log when the kernel refused).

use std::path::PathBuf;

use aya::programs::ProgramError;

#[derive(Debug, thiserror::Error)]
pub enum EbpfError {
    #[error(
        "no privilege to {action}: BPF needs root (or CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON); run tplab with sudo"
    )]
    NoPrivilege { action: String },
    #[error(
        "the kernel exposes no BTF (/sys/kernel/btf/vmlinux missing): tplab's eBPF programs need a kernel built with CONFIG_DEBUG_INFO_BTF=y"
    )]
    NoBtf,
    #[error("the verifier rejected program `{program}`: {reason}\n--- verifier log ---\n{log}")]
    Verifier {
        program: String,
        reason: String,
        log: String,
    },
    #[error(
        "this kernel has no TCX (needs Linux >= 6.6) so `{program}` cannot attach first on {ifname}: {detail}"
    )]
    NoTcx {
        program: String,
        ifname: String,
        detail: String,
    },
    #[error("parsing the eBPF object `{object}`: {detail}")]
    Object { object: String, detail: String },
    #[error("program `{program}` not found in the eBPF object `{object}`")]
    MissingProgram { program: String, object: String },
    #[error("map `{map}` not found or of the wrong type in `{object}`")]
    MissingMap { map: String, object: String },
    #[error("interface `{ifname}` not found in netns {netns}")]
    NoInterface { ifname: String, netns: String },
    #[error("attaching `{program}` to {ifname} {direction} (netns {netns}): {detail}")]
    Attach {
        program: String,
        ifname: String,
        direction: String,
        netns: String,
        detail: String,
    },
    #[error("the CT map is not pinned at {path} (is the datapath attached?)")]
    NotPinned { path: PathBuf },
    #[error("{action}: {detail}")]
    Map { action: String, detail: String },
    #[error(
        "the CT map {path} has {key}-byte keys and {value}-byte values, not the {layout} layout tplab reads ({want_key} and {want_value}): this map was written by a Cilium version whose CT layout tplab does not know"
    )]
    CtLayout {
        path: PathBuf,
        key: u32,
        value: u32,
        layout: &'static str,
        want_key: usize,
        want_value: usize,
    },
    #[error(
        "Cilium {version}: tplab does not know the CT map layout of this version (it reads Cilium {known}); the CT checks cannot read this agent's maps"
    )]
    UnknownCiliumVersion { version: String, known: String },
    #[error("netlink: {action} on {ifname} (netns {netns}): {detail}")]
    Netlink {
        action: String,
        ifname: String,
        netns: String,
        detail: String,
    },
    #[error(
        "socket load-balancing needs Linux >= {need} ({why}); this kernel is {have}: choose `services_lb: iptables` (kube-proxy's rules) for this lab"
    )]
    OldKernel {
        need: &'static str,
        why: &'static str,
        have: String,
    },
    #[error(
        "{path} is not a cgroup v2 directory: socket load-balancing attaches to a cgroup v2 (mount one with `mount -t cgroup2 none /sys/fs/cgroup`, or choose `services_lb: iptables`)"
    )]
    NotCgroup2 { path: PathBuf },
    #[error("attaching `{program}` to cgroup {cgroup}: {detail}")]
    CgroupAttach {
        program: String,
        cgroup: PathBuf,
        detail: String,
    },
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Netns(#[from] tplab_netns::NetnsError),
}

impl EbpfError {
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        let action = action.into();
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            return EbpfError::NoPrivilege { action };
        }
        EbpfError::Io { action, source }
    }

    /// Maps an aya program error met while loading `program` to the most telling variant.
    pub(crate) fn from_load(program: &str, err: ProgramError) -> Self {
        match err {
            ProgramError::LoadError {
                io_error,
                verifier_log,
            } => {
                // The verifier answers EACCES too: only an empty log means "no privilege".
                let log = verifier_log.to_string();
                if is_perm(&io_error) && log.trim().is_empty() {
                    return EbpfError::NoPrivilege {
                        action: format!("load program `{program}`"),
                    };
                }
                EbpfError::Verifier {
                    program: program.to_string(),
                    reason: io_error.to_string(),
                    log,
                }
            }
            ProgramError::SyscallError(e) if is_perm(&e.io_error) => EbpfError::NoPrivilege {
                action: format!("load program `{program}` ({})", e.call),
            },
            other => EbpfError::Object {
                object: program.to_string(),
                detail: other.to_string(),
            },
        }
    }

    /// Maps an aya error from `Ebpf::load` (maps, BTF, relocations).
    pub(crate) fn from_object(object: &str, err: &aya::EbpfError) -> Self {
        let detail = err.to_string();
        let low = detail.to_ascii_lowercase();
        if low.contains("operation not permitted") || low.contains("permission denied") {
            return EbpfError::NoPrivilege {
                action: format!("create the maps of `{object}`"),
            };
        }
        if matches!(err, aya::EbpfError::NoBTF) || low.contains("btf") && !btf_available() {
            return EbpfError::NoBtf;
        }
        EbpfError::Object {
            object: object.to_string(),
            detail: error_chain(err),
        }
    }
}

fn is_perm(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES))
}

/// True when the running kernel exposes its BTF.
pub fn btf_available() -> bool {
    std::path::Path::new("/sys/kernel/btf/vmlinux").exists()
}

/// `err: cause: cause` — aya errors often keep the useful part in `source()`.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}
