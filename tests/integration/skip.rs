//! Skipping a step (issue 14, item 3), through a real terminal at 80x24: values later
//! steps need are taken from the environment when it already has them; otherwise the
//! text shows which step provides them, a check needing one is an error verdict naming
//! that step (not a failure), the question says so, and no raw `{{ … }}` is ever shown.

use std::time::Duration;

use tplab_testkit::Suite;

use crate::harness::{Failed, Guided, fail};

pub fn register(suite: Suite) -> Suite {
    suite.test(
        "skip::later_steps_name_the_step_that_provides_a_value",
        later_steps,
    )
}

const WAIT: Duration = Duration::from_secs(20);

fn later_steps() -> Result<(), Failed> {
    let g = Guided::start("tests/fixtures/labs/skip-captures.md", "")?;
    let t = &g.tmux;
    // Steps 1 and 2: "Skip this step" is the entry above "Quit", the last one.
    for n in 1..=2 {
        t.wait_for_n("What do you want to do?", n, WAIT)?;
        t.send(&["Up", "Up", "Enter"])?;
    }
    t.wait_for("Step 3/4", WAIT)?;
    // Step 3: "Check now" (third entry).
    t.wait_for_n("What do you want to do?", 3, WAIT)?;
    t.send(&["Down", "Down", "Enter"])?;
    t.wait_for("Step 4/4", WAIT)?;
    t.wait_for_n("What do you want to do?", 4, WAIT)?;
    t.send(&["Enter"])?;
    let screen = t.wait_for("TPLAB-EXIT=", WAIT)?;
    for needed in [
        // Step 2's capture holds in the environment: taken on skip.
        "The token is ‹TOKEN: step 1› and the kernel Linux.",
        "[local]$ echo ‹TOKEN: step 1›",
        "⚠ the token ‹TOKEN: step 1› is still there",
        "this needs the value TOKEN, captured at step 1 “Make a token”: do that step first",
        "Question · this needs the value TOKEN",
        "Lab complete.",
    ] {
        if !screen.contains(needed) {
            return Err(fail(format!("{needed:?} not on the screen:\n{screen}")));
        }
    }
    if screen.contains("{{") || screen.contains("undefined value") {
        return Err(fail(format!(
            "a raw template reached the student:\n{screen}"
        )));
    }
    let text = std::fs::read_to_string(g.report.path().join("report.json"))
        .map_err(|e| fail(e.to_string()))?;
    if text.contains("{{") {
        return Err(fail(format!("a raw template reached the report:\n{text}")));
    }
    let r: tplab_report::Report = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    let check = &r.steps[2].checks[0];
    if check.verdict != tplab_report::Verdict::Error {
        return Err(fail(format!(
            "a check lacking a skipped value is charged: {check:?}"
        )));
    }
    Ok(())
}
