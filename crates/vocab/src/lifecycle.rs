//! What a lab declares about the machine around it (front matter): the network
//! namespaces its roles live in (`netns`), what it creates and tplab removes at the end
//! (`creates`), and what it needs before it can start (`requires`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// Roles bound to a named network namespace on `local`: `{ red: "red-{{ session_id }}" }`.
/// Values are templates rendered with the session's variables.
pub type NetnsRoles = BTreeMap<String, String>;

/// What the lab (or the student, following it) creates, removed when the session ends
/// (finish, Quit, Ctrl-C, SIGTERM). Entries are templates; a `netns` entry naming a role
/// of `netns` means that role's namespace.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Creates {
    /// Named network namespaces (`ip netns` names).
    pub netns: Vec<String>,
    /// Interfaces of this machine's own namespace (`local`), e.g. a bridge.
    pub links: Vec<String>,
}

impl Creates {
    pub fn is_empty(&self) -> bool {
        self.netns.is_empty() && self.links.is_empty()
    }
}

/// What the lab needs from the machine, checked before `run`, `test` and `check`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Requires {
    /// tplab must run as root (namespaces, links, BPF).
    pub root: bool,
    /// Kernel modules that must be loaded, built in or loadable (`bridge`, `veth`, `8021q`).
    pub kernel: Vec<String>,
    /// Programs that must be on PATH (`ip`, `bridge`, `ping`).
    pub tools: Vec<String>,
    /// Kernel features, probed for real ([`KernelFeature`] names: `vlan`,
    /// `bridge_vlan_filtering`, `vxlan`, `tcx`, `bpf_lsm`…). Names stay text here so that
    /// lint reports an unknown one at its line and column.
    pub features: Vec<String>,
}

/// A kernel feature a lab may require (`requires.features`), each detected for real by
/// `tplab run`/`test`/`check` before they start.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumIter,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
)]
#[strum(serialize_all = "snake_case")]
pub enum KernelFeature {
    /// 802.1Q VLAN links (`ip link add … type vlan`, module `8021q`).
    #[strum(serialize = "vlan", serialize = "8021q")]
    Vlan,
    /// Bridges (`type bridge`).
    Bridge,
    /// VLAN filtering on a bridge (`vlan_filtering 1`, `CONFIG_BRIDGE_VLAN_FILTERING`).
    BridgeVlanFiltering,
    /// VXLAN links (`type vxlan`).
    Vxlan,
    /// veth pairs (`type veth`).
    Veth,
    /// TCX BPF links on tc hooks (Linux 6.6+; Cilium 1.16's default attach).
    Tcx,
    /// The BPF LSM, active (`bpf` in `/sys/kernel/security/lsm`).
    BpfLsm,
}

impl KernelFeature {
    /// The name labs write.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Every name labs may write, for lint's "expected one of".
    pub fn names() -> Vec<&'static str> {
        use strum::IntoEnumIterator as _;
        Self::iter().map(Self::name).collect()
    }
}

impl Requires {
    pub fn is_empty(&self) -> bool {
        !self.root && self.kernel.is_empty() && self.tools.is_empty() && self.features.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::KernelFeature;

    #[test]
    fn feature_names_parse_back() {
        for name in KernelFeature::names() {
            assert_eq!(
                name.parse::<KernelFeature>().map(KernelFeature::name),
                Ok(name)
            );
        }
        assert_eq!("8021q".parse(), Ok(KernelFeature::Vlan));
        assert!("vlans".parse::<KernelFeature>().is_err());
    }
}
