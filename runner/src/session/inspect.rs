//! `tplab check`: evaluate checks against the current state only (no commands run,
//! no questions asked). With `--step X`, earlier steps are replayed quietly, only for
//! the variables they capture that X may use: checks capturing nothing are skipped,
//! captures already saved by the student's session are taken from there, and the rest
//! get one quick attempt each (no polling, packets glanced at, never a full window).
//!
//! The whole lab (no `--step`) observes its `packets` checks that only watch together,
//! after the other checks: one window for all of them (the longest), ended as soon as
//! each is decided, instead of one full window per check one after another. Verdicts
//! are still printed and recorded in the lab's order.

use std::time::Duration;

use super::plan::{Gradable, GradableKind};
use super::{Observer, Session};
use crate::check::Evaluated;
use crate::check::eval::only_observes;
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
    if only.is_none() {
        return whole_lab(session, observer).await;
    }
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

/// A verdict of the whole-lab pass: known, or a packets check observed with the others
/// at the end (with the variables of its place in the lab).
enum Slot<'a> {
    Done(Gradable<'a>, Box<Evaluated>),
    Deferred(Gradable<'a>, Vars),
}

/// Every step, all printed: see the module's documentation. Steps before the first
/// deferred check are printed as they are evaluated, the rest once the window ends.
async fn whole_lab(session: &mut Session<'_>, observer: &dyn Observer) -> Vec<usize> {
    let steps = session.lab.steps.len();
    let mut held: Vec<(usize, Vec<Slot<'_>>)> = Vec::new();
    let mut window = Duration::ZERO;
    for step in 0..steps {
        let mut mine = Vec::new();
        for g in session.gradables(step) {
            match g.kind {
                GradableKind::Question(_) => continue,
                GradableKind::Check(item) if session.check_lacking(item).is_none() => {
                    if let Some(within) = only_observes(item, &session.vars) {
                        window = window.max(within);
                        mine.push(Slot::Deferred(g, session.vars.clone()));
                        continue;
                    }
                }
                _ => {}
            }
            let evaluated = session.evaluate_deferred(step, &g, &session.vars).await;
            if evaluated.outcome.passed() {
                session.vars.extend(evaluated.outcome.captures.clone());
            }
            mine.push(Slot::Done(g, Box::new(evaluated)));
        }
        let deferred = mine.iter().any(|s| matches!(s, Slot::Deferred(..)));
        if held.is_empty() && !deferred {
            emit(session, observer, step, mine, &mut std::iter::empty());
        } else {
            held.push((step, mine));
        }
    }
    let waiting: Vec<(usize, &Gradable<'_>, &Vars)> = held
        .iter()
        .flat_map(|(step, mine)| {
            mine.iter().filter_map(move |slot| match slot {
                Slot::Deferred(g, vars) => Some((*step, g, vars)),
                Slot::Done(..) => None,
            })
        })
        .collect();
    if !waiting.is_empty() {
        observer.note(&observing_note(session.lang, waiting.len(), window));
    }
    let observed = {
        let session = &*session;
        futures::future::join_all(
            waiting
                .iter()
                .map(|(step, g, vars)| session.evaluate_deferred(*step, g, vars)),
        )
        .await
    };
    let mut observed = observed.into_iter();
    for (step, mine) in held {
        emit(session, observer, step, mine, &mut observed);
    }
    (0..steps).collect()
}

/// Prints and records step `step`'s verdicts in order, the deferred ones taken from
/// `observed`.
fn emit<'a>(
    session: &mut Session<'a>,
    observer: &dyn Observer,
    step: usize,
    mine: Vec<Slot<'a>>,
    observed: &mut dyn Iterator<Item = Evaluated>,
) {
    observer.step_start(session, step);
    for slot in mine {
        let (g, evaluated) = match slot {
            Slot::Done(g, e) => (g, *e),
            Slot::Deferred(g, _) => match observed.next() {
                Some(e) => (g, e),
                None => continue,
            },
        };
        let evaluated = session.record(step, &g, evaluated);
        observer.verdict(&evaluated);
    }
    session.recorder.settle(step);
}

/// What the student is told while the packets checks observe together.
fn observing_note(lang: tplab_vocab::Lang, checks: usize, window: Duration) -> String {
    let n = u64::try_from(checks).unwrap_or(u64::MAX);
    let secs = window.as_secs() + u64::from(window.subsec_nanos() > 0);
    lang.typo(&lang.pick(
        format!(
            "observing the traffic of {} at once, up to {secs} s: send it now",
            lang.count(n, "packets check", "packets checks")
        ),
        format!(
            "observation du trafic de {} à la fois, jusqu'à {secs} s : envoyez-le maintenant",
            lang.count(n, "vérification packets", "vérifications packets")
        ),
    ))
}
