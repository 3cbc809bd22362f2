//! Why a probe could not look. Every variant becomes an `error` verdict in the runner
//! (never a student `fail`), so each one names the namespace and, when known, the interface.

use std::path::Path;

/// Human label for a namespace: its path, or "the current netns".
pub fn ns_label(ns: Option<&Path>) -> String {
    ns.map_or_else(
        || "the current netns".to_string(),
        |p| p.display().to_string(),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("network namespace {netns} does not exist")]
    NetnsNotFound { netns: String },

    #[error(
        "permission denied while {action} in {netns}: run tplab as root (or with CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_BPF)"
    )]
    Permission { netns: String, action: String },

    #[error(
        "the kernel does not support TCX (needs Linux >= 6.6) while querying {direction} programs of {interface} in {netns}"
    )]
    TcxUnsupported {
        netns: String,
        interface: String,
        direction: String,
    },

    #[error(
        "conntrack is not available in {netns} (nf_conntrack / nf_conntrack_netlink not loaded?): {source}"
    )]
    ConntrackUnavailable {
        netns: String,
        #[source]
        source: std::io::Error,
    },

    #[error("nf_tables is not available in {netns} (nf_tables module not loaded?): {source}")]
    FirewallUnavailable {
        netns: String,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid sysctl name {name:?}: {reason}")]
    SysctlName { name: String, reason: String },

    #[error("reading sysctl {name} in {netns}: {source}")]
    Sysctl {
        netns: String,
        name: String,
        #[source]
        source: std::io::Error,
    },

    #[error("netlink error while {action}{} in {netns}: {source}", iface_suffix(interface.as_deref()))]
    Netlink {
        netns: String,
        action: String,
        interface: Option<String>,
        #[source]
        source: std::io::Error,
    },

    #[error("bpf syscall failed while {action}{} in {netns}: {source}", iface_suffix(interface.as_deref()))]
    Bpf {
        netns: String,
        action: String,
        interface: Option<String>,
        #[source]
        source: std::io::Error,
    },

    #[error("malformed netlink answer while {action} in {netns}: {detail}")]
    Decode {
        netns: String,
        action: String,
        detail: String,
    },

    #[error("entering {netns}: {source}")]
    Netns {
        netns: String,
        #[source]
        source: tplab_netns::NetnsError,
    },
}

fn iface_suffix(interface: Option<&str>) -> String {
    interface.map(|i| format!(" on {i}")).unwrap_or_default()
}

/// True for the errnos that mean "not allowed" rather than "broken".
pub fn is_permission(errno: i32) -> bool {
    errno == libc::EPERM || errno == libc::EACCES
}

impl ProbeError {
    /// Maps an OS error met while `action` to the most specific variant.
    pub fn netlink(
        netns: &str,
        action: &str,
        interface: Option<&str>,
        source: std::io::Error,
    ) -> Self {
        if source.raw_os_error().is_some_and(is_permission) {
            return ProbeError::Permission {
                netns: netns.to_string(),
                action: action.to_string(),
            };
        }
        ProbeError::Netlink {
            netns: netns.to_string(),
            action: action.to_string(),
            interface: interface.map(str::to_string),
            source,
        }
    }

    /// Same as [`ProbeError::netlink`] for the bpf syscall.
    pub fn bpf(netns: &str, action: &str, interface: Option<&str>, source: std::io::Error) -> Self {
        if source.raw_os_error().is_some_and(is_permission) {
            return ProbeError::Permission {
                netns: netns.to_string(),
                action: action.to_string(),
            };
        }
        ProbeError::Bpf {
            netns: netns.to_string(),
            action: action.to_string(),
            interface: interface.map(str::to_string),
            source,
        }
    }

    /// Maps a namespace-entry failure (missing file, EPERM on setns).
    pub fn from_netns(netns: &str, e: tplab_netns::NetnsError) -> Self {
        match e {
            tplab_netns::NetnsError::NotFound { .. } => ProbeError::NetnsNotFound {
                netns: netns.to_string(),
            },
            tplab_netns::NetnsError::Permission { action } => ProbeError::Permission {
                netns: netns.to_string(),
                action,
            },
            other => ProbeError::Netns {
                netns: netns.to_string(),
                source: other,
            },
        }
    }

    /// Maps an rtnetlink error (its netlink NACK carries a negative errno).
    pub fn rtnl(netns: &str, action: &str, interface: Option<&str>, e: rtnetlink::Error) -> Self {
        let io = match e {
            rtnetlink::Error::NetlinkError(msg) => msg.to_io(),
            other => std::io::Error::other(other.to_string()),
        };
        Self::netlink(netns, action, interface, io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eperm_and_eacces_are_permission_errors() {
        for errno in [libc::EPERM, libc::EACCES] {
            let e = ProbeError::netlink(
                "ns1",
                "dumping links",
                None,
                std::io::Error::from_raw_os_error(errno),
            );
            assert!(matches!(e, ProbeError::Permission { .. }), "{e:?}");
            assert!(e.to_string().contains("run tplab as root"));
        }
        let e = ProbeError::bpf(
            "ns1",
            "querying tcx",
            Some("eth0"),
            std::io::Error::from_raw_os_error(libc::EPERM),
        );
        assert!(matches!(e, ProbeError::Permission { .. }));
    }

    #[test]
    fn other_errnos_keep_context() {
        let e = ProbeError::netlink(
            "/run/netns/x",
            "dumping tc filters",
            Some("lxc1"),
            std::io::Error::from_raw_os_error(libc::EINVAL),
        );
        let text = e.to_string();
        assert!(
            text.contains("dumping tc filters on lxc1 in /run/netns/x"),
            "{text}"
        );
    }

    #[test]
    fn missing_netns_maps_to_not_found() {
        let e = ProbeError::from_netns(
            "/run/netns/nope",
            tplab_netns::NetnsError::NotFound {
                name: "nope".into(),
                path: "/run/netns/nope".into(),
            },
        );
        assert!(matches!(e, ProbeError::NetnsNotFound { .. }));
    }
}
