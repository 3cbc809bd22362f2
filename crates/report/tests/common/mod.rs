//! Shared fixtures for the report crate's tests.
#![allow(dead_code)]

use tplab_report::fixture::{finish_step, reseal, student_report};
use tplab_report::{Report, Verdict};

/// A report with every verdict: pass, fail, error and skipped checks, a failed question
/// whose answer tries HTML injection, command output with backticks and ANSI escapes.
pub fn mixed() -> Report {
    let mut r = student_report(3);
    let verdicts = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::Pass,
        Verdict::Error,
        Verdict::Pass,
        Verdict::Pass,
        Verdict::Pass,
        Verdict::Skipped,
    ];
    let mut n = 0;
    for step in &mut r.steps {
        for c in &mut step.checks {
            c.verdict = verdicts[n % verdicts.len()];
            c.points = if c.verdict == Verdict::Pass {
                c.max_points
            } else {
                0.0
            };
            match c.verdict {
                Verdict::Fail => {
                    c.found = "no neighbour entry for 10.244.0.201 | nothing".into();
                    c.message = "the pod never talked to its gateway".into();
                }
                Verdict::Error => {
                    c.found = String::new();
                    c.message =
                        "checker could not run: BPF_PROG_QUERY on lxc failed (EPERM)".into();
                }
                Verdict::Skipped => c.message = "step not reached".into(),
                Verdict::Pass => {}
            }
            n += 1;
        }
        for q in &mut step.questions {
            q.verdict = Verdict::Fail;
            q.points = 0.0;
            q.answers = vec![
                "<script>alert(1)</script>".into(),
                "ff:ff:ff:ff:ff:ff".into(),
            ];
        }
        finish_step(step);
    }
    r.steps[0].commands[0]
        .stdout
        .push_str("```not a fence``` \u{1b}[31mred\u{1b}[0m\n");
    r.total();
    reseal(&mut r);
    r
}

/// Where rendered files of the tests go (kept for inspection after a run).
pub fn out_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("create test output dir");
    dir
}
