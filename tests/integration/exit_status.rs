//! One exit status per kind of outcome, through the CLI (see `runner/src/status.rs`):
//! 1 checks failed, 2 usage or a lab that cannot be used, 3 environment unusable.

use crate::harness::{Failed, tplab};
use tplab_testkit::Suite;

pub fn register(suite: Suite) -> Suite {
    suite
        .test("exit::missing_lab_is_usage", missing_lab)
        .test("exit::run_refuses_a_lab_with_lint_errors", lab_with_errors)
        .test("exit::failing_check_is_1", failing_check)
        .test("exit::run_auto_with_a_failing_check_is_1", run_auto_failing)
        .test("exit::unusable_environment_is_3_with_causes", unusable_env)
}

fn missing_lab() -> Result<(), Failed> {
    tplab(["check", "tests/fixtures/labs/no-such-lab.md"])
        .run()
        .code(2)?
        .stderr_has("error: cannot read tests/fixtures/labs/no-such-lab.md: No such file")?;
    Ok(())
}

fn lab_with_errors() -> Result<(), Failed> {
    tplab(["run", "--auto", "tests/fixtures/lint/unknown-key.md"])
        .run()
        .code(2)?
        .stderr_has("[unknown-key]")?
        .stderr_has("error: tests/fixtures/lint/unknown-key.md has 1 error(s); run `tplab lint")?;
    Ok(())
}

fn failing_check() -> Result<(), Failed> {
    // Nothing created the file the first check looks for.
    tplab([
        "check",
        "tests/fixtures/labs/never-passes.md",
        "--env",
        "local",
    ])
    .run()
    .code(1)?;
    Ok(())
}

fn run_auto_failing() -> Result<(), Failed> {
    let reports = tempfile::tempdir().map_err(crate::harness::fail)?;
    let dir = reports.path().to_string_lossy().to_string();
    let run = |lab: &str| {
        tplab([
            "run",
            "--auto",
            lab,
            "--env",
            "local",
            "--report",
            &dir,
            "--student",
            "exit",
        ])
        .run()
    };
    // The summary shows the failure, and so does the status.
    run("tests/fixtures/labs/never-passes.md")
        .code(1)?
        .stdout_has("Score: 2/3")?;
    run("tests/fixtures/labs/already-true.md").code(0)?;
    Ok(())
}

fn unusable_env() -> Result<(), Failed> {
    let out = tplab([
        "check",
        "tests/fixtures/labs/sandbox-two-steps.md",
        "--env",
        "sandbox",
        "--sandbox",
        "nosuch",
    ])
    .run();
    // What tplab was doing, then why (not found as root, not allowed otherwise).
    out.code(3)?.stderr_has("error: opening the sandbox: ")?;
    if tplab_testkit::is_root() {
        out.stderr_has("sandbox `nosuch` not found")?;
    }
    Ok(())
}
