//! The sandbox's socket load-balancing (Cilium's kube-proxy replacement): the sandbox
//! crate made the cgroup its pods and nodes run in; here the eBPF side's `cil_sock4_*`
//! programs are attached to it, with the socket load-balanced Services in the
//! `cilium_lb4_*` maps. Removed with the sandbox (cgroup gone, pins unpinned).

use tplab_sandbox::Sandbox;

use super::EnvError;

/// The socket load-balanced Services of the sandbox as the maps hold them: ids from 1 in
/// the order of the lab, backends at `pod:target_port`.
fn lb_services(sandbox: &Sandbox) -> Vec<tplab_ebpf::socklb::LbService> {
    let cfg = sandbox.config();
    cfg.socket_lb_services()
        .zip(1u16..)
        .map(|(svc, id)| tplab_ebpf::socklb::LbService {
            id,
            frontend: (svc.cluster_ip, svc.port),
            backends: svc
                .backends
                .iter()
                .filter_map(|b| cfg.pods.iter().find(|p| &p.name == b))
                .map(|p| (p.ip, svc.target_port))
                .collect(),
        })
        .collect()
}

/// Attaches the socket LB when the sandbox's config asks for it (else does nothing).
pub(super) fn equip(sandbox: &Sandbox) -> Result<(), EnvError> {
    if !sandbox.config().uses_socket_lb() {
        return Ok(());
    }
    let cgroup = tplab_sandbox::cgroup_dir(sandbox.id())
        .map_err(|e| EnvError::sandbox("finding the sandbox's cgroup", e))?;
    let pins = tplab_ebpf::pin_dir_for(sandbox.id());
    tplab_ebpf::socklb::attach(&cgroup, &pins, &lb_services(sandbox)).map_err(|e| {
        EnvError::Ebpf {
            action: format!(
                "attaching the socket load-balancer to cgroup {}",
                cgroup.display()
            ),
            source: Box::new(e),
        }
    })?;
    Ok(())
}
