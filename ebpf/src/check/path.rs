//! The `packets` check: did a flow really take this path, hop by hop, before and after NAT?
//!
//! A hop matches events at its label and direction carrying the query's protocol and
//! addresses (a hop may override `src`/`dst` to express NAT), not earlier than the first
//! match of the previous hop.
//!
//! [`evaluate_path`] gives the shared [`Outcome`]: `expected` is [`PathQuery::describe`],
//! `found` the count of packets seen (pass) or what went wrong, hop by hop (fail); the
//! evidence is `{"hops": [HopEvidence…]}`, the hops matched so far ([`hops`]).

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tplab_vocab::Lang;
pub use tplab_vocab::{Outcome, Verdict};

use super::count::CountExpr;
use crate::observer::{Direction, PacketEvent};
use crate::proto::Proto;
use crate::trace::describe_hop;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathQuery {
    pub proto: Proto,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// Destination port (TCP/UDP); unset matches any.
    #[serde(default)]
    pub dport: Option<u16>,
    /// Observation window the caller should use (default 10 s).
    #[serde(default = "default_within", with = "tplab_vocab::serde_text")]
    pub within: Duration,
    /// Expected packets per hop (default `>= 1`); a hop may override it.
    #[serde(default)]
    pub count: CountExpr,
    pub path: Vec<HopSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HopSpec {
    /// Observation point label, e.g. `node:eth0`.
    pub at: String,
    pub dir: Direction,
    /// Source expected at this hop (after SNAT); default: the query's `src`.
    #[serde(default)]
    pub src: Option<Ipv4Addr>,
    /// Destination expected at this hop (after DNAT); default: the query's `dst`.
    #[serde(default)]
    pub dst: Option<Ipv4Addr>,
    #[serde(default)]
    pub count: Option<CountExpr>,
}

/// What was seen at a hop (kept as evidence in reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HopEvidence {
    pub at: String,
    pub dir: Direction,
    pub count: u64,
    pub first: String,
}

/// The hops a `packets` outcome saw (its evidence), empty for an outcome of another check.
pub fn hops(outcome: &Outcome) -> Vec<HopEvidence> {
    outcome
        .evidence
        .get("hops")
        .and_then(|h| serde_json::from_value(h.clone()).ok())
        .unwrap_or_default()
}

fn default_within() -> Duration {
    Duration::from_secs(10)
}

impl PathQuery {
    /// What the check expects, in words: `ICMP 10.244.0.213 -> 203.0.113.10 seen pod:eth0
    /// egress, then node:eth0 egress within 10s`.
    pub fn describe(&self) -> String {
        self.describe_in(Lang::En)
    }

    /// [`PathQuery::describe`] in `lang` (`… vu pod:eth0 egress, puis node:eth0 egress
    /// en moins de 10 s`).
    pub fn describe_in(&self, lang: Lang) -> String {
        let hops: Vec<String> = self
            .path
            .iter()
            .map(|h| format!("{} {:?}", h.at, h.dir).to_lowercase())
            .collect();
        let (seen, then, within, unit) = lang.pick(
            ("seen", ", then ", "within", "s"),
            ("vu", ", puis ", "en moins de", "\u{a0}s"),
        );
        format!(
            "{} {} -> {} {seen} {} {within} {}{unit}",
            self.proto.cilium_name(),
            self.src,
            self.dst,
            hops.join(then),
            self.within.as_secs()
        )
    }

    /// True when some hop asserts that nothing may pass there (`count: "== 0"`): such a
    /// check can only be judged once its window has closed.
    pub fn asserts_absence(&self) -> bool {
        self.path
            .iter()
            .any(|h| h.count.unwrap_or(self.count).allows_zero())
    }
}

impl HopSpec {
    fn phrase(&self, lang: Lang) -> String {
        match (self.dir, lang) {
            (Direction::Egress, Lang::En) => format!("leaving {}", self.at),
            (Direction::Ingress, Lang::En) => format!("entering {}", self.at),
            (Direction::Egress, Lang::Fr) => format!("sortant de {}", self.at),
            (Direction::Ingress, Lang::Fr) => format!("entrant dans {}", self.at),
        }
    }
}

/// Evaluates `q` over the events collected during the window (sentences in English).
pub fn evaluate_path(q: &PathQuery, events: &[PacketEvent]) -> Outcome {
    evaluate_path_in(q, events, Lang::En)
}

/// Evaluates `q` over the events collected during the window, its sentences in `lang`.
pub fn evaluate_path_in(q: &PathQuery, events: &[PacketEvent], lang: Lang) -> Outcome {
    let mut evidence: Vec<HopEvidence> = Vec::new();
    let fail = |message: String, evidence: &[HopEvidence]| {
        Outcome::fail(q.describe_in(lang), lang.typo(&message))
            .with_evidence(json!({ "hops": evidence }))
    };
    if q.path.is_empty() {
        return fail(
            lang.pick(
                "the packets check lists no hop (`path` is empty)",
                "la vérification de paquets ne liste aucun passage (`path` est vide)",
            )
            .into(),
            &evidence,
        );
    }
    let mut not_before = 0u64;
    for hop in &q.path {
        let src = hop.src.unwrap_or(q.src);
        let dst = hop.dst.unwrap_or(q.dst);
        let here = |e: &&PacketEvent| {
            e.label == hop.at
                && e.dir == hop.dir
                && e.proto == q.proto
                && e.ts_ns >= not_before
                && q.dport.is_none_or(|p| p == e.dport)
        };
        let seen: Vec<&PacketEvent> = events
            .iter()
            .filter(here)
            .filter(|e| e.src == src && e.dst == dst)
            .collect();
        let expect = hop.count.unwrap_or(q.count);
        let n = seen.len() as u64;
        if n == 0 && expect.allows_zero() {
            // "Never seen here" (`count: "== 0"`): asserted, and true so far.
            evidence.push(HopEvidence {
                at: hop.at.clone(),
                dir: hop.dir,
                count: 0,
                first: lang
                    .pick("(none, as expected)", "(aucun, comme attendu)")
                    .into(),
            });
            continue;
        }
        if n == 0 || !expect.holds_count(n) {
            let others: Vec<&PacketEvent> = events.iter().filter(here).collect();
            return fail(
                fail_message(q, hop, &evidence, n, expect, &others, (src, dst), lang),
                &evidence,
            );
        }
        not_before = seen[0].ts_ns;
        evidence.push(HopEvidence {
            at: hop.at.clone(),
            dir: hop.dir,
            count: n,
            first: describe_hop(seen[0]),
        });
    }
    let n = events.len() as u64;
    Outcome::pass(
        q.describe_in(lang),
        match lang {
            Lang::En => format!(
                "{} observed on the path",
                lang.count(n, "packet", "packets")
            ),
            Lang::Fr => format!(
                "{} sur le chemin",
                lang.count(n, "paquet observé", "paquets observés")
            ),
        },
    )
    .with_evidence(json!({ "hops": evidence }))
}

#[allow(clippy::too_many_arguments)]
fn fail_message(
    q: &PathQuery,
    hop: &HopSpec,
    seen_before: &[HopEvidence],
    n: u64,
    expect: CountExpr,
    others: &[&PacketEvent],
    (src, dst): (Ipv4Addr, Ipv4Addr),
    lang: Lang,
) -> String {
    let fr = lang == Lang::Fr;
    let prefix = if seen_before.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = seen_before.iter().map(|h| h.at.as_str()).collect();
        let and = lang.pick("and", "et");
        let list = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} {and} {last}", rest.join(", ")),
            _ => names.join(""),
        };
        lang.pick(
            format!("seen on {list}, but "),
            format!("vu sur {list}, mais "),
        )
    };
    let phrase = hop.phrase(lang);
    let proto = q.proto;
    if n > 0 {
        return match lang {
            Lang::En => format!(
                "{prefix}{} {phrase} ({src} -> {dst}), expected {expect}",
                lang.count(n, &format!("{proto} packet"), &format!("{proto} packets"))
            ),
            Lang::Fr => format!(
                "{prefix}{} {phrase} ({src} -> {dst}), attendu {expect}",
                lang.count(n, &format!("paquet {proto}"), &format!("paquets {proto}"))
            ),
        };
    }
    let mut what = lang.pick(format!("never {phrase}"), format!("aucun paquet {phrase}"));
    let (with_src, with_dst) = lang.pick(
        ("with source", "with destination"),
        ("avec la source", "avec la destination"),
    );
    if hop.src.is_some() {
        let _ = write!(what, " {with_src} {src}");
    }
    if hop.dst.is_some() {
        let _ = write!(what, " {with_dst} {dst}");
    }
    if hop.src.is_none() && hop.dst.is_none() {
        let _ = write!(what, " ({proto} {src} -> {dst})");
    }
    let verb = match (hop.dir, fr) {
        (Direction::Egress, false) => "leaving",
        (Direction::Ingress, false) => "entering",
        (Direction::Egress, true) => "sortant",
        (Direction::Ingress, true) => "entrant",
    };
    let hint = if let Some(o) = others.iter().find(|e| e.dst == dst && e.src != src) {
        match (hop.src.is_some(), fr) {
            (true, false) => format!(" (seen {verb} with source {}: NAT missing?)", o.src),
            (true, true) => format!(" (vu {verb} avec la source {} : NAT manquante ?)", o.src),
            (false, false) => format!(
                " (seen {verb} with source {} instead: unexpected NAT?)",
                o.src
            ),
            (false, true) => format!(
                " (vu {verb} avec la source {} à la place : NAT inattendue ?)",
                o.src
            ),
        }
    } else if let Some(o) = others.iter().find(|e| e.src == src && e.dst != dst) {
        lang.pick(
            format!(" (seen {verb} with destination {} instead: DNAT?)", o.dst),
            format!(
                " (vu {verb} avec la destination {} à la place : DNAT ?)",
                o.dst
            ),
        )
    } else if seen_before.is_empty() {
        lang.pick(
            format!(" (no {proto} packet there at all: was the traffic sent?)"),
            format!(" (aucun paquet {proto} à cet endroit : le trafic a-t-il été envoyé ?)"),
        )
    } else {
        lang.pick(
            format!(" (no {proto} packet {verb} there at all: route or forwarding missing?)"),
            format!(
                " (aucun paquet {proto} {verb} à cet endroit : route ou forwarding manquant ?)"
            ),
        )
    };
    format!("{prefix}{what}{hint}")
}
