//! Kernel facts through a `tplab agent` process (the node agent) over its stdin and
//! stdout, instead of this process's own netlink: what the kube environment does over
//! `kubectl exec -i`. [`AgentEnv`] wraps another environment: commands, templates'
//! facts, the datapath and packets stay the inner one's; `probe`, `probe_kinds` and
//! `probe_batch` (every probe of a step in one round trip) go to the agent, and so do
//! `datapath_ct` and `fetch_batch` (a step's facts and CT map in one round trip) once
//! [`AgentEnv::with_ct_maps`] says where the node's CT maps are pinned.
//!
//! On the sandbox (`TPLAB_FACTS_VIA=agent`) the agent runs in the node role, as the
//! node pod runs on the node; the pod role is found by the agent from the pod's IP.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::sync::mpsc;
use tplab_ebpf::CtEntry;
use tplab_probe::agent::{
    AgentLine, Answer, Answers, Ask, CtMaps, EventsLine, Observe, ObserveAt, Request, Target,
};
use tplab_probe::{FactKind, Facts, Query};

use super::sandbox::SandboxEnv;
use super::{EnvError, Environment, ExecOutput, Fetch, Fetched, Hop, PacketStream, ensure_role};

/// How long one batch may take (a pod-IP scan of a busy node included).
pub const BATCH_TIMEOUT: Duration = Duration::from_secs(30);

/// A running agent and its pipes; one batch at a time. A reader task reads every
/// line the agent writes: answers go to the batch waiting for them, the events of a
/// running observation (`observed` lines) to its [`PacketStream`].
pub struct AgentProcess {
    pipes: tokio::sync::Mutex<Option<Pipes>>,
    batches: AtomicU64,
    what: String,
    observers: Observers,
    reader: tokio::task::JoinHandle<()>,
}

/// Where each running observation's lines go, by id.
pub(super) type Observers =
    Arc<std::sync::Mutex<BTreeMap<String, mpsc::UnboundedSender<EventsLine>>>>;

/// What the agent's requests are written to (a child's stdin, an exec's stdin).
pub type AgentWriter = Box<dyn AsyncWrite + Send + Unpin>;
/// What its answers are read from (a child's stdout, an exec's stdout).
pub type AgentReader = Box<dyn AsyncRead + Send + Unpin>;

struct Pipes {
    // What keeps the agent running, ended when dropped: a child (kill_on_drop) or an
    // exec session; the agent never outlives its client.
    _keep: Box<dyn Send + Sync>,
    stdin: AgentWriter,
    /// Answer lines, in order, from the reader task (closed when the agent's output ends).
    answers: mpsc::UnboundedReceiver<String>,
}

impl AgentProcess {
    /// Starts `cmd` (a `tplab agent` invocation) with piped stdin and stdout.
    pub fn spawn(mut cmd: tokio::process::Command, what: &str) -> Result<Self, EnvError> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|source| EnvError::Spawn {
            role: what.to_string(),
            command: "tplab agent".into(),
            source,
        })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(EnvError::Agent {
                what: what.to_string(),
                message: "the agent's pipes were not set up".into(),
            });
        };
        Ok(Self::over(
            Box::new(child),
            Box::new(stdin),
            Box::new(stdout),
            what,
        ))
    }

    /// An agent already running at the other end of `stdin`/`stdout` (e.g. over an exec
    /// stream), kept alive by `keep` until this is dropped. Needs a tokio runtime (its
    /// reader task).
    pub fn over(
        keep: Box<dyn Send + Sync>,
        stdin: AgentWriter,
        stdout: AgentReader,
        what: &str,
    ) -> Self {
        let (tx, answers) = mpsc::unbounded_channel();
        let observers: Observers = Arc::default();
        let reader = tokio::spawn(read_lines(
            BufReader::new(stdout),
            tx,
            Arc::clone(&observers),
        ));
        Self {
            pipes: tokio::sync::Mutex::new(Some(Pipes {
                _keep: keep,
                stdin,
                answers,
            })),
            batches: AtomicU64::new(0),
            what: what.to_string(),
            observers,
            reader,
        }
    }

    /// Where the lines of observation `id` go from now on (before asking for it: its
    /// first events may precede the answer).
    pub(super) fn register(&self, id: &str) -> mpsc::UnboundedReceiver<EventsLine> {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut map) = self.observers.lock() {
            map.insert(id.to_string(), tx);
        }
        rx
    }

    /// Forgets observation `id` (its late lines are dropped).
    pub(super) fn unregister(&self, id: &str) {
        if let Ok(mut map) = self.observers.lock() {
            map.remove(id);
        }
    }

    /// Round trips made so far (one per batch).
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::SeqCst)
    }

    /// Sends `requests` as one batch; their answers, in order.
    pub async fn batch(&self, requests: &[Request]) -> Result<Vec<Answer>, EnvError> {
        let n = self.batches.fetch_add(1, Ordering::SeqCst) + 1;
        let id = format!("b{n}");
        let line = tplab_probe::agent::batch_line(&id, requests);
        let mut guard = self.pipes.lock().await;
        let Some(pipes) = guard.as_mut() else {
            return Err(self.fail("it stopped answering earlier in this session"));
        };
        let exchange = async {
            pipes.stdin.write_all(line.as_bytes()).await?;
            pipes.stdin.flush().await?;
            Ok::<_, std::io::Error>(pipes.answers.recv().await)
        };
        let answer = match tokio::time::timeout(BATCH_TIMEOUT, exchange).await {
            Ok(Ok(Some(a))) => a,
            Ok(Ok(None)) => {
                *guard = None;
                return Err(self.fail("it exited (end of its output)"));
            }
            Ok(Err(e)) => {
                *guard = None;
                return Err(self.fail(&format!("talking to it: {e}")));
            }
            Err(_) => {
                // Its next line might answer this batch: the stream is out of step.
                *guard = None;
                return Err(self.fail(&format!("no answer within {}s", BATCH_TIMEOUT.as_secs())));
            }
        };
        let answers = Answers::from_json(&answer).map_err(|e| self.fail(&e))?;
        if let Some(e) = answers.error {
            return Err(self.fail(&e.message));
        }
        if answers.id.as_deref() != Some(id.as_str()) || answers.answers.len() != requests.len() {
            *guard = None;
            return Err(self.fail("its answer does not match the request"));
        }
        Ok(answers.answers)
    }

    pub(super) fn fail(&self, message: &str) -> EnvError {
        EnvError::Agent {
            what: self.what.clone(),
            message: message.to_string(),
        }
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The reader task: each line the agent writes, to the batch waiting for it or to its
/// observation; at the end of the output every waiting side learns it (closed channels).
async fn read_lines(
    mut stdout: BufReader<AgentReader>,
    answers: mpsc::UnboundedSender<String>,
    observers: Observers,
) {
    loop {
        let mut line = String::new();
        match stdout.read_line(&mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        match events_of(&line) {
            Some(events) => {
                let end = events.end;
                if let Ok(mut map) = observers.lock() {
                    if let Some(tx) = map.get(&events.observed) {
                        let _ = tx.send(events.clone());
                    }
                    if end {
                        map.remove(&events.observed);
                    }
                }
            }
            None => {
                if answers.send(line).is_err() {
                    break;
                }
            }
        }
    }
    if let Ok(mut map) = observers.lock() {
        map.clear();
    }
}

/// An observation's line (`observed`), or `None` for an answer line.
fn events_of(line: &str) -> Option<EventsLine> {
    // Cheap first: most lines are answers, parsed once by the batch that waits for them.
    if !line.contains("\"observed\":") {
        return None;
    }
    match AgentLine::from_json(line) {
        Ok(AgentLine::Events(ev)) => Some(ev),
        _ => None,
    }
}

/// An environment whose kernel facts come from a node agent.
pub struct AgentEnv {
    inner: Box<dyn Environment>,
    agent: Arc<AgentProcess>,
    /// Where each role's facts are read, as the agent sees the node.
    targets: BTreeMap<String, Target>,
    /// Where the agent reads the CT maps (`None`: the inner environment reads them).
    ct_maps: Option<CtMaps>,
    /// Packets observed by the agent too (`false`: by the inner environment).
    observes: bool,
    observations: AtomicU64,
}

impl AgentEnv {
    pub fn new(
        inner: Box<dyn Environment>,
        agent: AgentProcess,
        targets: BTreeMap<String, Target>,
    ) -> Self {
        Self {
            inner,
            agent: Arc::new(agent),
            targets,
            ct_maps: None,
            observes: false,
            observations: AtomicU64::new(0),
        }
    }

    /// Packets (`packets` checks, `tplab trace`) observed by the agent too, on the
    /// node: its eBPF observer on the hops' interfaces in the roles' namespaces.
    #[must_use]
    pub fn with_observer(mut self) -> Self {
        self.observes = true;
        self
    }

    /// The CT maps (`bpf_map` checks) read by the agent too, where `maps` says.
    #[must_use]
    pub fn with_ct_maps(mut self, maps: CtMaps) -> Self {
        self.ct_maps = Some(maps);
        self
    }

    /// The sandbox with an agent in its node role, scanning only this sandbox's named
    /// namespaces for the pod's IP (other sandboxes on the machine hold the same IP).
    pub async fn over_sandbox(env: SandboxEnv) -> Result<Self, EnvError> {
        let exe = std::env::current_exe().map_err(|e| EnvError::io("finding tplab itself", e))?;
        let scan = tplab_netns::path_of(&tplab_sandbox::netns_name(env.id(), ""));
        let mut args = vec!["agent".as_ref(), "--scan".as_ref(), scan.as_os_str()];
        // TPLAB_AGENT_LOG=batches: the agent logs each request it answers (round trips).
        if std::env::var("TPLAB_AGENT_LOG").as_deref() == Ok("batches") {
            args.push("--log-batches".as_ref());
        }
        let cmd = env
            .sandbox()
            .std_command_argv(&tplab_sandbox::Role::Node, &exe, &args)
            .map_err(|e| EnvError::RoleSandbox {
                role: "node".into(),
                source: Box::new(e),
            })?;
        let agent = AgentProcess::spawn(cmd.into(), "the node agent")?;
        let facts = env.facts().await?;
        let mut targets = BTreeMap::new();
        for role in env.roles() {
            let target = match role.as_str() {
                "node" | "agent" => Target::Own,
                "pod" => match facts.get("pod_ip").and_then(|ip| ip.parse().ok()) {
                    Some(ip) => Target::PodIp(ip),
                    None => continue,
                },
                "local" => Target::Path(PathBuf::from(format!(
                    "/proc/{}/ns/net",
                    std::process::id()
                ))),
                other => match env.sandbox().netns_path(&role_of(other)?) {
                    Some(path) => Target::Path(path),
                    None => continue,
                },
            };
            targets.insert(role, target);
        }
        // The sandbox's datapath pins its maps under its own bpf root.
        let maps = CtMaps {
            bpf_root: Some(tplab_ebpf::pin_dir_for(env.id())),
            cilium: None,
        };
        Ok(Self::new(Box::new(env), agent, targets)
            .with_ct_maps(maps)
            .with_observer())
    }

    /// Round trips made to the agent so far.
    pub fn batches(&self) -> u64 {
        self.agent.batches()
    }

    fn target(&self, role: &str) -> Result<Target, EnvError> {
        ensure_role(self, role)?;
        self.targets
            .get(role)
            .cloned()
            .ok_or_else(|| EnvError::Role {
                role: role.to_string(),
                message: "the node agent cannot read this role's namespace".into(),
            })
    }

    /// One round trip for `asks`; an answer per ask, in order.
    async fn ask(&self, asks: Vec<(String, Ask)>) -> Vec<Result<Vec<Facts>, EnvError>> {
        self.ask_answers(asks)
            .await
            .into_iter()
            .map(|a| {
                let (role, answer) = a?;
                answer.into_result().map_err(|e| EnvError::Agent {
                    what: format!("the node agent, role `{role}`"),
                    message: e.message,
                })
            })
            .collect()
    }

    /// One round trip for `asks` (a CT map ask has no role: `""`); each answer with
    /// its role, in order.
    async fn ask_answers(
        &self,
        asks: Vec<(String, Ask)>,
    ) -> Vec<Result<(String, Answer), EnvError>> {
        let mut requests = Vec::with_capacity(asks.len());
        let mut slots: Vec<Result<String, EnvError>> = Vec::with_capacity(asks.len());
        for (i, (role, ask)) in asks.into_iter().enumerate() {
            let target = if matches!(ask, Ask::CtMaps(_)) {
                Ok(Target::Own)
            } else {
                self.target(&role)
            };
            match target {
                Ok(netns) => {
                    requests.push(Request {
                        id: format!("q{i}"),
                        netns,
                        ask,
                    });
                    slots.push(Ok(role));
                }
                Err(e) => slots.push(Err(e)),
            }
        }
        let answers = if requests.is_empty() {
            Ok(Vec::new())
        } else {
            self.agent.batch(&requests).await
        };
        let mut answers = match answers {
            Ok(a) => a.into_iter(),
            Err(e) => {
                // The whole batch failed: every query says why.
                return slots
                    .into_iter()
                    .map(|slot| Err(slot.err().unwrap_or_else(|| replicate(&e))))
                    .collect();
            }
        };
        slots
            .into_iter()
            .map(|slot| {
                let role = slot?;
                let answer = answers
                    .next()
                    .ok_or_else(|| self.agent.fail("an answer is missing"))?;
                Ok((role, answer))
            })
            .collect()
    }

    fn ct_error(e: &tplab_probe::agent::AgentError) -> EnvError {
        EnvError::Agent {
            what: "the node agent, Cilium's CT maps".into(),
            message: e.message.clone(),
        }
    }
}

/// The same agent failure, for another query of the failed batch.
fn replicate(e: &EnvError) -> EnvError {
    match e {
        EnvError::Agent { what, message } => EnvError::Agent {
            what: what.clone(),
            message: message.clone(),
        },
        other => EnvError::Agent {
            what: "the node agent".into(),
            message: other.to_string(),
        },
    }
}

fn role_of(name: &str) -> Result<tplab_sandbox::Role, EnvError> {
    name.parse().map_err(|e| EnvError::RoleSandbox {
        role: name.to_string(),
        source: Box::new(e),
    })
}

fn one(mut facts: Vec<Facts>, what: &str) -> Result<Facts, EnvError> {
    facts.pop().ok_or_else(|| EnvError::Agent {
        what: "the node agent".into(),
        message: format!("no {what} in its answer"),
    })
}

#[async_trait]
impl Environment for AgentEnv {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn roles(&self) -> Vec<String> {
        self.inner.roles()
    }

    async fn facts(&self) -> Result<BTreeMap<String, String>, EnvError> {
        self.inner.facts().await
    }

    async fn exec(
        &self,
        role: &str,
        script: &str,
        timeout: Duration,
    ) -> Result<ExecOutput, EnvError> {
        self.inner.exec(role, script, timeout).await
    }

    async fn probe(&self, role: &str, query: &Query) -> Result<Facts, EnvError> {
        let mut answers = self.probe_batch(&[(role.to_string(), query.clone())]).await;
        answers
            .pop()
            .unwrap_or_else(|| Err(self.agent.fail("no answer")))
    }

    /// Requests are made by this process in the sandbox's namespaces, as commands run.
    async fn http(
        &self,
        role: &str,
        request: &super::http::HttpRequest,
        timeout: Duration,
    ) -> Result<super::http::HttpAnswer, EnvError> {
        self.inner.http(role, request, timeout).await
    }

    async fn probe_kinds(&self, role: &str, kinds: &[FactKind]) -> Result<Vec<Facts>, EnvError> {
        let mut answers = self
            .ask(vec![(role.to_string(), Ask::Kinds(kinds.to_vec()))])
            .await;
        answers
            .pop()
            .unwrap_or_else(|| Err(self.agent.fail("no answer")))
    }

    async fn probe_batch(&self, queries: &[(String, Query)]) -> Vec<Result<Facts, EnvError>> {
        let asks = queries
            .iter()
            .map(|(role, q)| (role.clone(), Ask::Query(q.clone())))
            .collect();
        self.ask(asks)
            .await
            .into_iter()
            .zip(queries)
            .map(|(a, (_, q))| a.and_then(|f| one(f, q.fact_kind().nouns())))
            .collect()
    }

    async fn datapath_ct_on(&self, node: usize) -> Result<Vec<CtEntry>, EnvError> {
        if node <= 1 {
            return self.datapath_ct().await;
        }
        // The other nodes' maps are read where they are pinned, as the sandbox does.
        self.inner.datapath_ct_on(node).await
    }

    async fn datapath_ct(&self) -> Result<Vec<CtEntry>, EnvError> {
        let Some(maps) = &self.ct_maps else {
            return self.inner.datapath_ct().await;
        };
        let mut answers = self
            .ask_answers(vec![(String::new(), Ask::CtMaps(maps.clone()))])
            .await;
        let (_, answer) = answers
            .pop()
            .unwrap_or_else(|| Err(self.agent.fail("no answer")))?;
        answer.into_ct().map_err(|e| Self::ct_error(&e))
    }

    async fn fetch_batch(&self, fetches: &[Fetch]) -> Vec<Result<Fetched, EnvError>> {
        let Some(maps) = &self.ct_maps else {
            // The CT map is the inner environment's: the default split.
            let probes: Vec<(String, Query)> = fetches
                .iter()
                .filter_map(|f| match f {
                    Fetch::Probe { role, query } => Some((role.clone(), query.clone())),
                    Fetch::DatapathCt => None,
                })
                .collect();
            let mut facts = self.probe_batch(&probes).await.into_iter();
            let mut out = Vec::with_capacity(fetches.len());
            for f in fetches {
                out.push(match f {
                    Fetch::Probe { .. } => facts
                        .next()
                        .unwrap_or_else(|| Err(self.agent.fail("no answer")))
                        .map(Fetched::Facts),
                    Fetch::DatapathCt => self.inner.datapath_ct().await.map(Fetched::Ct),
                });
            }
            return out;
        };
        // Every read of the step in one round trip.
        let asks = fetches
            .iter()
            .map(|f| match f {
                Fetch::Probe { role, query } => (role.clone(), Ask::Query(query.clone())),
                Fetch::DatapathCt => (String::new(), Ask::CtMaps(maps.clone())),
            })
            .collect();
        self.ask_answers(asks)
            .await
            .into_iter()
            .zip(fetches)
            .map(|(a, f)| {
                let (role, answer) = a?;
                match f {
                    Fetch::DatapathCt => answer
                        .into_ct()
                        .map(Fetched::Ct)
                        .map_err(|e| Self::ct_error(&e)),
                    Fetch::Probe { query, .. } => answer
                        .into_result()
                        .map_err(|e| EnvError::Agent {
                            what: format!("the node agent, role `{role}`"),
                            message: e.message,
                        })
                        .and_then(|facts| one(facts, query.fact_kind().nouns()))
                        .map(Fetched::Facts),
                }
            })
            .collect()
    }

    async fn k8s_objects(
        &self,
        selector: &crate::k8s::ObjectSelector,
    ) -> Result<Vec<serde_json::Value>, EnvError> {
        self.inner.k8s_objects(selector).await
    }

    async fn observe(&self, hops: &[Hop]) -> Result<Box<dyn PacketStream>, EnvError> {
        if !self.observes {
            return self.inner.observe(hops).await;
        }
        // `lxc` is the pod's veth peer on the node, whatever the environment named it.
        let facts = self.inner.facts().await?;
        let mut points = Vec::with_capacity(hops.len());
        for hop in hops {
            let ifname = super::packet_path::ifname(hop, &facts);
            points.push(ObserveAt {
                netns: self.target(&hop.role)?,
                ifname,
                label: hop.label.clone(),
            });
        }
        let n = self.observations.fetch_add(1, Ordering::SeqCst) + 1;
        let obs = Observe {
            id: format!("o{n}"),
            points,
        };
        super::agent_stream::start(Arc::clone(&self.agent), obs).await
    }

    fn shell_hint(&self, role: &str) -> String {
        self.inner.shell_hint(role)
    }

    fn handle(&self) -> Option<String> {
        self.inner.handle()
    }

    fn keep_alive(&self) {
        self.inner.keep_alive();
    }
}
