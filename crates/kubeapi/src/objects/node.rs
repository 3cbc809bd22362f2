//! The sandbox's node: its name (`node-xxxxx`), the node netns's address, the pod CIDR,
//! and this machine's kernel, OS, CPUs and memory (the node *is* this machine).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
    NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::{Obj, Source, obj, string_map};
use crate::resources;

/// The Kubernetes version this API speaks.
pub const KUBELET_VERSION: &str = "v1.33.1";

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn os_image() -> String {
    read_trim("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map_or_else(|| "Linux".into(), |v| v.trim_matches('"').to_string())
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn memory_ki() -> String {
    read_trim("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .map_or_else(|| "0".into(), |v| format!("{}Ki", v.trim()))
}

fn resources_now() -> BTreeMap<String, Quantity> {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    [
        ("cpu", cpus.to_string()),
        ("ephemeral-storage", "51290592Ki".to_string()),
        ("memory", memory_ki()),
        ("pods", "110".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Quantity(v)))
    .collect()
}

fn condition(
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    src: &Source<'_>,
) -> NodeCondition {
    NodeCondition {
        type_: kind.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(src.created()),
        last_transition_time: Some(src.created()),
    }
}

/// Every node of the sandbox.
pub(super) fn nodes(src: &Source<'_>) -> Vec<Obj> {
    src.state
        .config
        .node_plans()
        .iter()
        .map(|plan| node(src, plan))
        .collect()
}

/// The address kubelet registers: the private network's when there is one (as on a
/// cloud's VPC), the uplink's for the seed's single node.
pub(crate) fn internal_ip(plan: &tplab_sandbox::NodePlan) -> String {
    plan.private_ip.unwrap_or(plan.public_ip).to_string()
}

fn node(src: &Source<'_>, plan: &tplab_sandbox::NodePlan) -> Obj {
    let name = &src.k8s_node_name(plan.number);
    let name = name.as_str();
    let node_ip = internal_ip(plan);
    let external_ip = plan.public_ip.to_string();
    let cidr = format!("{}/25", plan.pod_cidr);
    let gateway = plan.cilium_host.to_string();
    let mut meta = src.meta(
        "node",
        None,
        name,
        &[
            ("beta.kubernetes.io/arch", arch()),
            ("beta.kubernetes.io/os", "linux"),
            ("kubernetes.io/arch", arch()),
            ("kubernetes.io/hostname", name),
            ("kubernetes.io/os", "linux"),
        ],
    );
    meta.annotations = Some(string_map(&[
        ("io.cilium.network.ipv4-cilium-host", &gateway),
        ("io.cilium.network.ipv4-pod-cidr", &cidr),
        ("node.alpha.kubernetes.io/ttl", "0"),
        (
            "volumes.kubernetes.io/controller-managed-attach-detach",
            "true",
        ),
    ]));
    let address = |kind: &str, a: &str| NodeAddress {
        type_: kind.into(),
        address: a.into(),
    };
    let node = Node {
        metadata: meta,
        spec: Some(NodeSpec {
            pod_cidr: Some(cidr.clone()),
            pod_cidrs: Some(vec![cidr]),
            ..NodeSpec::default()
        }),
        status: Some(NodeStatus {
            addresses: Some(vec![
                address("InternalIP", &node_ip),
                address("Hostname", name),
                address("ExternalIP", &external_ip),
            ]),
            allocatable: Some(resources_now()),
            capacity: Some(resources_now()),
            conditions: Some(vec![
                condition(
                    "NetworkUnavailable",
                    "False",
                    "CiliumIsUp",
                    "Cilium is running on this node",
                    src,
                ),
                condition(
                    "MemoryPressure",
                    "False",
                    "KubeletHasSufficientMemory",
                    "kubelet has sufficient memory available",
                    src,
                ),
                condition(
                    "DiskPressure",
                    "False",
                    "KubeletHasNoDiskPressure",
                    "kubelet has no disk pressure",
                    src,
                ),
                condition(
                    "PIDPressure",
                    "False",
                    "KubeletHasSufficientPID",
                    "kubelet has sufficient PID available",
                    src,
                ),
                condition(
                    "Ready",
                    "True",
                    "KubeletReady",
                    "kubelet is posting ready status",
                    src,
                ),
            ]),
            daemon_endpoints: Some(NodeDaemonEndpoints {
                kubelet_endpoint: Some(DaemonEndpoint { port: 10250 }),
            }),
            node_info: Some(NodeSystemInfo {
                architecture: arch().into(),
                boot_id: read_trim("/proc/sys/kernel/random/boot_id"),
                container_runtime_version: format!("tplab://{}", env!("CARGO_PKG_VERSION")),
                kernel_version: read_trim("/proc/sys/kernel/osrelease"),
                kube_proxy_version: KUBELET_VERSION.into(),
                kubelet_version: KUBELET_VERSION.into(),
                machine_id: read_trim("/etc/machine-id"),
                operating_system: "linux".into(),
                os_image: os_image(),
                system_uuid: if plan.number == 1 {
                    src.identity.uid("system-uuid")
                } else {
                    src.identity.uid(&format!("system-uuid/{}", plan.number))
                },
                ..NodeSystemInfo::default()
            }),
            ..NodeStatus::default()
        }),
    };
    obj(resources::NODES, None, name, &node)
}
