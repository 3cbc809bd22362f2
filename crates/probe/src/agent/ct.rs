//! The `ct_maps` query: Cilium's CT maps read by pinned path on the node, with the
//! reader the sandbox's own `bpf_map` checks use (`tplab_ebpf::ct_entries_with`).

use tplab_ebpf::{CtLayout, EbpfError};

use super::serve::error;
use super::{Answer, CtMaps, ErrorCode};

/// The answer to a `ct_maps` query `id`.
pub fn answer(id: String, maps: &CtMaps) -> Answer {
    let root = maps.root();
    let shown = root.display().to_string();
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
