//! `tplab test`: the author's proof that a lab is solvable. For each step, its checks
//! must fail before the step's commands run (unless marked `before: pass|any`) and
//! pass after; commands must exit as declared.

use super::plan::{Action, GradableKind};
use super::{Observer, Session};
use crate::check::{self, Verdict};
use crate::lab::RunMode;
use crate::lab::checks::Before;

#[derive(Debug, Clone, serde::Serialize)]
pub struct StepProof {
    pub id: String,
    pub title: String,
    pub line: usize,
    /// Checks that failed before the solution, as they should.
    pub failed_before: usize,
    /// Checks that passed after the solution.
    pub passed_after: usize,
    pub checks: usize,
    pub problems: Vec<String>,
}

pub async fn run(session: &mut Session<'_>, observer: &dyn Observer) -> Vec<StepProof> {
    let mut proofs = Vec::new();
    for step in 0..session.lab.steps.len() {
        if !session.step_in_env(step) {
            observer.not_in_env(session, step);
            continue;
        }
        let lab_step = &session.lab.steps[step];
        let mut proof = StepProof {
            id: lab_step.id.clone(),
            title: lab_step.title.clone(),
            line: session.lab.line_of(lab_step.span.start),
            failed_before: 0,
            passed_after: 0,
            checks: 0,
            problems: Vec::new(),
        };
        observer.step_start(session, step);
        // A setup that fails proves nothing about the step: the whole test is an error.
        if let Err(e) = session.setup_step(step, observer).await {
            session.lifecycle_failure = Some(e);
            return proofs;
        }
        let gradables = session.gradables(step);
        // 1. Before: one attempt each, nothing recorded; captures flow within the pass.
        let mut scratch = session.vars.clone();
        for g in &gradables {
            let (before, name) = match g.kind {
                GradableKind::Check(item) => (item.spec.before, item.spec.display_name()),
                GradableKind::Transcript(_) => (Before::Any, g.id.clone()),
                GradableKind::Question(_) => continue,
            };
            proof.checks += 1;
            let outcome = match g.kind {
                // A check that cannot even be rendered yet cannot pass yet.
                GradableKind::Check(item) => match check::eval::prepare(item, &scratch) {
                    Err(e) => check::Outcome::fail("", e.to_string()),
                    // Before the step's commands, nobody sends the flow a packets check
                    // awaits (the solution does): a glance still catches one that would
                    // pass on traffic already flowing, without waiting its window out.
                    // A `before: pass` check keeps its full window: it needs that traffic.
                    Ok(prepared) => {
                        let prepared = if matches!(before, Before::Pass) {
                            prepared
                        } else {
                            prepared.window_at_most(check::eval::GLANCE_WINDOW)
                        };
                        session.attempt(step, g, &prepared, &scratch).await
                    }
                },
                _ => session.evaluate(g).await.outcome,
            };
            if outcome.passed() {
                scratch.extend(outcome.captures.clone());
            }
            let verdict = outcome.verdict;
            let fr = session.lang == tplab_vocab::Lang::Fr;
            match (before, verdict) {
                (_, Verdict::Error) if fr => proof.problems.push(format!("avant la solution, {name}\u{202f}: le vérificateur n’a pas pu s’exécuter ({})", outcome.message)),
                (_, Verdict::Error) => proof.problems.push(format!("before the solution, {name}: the checker could not run ({})", outcome.message)),
                (Before::Fail, Verdict::Pass) if fr => proof.problems.push(format!(
                    "{name} passe déjà avant les commandes de l’étape (si elle observe un état préexistant, marquez-la `before: pass` ou `before: any`)"
                )),
                (Before::Fail, Verdict::Pass) => proof.problems.push(format!(
                    "{name} already passes before the step's commands run (if this observes pre-existing state, mark it `before: pass` or `before: any`)"
                )),
                (Before::Pass, Verdict::Fail) if fr => proof.problems.push(format!("{name} devrait passer avant la solution (`before: pass`) mais échoue")),
                (Before::Pass, Verdict::Fail) => proof.problems.push(format!("{name} should pass before the solution (`before: pass`) but fails")),
                (_, Verdict::Fail) => proof.failed_before += 1,
                _ => {}
            }
        }
        // 2. The solution: every command tplab may run.
        for action in session.actions(step) {
            if let Action::Command(block) = action
                && block.run == RunMode::Auto
                && let Some(problem) = session.play(step, block, observer).await
            {
                proof.problems.push(problem);
            }
        }
        // 3. After: everything must pass.
        for g in &gradables {
            if let GradableKind::Question(q) = g.kind {
                match session.auto_answer(q) {
                    Ok(Some(expected)) => session.recorder.record_question(
                        step,
                        &g.id,
                        vec![expected.clone()],
                        true,
                        &expected,
                    ),
                    Ok(None) => proof.problems.push(format!(
                        "question `{}`{} {}",
                        g.id,
                        session.lang.colon(),
                        super::auto::unanswerable(session.lang)
                    )),
                    Err(e) => proof.problems.push(format!(
                        "question `{}`{} {e}",
                        g.id,
                        session.lang.colon()
                    )),
                }
                continue;
            }
            let evaluated = session.verify(step, g).await;
            observer.verdict(&evaluated);
            let (name, o) = (&evaluated.name, &evaluated.outcome);
            match (o.verdict, session.lang) {
                (Verdict::Pass, _) => proof.passed_after += 1,
                (Verdict::Fail, tplab_vocab::Lang::En) => proof.problems.push(format!(
                    "{name} fails after the solution: expected {}, found {}",
                    o.expected, o.found
                )),
                (Verdict::Fail, tplab_vocab::Lang::Fr) => proof.problems.push(format!(
                    "{name} échoue après la solution\u{202f}: attendu {}, trouvé {}",
                    o.expected, o.found
                )),
                (Verdict::Error, tplab_vocab::Lang::En) => proof.problems.push(format!(
                    "{name} could not be checked after the solution: {}",
                    o.message
                )),
                (Verdict::Error, tplab_vocab::Lang::Fr) => proof.problems.push(format!(
                    "{name} n’a pas pu être vérifiée après la solution\u{202f}: {}",
                    o.message
                )),
            }
        }
        session.recorder.settle(step);
        session.cleanup_step(step, observer).await;
        observer.proof(&proof);
        proofs.push(proof);
    }
    proofs
}
