//! The sandbox's Kubernetes API through kube-rs (root): a sandbox is brought up in this
//! process (its API daemon is this test binary re-executed, hence the dispatch first in
//! `main`), then typed clients list, get, wait and exec as the kube environment will.

use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, AttachParams, ListParams, LogParams};
use kube::runtime::wait::{await_condition, conditions};
use tplab_testkit::{Failed, Suite, check, fail};

mod common;

use common::{Cluster, block_on};

fn lists_gets_and_waits() -> Result<(), Failed> {
    let cluster = Cluster::up()?;
    block_on(async {
        let client = cluster.client().await?;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let list = pods.list(&ListParams::default()).await.map_err(fail)?;
        check!(
            list.items.len() == 1,
            "pods in default: {}",
            list.items.len()
        );
        let pod = &list.items[0];
        let ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone());
        check!(ip.as_deref() == Some("10.244.0.213"), "pod IP {ip:?}");
        let node_name = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        let nodes: Api<Node> = Api::all(client.clone());
        let node = nodes.get(&node_name).await.map_err(fail)?;
        let cidr = node.spec.and_then(|s| s.pod_cidr);
        check!(
            cidr.as_deref() == Some("10.244.0.128/25"),
            "podCIDR {cidr:?}"
        );
        let agents: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
        let cilium = agents
            .list(&ListParams::default().labels("k8s-app=cilium"))
            .await
            .map_err(fail)?;
        check!(
            cilium.items.len() == 1,
            "cilium pods: {}",
            cilium.items.len()
        );
        let by_field = pods
            .list(&ListParams::default().fields(&format!("spec.nodeName={node_name}")))
            .await
            .map_err(fail)?;
        check!(
            by_field.items.len() == 1,
            "field selector: {}",
            by_field.items.len()
        );
        let missing = pods.get("nope").await;
        match missing {
            Err(kube::Error::Api(s)) => check!(s.code == 404 && s.reason == "NotFound", "{s:?}"),
            other => return Err(fail(format!("get nope: {other:?}"))),
        }
        let running = tokio::time::timeout(
            Duration::from_secs(10),
            await_condition(pods.clone(), "pod", conditions::is_pod_running()),
        )
        .await
        .map_err(|_| fail("await_condition timed out"))?
        .map_err(fail)?;
        check!(running.is_some(), "await_condition returned no pod");
        // A watch from the list's version stays open quietly and ends at its timeout.
        let stream = pods
            .watch(
                &kube::api::WatchParams::default().timeout(2),
                &list.metadata.resource_version.unwrap_or_default(),
            )
            .await
            .map_err(fail)?;
        let events: Vec<_> =
            tokio::time::timeout(Duration::from_secs(10), stream.collect::<Vec<_>>())
                .await
                .map_err(|_| fail("watch did not end at its timeout"))?;
        check!(
            events.is_empty(),
            "unexpected watch events: {}",
            events.len()
        );
        Ok(())
    })
}

async fn run_exec(
    pods: &Api<Pod>,
    cmd: &[&str],
    stdin: Option<&[u8]>,
) -> Result<(String, String, serde_json::Value), Failed> {
    let params = AttachParams::default()
        .stdin(stdin.is_some())
        .stdout(true)
        .stderr(true)
        .max_stdout_buf_size(64 * 1024)
        .max_stderr_buf_size(64 * 1024)
        .max_stdin_buf_size(64 * 1024);
    let mut proc = pods
        .exec("pod", cmd.to_vec(), &params)
        .await
        .map_err(fail)?;
    if let Some(data) = stdin {
        use tokio::io::AsyncWriteExt;
        let mut w = proc.stdin().ok_or_else(|| fail("no stdin"))?;
        w.write_all(data).await.map_err(fail)?;
        // kube 5's stdin is a simplex pipe: EOF (v5 CLOSE [255, 0]) needs a shutdown.
        w.shutdown().await.map_err(fail)?;
        drop(w);
    }
    let mut out = proc.stdout().ok_or_else(|| fail("no stdout"))?;
    let mut err = proc.stderr().ok_or_else(|| fail("no stderr"))?;
    let status = proc.take_status().ok_or_else(|| fail("no status"))?;
    let (o, e, s) = tokio::time::timeout(Duration::from_secs(15), async {
        let mut o = String::new();
        let mut e = String::new();
        let read_o = async {
            let mut buf = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut out, &mut buf)
                .await
                .map(|_| buf)
        };
        let read_e = async {
            let mut buf = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut err, &mut buf)
                .await
                .map(|_| buf)
        };
        let (ro, re, st) = tokio::join!(read_o, read_e, status);
        o.push_str(&String::from_utf8_lossy(&ro.unwrap_or_default()));
        e.push_str(&String::from_utf8_lossy(&re.unwrap_or_default()));
        (o, e, st)
    })
    .await
    .map_err(|_| fail(format!("exec {cmd:?} timed out")))?;
    let status = serde_json::to_value(s).map_err(fail)?;
    Ok((o, e, status))
}

fn exec_streams_and_status() -> Result<(), Failed> {
    let cluster = Cluster::up()?;
    block_on(async {
        let client = cluster.client().await?;
        let pods: Api<Pod> = Api::namespaced(client, "default");
        let (o, e, s) =
            run_exec(&pods, &["sh", "-c", "echo out; echo err >&2; exit 3"], None).await?;
        check!(o == "out\n", "stdout {o:?}");
        check!(e == "err\n", "stderr {e:?}");
        check!(s["reason"] == "NonZeroExitCode", "status {s}");
        check!(
            s["details"]["causes"][0]["reason"] == "ExitCode",
            "status {s}"
        );
        check!(s["details"]["causes"][0]["message"] == "3", "status {s}");
        let (o, _, s) = run_exec(&pods, &["ip", "-4", "-o", "addr", "show", "eth0"], None).await?;
        check!(
            o.contains("inet 10.244.0.213/32"),
            "ip addr in the pod netns: {o:?}"
        );
        check!(s["status"] == "Success", "status {s}");
        let (o, _, s) = run_exec(&pods, &["cat"], Some(b"hello from stdin\n")).await?;
        check!(o == "hello from stdin\n", "stdin echoed: {o:?}");
        check!(s["status"] == "Success", "status {s}");
        Ok(())
    })
}

fn logs_of_the_agent() -> Result<(), Failed> {
    let cluster = Cluster::up()?;
    block_on(async {
        let client = cluster.client().await?;
        let system: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
        let agent = system
            .list(&ListParams::default().labels("k8s-app=cilium"))
            .await
            .map_err(fail)?
            .items
            .into_iter()
            .next()
            .and_then(|p| p.metadata.name)
            .ok_or_else(|| fail("no cilium pod"))?;
        let all = system
            .logs(&agent, &LogParams::default())
            .await
            .map_err(fail)?;
        check!(
            all.contains("endpointID=762 identity=42837 ipv4=10.244.0.213"),
            "agent log: {all}"
        );
        let tail = system
            .logs(
                &agent,
                &LogParams {
                    container: Some("cilium-agent".into()),
                    tail_lines: Some(2),
                    timestamps: true,
                    ..LogParams::default()
                },
            )
            .await
            .map_err(fail)?;
        check!(tail.lines().count() == 2, "tail 2: {tail:?}");
        check!(
            tail.lines().all(|l| l
                .split_once(' ')
                .is_some_and(|(t, rest)| { t.ends_with('Z') && rest.starts_with("time=\"") })),
            "timestamps: {tail:?}"
        );
        // A follower gets the log's end, then stays open until it is dropped.
        let stream = system
            .log_stream(
                &agent,
                &LogParams {
                    follow: true,
                    tail_lines: Some(1),
                    ..LogParams::default()
                },
            )
            .await
            .map_err(fail)?;
        let mut lines = stream.lines();
        let first = tokio::time::timeout(Duration::from_secs(10), lines.next())
            .await
            .map_err(|_| fail("log_stream sent nothing"))?
            .ok_or_else(|| fail("log_stream ended"))?
            .map_err(fail)?;
        check!(
            first.contains("Successful endpoint creation"),
            "first followed line: {first}"
        );
        let more = tokio::time::timeout(Duration::from_secs(1), lines.next()).await;
        check!(more.is_err(), "the follower ended or got more: {more:?}");
        drop(lines);
        for (params, want) in [
            (
                LogParams {
                    container: Some("nope".into()),
                    ..LogParams::default()
                },
                format!("container nope is not valid for pod {agent}"),
            ),
            (
                LogParams {
                    previous: true,
                    ..LogParams::default()
                },
                format!(
                    "previous terminated container \"cilium-agent\" in pod \"{agent}\" not found"
                ),
            ),
        ] {
            match system.logs(&agent, &params).await {
                Err(kube::Error::Api(s)) => check!(
                    s.code == 400 && s.reason == "BadRequest" && s.message == want,
                    "{s:?}"
                ),
                other => return Err(fail(format!("logs {params:?}: {other:?}"))),
            }
        }
        // The student's pod prints nothing.
        let pods: Api<Pod> = Api::namespaced(client, "default");
        let empty = pods
            .logs("pod", &LogParams::default())
            .await
            .map_err(fail)?;
        check!(empty.is_empty(), "student pod log: {empty:?}");
        Ok(())
    })
}

fn exec_in_the_agent_pod() -> Result<(), Failed> {
    let cluster = Cluster::up()?;
    block_on(async {
        let client = cluster.client().await?;
        let system: Api<Pod> = Api::namespaced(client, "kube-system");
        let agent = system
            .list(&ListParams::default())
            .await
            .map_err(fail)?
            .items
            .into_iter()
            .find_map(|p| p.metadata.name)
            .ok_or_else(|| fail("no cilium pod"))?;
        for (cmd, code) in [
            // The agent pod is on the host network: the node netns's uplink.
            (vec!["ip", "-4", "-o", "addr", "show", "dev", "eth0"], None),
            (vec!["sh", "-c", "echo in the agent; exit 3"], Some("3")),
        ] {
            let params = AttachParams::default()
                .container("cilium-agent")
                .stdout(true)
                .stderr(true);
            let mut proc = system
                .exec(&agent, cmd.clone(), &params)
                .await
                .map_err(fail)?;
            let mut out = proc.stdout().ok_or_else(|| fail("no stdout"))?;
            let status = proc.take_status().ok_or_else(|| fail("no status"))?;
            let (text, status) = tokio::time::timeout(Duration::from_secs(15), async {
                let mut buf = Vec::new();
                let _ = tokio::io::AsyncReadExt::read_to_end(&mut out, &mut buf).await;
                (String::from_utf8_lossy(&buf).into_owned(), status.await)
            })
            .await
            .map_err(|_| fail(format!("exec {cmd:?} timed out")))?;
            let status = serde_json::to_value(status).map_err(fail)?;
            match code {
                None => {
                    check!(status["status"] == "Success", "{cmd:?}: {status}");
                    let node_ip = tplab_sandbox::SandboxConfig::default().node_ip;
                    check!(
                        text.contains(&format!("inet {node_ip}/")),
                        "ip addr in the agent pod: {text}"
                    );
                }
                Some(c) => {
                    check!(text == "in the agent\n", "stdout: {text:?}");
                    check!(status["reason"] == "NonZeroExitCode", "{cmd:?}: {status}");
                    check!(
                        status["details"]["causes"][0]["message"] == c,
                        "{cmd:?}: {status}"
                    );
                }
            }
        }
        Ok(())
    })
}

fn main() {
    // The API daemon (and the world's HTTP server) are this binary re-executed.
    tplab_kubeapi::dispatch_if_daemon();
    tplab_sandbox::dispatch_if_daemon();
    Suite::new()
        .root_test("kube_client::lists_gets_and_waits", lists_gets_and_waits)
        .root_test(
            "kube_client::exec_streams_and_status",
            exec_streams_and_status,
        )
        .root_test("kube_client::logs_of_the_agent", logs_of_the_agent)
        .root_test("kube_client::exec_in_the_agent_pod", exec_in_the_agent_pod)
        .run();
}
