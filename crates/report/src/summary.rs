//! Class summary: per-step pass rates and the most common failures.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::i18n::{Lang, count, messages};
use crate::points::fmt_points;
use crate::sanitize::for_terminal;
use crate::schema::{Report, StepStatus, Verdict};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepRate {
    pub id: String,
    pub title: String,
    pub passed: usize,
    pub failed: usize,
    pub error: usize,
    pub pending: usize,
    /// Skipped by the student (*Skip this step*).
    pub skipped: usize,
    pub total: usize,
    /// passed / total, 0..=1.
    pub pass_rate: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CommonFailure {
    pub step: String,
    /// Check id, or `question:<id>`.
    pub check: String,
    pub name: String,
    /// `fail` or `error` (errors are the checker's, not the students').
    pub verdict: String,
    pub count: usize,
    /// The most frequent `found` (or error message) for it.
    pub typical: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ClassSummary {
    pub students: usize,
    pub mean_grade: f64,
    pub possible: f64,
    pub steps: Vec<StepRate>,
    pub failures: Vec<CommonFailure>,
}

/// How many common failures the summary lists.
pub const TOP_FAILURES: usize = 10;

/// Summarises the graded reports; `grades` are their scaled grades, same order.
pub fn summarize(reports: &[&Report], grades: &[f64], possible: f64) -> ClassSummary {
    // (step, check, verdict) -> (name, count, found -> count)
    type Tally = (String, usize, BTreeMap<String, usize>);
    let mut order: Vec<String> = Vec::new();
    let mut steps: BTreeMap<String, StepRate> = BTreeMap::new();
    let mut fails: BTreeMap<(String, String, &'static str), Tally> = BTreeMap::new();

    for report in reports {
        for step in &report.steps {
            let rate = steps.entry(step.id.clone()).or_insert_with(|| {
                order.push(step.id.clone());
                StepRate {
                    id: step.id.clone(),
                    title: step.title.clone(),
                    passed: 0,
                    failed: 0,
                    error: 0,
                    pending: 0,
                    skipped: 0,
                    total: 0,
                    pass_rate: 0.0,
                }
            });
            // A step of another environment is not one this student could take.
            if step.status != StepStatus::NotInEnv {
                rate.total += 1;
            }
            match step.status {
                StepStatus::Passed => rate.passed += 1,
                StepStatus::Failed => rate.failed += 1,
                StepStatus::Error => rate.error += 1,
                StepStatus::Pending => rate.pending += 1,
                StepStatus::Skipped => rate.skipped += 1,
                StepStatus::NotInEnv => {}
            }
            let checks = step.checks.iter().map(|c| {
                let why = if c.verdict == Verdict::Error {
                    &c.message
                } else {
                    &c.found
                };
                (c.id.clone(), c.name.clone(), c.verdict, why.clone())
            });
            let questions = step.questions.iter().map(|q| {
                let given = q.answers.last().cloned().unwrap_or_default();
                (
                    format!("question:{}", q.id),
                    q.prompt.clone(),
                    q.verdict,
                    given,
                )
            });
            for (id, name, verdict, found) in checks.chain(questions) {
                let word = match verdict {
                    Verdict::Fail => "fail",
                    Verdict::Error => "error",
                    _ => continue,
                };
                let entry = fails
                    .entry((step.id.clone(), id, word))
                    .or_insert_with(|| (name, 0, BTreeMap::new()));
                entry.1 += 1;
                *entry.2.entry(found).or_default() += 1;
            }
        }
    }

    let steps = order
        .into_iter()
        .filter_map(|id| steps.remove(&id))
        .map(|mut s| {
            #[allow(clippy::cast_precision_loss)]
            let rate = if s.total == 0 {
                0.0
            } else {
                s.passed as f64 / s.total as f64
            };
            s.pass_rate = rate;
            s
        })
        .collect();
    let mut failures: Vec<CommonFailure> = fails
        .into_iter()
        .map(
            |((step, check, verdict), (name, count, found))| CommonFailure {
                step,
                check,
                name,
                verdict: verdict.to_owned(),
                count,
                typical: found
                    .into_iter()
                    .max_by_key(|(_, n)| *n)
                    .map(|(f, _)| f)
                    .unwrap_or_default(),
            },
        )
        .collect();
    failures.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.check.cmp(&b.check)));
    failures.truncate(TOP_FAILURES);

    #[allow(clippy::cast_precision_loss)]
    let mean_grade = if grades.is_empty() {
        0.0
    } else {
        crate::points::round2(grades.iter().sum::<f64>() / grades.len() as f64)
    };
    ClassSummary {
        students: reports.len(),
        mean_grade,
        possible,
        steps,
        failures,
    }
}

/// The summary for a terminal, in English.
pub fn to_text(summary: &ClassSummary) -> String {
    to_text_in(summary, Lang::En)
}

/// The summary for a terminal: aligned, plain text, in `lang`. Titles, names and found
/// values come from reports: control characters are made visible before they are aligned.
pub fn to_text_in(summary: &ClassSummary, lang: Lang) -> String {
    let t = messages(lang);
    let clean = |s: &str| for_terminal(s).into_owned();
    let mut out = String::new();
    #[allow(clippy::cast_precision_loss)]
    let students = count(summary.students as f64, "student", lang);
    let _ = writeln!(
        out,
        "{students}, {} {} / {}",
        t.mean,
        fmt_points(summary.mean_grade),
        fmt_points(summary.possible)
    );
    let width = summary
        .steps
        .iter()
        .map(|s| clean(&s.title).chars().count())
        .max()
        .unwrap_or(4)
        .max(t.step.chars().count());
    let cols = [
        t.col_passed,
        t.col_failed,
        t.col_error,
        t.col_pending,
        t.col_skipped,
    ];
    let w: Vec<usize> = cols.iter().map(|c| c.chars().count().max(6)).collect();
    let _ = write!(out, "\n{:<width$}  {:>6}", t.step, "%");
    for (c, w) in cols.iter().zip(&w) {
        let _ = write!(out, " {c:>w$}");
    }
    out.push('\n');
    for s in &summary.steps {
        let _ = write!(
            out,
            "{:<width$}  {:>5.0}%",
            clean(&s.title),
            s.pass_rate * 100.0
        );
        for (n, w) in [s.passed, s.failed, s.error, s.pending, s.skipped]
            .iter()
            .zip(&w)
        {
            let _ = write!(out, " {n:>w$}");
        }
        out.push('\n');
    }
    if !summary.failures.is_empty() {
        let _ = writeln!(out, "\n{}{}", t.common_failures, t.colon);
        for f in &summary.failures {
            let verdict = if f.verdict == "error" {
                t.v_error
            } else {
                t.v_fail
            };
            let _ = writeln!(
                out,
                "  {:>4}× {:<8} {} ({}){}",
                f.count,
                verdict,
                clean(&f.name),
                clean(&f.check),
                if f.typical.is_empty() {
                    String::new()
                } else {
                    format!(" — {}{} {}", t.typically, t.colon, clean(&f.typical))
                }
            );
        }
    }
    out
}
