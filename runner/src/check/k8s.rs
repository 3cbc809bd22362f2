//! Evaluating a `k8s` check: the objects the environment's cluster API returns, the
//! first one holding every field passes (captures read field paths of it).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use tplab_vocab::Lang;

use super::outcome::Outcome;
use crate::env::Environment;
use crate::k8s::{FieldPath, K8sQuery, KIND};

/// Evaluates a `k8s` check once; `capture` names field paths of the matched object.
pub async fn evaluate(
    env: &dyn Environment,
    query: &K8sQuery,
    capture: &BTreeMap<String, String>,
    lang: Lang,
) -> Outcome {
    let objects = match env.k8s_objects(&query.objects).await {
        Ok(o) => o,
        Err(e) => return Outcome::error(e.message_in(lang)),
    };
    let mut captured = Vec::new();
    for field in capture.values() {
        match FieldPath::parse(field) {
            Ok(p) => captured.push(p),
            Err(e) => return Outcome::error(format!("capture: {e}")),
        }
    }
    let expected = query.expected_in(lang);
    let matching: Vec<&Value> = objects.iter().filter(|o| query.matches(o)).collect();
    match (query.absent, matching.first()) {
        (true, None) => Outcome::pass(expected, describe_none(query, &objects, lang))
            .with_evidence(json!({ "kind": KIND, "objects": objects.len() })),
        (true, Some(found)) => Outcome::fail(
            expected,
            format!(
                "{} {}",
                lang.pick("found", "trouvé"),
                show(query, found, lang)
            ),
        )
        .with_evidence(json!({ "kind": KIND, "object": name_of(found) })),
        (false, Some(found)) => {
            let mut record = Map::new();
            for path in query.fields.iter().map(|(p, _)| p).chain(&captured) {
                if let Some(v) = path.value(found) {
                    record.insert(path.text.clone(), v);
                }
            }
            let summary = show(query, found, lang);
            Outcome::pass(expected, summary.clone()).with_evidence(json!({
                "kind": KIND, "object": name_of(found), "record": record, "summary": summary
            }))
        }
        (false, None) => {
            let shown: Vec<Value> = objects
                .iter()
                .take(5)
                .map(|o| json!({ "object": name_of(o), "fields": fields_of(query, o) }))
                .collect();
            Outcome::fail(expected, describe_none(query, &objects, lang))
                .with_evidence(json!({ "kind": KIND, "objects": shown }))
        }
    }
}

/// `kube-system/cilium-config`.
fn name_of(object: &Value) -> String {
    let meta = &object["metadata"];
    let name = meta["name"].as_str().unwrap_or("?");
    match meta["namespace"].as_str() {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

fn fields_of(query: &K8sQuery, object: &Value) -> Map<String, Value> {
    query
        .fields
        .iter()
        .map(|(p, _)| (p.text.clone(), p.value(object).unwrap_or(Value::Null)))
        .collect()
}

/// An object and the values of the checked fields, on one line.
fn show(query: &K8sQuery, object: &Value, lang: Lang) -> String {
    let fields: Vec<String> = fields_of(query, object)
        .iter()
        .map(|(k, v)| format!("{k} = {}", brief(v, lang)))
        .collect();
    let name = format!("{} {}", query.objects.kind, name_of(object));
    if fields.is_empty() {
        name
    } else {
        format!("{name}{} {}", lang.colon(), fields.join(", "))
    }
}

fn brief(v: &Value, lang: Lang) -> String {
    let text = match v {
        Value::Null => lang.pick("(unset)", "(absent)").to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(160).collect::<String>())
    } else {
        text
    }
}

fn describe_none(query: &K8sQuery, objects: &[Value], lang: Lang) -> String {
    let shown = |many: &[Value]| {
        many.iter()
            .take(3)
            .map(|o| show(query, o, lang))
            .collect::<Vec<_>>()
            .join(lang.semicolon())
    };
    match (objects, lang) {
        ([], Lang::En) => format!("no {}", query.objects),
        ([], Lang::Fr) => format!("aucun objet {}", query.objects.describe_in(lang)),
        ([one], _) => show(query, one, lang),
        (many, Lang::En) => format!("{} objects, none matching: {}", many.len(), shown(many)),
        (many, Lang::Fr) => format!(
            "{} objets, aucun ne correspond\u{202f}: {}",
            many.len(),
            shown(many)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::spy::SpyEnv;
    use tplab_vocab::Verdict;

    fn query(body: &Value) -> K8sQuery {
        K8sQuery::from_json(body).unwrap()
    }

    fn cm(value: &str) -> Value {
        json!({"metadata": {"name": "cilium-config", "namespace": "kube-system"},
               "data": {"enable-bpf-masquerade": value}})
    }

    async fn run(env: &SpyEnv, q: &K8sQuery, capture: &[(&str, &str)]) -> Outcome {
        let capture = capture
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        evaluate(env, q, &capture, Lang::En).await
    }

    #[tokio::test]
    async fn verdicts_and_captures() {
        let q = query(
            &json!({"kind": "ConfigMap", "namespace": "kube-system", "name": "cilium-config",
                             "fields": {"data.enable-bpf-masquerade": "true"}}),
        );
        let env = SpyEnv::new("sandbox").on_k8s([Ok(vec![cm("true")])]);
        let o = run(&env, &q, &[("M", "data.enable-bpf-masquerade")]).await;
        assert_eq!(o.verdict, Verdict::Pass, "{o:?}");
        assert_eq!(o.evidence["record"]["data.enable-bpf-masquerade"], "true");

        let env = SpyEnv::new("sandbox").on_k8s([Ok(vec![cm("false")])]);
        let o = run(&env, &q, &[]).await;
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(
            o.found.contains("data.enable-bpf-masquerade = false"),
            "{}",
            o.found
        );

        let env = SpyEnv::new("sandbox").on_k8s([Ok(vec![])]);
        let o = run(&env, &q, &[]).await;
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(
            o.found
                .starts_with("no ConfigMap kube-system/cilium-config"),
            "{}",
            o.found
        );

        let absent = query(&json!({"kind": "ConfigMap", "name": "x", "absent": true}));
        assert_eq!(run(&env, &absent, &[]).await.verdict, Verdict::Pass);

        let env = SpyEnv::new("sandbox").on_k8s([Err("forbidden: grant get".into())]);
        let o = run(&env, &q, &[]).await;
        assert_eq!(o.verdict, Verdict::Error);
        assert!(o.message.contains("grant get"), "{o:?}");
    }
}
