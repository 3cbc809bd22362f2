//! TCX programs (Linux >= 6.6 multi-prog API), through `BPF_PROG_QUERY` on the ifindex.

use aya::programs::ProgramError;
use aya::programs::tc::{SchedClassifier, TcAttachType};

use crate::bpf::{BpfProgram, tag_hex};
use crate::error::ProbeError;

/// Queries both directions of `dev`. Runs on the netns thread: the interface name is
/// resolved in the calling thread's namespace.
pub fn collect(netns: &str, ifindex: u32, dev: &str) -> Result<Vec<BpfProgram>, ProbeError> {
    let mut out = Vec::new();
    for (direction, attach) in [
        ("ingress", TcAttachType::Ingress),
        ("egress", TcAttachType::Egress),
    ] {
        let infos = match SchedClassifier::query_tcx(dev, attach) {
            Ok((_revision, infos)) => infos,
            Err(e) => {
                let io = io_error(e);
                match io.raw_os_error() {
                    // The link vanished between the dump and the query: nothing attached.
                    Some(libc::ENODEV | libc::ENOENT) => continue,
                    Some(libc::EINVAL) => {
                        return Err(ProbeError::TcxUnsupported {
                            netns: netns.to_string(),
                            interface: dev.to_string(),
                            direction: direction.to_string(),
                        });
                    }
                    _ => {
                        return Err(ProbeError::bpf(
                            netns,
                            &format!("querying TCX {direction} programs"),
                            Some(dev),
                            io,
                        ));
                    }
                }
            }
        };
        for (order, info) in (0u32..).zip(infos.iter()) {
            let name = info.name_as_str().unwrap_or_default().to_string();
            out.push(BpfProgram {
                dev: dev.to_string(),
                ifindex,
                direction: direction.to_string(),
                attach: "tcx".into(),
                prog_name: Some(name.clone()),
                name,
                id: info.id(),
                tag: tag_hex(&info.tag().to_be_bytes()),
                direct_action: None,
                pref: None,
                handle: None,
                chain: None,
                order,
            });
        }
    }
    Ok(out)
}

/// Digs the errno out of aya's error layers.
fn io_error(e: ProgramError) -> std::io::Error {
    match e {
        ProgramError::SyscallError(s) => s.io_error,
        ProgramError::TcError(aya::programs::tc::TcError::IoError(io)) => io,
        other => std::io::Error::other(other.to_string()),
    }
}
