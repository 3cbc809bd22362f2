//! Registry of fact-based check kinds: which keys exist and how their bodies are validated.

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer};

/// Kinds evaluated over facts gathered by a probe or the eBPF observer.
pub const FACT_KINDS: &[&str] = &[
    "link",
    "address",
    "route",
    "neighbour",
    "bpf_attached",
    "conntrack",
    "packets",
    "bpf_map",
];

/// Deserializes a fact kind's body, validating it against the kind's query type so
/// unknown keys are reported where they are.
pub struct QuerySeed<'a>(pub &'a str);

impl<'de> DeserializeSeed<'de> for QuerySeed<'_> {
    type Value = serde_yaml::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        serde_yaml::Value::deserialize(d)
    }
}

/// Fields of a kind's matched record that `capture:` may name.
pub fn capturable_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "command" => &["stdout", "stderr", "status"],
        _ => &[],
    }
}
