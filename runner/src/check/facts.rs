//! Fact-based kinds: kernel facts read in the role's network namespace (`route`,
//! `neighbour`, `link`, `address`, `bpf_attached`, `conntrack`), packets seen by the
//! eBPF observer (`packets`) and the sandbox datapath's CT map (`bpf_map`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tplab_probe::Query;
use tplab_vocab::Lang;

use super::outcome::{Outcome, Verdict};
use crate::env::{Environment, Hop};
use crate::lab::kinds::{EbpfKind, FactQuery, Trigger};

/// Evaluates a fact check's typed query once on `role` (the caller parsed it, after
/// rendering its variables, once per evaluation); a request it makes waits `limit`.
pub async fn evaluate(
    env: &dyn Environment,
    role: &str,
    query: &FactQuery,
    capture: &BTreeMap<String, String>,
    limit: Duration,
    lang: Lang,
) -> Outcome {
    let (mut outcome, kind) = match query {
        FactQuery::Http(q) => (
            super::http::evaluate(env, role, q, limit, lang).await,
            crate::lab::http::KIND,
        ),
        FactQuery::Packets { path, trigger } => (
            packets(env, role, path, trigger.as_ref(), capture, lang).await,
            EbpfKind::Packets.name(),
        ),
        FactQuery::BpfMap(q) => (bpf_map(env, role, q, lang).await, EbpfKind::BpfMap.name()),
        FactQuery::Probe(q) => (probe(env, role, q, lang).await, q.kind_name()),
        FactQuery::K8s(q) => (
            super::k8s::evaluate(env, q, capture, lang).await,
            crate::k8s::KIND,
        ),
        FactQuery::Count { query, is } => (
            super::count::evaluate(env, role, query, *is, lang).await,
            crate::lab::kinds::COUNT,
        ),
    };
    if outcome.passed()
        && let Some(record) = outcome.evidence.get("record").cloned()
    {
        for (var, field) in capture {
            match record.get(field) {
                Some(v) if !v.is_null() => {
                    outcome.captures.insert(var.clone(), scalar_text(v));
                }
                _ => {
                    return Outcome::error(match lang {
                        Lang::En => {
                            format!("the matched {kind} has no `{field}` to capture into {var}")
                        }
                        Lang::Fr => format!(
                            "l’objet trouvé ({kind}) n’a pas de champ `{field}` à capturer dans {var}"
                        ),
                    });
                }
            }
        }
    }
    outcome
}

/// Text of a JSON scalar (lists joined with commas).
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(scalar_text).collect::<Vec<_>>().join(","),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

async fn probe(env: &dyn Environment, role: &str, query: &Query, lang: Lang) -> Outcome {
    let kind = query.kind_name();
    // The student has not created this role's namespace yet: their miss, not tplab's.
    if let Some(why) = env.role_missing(role) {
        let on = lang.pick("on", "sur");
        let expected = format!("{} ({on} {role})", query.describe_in(lang));
        return Outcome::fail(expected, why.message_in(lang))
            .with_evidence(json!({ "role": role, "kind": kind }));
    }
    let facts = match env.probe(role, query).await {
        Ok(f) => f,
        Err(e) => return Outcome::error(e.message_in(lang)),
    };
    let mut outcome = tplab_probe::evaluate_in(query, &facts, lang);
    match outcome.verdict {
        Verdict::Pass => {
            let record = outcome.evidence.get("record").cloned().unwrap_or(Value::Null);
            outcome.expected = format!("{} ({} {role})", outcome.expected, lang.pick("on", "sur"));
            outcome.evidence =
                json!({ "role": role, "kind": kind, "record": record, "summary": outcome.found });
            outcome
        }
        Verdict::Fail => outcome
            .with_evidence(json!({ "role": role, "kind": kind, "facts": facts.records().into_iter().take(20).collect::<Vec<_>>() })),
        Verdict::Error => outcome,
    }
}

/// The CT map of the node `role` names (`node2`, `agent2`…; node 1 otherwise).
async fn bpf_map(
    env: &dyn Environment,
    role: &str,
    query: &tplab_ebpf::check::CtQuery,
    lang: Lang,
) -> Outcome {
    let node = crate::env::sandbox_agents::node_of_role(role);
    let entries = match env.datapath_ct_on(node).await {
        Ok(entries) => entries,
        Err(e) => return Outcome::error(e.message_in(lang)),
    };
    match tplab_ebpf::check::find_ct_entry_in(query, &entries, lang) {
        Ok(entry) => {
            let line = tplab_ebpf::cilium::format_ct_entry(entry);
            let record = serde_json::to_value(entry).unwrap_or(Value::Null);
            let expected = lang.pick(
                "a CT map entry for the flow",
                "une entrée de la map CT pour ce flux",
            );
            Outcome::pass(expected, line.clone()).with_evidence(
                json!({ "kind": EbpfKind::BpfMap.name(), "record": record, "summary": line }),
            )
        }
        Err(found) => {
            let flow = format!(
                "{} {} -> {}",
                query.proto.cilium_name(),
                query.src.map_or("*".into(), |a| a.to_string()),
                query.dst.map_or("*".into(), |a| a.to_string())
            );
            Outcome::fail(
                lang.pick(
                    format!("an entry in the sandbox's CT map for {flow}"),
                    format!("une entrée de la map CT du sandbox pour {flow}"),
                ),
                found,
            )
        }
    }
}

async fn packets(
    env: &dyn Environment,
    default_role: &str,
    query: &tplab_ebpf::check::PathQuery,
    trigger: Option<&Trigger>,
    capture: &BTreeMap<String, String>,
    lang: Lang,
) -> Outcome {
    // Observation points from the hops: `role:ifname`.
    let mut hops: Vec<Hop> = Vec::new();
    for hop in &query.path {
        let Some((role, ifname)) = hop.at.split_once(':') else {
            return Outcome::error(match lang {
                Lang::En => format!(
                    "hop `{}`: expected `role:interface`, e.g. `node:eth0`",
                    hop.at
                ),
                Lang::Fr => format!(
                    "passage `{}`\u{202f}: `rôle:interface` attendu, par exemple `node:eth0`",
                    hop.at
                ),
            });
        };
        if !hops.iter().any(|h| h.label == hop.at) {
            hops.push(Hop {
                role: role.to_string(),
                ifname: ifname.to_string(),
                label: hop.at.clone(),
            });
        }
    }
    let mut stream = match env.observe(&hops).await {
        Ok(s) => s,
        Err(e) => return Outcome::error(e.message_in(lang)),
    };
    let mut watch = tplab_ebpf::check::PathWatch::new(query).lang(lang);
    if let Some(t) = trigger {
        let role = t.target.as_deref().unwrap_or(default_role);
        if let Err(e) = env
            .exec(role, &t.run, query.within + Duration::from_secs(5))
            .await
        {
            drop(stream.stop().await);
            return Outcome::error(format!(
                "{}{} {e}",
                lang.pick("sending the traffic", "envoi du trafic"),
                lang.colon()
            ));
        }
    }
    // Event-driven: wake on each packet, stop as soon as the path is seen or the
    // window closes.
    let mut passed = watch.feed(stream.drain());
    while !passed {
        let deadline = tokio::time::Instant::from_std(watch.deadline());
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(ev)) => {
                let mut batch = vec![ev];
                batch.extend(stream.drain());
                passed = watch.feed(batch);
            }
            Ok(None) | Err(_) => break,
        }
    }
    let (mut outcome, events) = watch.finish(stream.stop().await);
    if outcome.passed() {
        for (var, field) in capture {
            match tplab_ebpf::check::captured(query, &outcome, field) {
                Ok(value) => {
                    outcome.captures.insert(var.clone(), value);
                }
                Err(e) => return Outcome::error(format!("capturing {var}: {e}")),
            }
        }
    }
    let trace: Vec<String> = events
        .iter()
        .take(50)
        .map(tplab_ebpf::describe_hop)
        .collect();
    // The report keeps the path's verdict and hops as `outcome` (and the failure as
    // its `message`), beside the trace.
    let hops = outcome.evidence.get("hops").cloned().unwrap_or(json!([]));
    let path = if outcome.passed() {
        json!({ "verdict": outcome.verdict, "evidence": hops })
    } else {
        json!({ "verdict": outcome.verdict, "message": outcome.found, "evidence": hops })
    };
    let evidence = json!({ "kind": EbpfKind::Packets.name(), "outcome": path, "trace": trace });
    outcome.with_evidence(evidence)
}
