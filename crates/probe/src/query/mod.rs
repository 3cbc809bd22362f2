//! Check queries over facts: one struct per check kind (`link`, `address`, `route`,
//! `neighbour`, `bpf_attached`, `conntrack`), each field an optional [`Matcher`] on the
//! record field of the same name, plus `absent: true` to assert that nothing matches.

mod describe;
mod eval;
pub(crate) mod fields;
mod matcher;
mod netaddr;

use serde::{Deserialize, Serialize};

pub use crate::kinds::Query;

pub use describe::{noun, nouns};
pub use eval::{Outcome, Verdict, evaluate, evaluate_in, matching};
pub use fields::{field_type, fields};
pub use matcher::{FieldType, Matcher};

/// Declares a check query: each field an optional [`Matcher`] on the record field of
/// the same name, plus `absent`. Kinds declared in their own module use it too.
macro_rules! query_struct {
    ($(#[$doc:meta])* $name:ident { $($field:ident $(as $rename:literal)? $(| $alias:literal)*),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Assert that NO record matches the other fields.
            #[serde(default, skip_serializing_if = "std::ops::Not::not")]
            pub absent: bool,
            $(
                #[serde(default, skip_serializing_if = "Option::is_none")]
                $(#[serde(rename = $rename)])?
                $(#[serde(alias = $alias)])*
                pub $field: Option<$crate::query::Matcher>,
            )*
        }

        impl $name {
            /// `(record field, matcher)` for every field the query sets.
            pub fn matchers(&self) -> Vec<(&'static str, &$crate::query::Matcher)> {
                let mut out = Vec::new();
                $(
                    if let Some(m) = &self.$field {
                        out.push(($crate::query::query_struct!(@name $field $(, $rename)?), m));
                    }
                )*
                out
            }
        }
    };
    (@name $field:ident, $rename:literal) => { $rename };
    (@name $field:ident) => { stringify!($field) };
}
#[allow(unused_imports, reason = "for kinds declared in their own module")]
pub(crate) use query_struct;

query_struct!(
    /// `link:` — e.g. `{mac: "{{ GW_MAC }}", name: {regex: "^lxc"}}`.
    LinkQuery { name | "dev", ifindex, mac, oper_state | "state", admin_up, mtu, kind,
        master, peer_ifindex, peer, peer_netns_id, flags }
);
query_struct!(
    /// `address:` — e.g. `{ifname: cilium_host, address: 10.244.0.201}`.
    AddressQuery { ifname | "dev", ifindex, family, address, prefix_len, scope, peer }
);
query_struct!(
    /// `route:` — e.g. `{dst: default, gateway: 10.244.0.201, dev: eth0}`.
    RouteQuery { family, table, dst, gateway | "via", dev, scope, protocol, kind as "type",
        prefsrc, metric }
);
query_struct!(
    /// `neighbour:` — e.g. `{ip: 10.244.0.201, dev: eth0, state: {one_of: [REACHABLE, STALE, PERMANENT]}}`.
    NeighbourQuery { ip, lladdr | "mac", dev, ifindex, family, state, router }
);
query_struct!(
    /// `bpf_attached:` — e.g. `{dev: lxc1, direction: ingress, name: {regex: from-container}}`,
    /// matching legacy tc filters and TCX programs alike (narrow with `attach: tc|tcx`).
    BpfQuery { dev, ifindex, direction, attach, name, prog_name, id, tag, direct_action, pref,
        handle, chain, order }
);
query_struct!(
    /// `conntrack:` — e.g. `{proto: icmp, src: 10.244.0.213, dst: 203.0.113.10, snat: true,
    /// reply_dst: 198.51.100.2}`.
    ConntrackQuery { family, proto, src, dst, sport, dport, icmp_type, icmp_code, icmp_id,
        reply_src, reply_dst, reply_sport, reply_dport, reply_icmp_type, reply_icmp_id, state,
        snat, dnat, assured, seen_reply, status, mark, zone, timeout, id }
);

/// A query that could not be parsed (a lint error for the lab author).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(
        "unknown check kind `{0}` (expected one of: {known})",
        known = Query::kinds().collect::<Vec<_>>().join(", ")
    )]
    UnknownKind(String),
    #[error("invalid `{kind}` check: {message}")]
    Invalid { kind: String, message: String },
}

impl Query {
    /// What the query expects, as a student-readable sentence
    /// ("a default route via 10.244.0.201 dev eth0"; "no ..." for `absent` queries).
    pub fn describe(&self) -> String {
        self.describe_in(tplab_vocab::Lang::En)
    }

    /// [`Query::describe`] in `lang` ("une route par défaut via 10.244.0.201 dev eth0").
    pub fn describe_in(&self, lang: tplab_vocab::Lang) -> String {
        if self.absent() {
            format!(
                "{} {}",
                describe::none_of(self.fact_kind(), lang),
                describe::bare(self, lang)
            )
        } else {
            describe::expected(self, lang)
        }
    }

    /// Capturable field names of this query's records.
    pub fn fields(&self) -> &'static [&'static str] {
        self.fact_kind().fields()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FactKind;

    #[test]
    fn parses_yaml_items() {
        let q: Query =
            serde_yaml::from_str("route: {dst: default, via: 10.244.0.201, dev: eth0}").unwrap();
        assert_eq!(q.kind_name(), "route");
        assert_eq!(q.fact_kind(), FactKind::Routes);
        let names: Vec<_> = q.matchers().iter().map(|(f, _)| *f).collect();
        assert_eq!(names, ["dst", "gateway", "dev"]);
        let q: Query =
            serde_yaml::from_str("neighbor: {ip: 10.0.0.1, mac: aa:bb:cc:dd:ee:ff}").unwrap();
        assert_eq!(q.kind_name(), "neighbour");
        let q = Query::parse(
            "route",
            serde_json::json!({"type": "local", "absent": true}),
        )
        .unwrap();
        assert!(q.absent());
        assert_eq!(q.matchers()[0].0, "type");
    }

    #[test]
    fn yaml_scalars_stay_what_authors_wrote() {
        // YAML 1.1 would read this MAC as a base-60 number; serde_yaml (YAML 1.2) must not.
        let q: Query = serde_yaml::from_str("link: {mac: 12:34:56:12:34:56, mtu: 1500}").unwrap();
        let v = serde_json::to_value(&q).unwrap();
        assert_eq!(v["link"]["mac"], "12:34:56:12:34:56");
        assert_eq!(v["link"]["mtu"], 1500);
    }

    #[test]
    fn unknown_fields_and_kinds_are_errors() {
        let e = Query::parse("route", serde_json::json!({"gw": "1.2.3.4"})).unwrap_err();
        assert!(e.to_string().contains("unknown field `gw`"), "{e}");
        assert!(matches!(
            Query::parse("arp", serde_json::json!({})),
            Err(QueryError::UnknownKind(_))
        ));
        let e = serde_yaml::from_str::<Query>("{route: {}, link: {}}").unwrap_err();
        assert!(e.to_string().contains("exactly one kind"), "{e}");
        let e = Query::parse("link", serde_json::json!({"mac": {"regexp": "x"}})).unwrap_err();
        assert!(e.to_string().contains("unknown matcher"), "{e}");
    }

    #[test]
    fn every_query_field_is_a_record_field() {
        let all = [
            Query::parse("link", serde_json::json!({})).unwrap(),
            Query::parse("conntrack", serde_json::json!({})).unwrap(),
        ];
        for q in all {
            assert!(!q.fields().is_empty());
        }
        // Round-trip through serde keeps the query.
        let q = Query::parse(
            "bpf_attached",
            serde_json::json!({"dev": "lxc1", "name": {"regex": "from-container"}}),
        )
        .unwrap();
        let back: Query = serde_json::from_value(serde_json::to_value(&q).unwrap()).unwrap();
        assert_eq!(q, back);
    }
}
