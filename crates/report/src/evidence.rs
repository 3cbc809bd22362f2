//! Turns a check's free-form `evidence` JSON into readable blocks: key/value lists for
//! objects, tables for lists of objects (packet paths, attached programs, conntrack entries).

use serde::Serialize;
use serde_json::Value;

/// One titled block of evidence, rendered as a table by the templates.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Block {
    pub title: String,
    /// Column names; for key/value blocks `["field", "value"]`.
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// True for a list of records (a path, a set of entries): the order matters.
    pub sequence: bool,
}

/// Splits evidence into blocks; `null` gives none.
pub fn blocks(evidence: &Value) -> Vec<Block> {
    match evidence {
        Value::Null => Vec::new(),
        Value::Object(map) => {
            let mut out = Vec::new();
            let mut scalars = Vec::new();
            for (key, value) in map {
                match value {
                    Value::Array(items)
                        if items.iter().all(Value::is_object) && !items.is_empty() =>
                    {
                        out.push(table(key, items));
                    }
                    Value::Object(_) => out.push(kv(key, value)),
                    _ if is_empty(value) => {}
                    _ => scalars.push(vec![key.clone(), scalar(value)]),
                }
            }
            if !scalars.is_empty() {
                out.insert(
                    0,
                    Block {
                        title: String::new(),
                        columns: vec!["field".into(), "value".into()],
                        rows: scalars,
                        sequence: false,
                    },
                );
            }
            out
        }
        Value::Array(items) if items.iter().all(Value::is_object) => vec![table("", items)],
        other => vec![Block {
            title: String::new(),
            columns: vec!["value".into()],
            rows: vec![vec![scalar(other)]],
            sequence: false,
        }],
    }
}

/// Null and empty strings say nothing in a key/value list (tables keep their cells).
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn kv(title: &str, value: &Value) -> Block {
    let mut rows = Vec::new();
    flatten("", value, &mut rows);
    rows.retain(|(_, v)| !v.is_empty());
    Block {
        title: title.to_owned(),
        columns: vec!["field".into(), "value".into()],
        rows: rows.into_iter().map(|(k, v)| vec![k, v]).collect(),
        sequence: false,
    }
}

fn table(title: &str, items: &[Value]) -> Block {
    let mut columns: Vec<String> = Vec::new();
    let flat: Vec<Vec<(String, String)>> = items
        .iter()
        .map(|item| {
            let mut rows = Vec::new();
            flatten("", item, &mut rows);
            rows
        })
        .collect();
    for row in &flat {
        for (k, _) in row {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    let rows = flat
        .into_iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| {
                    row.iter()
                        .find(|(k, _)| k == c)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    Block {
        title: title.to_owned(),
        columns,
        rows,
        sequence: true,
    }
}

/// Dotted paths for nested objects; arrays of scalars joined with ", ".
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, v, out);
            }
        }
        Value::Array(items) if items.iter().any(|v| v.is_object() || v.is_array()) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        other => out.push((prefix.to_owned(), scalar(other))),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn path_becomes_a_table() {
        let b = blocks(
            &json!({"path": [{"dev": "eth0", "dir": "egress"}, {"dev": "lxc1", "dir": "ingress", "netns": "node"}]}),
        );
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].columns, ["dev", "dir", "netns"]);
        assert_eq!(b[0].rows[0], ["eth0", "egress", ""]);
        assert!(b[0].sequence);
    }

    #[test]
    fn nested_objects_flatten() {
        let b = blocks(&json!({"conntrack": {"orig": {"src": "10.0.0.1"}, "nat": "snat"}, "n": 3}));
        assert_eq!(b[0].rows, vec![vec!["n".to_owned(), "3".to_owned()]]);
        assert_eq!(b[1].title, "conntrack");
        assert!(
            b[1].rows
                .contains(&vec!["orig.src".to_owned(), "10.0.0.1".to_owned()])
        );
    }
}
