//! `cilium bpf nat list`: the sandbox, like the seed's cluster, has no BPF NAT map
//! (masquerading is iptables' job), so this reports the missing pinned maps.

use std::fmt::Write as _;

/// Where Cilium pins its SNAT maps.
pub const SNAT_MAPS: [&str; 2] = [
    "/sys/fs/bpf/tc/globals/cilium_snat_v4_external",
    "/sys/fs/bpf/tc/globals/cilium_snat_v6_external",
];

/// stderr lines and whether any map exists (it never does in the sandbox).
pub fn nat_list_report() -> (String, bool) {
    let mut err = String::new();
    let mut any = false;
    for path in SNAT_MAPS {
        if std::path::Path::new(path).exists() {
            any = true;
        } else {
            let _ = writeln!(
                err,
                "Unable to open {path}: Unable to get object {path}: no such file or directory. Skipping."
            );
        }
    }
    (err, any)
}
