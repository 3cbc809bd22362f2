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
    /// Template computing the expected answer, e.g. `"{{ GW_MAC }}"`; with `choices`,
    /// the right choice's text, or a list of them (the student picks exactly those).
    pub answer: OneOrMany,
    /// A multiple-choice question's choices (templates), shown numbered.
    #[serde(default)]
    pub choices: Vec<String>,
    /// `partial: true` (several right choices): a last answer with some right choices
    /// earns (right − wrong) / right answers of the points, at least 0.
    #[serde(default)]
    pub partial: bool,
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

    /// The (first) answer template: a free-text question has exactly one.
    pub fn answer(&self) -> &str {
        self.answer.0.first().map_or("", String::as_str)
    }

    /// What is wrong with the answer/choices pairing, said in the lab's terms; checked
    /// statically (templates are judged once rendered).
    pub fn choice_problem(&self) -> Option<String> {
        if self.answer.0.is_empty() {
            return Some("`answer` is empty".into());
        }
        if self.partial && (self.choices.is_empty() || self.answer.0.len() < 2) {
            return Some(
                "`partial` needs `choices` and several right answers (`answer: [..]`)".into(),
            );
        }
        if self.choices.is_empty() {
            return (self.answer.0.len() > 1).then(|| {
                "a list of answers needs `choices` (the student picks all of them); \
                 other accepted forms of one answer go in `accept`"
                    .into()
            });
        }
        if self.choices.len() < 2 {
            return Some("a multiple-choice question needs at least two `choices`".into());
        }
        if !self.accept.0.is_empty() {
            return Some("`accept` does not apply to `choices`: the student answers by number or by the choice's text".into());
        }
        let literal = |s: &str| !crate::template::has_template(s);
        for answer in self.answer.0.iter().filter(|a| literal(a)) {
            if self.choices.iter().all(|c| literal(c))
                && !self.choices.iter().any(|c| same(c, answer))
            {
                return Some(format!("the answer `{answer}` is not one of the `choices`"));
            }
        }
        None
    }
}

/// Two choice texts are the same choice: trimmed, inner whitespace collapsed,
/// case-insensitive (as `match: text` compares answers).
pub fn same(a: &str, b: &str) -> bool {
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    words(a).eq_ignore_ascii_case(&words(b))
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
        let q = |y: &str| {
            serde_yaml::from_str::<QuestionSpec>(y)
                .expect(y)
                .choice_problem()
        };
        assert_eq!(q("{prompt: p, answer: b, choices: [a, b]}"), None);
        assert_eq!(q("{prompt: p, answer: [a, b], choices: [a, b, c]}"), None);
        assert_eq!(q("{prompt: p, answer: '{{ X }}', choices: [a, b]}"), None);
        assert!(
            q("{prompt: p, answer: d, choices: [a, b]}")
                .is_some_and(|m| m.contains("`d` is not one"))
        );
        assert!(q("{prompt: p, answer: [a, b]}").is_some_and(|m| m.contains("needs `choices`")));
        assert!(q("{prompt: p, answer: a, choices: [a]}").is_some_and(|m| m.contains("two")));
        for i in 0..QuestionSpec::REQUIRED.len() {
            let mut keys = QuestionSpec::REQUIRED.to_vec();
            keys.remove(i);
            assert!(serde_yaml::from_str::<QuestionSpec>(&yaml(&keys)).is_err());
        }
    }
}
