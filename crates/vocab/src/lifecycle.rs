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
}

impl Requires {
    pub fn is_empty(&self) -> bool {
        !self.root && self.kernel.is_empty() && self.tools.is_empty()
    }
}
