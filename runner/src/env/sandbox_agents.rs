//! One Cilium agent per node of a sandbox, as a cluster has one `cilium` pod per node:
//! tplab's `bpf_lxc` on every pod's lxc, the CT maps of each node pinned under that node's
//! own bpf root ([`tplab_ebpf::pin_dir_for_node`]), and in each agent role (`agent`,
//! `agent2`…) a `cilium` / `cilium-dbg` answering for that node's endpoints.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use tplab_sandbox::{PodState, Role, Sandbox};

use super::EnvError;

/// Set by the agent roles' shims: the node whose agent the `cilium` command is.
pub const CILIUM_NODE_ENV: &str = "TPLAB_CILIUM_NODE";
/// Cilium endpoint id of the sandbox's first pod (the seed's); the others follow it.
const FIRST_ENDPOINT_ID: u16 = 762;

/// The node (1-based) a role names: `node2` / `agent2` → 2; any other role → 1.
pub fn node_of_role(role: &str) -> usize {
    match role.parse::<Role>() {
        Ok(Role::NamedNode(n) | Role::NamedAgent(n)) => n,
        _ => 1,
    }
}

/// The Cilium endpoint id of the `index`-th pod of the sandbox (ids as an agent hands them out).
pub fn endpoint_id(index: usize) -> u16 {
    FIRST_ENDPOINT_ID.saturating_add(u16::try_from(index).unwrap_or(u16::MAX))
}

/// The pods of node `node`, with their index in the sandbox.
pub fn pods_on(sandbox: &Sandbox, node: usize) -> Vec<(usize, &PodState)> {
    sandbox
        .state()
        .pods
        .iter()
        .enumerate()
        .filter(|(_, p)| p.node == node)
        .collect()
}

/// The node netns of node `node`.
fn node_netns(sandbox: &Sandbox, node: usize) -> Result<PathBuf, EnvError> {
    let role = if node <= 1 {
        Role::Node
    } else {
        Role::NamedNode(node)
    };
    sandbox
        .netns_path(&role)
        .ok_or_else(|| EnvError::Incomplete {
            id: sandbox.id().to_string(),
            what: "node namespace",
        })
}

/// What node `node`'s `cilium` reads: its bpf root, its netns, its endpoints, its addresses.
pub fn cilium_ctx_for(sandbox: &Sandbox, node: usize) -> Result<tplab_ebpf::CiliumCtx, EnvError> {
    let cfg = sandbox.config();
    let plan = cfg.node_plan(node).ok_or_else(|| EnvError::Role {
        role: tplab_sandbox::agent_name(node),
        message: format!("sandbox `{}` has {} node(s)", sandbox.id(), cfg.nodes),
    })?;
    let pods = pods_on(sandbox, node);
    // A node without pods still has an agent: its router address stands for the pod's.
    let (lxc, pod_ip) = pods.first().map_or_else(
        || (String::new(), plan.cilium_host),
        |(_, p)| (p.lxc_name.clone(), p.ip),
    );
    let mut ctx = tplab_ebpf::CiliumCtx::new(
        tplab_ebpf::pin_dir_for_node(sandbox.id(), node),
        node_netns(sandbox, node)?,
        lxc,
        pod_ip,
    );
    ctx.router_ip = plan.cilium_host;
    ctx.node_ip = plan.public_ip;
    ctx.pod_cidr = if cfg.nodes > 1 {
        format!("{}/{}", plan.pod_cidr, tplab_sandbox::NODE_CIDR_PREFIX)
    } else {
        cfg.pod_cidr_text()
    };
    let identity = ctx.identity;
    ctx.pods = pods
        .iter()
        .map(|(i, p)| tplab_ebpf::cilium::EndpointInfo {
            name: p.name.clone(),
            namespace: "default".into(),
            ip: p.ip,
            endpoint_id: endpoint_id(*i),
            identity,
            mac: p.mac.clone(),
            lxc_ifname: p.lxc_name.clone(),
            lxc_mac: p.lxc_mac.clone(),
            labels: Vec::new(),
        })
        .collect();
    if let Some(first) = ctx.pods.first() {
        ctx.endpoint_id = first.endpoint_id;
    }
    Ok(ctx)
}

/// Attaches the datapath to every pod's lxc (one thread per node: each load runs the
/// verifier) and installs each agent role's `cilium` and `cilium-dbg` shims.
pub fn equip(sandbox: &Sandbox, attach: tplab_ebpf::AttachMode) -> Result<(), EnvError> {
    let nodes: Vec<usize> = (1..=usize::from(sandbox.config().nodes)).collect();
    let results: Vec<Result<(), EnvError>> = std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .iter()
            .map(|&node| s.spawn(move || attach_node(sandbox, node, attach)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(EnvError::Incomplete {
                        id: sandbox.id().to_string(),
                        what: "datapath (an attach thread panicked)",
                    })
                })
            })
            .collect()
    });
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    for &node in &nodes {
        install_shims(sandbox, node)?;
    }
    Ok(())
}

fn attach_node(
    sandbox: &Sandbox,
    node: usize,
    attach: tplab_ebpf::AttachMode,
) -> Result<(), EnvError> {
    let netns = node_netns(sandbox, node)?;
    let pins = tplab_ebpf::pin_dir_for_node(sandbox.id(), node);
    for (index, pod) in pods_on(sandbox, node) {
        let opts = tplab_ebpf::DatapathOptions {
            attach,
            endpoint_id: endpoint_id(index),
            ..tplab_ebpf::DatapathOptions::default()
        };
        // Every endpoint of a node shares the node's CT maps (pinned by name).
        tplab_ebpf::Datapath::attach_with(&netns, &pod.lxc_name, &pins, &opts).map_err(|e| {
            EnvError::Ebpf {
                action: format!(
                    "attaching the sandbox datapath to {} on {} ({})",
                    pod.lxc_name,
                    tplab_sandbox::node_name(node),
                    attach.name()
                ),
                source: Box::new(e),
            }
        })?;
    }
    Ok(())
}

/// `cilium` and `cilium-dbg` (one command, both names, as in Cilium >= 1.15) in the
/// agent role of `node`.
fn install_shims(sandbox: &Sandbox, node: usize) -> Result<(), EnvError> {
    let role = if node <= 1 {
        Role::Agent
    } else {
        Role::NamedAgent(node)
    };
    let bin = sandbox
        .ensure_bin_dir(&role)
        .map_err(|e| EnvError::sandbox("preparing the agent role's tools", e))?;
    let exe = std::env::current_exe().map_err(|e| EnvError::io("locating tplab", e))?;
    for name in ["cilium", "cilium-dbg"] {
        let shim = bin.join(name);
        let script = format!(
            "#!/bin/sh\n# tplab sandbox shim: answers a few Cilium agent commands over node {node}'s eBPF state (not Cilium).\n{}={name} {CILIUM_NODE_ENV}={node} exec '{}' cilium --sandbox {} \"$@\"\n",
            super::sandbox::CILIUM_NAME_ENV,
            exe.display(),
            sandbox.id()
        );
        std::fs::write(&shim, script).map_err(|source| EnvError::File {
            action: "writing",
            path: shim.clone(),
            source,
        })?;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).map_err(
            |source| EnvError::File {
                action: "chmod",
                path: shim.clone(),
                source,
            },
        )?;
    }
    Ok(())
}

/// The node the running `cilium` command answers for ([`CILIUM_NODE_ENV`], else node 1).
pub fn cilium_node() -> usize {
    std::env::var(CILIUM_NODE_ENV)
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_name_their_node() {
        assert_eq!(node_of_role("node2"), 2);
        assert_eq!(node_of_role("agent3"), 3);
        assert_eq!(node_of_role("agent"), 1);
        assert_eq!(node_of_role("pod:web"), 1);
        assert_eq!(endpoint_id(0), 762);
        assert_eq!(endpoint_id(2), 764);
    }
}
