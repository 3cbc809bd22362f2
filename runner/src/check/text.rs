//! Matching a command's output text against a [`TextMatch`].

use std::collections::BTreeMap;

use tplab_vocab::Lang;

use crate::lab::matchers::TextMatch;

/// Problems found (empty = match), plus named regex captures.
pub struct TextResult {
    pub problems: Vec<String>,
    pub captures: BTreeMap<String, String>,
    pub expected: Vec<String>,
}

pub fn check(stream: &str, m: &TextMatch, text: &str, lang: Lang) -> Result<TextResult, String> {
    let mut r = TextResult {
        problems: Vec::new(),
        captures: BTreeMap::new(),
        expected: Vec::new(),
    };
    let fr = lang == Lang::Fr;
    // English keeps its straight quotes; French writes « ».
    let q = |s: &str| {
        if fr {
            lang.quote(s)
        } else {
            format!("\"{s}\"")
        }
    };
    let (contains, lacks, matches, unmatched, is) = lang.pick(
        (
            "contains",
            "does not contain",
            "matches",
            "does not match",
            "is",
        ),
        (
            "contient",
            "ne contient pas",
            "correspond à",
            "ne correspond pas à",
            "vaut",
        ),
    );
    for needle in &m.contains.0 {
        r.expected
            .push(format!("{stream} {contains} {}", q(needle)));
        if !text.contains(needle.as_str()) {
            r.problems.push(format!("{stream} {lacks} {}", q(needle)));
        }
    }
    for needle in &m.not_contains.0 {
        r.expected.push(format!("{stream} {lacks} {}", q(needle)));
        if text.contains(needle.as_str()) {
            r.problems
                .push(format!("{stream} {contains} {}", q(needle)));
        }
    }
    // The newline that ends a command's output is not part of it: `$` matches before it.
    let body = text.strip_suffix('\n').unwrap_or(text);
    if let Some(re) = &m.regex {
        let regex = re.compile()?;
        r.expected.push(format!("{stream} {matches} /{}/", re.0));
        match regex.captures(body) {
            Some(caps) => {
                for name in regex.capture_names().flatten() {
                    if let Some(v) = caps.name(name) {
                        r.captures.insert(name.to_string(), v.as_str().to_string());
                    }
                }
            }
            None => r.problems.push(format!("{stream} {unmatched} /{}/", re.0)),
        }
    }
    if let Some(re) = &m.not_regex {
        let regex = re.compile()?;
        r.expected.push(format!("{stream} {unmatched} /{}/", re.0));
        if regex.is_match(body) {
            r.problems.push(format!("{stream} {matches} /{}/", re.0));
        }
    }
    if let Some(eq) = &m.equals {
        r.expected.push(format!("{stream} {is} {}", q(eq)));
        if text.trim() != eq.trim() {
            r.problems.push(format!("{stream} {is} {}", q(text.trim())));
        }
    }
    if let Some(cmp) = &m.lines {
        let n = text.lines().filter(|l| !l.trim().is_empty()).count();
        r.expected.push(match lang {
            Lang::En => format!("{stream} has {cmp} lines"),
            Lang::Fr => format!("{stream} a {cmp} lignes"),
        });
        #[allow(clippy::cast_precision_loss)]
        if !cmp.holds(n as f64) {
            let has = lang.pick("has", "a");
            r.problems.push(format!(
                "{stream} {has} {}",
                lang.count(
                    n as u64,
                    lang.pick("line", "ligne"),
                    lang.pick("lines", "lignes")
                )
            ));
        }
    }
    if let Some(cmp) = &m.number {
        r.expected.push(match lang {
            Lang::En => format!("{stream} number {cmp}"),
            Lang::Fr => format!("{stream} contient un nombre {cmp}"),
        });
        match first_number(text) {
            Some(x) if cmp.holds(x) => {}
            Some(x) => r.problems.push(match lang {
                Lang::En => format!("{stream} number is {x}"),
                Lang::Fr => format!("le nombre de {stream} vaut {x}"),
            }),
            None => r.problems.push(match lang {
                Lang::En => format!("{stream} has no number"),
                Lang::Fr => format!("{stream} ne contient aucun nombre"),
            }),
        }
    }
    if let Some(empty) = m.empty {
        let (yes, no) = lang.pick(("is empty", "is not empty"), ("est vide", "n’est pas vide"));
        r.expected
            .push(format!("{stream} {}", if empty { yes } else { no }));
        if text.trim().is_empty() != empty {
            r.problems
                .push(format!("{stream} {}", if empty { no } else { yes }));
        }
    }
    Ok(r)
}

fn first_number(text: &str) -> Option<f64> {
    let re = regex::Regex::new(r"-?\d+(?:\.\d+)?").expect("valid");
    re.find(text).and_then(|m| m.as_str().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::matchers::{Cmp, OneOrMany, Pattern};

    #[test]
    fn reports_each_problem() {
        let m = TextMatch {
            contains: OneOrMany(vec!["1 received".into()]),
            regex: Some(Pattern(r"time=(?P<RTT>[\d.]+)".into())),
            lines: Some(Cmp::parse(">= 2").unwrap()),
            ..TextMatch::default()
        };
        let ok = check(
            "stdout",
            &m,
            "64 bytes time=0.05 ms\n1 received\n",
            Lang::En,
        )
        .unwrap();
        assert!(ok.problems.is_empty());
        assert_eq!(ok.captures["RTT"], "0.05");
        let bad = check("stdout", &m, "0 received\n", Lang::En).unwrap();
        assert_eq!(bad.problems.len(), 3);
    }

    #[test]
    fn french_problems() {
        let m = TextMatch {
            contains: OneOrMany(vec!["1 received".into()]),
            lines: Some(Cmp::parse(">= 2").unwrap()),
            empty: Some(false),
            ..TextMatch::default()
        };
        let r = check("stdout", &m, "0 received\n", Lang::Fr).unwrap();
        assert_eq!(
            r.expected,
            [
                "stdout contient «\u{202f}1 received\u{202f}»",
                "stdout a >= 2 lignes",
                "stdout n’est pas vide"
            ]
        );
        assert_eq!(
            r.problems,
            [
                "stdout ne contient pas «\u{202f}1 received\u{202f}»",
                "stdout a 1 ligne"
            ]
        );
    }

    #[test]
    fn dollar_matches_before_the_final_newline() {
        let m = TextMatch {
            regex: Some(Pattern(r"^\d+ \d+$".into())),
            ..TextMatch::default()
        };
        assert!(
            check("stdout", &m, "46274 46274\n", Lang::En)
                .unwrap()
                .problems
                .is_empty()
        );
        assert!(
            !check("stdout", &m, "46274 46274\n\n", Lang::En)
                .unwrap()
                .problems
                .is_empty()
        );
    }
}
