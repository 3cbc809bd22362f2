//! What a probe returns: one list of typed records per fact kind.

use serde::{Deserialize, Serialize};

use crate::addrs::Address;
use crate::bpf::BpfProgram;
use crate::conntrack::ConntrackEntry;
use crate::links::Link;
use crate::neigh::Neighbour;
use crate::routes::Route;

/// The kinds of kernel facts a probe can collect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    Links,
    Addresses,
    Routes,
    Neighbours,
    Bpf,
    Conntrack,
}

impl FactKind {
    pub const ALL: [FactKind; 6] = [
        FactKind::Links,
        FactKind::Addresses,
        FactKind::Routes,
        FactKind::Neighbours,
        FactKind::Bpf,
        FactKind::Conntrack,
    ];

    /// The word used on the command line (`tplab probe pod routes`).
    pub fn name(self) -> &'static str {
        match self {
            FactKind::Links => "links",
            FactKind::Addresses => "addresses",
            FactKind::Routes => "routes",
            FactKind::Neighbours => "neighbours",
            FactKind::Bpf => "bpf",
            FactKind::Conntrack => "conntrack",
        }
    }

    /// Parses a kind name; accepts a few natural aliases (`link`, `addr`, `neigh`, `tc`...).
    pub fn parse(s: &str) -> Option<FactKind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "links" | "link" => FactKind::Links,
            "addresses" | "address" | "addr" | "addrs" => FactKind::Addresses,
            "routes" | "route" => FactKind::Routes,
            "neighbours" | "neighbour" | "neighbors" | "neighbor" | "neigh" | "arp" => {
                FactKind::Neighbours
            }
            "bpf" | "tc" | "tcx" | "bpf_attached" | "programs" => FactKind::Bpf,
            "conntrack" | "ct" => FactKind::Conntrack,
            _ => return None,
        })
    }

    /// Singular noun for messages ("route", "neighbour entry"...).
    pub fn noun(self) -> &'static str {
        match self {
            FactKind::Links => "link",
            FactKind::Addresses => "address",
            FactKind::Routes => "route",
            FactKind::Neighbours => "neighbour entry",
            FactKind::Bpf => "attached BPF program",
            FactKind::Conntrack => "conntrack entry",
        }
    }
}

impl std::fmt::Display for FactKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Facts of one kind; serialises as `{"kind": "routes", "records": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "records", rename_all = "snake_case")]
pub enum Facts {
    Links(Vec<Link>),
    Addresses(Vec<Address>),
    Routes(Vec<Route>),
    Neighbours(Vec<Neighbour>),
    Bpf(Vec<BpfProgram>),
    Conntrack(Vec<ConntrackEntry>),
}

impl Facts {
    pub fn kind(&self) -> FactKind {
        match self {
            Facts::Links(_) => FactKind::Links,
            Facts::Addresses(_) => FactKind::Addresses,
            Facts::Routes(_) => FactKind::Routes,
            Facts::Neighbours(_) => FactKind::Neighbours,
            Facts::Bpf(_) => FactKind::Bpf,
            Facts::Conntrack(_) => FactKind::Conntrack,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Facts::Links(v) => v.len(),
            Facts::Addresses(v) => v.len(),
            Facts::Routes(v) => v.len(),
            Facts::Neighbours(v) => v.len(),
            Facts::Bpf(v) => v.len(),
            Facts::Conntrack(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every record as a JSON object (the form matchers and captures work on).
    pub fn records(&self) -> Vec<serde_json::Value> {
        fn all<T: Serialize>(v: &[T]) -> Vec<serde_json::Value> {
            v.iter()
                .map(|r| serde_json::to_value(r).unwrap_or(serde_json::Value::Null))
                .collect()
        }
        match self {
            Facts::Links(v) => all(v),
            Facts::Addresses(v) => all(v),
            Facts::Routes(v) => all(v),
            Facts::Neighbours(v) => all(v),
            Facts::Bpf(v) => all(v),
            Facts::Conntrack(v) => all(v),
        }
    }
}
