//! Comparing a student's answer with the value computed live from their environment.

use crate::lab::question::AnswerMatch;

/// True when `given` is an acceptable form of `expected` under `mode`.
pub fn accepts(mode: AnswerMatch, expected: &str, given: &str) -> bool {
    let (e, g) = (expected.trim(), given.trim());
    match mode {
        AnswerMatch::Exact => e == g,
        AnswerMatch::Text => collapse(e).eq_ignore_ascii_case(&collapse(g)),
        AnswerMatch::Mac => match (mac(e), mac(g)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        AnswerMatch::Ip => match (ip(e), ip(g)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        AnswerMatch::Number => match (e.parse::<f64>(), sole_number(g)) {
            (Ok(a), Some(b)) => (a - b).abs() < 1e-9,
            _ => false,
        },
        AnswerMatch::Regex => regex::Regex::new(&format!("^(?:{e})$")).is_ok_and(|r| r.is_match(g)),
    }
}

/// The choices an answer names (numbered from 1): `2`, `1, 3`, `1 3`, a choice's text,
/// or texts separated by commas. `None` when some part names no choice.
pub fn chosen(given: &str, choices: &[String]) -> Option<std::collections::BTreeSet<usize>> {
    let by_text = |part: &str| {
        choices
            .iter()
            .position(|c| accepts(AnswerMatch::Text, c, part))
    };
    if let Some(i) = by_text(given) {
        return Some([i].into());
    }
    let numbers: Option<std::collections::BTreeSet<usize>> = given
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.trim_end_matches(['.', ')'])
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=choices.len()).contains(n))
                .map(|n| n - 1)
        })
        .collect();
    if let Some(set) = numbers.filter(|s| !s.is_empty()) {
        return Some(set);
    }
    let texts: Option<std::collections::BTreeSet<usize>> = given
        .split([',', ';'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(by_text)
        .collect();
    texts.filter(|s| !s.is_empty())
}

/// Partial credit of a multiple-answer choice: (right − wrong) / right answers, in 0..=1.
pub fn choice_credit(
    want: &std::collections::BTreeSet<usize>,
    got: &std::collections::BTreeSet<usize>,
) -> f64 {
    if want.is_empty() {
        return 0.0;
    }
    let right = got.intersection(want).count();
    let wrong = got.difference(want).count();
    #[allow(clippy::cast_precision_loss, reason = "a handful of choices")]
    let credit = (right as f64 - wrong as f64) / want.len() as f64;
    credit.clamp(0.0, 1.0)
}

/// The one number in an answer (`632`, `id 632`, `3,5`): the words around it are the
/// student's phrasing; two numbers are ambiguous, so none.
fn sole_number(s: &str) -> Option<f64> {
    static NUMBER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"[-+]?\d+(?:[.,]\d+)?").expect("valid regex")
    });
    let mut found = NUMBER.find_iter(s);
    let one = found.next()?;
    if found.next().is_some() {
        return None;
    }
    one.as_str().replace(',', ".").parse().ok()
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A MAC in `aa:bb:..`, `aa-bb-..`, `aabb.ccdd.eeff` or bare hex form, as 6 bytes.
fn mac(s: &str) -> Option<[u8; 6]> {
    let hex: String = s.chars().filter(char::is_ascii_hexdigit).collect();
    let seps = s
        .chars()
        .filter(|c| !c.is_ascii_hexdigit())
        .all(|c| matches!(c, ':' | '-' | '.'));
    if hex.len() != 12 || !seps {
        return None;
    }
    let mut out = [0u8; 6];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// An IP address; a `/32` or `/128` suffix is tolerated, other prefixes are kept.
fn ip(s: &str) -> Option<(std::net::IpAddr, Option<u8>)> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let addr: std::net::IpAddr = addr.trim().parse().ok()?;
    let full = if addr.is_ipv4() { 32 } else { 128 };
    Some((addr, prefix.filter(|p| *p != full)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_by_number_or_text() {
        let choices: Vec<String> = ["main", "local", "10.0.0.1"].map(String::from).into();
        let set = |v: &[usize]| Some(v.iter().copied().collect());
        assert_eq!(chosen("2", &choices), set(&[1]));
        assert_eq!(chosen(" Local ", &choices), set(&[1]));
        assert_eq!(chosen("3, 1", &choices), set(&[0, 2]));
        assert_eq!(chosen("1 3", &choices), set(&[0, 2]));
        assert_eq!(chosen("1) 2.", &choices), set(&[0, 1]));
        assert_eq!(chosen("main, 10.0.0.1", &choices), set(&[0, 2]));
        assert_eq!(chosen("4", &choices), None);
        assert_eq!(chosen("main, nope", &choices), None);
        assert_eq!(chosen("", &choices), None);
        let (want, got) = (set(&[0, 1]).unwrap(), set(&[0]).unwrap());
        assert!((choice_credit(&want, &got) - 0.5).abs() < 1e-9);
        assert!(choice_credit(&want, &set(&[0, 2]).unwrap()).abs() < 1e-9);
        assert!((choice_credit(&want, &want) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn macs_in_any_notation() {
        let e = "f6:93:7d:11:4d:37";
        assert!(accepts(AnswerMatch::Mac, e, "F6-93-7D-11-4D-37"));
        assert!(accepts(AnswerMatch::Mac, e, " f693.7d11.4d37 "));
        assert!(!accepts(AnswerMatch::Mac, e, "f6:93:7d:11:4d:38"));
        assert!(!accepts(AnswerMatch::Mac, e, "hello"));
    }

    #[test]
    fn ips_numbers_text() {
        assert!(accepts(AnswerMatch::Ip, "10.244.0.201", "10.244.0.201/32"));
        assert!(!accepts(AnswerMatch::Ip, "10.244.0.201", "10.244.0.201/24"));
        assert!(accepts(AnswerMatch::Number, "138", " 138 "));
        // The student's phrasing around the one number is theirs.
        assert!(accepts(AnswerMatch::Number, "632", "id 632"));
        assert!(accepts(AnswerMatch::Number, "3.5", "3,5"));
        assert!(!accepts(AnswerMatch::Number, "632", "632 or 633"));
        assert!(!accepts(AnswerMatch::Number, "632", "six"));
        assert!(accepts(AnswerMatch::Text, "cilium_host", "Cilium_Host"));
        assert!(accepts(
            AnswerMatch::Regex,
            "lxc[0-9a-f]{12}",
            "lxcf4cd39e34601"
        ));
        assert!(!accepts(AnswerMatch::Exact, "A", "a"));
    }
}
