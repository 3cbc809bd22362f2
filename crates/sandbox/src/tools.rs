//! Privilege and tool checks, with messages that say exactly what to do.

use std::path::Path;

use crate::error::{Result, SandboxError};

/// Debian package providing `tool` (the tool's own name when unknown).
pub fn debian_package(tool: &str) -> &str {
    match tool {
        "ping" | "ping6" => "iputils-ping",
        "arping" => "iputils-arping",
        "route" | "arp" | "ifconfig" | "netstat" => "net-tools",
        "iptables" | "iptables-save" | "iptables-restore" | "ip6tables" => "iptables",
        "nft" => "nftables",
        "conntrack" => "conntrack",
        "wget" => "wget",
        "curl" => "curl",
        "tc" | "ip" | "ss" | "bridge" => "iproute2",
        "bpftool" => "bpftool",
        "tcpdump" => "tcpdump",
        "sysctl" | "ps" => "procps",
        "nc" => "netcat-openbsd",
        "dig" | "nslookup" => "dnsutils",
        "traceroute" => "traceroute",
        "ethtool" => "ethtool",
        "iperf3" => "iperf3",
        other => other,
    }
}

/// True when an executable `tool` is on PATH or in the standard (s)bin directories.
pub fn has_tool(tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    if tool.contains('/') {
        return Path::new(tool).is_file();
    }
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(crate::roles::BASE_PATH.split(':'))
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(tool))
        .any(|p| {
            std::fs::metadata(&p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The tools among `names` that are not installed, each with the Debian package to install.
pub fn missing_tools<S: AsRef<str>>(names: &[S]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for name in names {
        let name = name.as_ref();
        if !has_tool(name) && !out.iter().any(|(t, _)| t == name) {
            out.push((name.to_string(), debian_package(name).to_string()));
        }
    }
    out
}

/// `apt-get install -y <packages>` for the missing tools (deduplicated), or None.
pub fn install_command(missing: &[(String, String)]) -> Option<String> {
    let mut pkgs: Vec<&str> = missing.iter().map(|(_, p)| p.as_str()).collect();
    pkgs.sort_unstable();
    pkgs.dedup();
    (!pkgs.is_empty()).then(|| format!("apt-get install -y {}", pkgs.join(" ")))
}

/// Errors with "run it as `sudo tplab <action>`" unless we can manage namespaces.
pub fn check_privileges(action: &str) -> Result<()> {
    if tplab_netns::have_privileges() {
        Ok(())
    } else {
        Err(SandboxError::NotRoot {
            action: action.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_root_says_how_to_run() {
        let msg = SandboxError::NotRoot {
            action: "sandbox up".into(),
        }
        .to_string();
        assert!(msg.contains("needs root"), "{msg}");
        assert!(msg.contains("`sudo tplab sandbox up`"), "{msg}");
    }

    #[test]
    fn maps_tools_to_packages() {
        assert_eq!(debian_package("route"), "net-tools");
        assert_eq!(debian_package("iptables-save"), "iptables");
        assert_eq!(debian_package("ping"), "iputils-ping");
        assert_eq!(debian_package("tc"), "iproute2");
        let missing = missing_tools(&["sh", "surely-not-a-tool-xyz"]);
        assert_eq!(
            missing,
            vec![(
                "surely-not-a-tool-xyz".to_string(),
                "surely-not-a-tool-xyz".to_string()
            )]
        );
        assert_eq!(
            install_command(&[
                ("arp".into(), "net-tools".into()),
                ("route".into(), "net-tools".into())
            ]),
            Some("apt-get install -y net-tools".into())
        );
    }
}
