//! The class summary as a self-contained HTML page (for the instructor).

use std::path::Path;

use serde::Serialize;

use crate::grade::ClassGrade;
use crate::gradebook::feedback;
use crate::i18n::messages;
use crate::sanitize::for_terminal;
use crate::templates::{RenderError, render};

#[derive(Serialize)]
struct Row {
    student: String,
    path: String,
    grade: f64,
    score: f64,
    max_score: f64,
    error_points: f64,
    graded: bool,
    other_lab: bool,
    /// For a report of another lab: which one (`id vversion`).
    lab: String,
    flags: Vec<String>,
    feedback: String,
}

/// Renders `summary.html.j2` for a graded class.
pub fn render_class_html(
    class: &ClassGrade,
    templates_dir: Option<&Path>,
) -> Result<String, RenderError> {
    let lang = class.lang();
    let rows: Vec<Row> = class
        .rows
        .iter()
        .map(|r| Row {
            student: r.student.clone(),
            path: r.path.display().to_string(),
            grade: r.grade,
            score: r.score,
            max_score: r.max_score,
            error_points: r.error_points,
            graded: r.graded,
            other_lab: r.other_lab,
            lab: class
                .report_of(r)
                .map(|rep| format!("{} v{}", rep.lab.id, rep.lab.version))
                .unwrap_or_default(),
            flags: r.flags.iter().map(|f| f.text(lang)).collect(),
            feedback: feedback(class, r),
        })
        .collect();
    let errors: Vec<String> = class.load_errors.iter().map(ToString::to_string).collect();
    let ctx = minijinja::context! {
        lab => minijinja::context! {
            id => class.lab.id.clone(),
            title => class.lab.title.clone(),
            version => class.lab.version.clone(),
            sha256 => class.lab.sha256.clone(),
            path => class.lab.path.display().to_string(),
        },
        summary => minijinja::Value::from_serialize(&class.summary),
        rows => minijinja::Value::from_serialize(&rows),
        flagged => rows.iter().filter(|r| !r.flags.is_empty()).count(),
        errors => errors,
        possible => class.possible,
        t => minijinja::Value::from_serialize(messages(lang)),
    };
    // Names and paths come from students: no control character or bidi override survives.
    // About 200 bytes of input per row: the budget grows with the class.
    let size = rows.len().saturating_mul(200);
    render(templates_dir, "summary.html.j2", ctx, size).map(|html| for_terminal(&html).into_owned())
}
