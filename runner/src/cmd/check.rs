//! `tplab check <LAB> [--step ID] [--json]`

use super::common;
use super::status;
use crate::cli::{CheckArgs, Global};
use crate::error::Error;
use crate::session::{Mode, Session, inspect, progress};

pub async fn run(global: Global, args: CheckArgs) -> super::Result {
    let lab = common::load(&args.lab)?;
    let only = match &args.step {
        Some(id) => {
            Some(
                lab.steps
                    .iter()
                    .position(|s| &s.id == id)
                    .ok_or_else(|| Error::NoStep {
                        id: id.clone(),
                        lab: lab.meta.id.clone(),
                        steps: lab.steps.iter().map(|s| s.id.clone()).collect(),
                    })?,
            )
        }
        None => None,
    };
    let env_name = common::env_name(&global, &lab);
    super::requires::check(&lab)?;
    let env = common::open_env(&env_name, &lab, &global, common::Need::Existing).await?;
    let printer = common::printer(&global, &lab);
    let mut session =
        Session::start(&lab, env.as_ref(), Mode::Check, &common::identity(&global)).await?;
    let saved = match progress::load(
        progress::Owner {
            lab_id: &lab.meta.id,
            env: &env_name,
            student: global.student.as_deref(),
        },
        &lab,
    ) {
        Some(progress::Saved::Current(p)) => Some(p),
        _ => None,
    };
    // The namespaces of the student's guided session carry its session id: check those.
    if !lab.meta.netns.is_empty()
        && let Some(p) = &saved
    {
        let names = lab
            .meta
            .netns
            .keys()
            .map(|r| crate::lab::lifecycle::netns_var(r));
        for var in names.chain(["session_id".to_string()]) {
            if let Some(value) = p.vars.get(&var) {
                session.vars.insert(var, value.clone());
            }
        }
        session.bind_netns()?;
    }
    // Earlier steps replayed for `--step` may take their captures from saved progress.
    let saved_vars = saved.as_ref().map(|p| &p.vars);
    let shown = inspect::run(&mut session, &printer, only, saved_vars).await;
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
    Ok(status::of_verdicts(shown.iter().flat_map(|i| {
        report.steps[*i].checks.iter().map(|c| c.verdict)
    })))
}
