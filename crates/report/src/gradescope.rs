//! Gradescope autograder `results.json` (documented format: top-level `score`,
//! `execution_time`, `output`, `tests[]` with `name`, `number`, `score`, `max_score`,
//! `status`, `output`, `visibility`).

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::points::{self, fmt_points};
use crate::schema::{Report, Verdict};

/// `results.json` for one report. The top-level `score` is the grade on the lab's full scale
/// (error verdicts out of the denominator, see docs/report-format.md), which Gradescope uses
/// instead of summing the tests; errored tests say so in their output.
pub fn gradescope_json(report: &Report) -> Value {
    let mut tests = Vec::new();
    for (si, step) in report.steps.iter().enumerate() {
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("{}.{n}", si + 1)
        };
        for c in &step.checks {
            let output = match c.verdict {
                Verdict::Pass => format!("Passed: {}\nFound: {}", c.expected, c.found),
                Verdict::Fail => format!(
                    "Expected: {}\nFound: {}{}",
                    c.expected,
                    c.found,
                    if c.message.is_empty() {
                        String::new()
                    } else {
                        format!("\n{}", c.message)
                    }
                ),
                Verdict::Error => format!(
                    "ERROR (not charged): the checker could not run: {}. These {} point(s) are left out of your total and flagged for the instructor.",
                    c.message,
                    fmt_points(c.max_points)
                ),
                Verdict::Skipped => format!(
                    "Not evaluated: {}",
                    if c.message.is_empty() {
                        "step not reached"
                    } else {
                        &c.message
                    }
                ),
            };
            tests.push(test(
                &format!("{} — {}", step.title, c.name),
                next(),
                c.points,
                c.max_points,
                c.verdict,
                output,
            ));
        }
        for q in &step.questions {
            let output = match q.verdict {
                Verdict::Error => {
                    "ERROR (not charged): the expected answer could not be computed.".to_owned()
                }
                _ => format!(
                    "Answers: {}\nExpected: {}",
                    q.answers.join(" | "),
                    q.expected
                ),
            };
            tests.push(test(
                &format!("{} — {}", step.title, q.prompt),
                next(),
                q.points,
                q.max_points,
                q.verdict,
                output,
            ));
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
    #[allow(clippy::cast_precision_loss)]
    let execution_time =
        (report.finished_at - report.started_at).num_milliseconds() as f64 / 1000.0;
    json!({
        "score": points::scaled(report),
        "max_score": points::possible(report),
        "execution_time": execution_time,
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    })
}

#[allow(clippy::needless_pass_by_value)]
fn test(
    name: &str,
    number: String,
    score: f64,
    max_score: f64,
    verdict: Verdict,
    output: String,
) -> Value {
    // Owned strings: they move into the JSON value.
    json!({
        "name": name,
        "number": number,
        "score": score,
        "max_score": max_score,
        "status": if verdict == Verdict::Pass { "passed" } else { "failed" },
        "output": output,
        "visibility": "visible",
    })
}
