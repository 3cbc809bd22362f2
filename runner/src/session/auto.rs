//! `tplab run --auto` (and `run` without a TTY): tplab plays the student, running
//! every step's commands and solutions, then verifying; it never prompts.

use super::Session;
use super::plan::{Action, GradableKind};
use crate::lab::RunMode;
use crate::ui::printer::Printer;

/// Runs steps `from..` to the end. Questions are answered with the live expected value.
pub async fn run(session: &mut Session<'_>, printer: &Printer, from: usize) {
    let total = session.lab.steps.len();
    for step in from..total {
        printer.step_header(session, step);
        for action in session.actions(step) {
            if let Action::Command(block) = action
                && block.run == RunMode::Auto
                && let Some(problem) = session.play(step, block, printer).await
            {
                printer.warn(&problem);
            }
        }
        for g in session.gradables(step) {
            if let GradableKind::Question(q) = g.kind {
                match session.expected_answer(q) {
                    Ok(expected) => {
                        printer.question_auto(
                            &session
                                .render(&q.spec.prompt)
                                .unwrap_or_else(|_| q.spec.prompt.clone()),
                            &expected,
                        );
                        session.recorder.record_question(
                            step,
                            &g.id,
                            vec![expected.clone()],
                            true,
                            &expected,
                        );
                    }
                    Err(e) => printer.warn(&format!("question `{}`: {e}", g.id)),
                }
                continue;
            }
            let evaluated = session.verify(step, &g).await;
            printer.verdict(&evaluated, &[]);
        }
        session.recorder.settle(step);
    }
}
