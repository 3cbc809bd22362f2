//! How a sandbox's Services are load-balanced: kube-proxy's iptables rules (the default,
//! DNAT in every node's nat table) or Cilium's socket load-balancing (its kube-proxy
//! replacement: `connect()` is rewritten to a backend by a cgroup BPF program, so no
//! packet carries the `ClusterIP` and no `KUBE-*` rule exists for the Service).

use crate::config::SandboxConfig;
use crate::services::{ServiceConfig, ServiceType};

pub use tplab_vocab::lab_sandbox::ServicesLb;

impl SandboxConfig {
    /// The load-balancer of `svc`: its own `lb`, else the sandbox's `services_lb`.
    pub fn lb_of(&self, svc: &ServiceConfig) -> ServicesLb {
        svc.lb.unwrap_or(self.services_lb)
    }

    /// The Services kube-proxy's rules serve.
    pub fn iptables_services(&self) -> impl Iterator<Item = &ServiceConfig> {
        self.services
            .iter()
            .filter(|s| self.lb_of(s) == ServicesLb::Iptables)
    }

    /// The Services the socket LB serves.
    pub fn socket_lb_services(&self) -> impl Iterator<Item = &ServiceConfig> {
        self.services
            .iter()
            .filter(|s| self.lb_of(s) == ServicesLb::Socket)
    }

    /// True when some Service is socket load-balanced: the sandbox then has a cgroup its
    /// pod and node processes run in.
    pub fn uses_socket_lb(&self) -> bool {
        self.socket_lb_services().next().is_some()
    }

    /// What the socket LB cannot do here, named for the lab author.
    pub(crate) fn validate_lb(&self) -> Result<(), String> {
        if let Some(svc) = self
            .socket_lb_services()
            .find(|s| s.kind == ServiceType::NodePort)
        {
            return Err(format!(
                "service `{}`: socket load-balancing serves ClusterIP Services only here (a NodePort reached from outside needs Cilium's tc nodeport programs, which the sandbox does not have): give it `lb: iptables`",
                svc.name
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        use strum::VariantNames;
        assert_eq!(ServicesLb::VARIANTS, ["iptables", "socket"]);
        assert_eq!(
            "socket".parse::<ServicesLb>().ok(),
            Some(ServicesLb::Socket)
        );
        assert_eq!(ServicesLb::Socket.to_string(), "socket");
    }
}
