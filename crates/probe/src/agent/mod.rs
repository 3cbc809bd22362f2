//! The node agent's protocol: batches of fact queries in, batches of answers out, over
//! one byte stream (the agent's stdin and stdout, e.g. through `kubectl exec -i`).
//!
//! **Framing**: one JSON object per line (`\n`-terminated). JSON text never holds a raw
//! newline, so a line is a message; a reader can resynchronise after a bad one. A
//! request line longer than [`MAX_LINE`] bytes is answered with a `too_large` error and
//! skipped to its end.
//!
//! **Request** (one per step: every probe of the step in one round trip):
//!
//! ```json
//! {"format": "tplab.facts/1", "id": "step-2", "queries": [
//!   {"id": "a", "netns": {"pod_ip": "10.244.0.213"}, "query": {"route": {"dst": "default"}}},
//!   {"id": "b", "netns": {"path": "/run/netns/x"}, "kinds": ["links", "routes"]},
//!   {"id": "c", "netns": {"pid": 1}, "kinds": ["sysctls"]},
//!   {"id": "d", "kinds": ["addresses"]},
//!   {"id": "e", "ct_maps": {"bpf_root": "/sys/fs/bpf"}}
//! ]}
//! ```
//!
//! `netns` is where to read: a namespace file, a process's namespace, the namespace
//! holding an address (found by scanning the node's namespaces, [`locate`]), or — when
//! absent, or `"own"` — the agent's own. Each query has either `query` (a check's typed
//! query: the collector reads only what it needs) or `kinds` (every fact of those kinds),
//! or `ct_maps` (no `netns`: the entries of Cilium's CT maps pinned on the node's bpf
//! filesystem, [`CtMaps`]; answered with `ct_entries`).
//!
//! **Answer**: one line per request, its answers in the request's order, each either
//! `facts` (a list, as in [`crate::wire::FactsMessage`]) with the `netns` it read, or an
//! `error` (`code` + `message`): one bad query never costs the others their answers, and
//! nothing a client sends makes the agent exit before its stdin ends.
//!
//! ```json
//! {"format": "tplab.facts/1", "id": "step-2", "answers": [
//!   {"id": "a", "netns": "/proc/4242/ns/net", "facts": [{"kind": "routes", "records": []}]},
//!   {"id": "b", "error": {"code": "netns", "message": "network namespace ... does not exist"}}
//! ]}
//! ```

mod ct;
pub mod locate;
mod observe;
mod serve;

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::facts::{FactKind, Facts};
use crate::query::Query;
use crate::wire::FACTS_FORMAT;

pub use locate::{Locator, ScanRoots};
pub use serve::{answer_line, serve, serve_with};

/// Longest request line the agent reads (bytes, newline excluded).
pub const MAX_LINE: usize = 1 << 20;
/// Most queries one batch may hold.
pub const MAX_QUERIES: usize = 512;

/// Where a query reads its facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The agent's own network namespace (the node's, for a host-network agent).
    #[default]
    Own,
    /// A namespace file (`/run/netns/NAME`, `/proc/PID/ns/net`, a bind mount).
    Path(PathBuf),
    /// The namespace of process `pid`.
    Pid(u32),
    /// The one namespace of the node with this address on a non-loopback interface.
    PodIp(IpAddr),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Own => f.write_str("the agent's own netns"),
            Target::Path(p) => write!(f, "netns {}", p.display()),
            Target::Pid(pid) => write!(f, "the netns of pid {pid}"),
            Target::PodIp(ip) => write!(f, "the netns holding {ip}"),
        }
    }
}

/// What one query asks.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "a handful per step, short-lived (as `Query` itself)"
)]
pub enum Ask {
    /// The facts a check's query needs.
    Query(Query),
    /// Every fact of these kinds.
    Kinds(Vec<FactKind>),
    /// The entries of Cilium's CT maps (no namespace: the node's bpf filesystem).
    CtMaps(CtMaps),
    /// Starts observing packets (each point names its namespace): its events stream
    /// back as `observed` lines until [`Ask::Unobserve`] or the end of the session.
    Observe(Observe),
    /// Ends the observation with this id (its last events come first, `end: true`).
    Unobserve(String),
}

/// An observation to start: tplab's eBPF observer on each point's interface, attached
/// first (TCX) and returning `TC_ACT_UNSPEC`, so the node's own datapath still runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observe {
    /// The client's name for it: every event line carries it.
    pub id: String,
    pub points: Vec<ObserveAt>,
}

/// One observation point: an interface in a namespace, and the label its events carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObserveAt {
    #[serde(default)]
    pub netns: Target,
    pub ifname: String,
    pub label: String,
}

/// A line the agent writes on its own while an observation runs (never an answer):
/// `{"format", "observed": ID, "events": [...], "lost": N, "end": BOOL}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsLine {
    pub format: String,
    /// The observation's id.
    pub observed: String,
    pub events: Vec<tplab_ebpf::PacketEvent>,
    /// Events the kernel could not queue so far (cumulative).
    #[serde(default)]
    pub lost: u64,
    /// The observation ended: no more lines for it.
    #[serde(default)]
    pub end: bool,
}

/// What one line from the agent is: an answer line or an observation's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentLine {
    Answers(Answers),
    Events(EventsLine),
}

impl AgentLine {
    /// Reads a line the agent wrote, refusing another format version.
    pub fn from_json(line: &str) -> Result<Self, String> {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        if v.get("observed").is_some() {
            let ev: EventsLine = serde_json::from_value(v).map_err(|e| e.to_string())?;
            if ev.format != FACTS_FORMAT {
                return Err(format!(
                    "events in format `{}`, expected `{FACTS_FORMAT}`",
                    ev.format
                ));
            }
            return Ok(Self::Events(ev));
        }
        Answers::from_json(line).map(Self::Answers)
    }
}

/// Which CT maps to read: `cilium_ct4_global` and `cilium_ct_any4_global` pinned under
/// `<bpf_root>/tc/globals/`, laid out as the Cilium version `cilium` writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtMaps {
    /// Where the bpf filesystem holding Cilium's pins is (default [`DEFAULT_BPF_ROOT`];
    /// the sandbox's own pin directory for tplab's datapath).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_root: Option<PathBuf>,
    /// The Cilium version that wrote the maps (`1.16.5`); default: the layout of the
    /// version the sandbox follows. A version whose layout tplab does not know is a
    /// `ct_layout` error naming the versions it knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cilium: Option<String>,
}

/// Where Cilium's agent mounts the bpf filesystem on a node.
pub const DEFAULT_BPF_ROOT: &str = "/sys/fs/bpf";

impl CtMaps {
    /// The bpf root read.
    pub fn root(&self) -> PathBuf {
        self.bpf_root
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_BPF_ROOT))
    }
}

/// One query of a batch, as a client builds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: String,
    pub netns: Target,
    pub ask: Ask,
}

impl Request {
    /// Its wire form.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({ "id": self.id, "netns": self.netns });
        match &self.ask {
            Ask::Query(q) => v["query"] = serde_json::to_value(q).unwrap_or_default(),
            Ask::Kinds(k) => v["kinds"] = serde_json::to_value(k).unwrap_or_default(),
            Ask::CtMaps(m) => {
                v = serde_json::json!({ "id": self.id });
                v["ct_maps"] = serde_json::to_value(m).unwrap_or_default();
            }
            Ask::Observe(o) => {
                v = serde_json::json!({ "id": self.id });
                v["observe"] = serde_json::to_value(o).unwrap_or_default();
            }
            Ask::Unobserve(id) => v = serde_json::json!({ "id": self.id, "unobserve": id }),
        }
        v
    }
}

/// A request line: what a client writes (one per step).
pub fn batch_line(id: &str, requests: &[Request]) -> String {
    let queries: Vec<serde_json::Value> = requests.iter().map(Request::to_json).collect();
    let v = serde_json::json!({ "format": FACTS_FORMAT, "id": id, "queries": queries });
    let mut line = v.to_string();
    line.push('\n');
    line
}

/// Why a query (or a whole line) got no facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The line or query does not follow this protocol.
    BadRequest,
    /// The line is longer than [`MAX_LINE`] or holds more than [`MAX_QUERIES`] queries.
    TooLarge,
    /// Another protocol version.
    Format,
    /// The namespace could not be found or entered.
    Netns,
    /// The namespace was entered but its facts could not be read (or the CT maps).
    Probe,
    /// The CT maps are laid out as no Cilium version tplab knows (or `cilium` names one
    /// it does not know): the message names the versions it reads.
    CtLayout,
    /// The packet observer could not start (or an `unobserve` names no observation).
    Observe,
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentError {
    pub code: ErrorCode,
    pub message: String,
}

impl AgentError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for AgentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// One query's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub id: String,
    /// The namespace file read (resolved from the query's target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<Vec<Facts>>,
    /// A `ct_maps` query's entries (TCP map first, each map sorted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ct_entries: Option<Vec<tplab_ebpf::CtEntry>>,
    /// An `observe` query's observation id (started), or an `unobserve`'s (ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observing: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<AgentError>,
}

impl Answer {
    /// An `observe`/`unobserve` answer's observation id, or the error the agent gave.
    pub fn into_observing(self) -> Result<String, AgentError> {
        match (self.observing, self.error) {
            (_, Some(e)) => Err(e),
            (Some(id), None) => Ok(id),
            (None, None) => Err(AgentError::new(
                ErrorCode::BadRequest,
                "the agent's answer has neither an observation nor an error",
            )),
        }
    }

    /// The facts, or the error the agent gave.
    pub fn into_result(self) -> Result<Vec<Facts>, AgentError> {
        match (self.facts, self.error) {
            (_, Some(e)) => Err(e),
            (Some(f), None) => Ok(f),
            (None, None) => Err(AgentError::new(
                ErrorCode::BadRequest,
                "the agent's answer has neither facts nor an error",
            )),
        }
    }

    /// A `ct_maps` answer's entries, or the error the agent gave.
    pub fn into_ct(self) -> Result<Vec<tplab_ebpf::CtEntry>, AgentError> {
        match (self.ct_entries, self.error) {
            (_, Some(e)) => Err(e),
            (Some(entries), None) => Ok(entries),
            (None, None) => Err(AgentError::new(
                ErrorCode::BadRequest,
                "the agent's answer has neither CT entries nor an error",
            )),
        }
    }
}

/// An answer line: the answers of one request line, or why the line had none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    pub format: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub answers: Vec<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<AgentError>,
}

impl Answers {
    /// Reads an answer line, refusing another format version.
    pub fn from_json(line: &str) -> Result<Self, String> {
        let a: Answers = serde_json::from_str(line).map_err(|e| e.to_string())?;
        if a.format == FACTS_FORMAT {
            Ok(a)
        } else {
            Err(format!(
                "answers in format `{}`, expected `{FACTS_FORMAT}`",
                a.format
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_line_is_one_json_line() {
        let q: Query = serde_json::from_str(r#"{"route": {"dst": "default"}}"#).unwrap();
        let line = batch_line(
            "s\n1",
            &[
                Request {
                    id: "a".into(),
                    netns: Target::PodIp("10.0.0.1".parse().unwrap()),
                    ask: Ask::Query(q),
                },
                Request {
                    id: "b".into(),
                    netns: Target::Own,
                    ask: Ask::Kinds(vec![FactKind::Links]),
                },
            ],
        );
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["queries"][0]["netns"]["pod_ip"], "10.0.0.1");
        assert_eq!(v["queries"][0]["query"]["route"]["dst"], "default");
        assert_eq!(v["queries"][1]["netns"], "own");
        assert_eq!(v["queries"][1]["kinds"][0], "links");
    }

    #[test]
    fn answers_refuse_other_versions() {
        let ok = r#"{"format":"tplab.facts/1","id":"x","answers":[{"id":"a","error":{"code":"netns","message":"m"}}]}"#;
        let a = Answers::from_json(ok).unwrap();
        let err = a.answers[0].clone().into_result().unwrap_err();
        assert_eq!(err.code, ErrorCode::Netns);
        assert!(Answers::from_json(&ok.replace("facts/1", "facts/2")).is_err());
    }
}
