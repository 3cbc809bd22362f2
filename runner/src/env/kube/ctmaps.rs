//! Where the node agent reads Cilium's CT maps (`bpf_map` checks) and which layout:
//! the bpf root Cilium's own configuration names (`bpf-root` in `cilium-config`, absent
//! on most clusters: Cilium's default `/sys/fs/bpf`), and the Cilium version of the
//! agent pod's image. A version tplab cannot read from the image goes to the agent as
//! "unknown", so the check's verdict is an error naming it, never a misread map.

use std::path::PathBuf;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use tplab_probe::agent::CtMaps;

use super::cilium::{self, Agent};
use super::client::Cluster;
use super::lifecycle::CALL_TIMEOUT;

/// The `ConfigMap` Cilium's Helm chart writes its agent's options to.
pub const CONFIG_MAP: &str = "cilium-config";

/// The CT maps the agent pod on the pod's node writes.
pub async fn locate(cluster: &Cluster, agent: &Agent) -> CtMaps {
    CtMaps {
        bpf_root: bpf_root(cluster).await.map(PathBuf::from),
        cilium: Some(version_of(&agent.image)),
    }
}

/// The version named by `image`'s tag, else a description the layout error quotes.
pub fn version_of(image: &str) -> String {
    super::facts::cilium_version(image)
        .unwrap_or_else(|| format!("of unknown version (image `{image}` has no version tag)"))
}

/// `bpf-root` from Cilium's `ConfigMap`, when it is set and this user may read it (a
/// cluster without it uses Cilium's default, as its agent does).
async fn bpf_root(cluster: &Cluster) -> Option<String> {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), cilium::NAMESPACE);
    let cm = tokio::time::timeout(CALL_TIMEOUT, api.get_opt(CONFIG_MAP))
        .await
        .ok()?
        .ok()??;
    cm.data?
        .get("bpf-root")
        .map(|v| v.trim().to_string())
        .filter(|v| v.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_without_a_version_is_named_in_the_version() {
        assert_eq!(version_of("quay.io/cilium/cilium:v1.16.5"), "1.16.5");
        let v = version_of("quay.io/cilium/cilium@sha256:abcd");
        assert!(v.contains("unknown") && v.contains("sha256:abcd"), "{v}");
        // The agent refuses it as a layout it does not know, naming it.
        let err = tplab_ebpf::CtLayout::for_cilium_version(&v)
            .unwrap_err()
            .to_string();
        assert!(err.contains("sha256:abcd"), "{err}");
    }
}
