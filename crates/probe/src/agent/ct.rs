//! The `ct_maps` query: Cilium's CT maps read by pinned path on the node, with the
//! reader the sandbox's own `bpf_map` checks use (`tplab_ebpf::ct_entries_with`).

use std::path::{Path, PathBuf};

use tplab_ebpf::{CtLayout, EbpfError};

use super::serve::error;
use super::{Answer, CtMaps, ErrorCode};

/// The answer to a `ct_maps` query `id`.
pub fn answer(id: String, maps: &CtMaps) -> Answer {
    let asked = maps.root();
    let tried = candidates(&asked);
    let root = tried
        .iter()
        .find(|r| has_ct_pins(r))
        .cloned()
        .unwrap_or_else(|| asked.clone());
    let shown = tried
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" or ");
    let layout = match maps.cilium.as_deref() {
        None => CtLayout::SANDBOX,
        Some(version) => match CtLayout::for_cilium_version(version) {
            Ok(layout) => layout,
            Err(e) => return error(id, None, ErrorCode::CtLayout, e.to_string()),
        },
    };
    match tplab_ebpf::ct_entries_with(&root, layout) {
        Ok(entries) => Answer {
            id,
            netns: None,
            facts: None,
            ct_entries: Some(entries),
            observing: None,
            error: None,
        },
        Err(e) => {
            let code = match e {
                EbpfError::CtLayout { .. } | EbpfError::UnknownCiliumVersion { .. } => {
                    ErrorCode::CtLayout
                }
                _ => ErrorCode::Probe,
            };
            error(
                id,
                None,
                code,
                format!("reading the CT maps under {shown}: {e}"),
            )
        }
    }
}

/// Where the pins may be, as this agent sees the node: the root itself (an agent in the
/// node's mount namespace, or one that mounts it, as a sandbox's node role does), then
/// the same path in PID 1's root (a host-PID pod whose own mount namespace hides the
/// node's bpf filesystem, as a node pod on a real cluster).
fn candidates(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.to_path_buf()];
    if let Ok(rel) = root.strip_prefix("/") {
        let host = Path::new("/proc/1/root").join(rel);
        if host != root {
            out.push(host);
        }
    }
    out
}

/// Whether `root` holds either of Cilium's CT maps under `tc/globals`.
fn has_ct_pins(root: &Path) -> bool {
    let globals = root.join("tc/globals");
    ["cilium_ct4_global", "cilium_ct_any4_global"]
        .iter()
        .any(|m| globals.join(m).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_root_is_the_second_candidate() {
        let got = candidates(Path::new("/sys/fs/bpf"));
        assert_eq!(
            got,
            [
                PathBuf::from("/sys/fs/bpf"),
                PathBuf::from("/proc/1/root/sys/fs/bpf")
            ]
        );
        assert_eq!(candidates(Path::new("rel")), [PathBuf::from("rel")]);
    }

    #[test]
    fn a_missing_map_is_a_probe_error_naming_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let maps = CtMaps {
            bpf_root: Some(dir.path().to_path_buf()),
            cilium: Some("1.16.5".into()),
        };
        let a = answer("c".into(), &maps);
        let e = a.error.unwrap();
        assert_eq!(e.code, ErrorCode::Probe);
        assert!(
            e.message.contains(&dir.path().display().to_string()),
            "{}",
            e.message
        );
        assert!(e.message.contains("/proc/1/root"), "{}", e.message);
    }

    #[test]
    fn an_unknown_cilium_version_is_a_layout_error_naming_it() {
        let maps = CtMaps {
            bpf_root: None,
            cilium: Some("1.14.2".into()),
        };
        let e = answer("c".into(), &maps).error.unwrap();
        assert_eq!(e.code, ErrorCode::CtLayout);
        assert!(e.message.contains("1.14.2"), "{}", e.message);
    }
}
