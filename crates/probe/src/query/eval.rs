//! Evaluating a query over facts: pass with the matched record in the evidence (for
//! captures), or fail with what was expected and what was found, in words a student can
//! act on.

use serde_json::{Value, json};
use tplab_vocab::Lang;
pub use tplab_vocab::{Outcome, Verdict};

use super::Query;
use super::describe::{bare, expected, none_of, noun, nouns};
use super::fields::field_type;
use super::matcher::{Matcher, text};
use crate::facts::{FactKind, Facts};
use crate::render::summary;

const LIST_LIMIT: usize = 8;

fn matches_all(kind: FactKind, ms: &[(&'static str, &Matcher)], r: &Value) -> bool {
    ms.iter()
        .all(|(f, m)| m.matches(field_type(kind, f), r.get(*f)))
}

/// The records of `facts` that every matcher of `query` accepts (for counts over facts;
/// `absent` is not looked at).
pub fn matching(query: &Query, facts: &Facts) -> Vec<Value> {
    let kind = facts.kind();
    if query.fact_kind() != kind {
        return Vec::new();
    }
    let ms = query.matchers();
    facts
        .records()
        .into_iter()
        .filter(|r| matches_all(kind, &ms, r))
        .collect()
}

/// Evaluates `query` over `facts` (which must be of `query.fact_kind()`), in English.
pub fn evaluate(query: &Query, facts: &Facts) -> Outcome {
    evaluate_in(query, facts, Lang::En)
}

/// Evaluates `query` over `facts`, its sentences in `lang`.
///
/// A pass says what the query wants (`expected`, [`Query::describe_in`]) and the matched
/// record in words (`found`); its evidence is `{"record": …}` (`null` for a passing
/// `absent` query). A kind mismatch is a caller bug, never the student's: an error.
pub fn evaluate_in(query: &Query, facts: &Facts, lang: Lang) -> Outcome {
    let kind = facts.kind();
    if query.fact_kind() != kind {
        return Outcome::error(match lang {
            Lang::En => format!("a `{}` check was given {kind} facts", query.kind_name()),
            Lang::Fr => format!(
                "une vérification `{}` a reçu des faits `{kind}` (erreur interne)",
                query.kind_name()
            ),
        });
    }
    let records = facts.records();
    let ms = query.matchers();
    let mut hits = records.iter().filter(|r| matches_all(kind, &ms, r));
    let first = hits.next();
    let no = none_of(kind, lang);
    if query.absent() {
        return match first {
            None => Outcome::pass(
                query.describe_in(lang),
                match lang {
                    Lang::En => format!(
                        "no {} ({} checked)",
                        bare(query, lang),
                        lang.count(records.len() as u64, kind.noun(), kind.nouns())
                    ),
                    Lang::Fr => format!(
                        "{no} {} (parmi {})",
                        bare(query, lang),
                        lang.count(records.len() as u64, noun(kind, lang), nouns(kind, lang))
                    ),
                },
            )
            .with_evidence(json!({ "record": Value::Null })),
            Some(r) => {
                let more = hits.count();
                let extra = if more > 0 {
                    lang.pick(
                        format!(" (and {more} more)"),
                        format!(" (et {more} de plus)"),
                    )
                } else {
                    String::new()
                };
                Outcome::fail(
                    format!("{no} {}", bare(query, lang)),
                    format!("{}{extra}", summary(kind, r)),
                )
            }
        };
    }
    match first {
        Some(r) => Outcome::pass(query.describe_in(lang), summary(kind, r))
            .with_evidence(json!({ "record": r })),
        None => Outcome::fail(
            expected(query, lang),
            found(query, kind, &ms, &records, lang),
        ),
    }
}

/// Records worth listing: hide the kernel's `local` route table and IPv6 routes,
/// addresses and neighbours unless the query is about them (they drown the student's).
fn relevant<'a>(
    kind: FactKind,
    ms: &[(&'static str, &Matcher)],
    records: &'a [Value],
) -> Vec<&'a Value> {
    let v6 = ms
        .iter()
        .any(|(f, m)| *f == "family" || m.describe().contains(':'));
    let table = ms.iter().any(|(f, _)| *f == "table");
    let state = ms.iter().any(|(f, _)| *f == "state");
    records
        .iter()
        .filter(|r| {
            let local = kind == FactKind::Routes && r.get("table") == Some(&Value::from("local"));
            let inet6 = r.get("family") == Some(&Value::from("inet6"));
            // NOARP neighbour entries (loopback, multicast) are kernel bookkeeping.
            let noarp = kind == FactKind::Neighbours
                && !state
                && r.get("state") == Some(&Value::from("NOARP"));
            (table || !local) && (v6 || !inet6) && !noarp
        })
        .collect()
}

fn found(
    query: &Query,
    kind: FactKind,
    ms: &[(&'static str, &Matcher)],
    records: &[Value],
    lang: Lang,
) -> String {
    let shown = relevant(kind, ms, records);
    let no = none_of(kind, lang);
    let here = lang.pick("in this namespace", "dans ce namespace");
    if shown.is_empty() {
        return match lang {
            Lang::En => format!("no {} {here}", kind.nouns()),
            Lang::Fr => format!("{no} {} {here}", noun(kind, lang)),
        };
    }
    let mut parts = vec![format!("{no} {} {here}", bare(query, lang))];
    if ms.len() >= 2 {
        let score = |r: &Value| {
            ms.iter()
                .filter(|(f, m)| m.matches(field_type(kind, f), r.get(*f)))
                .count()
        };
        // The first best-scoring record; only worth showing when it is really close
        // (half the fields or more).
        let best = shown
            .iter()
            .enumerate()
            .max_by_key(|(i, r)| (score(r), std::cmp::Reverse(*i)))
            .map(|(_, r)| *r);
        if let Some(best) = best
            && score(best) > 0
            && score(best) * 2 >= ms.len()
        {
            let why: Vec<String> = ms
                .iter()
                .filter(|(f, m)| !m.matches(field_type(kind, f), best.get(*f)))
                .map(|(f, m)| {
                    let have = best
                        .get(*f)
                        .filter(|v| !v.is_null())
                        .map_or_else(|| lang.pick("unset", "absent").into(), text_of);
                    let field = f.replace('_', " ");
                    let want = m.describe_in(lang);
                    match lang {
                        Lang::En => format!("{field} is {have}, expected {want}"),
                        Lang::Fr => format!("{field} vaut {have}, attendu {want}"),
                    }
                })
                .collect();
            let closest = match lang {
                Lang::En => "closest",
                Lang::Fr if no == "aucune" => "la plus proche",
                Lang::Fr => "le plus proche",
            };
            parts.push(format!(
                "{closest}{} {} ({})",
                lang.colon(),
                summary(kind, best),
                why.join(lang.semicolon())
            ));
        }
    }
    // What shares a field with the query (the same name, the same device) is what the
    // student needs; the rest of a host's many links or routes only hides it.
    let near: Vec<&Value> = shown
        .iter()
        .copied()
        .filter(|r| {
            ms.iter()
                .any(|(f, m)| m.matches(field_type(kind, f), r.get(*f)))
        })
        .collect();
    let (listed, label) = if near.is_empty() || near.len() == shown.len() {
        (shown.clone(), nouns(kind, lang).to_string())
    } else {
        let label = match lang {
            Lang::En => format!("{} sharing a field with the query", kind.nouns()),
            Lang::Fr => format!(
                "{} qui partagent un champ avec la requête",
                nouns(kind, lang)
            ),
        };
        (near, label)
    };
    let mut list: Vec<String> = listed
        .iter()
        .take(LIST_LIMIT)
        .map(|r| summary(kind, r))
        .collect();
    if listed.len() > LIST_LIMIT {
        let more = listed.len() - LIST_LIMIT;
        list.push(lang.pick(format!("… {more} more"), format!("… {more} de plus")));
    }
    parts.push(format!(
        "{label}{} {}",
        lang.colon(),
        list.join(lang.semicolon())
    ));
    if listed.len() < shown.len() {
        let others = (shown.len() - listed.len()) as u64;
        parts.push(match lang {
            Lang::En => format!("{others} other {} not shown", kind.nouns()),
            // « autre » has one form for both genders: no agreement to get wrong.
            Lang::Fr if others < 2 => format!("sans compter 1 autre {}", noun(kind, lang)),
            Lang::Fr => format!("sans compter {others} autres {}", nouns(kind, lang)),
        });
    }
    parts.join(lang.semicolon())
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(","),
        v => text(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn route(table: &str, dst: &str, gw: Option<&str>, dev: &str, scope: &str) -> Value {
        json!({"family":"inet","table":table,"dst":dst,"gateway":gw,"dev":dev,"scope":scope,
               "protocol":"boot","type":"unicast","prefsrc":null,"metric":null})
    }

    #[allow(clippy::needless_pass_by_value, reason = "test helper")]
    fn routes(v: Vec<Value>) -> Facts {
        serde_json::from_value(json!({"kind":"routes","records":v})).unwrap()
    }

    fn q(y: &str) -> Query {
        serde_yaml::from_str(y).unwrap()
    }

    #[test]
    fn pod_default_route_passes_with_record() {
        let f = routes(vec![
            route("main", "default", Some("10.244.0.201"), "eth0", "global"),
            route("main", "10.244.0.201/32", None, "eth0", "link"),
        ]);
        let o = evaluate(
            &q("route: {dst: default, gateway: 10.244.0.201, dev: eth0}"),
            &f,
        );
        assert!(o.passed(), "{o:?}");
        assert_eq!(o.evidence["record"]["gateway"], "10.244.0.201");
        assert_eq!(o.found, "default via 10.244.0.201 dev eth0");
        let host = evaluate(
            &q("route: {dst: 10.244.0.201/32, dev: eth0, scope: link}"),
            &f,
        );
        assert!(host.passed());
    }

    #[test]
    fn missing_default_route_says_what_exists() {
        let f = routes(vec![
            route("main", "10.244.0.201/32", None, "eth0", "link"),
            route("local", "10.244.0.213/32", None, "eth0", "host"),
        ]);
        let o = evaluate(
            &q("route: {dst: default, gateway: 10.244.0.201, dev: eth0}"),
            &f,
        );
        assert_eq!(o.verdict, Verdict::Fail, "{o:?}");
        let (expected, found) = (o.expected, o.found);
        assert_eq!(expected, "a default route via 10.244.0.201 dev eth0");
        assert!(
            found.starts_with("no default route via 10.244.0.201 dev eth0 in this namespace"),
            "{found}"
        );
        assert!(
            found.contains("routes: 10.244.0.201 dev eth0 scope link"),
            "{found}"
        );
        assert!(
            !found.contains("10.244.0.213"),
            "local table must be hidden: {found}"
        );
    }

    #[test]
    fn wrong_gateway_names_the_difference() {
        let f = routes(vec![route(
            "main",
            "default",
            Some("10.0.0.1"),
            "eth0",
            "global",
        )]);
        let o = evaluate(&q("route: {dst: default, gateway: 10.244.0.201}"), &f);
        assert_eq!(o.verdict, Verdict::Fail);
        let found = o.found;
        assert!(found.contains("closest: default via 10.0.0.1 dev eth0 (gateway is 10.0.0.1, expected 10.244.0.201)"), "{found}");
    }

    #[test]
    fn empty_facts() {
        let o = evaluate(&q("route: {dst: default}"), &routes(vec![]));
        assert_eq!(o.verdict, Verdict::Fail);
        assert_eq!(o.found, "no routes in this namespace");
    }

    #[test]
    fn absent_queries() {
        let f = routes(vec![route(
            "main",
            "default",
            Some("10.0.0.1"),
            "eth0",
            "global",
        )]);
        let none = evaluate(&q("route: {dst: 198.51.100.0/24, absent: true}"), &f);
        assert!(none.passed());
        assert_eq!(none.evidence, json!({ "record": null }));
        let o = evaluate(&q("route: {dst: default, absent: true}"), &f);
        assert_eq!(o.verdict, Verdict::Fail);
        assert_eq!(o.expected, "no default route");
        assert_eq!(o.found, "default via 10.0.0.1 dev eth0");
    }

    #[test]
    fn conntrack_nat_check() {
        let e = |snat: bool, reply_dst: &str| {
            json!({"family":"ipv4","proto":"icmp","src":"10.244.0.213","dst":"203.0.113.10","sport":null,"dport":null,
              "icmp_type":8,"icmp_code":0,"icmp_id":7,"reply_src":"203.0.113.10","reply_dst":reply_dst,
              "reply_sport":null,"reply_dport":null,"reply_icmp_type":0,"reply_icmp_id":7,"state":null,
              "snat":snat,"dnat":false,"assured":false,"seen_reply":true,"status":[],"mark":0,"zone":0,
              "timeout":29,"id":1})
        };
        let query = q(
            "conntrack: {proto: icmp, src: 10.244.0.213, dst: 203.0.113.10, snat: true, reply_dst: 198.51.100.2}",
        );
        let nat: Facts =
            serde_json::from_value(json!({"kind":"conntrack","records":[e(true, "198.51.100.2")]}))
                .unwrap();
        assert!(evaluate(&query, &nat).passed());
        let plain: Facts = serde_json::from_value(
            json!({"kind":"conntrack","records":[e(false, "10.244.0.213")]}),
        )
        .unwrap();
        let o = evaluate(&query, &plain);
        assert_eq!(o.verdict, Verdict::Fail);
        let found = o.found;
        assert!(found.contains("snat is false, expected true"), "{found}");
        assert!(
            found.contains("reply dst is 10.244.0.213, expected 198.51.100.2"),
            "{found}"
        );
    }

    #[test]
    fn kind_mismatch_is_an_error_not_a_fail() {
        let o = evaluate(&q("link: {name: eth0}"), &routes(vec![]));
        assert_eq!(o.verdict, Verdict::Error);
        assert!(o.message.contains("given routes facts"), "{o:?}");
    }
}
