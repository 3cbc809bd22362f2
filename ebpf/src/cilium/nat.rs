//! `cilium bpf nat list`: the sandbox, like the seed's cluster, has no BPF NAT map
//! (masquerading is iptables' job), so this reports the missing pinned maps where Cilium
//! pins them under the bpf root.

use std::fmt::Write as _;
use std::path::Path;

/// Cilium's SNAT maps (under `<bpf root>/tc/globals`).
pub const SNAT_MAP_NAMES: [&str; 2] = ["cilium_snat_v4_external", "cilium_snat_v6_external"];

/// stderr lines and whether any map exists (it never does in the sandbox).
pub fn nat_list_report(bpf_root: &Path) -> (String, bool) {
    let mut err = String::new();
    let mut any = false;
    for name in SNAT_MAP_NAMES {
        let path = bpf_root.join(crate::ct::GLOBALS_DIR).join(name);
        if path.exists() {
            any = true;
        } else {
            let path = path.display();
            let _ = writeln!(
                err,
                "Unable to open {path}: Unable to get object {path}: no such file or directory. Skipping."
            );
        }
    }
    (err, any)
}
