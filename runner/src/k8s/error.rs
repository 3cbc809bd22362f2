//! Why a cluster could not be used — by the `kube` environment or by `k8s` checks on any
//! environment — each with the way out: what to grant, which label to set, which command
//! tells more. None of them is the student's fault: they end the command with exit status
//! 3, or become *error* verdicts.

use std::path::PathBuf;

/// A failure of the `kube` environment.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error(
        "no kubeconfig: none of {} exists; pass `--kubeconfig FILE`, set KUBECONFIG, or get one \
         from your cluster (`doctl kubernetes cluster kubeconfig save NAME`, `kind get \
         kubeconfig`, `k3d kubeconfig write NAME`; for a tplab sandbox: `tplab sandbox \
         kubeconfig`)",
        paths(tried)
    )]
    NoKubeconfig { tried: Vec<PathBuf> },
    #[error("reading the kubeconfig {}: {source} (check the file, or pass another one with `--kubeconfig`)", path.display())]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("building a Kubernetes client from {}: {source}", path.display())]
    Client {
        path: PathBuf,
        #[source]
        source: kube::Error,
    },
    #[error(
        "the Kubernetes API at {server} is unreachable ({message}): is the cluster up and is \
         this the right context? (`kubectl cluster-info` tells)"
    )]
    Unreachable { server: String, message: String },
    #[error(
        "the Kubernetes API at {server} refused this kubeconfig's credentials (401 \
         Unauthorized: {message}): they are wrong or expired; refresh them (DOKS: `doctl \
         kubernetes cluster kubeconfig save NAME`; or your cloud's `kubeconfig` command)"
    )]
    Unauthorized { server: String, message: String },
    #[error(
        "the Kubernetes API forbids `{verb}` on `{resource}`{in_ns} ({message}): grant this \
         kubeconfig's user a {role} with verbs {grant} on `{resource}`{in_ns} and bind it \
         (docs/kubernetes.md lists everything tplab needs)",
        in_ns = namespace.as_deref().map(|n| format!(" in namespace `{n}`")).unwrap_or_default(),
        role = if namespace.is_some() { "Role" } else { "ClusterRole" }
    )]
    Forbidden {
        verb: String,
        resource: String,
        /// `None`: a cluster-scoped resource (or discovery).
        namespace: Option<String>,
        /// The verbs to grant (`[get, create]` for `pods/exec`: WebSocket exec needs both).
        grant: String,
        message: String,
    },
    #[error(
        "Pod Security Admission rejected the node pod in namespace `{namespace}` ({message}): \
         tplab reads the node through a privileged host pod, as `kubectl node-shell` does; \
         allow it in that namespace with `kubectl label namespace {namespace} \
         pod-security.kubernetes.io/enforce=privileged --overwrite`, or run tplab in a \
         namespace that allows privileged pods (`--namespace`)"
    )]
    PodSecurity { namespace: String, message: String },
    #[error(
        "pod `{pod}` cannot pull its image `{image}` ({reason}: {message}): check the image \
         name and that the node reaches its registry, or choose another one (`{flag}`)"
    )]
    ImagePull {
        pod: String,
        image: String,
        reason: String,
        message: String,
        flag: &'static str,
    },
    #[error(
        "pod `{pod}` in namespace `{namespace}` is not Running after {}s ({state}): \
         `kubectl describe pod -n {namespace} {pod}` tells why; a slow image pull may need a \
         longer `--pod-timeout`",
        waited.as_secs()
    )]
    NotRunning {
        pod: String,
        namespace: String,
        waited: std::time::Duration,
        state: String,
    },
    #[error(
        "pod `{pod}` does not exist in namespace `{namespace}`: check `--pod` and \
         `--namespace` (`kubectl get pods -A` lists them), or leave `--pod` out and tplab \
         creates a lab pod"
    )]
    NoPod { pod: String, namespace: String },
    #[error(
        "pod `{pod}` has no IP and node yet (phase {phase}): wait until it runs (`kubectl get pod {pod} -o wide`)"
    )]
    PodNotPlaced { pod: String, phase: String },
    #[error(
        "no Cilium agent pod runs on node `{node}` (no pod labelled `k8s-app=cilium` there, \
         in any namespace): is Cilium the cluster's CNI? (`kubectl get pods -A -l \
         k8s-app=cilium -o wide`)"
    )]
    NoCiliumPod { node: String },
    #[error(
        "the Cilium agent pod `{namespace}/{pod}` has neither `cilium-dbg` nor `cilium` in its \
         container `{container}` ({message})"
    )]
    NoCiliumCli {
        namespace: String,
        pod: String,
        container: String,
        message: String,
    },
    #[error("exec into `{namespace}/{pod}`{}: {message}", container.as_deref().map(|c| format!(" (container `{c}`)")).unwrap_or_default())]
    Exec {
        namespace: String,
        pod: String,
        container: Option<String>,
        message: String,
    },
    #[error("shipping tplab's node agent into `{pod}`: {message}")]
    Ship { pod: String, message: String },
    #[error("{action}: the Kubernetes API answered {code} {reason}: {message}")]
    Api {
        action: String,
        code: u16,
        reason: String,
        message: String,
    },
    #[error("{what}: no answer within {}s", secs)]
    Timeout { what: String, secs: u64 },
    #[error(
        "the cluster serves no kind `{kind}`{}: check its spelling and apiVersion \
         (`kubectl api-resources` lists them)",
        api_version.as_deref().map(|v| format!(" in `{v}`")).unwrap_or_default()
    )]
    UnknownKind {
        kind: String,
        api_version: Option<String>,
    },
}

/// What the API was asked when it refused: the verb, the resource and its namespace.
pub struct Request<'a> {
    /// What tplab was doing, for the message (`creating the lab pod`).
    pub action: &'a str,
    pub verb: &'a str,
    pub resource: &'a str,
    pub namespace: Option<&'a str>,
}

/// What kube-rs said, as the way out, for a request to the API at `server`.
pub fn from_kube(e: kube::Error, server: &str, req: &Request<'_>) -> KubeError {
    let forbidden = |message: String| KubeError::Forbidden {
        verb: req.verb.to_string(),
        resource: req.resource.to_string(),
        namespace: req.namespace.map(str::to_string),
        grant: grant_for(req.verb, req.resource),
        message,
    };
    let unauthorized = |message: String| KubeError::Unauthorized {
        server: server.to_string(),
        message,
    };
    let api = |code: u16, reason: String, message: String| KubeError::Api {
        action: req.action.to_string(),
        code,
        reason,
        message,
    };
    match e {
        kube::Error::Api(s) => match s.code {
            401 => unauthorized(s.message),
            403 if is_pod_security(&s.message) => KubeError::PodSecurity {
                namespace: req.namespace.unwrap_or("default").to_string(),
                message: s.message,
            },
            403 => forbidden(s.message),
            code => api(code, s.reason, s.message),
        },
        kube::Error::UpgradeConnection(kube::client::UpgradeConnectionError::ProtocolSwitch(
            code,
        )) => match code.as_u16() {
            401 => unauthorized("the exec upgrade was refused".into()),
            403 => forbidden("the exec upgrade was refused with 403 Forbidden".into()),
            n => api(
                n,
                code.canonical_reason().unwrap_or_default().to_string(),
                "the exec upgrade was refused".into(),
            ),
        },
        kube::Error::Auth(a) => unauthorized(format!("getting credentials: {}", chain(&a))),
        other => KubeError::Unreachable {
            server: server.to_string(),
            message: chain(&other),
        },
    }
}

/// Pod Security Admission's rejections read `pods "x" is forbidden: violates PodSecurity …`.
fn is_pod_security(message: &str) -> bool {
    message.contains("violates PodSecurity")
}

fn paths(tried: &[PathBuf]) -> String {
    tried
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which verbs a `403` on `verb resource` calls for: WebSocket exec (Kubernetes ≥ 1.35,
/// and kubectl ≥ 1.30 first) needs `create` on `pods/exec` besides `get`.
pub fn grant_for(verb: &str, resource: &str) -> String {
    match resource {
        "pods/exec" | "pods/attach" => "[get, create]".into(),
        _ => format!("[{verb}]"),
    }
}

/// An error and its causes on one line (kube's errors nest the useful part).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_needs_get_and_create() {
        assert_eq!(grant_for("create", "pods/exec"), "[get, create]");
        assert_eq!(grant_for("list", "pods"), "[list]");
        let e = KubeError::Forbidden {
            verb: "create".into(),
            resource: "pods/exec".into(),
            namespace: Some("default".into()),
            grant: grant_for("create", "pods/exec"),
            message: "denied".into(),
        };
        let text = e.to_string();
        assert!(text.contains("[get, create] on `pods/exec`"), "{text}");
        assert!(text.contains("a Role with"), "{text}");
    }

    #[test]
    fn cluster_scoped_refusals_ask_for_a_cluster_role() {
        let e = KubeError::Forbidden {
            verb: "list".into(),
            resource: "nodes".into(),
            namespace: None,
            grant: grant_for("list", "nodes"),
            message: "denied".into(),
        };
        let text = e.to_string();
        assert!(
            text.contains("a ClusterRole with verbs [list] on `nodes` and"),
            "{text}"
        );
        assert!(!text.contains("namespace"), "{text}");
    }

    #[test]
    fn psa_names_the_label() {
        let e = KubeError::PodSecurity {
            namespace: "lab".into(),
            message: "violates PodSecurity".into(),
        };
        assert!(
            e.to_string()
                .contains("pod-security.kubernetes.io/enforce=privileged")
        );
    }
}
