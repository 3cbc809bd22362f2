//! `tplab run <LAB>`: guided mode, or auto mode (`--auto`, or no TTY).

use std::io::IsTerminal;

use super::common;
use super::status;
use crate::cli::{Global, RunArgs};
use crate::session::{Mode, Session, auto, progress};
use crate::ui::guided;

pub async fn run(global: Global, args: RunArgs) -> anyhow::Result<u8> {
    let lab = match common::load(&args.lab) {
        Ok(lab) => lab,
        Err(code) => return Ok(code),
    };
    let env_name = common::env_name(&global, &lab);
    let interactive =
        !args.auto && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    super::preflight::check_tools(&lab, &env_name, interactive);
    let env = common::open_env(&env_name, &lab, &global, common::Need::Fresh).await?;
    let printer = common::printer(&global, &lab);
    let interactive =
        !args.auto && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let mode = if interactive { Mode::Run } else { Mode::Auto };
    let who = common::identity(&global);
    // Every session leaves a report: `--report DIR`, else next to the saved progress.
    let report_dir = global
        .report
        .clone()
        .unwrap_or_else(|| progress::reports_dir(&lab.meta.id, who.student.as_deref()));
    let mut session = Session::new(&lab, env.as_ref(), mode, &who);
    printer.line(
        &console::style(format!(
            "{} — {} ({})",
            lab.meta.title, lab.meta.id, env_name
        ))
        .bold()
        .to_string(),
    );
    if interactive {
        let mut from = 0;
        if args.restart {
            progress::clear(&lab.meta.id, &env_name, who.student.as_deref());
        } else if let Some(saved) =
            progress::load(&lab.meta.id, &lab.sha256, &env_name, who.student.as_deref())
            && saved.next_step < lab.steps.len()
        {
            from = saved.next_step;
            session.vars.extend(saved.vars);
            session.recorder.resume(saved.report);
            printer.line(&format!(
                "{} {}/{}",
                printer.text.resuming,
                from + 1,
                lab.steps.len()
            ));
        }
        guided::run(&mut session, &printer, from, Some(&report_dir)).await?;
    } else {
        for item in &lab.intro {
            if let crate::lab::ItemKind::Prose(p) = &item.kind {
                printer.prose(&session.render(p).unwrap_or_else(|_| p.clone()));
            }
        }
        auto::run(&mut session, &printer, 0).await;
    }
    session.recorder.finish();
    let path =
        Some(session.recorder.write(&report_dir).map_err(|e| {
            anyhow::anyhow!("writing the report into {}: {e}", report_dir.display())
        })?);
    if global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&session.recorder.report)?
        );
    } else {
        printer.summary(&session, path.as_deref());
    }
    Ok(status::OK)
}
