//! `tplab run --auto` (and `run` without a TTY): tplab plays the student, running
//! every step's commands and solutions, then verifying; it never prompts.

use super::plan::{Action, GradableKind};
use super::{Observer, Session};
use crate::lab::RunMode;

/// Runs steps `from..` to the end. Questions are answered with the live expected value.
pub async fn run(session: &mut Session<'_>, observer: &dyn Observer, from: usize) {
    let total = session.lab.steps.len();
    for step in from..total {
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
                match session.expected_answer(q) {
                    Ok(expected) => {
                        observer.answered(&session.question_prompt(q), &expected);
                        session.recorder.record_question(
                            step,
                            &g.id,
                            vec![expected.clone()],
                            true,
                            &expected,
                        );
                    }
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
