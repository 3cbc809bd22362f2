//! `tplab check`: evaluate checks against the current state only (no commands run,
//! no questions asked). With `--step X`, earlier steps are replayed quietly, only for
//! the variables they capture that X may use: checks capturing nothing are skipped,
//! captures already saved by the student's session are taken from there, and the rest
//! get one quick attempt each (no polling, packets glanced at, never a full window).

use super::plan::GradableKind;
use super::{Observer, Session};
use crate::lab::checks::{CheckSpec, KindSpec};
use crate::template::Vars;

/// Evaluates every step up to and including `only` (all steps when `None`); prints the
/// selected ones. `saved`: the variables of the student's saved progress, if any.
/// Returns the indices of the printed steps.
pub async fn run(
    session: &mut Session<'_>,
    observer: &dyn Observer,
    only: Option<usize>,
    saved: Option<&Vars>,
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
            if visible {
                if matches!(g.kind, GradableKind::Question(_)) {
                    continue;
                }
                let evaluated = session.verify(step, &g).await;
                observer.verdict(&evaluated);
                continue;
            }
            let GradableKind::Check(item) = g.kind else {
                continue;
            };
            let wanted = captured_vars(&item.spec);
            if wanted.is_empty() {
                continue;
            }
            if let Some(saved) = saved
                && wanted.iter().all(|v| saved.contains_key(v))
            {
                for var in wanted {
                    session.vars.insert(var.clone(), saved[&var].clone());
                }
                continue;
            }
            session.verify_glance(step, &g).await;
        }
        session.recorder.settle(step);
    }
    shown
}

/// The variables a check (or its group's members) captures.
fn captured_vars(spec: &CheckSpec) -> Vec<String> {
    let mut vars: Vec<String> = spec.capture.keys().cloned().collect();
    if let Some(KindSpec::Group(group)) = spec.kind() {
        vars.extend(group.members.iter().flat_map(captured_vars));
    }
    vars
}
