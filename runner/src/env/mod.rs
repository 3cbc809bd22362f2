//! Environments bind a lab's roles to places where commands run and facts are read.
//! The engine only sees [`Environment`]; `local`, `sandbox` and `kube` slot in.

pub mod agent;
mod agent_stream;
pub mod container;
pub mod exec;
pub mod fetch;
pub mod http;
pub mod inproc;
pub mod kube;
pub mod lab_topology;
pub mod local;
mod messages;
pub mod open;
pub mod packet_path;
pub mod registry;
pub mod sandbox;
pub mod sandbox_agents;
mod sock_lb;
pub mod spy;
pub mod teardown;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tplab_ebpf::{CtEntry, PacketEvent};
use tplab_probe::{FactKind, Facts, Query};

pub use exec::ExecOutput;
pub use fetch::{Fetch, Fetched};

/// Why an environment could not be opened or used. Each variant keeps its cause
/// (`source()`) and the context a reader needs (role, sandbox, path); the message
/// says the whole story on one line, since verdicts quote it to students.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("environment `{env}` has no role `{role}` (it provides: {available})")]
    UnknownRole {
        env: String,
        role: String,
        available: String,
    },
    #[error("could not start `{command}` on role `{role}`: {source}")]
    Spawn {
        role: String,
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("role `{role}`: {message}")]
    Role { role: String, message: String },
    /// A role bound to a container (`netns: { web: "docker:web" }`) that cannot be entered.
    #[error("role `{role}`: {source}")]
    Container {
        role: String,
        #[source]
        source: container::ContainerError,
    },
    #[error("role `{role}`: {source}")]
    RoleSandbox {
        role: String,
        #[source]
        source: Box<tplab_sandbox::SandboxError>,
    },
    /// The sandbox crate failed while tplab was doing `action`.
    #[error("{action}: {source}")]
    Sandbox {
        action: String,
        #[source]
        source: Box<tplab_sandbox::SandboxError>,
    },
    #[error("the sandbox's Kubernetes API: {source}")]
    KubeApi {
        #[source]
        source: Box<tplab_kubeapi::KubeApiError>,
    },
    #[error("sandbox {id} has no Kubernetes API (no {})", path.display())]
    NoKubeApi {
        id: String,
        path: std::path::PathBuf,
    },
    #[error("no sandbox is up: start one with `tplab sandbox up`")]
    NoSandbox,
    #[error("{} sandboxes are up ({}): choose one with `--sandbox ID`", ids.len(), ids.join(", "))]
    ManySandboxes { ids: Vec<String> },
    #[error("sandbox {id} is not healthy any more")]
    Unhealthy { id: String },
    /// A part every sandbox has is missing (its state file was edited or is partial).
    #[error("sandbox {id} has no {what}")]
    Incomplete { id: String, what: &'static str },
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{action} {}: {source}", path.display())]
    File {
        action: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A blocking task (eBPF map reads, observer start) panicked or was cancelled.
    #[error("{action}: {source}")]
    Task {
        action: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
    #[error("cannot render {what}: {source}")]
    Render {
        what: &'static str,
        #[source]
        source: crate::template::TemplateError,
    },
    /// A front-matter variable cannot be given a value in this environment.
    #[error("the lab's `vars`: {0}")]
    LabVars(#[from] crate::lab::vars::VarError),
    #[error("unknown environment `{name}` (known: {known})")]
    UnknownEnv { name: String, known: String },
    #[error("environment `{env}` has no {what}")]
    Unsupported { env: String, what: String },
    #[error("reading {what} on role `{role}`: {source}")]
    Probe {
        role: String,
        what: &'static str,
        #[source]
        source: Box<tplab_probe::ProbeError>,
    },
    #[error("{action}: {source}")]
    Ebpf {
        action: String,
        #[source]
        source: Box<tplab_ebpf::EbpfError>,
    },
    /// The node agent failed (exited, answered out of step) or answered an error.
    #[error("{what}: {message}")]
    Agent { what: String, message: String },
    /// The `kube` environment's cluster could not be used (the message says what to do).
    #[error(transparent)]
    Kube(Box<kube::KubeError>),
    /// A failure shared by several reads of one batch (each read's verdict quotes it).
    #[error("{0}")]
    Batch(String),
    /// What a test's scripted environment was told to fail with.
    #[error("{0}")]
    Scripted(String),
    /// A sandbox setting given on the command line or in the environment is not valid.
    #[error("{0}")]
    BadConfig(String),
    /// A lab's `setup` block failed (the lab's fault or the machine's, never the student's).
    #[error("{what} at line {line} failed: {message}")]
    Lifecycle {
        what: String,
        line: usize,
        message: String,
    },
    /// The machine lacks what the lab `requires` (the message says what to do).
    #[error("{0}")]
    Requirements(String),
    /// A thread could not enter a role's namespace.
    #[error("role `{role}`: {source}")]
    Netns {
        role: String,
        #[source]
        source: Box<tplab_netns::NetnsError>,
    },
    /// A role's namespace was not created (yet).
    #[error("role `{role}`: namespace {name} does not exist (yet)")]
    NoNetns { role: String, name: String },
}

impl EnvError {
    pub fn sandbox(action: impl Into<String>, source: tplab_sandbox::SandboxError) -> Self {
        Self::Sandbox {
            action: action.into(),
            source: Box::new(source),
        }
    }

    pub fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }
}

/// Where to observe packets: an interface of a role, and the label checks and events
/// use for it (`node:eth0`). `lxc` names the pod's veth peer on the node, whatever the
/// environment called it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub role: String,
    pub ifname: String,
    pub label: String,
}

/// Packets seen at the observed hops, as they arrive.
#[async_trait]
pub trait PacketStream: Send {
    /// The next packet, waiting for it; `None` once the observation ended.
    async fn next(&mut self) -> Option<PacketEvent>;
    /// Every packet already seen, without waiting.
    fn drain(&mut self) -> Vec<PacketEvent>;
    /// Packets the kernel could not report (zero: nothing was lost).
    fn lost(&self) -> u64;
    /// Ends the observation; returns the packets still queued.
    async fn stop(self: Box<Self>) -> Vec<PacketEvent>;
}

/// Where a lab runs: the one seam through which the engine and every command reach
/// commands and facts. Everything crosses it as serde types (the JSON of
/// `tplab probe --json` is the wire form a remote node agent answers with), so an
/// environment may compute facts in this process (`local`, `sandbox`) or on a remote
/// node.
#[async_trait]
pub trait Environment: Send + Sync {
    /// `local`, `sandbox`, `kube`.
    fn name(&self) -> &str;
    /// Roles this environment binds.
    fn roles(&self) -> Vec<String>;
    /// Facts exposed to templates (pod IP, gateway...).
    async fn facts(&self) -> Result<BTreeMap<String, String>, EnvError>;
    /// Runs `script` with `sh -c` on `role`, capturing its output, killed after `timeout`.
    async fn exec(
        &self,
        role: &str,
        script: &str,
        timeout: Duration,
    ) -> Result<ExecOutput, EnvError>;
    /// The kernel facts `query` is matched against, read on `role`.
    async fn probe(&self, role: &str, query: &Query) -> Result<Facts, EnvError>;
    /// The facts of several queries, `(role, query)` each, answered in order: what a
    /// remote environment reads in one round trip (default: one `probe` after another).
    async fn probe_batch(&self, queries: &[(String, Query)]) -> Vec<Result<Facts, EnvError>> {
        let mut out = Vec::with_capacity(queries.len());
        for (role, query) in queries {
            out.push(self.probe(role, query).await);
        }
        out
    }
    /// Every read of `fetches` (a step's checks), answered in order: one
    /// [`Environment::probe_batch`] for the kernel facts and one CT map read, shared by
    /// every [`Fetch::DatapathCt`]. An environment that reads its node remotely answers
    /// them all in one round trip.
    async fn fetch_batch(&self, fetches: &[Fetch]) -> Vec<Result<Fetched, EnvError>> {
        let probes: Vec<(String, Query)> = fetches
            .iter()
            .filter_map(|f| match f {
                Fetch::Probe { role, query } => Some((role.clone(), query.clone())),
                Fetch::DatapathCt => None,
            })
            .collect();
        let mut facts = if probes.is_empty() {
            Vec::new()
        } else {
            self.probe_batch(&probes).await
        }
        .into_iter();
        let ct = if fetches.contains(&Fetch::DatapathCt) {
            Some(self.datapath_ct().await.map_err(|e| e.to_string()))
        } else {
            None
        };
        fetches
            .iter()
            .map(|f| match f {
                Fetch::Probe { .. } => facts
                    .next()
                    .unwrap_or_else(|| Err(EnvError::Batch("an answer is missing".into())))
                    .map(Fetched::Facts),
                Fetch::DatapathCt => match &ct {
                    Some(Ok(entries)) => Ok(Fetched::Ct(entries.clone())),
                    Some(Err(message)) => Err(EnvError::Batch(message.clone())),
                    None => Err(EnvError::Batch("an answer is missing".into())),
                },
            })
            .collect()
    }
    /// Sends an HTTP request from `role` (its network namespace), waiting at most
    /// `timeout` for the answer. A server that does not answer is an
    /// [`http::HttpAnswer::NoAnswer`], not an error.
    async fn http(
        &self,
        role: &str,
        request: &http::HttpRequest,
        timeout: Duration,
    ) -> Result<http::HttpAnswer, EnvError> {
        let _ = (role, request, timeout);
        Err(EnvError::Unsupported {
            env: self.name().to_string(),
            what: "way to send HTTP requests from a role yet (`http` checks run on `sandbox` \
                   and `local`; here a `run: curl …` check can ask instead)"
                .into(),
        })
    }
    /// Every fact of `kinds`, read on `role` (`tplab probe`).
    async fn probe_kinds(&self, role: &str, kinds: &[FactKind]) -> Result<Vec<Facts>, EnvError>;
    /// The entries of the environment's eBPF datapath conntrack map.
    async fn datapath_ct(&self) -> Result<Vec<CtEntry>, EnvError> {
        Err(EnvError::Unsupported {
            env: self.name().to_string(),
            what: "an eBPF datapath conntrack map tplab can read".into(),
        })
    }
    /// The entries of node `node`'s datapath conntrack map (1-based; node 1's is
    /// [`Environment::datapath_ct`]'s).
    async fn datapath_ct_on(&self, node: usize) -> Result<Vec<CtEntry>, EnvError> {
        if node <= 1 {
            return self.datapath_ct().await;
        }
        Err(EnvError::Unsupported {
            env: self.name().to_string(),
            what: format!("the conntrack map of node {node}'s datapath"),
        })
    }
    /// The objects `selector` selects in the environment's Kubernetes API, as JSON
    /// (none when a named object does not exist).
    async fn k8s_objects(
        &self,
        selector: &crate::k8s::ObjectSelector,
    ) -> Result<Vec<serde_json::Value>, EnvError> {
        let _ = selector;
        Err(EnvError::Unsupported {
            env: self.name().to_string(),
            what: "Kubernetes API for `k8s` checks".into(),
        })
    }
    /// Starts observing packets at `hops` (first in the hooks' order, the datapath
    /// still runs).
    async fn observe(&self, hops: &[Hop]) -> Result<Box<dyn PacketStream>, EnvError>;
    /// How a student opens a shell on `role` in another terminal.
    fn shell_hint(&self, role: &str) -> String;
    /// What identifies this very environment instance for a later session (sandbox id).
    fn handle(&self) -> Option<String> {
        None
    }
    /// Keep the environment after this process ends (the student quit; they will resume).
    fn keep_alive(&self) {}

    /// The command that removes what [`Environment::keep_alive`] kept (shown on Quit).
    fn removal_hint(&self) -> Option<String> {
        None
    }

    /// Binds lab roles to named network namespaces (`netns` in the front matter,
    /// names rendered): commands and facts of such a role are run and read inside it.
    fn bind_netns(&self, roles: &BTreeMap<String, String>) -> Result<(), EnvError> {
        match roles.keys().next() {
            None => Ok(()),
            Some(role) => Err(EnvError::Unsupported {
                env: self.name().to_string(),
                what: format!(
                    "roles bound to a network namespace (`netns: {{ {role}: … }}`; use `--env local`)"
                ),
            }),
        }
    }

    /// The roles whose kernel state tplab can watch for changes, each with its network
    /// namespace (`None`: this process's own). Empty: changes are found by re-checking.
    fn watchable_netns(&self) -> Vec<(String, Option<std::path::PathBuf>)> {
        Vec::new()
    }

    /// Why `role`'s place does not exist yet (a namespace the student has not created):
    /// a check there *fails* with this text rather than erring. `None`: it exists.
    fn role_missing(&self, role: &str) -> Option<EnvError> {
        let _ = role;
        None
    }

    /// Other instances of this environment up on this machine (other sandboxes): a
    /// student's shell may be in one of them, where their traffic never reaches the
    /// checks. Empty where that cannot happen.
    fn others(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Checks that `role` is one of `env`'s roles.
/// The place of a check's `netns: NAME`, spelled as a role the environment resolves
/// (only `local` knows it: elsewhere it is an unknown role, and lint refuses it).
pub const NETNS_ROLE: &str = "netns:";

pub fn netns_role(name: &str) -> String {
    format!("{NETNS_ROLE}{name}")
}

pub fn ensure_role(env: &dyn Environment, role: &str) -> Result<(), EnvError> {
    let roles = env.roles();
    if roles.iter().any(|r| r == role) {
        Ok(())
    } else {
        Err(EnvError::UnknownRole {
            env: env.name().to_string(),
            role: role.to_string(),
            available: roles.join(", "),
        })
    }
}

/// How a person invokes this very tplab from another terminal: `tplab` when that is
/// what PATH finds, else the binary's full path (e.g. after `cargo run`).
pub fn self_invocation() -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "tplab".into();
    };
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::canonicalize(dir.join("tplab"))
                .is_ok_and(|p| std::fs::canonicalize(&exe).is_ok_and(|e| e == p))
        })
    });
    if on_path {
        "tplab".into()
    } else {
        exe.display().to_string()
    }
}
