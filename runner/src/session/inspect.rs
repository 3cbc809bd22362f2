//! `tplab check`: evaluate checks against the current state only (no commands run,
//! no questions asked). Earlier steps are evaluated too, quietly, so the variables
//! they capture are available to the selected step.

use super::plan::GradableKind;
use super::{Observer, Session};

/// Evaluates every step up to and including `only` (all steps when `None`); prints the
/// selected ones. Returns the indices of the printed steps.
pub async fn run(
    session: &mut Session<'_>,
    observer: &dyn Observer,
    only: Option<usize>,
) -> Vec<usize> {
    let last = only.unwrap_or(session.lab.steps.len().saturating_sub(1));
    let mut shown = Vec::new();
    for step in 0..=last.min(session.lab.steps.len().saturating_sub(1)) {
        let visible = only.is_none_or(|o| o == step);
        if visible {
            observer.step_start(session, step);
            shown.push(step);
        }
        for g in session.gradables(step) {
            if matches!(g.kind, GradableKind::Question(_)) {
                continue;
            }
            let evaluated = session.verify(step, &g).await;
            if visible {
                observer.verdict(&evaluated);
            }
        }
        session.recorder.settle(step);
    }
    shown
}
