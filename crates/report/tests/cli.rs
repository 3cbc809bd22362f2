//! `tplab report` as the runner mounts it: formats, inferred from `-o`, and report folders.

mod common;

use tplab_report::{Format, ReportArgs, run_report};

fn args(
    report: std::path::PathBuf,
    format: Option<Format>,
    output: std::path::PathBuf,
) -> ReportArgs {
    ReportArgs {
        report,
        format,
        output: Some(output),
        lab: None,
        templates: None,
        junit_testcase_properties: false,
        gradescope_answers: tplab_report::AnswerVisibility::Hidden,
    }
}

#[test]
fn every_format_is_written_and_inferred_from_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let report_dir = dir.path().join("session");
    std::fs::create_dir_all(&report_dir).unwrap();
    std::fs::write(
        report_dir.join("report.json"),
        serde_json::to_string_pretty(&common::mixed()).unwrap(),
    )
    .unwrap();
    let cases = [
        ("r.html", "<!DOCTYPE html>"),
        ("r.md", "# eBPF Network Deep Dive — lab report"),
        (
            "r.xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites",
        ),
        ("r.json", "{\n  \"execution_time\""),
        ("r.txt", "<!DOCTYPE html>"),
    ];
    for (name, start) in cases {
        let out = dir.path().join(name);
        // A folder stands for its report.json.
        assert_eq!(
            run_report(&args(report_dir.clone(), None, out.clone())).unwrap(),
            0
        );
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(
            text.starts_with(start),
            "{name}: {}",
            &text[..60.min(text.len())]
        );
    }
    let out = dir.path().join("forced.html");
    run_report(&args(
        report_dir.join("report.json"),
        Some(Format::Md),
        out.clone(),
    ))
    .unwrap();
    assert!(std::fs::read_to_string(out).unwrap().starts_with("# eBPF"));
}

#[test]
fn a_missing_or_broken_report_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let err = run_report(&args(missing, None, dir.path().join("o.html"))).unwrap_err();
    assert!(err.to_string().contains("nope.json: cannot read"), "{err}");
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"schema\": \"tplab.report/1\", \"tool\": ").unwrap();
    let err = run_report(&args(broken, None, dir.path().join("o.html"))).unwrap_err();
    assert!(
        err.to_string().contains("broken.json: truncated JSON"),
        "{err}"
    );
}
