//! Static knowledge about environments, used by the linter before anything runs:
//! which environments exist, which roles each binds and which facts it exposes as
//! variables — all derived from [`EnvKind`] and the sandbox crate, never listed twice.

use strum::{EnumIter, IntoEnumIterator as _, IntoStaticStr};

/// The environments tplab knows, by the name labs and `--env` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "lowercase")]
pub enum EnvKind {
    /// This machine, in this network namespace.
    Local,
    /// The built-in sandbox (network namespaces reproducing the seed's cluster).
    Sandbox,
    /// A real Kubernetes cluster (or a sandbox's API) through kube-rs.
    Kube,
}

impl EnvKind {
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Roles this environment binds.
    pub fn roles(self) -> Vec<&'static str> {
        match self {
            EnvKind::Local => vec!["local"],
            EnvKind::Sandbox => tplab_sandbox::Role::ALL
                .iter()
                .map(tplab_sandbox::Role::as_str)
                .collect(),
            // The roles the kube environment binds, named as in the sandbox.
            EnvKind::Kube => vec!["pod", "node", "agent", "local"],
        }
    }

    /// Facts this environment exposes as template variables.
    pub fn facts(self) -> Vec<&'static str> {
        match self {
            EnvKind::Local => vec!["hostname"],
            // A lab written for the sandbox runs unchanged on a cluster: same names, the
            // network's (sandbox crate) and the Kubernetes API's (kubeapi crate).
            EnvKind::Sandbox => tplab_sandbox::FACT_NAMES
                .iter()
                .chain(tplab_kubeapi::FACT_NAMES)
                .copied()
                .collect(),
            EnvKind::Kube => tplab_sandbox::FACT_NAMES
                .iter()
                .chain(tplab_kubeapi::FACT_NAMES)
                .chain(KUBE_FACT_NAMES)
                .copied()
                .collect(),
        }
    }
}

/// Facts only a cluster has: the Cilium agent's CLI (`cilium-dbg` since Cilium 1.15, else
/// `cilium`), its version, and the namespace tplab's pods run in.
pub const KUBE_FACT_NAMES: &[&str] = &["cilium_cli", "cilium_version", "namespace"];

/// Names of the environments tplab knows.
pub fn environments() -> Vec<&'static str> {
    EnvKind::iter().map(EnvKind::name).collect()
}

/// Roles an environment binds (none for an unknown name).
pub fn roles(env: &str) -> Vec<&'static str> {
    env.parse::<EnvKind>()
        .map(EnvKind::roles)
        .unwrap_or_default()
}

/// Facts an environment exposes as template variables.
pub fn facts(env: &str) -> Vec<&'static str> {
    env.parse::<EnvKind>()
        .map(EnvKind::facts)
        .unwrap_or_default()
}

/// Variables every session defines.
pub const BUILTIN_VARS: &[&str] = &["lab_id", "student", "env", "session_id"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in EnvKind::iter() {
            assert_eq!(kind.name().parse::<EnvKind>(), Ok(kind));
        }
        assert_eq!(environments(), ["local", "sandbox", "kube"]);
        assert!(roles("sandbox").contains(&"agent"));
        assert!(facts("sandbox").contains(&"gateway_ip"));
        assert!(facts("kube").contains(&"cilium_pod"));
        assert!(roles("nope").is_empty());
    }
}
