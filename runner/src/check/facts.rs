//! Fact-based kinds (route, neighbour, link, address, bpf_attached, conntrack, packets,
//! bpf_map): gathered in the role's network namespace, matched in-process.

use std::collections::BTreeMap;

use super::outcome::Outcome;
use crate::env::Environment;
use crate::template::Vars;

pub async fn evaluate(
    env: &dyn Environment,
    role: &str,
    kind: &str,
    _query: &serde_yaml::Value,
    _capture: &BTreeMap<String, String>,
    _vars: &Vars,
) -> Outcome {
    if let Err(e) = env.netns(role) {
        return Outcome::error(e.to_string());
    }
    Outcome::error(format!(
        "check kind `{kind}` is not available in this build of tplab"
    ))
}
