//! Labels of the sandbox's pods and selectors of its Services, as the Kubernetes API shows
//! them. A Service selects what the lab declares (`selector:`); without one it selects
//! `app: <name of the first Service listing its first backend>`, the label that backend
//! carries. Each backend carries its Services' selectors (the first Service's value
//! wins on a shared key), so a declared selector matches the pods it was declared for.

use std::collections::BTreeMap;

use crate::config::SandboxConfig;
use crate::services::ServiceConfig;

pub type Labels = BTreeMap<String, String>;

impl SandboxConfig {
    /// The selector Service `svc` shows (declared, or the default above).
    pub fn service_selector(&self, svc: &ServiceConfig) -> Labels {
        if !svc.selector.is_empty() {
            return svc.selector.clone();
        }
        let app = svc
            .backends
            .first()
            .and_then(|b| self.services.iter().find(|s| s.backends.contains(b)))
            .map_or_else(|| svc.name.clone(), |first| first.name.clone());
        Labels::from([("app".to_string(), app)])
    }

    /// The labels pod `name` carries besides `run: <name>`: its Services' selectors.
    pub fn pod_labels(&self, name: &str) -> Labels {
        let mut labels = Labels::new();
        for svc in self
            .services
            .iter()
            .filter(|s| s.backends.iter().any(|b| b == name))
        {
            for (k, v) in self.service_selector(svc) {
                labels.entry(k).or_insert(v);
            }
        }
        labels
    }
}

/// `k=v,k2=v2` (kubectl's `-l` syntax), sorted by key.
pub fn selector_text(labels: &Labels) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::ServiceType;

    fn service(name: &str, backends: &[&str], selector: &[(&str, &str)]) -> ServiceConfig {
        ServiceConfig {
            name: name.into(),
            kind: ServiceType::ClusterIP,
            cluster_ip: std::net::Ipv4Addr::new(10, 96, 0, 100),
            port: 80,
            target_port: 80,
            node_port: None,
            backends: backends.iter().map(ToString::to_string).collect(),
            selector: selector
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            lb: None,
        }
    }

    #[test]
    fn a_declared_selector_is_shown_and_carried_by_the_backends() {
        let mut cfg = SandboxConfig::default();
        cfg.services.push(service("web", &["a"], &[]));
        cfg.services.push(service("web-np", &["a"], &[]));
        cfg.services
            .push(service("api", &["b"], &[("tier", "api"), ("app", "shop")]));
        assert_eq!(
            selector_text(&cfg.service_selector(&cfg.services[0])),
            "app=web"
        );
        // As before: the first Service listing the backend gives its label.
        assert_eq!(
            selector_text(&cfg.service_selector(&cfg.services[1])),
            "app=web"
        );
        assert_eq!(
            selector_text(&cfg.service_selector(&cfg.services[2])),
            "app=shop,tier=api"
        );
        assert_eq!(selector_text(&cfg.pod_labels("a")), "app=web");
        assert_eq!(selector_text(&cfg.pod_labels("b")), "app=shop,tier=api");
        assert!(cfg.pod_labels("c").is_empty());
    }
}
