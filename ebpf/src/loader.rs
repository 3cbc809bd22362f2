//! One loader recipe for every tplab object.
//!
//! aya 0.14's `EbpfLoader::new()` reads and parses the kernel's BTF
//! (`/sys/kernel/btf/vmlinux`, 5.5 MB here) every time, although tplab's objects have no
//! CO-RE relocations and never use it. So callers make as few loaders as they can: one per
//! [`crate::Observer`] for all its points (it used to be one per point), one per datapath
//! attach. aya ≥ 0.15 reads the BTF only for objects that need it (`TargetBtf::System`)
//! but needs Rust 1.98; when the toolchain moves, upgrading aya removes the last parse
//! here, with no other change.

use aya::EbpfLoader;

/// A fresh loader (parses the kernel's BTF: make one per batch of loads).
pub(crate) fn loader() -> EbpfLoader<'static> {
    EbpfLoader::new()
}
