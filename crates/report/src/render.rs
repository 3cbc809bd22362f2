//! Student-facing renderings of one report: HTML (self-contained) and Markdown.

use std::path::Path;

use minijinja::Value;
use serde::Serialize;

use crate::chain;
use crate::points;
use crate::schema::{Report, Verdict};
use crate::templates::{RenderError, render};

/// Derived figures the templates show next to the raw report.
#[derive(Debug, Serialize)]
struct Derived {
    /// Grade on the lab's full scale (errors out of the denominator).
    scaled: f64,
    possible: f64,
    checks: usize,
    passed: usize,
    failed: usize,
    errors: usize,
    skipped: usize,
    /// `verified`, or why the hash chain does not verify.
    chain: String,
    chain_ok: bool,
    duration_s: i64,
}

fn derive(report: &Report) -> Derived {
    let verdicts: Vec<Verdict> = report
        .steps
        .iter()
        .flat_map(|s| {
            s.checks
                .iter()
                .map(|c| c.verdict)
                .chain(s.questions.iter().map(|q| q.verdict))
        })
        .collect();
    let count = |v| verdicts.iter().filter(|x| **x == v).count();
    let (chain, chain_ok) = match chain::verify_report(report) {
        Ok(()) => (format!("verified ({} events)", report.events.len()), true),
        Err(e) => (format!("NOT verified: {e}"), false),
    };
    Derived {
        scaled: points::scaled(report),
        possible: points::possible(report),
        checks: verdicts.len(),
        passed: count(Verdict::Pass),
        failed: count(Verdict::Fail),
        errors: count(Verdict::Error),
        skipped: count(Verdict::Skipped),
        chain,
        chain_ok,
        duration_s: (report.finished_at - report.started_at).num_seconds(),
    }
}

fn context(report: &Report) -> Value {
    minijinja::context! {
        report => Value::from_serialize(report),
        d => Value::from_serialize(derive(report)),
    }
}

/// A self-contained HTML page (inline CSS, no external asset, printable).
pub fn render_html(report: &Report, templates_dir: Option<&Path>) -> Result<String, RenderError> {
    render(templates_dir, "report.html.j2", context(report))
}

/// A Markdown write-up of the session (GitHub-flavoured, pasteable into a TP report).
pub fn render_markdown(
    report: &Report,
    templates_dir: Option<&Path>,
) -> Result<String, RenderError> {
    render(templates_dir, "report.md.j2", context(report))
}
