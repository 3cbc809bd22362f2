//! What the scheduler and the kubelet do with a created pod, as watches see it:
//! `Pending` (scheduled) → `ContainerCreating` (the sandbox pod is built: netns, lxc
//! veth, an address of the node's pod CIDR) → `Running`, with the Events of each step;
//! or the failures of the fault modes (image pull, slow start). Deletion stops the
//! containers (Killing), removes the sandbox pod, then the object (`DELETED`).

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tplab_sandbox::{PodConfig, Sandbox};

use super::spec;
use crate::ctx::Ctx;
use crate::store::PodKind;

/// Between the steps a client can see (kubectl's `-w` shows each).
const STEP: Duration = Duration::from_millis(150);
/// `ErrImagePull` turns into `ImagePullBackOff` after this.
const BACK_OFF: Duration = Duration::from_secs(2);

fn emit(ctx: &Ctx, pod: &Value, what: (&str, &str, &str), message: &str, container: Option<&str>) {
    let ev = spec::event(
        pod,
        &ctx.identity.node_name,
        &ctx.identity,
        what,
        message,
        container,
    );
    ctx.store.add_event(ev);
}

/// The first free address of the node's pod CIDR (the /25 holding the gateway).
pub fn free_address(gateway: Ipv4Addr, used: &[Ipv4Addr]) -> Option<Ipv4Addr> {
    let base = u32::from(gateway) & !0x7f;
    (base + 1..base + 0x7f)
        .map(Ipv4Addr::from)
        .find(|ip| *ip != gateway && !used.contains(ip))
}

/// Builds (or finds, after a restart) sandbox pod `name`; its address.
fn add_sandbox_pod(id: &str, name: &str) -> Result<Ipv4Addr, String> {
    let mut sandbox = Sandbox::attach(id).map_err(|e| e.to_string())?;
    if let Some(p) = sandbox.state().pods.iter().find(|p| p.name == name) {
        return Ok(p.ip);
    }
    let used: Vec<Ipv4Addr> = sandbox.state().pods.iter().map(|p| p.ip).collect();
    let ip = free_address(sandbox.config().gateway_ip, &used)
        .ok_or_else(|| "the node's pod CIDR has no free address left".to_string())?;
    let pod = PodConfig {
        name: name.to_string(),
        ip,
        if_name: "eth0".into(),
        lxc_name: None,
        node: 1,
        serve: None,
    };
    sandbox.add_pod(&pod).map_err(|e| e.to_string())?;
    Ok(ip)
}

fn remove_sandbox_pod(id: &str, name: &str) -> Result<(), String> {
    let mut sandbox = Sandbox::attach(id).map_err(|e| e.to_string())?;
    if sandbox.state().pods.iter().any(|p| p.name == name) {
        sandbox.remove_pod(name).map_err(|e| e.to_string())?;
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(
    ctx: &Ctx,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    // One change of the sandbox's state at a time (each saves the whole state).
    let _one = ctx.sandbox_ops.lock().await;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("the sandbox task failed: {e}"))?
}

fn host_ip(ctx: &Ctx) -> String {
    ctx.state()
        .map(|s| s.config.node_ip.to_string())
        .unwrap_or_default()
}

/// Takes a just-stored pod to `Running` (or to the failure a fault mode asks for).
pub async fn start(ctx: Arc<Ctx>, namespace: String, name: String, kind: PodKind) {
    let Some(record) = ctx.store.pod(&namespace, &name) else {
        return;
    };
    let node = ctx.identity.node_name.clone();
    emit(
        &ctx,
        &record.object,
        ("Scheduled", "Normal", "default-scheduler"),
        &format!("Successfully assigned {namespace}/{name} to {node}"),
        None,
    );
    tokio::time::sleep(STEP).await;
    let hip = host_ip(&ctx);
    let Some(pod) = ctx
        .store
        .update_pod(&namespace, &name, |p| spec::creating(p, &hip))
    else {
        return;
    };
    let images: Vec<(String, String)> = spec::container_names(&pod)
        .into_iter()
        .zip(
            pod["spec"]["containers"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        )
        .map(|(n, c)| (n, c["image"].as_str().unwrap_or_default().to_string()))
        .collect();
    if ctx.faults.image_pull {
        pull_fails(&ctx, &namespace, &name, &pod, &images).await;
        return;
    }
    if let Some(d) = ctx.faults.slow_start {
        tokio::time::sleep(d).await;
    }
    let ip = match kind {
        PodKind::Host => Ok(hip.clone()),
        PodKind::Sandbox => {
            let (id, n) = (ctx.id.clone(), name.clone());
            blocking(&ctx, move || add_sandbox_pod(&id, &n))
                .await
                .map(|ip| ip.to_string())
        }
    };
    let ip = match ip {
        Ok(ip) => ip,
        Err(e) => {
            let message = format!("Failed to create pod sandbox: {e}");
            emit(
                &ctx,
                &pod,
                ("FailedCreatePodSandBox", "Warning", "kubelet"),
                &message,
                None,
            );
            ctx.store
                .update_pod(&namespace, &name, |p| spec::sandbox_failed(p, &message));
            return;
        }
    };
    // Deleted meanwhile: leave nothing behind.
    if ctx.store.pod(&namespace, &name).is_none() {
        if kind == PodKind::Sandbox {
            let (id, n) = (ctx.id.clone(), name.clone());
            let _ = blocking(&ctx, move || remove_sandbox_pod(&id, &n)).await;
        }
        return;
    }
    for (c, image) in &images {
        emit(
            &ctx,
            &pod,
            ("Pulled", "Normal", "kubelet"),
            &format!("Container image \"{image}\" already present on machine"),
            Some(c),
        );
        emit(
            &ctx,
            &pod,
            ("Created", "Normal", "kubelet"),
            &format!("Created container: {c}"),
            Some(c),
        );
        emit(
            &ctx,
            &pod,
            ("Started", "Normal", "kubelet"),
            &format!("Started container {c}"),
            Some(c),
        );
    }
    let identity = ctx.identity.clone();
    ctx.store.update_pod(&namespace, &name, |p| {
        if p["metadata"]["deletionTimestamp"].is_null() {
            spec::running(p, &ip, &identity);
        }
    });
}

/// `busybox` → (`registry-1.docker.io`, `docker.io/library/busybox:latest`), as
/// containerd resolves a short name.
fn resolve_image(image: &str) -> (String, String) {
    let first = image.split('/').next().unwrap_or_default();
    let has_registry = image.contains('/') && (first.contains('.') || first.contains(':'));
    let mut full = if has_registry {
        image.to_string()
    } else if image.contains('/') {
        format!("docker.io/{image}")
    } else {
        format!("docker.io/library/{image}")
    };
    let last = full.rsplit('/').next().unwrap_or_default();
    if !last.contains(':') && !full.contains('@') {
        full.push_str(":latest");
    }
    let host = full.split('/').next().unwrap_or_default();
    let registry = if host == "docker.io" {
        "registry-1.docker.io".to_string()
    } else {
        host.to_string()
    };
    (registry, full)
}

async fn pull_fails(ctx: &Ctx, ns: &str, name: &str, pod: &Value, images: &[(String, String)]) {
    for (c, image) in images {
        emit(
            ctx,
            pod,
            ("Pulling", "Normal", "kubelet"),
            &format!("Pulling image \"{image}\""),
            Some(c),
        );
        let (reg, full) = resolve_image(image);
        let (repo, tag) = full.split_once('/').map_or(("", ""), |(_, rest)| {
            rest.rsplit_once(':').unwrap_or((rest, "latest"))
        });
        let why = format!(
            "rpc error: code = Unknown desc = failed to pull and unpack image \"{full}\": failed to resolve reference \"{full}\": \
             failed to do request: Head \"https://{reg}/v2/{repo}/manifests/{tag}\": dial tcp: lookup {reg}: no such host"
        );
        let message = format!("Failed to pull image \"{image}\": {why}");
        emit(
            ctx,
            pod,
            ("Failed", "Warning", "kubelet"),
            &message,
            Some(c),
        );
        emit(
            ctx,
            pod,
            ("Failed", "Warning", "kubelet"),
            "Error: ErrImagePull",
            Some(c),
        );
        ctx.store.update_pod(ns, name, |p| {
            spec::pull_failing(p, "ErrImagePull", &why);
        });
    }
    tokio::time::sleep(BACK_OFF).await;
    if ctx.store.pod(ns, name).is_none() {
        return;
    }
    for (c, image) in images {
        let message = format!("Back-off pulling image \"{image}\"");
        emit(
            ctx,
            pod,
            ("BackOff", "Normal", "kubelet"),
            &message,
            Some(c),
        );
        emit(
            ctx,
            pod,
            ("Failed", "Warning", "kubelet"),
            "Error: ImagePullBackOff",
            Some(c),
        );
        ctx.store.update_pod(ns, name, |p| {
            spec::pull_failing(p, "ImagePullBackOff", &message);
        });
    }
}

/// Stops a terminating pod's containers and removes it (`DELETED`).
pub async fn finish_delete(ctx: Arc<Ctx>, namespace: String, name: String, kind: PodKind) {
    // SIGTERM, then SIGKILL after a short grace, as the kubelet stops containers.
    let groups = ctx.sessions.take(&namespace, &name);
    crate::sessions::signal(&groups, nix::sys::signal::Signal::SIGTERM);
    if !groups.is_empty() {
        tokio::time::sleep(Duration::from_millis(500)).await;
        crate::sessions::signal(&groups, nix::sys::signal::Signal::SIGKILL);
    }
    if kind == PodKind::Sandbox {
        let (id, n) = (ctx.id.clone(), name.clone());
        if let Err(e) = blocking(&ctx, move || remove_sandbox_pod(&id, &n)).await
            && let Some(pod) = ctx.store.pod(&namespace, &name)
        {
            emit(
                &ctx,
                &pod.object,
                ("FailedKillPod", "Warning", "kubelet"),
                &format!("error killing pod: {e}"),
                None,
            );
        }
    }
    ctx.store.remove_pod(&namespace, &name);
}

/// Marks a pod terminating (`deletionTimestamp`), with a Killing event per running
/// container; the object as the DELETE answers it.
pub fn mark_terminating(ctx: &Ctx, namespace: &str, name: &str, grace: i64) -> Option<Value> {
    let at = (chrono::Utc::now() + chrono::Duration::seconds(grace))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let pod = ctx.store.update_pod(namespace, name, |p| {
        if p["metadata"]["deletionTimestamp"].is_null() {
            p["metadata"]["deletionTimestamp"] = json!(at);
        }
        p["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
    })?;
    let running: Vec<String> = pod["status"]["containerStatuses"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter(|c| c["state"]["running"].is_object())
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for c in running {
        emit(
            ctx,
            &pod,
            ("Killing", "Normal", "kubelet"),
            &format!("Stopping container {c}"),
            Some(&c),
        );
    }
    Some(pod)
}

/// After a restart of the daemon: pods caught mid-way are taken on (to Running, or out).
pub fn resume(ctx: &Arc<Ctx>) {
    for record in ctx.store.pods() {
        let (ns, name) = (record.namespace().to_string(), record.name().to_string());
        let o = &record.object;
        if !o["metadata"]["deletionTimestamp"].is_null() {
            tokio::spawn(finish_delete(Arc::clone(ctx), ns, name, record.kind));
        } else if o["status"]["phase"] == "Pending" && !ctx.faults.image_pull {
            tokio::spawn(start(Arc::clone(ctx), ns, name, record.kind));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_resolve_like_containerd() {
        assert_eq!(
            resolve_image("busybox"),
            (
                "registry-1.docker.io".into(),
                "docker.io/library/busybox:latest".into()
            )
        );
        assert_eq!(
            resolve_image("quay.io/cilium/cilium:v1.16.0"),
            ("quay.io".into(), "quay.io/cilium/cilium:v1.16.0".into())
        );
        assert_eq!(resolve_image("kvaps/x").1, "docker.io/kvaps/x:latest");
    }

    #[test]
    fn addresses_come_from_the_node_cidr() {
        let gw = Ipv4Addr::new(10, 244, 0, 201);
        let used = [Ipv4Addr::new(10, 244, 0, 213)];
        assert_eq!(
            free_address(gw, &used),
            Some(Ipv4Addr::new(10, 244, 0, 129))
        );
        let all: Vec<Ipv4Addr> = (129..=254).map(|i| Ipv4Addr::new(10, 244, 0, i)).collect();
        assert_eq!(free_address(gw, &all), None);
    }
}
