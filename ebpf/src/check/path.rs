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
use super::flags::TcpFlags;
use crate::observer::{Direction, PacketEvent};
use crate::proto::Proto;
use crate::trace::describe_hop;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathQuery {
    pub proto: Proto,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// Source port (TCP/UDP); unset matches any. A hop may override it (after SNAT).
    #[serde(default)]
    pub sport: Option<u16>,
    /// Destination port (TCP/UDP); unset matches any. A hop may override it (after
    /// DNAT: `8080` sent, `80` at the backend).
    #[serde(default)]
    pub dport: Option<u16>,
    /// TCP flags every matched packet carries (`[syn, ack]`: the server's answer to a
    /// connection); a hop may override it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<TcpFlags>,
    /// TCP flags no matched packet may carry (`[rst]`: a refusal is not an answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_flags: Option<TcpFlags>,
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
    /// Source port expected at this hop; default: the query's `sport`.
    #[serde(default)]
    pub sport: Option<u16>,
    /// Destination port expected at this hop (after DNAT); default: the query's `dport`.
    #[serde(default)]
    pub dport: Option<u16>,
    /// TCP flags required at this hop; default: the query's `flags`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<TcpFlags>,
    /// TCP flags refused at this hop; default: the query's `not_flags`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_flags: Option<TcpFlags>,
    #[serde(default)]
    pub count: Option<CountExpr>,
    /// `absent: true`: the flow must never be seen here (the same as `count: "== 0"`).
    #[serde(default)]
    pub absent: bool,
}

/// What was seen at a hop (kept as evidence in reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HopEvidence {
    pub at: String,
    pub dir: Direction,
    pub count: u64,
    pub first: String,
    /// The first matching packet's fields (none for a hop that saw nothing, as expected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet: Option<SeenPacket>,
}

/// The fields of the first packet a hop matched: what `capture` may store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenPacket {
    pub ifname: String,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    /// Its TCP flags (`SYN,ACK`); empty for other protocols.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub flags: String,
}

impl SeenPacket {
    fn of(e: &PacketEvent) -> Self {
        Self {
            ifname: e.ifname.clone(),
            src: e.src,
            dst: e.dst,
            sport: e.sport,
            dport: e.dport,
            flags: if e.proto == Proto::Tcp {
                TcpFlags(e.tcp_flags).to_string()
            } else {
                String::new()
            },
        }
    }
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
            .map(|h| {
                let mut hop = format!("{} {:?}", h.at, h.dir).to_lowercase();
                let (want, refuse) = self.flags_at(h);
                if !want.is_empty() {
                    let _ = write!(hop, " [{want}]");
                }
                if !refuse.is_empty() {
                    let _ = write!(hop, " [{} {refuse}]", lang.pick("no", "sans"));
                }
                hop
            })
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
        self.path.iter().any(|h| self.expect(h).allows_zero())
    }

    /// The count a hop expects: `absent` is `== 0`, else its own count or the query's.
    pub(super) fn expect(&self, hop: &HopSpec) -> CountExpr {
        if hop.absent {
            CountExpr::parse("== 0").expect("a valid comparison")
        } else {
            hop.count.unwrap_or(self.count)
        }
    }

    /// The flags a hop requires and refuses: its own, else the query's.
    fn flags_at(&self, hop: &HopSpec) -> (TcpFlags, TcpFlags) {
        (
            hop.flags.or(self.flags).unwrap_or_default(),
            hop.not_flags.or(self.not_flags).unwrap_or_default(),
        )
    }

    /// What serde cannot say: contradictions between keys. The engine judges exactly
    /// what passes here, so lint calls it too.
    pub fn validate(&self) -> Result<(), String> {
        if self.path.is_empty() {
            return Err("`path` lists no hop".into());
        }
        for (i, hop) in self.path.iter().enumerate() {
            if hop.absent && hop.count.is_some() {
                return Err(format!(
                    "path[{i}] ({}): `absent: true` and `count` together; keep one",
                    hop.at
                ));
            }
            if hop
                .at
                .split_once(':')
                .is_none_or(|(r, i)| r.is_empty() || i.is_empty())
            {
                return Err(format!(
                    "path[{i}]: `at: {}`: expected `role:interface`, e.g. `node:eth0`",
                    hop.at
                ));
            }
        }
        let ports = self.sport.is_some()
            || self.dport.is_some()
            || self
                .path
                .iter()
                .any(|h| h.sport.is_some() || h.dport.is_some());
        if ports && !matches!(self.proto, Proto::Tcp | Proto::Udp) {
            return Err(format!(
                "ports (`sport`, `dport`) only exist for tcp and udp, not {}",
                self.proto
            ));
        }
        let flags = self.flags.is_some()
            || self.not_flags.is_some()
            || self
                .path
                .iter()
                .any(|h| h.flags.is_some() || h.not_flags.is_some());
        if flags && self.proto != Proto::Tcp {
            return Err(format!(
                "TCP flags (`flags`, `not_flags`) only exist for tcp, not {}",
                self.proto
            ));
        }
        for (i, hop) in self.path.iter().enumerate() {
            let (want, refuse) = self.flags_at(hop);
            if want.0 & refuse.0 != 0 {
                return Err(format!(
                    "path[{i}] ({}): {} both required (`flags`) and refused (`not_flags`)",
                    hop.at,
                    TcpFlags(want.0 & refuse.0)
                ));
            }
        }
        if self.path.iter().all(|h| self.expect(h).allows_zero()) {
            return Err(
                "every hop may see nothing: the check would pass without any traffic; \
                 name at least one hop the flow must cross"
                    .into(),
            );
        }
        Ok(())
    }

    /// Where a `capture` field reads: `FIELD` (the first hop that saw the flow) or
    /// `path[N].FIELD` (hop N, counted from 0). The hop must be one that sees packets.
    pub fn capture_source(&self, field: &str) -> Result<(usize, &'static str), String> {
        let (index, name) = if let Some(rest) = field.strip_prefix("path[") {
            let (n, name) = rest
                .split_once("].")
                .ok_or_else(|| format!("`{field}`: expected `path[N].FIELD`"))?;
            let n: usize = n
                .parse()
                .map_err(|_| format!("`{field}`: `{n}` is not a hop number"))?;
            if n >= self.path.len() {
                return Err(format!(
                    "`{field}`: the path has {} hop(s), numbered from 0",
                    self.path.len()
                ));
            }
            (n, name)
        } else {
            let first = self.path.iter().position(|h| !self.expect(h).allows_zero());
            (first.unwrap_or(0), field)
        };
        let name = PACKET_FIELDS.iter().find(|f| **f == name).ok_or_else(|| {
            format!(
                "a `packets` check has no field `{name}` to capture (expected one of: {}, \
                     optionally as `path[N].FIELD`)",
                PACKET_FIELDS.join(", ")
            )
        })?;
        if self.expect(&self.path[index]).allows_zero() {
            return Err(format!(
                "`{field}`: hop {index} ({}) may see no packet, so it has nothing to capture",
                self.path[index].at
            ));
        }
        Ok((index, name))
    }
}

/// Fields of a hop's first packet that `capture` may name.
pub const PACKET_FIELDS: &[&str] = &["src", "dst", "sport", "dport", "ifname", "flags"];

/// The value of a capture field (see [`PathQuery::capture_source`]) in a passing outcome.
pub fn captured(q: &PathQuery, outcome: &Outcome, field: &str) -> Result<String, String> {
    let (index, name) = q.capture_source(field)?;
    let evidence = hops(outcome);
    let packet = evidence
        .get(index)
        .and_then(|h| h.packet.as_ref())
        .ok_or_else(|| format!("hop {index} saw no packet to capture `{field}` from"))?;
    Ok(match name {
        "src" => packet.src.to_string(),
        "dst" => packet.dst.to_string(),
        "sport" => packet.sport.to_string(),
        "dport" => packet.dport.to_string(),
        "flags" => packet.flags.clone(),
        _ => packet.ifname.clone(),
    })
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
    if let Err(e) = q.validate() {
        return Outcome::error(lang.pick(
            format!("this packets check cannot be judged: {e}"),
            format!("cette vérification de paquets ne peut pas être jugée : {e}"),
        ));
    }
    let mut not_before = 0u64;
    for hop in &q.path {
        let src = hop.src.unwrap_or(q.src);
        let dst = hop.dst.unwrap_or(q.dst);
        let sport = hop.sport.or(q.sport);
        let dport = hop.dport.or(q.dport);
        let (want, refuse) = q.flags_at(hop);
        let here = |e: &&PacketEvent| {
            e.label == hop.at && e.dir == hop.dir && e.proto == q.proto && e.ts_ns >= not_before
        };
        let seen: Vec<&PacketEvent> = events
            .iter()
            .filter(here)
            .filter(|e| {
                e.src == src
                    && e.dst == dst
                    && sport.is_none_or(|p| p == e.sport)
                    && dport.is_none_or(|p| p == e.dport)
                    && want.all_in(e.tcp_flags)
                    && refuse.none_in(e.tcp_flags)
            })
            .collect();
        let expect = q.expect(hop);
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
                packet: None,
            });
            continue;
        }
        if n == 0 || !expect.holds_count(n) {
            let others: Vec<&PacketEvent> = events.iter().filter(here).collect();
            return fail(
                fail_message(
                    q,
                    hop,
                    &evidence,
                    n,
                    expect,
                    &others,
                    (src, dst, dport),
                    lang,
                ),
                &evidence,
            );
        }
        not_before = seen[0].ts_ns;
        evidence.push(HopEvidence {
            at: hop.at.clone(),
            dir: hop.dir,
            count: n,
            first: describe_hop(seen[0]),
            packet: Some(SeenPacket::of(seen[0])),
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
    (src, dst, dport): (Ipv4Addr, Ipv4Addr, Option<u16>),
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
    if hop.dport.is_some() {
        let port = dport.unwrap_or_default();
        let _ = write!(
            what,
            "{}",
            lang.pick(format!(" to port {port}"), format!(" vers le port {port}"))
        );
    }
    let (want, refuse) = q.flags_at(hop);
    if !want.is_empty() {
        let _ = write!(
            what,
            "{}",
            lang.pick(
                format!(" with flags [{want}]"),
                format!(" avec les drapeaux [{want}]")
            )
        );
    }
    if !refuse.is_empty() {
        let _ = write!(
            what,
            "{}",
            lang.pick(format!(" without [{refuse}]"), format!(" sans [{refuse}]"))
        );
    }
    if hop.src.is_none() && hop.dst.is_none() && hop.dport.is_none() {
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
    } else if let Some(o) = others
        .iter()
        .find(|e| e.src == src && e.dst == dst && dport.is_some_and(|p| p != e.dport))
    {
        lang.pick(
            format!(" (seen {verb} to port {} instead: DNAT?)", o.dport),
            format!(" (vu {verb} vers le port {} à la place : DNAT ?)", o.dport),
        )
    } else if let Some(o) = others.iter().find(|e| {
        e.src == src && e.dst == dst && dport.is_none_or(|p| p == e.dport) && e.proto == Proto::Tcp
    }) {
        let flags = TcpFlags(o.tcp_flags);
        lang.pick(
            format!(" (seen {verb} with flags [{flags}] instead)"),
            format!(" (vu {verb} avec les drapeaux [{flags}] à la place)"),
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
