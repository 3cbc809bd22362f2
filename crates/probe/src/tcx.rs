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
            Err(e) => match query_error(netns, dev, direction, io_error(e)) {
                None => continue,
                Some(err) => return Err(err),
            },
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

/// Classifies a failed TCX query: `None` when the link vanished meanwhile (nothing is
/// attached), EINVAL = a kernel without TCX (< 6.6), EPERM = no privilege.
fn query_error(netns: &str, dev: &str, direction: &str, io: std::io::Error) -> Option<ProbeError> {
    match io.raw_os_error() {
        Some(libc::ENODEV | libc::ENOENT) => None,
        Some(libc::EINVAL) => Some(ProbeError::TcxUnsupported {
            netns: netns.to_string(),
            interface: dev.to_string(),
            direction: direction.to_string(),
        }),
        _ => Some(ProbeError::bpf(
            netns,
            &format!("querying TCX {direction} programs"),
            Some(dev),
            io,
        )),
    }
}

/// Digs the errno out of aya's error layers.
fn io_error(e: ProgramError) -> std::io::Error {
    match e {
        ProgramError::SyscallError(s) => s.io_error,
        ProgramError::TcError(aya::programs::tc::TcError::IoError(io)) => io,
        other => std::io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(errno: i32) -> Option<ProbeError> {
        query_error(
            "ns1",
            "lxc1",
            "ingress",
            std::io::Error::from_raw_os_error(errno),
        )
    }

    #[test]
    fn query_errors_are_classified() {
        assert!(classify(libc::ENODEV).is_none());
        let old = classify(libc::EINVAL).unwrap();
        assert!(matches!(old, ProbeError::TcxUnsupported { .. }), "{old:?}");
        assert!(old.to_string().contains("Linux >= 6.6"), "{old}");
        assert!(old.to_string().contains("lxc1"), "{old}");
        assert!(matches!(
            classify(libc::EPERM),
            Some(ProbeError::Permission { .. })
        ));
        let other = classify(libc::EBADF).unwrap();
        assert!(
            other
                .to_string()
                .contains("querying TCX ingress programs on lxc1 in ns1"),
            "{other}"
        );
    }
}
