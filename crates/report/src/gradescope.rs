//! Gradescope autograder `results.json`, as the autograder specification defines it
//! (`gradescope/autograder_samples`, `docs/specs.md`): only its fields, with its types.
//!
//! - Top level: `score` (the grade on the lab's full scale, which overrides the sum of the
//!   tests), `execution_time` (whole seconds), `output`, `output_format`,
//!   `test_output_format`, `test_name_format` (all `text`: nothing in a report is rendered
//!   as HTML, Markdown or ANSI, so a title like `<edge>` shows as written), `visibility`,
//!   `stdout_visibility`, `tests`. The specification has no top-level `max_score`: the
//!   assignment's points are set in Gradescope.
//! - Per test: `name`, `number`, `score`, `max_score`, `status` (`passed`/`failed`),
//!   `output`, `tags`, `visibility`, `extra_data` (`id`, `verdict`).
//! - The specification's statuses are `passed` and `failed` only. A skipped check (step not
//!   reached) is a `failed` test scoring 0 of its points (they stay in the denominator),
//!   named `… (skipped)`, tagged `skipped`, whose output starts `SKIPPED`, with
//!   `extra_data.verdict = "skipped"`. An error verdict (not charged) is an informational
//!   test: no `score`/`max_score`, `status: failed`, tagged `error`, output
//!   `ERROR (not charged)`.
//! - Expected answers of questions are never in a visible test: each step with questions
//!   gets one informational "expected answers" test (no points) whose `visibility` is the
//!   instructor's choice, [`AnswerVisibility`], `hidden` by default.
//! - Every string goes through [`plain_text`]: no ANSI sequence or control character.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::items::{Item, ItemKind, items};
use crate::points::{self, fmt_points, round2, verdict_word};
use crate::sanitize::plain_text;
use crate::schema::{Report, Verdict};

/// When students may see the expected answers of questions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AnswerVisibility {
    /// Never shown to students (instructors always see every test).
    #[default]
    Hidden,
    /// Shown once the instructor publishes the grades ("Review Grades" page).
    #[value(name = "after_published", alias = "after-published")]
    AfterPublished,
}

impl AnswerVisibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hidden => "hidden",
            Self::AfterPublished => "after_published",
        }
    }
}

/// Choices of the Gradescope writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GradescopeOptions {
    /// Visibility of the tests holding the expected answers.
    pub answers: AnswerVisibility,
}

/// Report text for a `text`-format field.
fn p(s: &str) -> String {
    plain_text(s).into_owned()
}

/// `results.json` for one report, answers hidden.
pub fn gradescope_json(report: &Report) -> Value {
    gradescope_json_with(report, GradescopeOptions::default())
}

/// `results.json` for one report.
pub fn gradescope_json_with(report: &Report, opts: GradescopeOptions) -> Value {
    let items = items(report);
    let secrets = answers_to_hide(report);
    let mut tests = Vec::new();
    for si in 0..report.steps.len() {
        let of_step: Vec<&Item<'_>> = items.iter().filter(|i| i.step_index == si).collect();
        for item in &of_step {
            tests.push(test(item, &secrets));
        }
        if let Some(key) = answer_key(&of_step, opts.answers) {
            tests.push(key);
        }
    }
    let mut output = format!(
        "{} v{} ({}), env {}: {} / {} checked points.",
        report.lab.title,
        report.lab.version,
        report.lab.id,
        report.env.name,
        fmt_points(report.score),
        fmt_points(report.max_score)
    );
    if report.error_points > 0.0 {
        let _ = write!(
            output,
            " {} point(s) could not be checked (error verdicts): not charged, your score is scaled to {} points.",
            fmt_points(report.error_points),
            fmt_points(points::possible(report))
        );
    }
    let execution_time =
        ((report.finished_at - report.started_at).num_milliseconds() + 500).max(0) / 1000;
    json!({
        "score": round2(points::scaled(report)),
        "execution_time": execution_time,
        "output": p(&output),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    })
}

/// Shortest expected answer that is hidden inside other text: shorter ones (`1`, `no`)
/// would blank out unrelated words.
const MIN_HIDDEN: usize = 3;

/// What replaces an expected answer in a visible test.
pub const HIDDEN: &str = "[answer hidden]";

/// At most this many distinct answers are hidden (a lab has a handful of questions; the
/// bound keeps a hand-made report of millions from making the export quadratic).
const MAX_HIDDEN: usize = 256;

/// The expected answers of the report's questions, longest first.
fn answers_to_hide(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = report
        .steps
        .iter()
        .flat_map(|s| &s.questions)
        .filter(|q| q.verdict != Verdict::Error)
        .map(|q| plain_text(q.expected.trim()).into_owned())
        .filter(|e| e.chars().count() >= MIN_HIDDEN)
        .collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.len()));
    out.dedup();
    out.truncate(MAX_HIDDEN);
    out
}

/// `text` with every expected answer replaced by [`HIDDEN`]: a check's expected or found
/// text (a MAC seen in the neighbour table) may hold the answer to a question.
fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .fold(text.to_owned(), |t, s| t.replace(s.as_str(), HIDDEN))
}

/// The visible test of one check or question: verdict, points, what was found or answered.
/// No expected answer of a question appears in it, except in the student's own answers.
fn test(item: &Item<'_>, secrets: &[String]) -> Value {
    let verdict = item.verdict();
    let max = item.max_points();
    let mut name = redact(&format!("{} — {}", item.step.title, item.title()), secrets);
    let output = match item.kind {
        ItemKind::Check(c) => redact(
            &match verdict {
                Verdict::Pass => format!("Passed.\nExpected: {}\nFound: {}", c.expected, c.found),
                Verdict::Fail => {
                    let mut s = format!("Failed.\nExpected: {}\nFound: {}", c.expected, c.found);
                    if !c.message.is_empty() {
                        let _ = write!(s, "\n{}", c.message);
                    }
                    s
                }
                Verdict::Error => format!(
                    "ERROR (not charged): the checker could not run: {}. These {} point(s) are left out of your total and flagged for the instructor.",
                    c.message,
                    fmt_points(max)
                ),
                Verdict::Skipped => format!(
                    "SKIPPED: not evaluated ({}). Its {} point(s) count as not earned.",
                    if c.message.is_empty() {
                        "step not reached"
                    } else {
                        &c.message
                    },
                    fmt_points(max)
                ),
            },
            secrets,
        ),
        ItemKind::Question(q) => {
            let answers = if q.answers.is_empty() {
                "(none)".to_owned()
            } else {
                q.answers.join(" | ")
            };
            match verdict {
                // The student's own answers are theirs to see, as they wrote them.
                Verdict::Pass => format!("Correct.\nYour answer: {answers}"),
                Verdict::Fail => format!("Not correct.\nYour answers: {answers}"),
                Verdict::Error => {
                    "ERROR (not charged): the expected answer could not be computed.".to_owned()
                }
                Verdict::Skipped => format!(
                    "SKIPPED: not answered (step not reached). Its {} point(s) count as not earned.",
                    fmt_points(max)
                ),
            }
        }
    };
    let mut t = Map::new();
    match verdict {
        Verdict::Error => name.push_str(" (not charged)"),
        Verdict::Skipped => name.push_str(" (skipped)"),
        _ => {}
    }
    t.insert("name".into(), p(&name).into());
    t.insert(
        "number".into(),
        format!("{}.{}", item.step_index + 1, item.number).into(),
    );
    if verdict != Verdict::Error {
        t.insert("score".into(), round2(item.points()).into());
        t.insert("max_score".into(), round2(max).into());
    }
    let status = if verdict == Verdict::Pass {
        "passed"
    } else {
        "failed"
    };
    t.insert("status".into(), status.into());
    t.insert("output".into(), p(&output).into());
    let mut tags = vec![Value::from(p(&item.step.id))];
    if matches!(verdict, Verdict::Error | Verdict::Skipped) {
        tags.push(verdict_word(verdict).into());
    }
    t.insert("tags".into(), tags.into());
    t.insert("visibility".into(), "visible".into());
    t.insert(
        "extra_data".into(),
        json!({"id": p(&item.id), "verdict": verdict_word(verdict)}),
    );
    Value::Object(t)
}

/// The step's expected answers, in one informational test the instructor controls.
fn answer_key(of_step: &[&Item<'_>], visibility: AnswerVisibility) -> Option<Value> {
    let first = of_step.first()?;
    let mut output = String::new();
    for item in of_step {
        if let ItemKind::Question(q) = item.kind {
            let expected = if q.verdict == Verdict::Error || q.expected.is_empty() {
                "(could not be computed)"
            } else {
                &q.expected
            };
            let _ = writeln!(
                output,
                "{}: {}\nExpected: {expected}\nAnswered: {}\n",
                item.id,
                q.prompt,
                q.answers.join(" | ")
            );
        }
    }
    if output.is_empty() {
        return None;
    }
    Some(json!({
        "name": p(&format!("{} — expected answers", first.step.title)),
        "number": format!("{}.{}", first.step_index + 1, of_step.len() + 1),
        "output": p(output.trim_end()),
        "tags": [p(&first.step.id), "answers"],
        "visibility": visibility.as_str(),
        "extra_data": {"answers_for": p(&first.step.id)},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::edge_report;

    #[test]
    fn expected_answers_stay_out_of_visible_tests() {
        let r = edge_report(4);
        for answers in [AnswerVisibility::Hidden, AnswerVisibility::AfterPublished] {
            let v = gradescope_json_with(&r, GradescopeOptions { answers });
            let tests = v["tests"].as_array().unwrap();
            let key: Vec<&Value> = tests
                .iter()
                .filter(|t| t["visibility"] != "visible")
                .collect();
            assert_eq!(key.len(), 1);
            assert_eq!(key[0]["visibility"], answers.as_str());
            assert!(key[0].get("score").is_none() && key[0].get("max_score").is_none());
            assert!(key[0]["output"].as_str().unwrap().contains("cilium_host"));
            for t in tests.iter().filter(|t| t["visibility"] == "visible") {
                assert!(
                    !t["output"].as_str().unwrap().contains("cilium_host"),
                    "{t}"
                );
            }
        }
    }

    #[test]
    fn skipped_and_error_tests_say_so() {
        let v = gradescope_json(&edge_report(4));
        let tests = v["tests"].as_array().unwrap();
        let skipped = tests
            .iter()
            .find(|t| t["extra_data"]["verdict"] == "skipped")
            .unwrap();
        assert_eq!(skipped["status"], "failed");
        assert!(skipped["name"].as_str().unwrap().ends_with(" (skipped)"));
        assert!(skipped["output"].as_str().unwrap().starts_with("SKIPPED"));
        assert!(
            skipped["tags"]
                .as_array()
                .unwrap()
                .contains(&"skipped".into())
        );
        let error = tests
            .iter()
            .find(|t| t["extra_data"]["verdict"] == "error")
            .unwrap();
        assert!(error.get("score").is_none());
        assert!(
            error["output"]
                .as_str()
                .unwrap()
                .starts_with("ERROR (not charged)")
        );
        assert!(v.get("max_score").is_none());
        assert_eq!(v["output_format"], "text");
        let all = v.to_string();
        assert!(!all.contains("\\u001b") && !all.contains("\\u0007") && !all.contains("\\r"));
    }
}
