//! Cilium as the seed's cluster runs it: the `cilium` `DaemonSet`, its agent pod on the
//! node (host network: the node's address) and the `cilium-config` `ConfigMap`, whose data
//! is the one `cilium config view` prints in the agent role (`tplab_ebpf::sandbox_config`).

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, DaemonSetStatus};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, EnvVar, EnvVarSource, HTTPGetAction, HTTPHeader, HostIP,
    ObjectFieldSelector, Pod, PodIP, PodSpec, PodStatus, PodTemplateSpec, Probe,
    ResourceRequirements, Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::agent_spec;
use super::pods::{conditions, running_status};
use super::{Obj, Source, obj, string_map};
use crate::resources;

pub const CILIUM_NAMESPACE: &str = "kube-system";
pub const AGENT_CONTAINER: &str = "cilium-agent";
/// The image of the Cilium release the sandbox's agent role follows
/// (`tplab_ebpf::cilium::CILIUM_VERSION`; a test keeps them equal).
pub const CILIUM_IMAGE: &str = "quay.io/cilium/cilium:v1.16.5";

#[cfg(test)]
#[test]
fn image_is_the_followed_version() {
    assert_eq!(
        CILIUM_IMAGE,
        format!(
            "quay.io/cilium/cilium:v{}",
            tplab_ebpf::cilium::CILIUM_VERSION
        )
    );
}
const DS: &str = "cilium";

fn env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

fn env_field(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: Some("v1".into()),
                field_path: path.into(),
            }),
            ..EnvVarSource::default()
        }),
    }
}

fn probe(delay: i32, timeout: i32, period: i32, failure: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            host: Some("127.0.0.1".into()),
            path: Some("/healthz".into()),
            port: IntOrString::Int(9879),
            scheme: Some("HTTP".into()),
            http_headers: Some(vec![HTTPHeader {
                name: "brief".into(),
                value: "true".into(),
            }]),
        }),
        initial_delay_seconds: (delay > 0).then_some(delay),
        timeout_seconds: Some(timeout),
        period_seconds: Some(period),
        success_threshold: Some(1),
        failure_threshold: Some(failure),
        ..Probe::default()
    }
}

fn agent_container(src: &Source<'_>) -> Container {
    let cfg = &src.state.config;
    let native = format!("{}/{}", cfg.pod_cidr, cfg.pod_cidr_prefix);
    Container {
        name: AGENT_CONTAINER.into(),
        image: Some(src.identity.cilium_image().into()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec!["cilium-agent".into()]),
        args: Some(vec![
            "--config-dir=/tmp/cilium/config-map".into(),
            format!("--k8s-api-server={}", src.identity.server),
            format!("--ipv4-native-routing-cidr={native}"),
        ]),
        env: Some(vec![
            env_field("K8S_NODE_NAME", "spec.nodeName"),
            env_field("CILIUM_K8S_NAMESPACE", "metadata.namespace"),
            env("CILIUM_CLUSTERMESH_CONFIG", "/var/lib/cilium/clustermesh/"),
            env("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
            env("KUBERNETES_SERVICE_PORT", &src.port.to_string()),
        ]),
        resources: Some(ResourceRequirements {
            requests: Some(
                [("cpu", "300m"), ("memory", "300Mi")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), Quantity(v.into())))
                    .collect(),
            ),
            ..ResourceRequirements::default()
        }),
        liveness_probe: Some(probe(120, 5, 30, 10)),
        readiness_probe: Some(probe(0, 5, 30, 3)),
        startup_probe: Some(probe(0, 1, 2, 105)),
        termination_message_path: Some("/dev/termination-log".into()),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        volume_mounts: Some(agent_spec::agent_mounts(src)),
        ..Container::default()
    }
}

fn pod_spec(src: &Source<'_>, node: Option<&str>) -> PodSpec {
    PodSpec {
        containers: vec![agent_container(src)],
        init_containers: Some(agent_spec::init_containers(src)),
        volumes: Some(agent_spec::volumes(src)),
        dns_policy: Some("ClusterFirstWithHostNet".into()),
        host_network: Some(true),
        node_name: node.map(str::to_string),
        node_selector: Some(string_map(&[("kubernetes.io/os", "linux")])),
        priority_class_name: Some("system-node-critical".into()),
        priority: Some(2_000_001_000),
        restart_policy: Some("Always".into()),
        scheduler_name: Some("default-scheduler".into()),
        service_account: Some("cilium".into()),
        service_account_name: Some("cilium".into()),
        termination_grace_period_seconds: Some(1),
        tolerations: Some(vec![Toleration {
            operator: Some("Exists".into()),
            ..Toleration::default()
        }]),
        ..PodSpec::default()
    }
}

fn pod_labels(src: &Source<'_>) -> Vec<(&'static str, String)> {
    vec![
        ("app.kubernetes.io/name", "cilium-agent".into()),
        ("app.kubernetes.io/part-of", "cilium".into()),
        (
            "controller-revision-hash",
            src.identity.revision_hash.clone(),
        ),
        ("k8s-app", "cilium".into()),
        ("pod-template-generation", "1".into()),
    ]
}

fn daemonset(src: &Source<'_>) -> Obj {
    let labels = pod_labels(src);
    let template_labels: Vec<(&str, &str)> = labels
        .iter()
        .filter(|(k, _)| !matches!(*k, "controller-revision-hash" | "pod-template-generation"))
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let mut meta = src.meta(
        "daemonset",
        Some(CILIUM_NAMESPACE),
        DS,
        &[
            ("app.kubernetes.io/part-of", "cilium"),
            ("k8s-app", "cilium"),
        ],
    );
    meta.generation = Some(1);
    let nodes = i32::from(src.state.config.nodes);
    let ds = DaemonSet {
        metadata: meta,
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(string_map(&[("k8s-app", "cilium")])),
                match_expressions: None,
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(string_map(&template_labels)),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(src, None)),
            },
            revision_history_limit: Some(10),
            ..DaemonSetSpec::default()
        }),
        status: Some(DaemonSetStatus {
            current_number_scheduled: nodes,
            desired_number_scheduled: nodes,
            number_available: Some(nodes),
            number_misscheduled: 0,
            number_ready: nodes,
            observed_generation: Some(1),
            updated_number_scheduled: Some(nodes),
            ..DaemonSetStatus::default()
        }),
    };
    obj(resources::DAEMONSETS, Some(CILIUM_NAMESPACE), DS, &ds)
}

/// The name of node `number`'s Cilium agent pod: the identity's for node 1, then a
/// stable `cilium-xxxxx` drawn from the identity (a `DaemonSet` pod per node).
pub(crate) fn agent_pod_name(src: &Source<'_>, number: usize) -> String {
    if number <= 1 {
        return src.identity.cilium_pod();
    }
    let suffix: String = src
        .identity
        .uid(&format!("cilium-agent/{number}"))
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(5)
        .collect();
    format!("cilium-{suffix}")
}

fn agent_pod(src: &Source<'_>, plan: &tplab_sandbox::NodePlan) -> Obj {
    let name = agent_pod_name(src, plan.number);
    let labels = pod_labels(src);
    let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut meta = src.meta("pod", Some(CILIUM_NAMESPACE), &name, &labels);
    meta.generate_name = Some("cilium-".into());
    meta.annotations = Some(string_map(&[(
        "kubectl.kubernetes.io/default-container",
        AGENT_CONTAINER,
    )]));
    meta.owner_references = Some(vec![OwnerReference {
        api_version: "apps/v1".into(),
        kind: "DaemonSet".into(),
        name: DS.into(),
        uid: src
            .identity
            .uid(&format!("daemonset/{CILIUM_NAMESPACE}/{DS}")),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }]);
    // hostNetwork: the pod's address is its node's.
    let node_ip = super::node::internal_ip(plan);
    let pod = Pod {
        metadata: meta,
        spec: Some(pod_spec(src, Some(&src.k8s_node_name(plan.number)))),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            conditions: Some(conditions(src)),
            host_ip: Some(node_ip.clone()),
            host_ips: Some(vec![HostIP {
                ip: node_ip.clone(),
            }]),
            pod_ip: Some(node_ip.clone()),
            pod_ips: Some(vec![PodIP { ip: node_ip }]),
            qos_class: Some("Burstable".into()),
            start_time: Some(src.created()),
            init_container_statuses: Some(agent_spec::init_statuses(src, &name)),
            container_statuses: Some(vec![running_status(
                src,
                &format!("pod/{CILIUM_NAMESPACE}/{name}"),
                AGENT_CONTAINER,
                src.identity.cilium_image(),
            )]),
            ..PodStatus::default()
        }),
    };
    obj(resources::PODS, Some(CILIUM_NAMESPACE), &name, &pod)
}

/// The data of `cilium-config`: exactly what `cilium config view` shows in the agent role
/// (the attach mode read from the sandbox's state; legacy tc when it cannot be read).
pub fn config_data(sandbox_id: &str) -> std::collections::BTreeMap<String, String> {
    let path = std::path::Path::new(tplab_sandbox::STATE_DIR).join(format!("{sandbox_id}.json"));
    let attach = tplab_sandbox::valid_id(sandbox_id)
        .then(|| std::fs::read(path).ok())
        .flatten()
        .and_then(|b| serde_json::from_slice::<tplab_sandbox::SandboxState>(&b).ok())
        .map(|s| s.config.datapath_attach)
        .unwrap_or_default();
    config_data_for(sandbox_id, attach)
}

/// Same, for a known attach mode.
pub fn config_data_for(
    sandbox_id: &str,
    attach: tplab_sandbox::DatapathAttach,
) -> std::collections::BTreeMap<String, String> {
    tplab_ebpf::cilium::sandbox_config(
        &tplab_ebpf::pin_dir_for(sandbox_id).display().to_string(),
        attach == tplab_sandbox::DatapathAttach::Tcx,
    )
}

fn config_map(src: &Source<'_>) -> Obj {
    let cm = ConfigMap {
        metadata: src.meta(
            "configmap",
            Some(CILIUM_NAMESPACE),
            "cilium-config",
            &[("app.kubernetes.io/part-of", "cilium")],
        ),
        data: Some(config_data_for(
            &src.state.id,
            src.state.config.datapath_attach,
        )),
        ..ConfigMap::default()
    };
    obj(
        resources::CONFIGMAPS,
        Some(CILIUM_NAMESPACE),
        "cilium-config",
        &cm,
    )
}

pub(super) fn objects(src: &Source<'_>) -> Vec<Obj> {
    let mut out = vec![daemonset(src)];
    if !src.identity.no_cilium_pod {
        out.extend(
            src.state
                .config
                .node_plans()
                .iter()
                .map(|plan| agent_pod(src, plan)),
        );
    }
    out.push(config_map(src));
    out
}
