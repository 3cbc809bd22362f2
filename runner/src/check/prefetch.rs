//! A step's reads asked in one batch: when a step's checks are evaluated, the kernel
//! facts and CT map entries of the read-only checks that follow one another are
//! fetched with one [`Environment::fetch_batch`] (one round trip for a node agent),
//! then each check is judged from its own answers. A polling check's first attempt
//! uses the batch; its later attempts read live, as before.
//!
//! A batch never reaches past a check that may change the machine (a command, a
//! transcript, a packet observation and its traffic): the reads after it are fetched
//! when the engine gets there, after it ran. A check whose template needs a value an
//! earlier check of the same step captures is left out and fetched when it is reached
//! (with the rest of the run), once the capture is known.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tplab_ebpf::CtEntry;
use tplab_probe::{FactKind, Facts, Query};

use crate::env::{EnvError, Environment, ExecOutput, Fetch, Fetched, Hop, PacketStream};
use crate::lab::CheckItem;
use crate::lab::checks::KindSpec;
use crate::lab::kinds::{EbpfKind, FactQuery};
use crate::template::Vars;

/// Answers older than this are not used: the machine may have changed since (a long
/// polling check ran in between).
pub const MAX_AGE: Duration = Duration::from_secs(2);

/// What evaluating a check does to the machine, as far as batching goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Reads {
    /// It only reads; these are its reads (none for a `k8s` check, which asks the API).
    Only(Vec<Fetch>),
    /// It may change the machine (commands, traffic) or wait for it: no batch crosses it.
    Barrier,
    /// It cannot be rendered yet (a value a check before it captures), or is not
    /// evaluated (a question): neither batched nor a barrier.
    Later,
}

/// What check `item` reads, rendered with `vars`.
pub fn reads_of(item: &CheckItem, default_role: &str, vars: &Vars) -> Reads {
    match item.spec.kind() {
        Some(KindSpec::Fact { kind, .. }) if kind == crate::k8s::KIND => {
            return Reads::Only(Vec::new());
        }
        Some(KindSpec::Fact { kind, .. }) if kind != EbpfKind::Packets.name() => {}
        Some(_) => return Reads::Barrier,
        None => return Reads::Later,
    }
    let Ok(prepared) = super::eval::prepare(item, vars) else {
        return Reads::Later;
    };
    let role = super::eval::role_of(&prepared.spec, default_role);
    match prepared.fact {
        Some(FactQuery::Probe(query) | FactQuery::Count { query, .. }) => {
            Reads::Only(vec![Fetch::Probe { role, query }])
        }
        // Another node's map is read by the check itself (the batch reads node 1's).
        Some(FactQuery::BpfMap(_)) if crate::env::sandbox_agents::node_of_role(&role) > 1 => {
            Reads::Only(Vec::new())
        }
        Some(FactQuery::BpfMap(_)) => Reads::Only(vec![Fetch::DatapathCt]),
        Some(FactQuery::K8s(_)) => Reads::Only(Vec::new()),
        // A request reaches a server the student runs: it may change what it serves.
        Some(FactQuery::Packets { .. } | FactQuery::Http(_)) => Reads::Barrier,
        None => Reads::Later,
    }
}

/// The answers of a step's batches, each to be used once.
#[derive(Debug)]
pub struct StepFacts {
    step: usize,
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    fetch: Fetch,
    at: Instant,
    /// `None` once used.
    answer: Option<Result<Fetched, String>>,
}

impl Entry {
    fn usable(&self, fetch: &Fetch) -> bool {
        self.answer.is_some() && self.at.elapsed() < MAX_AGE && self.fetch == *fetch
    }
}

impl StepFacts {
    /// Asks `fetches` of `env` in one batch (each distinct read once on the wire; a
    /// read two checks share is answered to each).
    pub async fn fetch(env: &dyn Environment, step: usize, fetches: Vec<Fetch>) -> Self {
        let mut unique: Vec<Fetch> = Vec::new();
        for f in &fetches {
            if !unique.contains(f) {
                unique.push(f.clone());
            }
        }
        let at = Instant::now();
        let answers: Vec<Result<Fetched, String>> = env
            .fetch_batch(&unique)
            .await
            .into_iter()
            .map(|a| a.map_err(|e| e.to_string()))
            .collect();
        let entries = fetches
            .into_iter()
            .map(|f| {
                let answer = unique
                    .iter()
                    .position(|u| *u == f)
                    .and_then(|i| answers.get(i).cloned())
                    .unwrap_or_else(|| Err("the batch lost this answer".into()));
                Entry {
                    fetch: f,
                    at,
                    answer: Some(answer),
                }
            })
            .collect();
        Self { step, entries }
    }

    /// True when every read of `fetches` is answered here, fresh and not used yet.
    pub fn holds(&self, step: usize, fetches: &[Fetch]) -> bool {
        self.step == step
            && fetches
                .iter()
                .all(|f| self.entries.iter().any(|e| e.usable(f)))
    }

    /// The answer to `fetch`, used up (`None`: not in the batch, used, or stale).
    fn take(&mut self, fetch: &Fetch) -> Option<Result<Fetched, String>> {
        self.entries
            .iter_mut()
            .find(|e| e.usable(fetch))
            .and_then(|e| e.answer.take())
    }

    /// Keeps `older`'s answers still usable for this step (a later batch of the step
    /// does not ask them again).
    fn keep(&mut self, older: StepFacts) {
        if older.step == self.step {
            self.entries.extend(
                older
                    .entries
                    .into_iter()
                    .filter(|e| e.answer.is_some() && e.at.elapsed() < MAX_AGE),
            );
        }
    }
}

/// The session's current batch (none between steps, or after a command ran).
pub type Shared = Mutex<Option<StepFacts>>;

/// Drops the current batch: the machine may have changed.
pub fn forget(shared: &Shared) {
    *lock(shared) = None;
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Option<StepFacts>> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Makes sure `mine` (one check's reads) is prefetched: when the current batch does not
/// hold it, asks a new one for `mine` and `rest` (the reads of the checks after it).
pub async fn ensure(
    env: &dyn Environment,
    shared: &Shared,
    step: usize,
    mine: &[Fetch],
    rest: impl FnOnce() -> Vec<Fetch>,
) {
    if mine.is_empty() || lock(shared).as_ref().is_some_and(|f| f.holds(step, mine)) {
        return;
    }
    let mut all = mine.to_vec();
    {
        // Reads an earlier batch of this step still holds are not asked again.
        let held = lock(shared);
        all.extend(rest().into_iter().filter(|f| {
            held.as_ref()
                .is_none_or(|h| !h.holds(step, std::slice::from_ref(f)))
        }));
    }
    let mut facts = StepFacts::fetch(env, step, all).await;
    let mut held = lock(shared);
    if let Some(older) = held.take() {
        facts.keep(older);
    }
    *held = Some(facts);
}

/// The environment one check is evaluated against: its reads answered from the batch
/// (once each), everything else — and every later attempt — from `inner`.
pub struct Prefetched<'a> {
    inner: &'a dyn Environment,
    shared: &'a Shared,
    /// The reads this check may still take from the batch.
    mine: Mutex<Vec<Fetch>>,
}

impl<'a> Prefetched<'a> {
    pub fn new(inner: &'a dyn Environment, shared: &'a Shared, mine: Vec<Fetch>) -> Self {
        Self {
            inner,
            shared,
            mine: Mutex::new(mine),
        }
    }

    fn take(&self, fetch: &Fetch) -> Option<Result<Fetched, String>> {
        let mut mine = self
            .mine
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let i = mine.iter().position(|f| f == fetch)?;
        mine.remove(i);
        lock(self.shared).as_mut()?.take(fetch)
    }
}

#[async_trait]
impl Environment for Prefetched<'_> {
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
        let fetch = Fetch::Probe {
            role: role.to_string(),
            query: query.clone(),
        };
        match self.take(&fetch) {
            Some(Ok(Fetched::Facts(f))) => Ok(f),
            Some(Err(message)) => Err(EnvError::Batch(message)),
            Some(Ok(Fetched::Ct(_))) | None => self.inner.probe(role, query).await,
        }
    }

    async fn probe_batch(&self, queries: &[(String, Query)]) -> Vec<Result<Facts, EnvError>> {
        self.inner.probe_batch(queries).await
    }

    async fn fetch_batch(&self, fetches: &[Fetch]) -> Vec<Result<Fetched, EnvError>> {
        self.inner.fetch_batch(fetches).await
    }

    async fn http(
        &self,
        role: &str,
        request: &crate::env::http::HttpRequest,
        timeout: Duration,
    ) -> Result<crate::env::http::HttpAnswer, EnvError> {
        self.inner.http(role, request, timeout).await
    }

    async fn probe_kinds(&self, role: &str, kinds: &[FactKind]) -> Result<Vec<Facts>, EnvError> {
        self.inner.probe_kinds(role, kinds).await
    }

    async fn datapath_ct_on(&self, node: usize) -> Result<Vec<CtEntry>, EnvError> {
        if node <= 1 {
            return self.datapath_ct().await;
        }
        self.inner.datapath_ct_on(node).await
    }

    async fn datapath_ct(&self) -> Result<Vec<CtEntry>, EnvError> {
        match self.take(&Fetch::DatapathCt) {
            Some(Ok(Fetched::Ct(entries))) => Ok(entries),
            Some(Err(message)) => Err(EnvError::Batch(message)),
            Some(Ok(Fetched::Facts(_))) | None => self.inner.datapath_ct().await,
        }
    }

    async fn k8s_objects(
        &self,
        selector: &crate::k8s::ObjectSelector,
    ) -> Result<Vec<serde_json::Value>, EnvError> {
        self.inner.k8s_objects(selector).await
    }

    async fn observe(&self, hops: &[Hop]) -> Result<Box<dyn PacketStream>, EnvError> {
        self.inner.observe(hops).await
    }

    fn shell_hint(&self, role: &str) -> String {
        self.inner.shell_hint(role)
    }

    fn role_missing(&self, role: &str) -> Option<crate::env::EnvError> {
        self.inner.role_missing(role)
    }

    fn handle(&self) -> Option<String> {
        self.inner.handle()
    }
}
