//! What reports and the gradebook print (issue 14 leftovers): a transcript's commands
//! appear rendered (never a raw `{{ … }}`) in report.json and in every export, and
//! `tplab report`/`tplab grade` end what they print on stdout with a newline, so that a
//! warning on stderr or the shell's prompt starts a line of its own.

use std::path::Path;

use tplab_testkit::Suite;

use crate::harness::{Failed, ensure, fail, fixture, tempdir, tplab};

const LAB: &str = "labs/transcript-vars.md";

pub fn register(suite: Suite) -> Suite {
    suite.test(
        "report_text::transcripts_rendered_and_lines_ended",
        transcripts_rendered_and_lines_ended,
    )
}

fn run(dir: &Path) -> Result<(), Failed> {
    let lab = fixture(LAB);
    tplab([
        "run".as_ref(),
        lab.as_os_str(),
        "--auto".as_ref(),
        "--env".as_ref(),
        "local".as_ref(),
        "--student".as_ref(),
        "ada".as_ref(),
        "--report".as_ref(),
        dir.as_os_str(),
    ])
    .run()
    .success()?;
    Ok(())
}

fn transcripts_rendered_and_lines_ended() -> Result<(), Failed> {
    let dir = tempdir();
    run(dir.path())?;
    let report = dir.path().join("report.json");
    let json = std::fs::read_to_string(&report).map_err(|e| fail(e.to_string()))?;
    ensure(
        !json.contains("{{") && json.contains("`echo tplab-word` match the transcript"),
        format!("report.json keeps a raw template or lacks the rendered command:\n{json}"),
    )?;
    for format in ["md", "html", "junit", "gradescope"] {
        let out = tplab([
            "report".as_ref(),
            report.as_os_str(),
            "--format".as_ref(),
            format.as_ref(),
        ])
        .run();
        out.success()?;
        ensure(
            !out.stdout.contains("{{"),
            format!(
                "`tplab report -f {format}` shows a raw template:\n{}",
                out.stdout
            ),
        )?;
        ensure(
            out.stdout.ends_with('\n'),
            format!("`tplab report -f {format}` does not end its output with a newline"),
        )?;
    }
    let md = tplab([
        "report".as_ref(),
        report.as_os_str(),
        "--format".as_ref(),
        "md".as_ref(),
    ])
    .run();
    md.stdout_has("`echo tplab-word` match the transcript")?;

    let class = tempdir();
    std::fs::copy(&report, class.path().join("ada.json")).map_err(|e| fail(e.to_string()))?;
    let out_dir = class.path().join("grades");
    let lab = fixture(LAB);
    let grade = tplab([
        "grade".as_ref(),
        "--lab".as_ref(),
        lab.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
        class.path().join("ada.json").as_os_str(),
    ])
    .run();
    // Flagged (no nonce) or not, the gradebook is written and stdout is whole lines.
    ensure(
        grade.code == 0 || grade.code == 1,
        format!("tplab grade: {}", grade.stderr),
    )?;
    ensure(
        grade.stdout.ends_with('\n') && grade.stdout.contains("grades.json"),
        format!(
            "tplab grade's stdout does not end with a newline:\n{:?}",
            grade.stdout
        ),
    )?;
    ensure(
        grade.stderr.is_empty() || grade.stderr.ends_with('\n'),
        format!("tplab grade's stderr: {:?}", grade.stderr),
    )
}
