//! A test double of [`Environment`]: scripted facts, command results and packets, and
//! every call recorded, so the engine's behaviour (polling, captures, the three
//! verdicts, skips) is tested without root or a kernel, as mdBook's spy preprocessor
//! and kube-rs's mock tier do.
//!
//! Each scripted answer is a queue: a call takes the next answer and the last one
//! repeats, so "fails twice, then passes" is three answers.
//!
//! ```
//! # async fn demo() {
//! use tplab::env::spy::SpyEnv;
//! use tplab::env::Environment as _;
//! let env = SpyEnv::new("sandbox")
//!     .role("pod")
//!     .fact("pod_ip", "10.244.0.213")
//!     .on_exec("ping", [SpyEnv::exited(1, ""), SpyEnv::exited(0, "1 received")]);
//! let first = env.exec("pod", "ping -c1 x", std::time::Duration::from_secs(1)).await;
//! assert_eq!(first.unwrap().status, Some(1));
//! # }
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tplab_ebpf::{CtEntry, PacketEvent};
use tplab_probe::{FactKind, Facts, Query};

use super::{EnvError, Environment, ExecOutput, Hop, PacketStream, ensure_role};

/// One call the engine made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Facts,
    Exec {
        role: String,
        script: String,
    },
    Probe {
        role: String,
        kind: FactKind,
    },
    /// One batch of kernel-fact reads (a step's), `(role, kind)` each.
    ProbeBatch {
        queries: Vec<(String, FactKind)>,
    },
    ProbeKinds {
        role: String,
        kinds: Vec<FactKind>,
    },
    DatapathCt,
    K8s {
        objects: String,
    },
    Observe {
        hops: Vec<String>,
    },
}

/// Answers taken in order; the last one repeats.
#[derive(Debug)]
struct Answers<T>(VecDeque<T>);

impl<T: Clone> Answers<T> {
    fn next(&mut self) -> Option<T> {
        if self.0.len() > 1 {
            self.0.pop_front()
        } else {
            self.0.front().cloned()
        }
    }
}

type Scripted<T> = Result<T, String>;
/// Facts answers for one `(role, kind)`.
type ProbeScript = ((String, FactKind), Answers<Scripted<Facts>>);

#[derive(Debug, Default)]
struct Script {
    exec: Vec<(String, Answers<Scripted<ExecOutput>>)>,
    probe: Vec<ProbeScript>,
    ct: Option<Answers<Scripted<Vec<CtEntry>>>>,
    packets: Option<Answers<Scripted<Vec<PacketEvent>>>>,
    k8s: Option<Answers<Scripted<Vec<serde_json::Value>>>>,
}

/// The test double. Build it with the chained setters, then hand it to a session.
#[derive(Debug)]
pub struct SpyEnv {
    name: String,
    roles: Vec<String>,
    facts: BTreeMap<String, String>,
    script: Mutex<Script>,
    calls: Mutex<Vec<Call>>,
}

impl SpyEnv {
    /// An environment named like a real one (`sandbox`, `local`...), with no role yet.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            roles: Vec::new(),
            facts: BTreeMap::new(),
            script: Mutex::new(Script::default()),
            calls: Mutex::new(Vec::new()),
        }
    }

    #[must_use]
    pub fn role(mut self, role: &str) -> Self {
        self.roles.push(role.to_string());
        self
    }

    #[must_use]
    pub fn fact(mut self, name: &str, value: &str) -> Self {
        self.facts.insert(name.to_string(), value.to_string());
        self
    }

    /// Answers for commands whose script contains `needle` (first match wins).
    #[must_use]
    pub fn on_exec(
        self,
        needle: &str,
        answers: impl IntoIterator<Item = Scripted<ExecOutput>>,
    ) -> Self {
        self.lock_script()
            .exec
            .push((needle.to_string(), Answers(answers.into_iter().collect())));
        self
    }

    /// Answers for kernel facts of `kind` read on `role`.
    #[must_use]
    pub fn on_probe(
        self,
        role: &str,
        kind: FactKind,
        answers: impl IntoIterator<Item = Scripted<Facts>>,
    ) -> Self {
        self.lock_script().probe.push((
            (role.to_string(), kind),
            Answers(answers.into_iter().collect()),
        ));
        self
    }

    /// Answers for the datapath's CT map.
    #[must_use]
    pub fn on_datapath_ct(self, answers: impl IntoIterator<Item = Scripted<Vec<CtEntry>>>) -> Self {
        self.lock_script().ct = Some(Answers(answers.into_iter().collect()));
        self
    }

    /// Objects each `k8s` lookup returns (whatever it selects).
    #[must_use]
    pub fn on_k8s(
        self,
        answers: impl IntoIterator<Item = Scripted<Vec<serde_json::Value>>>,
    ) -> Self {
        self.lock_script().k8s = Some(Answers(answers.into_iter().collect()));
        self
    }

    /// Packets each observation sees (all at once, as soon as it starts).
    #[must_use]
    pub fn on_observe(self, answers: impl IntoIterator<Item = Scripted<Vec<PacketEvent>>>) -> Self {
        self.lock_script().packets = Some(Answers(answers.into_iter().collect()));
        self
    }

    /// A command result.
    pub fn exited(status: i32, stdout: &str) -> Scripted<ExecOutput> {
        Ok(ExecOutput {
            status: Some(status),
            stdout: stdout.to_string(),
            stderr: String::new(),
            timed_out: false,
            duration: Duration::ZERO,
        })
    }

    /// Every call made so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn record(&self, call: Call) {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(call);
    }

    fn lock_script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn scripted_probe(&self, role: &str, kind: FactKind) -> Result<Facts, EnvError> {
        let answer = self
            .lock_script()
            .probe
            .iter_mut()
            .find(|((r, k), _)| r == role && *k == kind)
            .and_then(|(_, a)| a.next());
        scripted(answer, || Self::unscripted(&format!("{kind} on {role}")))
    }

    fn unscripted(what: &str) -> EnvError {
        EnvError::Scripted(format!("spy environment: nothing scripted for {what}"))
    }
}

fn scripted<T>(
    answer: Option<Scripted<T>>,
    missing: impl FnOnce() -> EnvError,
) -> Result<T, EnvError> {
    match answer {
        Some(Ok(v)) => Ok(v),
        Some(Err(message)) => Err(EnvError::Scripted(message)),
        None => Err(missing()),
    }
}

#[async_trait]
impl Environment for SpyEnv {
    fn name(&self) -> &str {
        &self.name
    }

    fn roles(&self) -> Vec<String> {
        self.roles.clone()
    }

    async fn facts(&self) -> Result<BTreeMap<String, String>, EnvError> {
        self.record(Call::Facts);
        Ok(self.facts.clone())
    }

    async fn exec(
        &self,
        role: &str,
        script: &str,
        _timeout: Duration,
    ) -> Result<ExecOutput, EnvError> {
        ensure_role(self, role)?;
        self.record(Call::Exec {
            role: role.to_string(),
            script: script.to_string(),
        });
        let answer = self
            .lock_script()
            .exec
            .iter_mut()
            .find(|(needle, _)| script.contains(needle.as_str()))
            .and_then(|(_, a)| a.next());
        scripted(answer, || Self::unscripted(&format!("`{script}`")))
    }

    async fn probe(&self, role: &str, query: &Query) -> Result<Facts, EnvError> {
        ensure_role(self, role)?;
        let kind = query.fact_kind();
        self.record(Call::Probe {
            role: role.to_string(),
            kind,
        });
        self.scripted_probe(role, kind)
    }

    async fn probe_batch(&self, queries: &[(String, Query)]) -> Vec<Result<Facts, EnvError>> {
        self.record(Call::ProbeBatch {
            queries: queries
                .iter()
                .map(|(role, q)| (role.clone(), q.fact_kind()))
                .collect(),
        });
        queries
            .iter()
            .map(|(role, q)| {
                ensure_role(self, role)?;
                self.scripted_probe(role, q.fact_kind())
            })
            .collect()
    }

    async fn probe_kinds(&self, role: &str, kinds: &[FactKind]) -> Result<Vec<Facts>, EnvError> {
        ensure_role(self, role)?;
        self.record(Call::ProbeKinds {
            role: role.to_string(),
            kinds: kinds.to_vec(),
        });
        let mut script = self.lock_script();
        kinds
            .iter()
            .map(|kind| {
                let answer = script
                    .probe
                    .iter_mut()
                    .find(|((r, k), _)| r == role && k == kind)
                    .and_then(|(_, a)| a.next());
                scripted(answer, || Self::unscripted(&format!("{kind} on {role}")))
            })
            .collect()
    }

    async fn datapath_ct(&self) -> Result<Vec<CtEntry>, EnvError> {
        self.record(Call::DatapathCt);
        let answer = self.lock_script().ct.as_mut().and_then(Answers::next);
        scripted(answer, || Self::unscripted("the datapath's CT map"))
    }

    async fn k8s_objects(
        &self,
        selector: &crate::k8s::ObjectSelector,
    ) -> Result<Vec<serde_json::Value>, EnvError> {
        self.record(Call::K8s {
            objects: selector.to_string(),
        });
        let answer = self.lock_script().k8s.as_mut().and_then(Answers::next);
        scripted(answer, || Self::unscripted("Kubernetes objects"))
    }

    async fn observe(&self, hops: &[Hop]) -> Result<Box<dyn PacketStream>, EnvError> {
        for hop in hops {
            ensure_role(self, &hop.role)?;
        }
        self.record(Call::Observe {
            hops: hops.iter().map(|h| h.label.clone()).collect(),
        });
        let answer = self.lock_script().packets.as_mut().and_then(Answers::next);
        let events = scripted(answer, || Self::unscripted("packets"))?;
        Ok(Box::new(Replay(events.into())))
    }

    fn shell_hint(&self, role: &str) -> String {
        format!("`spy shell {role}`")
    }
}

/// Scripted packets, all available at once; then the stream ends.
struct Replay(VecDeque<PacketEvent>);

#[async_trait]
impl PacketStream for Replay {
    async fn next(&mut self) -> Option<PacketEvent> {
        self.0.pop_front()
    }

    fn drain(&mut self) -> Vec<PacketEvent> {
        self.0.drain(..).collect()
    }

    fn lost(&self) -> u64 {
        0
    }

    async fn stop(mut self: Box<Self>) -> Vec<PacketEvent> {
        self.drain()
    }
}
