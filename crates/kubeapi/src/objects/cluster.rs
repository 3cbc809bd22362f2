//! Namespaces, the `kubernetes` Service and the pods' Events.

use k8s_openapi::api::core::v1::{
    Event, EventSource, Namespace, NamespaceSpec, NamespaceStatus, ObjectReference, Service,
    ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Obj, Source, obj};
use crate::resources;

pub(super) const NAMESPACES: [&str; 2] = ["default", "kube-system"];

pub(super) fn namespaces(src: &Source<'_>) -> Vec<Obj> {
    NAMESPACES
        .iter()
        .map(|name| {
            let ns = Namespace {
                metadata: src.meta(
                    "namespace",
                    None,
                    name,
                    &[("kubernetes.io/metadata.name", name)],
                ),
                spec: Some(NamespaceSpec {
                    finalizers: Some(vec!["kubernetes".into()]),
                }),
                status: Some(NamespaceStatus {
                    phase: Some("Active".into()),
                    ..NamespaceStatus::default()
                }),
            };
            obj(resources::NAMESPACES, None, name, &ns)
        })
        .collect()
}

pub(super) fn kubernetes_service(src: &Source<'_>) -> Obj {
    let svc = Service {
        metadata: src.meta(
            "service",
            Some("default"),
            "kubernetes",
            &[("component", "apiserver"), ("provider", "kubernetes")],
        ),
        spec: Some(ServiceSpec {
            cluster_ip: Some("10.96.0.1".into()),
            cluster_ips: Some(vec!["10.96.0.1".into()]),
            internal_traffic_policy: Some("Cluster".into()),
            ip_families: Some(vec!["IPv4".into()]),
            ip_family_policy: Some("SingleStack".into()),
            ports: Some(vec![ServicePort {
                name: Some("https".into()),
                port: 443,
                protocol: Some("TCP".into()),
                target_port: Some(IntOrString::Int(i32::from(src.port))),
                ..ServicePort::default()
            }]),
            session_affinity: Some("None".into()),
            type_: Some("ClusterIP".into()),
            ..ServiceSpec::default()
        }),
        status: None,
    };
    obj(resources::SERVICES, Some("default"), "kubernetes", &svc)
}

/// What the scheduler and kubelet said about each pod when it started.
pub(super) fn events(src: &Source<'_>, objects: &[Obj]) -> Vec<Obj> {
    let mut out = Vec::new();
    let node = &src.identity.node_name;
    for pod in objects.iter().filter(|o| o.def == resources::PODS) {
        let ns = pod.namespace.clone().unwrap_or_default();
        let container = pod.value["spec"]["containers"][0]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let image = pod.value["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let steps = [
            (
                "Scheduled",
                "default-scheduler",
                format!("Successfully assigned {ns}/{} to {node}", pod.name),
                None,
            ),
            (
                "Pulled",
                "kubelet",
                format!("Container image \"{image}\" already present on machine"),
                Some(&container),
            ),
            (
                "Created",
                "kubelet",
                format!("Created container: {container}"),
                Some(&container),
            ),
            (
                "Started",
                "kubelet",
                format!("Started container {container}"),
                Some(&container),
            ),
        ];
        for (i, (reason, component, message, field)) in steps.into_iter().enumerate() {
            let name = format!("{}.{:016x}", pod.name, 0x17f0_0000_0000_0000_u64 + i as u64);
            let ev = Event {
                metadata: src.meta("event", Some(&ns), &name, &[]),
                involved_object: ObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Pod".into()),
                    name: Some(pod.name.clone()),
                    namespace: Some(ns.clone()),
                    uid: pod.value["metadata"]["uid"].as_str().map(str::to_string),
                    resource_version: pod.value["metadata"]["resourceVersion"]
                        .as_str()
                        .map(str::to_string),
                    field_path: field.map(|c| format!("spec.containers{{{c}}}")),
                },
                reason: Some(reason.into()),
                message: Some(message),
                source: Some(EventSource {
                    component: Some(component.into()),
                    host: (component == "kubelet").then(|| node.clone()),
                }),
                first_timestamp: Some(src.created()),
                last_timestamp: Some(src.created()),
                count: Some(1),
                type_: Some("Normal".into()),
                reporting_component: Some(component.into()),
                reporting_instance: Some(if component == "kubelet" {
                    node.clone()
                } else {
                    String::new()
                }),
                ..Event::default()
            };
            out.push(obj(resources::EVENTS, Some(&ns), &name, &ev));
        }
    }
    out
}
