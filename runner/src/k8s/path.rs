//! Field paths into a Kubernetes object: `status.podIP`, `data.enable-bpf-masquerade`,
//! `metadata.labels.k8s-app`, `spec.containers[name=cilium-agent].args`,
//! `spec.containers[0].image`, `spec.containers[*].name`,
//! `metadata.labels["app.kubernetes.io/name"]` (a key holding dots).
//!
//! A path yields every value it reaches: a list element selector (`[name=x]`, `[*]`)
//! may reach several, a missing field none.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A map key.
    Key(String),
    /// A list element by position.
    Index(usize),
    /// The list elements whose `field` is `value` (as text).
    Where { field: String, value: String },
    /// Every element of a list.
    All,
}

/// A parsed field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    pub text: String,
    pub segments: Vec<Segment>,
}

/// Why a path does not parse: what is wrong, and at which byte of the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field path `{path}`: {message} (at character {})", at + 1)]
pub struct PathError {
    pub path: String,
    pub at: usize,
    pub message: String,
}

impl FieldPath {
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let err = |at: usize, message: &str| PathError {
            path: text.to_string(),
            at,
            message: message.to_string(),
        };
        let bytes = text.as_bytes();
        let mut segments = Vec::new();
        let mut i = 0;
        // Whether a `.` or `[` must come next (after a segment).
        let mut after_segment = false;
        while i < bytes.len() {
            match bytes[i] {
                b'.' if after_segment => {
                    i += 1;
                    if i >= bytes.len() {
                        return Err(err(i - 1, "a path cannot end with `.`"));
                    }
                    after_segment = false;
                }
                b'.' => return Err(err(i, "empty field name")),
                b'[' => {
                    if !after_segment && !segments.is_empty() {
                        return Err(err(i, "`[` right after `.`"));
                    }
                    let close = text[i..]
                        .find(']')
                        .map(|j| i + j)
                        .ok_or_else(|| err(i, "`[` without its `]`"))?;
                    segments.push(bracket(&text[i + 1..close]).map_err(|m| err(i + 1, &m))?);
                    i = close + 1;
                    after_segment = true;
                }
                b']' => return Err(err(i, "`]` without its `[`")),
                _ if after_segment => return Err(err(i, "expected `.` or `[` here")),
                _ => {
                    let end = text[i..]
                        .find(['.', '[', ']'])
                        .map_or(text.len(), |j| i + j);
                    let name = &text[i..end];
                    if name.trim() != name {
                        return Err(err(i, "spaces around a field name"));
                    }
                    segments.push(Segment::Key(name.to_string()));
                    i = end;
                    after_segment = true;
                }
            }
        }
        if segments.is_empty() {
            return Err(err(0, "empty path"));
        }
        Ok(Self {
            text: text.to_string(),
            segments,
        })
    }

    /// Every value the path reaches in `object`.
    pub fn values<'a>(&self, object: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![object];
        for seg in &self.segments {
            let mut next = Vec::new();
            for v in current {
                match (seg, v) {
                    (Segment::Key(k), Value::Object(m)) => next.extend(m.get(k)),
                    (Segment::Index(n), Value::Array(a)) => next.extend(a.get(*n)),
                    (Segment::All, Value::Array(a)) => next.extend(a.iter()),
                    (Segment::Where { field, value }, Value::Array(a)) => next.extend(
                        a.iter()
                            .filter(|e| e.get(field).is_some_and(|f| text_of(f) == *value)),
                    ),
                    _ => {}
                }
            }
            current = next;
        }
        current
    }

    /// The path's value in `object` as a matcher sees it: nothing, the one value, or —
    /// after a list selector — the list of what it reached, lists spliced in (so
    /// `containers[name=x].args` is that container's args, and a matcher holds when
    /// any of them does).
    pub fn value(&self, object: &Value) -> Option<Value> {
        let found = self.values(object);
        let multi = self
            .segments
            .iter()
            .any(|s| matches!(s, Segment::All | Segment::Where { .. }));
        match found.as_slice() {
            [] => None,
            [one] if !multi => Some((*one).clone()),
            many => Some(Value::Array(
                many.iter()
                    .flat_map(|v| match v {
                        Value::Array(items) => items.clone(),
                        other => vec![(*other).clone()],
                    })
                    .collect(),
            )),
        }
    }
}

fn bracket(inner: &str) -> Result<Segment, String> {
    let inner = inner.trim();
    if inner == "*" {
        return Ok(Segment::All);
    }
    if let Some(quoted) = inner
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
    {
        if quoted.is_empty() {
            return Err("empty quoted key".into());
        }
        return Ok(Segment::Key(quoted.to_string()));
    }
    if let Some((field, value)) = inner.split_once('=') {
        let (field, value) = (field.trim(), value.trim());
        if field.is_empty() {
            return Err("`[=...]` needs a field name before `=`".into());
        }
        return Ok(Segment::Where {
            field: field.to_string(),
            value: value.trim_matches(|c| c == '"' || c == '\'').to_string(),
        });
    }
    inner
        .parse()
        .map(Segment::Index)
        .map_err(|_| format!("`[{inner}]`: expected an index, `*`, `name=value` or a quoted key"))
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "metadata": {"labels": {"k8s-app": "cilium", "app.kubernetes.io/name": "cilium-agent"}},
            "spec": {"containers": [
                {"name": "cilium-agent", "args": ["--config-dir=/tmp/cilium/config-map"]},
                {"name": "sidecar", "args": []}
            ]},
            "status": {"podIP": "10.244.0.213"},
            "data": {"enable-bpf-masquerade": "true"}
        })
    }

    fn get(path: &str) -> Option<Value> {
        FieldPath::parse(path).unwrap().value(&pod())
    }

    #[test]
    fn paths_reach_fields_lists_and_keys_with_dots() {
        assert_eq!(get("status.podIP"), Some(json!("10.244.0.213")));
        assert_eq!(get("data.enable-bpf-masquerade"), Some(json!("true")));
        assert_eq!(get("metadata.labels.k8s-app"), Some(json!("cilium")));
        assert_eq!(
            get(r#"metadata.labels["app.kubernetes.io/name"]"#),
            Some(json!("cilium-agent"))
        );
        assert_eq!(
            get("spec.containers[name=cilium-agent].args"),
            Some(json!(["--config-dir=/tmp/cilium/config-map"]))
        );
        assert_eq!(get("spec.containers[1].name"), Some(json!("sidecar")));
        assert_eq!(
            get("spec.containers[*].name"),
            Some(json!(["cilium-agent", "sidecar"]))
        );
        assert_eq!(get("status.hostIP"), None);
        assert_eq!(get("spec.containers[name=nope].args"), None);
    }

    #[test]
    fn bad_paths_say_where() {
        for (path, at, needle) in [
            ("", 0, "empty path"),
            ("status.", 6, "end with"),
            ("status..podIP", 7, "empty field"),
            ("spec.containers[name=x", 15, "without its `]`"),
            ("spec.containers[x]", 16, "expected an index"),
            ("spec]", 4, "without its `[`"),
            ("spec.[0]", 5, "right after"),
            ("a[0]b", 4, "expected `.`"),
        ] {
            let e = FieldPath::parse(path).unwrap_err();
            assert_eq!(e.at, at, "{path}: {e}");
            assert!(e.message.contains(needle), "{path}: {e}");
        }
    }
}
