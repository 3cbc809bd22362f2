//! Guided mode for real, through a pseudo-terminal (tmux): a student picks menu
//! entries, answers a question wrongly then rightly, and sees the feedback.

use std::time::Duration;

use tplab_testkit::Suite;

use crate::harness::{Failed, Tmux, bin, fail, root, tempdir};

pub fn register(suite: Suite) -> Suite {
    suite
        .test(
            "interactive::student_session_through_a_pty",
            student_session,
        )
        .test(
            "interactive::quit_resume_and_changed_lab",
            quit_resume_and_changed_lab,
        )
}

const WAIT: Duration = Duration::from_secs(20);

fn student_session() -> Result<(), Failed> {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        return Err(fail("tmux is required for this test: apt-get install tmux"));
    }
    let state = tempdir();
    let report = tempdir();
    let command = format!(
        "cd {} && TPLAB_STATE_DIR={} NO_COLOR=1 {} run labs/first-steps --env local --student bob --report {}; echo TPLAB-EXIT=$?; sleep 30",
        root().display(),
        state.path().display(),
        bin().display(),
        report.path().display()
    );
    let t = Tmux::start(&command)?;
    // Step 1: the menu; "Run the commands for me" is the default entry.
    t.wait_for("What do you want to do?", WAIT)?;
    t.send(&["Enter"])?;
    t.wait_for("✔ the scratch directory exists", WAIT)?;
    // Step 2: ask for a hint first (3 entries down: run, watch, check, hint).
    t.wait_for_n("What do you want to do?", 2, WAIT)?;
    t.send(&["Down", "Down", "Down", "Enter"])?;
    t.wait_for("`echo \"text\" > file` writes a line", WAIT)?;
    t.wait_for_n("What do you want to do?", 3, WAIT)?;
    t.send(&["Enter"])?;
    t.wait_for("✔ net.conf sets the MTU", WAIT)?;
    // Step 3: run the transcript, then answer the question wrongly, then rightly.
    t.wait_for_n("What do you want to do?", 4, WAIT)?;
    t.send(&["Enter"])?;
    t.wait_for("What is the MTU of the loopback interface", WAIT)?;
    t.wait_for("Your answer", WAIT)?;
    t.type_line("1500")?;
    t.wait_for("✘ Not quite. (2 attempts left)", WAIT)?;
    t.type_line("65536")?;
    t.wait_for("✔ Correct!", WAIT)?;
    // Steps 4 and 5.
    t.wait_for_n("What do you want to do?", 5, WAIT)?;
    t.send(&["Enter"])?;
    t.wait_for("✔ the ready file appears", WAIT)?;
    t.wait_for_n("What do you want to do?", 6, WAIT)?;
    t.send(&["Enter"])?;
    let screen = t.wait_for("TPLAB-EXIT=0", WAIT)?;
    if !screen.contains("Lab complete.") || !screen.contains("Score: 8/8 points") {
        return Err(fail(format!("no final summary:\n{screen}")));
    }
    let text = std::fs::read_to_string(report.path().join("report.json"))
        .map_err(|e| fail(e.to_string()))?;
    let r: tplab_report::Report = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    let q = &r.steps[2].questions[0];
    if r.mode != "run" || q.answers != ["1500", "65536"] || q.verdict != tplab_report::Verdict::Pass
    {
        return Err(fail(format!("report does not record the answers: {q:?}")));
    }
    Ok(())
}

fn quit_resume_and_changed_lab() -> Result<(), Failed> {
    let state = tempdir();
    let work = tempdir();
    let lab = work.path().join("lab.md");
    std::fs::copy(root().join("labs/first-steps/lab.md"), &lab).map_err(|e| fail(e.to_string()))?;
    let command = format!(
        "TPLAB_STATE_DIR={} NO_COLOR=1 {} run {} --env local; echo TPLAB-EXIT=$?",
        state.path().display(),
        bin().display(),
        lab.display()
    );
    let t = Tmux::start("bash --norc --noprofile")?;
    t.type_line(&command)?;
    // Step 1: let tplab do it; step 2: quit (last entry).
    t.wait_for("What do you want to do?", WAIT)?;
    t.send(&["Enter"])?;
    t.wait_for_n("What do you want to do?", 2, WAIT)?;
    t.send(&["Up", "Enter"])?;
    t.wait_for_n("TPLAB-EXIT=0", 1, WAIT)?;
    // Re-running resumes at step 2.
    t.type_line(&command)?;
    t.wait_for("Resuming at step 2/5", WAIT)?;
    t.wait_for_n("What do you want to do?", 3, WAIT)?;
    t.send(&["Up", "Enter"])?;
    t.wait_for_n("TPLAB-EXIT=0", 2, WAIT)?;
    // The lab file changes: its saved progress no longer applies.
    let mut text = std::fs::read_to_string(&lab).map_err(|e| fail(e.to_string()))?;
    text.push_str("\n<!-- edited -->\n");
    std::fs::write(&lab, text).map_err(|e| fail(e.to_string()))?;
    t.type_line(&command)?;
    let screen = t.wait_for("the lab changed since your last session", WAIT)?;
    if screen.matches("Resuming at step").count() != 1 {
        return Err(fail(format!("resumed a changed lab:\n{screen}")));
    }
    t.wait_for_n("Step 1/5", 2, WAIT)?;
    Ok(())
}
