//! `question` blocks: a YAML body asking the student something whose answer is
//! computed live (a template over captured variables and environment facts).

use serde::Deserialize;

use super::matchers::OneOrMany;

/// How an answer is compared with the expected value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerMatch {
    /// Trimmed, case-insensitive, inner whitespace collapsed.
    #[default]
    Text,
    /// Byte for byte after trimming.
    Exact,
    /// A MAC address in any usual notation (`:`/`-`/`.` separated, any case).
    Mac,
    /// An IP address, optionally with a prefix length.
    Ip,
    /// A number (integer or decimal).
    Number,
    /// The expected value is a regex the answer must match fully.
    Regex,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionSpec {
    pub id: Option<String>,
    pub prompt: String,
    /// Template computing the expected answer, e.g. `"{{ GW_MAC }}"`.
    pub answer: String,
    #[serde(default, rename = "match")]
    pub mode: AnswerMatch,
    pub points: Option<f64>,
    pub attempts: Option<u32>,
    /// Shown after the question is settled (right, or out of attempts).
    pub explain: Option<String>,
    #[serde(default)]
    pub hint: OneOrMany,
    /// Other accepted forms of the answer (templates), e.g. the `lxc…@ifN` form the
    /// explanation itself uses for an interface name.
    #[serde(default)]
    pub accept: OneOrMany,
    /// Targeted feedback for typical wrong answers.
    #[serde(default)]
    pub feedback: Vec<Feedback>,
    #[serde(default)]
    pub env: OneOrMany,
}

/// What to tell a student who gave a typical wrong answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    /// Template of the wrong answer, compared like the answer (`match`).
    pub answer: String,
    /// What to say (template).
    pub says: String,
}

impl QuestionSpec {
    /// The keys without a default (checked by presence, so a missing one has its code).
    pub const REQUIRED: &[&str] = &["prompt", "answer"];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_keys_are_those_without_a_default() {
        let fields = tplab_vocab::diag::fields_of::<QuestionSpec>();
        assert!(QuestionSpec::REQUIRED.iter().all(|k| fields.contains(k)));
        let yaml = |keys: &[&str]| {
            keys.iter()
                .map(|k| [k, ": x\n"].concat())
                .collect::<String>()
        };
        assert!(serde_yaml::from_str::<QuestionSpec>(&yaml(QuestionSpec::REQUIRED)).is_ok());
        for i in 0..QuestionSpec::REQUIRED.len() {
            let mut keys = QuestionSpec::REQUIRED.to_vec();
            keys.remove(i);
            assert!(serde_yaml::from_str::<QuestionSpec>(&yaml(&keys)).is_err());
        }
    }
}
