//! What a lab shows (issue 14, item 7), through a real terminal at 80x24: code blocks of
//! the introduction (an ASCII topology) are shown, a list item's continuation line is
//! indented under its text, and "show the solution" shows what the student types, not
//! tplab's background helper (`solution=hidden`).

use std::time::Duration;

use tplab_testkit::Suite;

use crate::harness::{Failed, Guided, fail};

pub fn register(suite: Suite) -> Suite {
    suite.test("shows::diagrams_lists_and_the_solution_to_type", shows)
}

const WAIT: Duration = Duration::from_secs(20);

fn shows() -> Result<(), Failed> {
    let g = Guided::start("tests/fixtures/labs/shows.md", "")?;
    let t = &g.tmux;
    t.wait_for("What do you want to do?", WAIT)?;
    // "Show the solution": run, watch, check, hint, solution.
    t.send(&["Down", "Down", "Down", "Down", "Enter"])?;
    t.wait_for_n("What do you want to do?", 2, WAIT)?;
    let screen = t.screen();
    t.send(&["Up", "Enter"])?;
    t.wait_for("TPLAB-EXIT=", WAIT)?;
    if !screen.contains("| pod | ---------- | node |") {
        return Err(fail(format!(
            "the introduction's diagram is not shown:\n{screen}"
        )));
    }
    let after = screen.split("· Show the solution").nth(1).unwrap_or("");
    if !after.contains("echo typed-by-the-student") || screen.contains("echo helper") {
        return Err(fail(format!(
            "the solution shown is not what to type:\n{screen}"
        )));
    }
    let wrapped = screen
        .lines()
        .skip_while(|l| !l.starts_with("1. Type the command"))
        .nth(1)
        .unwrap_or("");
    if !wrapped.starts_with("   ") || wrapped.trim().is_empty() {
        return Err(fail(format!(
            "the list item's second line is not indented:\n{screen}"
        )));
    }
    Ok(())
}
