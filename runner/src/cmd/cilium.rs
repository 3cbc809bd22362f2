//! `tplab cilium ...`: the sandbox's answers to the seed's Cilium agent commands,
//! computed from the sandbox's own eBPF maps and observer (this is not Cilium). This is
//! the sandbox's implementation of its agent role: on a cluster, the real agent answers.

use crate::cli::{CiliumArgs, Global};
use crate::env::open::{self, Instance};

pub fn run(global: &Global, args: &CiliumArgs) -> super::Result {
    let env = super::common::block_on_value(open::open_sandbox(Instance::Existing(
        global.sandbox.clone(),
    )))??;
    let code = tplab_ebpf::cilium_main(&args.args, &env.cilium_ctx()?);
    Ok(u8::try_from(code).unwrap_or(1))
}
