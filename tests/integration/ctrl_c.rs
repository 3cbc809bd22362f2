//! Ctrl-C in a guided session is *Quit* (issue 14, item 1), through a real terminal
//! (tmux at 80x24): at the menu, in watch mode (SIGINT) and at a question's prompt (raw
//! mode: read as a key), the sandbox and the progress are kept, the screen says how to
//! resume, and the next run resumes there; the final report covers every sitting.

use std::time::Duration;

use tplab_testkit::Suite;

use crate::harness::{Failed, Guided, fail, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test(
            "ctrl_c::at_the_menu_keeps_the_sandbox_and_the_progress",
            at_the_menu,
        )
        .test(
            "ctrl_c::in_watch_mode_and_at_a_question_quits_and_resumes",
            watch_and_question,
        )
}

const WAIT: Duration = Duration::from_secs(30);

/// The sandbox id in "… to remove it: <id> — `tplab sandbox down <id>`".
fn kept_sandbox(screen: &str) -> Option<String> {
    let at = screen.find("tplab sandbox down ")?;
    let id: String = screen[at + "tplab sandbox down ".len()..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    (!id.is_empty()).then_some(id)
}

fn at_the_menu() -> Result<(), Failed> {
    let g = Guided::start("tests/fixtures/labs/sandbox-two-steps.md", "")?;
    let (t, command) = (&g.tmux, &g.command);
    t.wait_for("What do you want to do?", WAIT)?;
    t.send(&["Enter"])?;
    t.wait_for("✔ the pod has its address", WAIT)?;
    t.wait_for_n("What do you want to do?", 2, WAIT)?;
    t.send(&["C-c"])?;
    let screen = t.wait_for("TPLAB-EXIT=", WAIT)?;
    let id = kept_sandbox(&screen)
        .ok_or_else(|| fail(format!("no kept sandbox on the screen:\n{screen}")))?;
    let down = Down(id.clone());
    for needed in [
        "Quit (progress is saved)",
        "To resume at this step",
        "TPLAB-EXIT=0",
    ] {
        if !screen.contains(needed) {
            return Err(fail(format!("{needed:?} not on the screen:\n{screen}")));
        }
    }
    if screen.contains("teardown") || screen.contains("read interrupted") {
        return Err(fail(format!("Ctrl-C tore something down:\n{screen}")));
    }
    // The sandbox is still there, with its netns (cross-checked with `ip`).
    let netns = std::process::Command::new("ip")
        .args(["-j", "netns", "list"])
        .output()
        .map_err(|e| fail(format!("ip: {e}")))?;
    if !String::from_utf8_lossy(&netns.stdout).contains(&format!("tplab-{id}-pod")) {
        return Err(fail(format!("the pod netns of sandbox {id} is gone")));
    }
    // The next run resumes at step 2 and finishes; the report covers both sittings.
    t.type_line(command)?;
    t.wait_for("Resuming at step 2/2", WAIT)?;
    t.wait_for_n("What do you want to do?", 3, WAIT)?;
    t.send(&["Enter"])?;
    let screen = t.wait_for_n("TPLAB-EXIT=", 2, WAIT)?;
    if !screen.contains("Lab complete.") || !screen.contains("TPLAB-EXIT=0") {
        return Err(fail(format!("the resumed run did not finish:\n{screen}")));
    }
    let r = g.report()?;
    let passed: Vec<bool> = r
        .steps
        .iter()
        .map(|s| {
            !s.checks.is_empty()
                && s.checks
                    .iter()
                    .all(|c| c.verdict == tplab_report::Verdict::Pass)
        })
        .collect();
    if passed != [true, true] {
        return Err(fail(format!("the report lost a sitting: {passed:?}")));
    }
    drop(down);
    Ok(())
}

/// Removes the kept sandbox, whatever the test's outcome.
struct Down(String);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = tplab(["sandbox", "down", self.0.as_str()]).run();
    }
}

fn watch_and_question() -> Result<(), Failed> {
    let g = Guided::start("labs/first-steps", "--env local")?;
    let (t, command) = (&g.tmux, &g.command);
    t.wait_for("What do you want to do?", WAIT)?;
    t.send(&["Enter"])?;
    t.wait_for("✔ the scratch directory exists", WAIT)?;
    // Step 2 in watch mode (second entry): nothing will pass, Ctrl-C stops it (SIGINT).
    t.wait_for_n("What do you want to do?", 2, WAIT)?;
    t.send(&["Down", "Enter"])?;
    t.wait_for("Press Enter to stop watching", WAIT)?;
    // A watch round is drawn (the check fails: `…`), so Ctrl-C comes while it waits.
    t.wait_for("… net.conf sets the MTU", WAIT)?;
    t.send(&["C-c"])?;
    let screen = t.wait_for("TPLAB-EXIT=", WAIT)?;
    if !screen.contains("To resume at this step") {
        return Err(fail(format!("watch mode did not quit:\n{screen}")));
    }
    // Resumed at step 2: tplab runs it, then step 3's question: Ctrl-C at the prompt.
    t.send(&["clear", "Enter"])?;
    t.type_line(command)?;
    t.wait_for("Resuming at step 2/5", WAIT)?;
    t.wait_for("What do you want to do?", WAIT)?;
    t.send(&["Enter"])?;
    t.wait_for("✔ net.conf sets the MTU", WAIT)?;
    t.wait_for_n("What do you want to do?", 2, WAIT)?;
    t.send(&["Enter"])?;
    t.wait_for("Your answer", WAIT)?;
    t.send(&["C-c"])?;
    let screen = t.wait_for("TPLAB-EXIT=", WAIT)?;
    if !screen.contains("To resume at this step") || screen.contains("read interrupted") {
        return Err(fail(format!("the question prompt did not quit:\n{screen}")));
    }
    t.send(&["clear", "Enter"])?;
    t.type_line(command)?;
    t.wait_for("Resuming at step 3/5", WAIT)?;
    t.send(&["C-c"])?;
    t.wait_for("TPLAB-EXIT=", WAIT)?;
    Ok(())
}
