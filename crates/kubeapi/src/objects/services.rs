//! The lab's Services (`sandbox: services:` in its front matter), as the API server shows
//! them: `ClusterIP` or `NodePort`, selector `app: …` (the label their backend pods carry).

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Obj, Source, obj, string_map};
use crate::resources;

/// The `app` label of a Service's backends: a pod carries the name of the first Service
/// listing it (see `pods.rs`), so a Service selects by its first backend's label.
fn selector_of(src: &Source<'_>, svc: &tplab_sandbox::ServiceConfig) -> String {
    svc.backends
        .first()
        .and_then(|b| {
            src.state
                .config
                .services
                .iter()
                .find(|other| other.backends.contains(b))
        })
        .map_or_else(|| svc.name.clone(), |first| first.name.clone())
}

pub(super) fn services(src: &Source<'_>) -> Vec<Obj> {
    src.state
        .config
        .services
        .iter()
        .map(|s| {
            let ip = s.cluster_ip.to_string();
            let app = selector_of(src, s);
            let svc = Service {
                metadata: src.meta("service", Some("default"), &s.name, &[("app", &s.name)]),
                spec: Some(ServiceSpec {
                    cluster_ip: Some(ip.clone()),
                    cluster_ips: Some(vec![ip]),
                    external_traffic_policy: s.node_port.map(|_| "Cluster".into()),
                    internal_traffic_policy: Some("Cluster".into()),
                    ip_families: Some(vec!["IPv4".into()]),
                    ip_family_policy: Some("SingleStack".into()),
                    ports: Some(vec![ServicePort {
                        port: i32::from(s.port),
                        node_port: s.node_port.map(i32::from),
                        protocol: Some("TCP".into()),
                        target_port: Some(IntOrString::Int(i32::from(s.target_port))),
                        ..ServicePort::default()
                    }]),
                    selector: Some(string_map(&[("app", &app)])),
                    session_affinity: Some("None".into()),
                    type_: Some(s.kind.name().into()),
                    ..ServiceSpec::default()
                }),
                status: None,
            };
            obj(resources::SERVICES, Some("default"), &s.name, &svc)
        })
        .collect()
}
