//! `tplab run --auto` (and `run` without a TTY): tplab plays the student, running
//! every step's commands and solutions, then verifying; it never prompts.

use super::plan::{Action, GradableKind};
use super::{Observer, Session};
use crate::lab::RunMode;

/// Runs steps `from..` to the end. Questions are answered with the live expected value.
pub async fn run(session: &mut Session<'_>, observer: &dyn Observer, from: usize) {
    let total = session.lab.steps.len();
    for step in from..total {
        if !session.step_in_env(step) {
            observer.not_in_env(session, step);
            continue;
        }
        observer.step_start(session, step);
        if let Err(e) = session.setup_step(step, observer).await {
            session.lifecycle_failure = Some(e);
            return;
        }
        for action in session.actions(step) {
            if let Action::Command(block) = action
                && block.run == RunMode::Auto
                && let Some(problem) = session.play(step, block, observer).await
            {
                observer.warn(&problem);
            }
        }
        for g in session.gradables(step) {
            if let GradableKind::Question(q) = g.kind {
                match session.auto_answer(q) {
                    Ok(Some(expected)) => {
                        observer.answered(&session.question_prompt(q), &expected);
                        session.recorder.record_question(
                            step,
                            &g.id,
                            vec![expected.clone()],
                            true,
                            &expected,
                        );
                    }
                    Ok(None) => observer.warn(&format!(
                        "question `{}`{} {}",
                        g.id,
                        session.lang.colon(),
                        unanswerable(session.lang)
                    )),
                    Err(e) => {
                        observer.warn(&format!("question `{}`{} {e}", g.id, session.lang.colon()));
                    }
                }
                continue;
            }
            let evaluated = session.verify(step, &g).await;
            observer.verdict(&evaluated);
        }
        session.recorder.settle(step);
        session.cleanup_step(step, observer).await;
    }
}

/// Why `--auto` leaves a `match: regex` question unanswered (also said by `tplab test`).
pub fn unanswerable(lang: tplab_vocab::Lang) -> &'static str {
    lang.pick(
        "not answered: its answer is a pattern (`match: regex`) and no value of this session matches it; capture the value the student should give",
        "sans réponse\u{202f}: sa réponse est un motif (`match: regex`) et aucune valeur de cette session ne lui correspond\u{202f}; capturez la valeur que l’étudiant doit donner",
    )
}
