//! `requires.features` (root): tplab's verdict on a kernel feature is the kernel's own —
//! cross-checked by creating the same link with iproute2 in a namespace of the test's —
//! a missing one refuses the lab with exit status 3 and what to do, in the lab's language,
//! and the probe's throwaway namespaces are gone afterwards.

use std::process::Command;

use tplab_testkit::Suite;

use crate::harness::{Failed, ensure, tempdir, tplab};

pub fn register(suite: Suite) -> Suite {
    suite.root_test(
        "requires_features::vlan_verdict_is_the_kernels",
        vlan_verdict_is_the_kernels,
    )
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether this kernel creates a VLAN link, asked directly.
fn kernel_has_vlan() -> bool {
    let ns = format!("tplab-it-vlan-{}", std::process::id());
    if !ip(&["netns", "add", &ns]) {
        return false;
    }
    let ok = ip(&[
        "-n", &ns, "link", "add", "b0", "type", "veth", "peer", "name", "b1",
    ]) && ip(&[
        "-n", &ns, "link", "add", "link", "b0", "name", "v10", "type", "vlan", "id", "10",
    ]);
    ip(&["netns", "del", &ns]);
    ok
}

fn vlan_verdict_is_the_kernels() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = dir.path().join("lab.md");
    std::fs::write(
        &lab,
        "---\nid: vlan-needed\ntitle: VLAN\nlang: fr\nenvironments: [local]\nroles: [local]\nrequires:\n  features: [vlan, tcx]\n---\n\n## S {#s}\n\n```check\n- run: \"true\"\n  before: any\n```\n",
    )
    .map_err(|e| crate::harness::fail(e.to_string()))?;
    let lab = lab.to_string_lossy().into_owned();
    let out = tplab(["test", &lab, "--env", "local"]).run();
    if kernel_has_vlan() {
        out.success()?;
    } else {
        out.code(3)?
            .stderr_has("ne peut pas démarrer")?
            .stderr_has("`sudo modprobe 8021q`")?;
    }
    let left = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    ensure(
        !left.contains("tplab-probe-"),
        format!("probe namespaces left:\n{left}"),
    )
}
