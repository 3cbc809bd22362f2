//! `JUnit` XML: one `<testsuite>` per report, one `<testcase>` per check or question.
//! Shape: the common `JUnit` XSD (testsuites > testsuite[name tests failures errors skipped
//! time timestamp hostname id package] > testcase[name classname time]), with points as
//! `<properties>` (suite totals, and per testcase as pytest/GitLab/Jenkins read them).

use std::fmt::Write as _;

use crate::points::{fmt_points, verdict_word};
use crate::schema::{Report, Verdict};
use crate::xml::{attr, escape};

struct Case {
    name: String,
    classname: String,
    time_ms: u64,
    verdict: Verdict,
    points: f64,
    max_points: f64,
    message: String,
    body: String,
}

fn cases(report: &Report) -> Vec<Case> {
    let mut out = Vec::new();
    for step in &report.steps {
        let classname = format!("{}.{}", report.lab.id, step.id);
        for c in &step.checks {
            let message = match c.verdict {
                Verdict::Fail => format!("expected {}; found {}", c.expected, c.found),
                Verdict::Error => format!("checker could not run (not charged): {}", c.message),
                Verdict::Skipped => c.message.clone(),
                Verdict::Pass => String::new(),
            };
            let mut body = format!(
                "check: {} ({})\nexpected: {}\nfound: {}\n",
                c.id, c.kind, c.expected, c.found
            );
            if !c.message.is_empty() {
                let _ = writeln!(body, "message: {}", c.message);
            }
            if !c.evidence.is_null() {
                let _ = writeln!(
                    body,
                    "evidence: {}",
                    serde_json::to_string_pretty(&c.evidence).unwrap_or_default()
                );
            }
            out.push(Case {
                name: c.name.clone(),
                classname: classname.clone(),
                time_ms: c.duration_ms,
                verdict: c.verdict,
                points: c.points,
                max_points: c.max_points,
                message,
                body,
            });
        }
        for q in &step.questions {
            let answers = q.answers.join(" | ");
            out.push(Case {
                name: format!("question {}: {}", q.id, q.prompt),
                classname: classname.clone(),
                time_ms: 0,
                verdict: q.verdict,
                points: q.points,
                max_points: q.max_points,
                message: match q.verdict {
                    Verdict::Fail => format!("expected {}; answered {answers}", q.expected),
                    Verdict::Error => {
                        "the expected answer could not be computed (not charged)".into()
                    }
                    _ => String::new(),
                },
                body: format!(
                    "prompt: {}\nanswers: {answers}\nexpected: {}\n",
                    q.prompt, q.expected
                ),
            });
        }
    }
    out
}

#[allow(clippy::cast_precision_loss)]
fn secs(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// `JUnit` XML for one or many reports.
pub fn junit_xml(reports: &[Report]) -> String {
    let mut suites = String::new();
    let (mut tests, mut failures, mut errors, mut skipped, mut total_ms) = (0, 0, 0, 0, 0u64);
    for (index, report) in reports.iter().enumerate() {
        let cases = cases(report);
        let count = |v| cases.iter().filter(|c| c.verdict == v).count();
        let (f, e, s) = (
            count(Verdict::Fail),
            count(Verdict::Error),
            count(Verdict::Skipped),
        );
        let ms =
            u64::try_from((report.finished_at - report.started_at).num_milliseconds()).unwrap_or(0);
        tests += cases.len();
        failures += f;
        errors += e;
        skipped += s;
        total_ms += ms;
        let student = report.student.id.as_deref().unwrap_or("anonymous");
        let _ = writeln!(
            suites,
            r#"  <testsuite name="{}" tests="{}" failures="{f}" errors="{e}" skipped="{s}" time="{}" timestamp="{}" hostname="{}" id="{index}" package="{}">"#,
            attr(&format!("{} — {student}", report.lab.id)),
            cases.len(),
            secs(ms),
            report.started_at.format("%Y-%m-%dT%H:%M:%S"),
            attr(&report.env.name),
            attr(&report.lab.id),
        );
        suites.push_str("    <properties>\n");
        let props = [
            ("student", student.to_owned()),
            ("lab.id", report.lab.id.clone()),
            ("lab.version", report.lab.version.clone()),
            ("lab.sha256", report.lab.sha256.clone()),
            ("score", fmt_points(report.score)),
            ("max_score", fmt_points(report.max_score)),
            ("error_points", fmt_points(report.error_points)),
            (
                "tool",
                format!("{} {}", report.tool.name, report.tool.version),
            ),
        ];
        for (name, value) in props {
            let _ = writeln!(
                suites,
                r#"      <property name="{name}" value="{}"/>"#,
                attr(&value)
            );
        }
        suites.push_str("    </properties>\n");
        for c in &cases {
            let _ = writeln!(
                suites,
                r#"    <testcase name="{}" classname="{}" time="{}">"#,
                attr(&c.name),
                attr(&c.classname),
                secs(c.time_ms)
            );
            let _ = writeln!(
                suites,
                "      <properties>\n        <property name=\"points\" value=\"{}\"/>\n        <property name=\"max_points\" value=\"{}\"/>\n        <property name=\"verdict\" value=\"{}\"/>\n      </properties>",
                fmt_points(c.points),
                fmt_points(c.max_points),
                verdict_word(c.verdict)
            );
            let element = match c.verdict {
                Verdict::Fail => Some("failure"),
                Verdict::Error => Some("error"),
                Verdict::Skipped => Some("skipped"),
                Verdict::Pass => None,
            };
            if let Some(el) = element {
                let _ = writeln!(
                    suites,
                    r#"      <{el} message="{}" type="{}">{}</{el}>"#,
                    attr(&c.message),
                    verdict_word(c.verdict),
                    escape(&c.body)
                );
            }
            suites.push_str("    </testcase>\n");
        }
        suites.push_str("  </testsuite>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"tplab\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{}\">\n{suites}</testsuites>\n",
        secs(total_ms)
    )
}
