//! A lab's `sandbox:` block turned into the sandbox's config: pods placed on their node
//! with the node's next free address, Services given the next free `ClusterIP`. The lab
//! being run sets it once ([`use_lab_topology`]); fresh sandboxes of this process are
//! then built with it (`tplab run`, `tplab test`), `tplab sandbox up --lab` uses it directly.

use std::net::Ipv4Addr;
use std::sync::Mutex;

use tplab_sandbox::{PodConfig, SandboxConfig, ServiceConfig, ServiceType};
use tplab_vocab::lab_sandbox::LabSandbox;

use super::EnvError;

/// The topology of the lab this process runs (`None`: the seed's).
static LAB_TOPOLOGY: Mutex<Option<LabSandbox>> = Mutex::new(None);

/// Fresh sandboxes of this process get `topology` (the lab's `sandbox:` block).
pub fn use_lab_topology(topology: Option<LabSandbox>) {
    if let Ok(mut slot) = LAB_TOPOLOGY.lock() {
        *slot = topology;
    }
}

/// The topology set by [`use_lab_topology`].
pub(crate) fn lab_topology() -> Option<LabSandbox> {
    LAB_TOPOLOGY.lock().ok().and_then(|t| t.clone())
}

/// First `ClusterIP` handed out (10.96.0.1 is the `kubernetes` Service).
const FIRST_CLUSTER_IP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 100);

fn bad(message: impl std::fmt::Display) -> EnvError {
    EnvError::BadConfig(format!("the lab's `sandbox:` block: {message}"))
}

/// `base` (the seed's config, with the environment's options) with `topology` applied.
pub fn apply(mut config: SandboxConfig, topology: &LabSandbox) -> Result<SandboxConfig, EnvError> {
    config.nodes = topology.nodes;
    config.services_lb = topology.services_lb;
    if topology.nodes == 0 || topology.nodes > 32 {
        return Err(bad(format!("nodes: {} (1 to 32)", topology.nodes)));
    }
    let first = config
        .pods
        .first()
        .map(|p| p.name.clone())
        .unwrap_or_default();
    for (name, pod) in &topology.pods {
        if *name == first {
            return Err(bad(format!(
                "pod `{name}` is the sandbox's own first pod (role `pod`, on node 1): name yours otherwise"
            )));
        }
        let node = usize::from(pod.node);
        if node == 0 || node > usize::from(config.nodes) {
            return Err(bad(format!(
                "pod `{name}`: node {node} does not exist (nodes: 1 to {})",
                config.nodes
            )));
        }
        let ip = match pod.ip {
            Some(ip) => ip,
            None => config
                .free_pod_ip(node, &[])
                .ok_or_else(|| bad(format!("pod `{name}`: node {node}'s pod CIDR is full")))?,
        };
        config.pods.push(PodConfig {
            name: name.clone(),
            ip,
            node,
            serve: pod.serve,
            ..PodConfig::default()
        });
    }
    let mut next_ip = u32::from(FIRST_CLUSTER_IP);
    for svc in &topology.services {
        let kind = match svc.kind.as_str() {
            "ClusterIP" => ServiceType::ClusterIP,
            "NodePort" => ServiceType::NodePort,
            other => {
                return Err(bad(format!(
                    "service `{}`: type `{other}` (ClusterIP or NodePort)",
                    svc.name
                )));
            }
        };
        let cluster_ip = match svc.cluster_ip {
            Some(ip) => ip,
            None => loop {
                let ip = Ipv4Addr::from(next_ip);
                next_ip += 1;
                let taken = topology.services.iter().any(|s| s.cluster_ip == Some(ip));
                if !taken {
                    break ip;
                }
            },
        };
        config.services.push(ServiceConfig {
            name: svc.name.clone(),
            kind,
            cluster_ip,
            port: svc.port,
            target_port: svc.target_port.unwrap_or(svc.port),
            node_port: svc.node_port,
            backends: svc.backends.clone(),
            lb: svc.lb,
            selector: svc.selector.clone(),
        });
    }
    config.validate().map_err(bad)?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology(yaml: &str) -> LabSandbox {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn pods_and_services_get_their_addresses() {
        let t = topology(
            "nodes: 2\npods:\n  client: {}\n  web: { node: 2 }\nservices:\n  - { name: web, port: 80, target_port: 8080, backends: [web] }\n",
        );
        let cfg = apply(SandboxConfig::default(), &t).unwrap();
        let ips: Vec<String> = cfg
            .pods
            .iter()
            .map(|p| format!("{}@{}", p.ip, p.node))
            .collect();
        assert_eq!(ips, ["10.244.0.213@1", "10.244.0.214@1", "10.244.0.85@2"]);
        assert_eq!(cfg.services[0].cluster_ip, FIRST_CLUSTER_IP);
        assert_eq!(cfg.services[0].target_port, 8080);
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("pods:\n  web: { node: 3 }\n", "node 3 does not exist"),
            ("pods:\n  pod: {}\n", "first pod"),
            (
                "pods:\n  web: {}\nservices:\n  - { name: web, type: LoadBalancer, port: 80, backends: [web] }\n",
                "type `LoadBalancer`",
            ),
            (
                "services:\n  - { name: web, port: 80, backends: [nope] }\n",
                "backend `nope`",
            ),
            (
                "pods:\n  web: {}\nservices:\n  - { name: web, type: NodePort, port: 80, backends: [web] }\n",
                "node_port in 30000-32767",
            ),
        ];
        for (yaml, want) in cases {
            let err = apply(SandboxConfig::default(), &topology(yaml)).unwrap_err();
            assert!(err.to_string().contains(want), "{yaml}: {err}");
        }
    }
}
