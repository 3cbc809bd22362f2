//! `JUnit` XML: one `<testsuite>` per report, one `<testcase>` per check or question.
//!
//! By default the document validates against both published schemas, kept in
//! `tests/fixtures/junit/`: the Jenkins xunit plugin's `junit-10.xsd` and the Ant schema
//! (windyroad `JUnit.xsd`). What they jointly allow shapes it:
//! - `<testsuites>` carries no attributes (Ant); consumers sum the suites.
//! - each `<testsuite>`: `name tests failures errors skipped time timestamp hostname id
//!   package`, then exactly `<properties>`, the `<testcase>`s, `<system-out>`, `<system-err>`
//!   (Ant's sequence). `time` is the sum of its testcases' times; `timestamp` is UTC without
//!   a zone designator (Ant's pattern forbids one), and the zoned instants are properties.
//! - a `<testcase>` holds at most one `<failure type>`, `<error type>` or `<skipped>` (no
//!   `type`, Ant) and nothing else: its points and verdict are suite properties named after
//!   the case id (`case:<step>/<id>`) and lines of the suite's `<system-out>`.
//!
//! [`JunitOptions::testcase_properties`] adds `<properties>` inside each `<testcase>` (what
//! pytest's xunit1 family, GitLab or Jenkins' junit plugin read); that document is valid for
//! neither schema.
//!
//! Text from the report goes through [`plain_text`]: ANSI sequences and control characters
//! are removed, so a dashboard shows the words.

use std::fmt::Write as _;

use crate::items::{Item, ItemKind, items};
use crate::points::{self, fmt_points, verdict_word};
use crate::sanitize::plain_text;
use crate::schema::{Report, Verdict};
use crate::xml::{attr, escape};

/// Choices of the `JUnit` writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JunitOptions {
    /// `<properties>` (`id`, `points`, `max_points`, `verdict`) inside each `<testcase>`.
    /// Off by default: neither published schema allows it.
    pub testcase_properties: bool,
}

/// Report text as an XML attribute value.
fn a(s: &str) -> String {
    attr(&plain_text(s))
}

/// Report text as XML element content.
fn t(s: &str) -> String {
    escape(&plain_text(s))
}

/// The `<failure>`/`<error>`/`<skipped>` message and body of an item.
fn outcome(item: &Item<'_>) -> (String, String) {
    match item.kind {
        ItemKind::Check(c) => {
            let message = match c.verdict {
                Verdict::Fail => format!("expected {}; found {}", c.expected, c.found),
                Verdict::Error if c.message.is_empty() => {
                    "checker could not run (not charged)".into()
                }
                Verdict::Error if c.message.starts_with("checker could not run") => {
                    format!("not charged: {}", c.message)
                }
                Verdict::Error => format!("checker could not run (not charged): {}", c.message),
                Verdict::Skipped => c.message.clone(),
                Verdict::Pass => String::new(),
            };
            (message, details(item))
        }
        ItemKind::Question(q) => {
            let answers = q.answers.join(" | ");
            let message = match q.verdict {
                Verdict::Fail => format!("expected {}; answered {answers}", q.expected),
                Verdict::Error => "the expected answer could not be computed (not charged)".into(),
                Verdict::Skipped => "not answered: step not reached".into(),
                Verdict::Pass => String::new(),
            };
            (message, details(item))
        }
    }
}

/// Everything known of an item, as indented lines.
fn details(item: &Item<'_>) -> String {
    let mut body = String::new();
    match item.kind {
        ItemKind::Check(c) => {
            let _ = writeln!(body, "check: {} ({})", item.id, c.kind);
            let _ = writeln!(body, "expected: {}", c.expected);
            let _ = writeln!(body, "found: {}", c.found);
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
        }
        ItemKind::Question(q) => {
            let _ = writeln!(body, "question: {}", item.id);
            let _ = writeln!(body, "prompt: {}", q.prompt);
            let _ = writeln!(body, "answers: {}", q.answers.join(" | "));
            let _ = writeln!(body, "expected: {}", q.expected);
        }
    }
    body
}

#[allow(clippy::cast_precision_loss)]
fn secs(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// `JUnit` XML for one or many reports, valid against both published schemas.
pub fn junit_xml(reports: &[Report]) -> String {
    junit_xml_with(reports, JunitOptions::default())
}

/// `JUnit` XML with explicit options.
pub fn junit_xml_with(reports: &[Report], opts: JunitOptions) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for (index, report) in reports.iter().enumerate() {
        suite(&mut out, index, report, opts);
    }
    out.push_str("</testsuites>\n");
    out
}

fn suite(out: &mut String, index: usize, report: &Report, opts: JunitOptions) {
    let items = items(report);
    let count = |v| items.iter().filter(|i| i.verdict() == v).count();
    // Saturating: a hand-made report may claim absurd durations.
    let total_ms = items
        .iter()
        .map(Item::duration_ms)
        .fold(0u64, u64::saturating_add);
    let student = report.student.id.as_deref().unwrap_or("anonymous");
    let host = if report.env.name.trim().is_empty() {
        "localhost"
    } else {
        &report.env.name
    };
    let _ = writeln!(
        out,
        r#"  <testsuite name="{}" tests="{}" failures="{}" errors="{}" skipped="{}" time="{}" timestamp="{}" hostname="{}" id="{index}" package="{}">"#,
        a(&format!("{} — {student}", report.lab.id)),
        items.len(),
        count(Verdict::Fail),
        count(Verdict::Error),
        count(Verdict::Skipped),
        secs(total_ms),
        report.started_at.format("%Y-%m-%dT%H:%M:%S"),
        a(host),
        a(&report.lab.id),
    );
    out.push_str("    <properties>\n");
    let rfc3339 = |d: &chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut props = vec![
        ("student".to_owned(), student.to_owned()),
        ("lab.id".to_owned(), report.lab.id.clone()),
        ("lab.title".to_owned(), report.lab.title.clone()),
        ("lab.version".to_owned(), report.lab.version.clone()),
        ("lab.sha256".to_owned(), report.lab.sha256.clone()),
        ("env".to_owned(), report.env.name.clone()),
        ("mode".to_owned(), report.mode.clone()),
        ("timestamp.zone".to_owned(), "UTC".to_owned()),
        ("started_at".to_owned(), rfc3339(&report.started_at)),
        ("finished_at".to_owned(), rfc3339(&report.finished_at)),
        ("score".to_owned(), fmt_points(report.score)),
        ("max_score".to_owned(), fmt_points(report.max_score)),
        ("error_points".to_owned(), fmt_points(report.error_points)),
        ("grade".to_owned(), fmt_points(points::scaled(report))),
        ("possible".to_owned(), fmt_points(points::possible(report))),
        (
            "tool".to_owned(),
            format!("{} {}", report.tool.name, report.tool.version),
        ),
    ];
    for item in &items {
        props.push((
            format!("case:{}", item.id),
            format!(
                "{} {}/{}",
                verdict_word(item.verdict()),
                fmt_points(item.points()),
                fmt_points(item.max_points())
            ),
        ));
    }
    for (name, value) in props {
        let _ = writeln!(
            out,
            r#"      <property name="{}" value="{}"/>"#,
            a(&name),
            a(&value)
        );
    }
    out.push_str("    </properties>\n");
    for item in &items {
        testcase(out, report, item, opts);
    }
    let _ = writeln!(
        out,
        "    <system-out>{}</system-out>\n    <system-err></system-err>\n  </testsuite>",
        t(&system_out(report, &items))
    );
}

fn testcase(out: &mut String, report: &Report, item: &Item<'_>, opts: JunitOptions) {
    let name = format!("{}: {}", item.id, item.title());
    let _ = write!(
        out,
        r#"    <testcase name="{}" classname="{}" time="{}">"#,
        a(&name),
        a(&format!("{}.{}", report.lab.id, item.step.id)),
        secs(item.duration_ms())
    );
    let mut inner = String::new();
    if opts.testcase_properties {
        let _ = write!(
            inner,
            "\n      <properties>\n        <property name=\"id\" value=\"{}\"/>\n        <property name=\"points\" value=\"{}\"/>\n        <property name=\"max_points\" value=\"{}\"/>\n        <property name=\"verdict\" value=\"{}\"/>\n      </properties>",
            a(&item.id),
            fmt_points(item.points()),
            fmt_points(item.max_points()),
            verdict_word(item.verdict())
        );
    }
    let (message, body) = outcome(item);
    match item.verdict() {
        Verdict::Fail | Verdict::Error => {
            let el = if item.verdict() == Verdict::Fail {
                "failure"
            } else {
                "error"
            };
            let _ = write!(
                inner,
                "\n      <{el} message=\"{}\" type=\"{}\">{}</{el}>",
                a(&message),
                verdict_word(item.verdict()),
                t(&body)
            );
        }
        Verdict::Skipped => {
            let _ = write!(
                inner,
                "\n      <skipped message=\"{}\">{}</skipped>",
                a(&message),
                t(&body)
            );
        }
        Verdict::Pass => {}
    }
    if !inner.is_empty() {
        inner.push_str("\n    ");
    }
    let _ = writeln!(out, "{inner}</testcase>");
}

/// The suite's human summary: totals, then every case with its points and details.
fn system_out(report: &Report, items: &[Item<'_>]) -> String {
    let mut s = format!(
        "tplab: {} v{} ({}), student {}, env {}\nsession {} to {} (UTC)\nscore {} / {} checked points",
        report.lab.title,
        report.lab.version,
        report.lab.id,
        report.student.id.as_deref().unwrap_or("anonymous"),
        report.env.name,
        report.started_at.format("%Y-%m-%dT%H:%M:%SZ"),
        report.finished_at.format("%Y-%m-%dT%H:%M:%SZ"),
        fmt_points(report.score),
        fmt_points(report.max_score),
    );
    if report.error_points > 0.0 {
        let _ = write!(
            s,
            "; {} point(s) not checked (error verdicts, not charged)",
            fmt_points(report.error_points)
        );
    }
    let _ = writeln!(
        s,
        "; grade {} / {}",
        fmt_points(points::scaled(report)),
        fmt_points(points::possible(report))
    );
    for item in items {
        let _ = writeln!(
            s,
            "\n[{}] {} ({}/{}): {}",
            verdict_word(item.verdict()),
            item.id,
            fmt_points(item.points()),
            fmt_points(item.max_points()),
            item.title()
        );
        for line in details(item).lines() {
            let _ = writeln!(s, "    {line}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{edge_report, student_report};

    #[test]
    fn suite_time_is_the_sum_of_its_cases() {
        let r = student_report(3);
        let xml = junit_xml(std::slice::from_ref(&r));
        let ms: u64 = r
            .steps
            .iter()
            .flat_map(|s| &s.checks)
            .map(|c| c.duration_ms)
            .sum();
        assert!(
            xml.contains(&format!(" time=\"{}\" timestamp=", secs(ms))),
            "{xml}"
        );
        assert!(!xml.contains("time=\"1800.000\""));
    }

    #[test]
    fn no_negative_zero_and_zoned_instants() {
        let mut r = student_report(0);
        r.error_points = -0.0;
        let xml = junit_xml(&[r]);
        assert!(
            xml.contains(r#"<property name="error_points" value="0"/>"#),
            "{xml}"
        );
        assert!(!xml.contains("\"-0\""));
        assert!(xml.contains(r#"timestamp="2026-11-20T08:00:00""#));
        assert!(xml.contains(r#"<property name="started_at" value="2026-11-20T08:00:00Z"/>"#));
    }

    #[test]
    fn testcases_hold_only_what_both_schemas_allow() {
        let xml = junit_xml(&[edge_report(2)]);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"));
        assert_eq!(
            xml.matches("<properties>").count(),
            1,
            "suite properties only"
        );
        assert!(!xml.contains("<skipped message=\"step not reached\" type="));
        assert!(xml.contains("<system-out>") && xml.contains("<system-err></system-err>"));
        assert!(xml.contains(r#"<property name="case:vu-du-pod/transcript-1" value="pass 2/2"/>"#));
        assert!(
            xml.contains(r#"name="vu-du-pod/check-1: "#)
                && xml.contains(r#"name="vu-du-node/check-1: "#)
        );
        // No escape sequence, BEL, NUL or bidi override survives; `<` and `&` are escaped.
        for bad in ['\u{1b}', '\u{7}', '\u{0}', '\u{202e}', '\u{fffd}'] {
            assert!(!xml.contains(bad), "{bad:?} in\n{xml}");
        }
        assert!(xml.contains("Routes &lt;edge&gt; &amp; NAT"));
        let with = junit_xml_with(
            &[edge_report(2)],
            JunitOptions {
                testcase_properties: true,
            },
        );
        assert!(with.contains("<property name=\"verdict\" value=\"skipped\"/>"));
    }
}
