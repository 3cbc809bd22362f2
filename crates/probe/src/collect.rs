//! Entry points: collect facts of a netns on a dedicated OS thread (setns + a netlink
//! socket created there), never on a tokio worker.

use std::path::{Path, PathBuf};

use crate::bpf::BpfScope;
use crate::conntrack::{ConntrackEntry, ConntrackSource};
use crate::error::{ProbeError, ns_label};
use crate::facts::{FactKind, Facts};
use crate::query::{Matcher, Query};
use crate::session::Session;
use crate::{addrs, bpf, conntrack, neigh, routes};

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

enum Job {
    Kind(FactKind),
    Bpf(BpfScope),
}

impl Job {
    fn for_query(query: &Query) -> Job {
        let Query::BpfAttached(q) = query else {
            return Job::Kind(query.fact_kind());
        };
        let plain = |m: &Option<Matcher>| m.as_ref().and_then(Matcher::plain);
        Job::Bpf(BpfScope {
            dev: plain(&q.dev),
            require_tcx: !q.absent
                && plain(&q.attach).is_some_and(|a| a.eq_ignore_ascii_case("tcx")),
        })
    }

    async fn run(self, s: &mut Session) -> Result<Facts, ProbeError> {
        match self {
            Job::Kind(kind) => collect_in(s, kind).await,
            Job::Bpf(scope) => {
                let mut progs = bpf::collect(s, &scope).await?;
                if progs.is_empty() && scope.dev.is_some() {
                    let all = BpfScope { dev: None, ..scope };
                    progs = bpf::collect(s, &all).await?;
                }
                Ok(Facts::Bpf(progs))
            }
        }
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
    Ok(match kind {
        FactKind::Links => Facts::Links(s.links().await?.to_vec()),
        FactKind::Addresses => Facts::Addresses(addrs::collect(s).await?),
        FactKind::Routes => Facts::Routes(routes::collect(s).await?),
        FactKind::Neighbours => Facts::Neighbours(neigh::collect(s).await?),
        FactKind::Bpf => Facts::Bpf(bpf::collect(s, &BpfScope::default()).await?),
        FactKind::Conntrack => {
            Facts::Conntrack(conntrack::collect(&s.netns, ConntrackSource::Auto)?)
        }
    })
}

fn unreachable_empty(kind: FactKind) -> ProbeError {
    ProbeError::Decode {
        netns: String::new(),
        action: format!("collecting {kind}"),
        detail: "no result returned".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(yaml: &str) -> Option<BpfScope> {
        let q: Query = serde_yaml::from_str(yaml).unwrap();
        match Job::for_query(&q) {
            Job::Bpf(s) => Some(s),
            Job::Kind(_) => None,
        }
    }

    #[test]
    fn bpf_checks_are_scoped() {
        assert_eq!(
            scope("bpf_attached: {dev: lxc1, attach: TCX}"),
            Some(BpfScope {
                dev: Some("lxc1".into()),
                require_tcx: true
            })
        );
        // A regex on dev cannot narrow the dump; an absent TCX program needs no TCX support.
        assert_eq!(
            scope("bpf_attached: {dev: {regex: '^lxc'}}"),
            Some(BpfScope::default())
        );
        assert_eq!(
            scope("bpf_attached: {attach: tcx, absent: true}"),
            Some(BpfScope::default())
        );
        assert_eq!(scope("route: {dst: default}"), None);
    }
}
