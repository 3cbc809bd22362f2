//! Creating tplab's pods, waiting until they run (bounded), deleting them, and sweeping
//! the pods of dead sessions.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{Condition, await_condition};

use super::client::Cluster;
use super::pods;
use crate::k8s::KubeError;

/// How long a single API call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// `fut` under [`CALL_TIMEOUT`].
pub async fn bounded<T>(
    what: &str,
    fut: impl Future<Output = Result<T, KubeError>>,
) -> Result<T, KubeError> {
    tokio::time::timeout(CALL_TIMEOUT, fut)
        .await
        .map_err(|_| KubeError::Timeout {
            what: what.to_string(),
            secs: CALL_TIMEOUT.as_secs(),
        })?
}

/// Creates `pod` in the cluster's namespace and waits until it runs (or fails, telling
/// why: image pull, Pod Security, RBAC, the time it took). `image_flag` names the
/// option that changes its image.
pub async fn create_running(
    cluster: &Cluster,
    pod: &Pod,
    timeout: Duration,
    image_flag: &'static str,
) -> Result<Pod, KubeError> {
    let ns = cluster.namespace.clone();
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
    let name = pod.metadata.name.clone().unwrap_or_default();
    bounded(&format!("creating pod {ns}/{name}"), async {
        api.create(&PostParams::default(), pod)
            .await
            .map_err(|e| cluster.error(e, &format!("creating pod {name}"), ("create", "pods", &ns)))
    })
    .await?;
    super::cleanup::register(cluster, &ns, &name);
    wait_running(cluster, &name, timeout, image_flag).await
}

/// Waits until pod `name` runs.
pub async fn wait_running(
    cluster: &Cluster,
    name: &str,
    timeout: Duration,
    image_flag: &'static str,
) -> Result<Pod, KubeError> {
    let ns = cluster.namespace.clone();
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
    let settled = |p: Option<&Pod>| running(p) || pull_failure(p).is_some() || terminal(p);
    let waited = tokio::time::timeout(timeout, await_condition(api.clone(), name, settled)).await;
    let last = match waited {
        Ok(Ok(pod)) => pod,
        Ok(Err(e)) => {
            return Err(KubeError::Api {
                action: format!("watching pod {ns}/{name}"),
                code: 0,
                reason: "WatchFailed".into(),
                message: crate::k8s::error::chain(&e),
            });
        }
        Err(_) => bounded("reading the pod", async {
            api.get_opt(name)
                .await
                .map_err(|e| cluster.error(e, "reading the pod", ("get", "pods", &ns)))
        })
        .await
        .ok()
        .flatten(),
    };
    let Some(pod) = last else {
        return Err(KubeError::NoPod {
            pod: name.to_string(),
            namespace: ns,
        });
    };
    if running(Some(&pod)) {
        return Ok(pod);
    }
    if let Some((reason, message, image)) = pull_failure(Some(&pod)) {
        return Err(KubeError::ImagePull {
            pod: name.to_string(),
            image,
            reason,
            message,
            flag: image_flag,
        });
    }
    Err(KubeError::NotRunning {
        pod: name.to_string(),
        namespace: ns,
        waited: timeout,
        state: state_of(&pod),
    })
}

fn running(p: Option<&Pod>) -> bool {
    kube::runtime::conditions::is_pod_running().matches_object(p)
}

fn terminal(p: Option<&Pod>) -> bool {
    p.and_then(|p| p.status.as_ref())
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|ph| matches!(ph, "Succeeded" | "Failed"))
}

/// `(reason, message, image)` of a container that cannot pull its image.
fn pull_failure(p: Option<&Pod>) -> Option<(String, String, String)> {
    let statuses = p?.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|c| {
        let waiting = c.state.as_ref()?.waiting.as_ref()?;
        let reason = waiting.reason.clone()?;
        matches!(
            reason.as_str(),
            "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull"
        )
        .then(|| {
            (
                reason,
                waiting.message.clone().unwrap_or_default(),
                c.image.clone(),
            )
        })
    })
}

/// What a pod that does not run is doing, in a few words.
fn state_of(pod: &Pod) -> String {
    let status = pod.status.clone().unwrap_or_default();
    let phase = status.phase.unwrap_or_else(|| "Unknown".into());
    let waiting = status
        .container_statuses
        .unwrap_or_default()
        .into_iter()
        .find_map(|c| c.state?.waiting?.reason);
    match waiting {
        Some(w) => format!("phase {phase}, {w}"),
        None => format!("phase {phase}"),
    }
}

/// Deletes pod `name` at once (grace 0), not waiting for it to go.
pub async fn delete(cluster: &Cluster, ns: &str, name: &str) -> Result<(), KubeError> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    bounded(&format!("deleting pod {ns}/{name}"), async {
        match api.delete(name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => {
                Err(cluster.error(e, &format!("deleting pod {name}"), ("delete", "pods", ns)))
            }
        }
    })
    .await?;
    super::cleanup::unregister(ns, name);
    if let Some(session) = name.strip_prefix("tplab-") {
        super::kept::forget(session);
    }
    Ok(())
}

/// Labels `name` as kept for a resumed session (`kubectl get pods -l tplab.dev/kept=true`).
pub async fn mark_kept(cluster: &Cluster, ns: &str, name: &str) -> Result<(), KubeError> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let patch = serde_json::json!({ "metadata": { "labels": { pods::KEPT: "true" } } });
    bounded(&format!("labelling pod {ns}/{name}"), async {
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(|_| ())
            .map_err(|e| cluster.error(e, "keeping the lab pod", ("patch", "pods", ns)))
    })
    .await
    // An API without PATCH (a sandbox's) only misses the label: the kept file counts.
    .or_else(|e| match e {
        KubeError::Api { code: 405, .. } => Ok(()),
        other => Err(other),
    })
}

/// Deletes the tplab pods of the cluster's namespace whose session died (their process
/// on this host is gone) and that nobody kept; their names.
pub async fn sweep(cluster: &Cluster) -> Result<Vec<String>, KubeError> {
    let ns = cluster.namespace.clone();
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
    let params = ListParams::default().labels(&format!("{}=tplab", pods::MANAGED_BY));
    let list = bounded("listing tplab's pods", async {
        api.list(&params)
            .await
            .map_err(|e| cluster.error(e, "listing tplab's pods", ("list", "pods", &ns)))
    })
    .await?;
    let mut swept = Vec::new();
    let kept = |p: &Pod| {
        p.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(pods::SESSION))
            .is_some_and(|s| super::kept::is_kept(s))
    };
    for pod in list.items.iter().filter(|p| pods::stale(p) && !kept(p)) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        delete(cluster, &ns, &name).await?;
        swept.push(name);
    }
    Ok(swept)
}
