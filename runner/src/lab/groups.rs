//! Check groups: `any_of` (alternatives: a route repaired with `onlink` or through a
//! gateway) and `all_of` (several facts judged as one check, one score line). Members
//! are whole checks; the group's verdict combines theirs, and what each member expected
//! and found is kept so a failure says which alternatives were tried.

use serde_json::json;
use tplab_vocab::{Outcome, Verdict};

use super::checks::CheckSpec;

pub const ANY_OF: &str = "any_of";
pub const ALL_OF: &str = "all_of";
/// The group keys of a check item.
pub const KEYS: &[&str] = &[ANY_OF, ALL_OF];
/// Keys a member may not have: they belong to the group (one score line, one `tplab
/// test` expectation, one id in the report).
pub const GROUP_ONLY_KEYS: &[&str] = &["points", "before", "id", "hint"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Passes when one member passes.
    Any,
    /// Passes when every member passes.
    All,
}

impl Mode {
    pub fn of(key: &str) -> Self {
        if key == ANY_OF { Mode::Any } else { Mode::All }
    }

    pub fn key(self) -> &'static str {
        match self {
            Mode::Any => ANY_OF,
            Mode::All => ALL_OF,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Group {
    pub mode: Mode,
    pub members: Vec<CheckSpec>,
}

impl Group {
    pub fn display_name(&self) -> String {
        let names: Vec<String> = self.members.iter().map(CheckSpec::display_name).collect();
        let sep = match self.mode {
            Mode::Any => " or ",
            Mode::All => " and ",
        };
        names.join(sep)
    }
}

/// The group's outcome from its members' (name, outcome), in order. `evaluated` may be
/// shorter than the group when `any_of` stopped at its first pass.
///
/// - `any_of`: pass when a member passes; else error when one could not look (it might
///   have passed: the student is not charged); else fail.
/// - `all_of`: fail when a member fails (whatever the others); else error when one could
///   not look; else pass.
pub fn combine(mode: Mode, evaluated: &[(String, Outcome)]) -> Outcome {
    let has = |v: Verdict| evaluated.iter().any(|(_, o)| o.verdict == v);
    let verdict = match mode {
        Mode::Any if has(Verdict::Pass) => Verdict::Pass,
        Mode::All if has(Verdict::Fail) => Verdict::Fail,
        _ if has(Verdict::Error) => Verdict::Error,
        Mode::Any => Verdict::Fail,
        Mode::All => Verdict::Pass,
    };
    let numbered = |f: &dyn Fn(&Outcome) -> String| -> String {
        evaluated
            .iter()
            .enumerate()
            .map(|(i, (name, o))| format!("({}) {name}: {}", i + 1, f(o)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let lead = match mode {
        Mode::Any => "one of",
        Mode::All => "all of",
    };
    let expected = format!("{lead}: {}", numbered(&|o| o.expected.clone()));
    let found = numbered(&|o| {
        let word = match o.verdict {
            Verdict::Pass => "passed",
            Verdict::Fail => "failed",
            Verdict::Error => "could not be checked",
        };
        let detail = if o.verdict == Verdict::Error {
            &o.message
        } else {
            &o.found
        };
        if detail.is_empty() {
            word.to_string()
        } else {
            format!("{word}, {detail}")
        }
    });
    let members: Vec<serde_json::Value> = evaluated
        .iter()
        .map(|(name, o)| {
            json!({
                "name": name, "verdict": o.verdict, "expected": o.expected,
                "found": o.found, "message": o.message, "evidence": o.evidence,
            })
        })
        .collect();
    let mut captures = std::collections::BTreeMap::new();
    for (_, o) in evaluated.iter().filter(|(_, o)| o.passed()) {
        captures.extend(o.captures.clone());
    }
    let mut outcome = match verdict {
        Verdict::Pass => Outcome::pass(expected, found),
        Verdict::Fail => Outcome::fail(expected, found),
        Verdict::Error => {
            let mut o = Outcome::error(format!("a member could not be checked: {found}"));
            o.expected = expected;
            o
        }
    };
    if verdict == Verdict::Pass {
        outcome.captures = captures;
    }
    outcome.with_evidence(json!({ "group": mode.key(), "members": members }))
}

/// The share of a group's members that passed (its evidence), for partial credit.
pub fn share(outcome: &Outcome) -> Option<f64> {
    let members = outcome.evidence.get("members")?.as_array()?;
    if members.is_empty() {
        return None;
    }
    let passed = members
        .iter()
        .filter(|m| m.get("verdict").and_then(|v| v.as_str()) == Some("pass"))
        .count();
    #[allow(clippy::cast_precision_loss, reason = "a handful of members")]
    Some(passed as f64 / members.len() as f64)
}

/// The points a check earns: all when it passed; with `partial: true` (an `all_of`
/// group) that failed, the share of members that passed; else none. An error earns
/// nothing (and leaves the denominator, see the report's points policy).
pub fn earned(spec: Option<&CheckSpec>, outcome: &Outcome, max_points: f64) -> f64 {
    match outcome.verdict {
        Verdict::Pass => max_points,
        Verdict::Fail if spec.is_some_and(|s| s.partial) => {
            share(outcome).map_or(0.0, |f| (max_points * f * 100.0).round() / 100.0)
        }
        _ => 0.0,
    }
}

/// Whether the group may stop after this member's outcome (its verdict is settled).
pub fn settled(mode: Mode, outcome: &Outcome) -> bool {
    mode == Mode::Any && outcome.passed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(v: &[Outcome]) -> Vec<(String, Outcome)> {
        v.iter()
            .enumerate()
            .map(|(i, o)| (format!("m{i}"), o.clone()))
            .collect()
    }

    #[test]
    fn verdicts_combine_without_charging_errors() {
        let pass = Outcome::pass("a route via gw", "found");
        let fail = Outcome::fail("an onlink route", "no such route");
        let err = Outcome::error("no namespace");
        let v = |m, o: &[Outcome]| combine(m, &named(o)).verdict;
        assert_eq!(v(Mode::Any, &[fail.clone(), pass.clone()]), Verdict::Pass);
        assert_eq!(v(Mode::Any, &[fail.clone(), fail.clone()]), Verdict::Fail);
        assert_eq!(v(Mode::Any, &[fail.clone(), err.clone()]), Verdict::Error);
        assert_eq!(v(Mode::All, &[pass.clone(), pass.clone()]), Verdict::Pass);
        assert_eq!(
            v(Mode::All, &[pass.clone(), fail.clone(), err.clone()]),
            Verdict::Fail
        );
        assert_eq!(v(Mode::All, &[pass.clone(), err]), Verdict::Error);
        let o = combine(Mode::Any, &named(&[fail.clone(), fail]));
        assert_eq!(
            o.expected,
            "one of: (1) m0: an onlink route; (2) m1: an onlink route"
        );
        assert_eq!(
            o.found,
            "(1) m0: failed, no such route; (2) m1: failed, no such route"
        );
        assert_eq!(o.evidence["members"].as_array().map(Vec::len), Some(2));
        let mut captured = pass;
        captured.captures.insert("GW".into(), "10.0.0.1".into());
        let o = combine(Mode::All, &named(&[captured.clone()]));
        assert_eq!(o.captures["GW"], "10.0.0.1");
        let half = combine(Mode::All, &named(&[captured, Outcome::fail("x", "y")]));
        assert_eq!(share(&half), Some(0.5));
        let spec: CheckSpec =
            serde_yaml::from_str("{all_of: [{run: a}, {run: b}], partial: true}").expect("spec");
        assert!((earned(Some(&spec), &half, 3.0) - 1.5).abs() < 1e-9);
        assert!(earned(None, &half, 3.0).abs() < 1e-9);
    }
}
