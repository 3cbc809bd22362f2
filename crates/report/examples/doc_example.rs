//! Prints the one-step example report shown in docs/report-format.md (sealed, verifiable).

use tplab_report::fixture::{finish_step, reseal, student_report};

fn main() -> anyhow::Result<()> {
    let mut r = student_report(3);
    r.steps.truncate(1);
    let step = &mut r.steps[0];
    step.commands.truncate(1);
    step.checks[1].verdict = tplab_report::Verdict::Error;
    step.checks[1].points = 0.0;
    step.checks[1].found = String::new();
    step.checks[1].evidence = serde_json::Value::Null;
    step.checks[1].message = "checker could not run: netlink dump of neighbours in netns tplab-pod failed: Operation not permitted".into();
    finish_step(step);
    r.total();
    reseal(&mut r);
    println!("{}", serde_json::to_string_pretty(&r)?);
    Ok(())
}
