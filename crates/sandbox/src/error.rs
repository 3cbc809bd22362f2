//! Errors of the sandbox, each carrying what was being done and where.

use std::path::PathBuf;

/// Everything that can go wrong while building, using or removing a sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "the sandbox needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces: \
         run it as `sudo tplab {action}`"
    )]
    NotRoot { action: String },
    #[error("sandbox `{id}` not found (no state file {path}); `tplab sandbox status` lists them")]
    NotFound { id: String, path: PathBuf },
    #[error("invalid sandbox id `{id}`: use 1 to 12 characters among [a-z0-9]")]
    BadId { id: String },
    #[error("sandbox `{id}` is {what}")]
    Busy { id: String, what: String },
    #[error("sandbox id `{id}` is already in use")]
    IdTaken { id: String },
    #[error(
        "unknown role `{role}`: expected pod, node, agent, world, local, pod:<name>, node2… or agent2…"
    )]
    UnknownRole { role: String },
    #[error("sandbox `{id}` has no pod named `{pod}`")]
    NoSuchPod { id: String, pod: String },
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
    #[error("network namespace: {0}")]
    Netns(#[from] tplab_netns::NetnsError),
    #[error("netlink in netns `{netns}` while {action}: {message}")]
    Netlink {
        netns: String,
        action: String,
        message: String,
    },
    #[error("writing sysctl {path} in netns `{netns}`: {source}")]
    Sysctl {
        netns: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "iptables-restore in netns `{netns}` failed: {message} (is the `iptables` package installed? \
         `apt-get install iptables`)"
    )]
    Iptables { netns: String, message: String },
    #[error("starting the world HTTP server: {0}")]
    Daemon(String),
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error("state file {path}: {message}")]
    State { path: PathBuf, message: String },
    #[error(
        "socket load-balancing (`services_lb: socket`) runs the sandbox's processes in a cgroup v2, \
         and no cgroup2 filesystem is mounted: mount one (`mount -t cgroup2 none /sys/fs/cgroup`) \
         or let kube-proxy's iptables rules serve the Services (`services_lb: iptables`)"
    )]
    NoCgroup2,
    #[error("interrupted: the sandbox is being torn down after a signal")]
    Interrupted,
}

impl SandboxError {
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        SandboxError::Io {
            action: action.into(),
            source,
        }
    }

    pub(crate) fn netlink(
        netns: &str,
        action: impl Into<String>,
        err: &impl std::fmt::Display,
    ) -> Self {
        SandboxError::Netlink {
            netns: netns.to_string(),
            action: action.into(),
            message: err.to_string(),
        }
    }
}

pub type Result<T, E = SandboxError> = std::result::Result<T, E>;
