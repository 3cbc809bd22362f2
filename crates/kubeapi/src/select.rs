//! Label and field selectors (`-l k8s-app=cilium`, `--field-selector spec.nodeName=x`),
//! with the real server's grammar and its error messages.

use serde_json::Value;

use crate::resources::ResourceDef;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

/// Splits on commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn valid_key(k: &str) -> bool {
    let name = k.rsplit_once('/').map_or(k, |(_, n)| n);
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn set(values: &str) -> Option<Vec<String>> {
    let inner = values.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

fn requirement(raw: &str) -> Result<Requirement, String> {
    let r = raw.trim();
    let bad = || format!("unable to parse requirement: found '{r}', expected: identifier");
    let checked = |key: &str, op: Op| -> Result<Requirement, String> {
        let key = key.trim();
        if !valid_key(key) {
            return Err(format!(
                "unable to parse requirement: <nil>: Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.'"
            ));
        }
        let values: Vec<&String> = match &op {
            Op::Eq(v) | Op::NotEq(v) => vec![v],
            Op::In(vs) | Op::NotIn(vs) => vs.iter().collect(),
            Op::Exists | Op::NotExists => Vec::new(),
        };
        if let Some(v) = values.iter().find(|v| !valid_value(v)) {
            return Err(format!(
                "unable to parse requirement: values[0][{key}]: Invalid value: \"{v}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'"
            ));
        }
        Ok(Requirement {
            key: key.to_string(),
            op,
        })
    };
    if r.is_empty() {
        return Err(bad());
    }
    if let Some(k) = r.strip_prefix('!') {
        return checked(k, Op::NotExists);
    }
    if let Some((k, v)) = r.split_once("!=") {
        return checked(k, Op::NotEq(v.trim().to_string()));
    }
    if let Some((k, v)) = r.split_once("==") {
        return checked(k, Op::Eq(v.trim().to_string()));
    }
    if let Some((k, v)) = r.split_once('=') {
        return checked(k, Op::Eq(v.trim().to_string()));
    }
    if let Some((k, v)) = r.split_once(" notin ") {
        return checked(k, Op::NotIn(set(v).ok_or_else(bad)?));
    }
    if let Some((k, v)) = r.split_once(" in ") {
        return checked(k, Op::In(set(v).ok_or_else(bad)?));
    }
    if r.contains(char::is_whitespace) || r.contains(['(', ')']) {
        return Err(bad());
    }
    checked(r, Op::Exists)
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<LabelSelector, String> {
        if s.trim().is_empty() {
            return Ok(LabelSelector::default());
        }
        split_top(s)
            .into_iter()
            .map(requirement)
            .collect::<Result<Vec<_>, _>>()
            .map(LabelSelector)
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        self.0.iter().all(|req| {
            let v = labels.get(&req.key).and_then(Value::as_str);
            match &req.op {
                Op::Eq(want) => v == Some(want.as_str()),
                Op::NotEq(want) => v != Some(want.as_str()),
                Op::In(set) => v.is_some_and(|v| set.iter().any(|s| s == v)),
                Op::NotIn(set) => !v.is_some_and(|v| set.iter().any(|s| s == v)),
                Op::Exists => v.is_some(),
                Op::NotExists => v.is_none(),
            }
        })
    }
}

/// A parsed field selector: `key=value`, `key==value`, `key!=value`, comma-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

/// The string value of a dotted path (`spec.nodeName`), "" when absent (as the server).
fn field_value(object: &Value, path: &str) -> String {
    let v = path.split('.').fold(object, |v, k| &v[k]);
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

impl FieldSelector {
    /// Parses `s`, refusing fields `def` does not index (as the server does).
    pub fn parse(s: &str, def: &ResourceDef) -> Result<FieldSelector, String> {
        let mut out = Vec::new();
        for term in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (k, eq, v) = if let Some((k, v)) = term.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = term.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = term.split_once('=') {
                (k, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{term}'"
                ));
            };
            let k = k.trim();
            let known =
                matches!(k, "metadata.name" | "metadata.namespace") || def.fields.contains(&k);
            if !known {
                return Err(format!("field label not supported: {k}"));
            }
            out.push((k.to_string(), eq, v.trim().to_string()));
        }
        Ok(FieldSelector(out))
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(k, eq, want)| {
            let got = if k == "source" {
                field_value(object, "source.component")
            } else {
                field_value(object, k)
            };
            (got == *want) == *eq
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({"metadata": {"name": "cilium-ab", "namespace": "kube-system",
            "labels": {"k8s-app": "cilium", "tier": "node"}},
            "spec": {"nodeName": "node-1", "hostNetwork": true}, "status": {"phase": "Running"}})
    }

    #[test]
    fn label_selectors() {
        let p = pod();
        for (sel, want) in [
            ("k8s-app=cilium", true),
            ("k8s-app==cilium", true),
            ("k8s-app!=cilium", false),
            ("k8s-app in (cilium, x)", true),
            ("k8s-app notin (cilium)", false),
            ("tier", true),
            ("!tier", false),
            ("k8s-app=cilium,tier=node", true),
            ("k8s-app=other", false),
            ("", true),
        ] {
            assert_eq!(
                LabelSelector::parse(sel).unwrap().matches(&p),
                want,
                "{sel}"
            );
        }
        for bad in ["k8s-app=(x", "a b", "=x", "!", "k in x", "k=%%%"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn field_selectors() {
        let p = pod();
        let def = crate::resources::PODS;
        for (sel, want) in [
            ("spec.nodeName=node-1", true),
            ("spec.nodeName!=node-1", false),
            ("metadata.name=cilium-ab,status.phase=Running", true),
            ("spec.hostNetwork=true", true),
            ("status.podIP=", true),
        ] {
            assert_eq!(
                FieldSelector::parse(sel, &def).unwrap().matches(&p),
                want,
                "{sel}"
            );
        }
        assert_eq!(
            FieldSelector::parse("spec.nope=1", &def).unwrap_err(),
            "field label not supported: spec.nope"
        );
        assert!(FieldSelector::parse("junk", &def).is_err());
    }
}
