//! Static knowledge about environments, used by the linter before anything runs:
//! which roles each environment binds and which facts it exposes as variables.

/// Environments tplab knows.
pub const ENVIRONMENTS: &[&str] = &["local", "sandbox", "kube"];

/// Roles an environment binds.
pub fn roles(env: &str) -> &'static [&'static str] {
    match env {
        "local" => &["local"],
        "sandbox" => &["pod", "node", "agent", "world", "local"],
        "kube" => &["pod", "node", "agent", "local"],
        _ => &[],
    }
}

/// Variables every session defines.
pub const BUILTIN_VARS: &[&str] = &["lab_id", "student", "env", "session_id"];

/// Facts an environment exposes as template variables.
pub fn facts(env: &str) -> &'static [&'static str] {
    match env {
        "local" => &["hostname"],
        "sandbox" | "kube" => &[
            "sandbox",
            "pod_ip",
            "pod_if",
            "pod_mac",
            "gateway_ip",
            "lxc_name",
            "lxc_mac",
            "node_ip",
            "node_if",
            "node_gateway",
            "world_ip",
            "cilium_host_mac",
        ],
        _ => &[],
    }
}
