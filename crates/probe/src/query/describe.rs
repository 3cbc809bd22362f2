//! Student-readable sentence for what a query expects, in the lab's language
//! ("a default route via 10.244.0.201 dev eth0", "une route par défaut via 10.244.0.201
//! dev eth0"). Field names and values stay as the kernel writes them.

use tplab_vocab::Lang;

use super::Query;
use super::matcher::Matcher;
use crate::facts::FactKind;

/// Singular and plural noun of a kind, and whether French makes it feminine.
pub fn noun(kind: FactKind, lang: Lang) -> &'static str {
    match lang {
        Lang::En => kind.noun(),
        Lang::Fr => french(kind).0,
    }
}

pub fn nouns(kind: FactKind, lang: Lang) -> &'static str {
    match lang {
        Lang::En => kind.nouns(),
        Lang::Fr => french(kind).1,
    }
}

/// (singular, plural, feminine) in French.
fn french(kind: FactKind) -> (&'static str, &'static str, bool) {
    match kind {
        FactKind::Links => ("interface", "interfaces", true),
        FactKind::Addresses => ("adresse", "adresses", true),
        FactKind::Routes => ("route", "routes", true),
        FactKind::Neighbours => ("entrée de voisinage", "entrées de voisinage", true),
        FactKind::Bpf => ("programme BPF attaché", "programmes BPF attachés", false),
        FactKind::Conntrack => ("entrée conntrack", "entrées conntrack", true),
        FactKind::Sysctls => ("sysctl", "sysctls", false),
        FactKind::Firewall => ("règle de pare-feu", "règles de pare-feu", true),
        FactKind::Sockets => ("socket", "sockets", false),
    }
}

/// Phrase for one field inside the sentence.
fn phrase(kind: FactKind, field: &str, m: &Matcher, lang: Lang) -> String {
    let d = m.describe_in(lang);
    let is_true = m.plain().as_deref() == Some("true");
    let is_false = m.plain().as_deref() == Some("false");
    let flag = |yes: &str, no: &str| -> String {
        if is_true {
            yes.into()
        } else if is_false {
            no.into()
        } else {
            format!("{} {d}", field.replace('_', " "))
        }
    };
    let fr = lang == Lang::Fr;
    match (kind, field) {
        (FactKind::Routes, "gateway") => format!("via {d}"),
        (FactKind::Routes | FactKind::Neighbours | FactKind::Bpf, "dev") => format!("dev {d}"),
        (FactKind::Addresses, "ifname") | (FactKind::Bpf, "direction") => {
            format!("{} {d}", lang.pick("on", "sur"))
        }
        // "named lxc1", but "with a name matching /^lxc/".
        (FactKind::Links | FactKind::Bpf, "name") if m.plain().is_some() => {
            format!("{} {d}", lang.pick("named", "de nom"))
        }
        (FactKind::Links | FactKind::Bpf, "name") => {
            format!("{} {d}", lang.pick("with a name", "au nom"))
        }
        (FactKind::Bpf, "attach") => format!("{} {d}", lang.pick("attached with", "attaché par")),
        (FactKind::Conntrack, "snat") if fr => flag("avec SNAT", "sans SNAT"),
        (FactKind::Conntrack, "dnat") if fr => flag("avec DNAT", "sans DNAT"),
        (FactKind::Conntrack, "assured") if fr => {
            flag("confirmée (assured)", "non confirmée (assured)")
        }
        (FactKind::Conntrack, "seen_reply") if fr => flag("avec réponse", "sans réponse"),
        (FactKind::Links, "admin_up") if fr => {
            flag("activée (admin up)", "désactivée (admin down)")
        }
        (FactKind::Bpf, "direct_action") if fr => {
            flag("en mode direct-action", "hors du mode direct-action")
        }
        (FactKind::Neighbours, "router") if fr => flag("marquée routeur", "non marquée routeur"),
        (FactKind::Conntrack, "snat") => flag("source-NATed", "not source-NATed"),
        (FactKind::Conntrack, "dnat") => flag("destination-NATed", "not destination-NATed"),
        (FactKind::Conntrack, "assured") => flag("assured", "not assured"),
        (FactKind::Conntrack, "seen_reply") => flag("replied", "without reply"),
        (FactKind::Links, "admin_up") => flag("administratively up", "administratively down"),
        (FactKind::Bpf, "direct_action") => {
            flag("in direct-action mode", "not in direct-action mode")
        }
        (FactKind::Neighbours, "router") => flag("flagged router", "not flagged router"),
        (_, f) => format!("{} {d}", f.replace('_', " ")),
    }
}

/// The head noun phrase of the sentence and the fields it already names.
fn head(q: &Query, lang: Lang) -> (String, Vec<&'static str>) {
    let kind = q.fact_kind();
    let ms = q.matchers();
    let get = |f: &str| ms.iter().find(|(n, _)| *n == f).map(|(_, m)| *m);
    let d = |m: &Matcher| m.describe_in(lang);
    let mut used: Vec<&'static str> = Vec::new();
    let head = match kind {
        FactKind::Routes => {
            used.push("dst");
            match get("dst") {
                Some(m)
                    if m.plain()
                        .is_some_and(|d| d == "default" || d.ends_with("/0")) =>
                {
                    lang.pick("default route", "route par défaut").into()
                }
                Some(m) => format!("{} {}", lang.pick("route to", "route vers"), d(m)),
                None => "route".into(),
            }
        }
        FactKind::Neighbours => {
            used.push("ip");
            match get("ip") {
                Some(m) => {
                    format!("{} {}", noun(kind, lang), lang.pick("for", "pour")) + " " + &d(m)
                }
                None => noun(kind, lang).into(),
            }
        }
        FactKind::Conntrack => {
            let proto = get("proto").and_then(Matcher::plain);
            if proto.is_some() {
                used.push("proto");
            }
            let mut head = match (lang, proto) {
                (Lang::En, Some(p)) => format!("{p} conntrack entry"),
                (Lang::Fr, Some(p)) => format!("entrée conntrack {p}"),
                (_, None) => noun(kind, lang).into(),
            };
            if let (Some(s), Some(t)) = (get("src"), get("dst")) {
                head = format!("{head} {} -> {}", d(s), d(t));
                used.extend(["src", "dst"]);
            }
            head
        }
        FactKind::Bpf => {
            let mut head = lang.pick("BPF program", "programme BPF").to_string();
            if let Some(dev) = get("dev") {
                head = format!("{head} {} {}", lang.pick("on", "sur"), d(dev));
                used.push("dev");
                if let Some(dir) = get("direction") {
                    head = format!("{head} {}", d(dir));
                    used.push("direction");
                }
            }
            head
        }
        FactKind::Addresses => {
            used.push("address");
            match get("address") {
                Some(m) => format!("{} {}", noun(kind, lang), d(m)),
                None => noun(kind, lang).into(),
            }
        }
        // Links, and kinds whose sentence is their noun and fields.
        _ => noun(kind, lang).into(),
    };
    (head, used)
}

/// "a default route via X dev Y" / "an icmp conntrack entry 10.0.0.1 -> 10.0.0.2, source-NATed".
pub fn expected(q: &Query, lang: Lang) -> String {
    let kind = q.fact_kind();
    let (head, used) = head(q, lang);
    let rest: Vec<String> = q
        .matchers()
        .iter()
        .filter(|(f, _)| !used.contains(f))
        .map(|(f, m)| phrase(kind, f, m, lang))
        .collect();
    let mut s = format!("{} {head}", article(kind, &head, lang));
    if !rest.is_empty() {
        if matches!(kind, FactKind::Routes | FactKind::Addresses) {
            s.push(' ');
            s.push_str(&rest.join(" "));
        } else {
            // "a link named eth0", "a link with mac …", "a route …, dev eth0".
            let named = [
                lang.pick("named ", "de nom "),
                lang.pick("with a name", "au nom"),
            ]
            .iter()
            .any(|p| rest[0].starts_with(p));
            s.push_str(if used.is_empty() && !named {
                lang.pick(" with ", " avec ")
            } else if used.is_empty() {
                " "
            } else {
                ", "
            });
            s.push_str(&rest.join(", "));
        }
    }
    s
}

/// Same sentence without the article, for "no ..." clauses.
pub fn bare(q: &Query, lang: Lang) -> String {
    let e = expected(q, lang);
    let articles: &[&str] = lang.pick(&["an ", "a "], &["une ", "un "]);
    articles
        .iter()
        .find_map(|a| e.strip_prefix(a))
        .unwrap_or(&e)
        .to_string()
}

/// "no route ..." / "aucune route ..." (French agrees with the noun's gender).
pub fn none_of(kind: FactKind, lang: Lang) -> &'static str {
    match lang {
        Lang::En => "no",
        Lang::Fr if french(kind).2 => "aucune",
        Lang::Fr => "aucun",
    }
}

fn article(kind: FactKind, word: &str, lang: Lang) -> &'static str {
    match lang {
        Lang::Fr if french(kind).2 => "une",
        Lang::Fr => "un",
        Lang::En => match word.chars().next() {
            Some(c) if "aeiouAEIOU".contains(c) => "an",
            _ => "a",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected_en(q: &Query) -> String {
        expected(q, Lang::En)
    }

    fn bare_en(q: &Query) -> String {
        bare(q, Lang::En)
    }

    fn q(y: &str) -> Query {
        serde_yaml::from_str(y).unwrap()
    }

    #[test]
    fn sentences() {
        assert_eq!(
            expected_en(&q(
                "route: {dst: default, gateway: 10.244.0.201, dev: eth0}"
            )),
            "a default route via 10.244.0.201 dev eth0"
        );
        assert_eq!(
            expected_en(&q(
                "conntrack: {proto: icmp, src: 10.244.0.213, dst: 203.0.113.10, snat: true, reply_dst: 198.51.100.2}"
            )),
            "an icmp conntrack entry 10.244.0.213 -> 203.0.113.10, reply dst 198.51.100.2, source-NATed"
        );
        assert_eq!(
            expected_en(&q(
                "bpf_attached: {dev: lxc1, direction: ingress, name: {regex: from-container}}"
            )),
            "a BPF program on lxc1 ingress, with a name matching /from-container/"
        );
        assert_eq!(
            expected_en(&q("neighbour: {ip: 10.0.0.1}")),
            "a neighbour entry for 10.0.0.1"
        );
        assert_eq!(
            bare_en(&q("link: {mac: aa:bb:cc:dd:ee:ff}")),
            "link with mac aa:bb:cc:dd:ee:ff"
        );
    }

    #[test]
    fn french_sentences() {
        let fr = |y: &str| expected(&q(y), Lang::Fr);
        assert_eq!(
            fr("route: {dst: default, gateway: 10.244.0.201, dev: eth0}"),
            "une route par défaut via 10.244.0.201 dev eth0"
        );
        assert_eq!(
            fr("neighbour: {ip: 10.244.0.201, lladdr: {exists: true}, dev: eth0}"),
            "une entrée de voisinage pour 10.244.0.201, lladdr présent, dev eth0"
        );
        assert_eq!(
            fr("conntrack: {proto: icmp, src: 10.244.0.213, dst: 203.0.113.10, snat: true}"),
            "une entrée conntrack icmp 10.244.0.213 -> 203.0.113.10, avec SNAT"
        );
        assert_eq!(
            fr("bpf_attached: {dev: lxc1, direction: ingress, name: {regex: from-container}}"),
            "un programme BPF sur lxc1 ingress, au nom correspondant à /from-container/"
        );
        assert_eq!(
            bare(&q("link: {mac: aa:bb:cc:dd:ee:ff}"), Lang::Fr),
            "interface avec mac aa:bb:cc:dd:ee:ff"
        );
    }
}
