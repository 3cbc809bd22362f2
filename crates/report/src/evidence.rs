//! Turns a check's free-form `evidence` JSON into readable blocks: key/value lists for
//! objects, tables for lists of objects (packet paths, attached programs, conntrack entries).

use serde::Serialize;
use serde_json::Value;

use crate::i18n::{Lang, messages};

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

/// Splits evidence into blocks (English column names); `null` gives none.
pub fn blocks(evidence: &Value) -> Vec<Block> {
    blocks_in(evidence, Lang::En)
}

/// Splits evidence into blocks, tplab's own column names in `lang`. Lists of records
/// anywhere inside become tables; a packet `trace` (lines of text) becomes a table with
/// one row per hop.
pub fn blocks_in(evidence: &Value, lang: Lang) -> Vec<Block> {
    let t = messages(lang);
    match evidence {
        Value::Null => Vec::new(),
        Value::Object(map) => {
            let mut out = Vec::new();
            let mut scalars = Vec::new();
            collect("", map, lang, &mut out, &mut scalars);
            if !scalars.is_empty() {
                out.insert(
                    0,
                    Block {
                        title: String::new(),
                        columns: vec![t.field.into(), t.value.into()],
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
            columns: vec![t.value.into()],
            rows: vec![vec![scalar(other)]],
            sequence: false,
        }],
    }
}

fn collect(
    prefix: &str,
    map: &serde_json::Map<String, Value>,
    lang: Lang,
    out: &mut Vec<Block>,
    scalars: &mut Vec<Vec<String>>,
) {
    for (key, value) in map {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
                out.push(table(&path, items));
            }
            Value::Array(items)
                if key == "trace" && items.iter().all(Value::is_string) && !items.is_empty() =>
            {
                out.push(trace(items, lang));
            }
            Value::Object(inner) if has_records(value) => {
                collect(&path, inner, lang, out, scalars);
            }
            Value::Object(_) => out.push(kv(&path, value, lang)),
            _ if is_empty(value) => {}
            _ => scalars.push(vec![path, scalar(value)]),
        }
    }
}

/// True when a list of records sits somewhere inside `value`.
fn has_records(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.values().any(has_records),
        Value::Array(items) => !items.is_empty() && items.iter().all(Value::is_object),
        _ => false,
    }
}

/// The observer's trace lines (`[14564.181541] node:lxc (lxc0c0) enters 10.244.0.213 ->
/// 203.0.113.10  icmp echo-request ...`), one row per hop: time, where, direction, packet.
/// A line of another shape keeps its text in the packet column.
fn trace(items: &[Value], lang: Lang) -> Block {
    let t = messages(lang);
    let rows = items
        .iter()
        .map(|v| {
            let line = v.as_str().unwrap_or_default().trim();
            let (time, rest) = match line.strip_prefix('[').and_then(|r| r.split_once(']')) {
                Some((time, rest)) => (time.trim().to_owned(), rest.trim()),
                None => (String::new(), line),
            };
            let split = [(" leaves ", t.dir_leaves), (" enters ", t.dir_enters)]
                .into_iter()
                .filter_map(|(word, shown)| rest.find(word).map(|i| (i, word, shown)))
                .min_by_key(|(i, _, _)| *i);
            match split {
                Some((i, word, shown)) => vec![
                    time,
                    rest[..i].split_whitespace().collect::<Vec<_>>().join(" "),
                    shown.to_owned(),
                    rest[i + word.len()..].trim().to_owned(),
                ],
                None => vec![time, String::new(), String::new(), rest.to_owned()],
            }
        })
        .collect();
    Block {
        title: t.trace.to_owned(),
        columns: vec![
            t.trace_time.into(),
            t.trace_at.into(),
            t.trace_dir.into(),
            t.trace_packet.into(),
        ],
        rows,
        sequence: true,
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

fn kv(title: &str, value: &Value, lang: Lang) -> Block {
    let t = messages(lang);
    let mut rows = Vec::new();
    flatten("", value, &mut rows);
    rows.retain(|(_, v)| !v.is_empty());
    Block {
        title: title.to_owned(),
        columns: vec![t.field.into(), t.value.into()],
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
    fn packet_trace_is_one_row_per_hop() {
        let ev = json!({"kind": "packets", "outcome": {"evidence": [{"at": "pod:eth0", "count": 1}], "verdict": "pass"},
            "trace": ["[14564.181541] pod:eth0               leaves 10.244.0.213 -> 203.0.113.10  icmp echo-request id 1  84 bytes",
                      "[14564.181550] node:lxc (lxc0c0cff74e52c) enters 10.244.0.213 -> 203.0.113.10  icmp"]});
        let b = blocks_in(&ev, Lang::Fr);
        let trace = b
            .iter()
            .find(|b| b.title == "trace des paquets")
            .expect("trace table");
        assert_eq!(trace.rows.len(), 2);
        assert_eq!(
            trace.rows[1][..3],
            ["14564.181550", "node:lxc (lxc0c0cff74e52c)", "entre"]
        );
        assert!(trace.rows[0][3].starts_with("10.244.0.213 -> 203.0.113.10"));
        assert!(
            b.iter()
                .any(|b| b.title == "outcome.evidence" && b.rows.len() == 1)
        );
        assert!(
            b[0].rows
                .contains(&vec!["kind".to_owned(), "packets".to_owned()])
        );
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
