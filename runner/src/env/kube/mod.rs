//! The `kube` environment: a real cluster (or a tplab sandbox's API) through kube-rs.
//! Roles: `pod` (the student's `--pod`, or a lab pod tplab creates), `node` (a
//! privileged host pod on that pod's node, as `kubectl node-shell` makes it), `agent`
//! (the Cilium agent pod on that node) and `local` (this machine). Commands run over the
//! API's exec; kernel facts come from tplab's node agent shipped into the node pod
//! (`ship.rs`), every probe of a step in one round trip ([`AgentEnv`]).
//!
//! What tplab creates carries the session's labels and goes on every way out
//! (`cleanup.rs`); a quitting student's lab pod is kept to resume.

pub mod cilium;
pub mod cleanup;
pub mod client;
pub mod ctmaps;
pub mod exec;
pub mod facts;
pub mod kept;
pub mod lifecycle;
pub mod options;
pub mod pods;
pub mod ship;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::Api;
use tplab_probe::agent::{Ask, Request, Target};
use tplab_probe::{FactKind, Facts, Query};

use super::agent::{AgentEnv, AgentProcess};
use super::open::Instance;
use super::{EnvError, Environment, ExecOutput, Hop, PacketStream};
pub use crate::k8s::KubeError;
pub use client::Cluster;
use exec::Place;
pub use options::KubeOptions;

impl From<KubeError> for EnvError {
    fn from(e: KubeError) -> Self {
        EnvError::Kube(Box::new(e))
    }
}

/// The cluster-side parts of a session (commands, facts, Kubernetes objects); kernel
/// facts go through the node agent around it ([`open`] returns both together).
pub struct KubeEnv {
    cluster: Cluster,
    session: String,
    pod: Place,
    /// tplab created the lab pod (deleted at the end unless kept to resume).
    pod_created: bool,
    node: Place,
    agent: cilium::Agent,
    facts: BTreeMap<String, String>,
    k8s: tokio::sync::OnceCell<crate::k8s::KubeClient>,
    kept: AtomicBool,
    /// The agent binary's path when the node is this machine (a sandbox's API): removed
    /// at the end, since the node pod's /tmp is then this machine's.
    local_payload: Option<String>,
}

/// A fresh session id: 8 hex digits (pod names and labels).
fn new_session() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    format!("{:08x}", h.finish() & 0xffff_ffff)
}

/// Opens the cluster `opts` name: sweeps dead sessions' pods, binds the roles, ships
/// and starts the node agent, reads the facts. `Instance::Adopt(session)` takes over
/// the lab pod a quitting session kept.
pub async fn open(
    opts: &KubeOptions,
    instance: &Instance,
) -> Result<Box<dyn Environment>, EnvError> {
    cleanup::install()?;
    let cluster = Cluster::connect(opts).await?;
    match Box::pin(build(&cluster, opts, instance)).await {
        Ok(env) => Ok(Box::new(env)),
        Err(e) => {
            // Whatever this open created goes with it.
            cleanup::delete_registered().await;
            cleanup::remove_files();
            Err(e)
        }
    }
}

async fn build(
    cluster: &Cluster,
    opts: &KubeOptions,
    instance: &Instance,
) -> Result<AgentEnv, EnvError> {
    let swept = lifecycle::sweep(cluster).await?;
    if !swept.is_empty() {
        eprintln!(
            "tplab: removed pods of ended tplab sessions: {}",
            swept.join(", ")
        );
    }
    let session = match instance {
        Instance::Adopt(id) => id.clone(),
        _ => new_session(),
    };
    let owner = pods::Owner::me();
    let ns = cluster.namespace.clone();
    let pods_api: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
    let (pod, pod_created) = if let Some(name) = &opts.pod {
        let found = lifecycle::bounded("reading the pod", async {
            pods_api
                .get_opt(name)
                .await
                .map_err(|e| cluster.error(e, "reading the pod", ("get", "pods", &ns)))
        })
        .await?;
        let pod = found.ok_or_else(|| KubeError::NoPod {
            pod: name.clone(),
            namespace: ns.clone(),
        })?;
        (pod, false)
    } else if let Some(pod) = kept_pod(cluster, instance).await? {
        // `check`, `probe`, `trace`: the state the student built is in the lab pod their
        // quitting `run` kept; it stays kept (not this process's to delete).
        (pod, false)
    } else {
        let name = format!("tplab-{session}");
        let adopted = if matches!(instance, Instance::Adopt(_)) {
            adopt(cluster, &name, &owner).await?
        } else {
            None
        };
        match adopted {
            Some(p) => (p, true),
            None if matches!(instance, Instance::Adopt(_)) => {
                return Err(KubeError::NoPod {
                    pod: name,
                    namespace: ns,
                }
                .into());
            }
            None => {
                let spec = pods::lab_pod(&name, &session, opts.image(), &owner);
                let pod = lifecycle::create_running(cluster, &spec, opts.pod_timeout(), "--image")
                    .await?;
                (pod, true)
            }
        }
    };
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let (Some(pod_ip), Some(node_name)) = (
        status.pod_ip.clone(),
        pod.spec.as_ref().and_then(|s| s.node_name.clone()),
    ) else {
        return Err(KubeError::PodNotPlaced {
            pod: pod_name,
            phase: status.phase.unwrap_or_else(|| "Unknown".into()),
        }
        .into());
    };
    let node_ip = status.host_ip.clone().unwrap_or_default();
    let agent = cilium::find(cluster, &node_name).await?;
    let ct_maps = ctmaps::locate(cluster, &agent).await;
    let node_pod_name = format!("tplab-node-{session}");
    let spec = pods::node_pod(
        &node_pod_name,
        &session,
        &node_name,
        opts.node_image(),
        &owner,
    );
    lifecycle::create_running(cluster, &spec, opts.pod_timeout(), "--node-image").await?;
    let node = Place {
        namespace: ns.clone(),
        pod: node_pod_name,
        container: Some(pods::NODE_CONTAINER.into()),
    };
    let sandbox_id = cluster.sandbox_id();
    let payload = ship::Payload::current()?;
    if sandbox_id.is_some() {
        // The copy in progress too (`.part`), should a signal cut it short.
        cleanup::register_file(&payload.path);
        cleanup::register_file(&format!("{}.part", payload.path));
    }
    ship::ship(cluster, &node, &payload).await?;
    // A sandbox's node holds every sandbox's pods, with the same IPs: scan only its own.
    let scan = match &sandbox_id {
        Some(id) => tplab_netns::path_of(&tplab_sandbox::netns_name(id, ""))
            .display()
            .to_string(),
        None => "/proc".to_string(),
    };
    let process = ship::start_agent(cluster, &node, &payload, &["--scan".into(), scan]).await?;
    let ip: std::net::IpAddr = pod_ip.parse().map_err(|_| KubeError::PodNotPlaced {
        pod: pod_name.clone(),
        phase: format!("its IP `{pod_ip}` does not parse"),
    })?;
    let mut facts = base_facts(cluster, &pod_name, &pod_ip, &node_name, &node_ip, &agent);
    facts.extend(network_facts(&process, ip, &pod_ip, &node_ip).await?);
    if let Some(cidr) = pod_cidr(cluster, &node_name).await {
        facts.insert("pod_cidr".into(), cidr);
    }
    if let Some(id) = &sandbox_id {
        facts.extend(world_of(id));
    }
    facts.extend(opts.vars.clone());
    let env = KubeEnv {
        cluster: cluster.clone(),
        session,
        pod: Place {
            namespace: ns,
            pod: pod_name,
            container: None,
        },
        pod_created,
        node,
        agent,
        facts,
        k8s: tokio::sync::OnceCell::new(),
        kept: AtomicBool::new(false),
        local_payload: sandbox_id.map(|_| payload.path.clone()),
    };
    let targets: BTreeMap<String, Target> = [
        ("node".to_string(), Target::Own),
        // Cilium's agent runs in the node's network namespace (hostNetwork).
        ("agent".to_string(), Target::Own),
        ("pod".to_string(), Target::PodIp(ip)),
    ]
    .into_iter()
    .collect();
    Ok(AgentEnv::new(Box::new(env), process, targets)
        .with_ct_maps(ct_maps)
        .with_observer())
}

/// For an `Existing` instance, the lab pod a quitting session kept: the one of session
/// `ID` (`--sandbox ID` names it), else the only one kept in the namespace (`None`:
/// none, so a fresh lab pod is made).
async fn kept_pod(cluster: &Cluster, instance: &Instance) -> Result<Option<Pod>, EnvError> {
    let Instance::Existing(wanted) = instance else {
        return Ok(None);
    };
    let ns = cluster.namespace.clone();
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
    let params = kube::api::ListParams::default().labels(&format!("{}=tplab", pods::MANAGED_BY));
    let list = lifecycle::bounded("listing tplab's pods", async {
        api.list(&params)
            .await
            .map_err(|e| cluster.error(e, "listing tplab's pods", ("list", "pods", &ns)))
    })
    .await?;
    let mut kept: Vec<Pod> = list
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            let session = p
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(pods::SESSION))
                .cloned()
                .unwrap_or_default();
            let name = p.metadata.name.as_deref().unwrap_or_default();
            name == format!("tplab-{session}")
                && kept::is_kept(&session)
                && wanted.as_ref().is_none_or(|w| *w == session)
        })
        .collect();
    match kept.len() {
        0 | 1 => Ok(kept.pop()),
        _ => Err(EnvError::BadConfig(format!(
            "{} kept lab pods in namespace {ns} ({}): name one with `--pod NAME`",
            kept.len(),
            kept.iter()
                .filter_map(|p| p.metadata.name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The lab pod `name` a quitting session kept, made this process's.
async fn adopt(
    cluster: &Cluster,
    name: &str,
    owner: &pods::Owner,
) -> Result<Option<Pod>, EnvError> {
    let ns = cluster.namespace.clone();
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
    let Some(pod) = lifecycle::bounded("reading the kept lab pod", async {
        api.get_opt(name)
            .await
            .map_err(|e| cluster.error(e, "reading the kept lab pod", ("get", "pods", &ns)))
    })
    .await?
    else {
        return Ok(None);
    };
    let patch = serde_json::json!({
        "metadata": {
            "labels": { pods::KEPT: null, pods::HOST: owner.host },
            "annotations": { pods::PID: owner.pid.to_string(), pods::STARTED: owner.started },
        }
    });
    lifecycle::bounded("taking over the kept lab pod", async {
        api.patch(
            name,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .map(|_| ())
        .map_err(|e| cluster.error(e, "taking over the kept lab pod", ("patch", "pods", &ns)))
    })
    .await
    // An API without PATCH (a sandbox's): the pod keeps its old owner, and its kept mark.
    .or_else(|e| match e {
        KubeError::Api { code: 405, .. } => Ok(()),
        other => Err(other),
    })?;
    // Its kept mark stays until the pod is deleted: a sweep (of another tplab, whose owner
    // check cannot see this process where the API refused the patch) leaves it alone.
    cleanup::register(cluster, &ns, name);
    Ok(Some(pod))
}

fn base_facts(
    cluster: &Cluster,
    pod: &str,
    pod_ip: &str,
    node: &str,
    node_ip: &str,
    agent: &cilium::Agent,
) -> BTreeMap<String, String> {
    let mut f: BTreeMap<String, String> = [
        ("env", "kube".to_string()),
        ("pod_name", pod.to_string()),
        ("pods", pod.to_string()),
        ("pod_ip", pod_ip.to_string()),
        ("node_name", node.to_string()),
        ("node_ip", node_ip.to_string()),
        ("cilium_pod", agent.place.pod.clone()),
        ("cilium_namespace", agent.place.namespace.clone()),
        ("cilium_cli", agent.cli.clone()),
        ("kubeconfig", cluster.kubeconfig.display().to_string()),
        ("namespace", cluster.namespace.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(v) = facts::cilium_version(&agent.image) {
        f.insert("cilium_version".into(), v);
    }
    f
}

/// The facts only the node's and the pod's namespaces hold, in one agent round trip.
async fn network_facts(
    process: &AgentProcess,
    ip: std::net::IpAddr,
    pod_ip: &str,
    node_ip: &str,
) -> Result<BTreeMap<String, String>, EnvError> {
    let requests = [
        Request {
            id: "node".into(),
            netns: Target::Own,
            ask: Ask::Kinds(vec![FactKind::Links, FactKind::Addresses, FactKind::Routes]),
        },
        Request {
            id: "pod".into(),
            netns: Target::PodIp(ip),
            ask: Ask::Kinds(vec![FactKind::Links, FactKind::Addresses]),
        },
    ];
    let mut answers = process.batch(&requests).await?.into_iter();
    let mut view = |what: &str| -> Result<facts::NetView, EnvError> {
        let answer = answers.next().ok_or_else(|| EnvError::Agent {
            what: "the node agent".into(),
            message: format!("no answer for the {what}"),
        })?;
        let facts = answer.into_result().map_err(|e| EnvError::Agent {
            what: format!("the node agent, reading the {what}"),
            message: e.message,
        })?;
        Ok(facts::NetView::of(facts))
    };
    let node = view("node's namespace")?;
    let pod = view("pod's namespace")?;
    Ok(facts::network(pod_ip, node_ip, &node, &pod))
}

/// The node's pod CIDR, when this user may read nodes (a fact, not a requirement).
async fn pod_cidr(cluster: &Cluster, node: &str) -> Option<String> {
    let api: Api<Node> = Api::all(cluster.client.clone());
    let n = tokio::time::timeout(lifecycle::CALL_TIMEOUT, api.get_opt(node))
        .await
        .ok()?
        .ok()??;
    n.spec?.pod_cidr
}

/// The sandbox's world: its "internet" address and HTTP server, so a lab's traffic stays
/// inside the namespaces tplab made.
fn world_of(id: &str) -> BTreeMap<String, String> {
    let Ok(sandbox) = tplab_sandbox::Sandbox::attach(id) else {
        return BTreeMap::new();
    };
    let facts = sandbox.facts();
    ["world_ip", "world_if", "http_port", "world_url"]
        .into_iter()
        .filter_map(|k| facts.get(k).map(|v| (k.to_string(), v.clone())))
        .collect()
}

impl KubeEnv {
    fn place(&self, role: &str) -> Result<(&Place, Vec<&'static str>, String), EnvError> {
        match role {
            "pod" => Ok((&self.pod, Vec::new(), String::new())),
            "node" => Ok((&self.node, pods::NSENTER.to_vec(), String::new())),
            "agent" => Ok((
                &self.agent.place,
                Vec::new(),
                cilium::prelude(&self.agent.cli),
            )),
            other => Err(EnvError::UnknownRole {
                env: "kube".into(),
                role: other.to_string(),
                available: self.roles().join(", "),
            }),
        }
    }

    fn unsupported(what: &str) -> EnvError {
        EnvError::Unsupported {
            env: "kube".into(),
            what: what.to_string(),
        }
    }
}

impl Drop for KubeEnv {
    fn drop(&mut self) {
        if let Some(path) = &self.local_payload {
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_file(format!("{path}.part"));
        }
        let kept = self.kept.load(Ordering::SeqCst) && self.pod_created;
        let mut delete = vec![self.node.pod.clone()];
        if self.pod_created && !kept {
            delete.push(self.pod.pod.clone());
        }
        let keep = if kept {
            if let Err(e) = kept::mark(&self.session) {
                eprintln!("tplab: remembering the kept lab pod: {e}");
            }
            vec![self.pod.pod.clone()]
        } else {
            Vec::new()
        };
        cleanup::finish_blocking(&self.cluster.config, &self.cluster.namespace, delete, keep);
    }
}

#[async_trait]
impl Environment for KubeEnv {
    fn name(&self) -> &'static str {
        "kube"
    }

    fn roles(&self) -> Vec<String> {
        super::registry::EnvKind::Kube
            .roles()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    async fn facts(&self) -> Result<BTreeMap<String, String>, EnvError> {
        Ok(self.facts.clone())
    }

    async fn exec(
        &self,
        role: &str,
        script: &str,
        timeout: Duration,
    ) -> Result<ExecOutput, EnvError> {
        if role == "local" {
            let mut cmd = super::exec::shell(script);
            cmd.env("KUBECONFIG", &self.cluster.kubeconfig);
            return super::exec::run(cmd, timeout)
                .await
                .map_err(|source| EnvError::Spawn {
                    role: role.to_string(),
                    command: script.lines().next().unwrap_or_default().to_string(),
                    source,
                });
        }
        let (place, prefix, prelude) = self.place(role)?;
        let script = format!("{prelude}{script}");
        Ok(exec::run_script(&self.cluster, place, &prefix, &script, timeout).await?)
    }

    async fn probe(&self, role: &str, query: &Query) -> Result<Facts, EnvError> {
        let _ = query;
        Err(Self::unsupported(&format!(
            "kernel facts of role `{role}` outside the node agent"
        )))
    }

    async fn probe_kinds(&self, role: &str, kinds: &[FactKind]) -> Result<Vec<Facts>, EnvError> {
        let _ = kinds;
        Err(Self::unsupported(&format!(
            "kernel facts of role `{role}` outside the node agent"
        )))
    }

    async fn k8s_objects(
        &self,
        selector: &crate::k8s::ObjectSelector,
    ) -> Result<Vec<serde_json::Value>, EnvError> {
        let client = self
            .k8s
            .get_or_init(|| async {
                crate::k8s::KubeClient::from_client(
                    self.cluster.client.clone(),
                    self.cluster.server.clone(),
                )
            })
            .await;
        Ok(client.objects(selector).await?)
    }

    async fn observe(&self, hops: &[Hop]) -> Result<Box<dyn PacketStream>, EnvError> {
        let _ = hops;
        Err(Self::unsupported(
            "packet observation outside the node agent (it observes on the node)",
        ))
    }

    fn shell_hint(&self, role: &str) -> String {
        let ns = &self.cluster.namespace;
        match role {
            "pod" => format!("`kubectl exec -ti -n {ns} {} -- sh`", self.pod.pod),
            "node" => format!(
                "`kubectl node-shell {}` (or `kubectl exec -ti -n {ns} {} -- {} sh`)",
                self.facts.get("node_name").map_or("", String::as_str),
                self.node.pod,
                pods::NSENTER.join(" ")
            ),
            "agent" => format!(
                "`kubectl exec -ti -n {} {} -c {} -- bash`",
                self.agent.place.namespace,
                self.agent.place.pod,
                cilium::CONTAINER
            ),
            _ => "this terminal (`kubectl` uses your kubeconfig)".into(),
        }
    }

    fn handle(&self) -> Option<String> {
        Some(self.session.clone())
    }

    fn keep_alive(&self) {
        self.kept.store(true, Ordering::SeqCst);
    }

    fn removal_hint(&self) -> Option<String> {
        Some(format!(
            "kubectl delete pod -l tplab.dev/session={}",
            self.session
        ))
    }
}
