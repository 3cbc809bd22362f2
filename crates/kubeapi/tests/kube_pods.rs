//! Pods created and deleted through the sandbox's API with kube-rs (root), as the kube
//! environment will: `Api::create` (dry run, `AlreadyExists`), `await_condition` running
//! and deleted under timeouts, a watch seeing ADDED / MODIFIED / DELETED with growing
//! resourceVersions, exec into a sandbox pod (its own netns) and a `hostNetwork` pod
//! (the node's), delete with grace period and propagation policy.

use std::time::Duration;

use futures::TryStreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, DeleteParams, ListParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::wait::{await_condition, conditions};
use tplab_testkit::{Failed, Suite, check, fail};

mod common;

use common::{Cluster, block_on};

fn pod(value: serde_json::Value) -> Result<Pod, Failed> {
    serde_json::from_value(value).map_err(fail)
}

async fn exec_out(pods: &Api<Pod>, name: &str, cmd: &[&str]) -> Result<String, Failed> {
    let params = AttachParams::default().stdout(true).stderr(false);
    let mut proc = pods.exec(name, cmd.to_vec(), &params).await.map_err(fail)?;
    let mut out = proc.stdout().ok_or_else(|| fail("no stdout"))?;
    let mut buf = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(15),
        tokio::io::AsyncReadExt::read_to_end(&mut out, &mut buf),
    )
    .await
    .map_err(|_| fail(format!("exec {cmd:?} timed out")))?
    .map_err(fail)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn rv_of(p: &Pod) -> u64 {
    p.metadata
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn create_watch_exec_delete() -> Result<(), Failed> {
    let cluster = Cluster::up()?;
    let netns = format!("tplab-{}-krpod", cluster.id());
    block_on(async {
        let client = cluster.client().await?;
        let pods: Api<Pod> = Api::namespaced(client, "default");
        let list = pods.list(&ListParams::default()).await.map_err(fail)?;
        let from = list.metadata.resource_version.unwrap_or_default();
        let stream = pods
            .watch(&WatchParams::default().timeout(60), &from)
            .await
            .map_err(fail)?;
        // Collected until the pod's DELETED.
        let watched = tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut stream = Box::pin(stream);
            while let Ok(Some(ev)) = stream.try_next().await {
                let (kind, p) = match ev {
                    WatchEvent::Added(p) => ("ADDED", p),
                    WatchEvent::Modified(p) => ("MODIFIED", p),
                    WatchEvent::Deleted(p) => ("DELETED", p),
                    _ => continue,
                };
                let phase = p
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.clone())
                    .unwrap_or_default();
                let last = kind == "DELETED";
                seen.push((kind, rv_of(&p), phase));
                if last {
                    break;
                }
            }
            seen
        });
        let spec = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": "krpod", "labels": { "app": "kr" } },
            "spec": { "containers": [{ "name": "main", "image": "busybox:1.36", "command": ["sleep", "infinity"] }] }
        });
        let dry = pods
            .create(
                &PostParams {
                    dry_run: true,
                    ..PostParams::default()
                },
                &pod(spec.clone())?,
            )
            .await
            .map_err(fail)?;
        check!(
            dry.metadata.name.as_deref() == Some("krpod"),
            "dry run: {dry:?}"
        );
        check!(
            pods.get_opt("krpod").await.map_err(fail)?.is_none(),
            "the dry run created the pod"
        );
        let params = PostParams {
            field_manager: Some("tplab-test".into()),
            ..PostParams::default()
        };
        let created = pods
            .create(&params, &pod(spec.clone())?)
            .await
            .map_err(fail)?;
        let manager = created
            .metadata
            .managed_fields
            .as_ref()
            .and_then(|m| m[0].manager.clone());
        check!(
            manager.as_deref() == Some("tplab-test"),
            "fieldManager: {manager:?}"
        );
        match pods.create(&PostParams::default(), &pod(spec)?).await {
            Err(kube::Error::Api(s)) => {
                check!(s.code == 409 && s.reason == "AlreadyExists", "{s:?}");
            }
            other => return Err(fail(format!("second create: {other:?}"))),
        }
        let running = tokio::time::timeout(
            Duration::from_secs(20),
            await_condition(pods.clone(), "krpod", conditions::is_pod_running()),
        )
        .await
        .map_err(|_| fail("await_condition(is_pod_running) timed out"))?
        .map_err(fail)?
        .ok_or_else(|| fail("no pod"))?;
        let ip = running.status.and_then(|s| s.pod_ip).unwrap_or_default();
        check!(
            ip.starts_with("10.244.0.") && ip != "10.244.0.213",
            "pod IP {ip}"
        );
        let own = std::process::Command::new("ip")
            .args(["-4", "-o", "-n", &netns, "addr", "show", "dev", "eth0"])
            .output()
            .map_err(fail)?;
        let own = String::from_utf8_lossy(&own.stdout).into_owned();
        check!(
            own.contains(&format!("inet {ip}/32")),
            "netns {netns}: {own:?}"
        );
        let inside = exec_out(
            &pods,
            "krpod",
            &["ip", "-4", "-o", "addr", "show", "dev", "eth0"],
        )
        .await?;
        check!(inside == own, "exec sees {inside:?}, ip -n sees {own:?}");
        let uid = created.metadata.uid.clone().unwrap_or_default();
        pods.delete("krpod", &DeleteParams::background().grace_period(0))
            .await
            .map_err(fail)?;
        tokio::time::timeout(
            Duration::from_secs(20),
            await_condition(pods.clone(), "krpod", conditions::is_deleted(&uid)),
        )
        .await
        .map_err(|_| fail("await_condition(is_deleted) timed out"))?
        .map_err(fail)?;
        let seen = tokio::time::timeout(Duration::from_secs(10), watched)
            .await
            .map_err(|_| fail("the watch never saw DELETED"))?
            .map_err(fail)?;
        let kinds: Vec<&str> = seen.iter().map(|s| s.0).collect();
        check!(kinds.first() == Some(&"ADDED"), "watch: {seen:?}");
        check!(kinds.last() == Some(&"DELETED"), "watch: {seen:?}");
        check!(
            seen.iter().any(|s| s.0 == "MODIFIED" && s.2 == "Running"),
            "watch: {seen:?}"
        );
        check!(
            seen.windows(2).all(|w| w[0].1 < w[1].1),
            "versions do not grow: {seen:?}"
        );
        let gone = std::process::Command::new("ip")
            .args(["netns", "list"])
            .output()
            .map_err(fail)?;
        check!(
            !String::from_utf8_lossy(&gone.stdout).contains(&netns),
            "netns {netns} left after the delete"
        );
        // The sandbox's own pod cannot be deleted.
        match pods.delete("pod", &DeleteParams::default()).await {
            Err(kube::Error::Api(s)) => check!(
                s.code == 403 && s.message.contains("tplab sandbox down"),
                "{s:?}"
            ),
            other => return Err(fail(format!("deleting the seed pod: {other:?}"))),
        }
        Ok(())
    })
}

fn host_network_pod_runs_on_the_node() -> Result<(), Failed> {
    let cluster = Cluster::up()?;
    block_on(async {
        let client = cluster.client().await?;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client);
        let node = nodes
            .list(&ListParams::default())
            .await
            .map_err(fail)?
            .items[0]
            .metadata
            .name
            .clone()
            .unwrap_or_default();
        let spec = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": { "generateName": "nsenter-" },
            "spec": {
                "nodeName": node, "hostPID": true, "hostNetwork": true,
                "containers": [{ "name": "nsenter", "image": "docker.io/library/alpine",
                    "securityContext": { "privileged": true }, "stdin": true, "stdinOnce": true,
                    "command": ["nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--", "bash", "-l"] }],
                "tolerations": [{ "key": "CriticalAddonsOnly", "operator": "Exists" }, { "effect": "NoExecute", "operator": "Exists" }]
            }
        });
        let created = pods
            .create(&PostParams::default(), &pod(spec)?)
            .await
            .map_err(fail)?;
        let name = created.metadata.name.clone().unwrap_or_default();
        check!(
            name.starts_with("nsenter-") && name.len() == 13,
            "generated name {name}"
        );
        tokio::time::timeout(
            Duration::from_secs(20),
            await_condition(pods.clone(), &name, conditions::is_pod_running()),
        )
        .await
        .map_err(|_| fail("await_condition timed out"))?
        .map_err(fail)?;
        let inside = exec_out(
            &pods,
            &name,
            &["ip", "-4", "-o", "addr", "show", "dev", "eth0"],
        )
        .await?;
        check!(
            inside.contains("inet 198.51.100.2/24"),
            "exec in the host pod: {inside:?}"
        );
        // A session still open when the pod is deleted ends with it.
        let mut open = pods
            .exec(
                &name,
                vec!["sleep", "300"],
                &AttachParams::default().stdout(true).stderr(false),
            )
            .await
            .map_err(fail)?;
        let status = open.take_status().ok_or_else(|| fail("no status"))?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let uid = created.metadata.uid.unwrap_or_default();
        pods.delete(&name, &DeleteParams::default())
            .await
            .map_err(fail)?;
        tokio::time::timeout(
            Duration::from_secs(20),
            await_condition(pods.clone(), &name, conditions::is_deleted(&uid)),
        )
        .await
        .map_err(|_| fail("deletion never completed"))?
        .map_err(fail)?;
        let ended = tokio::time::timeout(Duration::from_secs(10), status)
            .await
            .map_err(|_| fail("the exec session outlived its deleted pod"))?;
        let code = ended
            .and_then(|s| s.details)
            .and_then(|d| d.causes)
            .and_then(|c| c.first().and_then(|c| c.message.clone()));
        check!(
            code.as_deref() == Some("143"),
            "the session's end: exit {code:?}"
        );
        drop(open);
        let left = pods.list(&ListParams::default()).await.map_err(fail)?;
        check!(left.items.len() == 1, "pods left: {}", left.items.len());
        Ok(())
    })
}

fn main() {
    // The API daemon (and the world's HTTP server) are this binary re-executed.
    tplab_kubeapi::dispatch_if_daemon();
    tplab_sandbox::dispatch_if_daemon();
    Suite::new()
        .root_test(
            "kube_pods::create_watch_exec_delete",
            create_watch_exec_delete,
        )
        .root_test(
            "kube_pods::host_network_pod_runs_on_the_node",
            host_network_pod_runs_on_the_node,
        )
        .run();
}
