//! What a command line says about the cluster: kubeconfig, context, namespace, the
//! student's pod or the image of the lab pod tplab creates, and per-environment
//! template values (`--var world_ip=…`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The lab pod's default image: ping, wget, ip, tc, curl (and a shell).
pub const DEFAULT_IMAGE: &str = "nicolaka/netshoot:v0.13";
/// The node pod's default image (node-shell's): it only runs `nsenter`.
pub const DEFAULT_NODE_IMAGE: &str = "alpine:3.20";
/// How long a created pod may take to be Running (an image pull included).
pub const DEFAULT_POD_TIMEOUT: Duration = Duration::from_secs(120);

/// Options of the `kube` environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeOptions {
    /// `--kubeconfig` (else `KUBECONFIG`, else `~/.kube/config`).
    pub kubeconfig: Option<PathBuf>,
    /// `--context` (else the kubeconfig's current context).
    pub context: Option<String>,
    /// `--namespace` (else the context's namespace, else `default`).
    pub namespace: Option<String>,
    /// `--pod NAME`: the student's own pod; none: tplab creates a lab pod.
    pub pod: Option<String>,
    /// `--image`: the lab pod's image.
    pub image: Option<String>,
    /// `--node-image`: the node pod's image.
    pub node_image: Option<String>,
    /// `--pod-timeout`: how long created pods may take to run.
    pub pod_timeout: Option<Duration>,
    /// `--var KEY=VALUE`: template values that win over the environment's facts.
    pub vars: BTreeMap<String, String>,
}

impl KubeOptions {
    pub fn image(&self) -> &str {
        self.image.as_deref().unwrap_or(DEFAULT_IMAGE)
    }

    pub fn node_image(&self) -> &str {
        self.node_image.as_deref().unwrap_or(DEFAULT_NODE_IMAGE)
    }

    pub fn pod_timeout(&self) -> Duration {
        self.pod_timeout.unwrap_or(DEFAULT_POD_TIMEOUT)
    }
}

/// Parses `KEY=VALUE` (for `--var`).
pub fn parse_var(text: &str) -> Result<(String, String), String> {
    let (k, v) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected KEY=VALUE"))?;
    let k = k.trim();
    let valid = !k.is_empty()
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !k.starts_with(|c: char| c.is_ascii_digit());
    if !valid {
        return Err(format!(
            "`{k}`: a variable name is letters, digits and `_`, not starting with a digit"
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_parse() {
        assert_eq!(
            parse_var("world_ip=1.0.0.1"),
            Ok(("world_ip".into(), "1.0.0.1".into()))
        );
        assert_eq!(parse_var("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_var("noequals").is_err());
        assert!(parse_var("1x=2").is_err());
        assert!(parse_var("=2").is_err());
    }
}
