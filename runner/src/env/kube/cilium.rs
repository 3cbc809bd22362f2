//! The `agent` role: Cilium's agent pod (its `DaemonSet`'s) on the pod's node (label
//! `k8s-app=cilium`, container `cilium-agent`), and which CLI it has (`cilium-dbg`
//! since Cilium 1.15, `cilium` before).

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use super::client::Cluster;
use super::exec::{self, Place};
use super::lifecycle::{CALL_TIMEOUT, bounded};
use crate::k8s::KubeError;

/// Where Cilium's Helm chart puts its agents.
pub const NAMESPACE: &str = "kube-system";
pub const LABEL: &str = "k8s-app=cilium";
pub const CONTAINER: &str = "cilium-agent";

/// The Cilium agent serving `node`.
#[derive(Debug, Clone)]
pub struct Agent {
    pub place: Place,
    /// The agent container's image (its tag is the version).
    pub image: String,
    /// `cilium-dbg` or `cilium`.
    pub cli: String,
}

/// Finds the running Cilium agent pod on `node`.
pub async fn find(cluster: &Cluster, node: &str) -> Result<Agent, KubeError> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), NAMESPACE);
    let params = ListParams::default()
        .labels(LABEL)
        .fields(&format!("spec.nodeName={node}"));
    let list = bounded("listing Cilium's pods", async {
        api.list(&params)
            .await
            .map_err(|e| cluster.error(e, "listing Cilium's pods", ("list", "pods", NAMESPACE)))
    })
    .await?;
    let pod = list
        .items
        .into_iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
        .find(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .ok_or_else(|| KubeError::NoCiliumPod {
            node: node.to_string(),
        })?;
    let image = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.iter().find(|c| c.name == CONTAINER))
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    let place = Place {
        namespace: NAMESPACE.to_string(),
        pod: pod.metadata.name.clone().unwrap_or_default(),
        container: Some(CONTAINER.to_string()),
    };
    let cli = detect_cli(cluster, &place).await?;
    Ok(Agent { place, image, cli })
}

/// `cilium-dbg` when the container has it, else `cilium`.
async fn detect_cli(cluster: &Cluster, place: &Place) -> Result<String, KubeError> {
    let out = exec::run_script(
        cluster,
        place,
        &[],
        "command -v cilium-dbg || command -v cilium",
        CALL_TIMEOUT,
    )
    .await?;
    let found = out
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    match found.rsplit('/').next() {
        Some(name @ ("cilium-dbg" | "cilium")) if out.success() => Ok(name.to_string()),
        _ => Err(KubeError::NoCiliumCli {
            namespace: place.namespace.clone(),
            pod: place.pod.clone(),
            container: CONTAINER.to_string(),
            message: out.stderr.trim().to_string(),
        }),
    }
}

/// A shell prelude giving a lab's commands the older name too: labs written with
/// `cilium bpf ct list global` run on Cilium ≥ 1.15, whose CLI is `cilium-dbg`. (The
/// other way round needs a function named `cilium-dbg`, which POSIX `sh` rejects.)
pub fn prelude(cli: &str) -> String {
    if cli == "cilium-dbg" {
        "command -v cilium >/dev/null 2>&1 || cilium() { cilium-dbg \"$@\"; }\n".into()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prelude_aliases_the_missing_name() {
        assert_eq!(
            prelude("cilium-dbg"),
            "command -v cilium >/dev/null 2>&1 || cilium() { cilium-dbg \"$@\"; }\n"
        );
        assert_eq!(prelude("cilium"), "");
    }
}
