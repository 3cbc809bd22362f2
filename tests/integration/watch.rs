//! Watch mode (issue 14, item 6), through a real terminal: a check name wider than the
//! terminal is redrawn in place (not reprinted each second), the header counts the
//! seconds watched, and a failing check says why without leaving watch mode.

use std::time::Duration;

use tplab_testkit::Suite;

use crate::harness::{Failed, Guided, fail};

pub fn register(suite: Suite) -> Suite {
    suite.test("watch::redraws_in_place_at_80_columns", redraws_in_place)
}

const WAIT: Duration = Duration::from_secs(20);

fn redraws_in_place() -> Result<(), Failed> {
    let g = Guided::start("tests/fixtures/labs/watch-wide.md", "")?;
    let t = &g.tmux;
    t.wait_for("What do you want to do?", WAIT)?;
    // Watch mode: second entry.
    t.send(&["Down", "Enter"])?;
    t.wait_for("Press Enter to stop watching", WAIT)?;
    let screen = t.wait_for(" 4 s", WAIT)?;
    let copies = screen
        .matches("the file that this step asks you to create")
        .count();
    if copies != 1 {
        return Err(fail(format!(
            "{copies} copies of the check after 4 s:\n{screen}"
        )));
    }
    if !screen.contains("found:") && !screen.contains("No such file") {
        return Err(fail(format!(
            "no reason shown for the failing check:\n{screen}"
        )));
    }
    // (The typed command line wraps; `capture-pane -J` joins it: only tplab's rows count.)
    let watched = screen
        .split("Press Enter to stop watching")
        .nth(1)
        .unwrap_or("");
    if watched.lines().any(|l| l.chars().count() > 80) {
        return Err(fail(format!("a line wider than the terminal:\n{screen}")));
    }
    t.send(&["Enter"])?;
    t.wait_for_n("What do you want to do?", 2, WAIT)?;
    t.send(&["Up", "Enter"])?;
    t.wait_for("TPLAB-EXIT=", WAIT)?;
    Ok(())
}
