//! `tplab cilium ...`: the sandbox's answers to the seed's Cilium agent commands,
//! computed from the sandbox's own eBPF maps and observer (this is not Cilium).

use tplab_sandbox::Role;

use crate::cli::{CiliumArgs, Global};
use crate::env::sandbox as sb;

pub fn run(global: &Global, args: &CiliumArgs) -> anyhow::Result<u8> {
    let sandbox = sb::find(global.sandbox.as_deref())?;
    let facts = sandbox.facts();
    let node = sandbox
        .netns_path(&Role::Node)
        .ok_or_else(|| anyhow::anyhow!("the sandbox has no node namespace"))?;
    let pod_ip = facts
        .get("pod_ip")
        .and_then(|ip| ip.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("the sandbox has no pod IP"))?;
    let ctx = tplab_ebpf::CiliumCtx::new(
        tplab_ebpf::pin_dir_for(sandbox.id()),
        node,
        facts.get("lxc_name").cloned().unwrap_or_default(),
        pod_ip,
    );
    let code = tplab_ebpf::cilium_main(&args.args, &ctx);
    Ok(u8::try_from(code).unwrap_or(1))
}
