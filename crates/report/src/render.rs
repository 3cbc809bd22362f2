//! Student-facing renderings of one report: HTML (self-contained) and Markdown.

use std::path::Path;

use minijinja::Value;
use serde::Serialize;

use crate::chain;
use crate::i18n::{Lang, messages};
use crate::integrity::report_problems_in;
use crate::labfile::LabFile;
use crate::points;
use crate::sanitize::for_terminal;
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
    /// True when the chain verifies and the report was made from the lab given.
    integrity_ok: bool,
    /// Why not, in words (empty when `integrity_ok`).
    integrity: Vec<String>,
    duration_s: i64,
    /// Values the student met in the lab, for the header: every step's captures, then the
    /// environment facts a student reads in the lab (pod IP, gateway, lxc...).
    session_values: Vec<(String, String)>,
    /// The other environment facts (netns names, paths, ids): folded away.
    other_facts: Vec<(String, String)>,
}

/// Environment facts a student meets in the lab's text; the rest are tplab's plumbing.
const STUDENT_FACTS: &[&str] = &[
    "pod_name",
    "pod_ip",
    "pod_mac",
    "gateway_ip",
    "lxc_name",
    "lxc_mac",
    "cilium_host_mac",
    "node_name",
    "node_ip",
    "node_mac",
    "world_ip",
    "world_url",
    "gateway",
    "lxc",
];

/// What a rendering is checked against, and where its templates come from: both on the
/// instructor's side (a report's own `lab.path` is never used for either).
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions<'a> {
    /// Template overrides (`--templates`, or the folder of `--lab`).
    pub templates: Option<&'a Path>,
    /// The lab file the report should come from (`--lab`); without it, unverified.
    pub lab: Option<&'a LabFile>,
}

fn derive(report: &Report, lab: Option<&LabFile>) -> Derived {
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
    let lang = Lang::from_code(report.lab.lang.as_deref());
    let t = messages(lang);
    let (chain, chain_ok) = match chain::verify_report(report) {
        Ok(()) => (
            format!("{} ({})", t.chain_verified, report.events.len()),
            true,
        ),
        Err(e) => (format!("{}{} {e}", t.chain_not_verified, t.colon), false),
    };
    let integrity = report_problems_in(report, lab, lang);
    let mut session_values: Vec<(String, String)> = Vec::new();
    for step in &report.steps {
        for (k, v) in &step.captures {
            if !session_values.iter().any(|(n, _)| n == k) {
                session_values.push((k.clone(), v.clone()));
            }
        }
    }
    let mut other_facts = Vec::new();
    for (k, v) in &report.env.facts {
        if STUDENT_FACTS.contains(&k.as_str()) {
            session_values.push((k.clone(), v.clone()));
        } else {
            other_facts.push((k.clone(), v.clone()));
        }
    }
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
        integrity_ok: integrity.is_empty(),
        integrity,
        duration_s: (report.finished_at - report.started_at).num_seconds(),
        session_values,
        other_facts,
    }
}

fn context(report: &Report, lab: Option<&LabFile>) -> Value {
    let lang = Lang::from_code(report.lab.lang.as_deref());
    minijinja::context! {
        report => Value::from_serialize(report),
        d => Value::from_serialize(derive(report, lab)),
        t => Value::from_serialize(messages(lang)),
    }
}

/// A self-contained HTML page (inline CSS, no external asset, printable).
pub fn render_html(report: &Report, templates_dir: Option<&Path>) -> Result<String, RenderError> {
    render_html_with(
        report,
        RenderOptions {
            templates: templates_dir,
            lab: None,
        },
    )
}

/// [`render_html`], checked against a lab file. Auto-escaping leaves control characters
/// and bidi overrides alone: they are made visible too.
pub fn render_html_with(report: &Report, opts: RenderOptions<'_>) -> Result<String, RenderError> {
    render(
        opts.templates,
        "report.html.j2",
        context(report, opts.lab),
        json_size(report),
    )
    .map(|html| for_terminal(&html).into_owned())
}

/// A Markdown write-up of the session (GitHub-flavoured, pasteable into a TP report).
pub fn render_markdown(
    report: &Report,
    templates_dir: Option<&Path>,
) -> Result<String, RenderError> {
    render_markdown_with(
        report,
        RenderOptions {
            templates: templates_dir,
            lab: None,
        },
    )
}

/// [`render_markdown`], checked against a lab file. Control characters from the report
/// are made visible: the Markdown is read as plain text, often on a terminal.
pub fn render_markdown_with(
    report: &Report,
    opts: RenderOptions<'_>,
) -> Result<String, RenderError> {
    render(
        opts.templates,
        "report.md.j2",
        context(report, opts.lab),
        json_size(report),
    )
    .map(|md| for_terminal(&md).into_owned())
}

/// Size of the report as JSON: what the templates' instruction budget scales with.
fn json_size(report: &Report) -> usize {
    serde_json::to_vec(report).map_or(0, |v| v.len())
}
