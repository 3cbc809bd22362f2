//! The lab's Services (`sandbox: services:` in its front matter), as the API server shows
//! them: `ClusterIP` or `NodePort`, with the selector their backend pods' labels match.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Obj, Source, obj};
use crate::resources;

pub(super) fn services(src: &Source<'_>) -> Vec<Obj> {
    src.state
        .config
        .services
        .iter()
        .map(|s| {
            let ip = s.cluster_ip.to_string();
            // The lab's `selector:`, or its first backend's `app` label (see the sandbox's
            // `selectors.rs`): what its backends carry.
            let selector = src.state.config.service_selector(s);
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
                    selector: Some(selector),
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
