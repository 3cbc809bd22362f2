//! Registry of fact-based check kinds: which keys exist, how their bodies are validated
//! (statically, before any variable is known) and which fields `capture` may name.

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer};
use tplab_probe::{FactKind, Query};
use tplab_vocab::diag;
use tplab_vocab::{Cmp, DiagCode};

use crate::template;

/// Check kinds answered by tplab's eBPF datapath and observer rather than the
/// kernel-fact probes (whose kinds come from `tplab_probe`'s kind table).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter, strum::IntoStaticStr, strum::EnumString,
)]
#[strum(serialize_all = "snake_case")]
pub enum EbpfKind {
    /// Packets seen by the observer along a path.
    Packets,
    /// An entry of the datapath's conntrack map.
    BpfMap,
}

impl EbpfKind {
    /// The check key (`packets`, `bpf_map`), as strum spells it.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// `count`: how many records of a fact kind match (`count: { link: {kind: veth}, is:
/// ">= 2" }`), for "at least two veths on docker0".
pub const COUNT: &str = "count";

/// Every fact kind a `check` item may use: the probe's kinds, then the eBPF ones.
pub fn fact_kinds() -> &'static [&'static str] {
    use strum::IntoEnumIterator as _;
    static KINDS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    KINDS.get_or_init(|| {
        FactKind::ALL
            .iter()
            .map(|k| k.check_name())
            .chain(EbpfKind::iter().map(<&'static str>::from))
            .chain([crate::k8s::KIND, COUNT, super::http::KIND])
            .collect()
    })
}

/// Deserializes a fact kind's body and validates it against the kind's query type.
pub struct QuerySeed<'a>(pub &'a str);

impl<'de> DeserializeSeed<'de> for QuerySeed<'_> {
    type Value = serde_yaml::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        // A probe query's keys are checked as they are read, so an unknown one is
        // reported at its own line and column.
        let value = if FactKind::from_check(self.0).is_some() {
            d.deserialize_any(BodyVisitor(self.0))?
        } else if self.0 == crate::k8s::KIND {
            crate::k8s::body::Body.deserialize(d)?
        } else if self.0 == super::http::KIND {
            super::http::Body.deserialize(d)?
        } else if let Ok(kind) = self.0.parse::<EbpfKind>() {
            super::ebpf_keys::read(kind, d)?
        } else {
            serde_yaml::Value::deserialize(d)?
        };
        let (result, raised) = diag::capture(|| validate(self.0, &value));
        if let Err(msg) = result {
            // The probe's matchers say what is wrong as text: the code comes from the
            // parsers of vocab marked (a comparison), else from the body itself (a `regex:`).
            let code = raised
                .or_else(|| has_bad_regex(&value).then_some(DiagCode::BadRegex))
                .unwrap_or(DiagCode::BadCheck);
            return Err(diag::raise(code, msg));
        }
        Ok(value)
    }
}

/// A probe query's body, its keys checked one by one ([`BodyKey`]).
struct BodyVisitor<'a>(&'a str);

impl<'de> serde::de::Visitor<'de> for BodyVisitor<'_> {
    type Value = serde_yaml::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a map of `{}` fields", self.0)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(serde_yaml::Value::Null)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut body = serde_yaml::Mapping::new();
        while let Some(key) = map.next_key_seed(BodyKey(self.0))? {
            let value: serde_yaml::Value = map.next_value()?;
            body.insert(serde_yaml::Value::String(key), value);
        }
        Ok(serde_yaml::Value::Mapping(body))
    }
}

/// One key of a probe query: known to the kind's query type, or an `unknown-key` error
/// raised while the key is read (so at its position).
struct BodyKey<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for BodyKey<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        // Judged inside the visitor, so serde_yaml places the error at this key.
        d.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for BodyKey<'_> {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a `{}` field", self.0)
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<String, E> {
        if key == "absent" {
            return Ok(key.to_string());
        }
        // Any field of a query takes a matcher; `exists: true` is one.
        match Query::parse(self.0, serde_json::json!({ key: { "exists": true } })) {
            Ok(_) => Ok(key.to_string()),
            Err(e) => Err(diag::raise(DiagCode::UnknownKey, e)),
        }
    }
}

/// Whether a `regex:` matcher in a fact body is not a valid regex (templates neutralised).
fn has_bad_regex(value: &serde_yaml::Value) -> bool {
    use serde_yaml::Value;
    match value {
        Value::Mapping(map) => map.iter().any(|(k, v)| match (k, v) {
            (Value::String(k), Value::String(re)) if k == "regex" => {
                regex::Regex::new(&template::neutralize(re)).is_err()
            }
            _ => has_bad_regex(v),
        }),
        Value::Sequence(seq) => seq.iter().any(has_bad_regex),
        _ => false,
    }
}

/// Values tried in place of `{{ ... }}` when validating before variables are known:
/// one of them suits whatever the field expects (a prefix, an address, a number, text).
const PLACEHOLDERS: &[&str] = &["0.0.0.0/0", "0.0.0.0", "1", "x"];

/// Keys holding one IPv4 address in the eBPF kinds (`packets`, `bpf_map`), whose
/// placeholder must be an address whatever the other fields take.
const ADDRESS_KEYS: &[&str] = &["src", "dst"];

/// Validates a kind's (unrendered) body.
pub fn validate(kind: &str, value: &serde_yaml::Value) -> Result<(), String> {
    let mut first_error = None;
    for placeholder in PLACEHOLDERS {
        let neutral = substitute(value, placeholder);
        match diag::capture(|| parse_json(kind, &neutral)) {
            (Ok(()), _) => return Ok(()),
            (Err(e), code) => {
                first_error.get_or_insert((e, code));
            }
        }
        if !has_template(value) {
            break;
        }
    }
    let (error, code) = first_error.unwrap_or_default();
    // The code marked with the error reported, not with a later attempt's.
    if let Some(code) = code {
        diag::mark(code);
    }
    Err(error)
}

/// Why a `capture` field cannot be filled by a `packets` check (its unrendered body),
/// if it cannot: fields are those of a hop's first packet, the hop one that sees some.
pub fn packets_capture_error(body: &serde_yaml::Value, field: &str) -> Option<String> {
    let query = PLACEHOLDERS.iter().find_map(|p| {
        match FactQuery::parse(EbpfKind::Packets.name(), &substitute(body, p)) {
            Ok(FactQuery::Packets { path, .. }) => Some(path),
            _ => None,
        }
    })?;
    query.capture_source(field).err()
}

fn parse_json(kind: &str, value: &serde_yaml::Value) -> Result<(), String> {
    FactQuery::parse(kind, value).map(|_| ())
}

/// A fact check's body in its typed form: what lint validates and what an evaluation
/// parses once (after rendering its variables) and then reuses on every attempt.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per check being evaluated, short-lived"
)]
pub enum FactQuery {
    /// A kernel-fact query (`route`, `firewall`...).
    Probe(Query),
    /// Packets seen along a path, and the traffic tplab sends while observing.
    Packets {
        path: tplab_ebpf::check::PathQuery,
        trigger: Option<Trigger>,
    },
    /// An entry of the datapath's CT map.
    BpfMap(tplab_ebpf::check::CtQuery),
    /// Kubernetes objects and their fields.
    K8s(crate::k8s::K8sQuery),
    /// How many records of a probe query match, compared.
    Count { query: Query, is: Cmp },
    /// An HTTP request made from the role, and what its answer must hold.
    Http(super::http::HttpQuery),
}

impl FactQuery {
    /// Parses the body of a `kind:` check item.
    pub fn parse(kind: &str, body: &serde_yaml::Value) -> Result<Self, String> {
        let json = serde_json::to_value(body).map_err(|e| e.to_string())?;
        if kind == crate::k8s::KIND {
            return crate::k8s::K8sQuery::from_json(&json).map(FactQuery::K8s);
        }
        if kind == COUNT {
            return count_query(json);
        }
        if kind == super::http::KIND {
            return super::http::HttpQuery::from_json(json).map(FactQuery::Http);
        }
        match kind.parse::<EbpfKind>() {
            Ok(EbpfKind::Packets) => {
                packets_query(json).map(|(path, trigger)| FactQuery::Packets { path, trigger })
            }
            Ok(EbpfKind::BpfMap) => typed(json).map(FactQuery::BpfMap),
            Err(_) => Query::parse(kind, json)
                .map(FactQuery::Probe)
                .map_err(|e| e.to_string()),
        }
    }
}

/// A `count` body: one probe kind's query and `is` (default `">= 1"`).
fn count_query(json: serde_json::Value) -> Result<FactQuery, String> {
    let serde_json::Value::Object(mut map) = json else {
        return Err("`count` takes a map: a fact kind's query and `is`, e.g. \
                    `{ link: { kind: veth, master: docker0 }, is: \">= 2\" }`"
            .into());
    };
    let is = match map.remove("is") {
        None => Cmp::AT_LEAST_ONE,
        Some(serde_json::Value::Number(n)) => Cmp::parse(&n.to_string())?,
        Some(serde_json::Value::String(s)) => Cmp::parse(&s)?,
        Some(other) => {
            return Err(format!(
                "`is: {other}`: expected a comparison such as \">= 2\""
            ));
        }
    };
    let mut kinds = map.into_iter();
    let (Some((kind, body)), None) = (kinds.next(), kinds.next()) else {
        return Err(
            "`count` counts one fact kind: give exactly one of `link`, `route`, \
                    `address`, `neighbour`, … beside `is`"
                .into(),
        );
    };
    if FactKind::from_check(&kind).is_none() {
        return Err(format!(
            "`count` counts kernel facts: `{kind}` is not one (expected one of: {})",
            FactKind::ALL
                .iter()
                .map(|k| k.check_name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let body = if body.is_null() {
        serde_json::json!({})
    } else {
        body
    };
    if body.get("absent").is_some() {
        return Err("`absent` has no meaning in a count: use `is: \"== 0\"`".into());
    }
    let query = Query::parse(&kind, body).map_err(|e| e.to_string())?;
    Ok(FactQuery::Count { query, is })
}

/// A `packets` body: the eBPF path query plus an optional `trigger` (traffic that
/// tplab sends while observing: `{target: pod, run: "ping -c 3 ..."}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    #[serde(default)]
    pub target: Option<String>,
    pub run: String,
}

pub fn packets_query(
    mut json: serde_json::Value,
) -> Result<(tplab_ebpf::check::PathQuery, Option<Trigger>), String> {
    let trigger = match json.as_object_mut().and_then(|m| m.remove("trigger")) {
        Some(t) => Some(serde_json::from_value::<Trigger>(t).map_err(|e| format!("trigger: {e}"))?),
        None => None,
    };
    let query: tplab_ebpf::check::PathQuery = typed(json)?;
    query.validate()?;
    Ok((query, trigger))
}

/// Reads an eBPF kind's body into its typed form. A rendered template is text, so a port
/// given as `"{{ PORT }}"` is read as the number it renders to; an error names the field
/// as the lab spells it (`path[2].dport: ...`), not only the type serde expected.
fn typed<T: serde::de::DeserializeOwned>(mut json: serde_json::Value) -> Result<T, String> {
    ports_as_numbers(&mut json);
    serde_path_to_error::deserialize(json).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path == "." {
            inner
        } else if path.rsplit('.').next().is_some_and(is_port_key) {
            format!("`{path}`: expected a port number (0 to 65535): {inner}")
        } else {
            format!("`{path}`: {inner}")
        }
    })
}

/// Port fields (`sport`, `dport`) written as text that holds a number become numbers.
fn ports_as_numbers(json: &mut serde_json::Value) {
    use serde_json::Value;
    match json {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if is_port_key(key)
                    && let Value::String(text) = value
                    && let Ok(n) = text.trim().parse::<u64>()
                {
                    *value = Value::from(n);
                } else {
                    ports_as_numbers(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(ports_as_numbers),
        _ => {}
    }
}

fn is_port_key(key: &str) -> bool {
    key.ends_with("port")
}

fn has_template(value: &serde_yaml::Value) -> bool {
    let mut strings = Vec::new();
    template::yaml_strings(value, &mut strings);
    strings.iter().any(|s| template::has_template(s))
}

fn substitute(value: &serde_yaml::Value, placeholder: &str) -> serde_yaml::Value {
    use serde_yaml::Value;
    match value {
        Value::String(s) if template::has_template(s) => Value::String(placeholder.to_string()),
        // A port is a number whatever the other fields hold (`src: "{{ ip }}"` beside it).
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .map(|(k, v)| {
                    let templated = v.as_str().is_some_and(template::has_template);
                    let key = k.as_str().unwrap_or_default();
                    let v = if templated && is_port_key(key) {
                        Value::String("1".into())
                    } else if templated && ADDRESS_KEYS.contains(&key) {
                        Value::String("0.0.0.0".into())
                    } else if templated && key == "url" {
                        // An `http` URL: lint judges the parts around the template.
                        Value::String(neutral_url(v.as_str().unwrap_or_default()))
                    } else {
                        substitute(v, placeholder)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Sequence(seq) => {
            Value::Sequence(seq.iter().map(|v| substitute(v, placeholder)).collect())
        }
        other => other.clone(),
    }
}

/// An `http` URL with its templates replaced by a host name (`http://{{ ip }}:8080/`
/// becomes `http://x:8080/`), so a literal scheme or port is still judged; a URL that
/// starts with a template (`{{ world_url }}/health`) may hold the scheme there.
fn neutral_url(url: &str) -> String {
    let neutral = template::neutralize(url);
    if url.trim_start().starts_with("{{") {
        format!("http://{}", neutral.trim_start())
    } else {
        neutral
    }
}

/// Fields of a kind's matched record that `capture:` may name.
pub fn capturable_fields(kind: &str) -> &'static [&'static str] {
    match (kind, kind.parse::<EbpfKind>()) {
        ("command", _) => &["stdout", "stderr", "status"],
        (COUNT, _) => &["count"],
        (super::http::KIND, _) => super::http::CAPTURE_FIELDS,
        (_, Ok(EbpfKind::BpfMap)) => tplab_ebpf::check::CT_ENTRY_FIELDS,
        // `k8s`: any field path of the object (lint parses them).
        (crate::k8s::KIND, _) | (_, Ok(EbpfKind::Packets)) => &[],
        (other, Err(_)) => fact_kind(other).map_or(&[], FactKind::fields),
    }
}

/// The probe kind a check key names.
pub fn fact_kind(kind: &str) -> Option<FactKind> {
    FactKind::from_check(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_kind_can_capture_and_is_a_check_key() {
        for kind in FactKind::ALL {
            let key = kind.check_name();
            assert!(fact_kinds().contains(&key), "{key}");
            assert!(!capturable_fields(key).is_empty(), "{key} captures nothing");
        }
        for kind in <EbpfKind as strum::IntoEnumIterator>::iter() {
            assert!(fact_kinds().contains(&kind.name()));
            assert_eq!(kind.name().parse::<EbpfKind>(), Ok(kind));
        }
        assert_eq!(fact_kind("neighbor"), Some(FactKind::Neighbours));
        assert_eq!(fact_kind("nope"), None);
    }

    #[test]
    fn every_registered_kind_is_documented() {
        // Compiled in: a kind registered without its docs fails this test.
        const DOCS: &str = include_str!("../../../docs/checks.md");
        for key in fact_kinds() {
            let row = format!("| `{key}` |");
            let section = format!("## `{key}`");
            assert!(
                DOCS.contains(&row) || DOCS.contains(&section),
                "check kind `{key}` has no row or section in docs/checks.md"
            );
        }
    }
}
