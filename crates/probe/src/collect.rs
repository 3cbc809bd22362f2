//! Entry points: collect facts of a netns on a dedicated OS thread (setns + a netlink
//! socket created there), never on a tokio worker.

use std::path::{Path, PathBuf};

use crate::conntrack;
use crate::conntrack::{ConntrackEntry, ConntrackSource};
use crate::error::{ProbeError, ns_label};
use crate::facts::{FactKind, Facts};
use crate::query::Query;
use crate::session::Session;

/// Collects one kind of facts in `ns` (`None` = the caller's netns).
pub async fn collect(ns: Option<PathBuf>, kind: FactKind) -> Result<Facts, ProbeError> {
    let mut v = collect_many(ns, &[kind]).await?;
    v.pop().ok_or_else(|| unreachable_empty(kind))
}

/// Collects several kinds on ONE thread and ONE route socket (links dumped once).
/// The result has one entry per requested kind, in order.
pub async fn collect_many(
    ns: Option<PathBuf>,
    kinds: &[FactKind],
) -> Result<Vec<Facts>, ProbeError> {
    let label = ns_label(ns.as_deref());
    let kinds = kinds.to_vec();
    let label2 = label.clone();
    tplab_netns::block_on_in(ns, move || run(label2, kinds))
        .await
        .map_err(|e| ProbeError::from_netns(&label, e))?
}

/// Blocking form of [`collect_many`] for callers outside any async runtime (CLI, agent).
pub fn collect_many_sync(ns: Option<&Path>, kinds: &[FactKind]) -> Result<Vec<Facts>, ProbeError> {
    let label = ns_label(ns);
    let kinds = kinds.to_vec();
    let label2 = label.clone();
    tplab_netns::block_on_in_sync(ns, move || run(label2, kinds))
        .map_err(|e| ProbeError::from_netns(&label, e))?
}

/// Conntrack entries of `ns` from a chosen source (the fact kind uses `Auto`).
pub fn collect_conntrack_sync(
    ns: Option<&Path>,
    source: ConntrackSource,
) -> Result<Vec<ConntrackEntry>, ProbeError> {
    let label = ns_label(ns);
    let label2 = label.clone();
    tplab_netns::run_in(ns, move || conntrack::collect(&label2, source))
        .map_err(|e| ProbeError::from_netns(&label, e))?
}

/// Collects what `query` needs, and only that: a `bpf_attached` check naming one `dev`
/// queries that interface alone (the whole namespace is listed again if nothing is
/// found, so a failure still shows what exists), and one requiring `attach: tcx` errors
/// on kernels without TCX instead of reporting "nothing attached".
pub async fn collect_for(ns: Option<PathBuf>, query: &Query) -> Result<Facts, ProbeError> {
    let label = ns_label(ns.as_deref());
    let label2 = label.clone();
    let job = Job::for_query(query);
    tplab_netns::block_on_in(ns, move || async move {
        let mut s = Session::open(label2)?;
        job.run(&mut s).await
    })
    .await
    .map_err(|e| ProbeError::from_netns(&label, e))?
}

/// Blocking form of [`collect_for`].
pub fn collect_for_sync(ns: Option<&Path>, query: &Query) -> Result<Facts, ProbeError> {
    let label = ns_label(ns);
    let label2 = label.clone();
    let job = Job::for_query(query);
    tplab_netns::block_on_in_sync(ns, move || async move {
        let mut s = Session::open(label2)?;
        job.run(&mut s).await
    })
    .map_err(|e| ProbeError::from_netns(&label, e))?
}

/// What `collect_for` runs: the kind's collector, narrowed by the query.
struct Job(Query);

impl Job {
    fn for_query(query: &Query) -> Job {
        Job(query.clone())
    }

    async fn run(self, s: &mut Session) -> Result<Facts, ProbeError> {
        crate::kinds::collect_kind(s, self.0.fact_kind(), Some(&self.0)).await
    }
}

async fn run(label: String, kinds: Vec<FactKind>) -> Result<Vec<Facts>, ProbeError> {
    let mut s = Session::open(label)?;
    let mut out = Vec::with_capacity(kinds.len());
    for kind in kinds {
        out.push(collect_in(&mut s, kind).await?);
    }
    Ok(out)
}

async fn collect_in(s: &mut Session, kind: FactKind) -> Result<Facts, ProbeError> {
    crate::kinds::collect_kind(s, kind, None).await
}

fn unreachable_empty(kind: FactKind) -> ProbeError {
    ProbeError::Decode {
        netns: String::new(),
        action: format!("collecting {kind}"),
        detail: "no result returned".into(),
    }
}
