//! The gradable items of a report (checks and questions) in lab order, each with an id
//! unique within the lab, as every export names them.
//!
//! The runner writes ids unique within their step: the author's `id`, else `check-<n>`,
//! `transcript-<n>`, `question-<n>` (so `check-1` appears in many steps). Exports qualify them
//! with the step id: `<step>/<id>` (an id already written as `<step>/...` is kept as it is).
//! Should two items of one report still share an id (a hand-made report, a lab with a
//! repeated `id`), the later ones get `~2`, `~3`... in lab order, so ids stay stable
//! for the same report and unique whatever it holds.

use std::collections::BTreeSet;

use crate::schema::{CheckReport, QuestionReport, Report, StepReport, Verdict};

/// A check or a question.
#[derive(Debug, Clone, Copy)]
pub enum ItemKind<'a> {
    Check(&'a CheckReport),
    Question(&'a QuestionReport),
}

/// One gradable item, with its step and its lab-unique id.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    /// 0-based index of the step in the report.
    pub step_index: usize,
    pub step: &'a StepReport,
    /// 1-based position of the item within its step (checks first, then questions).
    pub number: usize,
    /// Unique within the report: `<step>/<id>`.
    pub id: String,
    pub kind: ItemKind<'a>,
}

impl Item<'_> {
    pub fn verdict(&self) -> Verdict {
        match self.kind {
            ItemKind::Check(c) => c.verdict,
            ItemKind::Question(q) => q.verdict,
        }
    }

    pub fn points(&self) -> f64 {
        match self.kind {
            ItemKind::Check(c) => c.points,
            ItemKind::Question(q) => q.points,
        }
    }

    pub fn max_points(&self) -> f64 {
        match self.kind {
            ItemKind::Check(c) => c.max_points,
            ItemKind::Question(q) => q.max_points,
        }
    }

    /// The check's name, or the question's prompt.
    pub fn title(&self) -> &str {
        match self.kind {
            ItemKind::Check(c) => &c.name,
            ItemKind::Question(q) => &q.prompt,
        }
    }

    pub fn duration_ms(&self) -> u64 {
        match self.kind {
            ItemKind::Check(c) => c.duration_ms,
            ItemKind::Question(_) => 0,
        }
    }
}

/// `raw` qualified with its step: `<step>/<raw>`, unless it already is.
pub fn qualified(step: &str, raw: &str, fallback: &str) -> String {
    let raw = if raw.trim().is_empty() { fallback } else { raw };
    match raw.strip_prefix(step) {
        Some(rest) if rest.starts_with('/') => raw.to_owned(),
        _ => format!("{step}/{raw}"),
    }
}

/// Every check and question of `report`, in lab order, with unique ids.
pub fn items(report: &Report) -> Vec<Item<'_>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (step_index, step) in report.steps.iter().enumerate() {
        let kinds = step
            .checks
            .iter()
            .map(ItemKind::Check)
            .chain(step.questions.iter().map(ItemKind::Question));
        for (i, kind) in kinds.enumerate() {
            let number = i + 1;
            let base = match kind {
                ItemKind::Check(c) => qualified(&step.id, &c.id, &format!("check-{number}")),
                ItemKind::Question(q) => qualified(&step.id, &q.id, &format!("question-{number}")),
            };
            let mut id = base.clone();
            let mut n = 1;
            while !seen.insert(id.clone()) {
                n += 1;
                id = format!("{base}~{n}");
            }
            out.push(Item {
                step_index,
                step,
                number,
                id,
                kind,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{edge_report, student_report};

    #[test]
    fn ids_are_qualified_once() {
        assert_eq!(qualified("pod", "check-1", "x"), "pod/check-1");
        assert_eq!(qualified("pod", "pod/1", "x"), "pod/1");
        assert_eq!(qualified("pod", "podium", "x"), "pod/podium");
        assert_eq!(qualified("pod", " ", "check-3"), "pod/check-3");
    }

    #[test]
    fn runner_style_ids_become_unique_and_stable() {
        let r = edge_report(1);
        let ids: Vec<String> = items(&r).into_iter().map(|i| i.id).collect();
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert!(ids.iter().filter(|i| i.ends_with("/check-1")).count() > 1);
        assert!(ids.iter().any(|i| i.ends_with("/transcript-1")));
        let again: Vec<String> = items(&edge_report(1)).into_iter().map(|i| i.id).collect();
        assert_eq!(ids, again);
        // The seed fixtures already write `<step>/<n>`: kept as they are.
        let seed = student_report(0);
        assert_eq!(items(&seed)[0].id, "vu-du-pod/1");
    }

    #[test]
    fn repeated_ids_get_a_suffix() {
        let mut r = student_report(0);
        r.steps[0].checks[1].id = r.steps[0].checks[0].id.clone();
        let ids: Vec<String> = items(&r).into_iter().map(|i| i.id).take(2).collect();
        assert_eq!(ids, ["vu-du-pod/1", "vu-du-pod/1~2"]);
    }
}
