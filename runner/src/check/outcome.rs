//! The result of evaluating one assertion once.

use std::collections::BTreeMap;

pub use tplab_report::Verdict;

#[derive(Debug, Clone)]
pub struct Outcome {
    pub verdict: Verdict,
    /// What was wanted, in words.
    pub expected: String,
    /// What was found, in words.
    pub found: String,
    /// Failure explanation or error cause.
    pub message: String,
    pub evidence: serde_json::Value,
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
            evidence: serde_json::Value::Null,
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
    pub fn with_evidence(mut self, evidence: serde_json::Value) -> Self {
        self.evidence = evidence;
        self
    }

    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }
}
