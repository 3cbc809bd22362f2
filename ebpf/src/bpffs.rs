//! Where pinned maps live, and their removal.
//!
//! Pins go under [`PIN_ROOT`], a bpffs tplab mounts itself under /run rather than
//! /sys/fs/bpf: `ip netns exec` (and tplab's own role shells) remount /sys for the target
//! netns, which hides /sys/fs/bpf, while /run stays visible, so the agent role can still
//! read the CT map.

use std::path::{Path, PathBuf};

use crate::error::EbpfError;

/// Root of tplab's pins: `<PIN_ROOT>/<sandbox-id>/ct` is a sandbox's CT map.
pub const PIN_ROOT: &str = "/run/tplab/bpf";

const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// Pin directory of a sandbox.
pub fn pin_dir_for(sandbox_id: &str) -> PathBuf {
    Path::new(PIN_ROOT).join(sandbox_id)
}

/// Pin directory (bpf root) of node `node`'s agent in a sandbox: node 1's is the
/// sandbox's own (the seed's single node), node k's `node<k>` inside it, so each node has
/// its own CT maps and endpoint links, and removing the sandbox's removes them all.
pub fn pin_dir_for_node(sandbox_id: &str, node: usize) -> PathBuf {
    let dir = pin_dir_for(sandbox_id);
    if node <= 1 {
        dir
    } else {
        dir.join(format!("node{node}"))
    }
}

/// True when `path` is on a bpf filesystem.
pub fn is_bpffs(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .is_ok_and(|s| s.filesystem_type().0 & 0xffff_ffff == BPF_FS_MAGIC)
}

/// Makes sure `dir` is on a bpffs, mounting one at [`PIN_ROOT`] when needed.
pub fn ensure_bpffs_for(dir: &Path) -> Result<(), EbpfError> {
    let mut probe = dir.to_path_buf();
    while !probe.exists() {
        if !probe.pop() {
            break;
        }
    }
    let root = Path::new(PIN_ROOT);
    if is_bpffs(&probe) {
        if dir.starts_with(root) {
            tighten(root);
        }
        return Ok(());
    }
    if !dir.starts_with(root) {
        return Err(EbpfError::Map {
            action: format!("pinning under {}", dir.display()),
            detail: format!("not a bpf filesystem; use a directory under {PIN_ROOT}"),
        });
    }
    std::fs::create_dir_all(root).map_err(|e| EbpfError::io(format!("creating {PIN_ROOT}"), e))?;
    if !is_bpffs(root) {
        // bpffs defaults to 1777; only root should create pins here.
        nix::mount::mount(
            Some("bpf"),
            root,
            Some("bpf"),
            nix::mount::MsFlags::empty(),
            Some("mode=0755"),
        )
        .map_err(|e| EbpfError::io(format!("mounting bpffs on {PIN_ROOT}"), e.into()))?;
    }
    tighten(root);
    Ok(())
}

/// A mount made by someone else may have kept bpffs' default 1777: only root should pin.
fn tighten(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(root)
        && meta.permissions().mode() & 0o002 != 0
    {
        let _ = std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755));
    }
}

/// Removes a pin directory and everything pinned in it. Missing is fine (idempotent).
pub fn cleanup_pin_dir(dir: &Path) -> Result<(), EbpfError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(EbpfError::io(format!("removing {}", dir.display()), e)),
    }
}

/// Removes the pins of sandbox `sandbox_id` (for `sandbox down --all`, even after SIGKILL).
pub fn cleanup_pins(sandbox_id: &str) -> Result<(), EbpfError> {
    if sandbox_id.is_empty() || sandbox_id.contains('/') || sandbox_id.starts_with('.') {
        return Err(EbpfError::Map {
            action: "cleaning pins".into(),
            detail: format!("invalid sandbox id `{sandbox_id}`"),
        });
    }
    cleanup_pin_dir(&pin_dir_for(sandbox_id))
}
