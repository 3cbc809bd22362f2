//! Answer feedback (issue 14, item 5), through a real terminal at 80x24: the student's
//! phrasing around a number is accepted (`id 1`), other accepted forms (`accept`) too, a
//! typical wrong answer gets its targeted feedback (`feedback`) instead of a generic
//! hint, and an entered answer is not marked ✔ before its verdict.

use std::time::Duration;

use tplab_testkit::Suite;

use crate::harness::{Failed, Guided, fail};

pub fn register(suite: Suite) -> Suite {
    suite.test(
        "answers::accepted_forms_and_targeted_feedback",
        accepted_forms,
    )
}

const WAIT: Duration = Duration::from_secs(20);

fn accepted_forms() -> Result<(), Failed> {
    let g = Guided::start("tests/fixtures/labs/answers.md", "")?;
    let t = &g.tmux;
    t.wait_for("What do you want to do?", WAIT)?;
    t.send(&["Enter"])?;
    t.wait_for("What is the interface index of lo?", WAIT)?;
    t.wait_for("Your answer", WAIT)?;
    t.type_line("id 1")?;
    t.wait_for("What kind of interface is lo?", WAIT)?;
    t.wait_for_n("Your answer", 2, WAIT)?;
    t.type_line("eth0")?;
    t.wait_for(
        "eth0 is an Ethernet interface; lo never leaves the machine.",
        WAIT,
    )?;
    t.type_line("1: lo")?;
    let screen = t.wait_for("TPLAB-EXIT=", WAIT)?;
    if screen.matches("✔ Correct!").count() != 2 || screen.contains("Look at its name.") {
        return Err(fail(format!("answers not judged as expected:\n{screen}")));
    }
    if screen.contains("✔ Your answer") {
        return Err(fail(format!(
            "an answer was marked ✔ before its verdict:\n{screen}"
        )));
    }
    let r = g.report()?;
    let name = &r.steps[0].questions[1];
    if name.answers != ["eth0", "1: lo"] || name.verdict != tplab_report::Verdict::Pass {
        return Err(fail(format!(
            "the report does not record the attempts: {name:?}"
        )));
    }
    Ok(())
}
