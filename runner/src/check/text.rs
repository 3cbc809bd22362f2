//! Matching a command's output text against a [`TextMatch`].

use std::collections::BTreeMap;

use crate::lab::matchers::TextMatch;

/// Problems found (empty = match), plus named regex captures.
pub struct TextResult {
    pub problems: Vec<String>,
    pub captures: BTreeMap<String, String>,
    pub expected: Vec<String>,
}

pub fn check(stream: &str, m: &TextMatch, text: &str) -> Result<TextResult, String> {
    let mut r = TextResult {
        problems: Vec::new(),
        captures: BTreeMap::new(),
        expected: Vec::new(),
    };
    for needle in &m.contains.0 {
        r.expected.push(format!("{stream} contains \"{needle}\""));
        if !text.contains(needle.as_str()) {
            r.problems
                .push(format!("{stream} does not contain \"{needle}\""));
        }
    }
    for needle in &m.not_contains.0 {
        r.expected
            .push(format!("{stream} does not contain \"{needle}\""));
        if text.contains(needle.as_str()) {
            r.problems.push(format!("{stream} contains \"{needle}\""));
        }
    }
    // The newline that ends a command's output is not part of it: `$` matches before it.
    let body = text.strip_suffix('\n').unwrap_or(text);
    if let Some(re) = &m.regex {
        let regex = re.compile()?;
        r.expected.push(format!("{stream} matches /{}/", re.0));
        match regex.captures(body) {
            Some(caps) => {
                for name in regex.capture_names().flatten() {
                    if let Some(v) = caps.name(name) {
                        r.captures.insert(name.to_string(), v.as_str().to_string());
                    }
                }
            }
            None => r
                .problems
                .push(format!("{stream} does not match /{}/", re.0)),
        }
    }
    if let Some(re) = &m.not_regex {
        let regex = re.compile()?;
        r.expected
            .push(format!("{stream} does not match /{}/", re.0));
        if regex.is_match(body) {
            r.problems.push(format!("{stream} matches /{}/", re.0));
        }
    }
    if let Some(eq) = &m.equals {
        r.expected.push(format!("{stream} is \"{eq}\""));
        if text.trim() != eq.trim() {
            r.problems.push(format!("{stream} is \"{}\"", text.trim()));
        }
    }
    if let Some(cmp) = &m.lines {
        let n = text.lines().filter(|l| !l.trim().is_empty()).count();
        r.expected.push(format!("{stream} has {cmp} lines"));
        #[allow(clippy::cast_precision_loss)]
        if !cmp.holds(n as f64) {
            r.problems.push(format!("{stream} has {n} lines"));
        }
    }
    if let Some(cmp) = &m.number {
        r.expected.push(format!("{stream} number {cmp}"));
        match first_number(text) {
            Some(x) if cmp.holds(x) => {}
            Some(x) => r.problems.push(format!("{stream} number is {x}")),
            None => r.problems.push(format!("{stream} has no number")),
        }
    }
    if let Some(empty) = m.empty {
        r.expected.push(format!(
            "{stream} is {}",
            if empty { "empty" } else { "not empty" }
        ));
        if text.trim().is_empty() != empty {
            r.problems.push(format!(
                "{stream} is {}",
                if empty { "not empty" } else { "empty" }
            ));
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
        let ok = check("stdout", &m, "64 bytes time=0.05 ms\n1 received\n").unwrap();
        assert!(ok.problems.is_empty());
        assert_eq!(ok.captures["RTT"], "0.05");
        let bad = check("stdout", &m, "0 received\n").unwrap();
        assert_eq!(bad.problems.len(), 3);
    }

    #[test]
    fn dollar_matches_before_the_final_newline() {
        let m = TextMatch {
            regex: Some(Pattern(r"^\d+ \d+$".into())),
            ..TextMatch::default()
        };
        assert!(
            check("stdout", &m, "46274 46274\n")
                .unwrap()
                .problems
                .is_empty()
        );
        assert!(
            !check("stdout", &m, "46274 46274\n\n")
                .unwrap()
                .problems
                .is_empty()
        );
    }
}
