//! The one declaration of every kernel-fact kind. From this table come the kind enum
//! and its names (`tplab probe` words, check keys, aliases, nouns), the typed facts, the
//! typed check queries (parsing, serialisation, matchers) and the dispatch to each
//! kind's collector — so a new kind is its own module plus one entry here.

use serde::{Deserialize, Serialize};

use crate::error::ProbeError;
use crate::query::{
    AddressQuery, BpfQuery, ConntrackQuery, LinkQuery, Matcher, NeighbourQuery, QueryError,
    RouteQuery, fields,
};
use crate::session::Session;

macro_rules! declare_kinds {
    ($(
        $(#[$doc:meta])*
        $kind:ident {
            check: $check:literal $(| $check_alias:literal)*,
            facts: $facts:literal $(| $facts_alias:literal)*,
            noun: $noun:literal,
            nouns: $nouns:literal,
            record: $record:ty,
            query: $query:ty,
            fields: $fields:expr,
            collect: $collect:path $(,)?
        }
    ),+ $(,)?) => {
        /// The kinds of kernel facts a probe can collect.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum FactKind {
            $($(#[$doc])* $kind),+
        }

        impl FactKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [FactKind] = &[$(FactKind::$kind),+];

            /// The word used on the command line (`tplab probe pod routes`).
            pub fn name(self) -> &'static str {
                match self { $(FactKind::$kind => $facts),+ }
            }

            /// The key of a `check` item (`route: {...}`).
            pub fn check_name(self) -> &'static str {
                match self { $(FactKind::$kind => $check),+ }
            }

            /// Parses a probe word; accepts the check key and natural aliases too.
            pub fn parse(s: &str) -> Option<FactKind> {
                let s = s.to_ascii_lowercase();
                $(
                    if s == $facts || s == $check $(|| s == $facts_alias)* $(|| s == $check_alias)* {
                        return Some(FactKind::$kind);
                    }
                )+
                None
            }

            /// The kind a check key names (`neighbor` spelled either way).
            pub fn from_check(key: &str) -> Option<FactKind> {
                $(
                    if key == $check $(|| key == $check_alias)* {
                        return Some(FactKind::$kind);
                    }
                )+
                None
            }

            /// Singular noun for messages ("route", "neighbour entry"...).
            pub fn noun(self) -> &'static str {
                match self { $(FactKind::$kind => $noun),+ }
            }

            /// Plural noun for messages ("routes", "neighbour entries"...).
            pub fn nouns(self) -> &'static str {
                match self { $(FactKind::$kind => $nouns),+ }
            }

            /// Field names of the kind's records: what a check may match and `capture` may
            /// name.
            pub fn fields(self) -> &'static [&'static str] {
                match self { $(FactKind::$kind => $fields),+ }
            }
        }

        /// Facts of one kind; serialises as `{"kind": "routes", "records": [...]}`.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "kind", content = "records", rename_all = "snake_case")]
        pub enum Facts {
            $($kind(Vec<$record>)),+
        }

        impl Facts {
            pub fn kind(&self) -> FactKind {
                match self { $(Facts::$kind(_) => FactKind::$kind),+ }
            }

            pub fn len(&self) -> usize {
                match self { $(Facts::$kind(v) => v.len()),+ }
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
                match self { $(Facts::$kind(v) => all(v)),+ }
            }
        }

        /// One typed fact check; in YAML/JSON, a single-key map whose key is the kind:
        /// `route: {dst: default}`.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(
            clippy::large_enum_variant,
            reason = "a handful of short-lived queries per step"
        )]
        pub enum Query {
            $($kind($query)),+
        }

        impl Query {
            /// Parses the body of a `key:` check item (any serde value: YAML or JSON).
            pub fn parse(key: &str, body: serde_json::Value) -> Result<Query, QueryError> {
                let kind = FactKind::from_check(key)
                    .ok_or_else(|| QueryError::UnknownKind(key.to_string()))?;
                let body = if body.is_null() { serde_json::json!({}) } else { body };
                let invalid = |e: serde_json::Error| QueryError::Invalid {
                    kind: kind.check_name().to_string(),
                    message: e.to_string(),
                };
                Ok(match kind {
                    $(FactKind::$kind => Query::$kind(serde_json::from_value(body).map_err(invalid)?)),+
                })
            }

            /// The facts this query needs.
            pub fn fact_kind(&self) -> FactKind {
                match self { $(Query::$kind(_) => FactKind::$kind),+ }
            }

            pub fn absent(&self) -> bool {
                match self { $(Query::$kind(q) => q.absent),+ }
            }

            /// `(record field, matcher)` pairs set by the query.
            pub fn matchers(&self) -> Vec<(&'static str, &Matcher)> {
                match self { $(Query::$kind(q) => q.matchers()),+ }
            }

            fn body(&self) -> serde_json::Result<serde_json::Value> {
                match self { $(Query::$kind(q) => serde_json::to_value(q)),+ }
            }
        }

        /// Collects the facts of `kind` in the session's netns, narrowed by `query` when
        /// the kind's collector can use it.
        pub(crate) async fn collect_kind(
            s: &mut Session,
            kind: FactKind,
            query: Option<&Query>,
        ) -> Result<Facts, ProbeError> {
            match kind {
                $(FactKind::$kind => {
                    let q = match query {
                        Some(Query::$kind(q)) => Some(q),
                        _ => None,
                    };
                    Ok(Facts::$kind($collect(s, q).await?))
                }),+
            }
        }
    };
}

declare_kinds! {
    /// Network interfaces.
    Links {
        check: "link",
        facts: "links",
        noun: "link",
        nouns: "links",
        record: crate::links::Link,
        query: LinkQuery,
        fields: fields::LINK,
        collect: crate::links::collect_for,
    },
    /// Interface addresses.
    Addresses {
        check: "address",
        facts: "addresses" | "addr" | "addrs",
        noun: "address",
        nouns: "addresses",
        record: crate::addrs::Address,
        query: AddressQuery,
        fields: fields::ADDRESS,
        collect: crate::addrs::collect_for,
    },
    /// Routes of every table.
    Routes {
        check: "route",
        facts: "routes",
        noun: "route",
        nouns: "routes",
        record: crate::routes::Route,
        query: RouteQuery,
        fields: fields::ROUTE,
        collect: crate::routes::collect_for,
    },
    /// The neighbour (ARP/NDP) table.
    Neighbours {
        check: "neighbour" | "neighbor",
        facts: "neighbours" | "neighbors" | "neigh" | "arp",
        noun: "neighbour entry",
        nouns: "neighbour entries",
        record: crate::neigh::Neighbour,
        query: NeighbourQuery,
        fields: fields::NEIGHBOUR,
        collect: crate::neigh::collect_for,
    },
    /// BPF programs attached with tc (legacy filters) or TCX.
    Bpf {
        check: "bpf_attached",
        facts: "bpf" | "tc" | "tcx" | "programs",
        noun: "attached BPF program",
        nouns: "attached BPF programs",
        record: crate::bpf::BpfProgram,
        query: BpfQuery,
        fields: fields::BPF,
        collect: crate::bpf::collect_for,
    },
    /// Connection tracking entries.
    Conntrack {
        check: "conntrack",
        facts: "conntrack" | "ct",
        noun: "conntrack entry",
        nouns: "conntrack entries",
        record: crate::conntrack::ConntrackEntry,
        query: ConntrackQuery,
        fields: fields::CONNTRACK,
        collect: crate::conntrack::collect_for,
    },
    /// `net.*` kernel parameters of the namespace.
    Sysctls {
        check: "sysctl",
        facts: "sysctls",
        noun: "sysctl",
        nouns: "sysctls",
        record: crate::sysctl::Sysctl,
        query: crate::sysctl::SysctlQuery,
        fields: crate::sysctl::FIELDS,
        collect: crate::sysctl::collect_for,
    },
    /// Packet-filter rules (`nf_tables`, as iptables-nft writes them).
    Firewall {
        check: "firewall",
        facts: "firewall" | "iptables" | "nft" | "rules",
        noun: "firewall rule",
        nouns: "firewall rules",
        record: crate::firewall::FirewallRule,
        query: crate::firewall::FirewallQuery,
        fields: crate::firewall::FIELDS,
        collect: crate::firewall::collect_for,
    },
    /// TCP and UDP sockets (`ss -tuanp`), read with `sock_diag`.
    Sockets {
        check: "socket",
        facts: "sockets" | "ss",
        noun: "socket",
        nouns: "sockets",
        record: crate::sockets::Socket,
        query: crate::sockets::SocketQuery,
        fields: crate::sockets::FIELDS,
        collect: crate::sockets::collect_for,
    },
}

impl Query {
    /// The check key as written in labs (`route`, `bpf_attached`...).
    pub fn kind_name(&self) -> &'static str {
        self.fact_kind().check_name()
    }

    /// The check keys this crate answers (the keys of a `check` item).
    pub fn kinds() -> impl Iterator<Item = &'static str> {
        FactKind::ALL.iter().map(|k| k.check_name())
    }
}

impl std::fmt::Display for FactKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Query {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = serde_json::Value::deserialize(d)?;
        let serde_json::Value::Object(map) = v else {
            return Err(D::Error::custom(
                "a check must be a map like `route: {dst: default}`",
            ));
        };
        let mut it = map.into_iter();
        match (it.next(), it.next()) {
            (Some((kind, body)), None) => Query::parse(&kind, body).map_err(D::Error::custom),
            _ => Err(D::Error::custom(format!(
                "a check must have exactly one kind key ({})",
                Query::kinds().collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}

impl Serialize for Query {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeMap as _};
        let body = self.body().map_err(S::Error::custom)?;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.kind_name(), &body)?;
        m.end()
    }
}
