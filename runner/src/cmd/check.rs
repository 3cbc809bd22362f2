//! `tplab check <LAB> [--step ID] [--json]`

use super::common;
use super::status;
use crate::check::Verdict;
use crate::cli::{CheckArgs, Global};
use crate::session::{Mode, Session, inspect};

pub async fn run(global: Global, args: CheckArgs) -> anyhow::Result<u8> {
    let lab = match common::load(&args.lab) {
        Ok(lab) => lab,
        Err(code) => return Ok(code),
    };
    let only = match &args.step {
        Some(id) => {
            if let Some(i) = lab.steps.iter().position(|s| &s.id == id) {
                Some(i)
            } else {
                let ids: Vec<&str> = lab.steps.iter().map(|s| s.id.as_str()).collect();
                eprintln!(
                    "{} no step `{id}` in {} (steps: {})",
                    console::style("error:").red().bold(),
                    lab.meta.id,
                    ids.join(", ")
                );
                return Ok(status::USAGE);
            }
        }
        None => None,
    };
    let env_name = common::env_name(&global, &lab);
    let env = common::open_env(&env_name, &lab, &global, common::Need::Existing).await?;
    let printer = common::printer(&global, &lab);
    let mut session =
        Session::start(&lab, env.as_ref(), Mode::Check, &common::identity(&global)).await?;
    let shown = inspect::run(&mut session, &printer, only).await;
    let path = common::write_report(&global, &mut session.recorder)?;
    let report = &session.recorder.report;
    if global.json {
        let steps: Vec<&tplab_report::StepReport> =
            shown.iter().map(|i| &report.steps[*i]).collect();
        if only.is_some() {
            println!("{}", serde_json::to_string_pretty(&steps)?);
        } else {
            println!("{}", serde_json::to_string_pretty(report)?);
        }
    } else {
        printer.summary(&session, path.as_deref());
    }
    let verdicts: Vec<Verdict> = shown
        .iter()
        .flat_map(|i| report.steps[*i].checks.iter().map(|c| c.verdict))
        .collect();
    Ok(if verdicts.contains(&Verdict::Fail) {
        status::FAILED
    } else if verdicts.contains(&Verdict::Error) {
        status::ENV
    } else {
        status::OK
    })
}
