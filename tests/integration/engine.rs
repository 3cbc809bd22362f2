//! The step engine through the CLI: `test` proves labs, `run --auto` writes a report
//! that matches the schema, `check` judges the current state with three-way verdicts.

use sha2::{Digest, Sha256};
use tplab_report::{Report, StepStatus, Verdict};
use tplab_testkit::Suite;

use crate::harness::{Failed, fail, fixture, root, tempdir, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .test("test::example_lab_is_solvable", example_lab_is_solvable)
        .test("test::check_that_never_passes_is_caught", never_passes)
        .test(
            "test::solution_that_does_not_solve_is_caught",
            does_not_solve,
        )
        .test(
            "test::check_passing_before_solution_is_caught",
            already_true,
        )
        .test("run::auto_writes_a_valid_report", auto_writes_report)
        .test("run::no_tty_means_auto", no_tty_means_auto)
        .test("check::current_state_three_way", check_current_state)
        .test("check::unknown_step_is_a_usage_error", check_unknown_step)
        .test(
            "run::broken_lab_is_refused_with_location",
            broken_lab_refused,
        )
}

/// `tplab test LAB --env local [EXTRA...]`.
fn test_local(lab: &std::path::Path, extra: &[&str]) -> crate::harness::Output {
    let mut args = vec![
        "test".as_ref(),
        lab.as_os_str(),
        "--env".as_ref(),
        "local".as_ref(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    tplab(args).run()
}

fn example_lab_is_solvable() -> Result<(), Failed> {
    tplab(["test", "labs/first-steps", "--env", "local"])
        .run()
        .success()?
        .stdout_has("lab `first-steps` is solvable on `local`: 5 steps proven")?;
    Ok(())
}

fn never_passes() -> Result<(), Failed> {
    let lab = fixture("labs/never-passes.md");
    let out = test_local(&lab, &[]);
    out.code(1)?
        .stdout_has("a file that nobody creates fails after the solution")?
        .stdout_has("1 of 2 steps not proven")?;
    // JSON form names the failing step.
    let json = test_local(&lab, &["--json"]).json()?;
    if json["ok"] != false || json["steps"][0]["problems"].as_array().map_or(0, Vec::len) != 1 {
        return Err(fail(format!("unexpected test JSON: {json:#}")));
    }
    Ok(())
}

fn does_not_solve() -> Result<(), Failed> {
    let lab = fixture("labs/does-not-solve.md");
    test_local(&lab, &[])
        .code(1)?
        .stdout_has("the file holds 42 fails after the solution")?
        .stdout_has("stdout number is 41")?;
    Ok(())
}

fn already_true() -> Result<(), Failed> {
    let lab = fixture("labs/already-true.md");
    test_local(&lab, &[])
        .code(1)?
        .stdout_has("already passes before the step's commands run")?;
    Ok(())
}

fn read_report(dir: &std::path::Path) -> Result<(serde_json::Value, Report), Failed> {
    let text = std::fs::read_to_string(dir.join("report.json"))
        .map_err(|e| fail(format!("report.json: {e}")))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    // The typed schema denies unknown fields: this is the documented contract.
    let report: Report = serde_json::from_str(&text)
        .map_err(|e| fail(format!("report does not match tplab.report/1: {e}")))?;
    Ok((value, report))
}

fn auto_writes_report() -> Result<(), Failed> {
    let dir = tempdir();
    let out = tplab([
        "run".as_ref(),
        "labs/first-steps".as_ref(),
        "--auto".as_ref(),
        "--env".as_ref(),
        "local".as_ref(),
        "--student".as_ref(),
        "alice".as_ref(),
        "--report".as_ref(),
        dir.path().as_os_str(),
    ])
    .run();
    out.success()?.stdout_has("Score: 8/8 points")?;
    let (value, report) = read_report(dir.path())?;
    let lab_bytes =
        std::fs::read(root().join("labs/first-steps/lab.md")).map_err(|e| fail(e.to_string()))?;
    let checks: Vec<(&str, bool)> = vec![
        ("schema", value["schema"] == "tplab.report/1"),
        ("lab id", report.lab.id == "first-steps"),
        (
            "sha256",
            report.lab.sha256 == hex::encode(Sha256::digest(&lab_bytes)),
        ),
        ("student", report.student.id.as_deref() == Some("alice")),
        ("env", report.env.name == "local"),
        ("mode", report.mode == "auto"),
        (
            "tool version",
            report.tool.version == env!("CARGO_PKG_VERSION"),
        ),
        ("timestamps", report.finished_at >= report.started_at),
        ("5 steps", report.steps.len() == 5),
        (
            "all passed",
            report.steps.iter().all(|s| s.status == StepStatus::Passed),
        ),
        (
            "score",
            (report.score - 8.0).abs() < 1e-9 && (report.max_score - 8.0).abs() < 1e-9,
        ),
    ];
    for (what, ok) in checks {
        if !ok {
            return Err(fail(format!("report: {what} is wrong:\n{value:#}")));
        }
    }
    // Points add up: per check, per step, in total.
    let mut total = 0.0;
    for s in &report.steps {
        let sum: f64 = s.checks.iter().map(|c| c.points).sum::<f64>()
            + s.questions.iter().map(|q| q.points).sum::<f64>();
        if (sum - s.score).abs() > 1e-9 {
            return Err(fail(format!(
                "step {} points {sum} != score {}",
                s.id, s.score
            )));
        }
        total += s.score;
    }
    if (total - report.score).abs() > 1e-9 {
        return Err(fail(format!(
            "steps add to {total}, report says {}",
            report.score
        )));
    }
    // Captures and answers are recorded.
    let loopback = report
        .steps
        .iter()
        .find(|s| s.id == "loopback")
        .ok_or_else(|| fail("no loopback step"))?;
    if loopback.captures.get("LO_MTU").map(String::as_str) != Some("65536") {
        return Err(fail(format!(
            "LO_MTU not captured: {:?}",
            loopback.captures
        )));
    }
    let q = &loopback.questions[0];
    if q.verdict != Verdict::Pass || q.expected != "65536" || (q.points - 2.0).abs() > 1e-9 {
        return Err(fail(format!("question not recorded right: {q:?}")));
    }
    let config = report
        .steps
        .iter()
        .find(|s| s.id == "config")
        .ok_or_else(|| fail("no config step"))?;
    if config.captures.get("MTU").map(String::as_str) != Some("1500") || config.commands.is_empty()
    {
        return Err(fail(format!(
            "config step lacks capture or command: {config:?}"
        )));
    }
    Ok(())
}

fn no_tty_means_auto() -> Result<(), Failed> {
    // stdin is /dev/null in the harness: no prompt, the lab runs to the end.
    tplab(["run", "labs/first-steps", "--env", "local"])
        .run()
        .success()?
        .stdout_has("Score: 8/8")?;
    Ok(())
}

fn check_current_state() -> Result<(), Failed> {
    // Nothing was done: the scratch directory does not exist -> fail, exit 1, expected/found shown.
    let out = tplab([
        "check",
        "labs/first-steps",
        "--env",
        "local",
        "--step",
        "scratch",
    ])
    .run();
    out.code(1)?
        .stdout_has("✘ the scratch directory exists")?
        .stdout_has("expected: `test -d")?;
    // The loopback step observes existing state -> pass, exit 0, JSON on request.
    let out = tplab([
        "check",
        "labs/first-steps",
        "--env",
        "local",
        "--step",
        "loopback",
        "--json",
    ])
    .run();
    out.success()?;
    let json = out.json()?;
    if json[0]["checks"][0]["verdict"] != "pass" || json[0]["captures"]["LO_MTU"] != "65536" {
        return Err(fail(format!("unexpected check JSON: {json:#}")));
    }
    Ok(())
}

fn check_unknown_step() -> Result<(), Failed> {
    tplab([
        "check",
        "labs/first-steps",
        "--env",
        "local",
        "--step",
        "nope",
    ])
    .run()
    .code(2)?
    .stderr_has("no step `nope`")?
    .stderr_has("scratch")?;
    Ok(())
}

fn broken_lab_refused() -> Result<(), Failed> {
    let lab = fixture("lint/unknown-role.md");
    tplab([
        "run".as_ref(),
        lab.as_os_str(),
        "--env".as_ref(),
        "local".as_ref(),
    ])
    .run()
    .code(2)?
    .stderr_has("unknown-role.md:10:8")?
    .stderr_has("has 1 error(s)")?;
    Ok(())
}
