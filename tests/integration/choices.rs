//! Multiple-choice questions (issue 15, item 3) through a real terminal at 80x24: the
//! choices are shown numbered, the student answers by number or by text, and a
//! question with several right choices and `partial: true` earns part of its points.

use std::time::Duration;

use tplab_testkit::Suite;

use crate::harness::{Failed, Guided, fail};

pub fn register(suite: Suite) -> Suite {
    suite.test(
        "choices::numbered_answers_and_partial_credit",
        numbered_answers,
    )
}

const WAIT: Duration = Duration::from_secs(20);

fn numbered_answers() -> Result<(), Failed> {
    let g = Guided::start("tests/fixtures/labs/choices.md", "")?;
    let t = &g.tmux;
    // A step of questions only asks them at once.
    t.wait_for("Which interface is the loopback?", WAIT)?;
    t.wait_for("2. lo", WAIT)?;
    t.wait_for("Your answer", WAIT)?;
    t.type_line("2")?;
    t.wait_for("3. local", WAIT)?;
    t.wait_for_n("Your answer", 2, WAIT)?;
    // One right choice and one wrong, then only one right: half the points.
    t.type_line("main, nat")?;
    t.wait_for_n("Your answer", 3, WAIT)?;
    t.type_line("1")?;
    let screen = t.wait_for("TPLAB-EXIT=", WAIT)?;
    if screen.matches("✔ Correct!").count() != 1 {
        return Err(fail(format!("answers not judged as expected:\n{screen}")));
    }
    let r = g.report()?;
    let (lo, tables) = (&r.steps[0].questions[0], &r.steps[0].questions[1]);
    if lo.verdict != tplab_report::Verdict::Pass || lo.expected != "2" {
        return Err(fail(format!("`2` is not the loopback: {lo:?}")));
    }
    if tables.answers != ["main, nat", "1"]
        || tables.verdict != tplab_report::Verdict::Fail
        || (tables.points - 1.0).abs() > 1e-9
        || (tables.max_points - 2.0).abs() > 1e-9
    {
        return Err(fail(format!(
            "`1` of `main, local` should earn half of 2 points: {tables:?}"
        )));
    }
    if (r.score - 2.0).abs() > 1e-9 {
        return Err(fail(format!(
            "the lab's score should be 2 (1 + 1): {}",
            r.score
        )));
    }
    Ok(())
}
