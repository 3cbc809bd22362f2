//! The student's pods (`default` namespace), one per sandbox pod netns, with its real
//! address, on the node, Running.

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStatus, HostIP, Pod, PodCondition,
    PodIP, PodSpec, PodStatus, Toleration,
};
use tplab_sandbox::PodState;

use super::{Obj, Source, obj, string_map};
use crate::resources;

/// The image the sandbox's pods claim (they run this machine's own binaries).
pub const POD_IMAGE: &str = "tplab.invalid/sandbox/pod:latest";

pub(super) fn conditions(src: &Source<'_>) -> Vec<PodCondition> {
    [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    .iter()
    .map(|kind| PodCondition {
        type_: (*kind).into(),
        status: "True".into(),
        last_transition_time: Some(src.created()),
        ..PodCondition::default()
    })
    .collect()
}

pub(super) fn running_status(
    src: &Source<'_>,
    key: &str,
    container: &str,
    image: &str,
) -> ContainerStatus {
    ContainerStatus {
        name: container.into(),
        ready: true,
        started: Some(true),
        restart_count: 0,
        image: image.into(),
        image_id: format!("{image}@sha256:{}", &src.identity.container_id(image)[13..]),
        container_id: Some(src.identity.container_id(key)),
        state: Some(ContainerState {
            running: Some(ContainerStateRunning {
                started_at: Some(src.created()),
            }),
            ..ContainerState::default()
        }),
        ..ContainerStatus::default()
    }
}

pub(super) fn default_tolerations() -> Vec<Toleration> {
    [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ]
    .iter()
    .map(|k| Toleration {
        key: Some((*k).into()),
        operator: Some("Exists".into()),
        effect: Some("NoExecute".into()),
        toleration_seconds: Some(300),
        ..Toleration::default()
    })
    .collect()
}

fn pod(src: &Source<'_>, p: &PodState) -> Obj {
    let ip = p.ip.to_string();
    let node_ip = src.state.config.node_plan(p.node).map_or_else(
        || src.state.config.node_ip.to_string(),
        |n| super::node::internal_ip(&n),
    );
    // A Service's backends carry its selector (declared, or `app: <first Service>`).
    let carried = src.state.config.pod_labels(&p.name);
    let mut labels: Vec<(&str, &str)> = carried
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if !carried.contains_key("run") {
        labels.push(("run", p.name.as_str()));
    }
    let mut meta = src.meta("pod", Some("default"), &p.name, &labels);
    meta.annotations = Some(string_map(&[
        ("tplab.dev/netns", &p.netns),
        ("tplab.dev/lxc", &p.lxc_name),
    ]));
    let pod = Pod {
        metadata: meta,
        spec: Some(PodSpec {
            containers: vec![Container {
                name: p.name.clone(),
                image: Some(POD_IMAGE.into()),
                image_pull_policy: Some("IfNotPresent".into()),
                command: Some(vec!["sleep".into(), "infinity".into()]),
                termination_message_path: Some("/dev/termination-log".into()),
                termination_message_policy: Some("File".into()),
                ..Container::default()
            }],
            dns_policy: Some("ClusterFirst".into()),
            enable_service_links: Some(true),
            node_name: Some(src.k8s_node_name(p.node)),
            preemption_policy: Some("PreemptLowerPriority".into()),
            priority: Some(0),
            restart_policy: Some("Always".into()),
            scheduler_name: Some("default-scheduler".into()),
            service_account: Some("default".into()),
            service_account_name: Some("default".into()),
            termination_grace_period_seconds: Some(30),
            tolerations: Some(default_tolerations()),
            ..PodSpec::default()
        }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            conditions: Some(conditions(src)),
            host_ip: Some(node_ip.clone()),
            host_ips: Some(vec![HostIP { ip: node_ip }]),
            pod_ip: Some(ip.clone()),
            pod_ips: Some(vec![PodIP { ip }]),
            qos_class: Some("BestEffort".into()),
            start_time: Some(src.created()),
            container_statuses: Some(vec![running_status(
                src,
                &format!("pod/default/{}", p.name),
                &p.name,
                POD_IMAGE,
            )]),
            ..PodStatus::default()
        }),
    };
    obj(resources::PODS, Some("default"), &p.name, &pod)
}

pub(super) fn pods(src: &Source<'_>) -> Vec<Obj> {
    src.state.pods.iter().map(|p| pod(src, p)).collect()
}
