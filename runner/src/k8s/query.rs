//! A `k8s` check's body: which objects (kind, apiVersion, namespace, name or label
//! selector) and what their fields must hold (`fields: {path: matcher}`).
//!
//! ```yaml
//! k8s:
//!   kind: ConfigMap
//!   namespace: kube-system
//!   name: cilium-config
//!   fields:
//!     data.enable-bpf-masquerade: "true"
//! ```

use serde_json::{Map, Value};
use tplab_probe::Matcher;

use super::path::FieldPath;

/// Keys of a `k8s` body.
pub const KEYS: &[&str] = &[
    "kind",
    "apiVersion",
    "namespace",
    "name",
    "selector",
    "fields",
    "absent",
];

/// Which objects to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSelector {
    pub kind: String,
    /// `v1`, `apps/v1`...; `None`: found by discovery from `kind`.
    pub api_version: Option<String>,
    /// `None`: the kubeconfig context's namespace (`default` without one); ignored for
    /// cluster-scoped kinds.
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// A label selector (`k8s-app=cilium,tier!=x`).
    pub selector: Option<String>,
}

impl std::fmt::Display for ObjectSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe_in(tplab_vocab::Lang::En))
    }
}

impl ObjectSelector {
    /// `Pod in kube-system labelled k8s-app=cilium` / `Pod dans kube-system d’étiquette …`.
    pub fn describe_in(&self, lang: tplab_vocab::Lang) -> String {
        let ns = self
            .namespace
            .as_deref()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        let (inside, labelled, this_ns) = lang.pick(
            ("in", "labelled", "the namespace"),
            ("dans", "d’étiquette", "le namespace"),
        );
        let kind = &self.kind;
        match (&self.name, &self.selector) {
            (Some(n), _) => format!("{kind} {ns}{n}"),
            (None, Some(s)) => format!(
                "{kind} {inside} {} {labelled} {s}",
                ns.trim_end_matches('/')
            ),
            (None, None) => format!(
                "{kind} {inside} {}",
                if ns.is_empty() {
                    this_ns
                } else {
                    ns.trim_end_matches('/')
                }
            ),
        }
    }
}

/// A parsed `k8s` check.
#[derive(Debug, Clone)]
pub struct K8sQuery {
    pub objects: ObjectSelector,
    pub fields: Vec<(FieldPath, Matcher)>,
    /// Passes when no selected object matches every field.
    pub absent: bool,
}

fn string(map: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
        Some(Value::String(_)) => Err(format!("`{key}` is empty")),
        Some(other) => Err(format!("`{key}` takes a string, not `{other}`")),
    }
}

impl K8sQuery {
    /// Parses a body (JSON form of the YAML), with author-facing messages.
    pub fn from_json(body: &Value) -> Result<Self, String> {
        let Value::Object(map) = body else {
            return Err(
                "a `k8s` check is a map: `{kind: Pod, name: ..., fields: {status.podIP: ...}}`"
                    .into(),
            );
        };
        if let Some(key) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(unknown_key(key));
        }
        let kind = string(map, "kind")?
            .ok_or("a `k8s` check needs `kind` (Pod, ConfigMap, DaemonSet...)")?;
        let api_version = string(map, "apiVersion")?;
        if let Some(v) = &api_version
            && (v.split('/').count() > 2 || v.starts_with('/') || v.ends_with('/'))
        {
            return Err(format!(
                "`apiVersion: {v}`: expected `v1` or `GROUP/VERSION` (`apps/v1`)"
            ));
        }
        let name = string(map, "name")?;
        let selector = string(map, "selector")?;
        if name.is_some() && selector.is_some() {
            return Err("a `k8s` check selects by `name` or by `selector`, not both".into());
        }
        let absent = match map.get("absent") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(format!("`absent` takes true or false, not `{other}`")),
        };
        let fields = match map.get("fields") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(f)) => f
                .iter()
                .map(|(path, m)| {
                    let path = FieldPath::parse(path).map_err(|e| e.to_string())?;
                    let matcher = Matcher::from_value(m.clone())
                        .map_err(|e| format!("field `{}`: {e}", path.text))?;
                    Ok((path, matcher))
                })
                .collect::<Result<_, String>>()?,
            Some(_) => {
                return Err(
                    "`fields` is a map of field paths to matchers: `{status.podIP: 10.244.0.213}`"
                        .into(),
                );
            }
        };
        Ok(Self {
            objects: ObjectSelector {
                kind,
                api_version,
                namespace: string(map, "namespace")?,
                name,
                selector,
            },
            fields,
            absent,
        })
    }

    /// What the check expects, for messages.
    pub fn expected(&self) -> String {
        self.expected_in(tplab_vocab::Lang::En)
    }

    /// [`K8sQuery::expected`] in `lang`.
    pub fn expected_in(&self, lang: tplab_vocab::Lang) -> String {
        use tplab_vocab::Lang;
        let fields = self
            .fields
            .iter()
            .map(|(p, m)| format!("{} {}", p.text, m.describe_in(lang)))
            .collect::<Vec<_>>()
            .join(", ");
        let o = self.objects.describe_in(lang);
        match (self.absent, fields.is_empty(), lang) {
            (false, true, Lang::En) => format!("{o} exists"),
            (false, false, Lang::En) => format!("{o} with {fields}"),
            (true, true, Lang::En) => format!("no {o}"),
            (true, false, Lang::En) => format!("no {o} with {fields}"),
            (false, true, Lang::Fr) => format!("{o} existe"),
            (false, false, Lang::Fr) => format!("{o} avec {fields}"),
            (true, true, Lang::Fr) => format!("aucun objet {o}"),
            (true, false, Lang::Fr) => format!("aucun objet {o} avec {fields}"),
        }
    }

    /// Whether `object` holds every field.
    pub fn matches(&self, object: &Value) -> bool {
        self.fields.iter().all(|(path, m)| {
            m.matches(
                tplab_probe::query::FieldType::Text,
                path.value(object).as_ref(),
            )
        })
    }
}

/// The message for an unknown key of a `k8s` body.
pub fn unknown_key(key: &str) -> String {
    tplab_vocab::diag::unknown_key_message(key, KEYS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_matches() {
        let q = K8sQuery::from_json(&json!({
            "kind": "Pod", "namespace": "kube-system", "selector": "k8s-app=cilium",
            "fields": {
                "spec.containers[name=cilium-agent].args": {"regex": "^--config-dir="},
                "status.podIP": {"in_subnet": "10.0.0.0/8"}
            }
        }))
        .unwrap();
        assert_eq!(q.objects.selector.as_deref(), Some("k8s-app=cilium"));
        let pod = json!({
            "spec": {"containers": [{"name": "cilium-agent", "args": ["--config-dir=/x"]}]},
            "status": {"podIP": "10.0.0.5"}
        });
        assert!(q.matches(&pod));
        assert!(!q.matches(&json!({"status": {"podIP": "10.0.0.5"}})));
        assert!(
            q.expected()
                .contains("Pod in kube-system labelled k8s-app=cilium")
        );
    }

    #[test]
    fn bad_bodies_explain_themselves() {
        for (body, needle) in [
            (json!({"name": "x"}), "needs `kind`"),
            (json!({"kind": "Pod", "nme": "x"}), "nme"),
            (
                json!({"kind": "Pod", "name": "a", "selector": "b"}),
                "not both",
            ),
            (
                json!({"kind": "Pod", "fields": {"status..x": 1}}),
                "empty field",
            ),
            (
                json!({"kind": "Pod", "fields": {"status.x": {"regexp": 1}}}),
                "unknown matcher",
            ),
            (json!({"kind": "Pod", "fields": [1]}), "map of field paths"),
            (
                json!({"kind": "Pod", "apiVersion": "a/b/c"}),
                "GROUP/VERSION",
            ),
            (json!({"kind": "Pod", "absent": "yes"}), "true or false"),
        ] {
            let e = K8sQuery::from_json(&body).unwrap_err();
            assert!(e.contains(needle), "{body}: {e}");
        }
    }
}
