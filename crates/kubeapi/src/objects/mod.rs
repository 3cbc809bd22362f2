//! The sandbox's real state as Kubernetes objects (k8s-openapi types, serialised as the
//! API server does): namespaces, the node, the student's pods, Cilium's `DaemonSet`, pod
//! and `ConfigMap`, the `kubernetes` Service and a few Events.

mod agent_spec;
mod cilium;
mod cluster;
pub(crate) mod node;
mod pods;
mod services;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde_json::Value;
use tplab_sandbox::SandboxState;

use crate::identity::Identity;
#[cfg(test)]
use crate::resources;
use crate::resources::ResourceDef;

pub use cilium::{AGENT_CONTAINER, CILIUM_IMAGE, CILIUM_NAMESPACE, config_data};

/// One object, with what lookups need.
#[derive(Debug, Clone)]
pub struct Obj {
    pub def: ResourceDef,
    pub namespace: Option<String>,
    pub name: String,
    pub value: Value,
}

/// Everything objects are built from.
pub struct Source<'a> {
    pub state: &'a SandboxState,
    pub identity: &'a Identity,
    /// Port of the API (for the `kubernetes` Service and Cilium's env).
    pub port: u16,
    /// Pods created through the API and their Events (the store's objects).
    pub created: &'a [Obj],
}

impl Source<'_> {
    pub(crate) fn created(&self) -> Time {
        time(self.state.created_at)
    }

    pub(crate) fn meta(
        &self,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        labels: &[(&str, &str)],
    ) -> ObjectMeta {
        let key = format!("{kind}/{}/{name}", namespace.unwrap_or(""));
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: namespace.map(str::to_string),
            uid: Some(self.identity.uid(&key)),
            resource_version: Some(resource_version(self.state)),
            creation_timestamp: Some(self.created()),
            labels: (!labels.is_empty()).then(|| string_map(labels)),
            ..ObjectMeta::default()
        }
    }

    /// The Kubernetes name of node `number` (1-based): the identity's for node 1, then
    /// `<that>-2`, `<that>-3`…
    pub(crate) fn k8s_node_name(&self, number: usize) -> String {
        k8s_node_name(self.identity, number)
    }

    /// The node's pod CIDR: the /25 (Cilium's `cluster-pool-ipv4-mask-size`) holding
    /// the gateway, as cluster-pool IPAM hands one to each node.
    pub(crate) fn node_pod_cidr(&self) -> String {
        let gw = u32::from(self.state.config.gateway_ip);
        let base = std::net::Ipv4Addr::from(gw & !0x7f);
        format!("{base}/25")
    }
}

/// See [`Source::k8s_node_name`].
pub fn k8s_node_name(identity: &Identity, number: usize) -> String {
    if number <= 1 {
        identity.node_name.clone()
    } else {
        format!("{}-{number}", identity.node_name)
    }
}

pub(crate) fn string_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

pub(crate) fn time(t: chrono::DateTime<chrono::Utc>) -> Time {
    Time(
        k8s_openapi::jiff::Timestamp::from_second(t.timestamp())
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    )
}

/// One resourceVersion for every object: the state only grows (pods are added), so it
/// is the number of pods above a base, and a list's version is the same number.
pub fn resource_version(state: &SandboxState) -> String {
    (1000 + state.pods.len()).to_string()
}

fn obj<T: serde::Serialize>(def: ResourceDef, namespace: Option<&str>, name: &str, o: &T) -> Obj {
    Obj {
        def,
        namespace: namespace.map(str::to_string),
        name: name.to_string(),
        value: serde_json::to_value(o).unwrap_or(Value::Null),
    }
}

/// Every object of the cluster now. A sandbox pod created through the API is also in
/// the sandbox's state: the store's object stands for it.
pub fn all(src: &Source<'_>) -> Vec<Obj> {
    let mut out = cluster::namespaces(src);
    out.extend(node::nodes(src));
    out.extend(pods::pods(src).into_iter().filter(|p| {
        !src.created
            .iter()
            .any(|c| c.def == p.def && c.name == p.name)
    }));
    out.extend(cilium::objects(src));
    out.push(cluster::kubernetes_service(src));
    out.extend(services::services(src));
    out.extend(cluster::events(src, &out));
    out.extend(src.created.iter().cloned());
    out
}

/// Objects of one resource type (optionally in one namespace).
pub fn of(src: &Source<'_>, def: &ResourceDef, namespace: Option<&str>) -> Vec<Obj> {
    all(src)
        .into_iter()
        .filter(|o| o.def == *def && (namespace.is_none() || o.namespace.as_deref() == namespace))
        .collect()
}

/// The exec target of a pod: the sandbox role its commands run in, and its containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecTarget {
    pub role: tplab_sandbox::Role,
    pub containers: Vec<String>,
}

/// Where `kubectl exec` into pod `namespace/name` runs.
pub fn exec_target(src: &Source<'_>, namespace: &str, name: &str) -> Option<ExecTarget> {
    if namespace == CILIUM_NAMESPACE && name == src.identity.cilium_pod() {
        return Some(ExecTarget {
            role: tplab_sandbox::Role::Agent,
            containers: vec![AGENT_CONTAINER.to_string()],
        });
    }
    // Further nodes' agents: their node's agent role, with that node's `cilium`.
    if namespace == CILIUM_NAMESPACE
        && let Some(number) = (2..=usize::from(src.state.config.nodes))
            .find(|n| cilium::agent_pod_name(src, *n) == name)
    {
        return Some(ExecTarget {
            role: tplab_sandbox::Role::NamedAgent(number),
            containers: vec![AGENT_CONTAINER.to_string()],
        });
    }
    if namespace != "default" {
        return None;
    }
    let index = src.state.pods.iter().position(|p| p.name == name)?;
    let role = if index == 0 {
        tplab_sandbox::Role::Pod
    } else {
        tplab_sandbox::Role::NamedPod(name.to_string())
    };
    Some(ExecTarget {
        role,
        containers: vec![name.to_string()],
    })
}

#[cfg(test)]
pub(crate) mod fixture {
    use super::*;

    pub fn state() -> SandboxState {
        let pod = tplab_sandbox::PodState {
            name: "pod".into(),
            netns: "tplab-ab12-pod".into(),
            ip: "10.244.0.213".parse().unwrap(),
            if_name: "eth0".into(),
            mac: "a6:c6:93:71:26:19".into(),
            lxc_name: "lxcf4cd39e34601".into(),
            lxc_mac: "f6:93:7d:11:4d:37".into(),
            node: 1,
        };
        SandboxState {
            format: "tplab.sandbox/1".into(),
            id: "ab12".into(),
            phase: tplab_sandbox::Phase::Up,
            created_at: chrono::Utc::now(),
            owner_pid: 1,
            owner_uid: Some(0),
            config: tplab_sandbox::SandboxConfig::default(),
            node_netns: "tplab-ab12-node".into(),
            world_netns: "tplab-ab12-world".into(),
            pods: vec![pod],
            cilium_host_mac: String::new(),
            node_mac: String::new(),
            daemon_pid: None,
            daemons: Vec::new(),
            extra_nodes: Vec::new(),
            lan_netns: None,
        }
    }

    pub fn identity() -> Identity {
        Identity::draw("https://127.0.0.1:6443".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_reflect_the_state() {
        let (st, id) = (fixture::state(), fixture::identity());
        let src = Source {
            state: &st,
            identity: &id,
            port: 6443,
            created: &[],
        };
        let pods = of(&src, &resources::PODS, Some("default"));
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0].value["status"]["podIP"], "10.244.0.213");
        assert_eq!(pods[0].value["spec"]["nodeName"], id.node_name.as_str());
        assert_eq!(pods[0].value["kind"], "Pod");
        let node = &of(&src, &resources::NODES, None)[0];
        assert_eq!(node.value["spec"]["podCIDR"], "10.244.0.128/25");
        let cilium = of(&src, &resources::PODS, Some("kube-system"));
        assert_eq!(cilium[0].name, id.cilium_pod());
        assert_eq!(
            cilium[0].value["spec"]["containers"][0]["args"][0],
            "--config-dir=/tmp/cilium/config-map"
        );
        let cm = of(&src, &resources::CONFIGMAPS, Some("kube-system"));
        assert_eq!(cm[0].value["data"]["enable-bpf-masquerade"], "false");
        assert!(!of(&src, &resources::EVENTS, Some("kube-system")).is_empty());
    }

    #[test]
    fn every_node_pod_and_service_of_a_topology() {
        let mut state = fixture::state();
        state.config.nodes = 2;
        state.config.pods.push(tplab_sandbox::PodConfig {
            name: "web".into(),
            ip: "10.244.0.85".parse().unwrap(),
            node: 2,
            ..tplab_sandbox::PodConfig::default()
        });
        let mut web = state.pods[0].clone();
        web.name = "web".into();
        web.ip = "10.244.0.85".parse().unwrap();
        web.node = 2;
        state.pods.push(web);
        state.config.services.push(tplab_sandbox::ServiceConfig {
            name: "web".into(),
            kind: tplab_sandbox::ServiceType::NodePort,
            cluster_ip: "10.96.0.100".parse().unwrap(),
            port: 80,
            target_port: 8080,
            node_port: Some(30080),
            backends: vec!["web".into()],
            lb: None,
            selector: std::collections::BTreeMap::new(),
        });
        let id = fixture::identity();
        let src = Source {
            state: &state,
            identity: &id,
            port: 6443,
            created: &[],
        };
        let nodes = of(&src, &resources::NODES, None);
        let cidrs: Vec<&str> = nodes
            .iter()
            .filter_map(|n| n.value["spec"]["podCIDR"].as_str())
            .collect();
        assert_eq!(cidrs, ["10.244.0.128/25", "10.244.0.0/25"]);
        assert_eq!(
            nodes[1].value["status"]["addresses"][0]["address"],
            "10.135.0.12"
        );
        let pods = of(&src, &resources::PODS, Some("default"));
        assert_eq!(pods[1].value["spec"]["nodeName"], nodes[1].name.as_str());
        assert_eq!(pods[1].value["metadata"]["labels"]["app"], "web");
        let agents = of(&src, &resources::PODS, Some("kube-system"));
        assert_eq!(agents.len(), 2);
        assert_eq!(agents[1].value["spec"]["nodeName"], nodes[1].name.as_str());
        let target = exec_target(&src, "kube-system", &agents[1].name).unwrap();
        assert_eq!(target.role, tplab_sandbox::Role::NamedAgent(2));
        let svc = of(&src, &resources::SERVICES, Some("default"))
            .into_iter()
            .find(|s| s.name == "web")
            .unwrap();
        assert_eq!(svc.value["spec"]["ports"][0]["nodePort"], 30080);
        assert_eq!(svc.value["spec"]["selector"]["app"], "web");
        assert_eq!(
            exec_target(&src, "kube-system", &id.cilium_pod())
                .unwrap()
                .role,
            tplab_sandbox::Role::Agent
        );
        assert_eq!(
            exec_target(&src, "default", "pod").unwrap().role,
            tplab_sandbox::Role::Pod
        );
        assert!(exec_target(&src, "default", "nope").is_none());
    }
}
