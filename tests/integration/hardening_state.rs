//! Issue 10, item 1: nothing in a progress file or a student id makes tplab touch a path
//! outside its own directories; item 4 (the student's side): what commands print cannot
//! drive the student's terminal.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tplab_testkit::Suite;

use crate::harness::{Failed, Tmux, bin, fail, fixture, root, tempdir, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test(
            "hardening_state::stale_progress_cannot_delete_outside_tplab",
            stale_progress_cannot_delete_outside_tplab,
        )
        .test(
            "hardening_state::student_id_cannot_write_outside_the_state_dir",
            student_id_cannot_write_outside_the_state_dir,
        )
        .test(
            "hardening_state::progress_of_another_student_is_not_resumed",
            progress_of_another_student_is_not_resumed,
        )
        .test(
            "hardening_state::command_output_cannot_drive_the_terminal",
            command_output_cannot_drive_the_terminal,
        )
}

const WAIT: Duration = Duration::from_secs(30);

fn io(e: impl std::fmt::Display) -> Failed {
    fail(e.to_string())
}

/// Every file below `dir`, recursively.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The single progress file of a state dir, as JSON.
fn progress_file(state: &Path) -> Result<(PathBuf, serde_json::Value), Failed> {
    let found: Vec<PathBuf> = files_below(state)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".progress.json"))
        .collect();
    let [path] = found.as_slice() else {
        return Err(fail(format!("expected one progress file, found {found:?}")));
    };
    let json = serde_json::from_slice(&std::fs::read(path).map_err(io)?).map_err(io)?;
    Ok((path.clone(), json))
}

/// A victim folder outside every tplab directory, reached from
/// `/run/tplab/sandboxes/<id>` and `/sys/fs/bpf/tplab/<id>` by `../../../`.
struct Victim(PathBuf);

impl Victim {
    fn new() -> Result<Self, Failed> {
        let dir = PathBuf::from(format!("/tmp/tplab-victim-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(io)?;
        std::fs::write(dir.join("precious.txt"), "keep me").map_err(io)?;
        Ok(Victim(dir))
    }

    fn handle(&self) -> String {
        format!("../../..{}", self.0.display())
    }

    fn intact(&self) -> bool {
        std::fs::read_to_string(self.0.join("precious.txt")).is_ok_and(|s| s == "keep me")
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes the sandboxes a test kept (by id, never `--all`).
struct KeptSandboxes(Vec<String>);

impl Drop for KeptSandboxes {
    fn drop(&mut self) {
        for id in &self.0 {
            let _ = tplab(["sandbox", "down", id.as_str()]).run();
        }
    }
}

fn stale_progress_cannot_delete_outside_tplab() -> Result<(), Failed> {
    let state = tempdir();
    let work = tempdir();
    let lab = work.path().join("lab.md");
    std::fs::copy(fixture("labs/sandbox-two-steps.md"), &lab).map_err(io)?;
    let victim = Victim::new()?;
    let mut kept = KeptSandboxes(Vec::new());
    let command = format!(
        "TPLAB_STATE_DIR={} NO_COLOR=1 {} run {}; echo TPLAB-EXIT=$?",
        state.path().display(),
        bin().display(),
        lab.display()
    );
    let t = Tmux::start("bash --norc --noprofile")?;
    // A real session, quit at step 1: its progress names the sandbox it kept.
    t.type_line(&command)?;
    t.wait_for("What do you want to do?", WAIT)?;
    t.send(&["Up", "Enter"])?;
    t.wait_for_n("TPLAB-EXIT=0", 1, WAIT)?;
    let (path, mut progress) = progress_file(state.path())?;
    kept.0.push(
        progress["env_handle"]
            .as_str()
            .ok_or_else(|| fail(format!("no env_handle in {progress}")))?
            .to_string(),
    );
    // The attack: the progress file names a path, and the lab changed (stale progress).
    progress["env_handle"] = victim.handle().into();
    std::fs::write(&path, progress.to_string()).map_err(io)?;
    let mut text = std::fs::read_to_string(&lab).map_err(io)?;
    text.push_str("\n<!-- edited -->\n");
    std::fs::write(&lab, text).map_err(io)?;
    t.type_line(&command)?;
    let screen = t.wait_for_n("What do you want to do?", 2, WAIT)?;
    if !victim.intact() {
        return Err(fail(format!(
            "a progress file made tplab delete {}:\n{screen}",
            victim.0.display()
        )));
    }
    if !screen.contains("saved progress ignored") || !screen.contains("invalid sandbox instance") {
        return Err(fail(format!(
            "no warning about the progress file:\n{screen}"
        )));
    }
    t.send(&["Up", "Enter"])?;
    t.wait_for_n("TPLAB-EXIT=0", 2, WAIT)?;
    let (_, progress) = progress_file(state.path())?;
    if let Some(id) = progress["env_handle"].as_str() {
        kept.0.push(id.to_string());
    }
    Ok(())
}

fn student_id_cannot_write_outside_the_state_dir() -> Result<(), Failed> {
    let top = tempdir();
    let state = top.path().join("a/b/state");
    let hostile = "../../../../escaped";
    // Auto mode writes the default report; guided mode writes progress and the report.
    tplab([
        "run",
        "labs/first-steps",
        "--env",
        "local",
        "--auto",
        "--student",
        hostile,
    ])
    .env("TPLAB_STATE_DIR", &state)
    .run()
    .success()?;
    let command = format!(
        "cd {} && TPLAB_STATE_DIR={} NO_COLOR=1 {} run labs/first-steps --env local --student {hostile}; echo TPLAB-EXIT=$?",
        root().display(),
        state.display(),
        bin().display(),
    );
    let t = Tmux::start("bash --norc --noprofile")?;
    t.type_line(&command)?;
    t.wait_for("What do you want to do?", WAIT)?;
    t.send(&["Enter"])?;
    t.wait_for_n("What do you want to do?", 2, WAIT)?;
    t.send(&["Up", "Enter"])?;
    t.wait_for("TPLAB-EXIT=0", WAIT)?;
    let all = files_below(top.path());
    let outside: Vec<_> = all.iter().filter(|p| !p.starts_with(&state)).collect();
    if !outside.is_empty() {
        return Err(fail(format!(
            "files written outside the state dir: {outside:?}"
        )));
    }
    let reports = all
        .iter()
        .filter(|p| p.ends_with("report.json") && p.starts_with(state.join("reports")))
        .count();
    if reports != 1 || progress_file(&state).is_err() {
        return Err(fail(format!(
            "expected one report and one progress file: {all:?}"
        )));
    }
    Ok(())
}

fn progress_of_another_student_is_not_resumed() -> Result<(), Failed> {
    let state = tempdir();
    let command = |student: &str| {
        format!(
            "cd {} && TPLAB_STATE_DIR={} NO_COLOR=1 {} run labs/first-steps --env local --student {student}; echo TPLAB-EXIT=$?",
            root().display(),
            state.path().display(),
            bin().display(),
        )
    };
    let t = Tmux::start("bash --norc --noprofile")?;
    t.type_line(&command("alice"))?;
    t.wait_for("What do you want to do?", WAIT)?;
    t.send(&["Enter"])?;
    t.wait_for_n("What do you want to do?", 2, WAIT)?;
    t.send(&["Up", "Enter"])?;
    t.wait_for("TPLAB-EXIT=0", WAIT)?;
    // Alice's progress handed to bob (copied under bob's name) is not resumed as his.
    let (path, _) = progress_file(state.path())?;
    let bob = PathBuf::from(path.to_string_lossy().replace(".alice.", ".bob."));
    std::fs::copy(&path, &bob).map_err(io)?;
    t.type_line(&command("bob"))?;
    let screen = t.wait_for("belongs to another student", WAIT)?;
    if screen.contains("Resuming at step") {
        return Err(fail(format!("bob resumed alice's session:\n{screen}")));
    }
    t.wait_for_n("What do you want to do?", 3, WAIT)?;
    t.send(&["Up", "Enter"])?;
    t.wait_for_n("TPLAB-EXIT=0", 2, WAIT)?;
    // A progress file whose report lost its steps is set aside, not a panic.
    let mut progress: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).map_err(io)?).map_err(io)?;
    progress["report"]["steps"] = serde_json::json!([]);
    std::fs::write(&path, progress.to_string()).map_err(io)?;
    t.type_line(&command("alice"))?;
    t.wait_for("its steps do not match the lab's", WAIT)?;
    t.wait_for_n("What do you want to do?", 4, WAIT)?;
    t.send(&["Up", "Enter"])?;
    t.wait_for_n("TPLAB-EXIT=0", 3, WAIT)?;
    Ok(())
}

fn command_output_cannot_drive_the_terminal() -> Result<(), Failed> {
    let report = tempdir();
    let out = tplab([
        "run".as_ref(),
        fixture("labs/escape-sequences.md").as_os_str(),
        "--env".as_ref(),
        "local".as_ref(),
        "--auto".as_ref(),
        "--report".as_ref(),
        report.path().as_os_str(),
    ])
    .run();
    // The fixture's check fails on purpose (its failure message quotes hostile bytes too).
    out.code(1)?;
    // NO_COLOR is set: tplab itself writes no escape at all, so any is the command's.
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if let Some(c) = text
            .chars()
            .find(|&c| matches!(c, '\x1b' | '\x07' | '\r' | '\u{9b}' | '\u{202e}'))
        {
            return Err(fail(format!(
                "{stream} carries {c:?} from a command:\n{}",
                text.escape_debug()
            )));
        }
    }
    // ...and the student still sees what was printed, visibly.
    out.stdout_has("\\x1b]0;pwned\\x07")?
        .stdout_has("cleared")?;
    Ok(())
}
