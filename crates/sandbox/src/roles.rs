//! Lab roles bound by the sandbox and how a command runs in one: inside the role's netns
//! (own mount namespace and /sys, like `ip netns exec`), with a normal shell environment.

use std::ffi::CString;
use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SandboxError};

/// PATH given to role commands (sbin included: ip, iptables, conntrack live there).
pub const BASE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A lab role. `Agent` is the Cilium-agent role: the node netns for now.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Role {
    /// The first pod.
    Pod,
    /// Another pod, by name (`pod:<name>`).
    NamedPod(String),
    Node,
    /// Node 2, 3… of a multi-node sandbox (`node2`…); node 1 is `Node`.
    NamedNode(usize),
    Agent,
    /// The Cilium agent of node 2, 3… (`agent2`…): that node's netns, its own `cilium`.
    NamedAgent(usize),
    World,
    /// The host itself, no netns.
    Local,
}

impl Role {
    /// The fixed roles (named pods come from the config).
    pub const ALL: [Role; 5] = [Role::Pod, Role::Node, Role::Agent, Role::World, Role::Local];

    /// The role's kind as written in labs (`pod` for every pod, named or not).
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Pod | Role::NamedPod(_) => "pod",
            Role::Node | Role::NamedNode(_) => "node",
            Role::Agent | Role::NamedAgent(_) => "agent",
            Role::World => "world",
            Role::Local => "local",
        }
    }

    /// Name of the role's bin dir and of `TPLAB_ROLE`.
    pub fn name(&self) -> String {
        match self {
            Role::Pod => "pod".into(),
            Role::NamedPod(n) => format!("pod:{n}"),
            Role::Node => "node".into(),
            Role::NamedNode(n) => crate::nodes::node_name(*n),
            Role::Agent => "agent".into(),
            Role::NamedAgent(n) => crate::nodes::agent_name(*n),
            Role::World => "world".into(),
            Role::Local => "local".into(),
        }
    }

    /// A name usable as a directory name.
    pub(crate) fn dir_name(&self) -> String {
        match self {
            Role::NamedPod(n) => format!("pod-{n}"),
            other => other.name(),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl std::str::FromStr for Role {
    type Err = SandboxError;
    fn from_str(s: &str) -> Result<Role> {
        Ok(match s {
            "pod" => Role::Pod,
            "node" | "node1" => Role::Node,
            "agent" | "agent1" | "cilium" | "cilium-agent" => Role::Agent,
            "world" | "internet" => Role::World,
            "local" | "host" => Role::Local,
            other => {
                let pod = other
                    .strip_prefix("pod:")
                    .filter(|name| crate::config::valid_pod_name(name));
                match (pod, numbered("node", other), numbered("agent", other)) {
                    (Some(name), _, _) => Role::NamedPod(name.to_string()),
                    (None, Some(n), _) => Role::NamedNode(n),
                    (None, None, Some(n)) => Role::NamedAgent(n),
                    (None, None, None) => {
                        return Err(SandboxError::UnknownRole {
                            role: s.to_string(),
                        });
                    }
                }
            }
        })
    }
}

/// `node2`… → 2… for `kind` `node` (`node1` is `node`; at most 32 nodes), `agent2`… the same.
fn numbered(kind: &str, name: &str) -> Option<usize> {
    let digits = name.strip_prefix(kind)?;
    if digits.starts_with('0') {
        return None;
    }
    digits.parse().ok().filter(|n| (2..=32).contains(n))
}

impl From<Role> for String {
    fn from(r: Role) -> String {
        r.name()
    }
}

impl TryFrom<String> for Role {
    type Error = SandboxError;
    fn try_from(s: String) -> Result<Role> {
        s.parse()
    }
}

/// PATH for a role: its bin dir, then the caller's PATH, then any standard dir missing.
pub(crate) fn role_path(bin_dir: &Path) -> String {
    let mut parts: Vec<String> = vec![bin_dir.display().to_string()];
    if let Ok(p) = std::env::var("PATH") {
        parts.extend(p.split(':').filter(|s| !s.is_empty()).map(str::to_string));
    }
    for dir in BASE_PATH.split(':') {
        if !parts.iter().any(|p| p == dir) {
            parts.push(dir.to_string());
        }
    }
    parts.join(":")
}

/// Sets the environment of a role command: a clean, normal shell environment.
pub(crate) fn apply_env(cmd: &mut Command, id: &str, role: &Role, bin_dir: &Path) {
    cmd.env_clear()
        .env("PATH", role_path(bin_dir))
        .env(
            "HOME",
            std::env::var("HOME").unwrap_or_else(|_| "/root".into()),
        )
        .env(
            "TERM",
            std::env::var("TERM").unwrap_or_else(|_| "dumb".into()),
        )
        .env(
            "LANG",
            std::env::var("LANG").unwrap_or_else(|_| "C.UTF-8".into()),
        )
        .env("TPLAB_SANDBOX", id)
        .env("TPLAB_ROLE", role.name());
    // The sandbox's Kubernetes API (crate tplab-kubeapi) writes its kubeconfig there.
    let kubeconfig = Path::new(crate::STATE_DIR).join(id).join("kubeconfig");
    if kubeconfig.exists() {
        cmd.env("KUBECONFIG", kubeconfig);
    }
    if let Ok(user) = std::env::var("USER") {
        cmd.env("USER", user);
    }
}

/// Makes `cmd` enter the netns at `ns` in the child. The netns file is opened in the
/// child itself, so the returned Command has no fd whose lifetime the caller must manage.
pub(crate) fn enter_netns(cmd: &mut Command, ns: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    // Fail early, in the parent, with a clear error when the netns is gone.
    tplab_netns::open(ns)?;
    let path = CString::new(ns.as_os_str().as_bytes())
        .map_err(|_| SandboxError::Config(format!("netns path {}", ns.display())))?;
    // SAFETY: open/close and tplab_netns::enter_for_exec are raw syscalls, safe after fork.
    unsafe {
        cmd.pre_exec(move || {
            let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let entered = tplab_netns::enter_for_exec(fd);
            libc::close(fd);
            entered
        });
    }
    Ok(())
}

/// Gives the terminal to the child's process group, so Ctrl-C in an interactive shell
/// reaches the shell and not tplab (whose handler would tear the sandbox down).
pub(crate) fn foreground_child(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    // SAFETY: signal/tcsetpgrp/getpid are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::isatty(0) == 1 {
                libc::signal(libc::SIGTTOU, libc::SIG_IGN);
                libc::tcsetpgrp(0, libc::getpid());
                libc::signal(libc::SIGTTOU, libc::SIG_DFL);
            }
            Ok(())
        });
    }
}

/// Takes the terminal back after the interactive child exited.
pub(crate) fn reclaim_terminal() {
    // SAFETY: plain libc calls on stdin; SIGTTOU is ignored around tcsetpgrp.
    unsafe {
        if libc::isatty(0) == 1 {
            let old = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
            libc::tcsetpgrp(0, libc::getpgrp());
            libc::signal(libc::SIGTTOU, old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_roles() {
        assert_eq!("pod".parse::<Role>().unwrap(), Role::Pod);
        assert_eq!("agent".parse::<Role>().unwrap(), Role::Agent);
        assert_eq!(
            "pod:web".parse::<Role>().unwrap(),
            Role::NamedPod("web".into())
        );
        assert!("pod:".parse::<Role>().is_err());
        assert!("router".parse::<Role>().is_err());
        assert_eq!("agent3".parse::<Role>().unwrap(), Role::NamedAgent(3));
        assert_eq!(Role::NamedAgent(3).to_string(), "agent3");
        assert!("agent1x".parse::<Role>().is_err());
        assert_eq!(Role::NamedPod("b".into()).to_string(), "pod:b");
    }

    #[test]
    fn path_keeps_bin_dir_first() {
        let p = role_path(Path::new("/run/tplab/x/bin/agent"));
        assert!(p.starts_with("/run/tplab/x/bin/agent:"));
        assert!(p.contains("/usr/sbin"));
    }
}
