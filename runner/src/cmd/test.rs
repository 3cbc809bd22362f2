//! `tplab test <LAB>`: prove the lab solvable.

use super::common;
use super::status;
use crate::cli::{Global, TestArgs};
use crate::session::lifecycle::Teardown;
use crate::session::{Mode, Session, prove};

pub async fn run(global: Global, args: TestArgs) -> super::Result {
    let lab = common::load(&args.lab)?;
    let env_name = common::env_name(&global, &lab);
    super::preflight::check_tools(&lab, &env_name, false);
    super::requires::check(&lab)?;
    let env = common::open_env(&env_name, &lab, &global, common::Need::Fresh).await?;
    let printer = common::printer(&global, &lab);
    let mut session =
        Session::start(&lab, env.as_ref(), Mode::Test, &common::identity(&global)).await?;
    // What the lab creates goes however this ends; a failing setup is an error (exit 3).
    let teardown = Teardown::arm(&session)?;
    session.setup_lab(&printer).await?;
    let proofs = prove::run(&mut session, &printer).await;
    teardown.run(&session, &printer).await;
    if let Some(e) = session.lifecycle_failure.take() {
        return Err(e.into());
    }
    common::write_report(&global, &mut session.recorder)?;
    let failing: Vec<&prove::StepProof> =
        proofs.iter().filter(|p| !p.problems.is_empty()).collect();
    if global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "lab": lab.meta.id,
                "env": env_name,
                "ok": failing.is_empty(),
                "steps": proofs,
            }))?
        );
    } else {
        printer.line("");
        printer.line(&console::style("── tplab test ──").bold().to_string());
        for p in &proofs {
            printer.proof_row(p);
        }
        let text = crate::ui::i18n::lab_proven(
            printer.lang,
            &lab.meta.id,
            &env_name,
            proofs.len(),
            failing.len(),
        );
        let verdict = if failing.is_empty() {
            console::style(text).green().bold()
        } else {
            console::style(text).red().bold()
        };
        printer.line(&verdict.to_string());
    }
    Ok(status::of_verdicts(
        proofs
            .iter()
            .map(|p| status::verdict_of(!p.problems.is_empty())),
    ))
}
