//! The result of evaluating one check once, shared by every checker: the probe's fact
//! queries, the eBPF packet-path and CT-map checks, and the runner's command checks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Pass, fail, or the checker could not look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// The checker could not look: never charged to the student.
    Error,
}

/// One check's verdict, in words a student can act on, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub verdict: Verdict,
    /// What was wanted, in words.
    pub expected: String,
    /// What was found, in words.
    pub found: String,
    /// Failure explanation or error cause.
    pub message: String,
    /// What the checker saw (e.g. `{"record": …}` for a fact query, `{"hops": […]}` for
    /// a packet path); `Null` when nothing is worth keeping.
    pub evidence: Value,
    /// Variables captured on success.
    pub captures: BTreeMap<String, String>,
}

impl Outcome {
    pub fn pass(expected: impl Into<String>, found: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Pass,
            expected: expected.into(),
            found: found.into(),
            message: String::new(),
            evidence: Value::Null,
            captures: BTreeMap::new(),
        }
    }

    pub fn fail(expected: impl Into<String>, found: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Fail,
            ..Self::pass(expected, found)
        }
    }

    /// The checker could not look: never charged to the student.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Error,
            message: message.into(),
            ..Self::pass("", "")
        }
    }

    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    #[must_use]
    pub fn with_evidence(mut self, evidence: Value) -> Self {
        self.evidence = evidence;
        self
    }

    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors() {
        let p = Outcome::pass("a", "b").with_evidence(serde_json::json!({"record": 1}));
        assert!(p.passed());
        assert_eq!((p.expected.as_str(), p.found.as_str()), ("a", "b"));
        assert_eq!(p.evidence["record"], 1);
        let f = Outcome::fail("a", "c").with_message("why");
        assert_eq!((f.verdict, f.message.as_str()), (Verdict::Fail, "why"));
        let e = Outcome::error("no netns");
        assert_eq!(e.verdict, Verdict::Error);
        assert!(!e.passed() && e.expected.is_empty() && e.evidence.is_null());
    }

    #[test]
    fn verdicts_are_lowercase_words() {
        let words: Vec<String> = [Verdict::Pass, Verdict::Fail, Verdict::Error]
            .iter()
            .map(|v| serde_json::to_string(v).unwrap())
            .collect();
        assert_eq!(words, ["\"pass\"", "\"fail\"", "\"error\""]);
    }
}
