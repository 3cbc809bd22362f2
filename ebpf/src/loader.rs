//! One loader recipe for every tplab object.
//!
//! aya 0.14's `EbpfLoader::new()` reads and parses the kernel's BTF
//! (`/sys/kernel/btf/vmlinux`, 5.5 MB here) every time, although tplab's objects have no
//! CO-RE relocations and never use it; its fields are private, so a parsed `Btf` cannot
//! be handed to a loader without that parse happening first. So callers make as few
//! loaders as they can: one per [`crate::Observer`] for all its points (it used to be one
//! per point), one per datapath attach; and `sandbox up` makes its one loader ahead, on a
//! thread, while the namespaces are built ([`prewarm_loader`]). aya ≥ 0.15 reads the BTF
//! only for objects that need it (`TargetBtf::System`) but needs Rust 1.98; when the
//! toolchain moves, upgrading aya removes the last parse here, with no other change.

use std::sync::Mutex;
use std::thread::JoinHandle;

use aya::EbpfLoader;

/// The loader [`prewarm_loader`] is making, taken by the next [`loader`] call.
static PREWARMED: Mutex<Option<JoinHandle<EbpfLoader<'static>>>> = Mutex::new(None);

/// Starts making a loader on a thread of its own (its BTF parse then overlaps whatever
/// the caller does meanwhile, e.g. building the sandbox's namespaces); the next load of
/// this process uses it. Calling it again while one is pending does nothing.
pub fn prewarm_loader() {
    let mut slot = PREWARMED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if slot.is_none() {
        *slot = std::thread::Builder::new()
            .name("tplab-btf".into())
            .spawn(EbpfLoader::new)
            .ok();
    }
}

/// A loader: the prewarmed one if any, else a fresh one (parses the kernel's BTF: make
/// one per batch of loads).
pub(crate) fn loader() -> EbpfLoader<'static> {
    let pending = PREWARMED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    pending.and_then(|h| h.join().ok()).unwrap_or_default()
}
