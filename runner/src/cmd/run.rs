//! `tplab run <LAB>`: guided mode, or auto mode (`--auto`, or no TTY).

use std::io::IsTerminal;

use super::common;
use super::status;
use crate::cli::{Global, RunArgs};
use crate::env::open::Instance;
use crate::env::registry::EnvKind;
use crate::env::{EnvError, Environment};
use crate::lab::Lab;
use crate::session::lifecycle::Teardown;
use crate::session::progress::{self, Progress};
use crate::session::{Mode, Session, auto};
use crate::ui::guided;
use crate::ui::printer::Printer;

pub async fn run(global: Global, args: RunArgs) -> super::Result {
    let lab = common::load(&args.lab)?;
    let env_name = common::env_name(&global, &lab);
    let interactive =
        !args.auto && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let mode = if interactive { Mode::Run } else { Mode::Auto };
    let who = common::identity(&global);
    let printer = common::printer(&global, &lab);
    super::preflight::check_tools(&lab, &env_name, interactive);
    super::requires::check(&lab)?;

    // Saved progress (guided mode only), and the environment its captures came from.
    let owner = progress::Owner {
        lab_id: &lab.meta.id,
        env: &env_name,
        student: who.student.as_deref(),
    };
    let mut saved = None;
    if interactive {
        if args.restart {
            progress::clear(owner);
        } else {
            match progress::load(owner, &lab) {
                Some(progress::Saved::Current(p)) if p.next_step < lab.steps.len() => {
                    saved = Some(p);
                }
                Some(progress::Saved::Stale(p)) => {
                    // The lab changed: its saved answers may not fit; start again, and
                    // remove the sandbox that was kept for that session (its id was
                    // validated when the progress file was loaded).
                    printer.warn(&format!(
                        "{}: {}",
                        lab.source.path().display(),
                        printer.text.lab_changed
                    ));
                    match p.env_handle {
                        Some(id) if env_name == "sandbox" && tplab_sandbox::valid_id(&id) => {
                            let _ = crate::env::sandbox::teardown(&id);
                        }
                        // Its lab pod, no longer kept, goes with the open's sweep below.
                        Some(id) if env_name == "kube" => crate::env::kube::kept::discard(&id),
                        _ => {}
                    }
                    progress::clear(owner);
                }
                Some(progress::Saved::Unusable(why)) => {
                    printer.warn(&format!("{}: {why}", printer.text.progress_ignored));
                    progress::clear(owner);
                }
                _ => {}
            }
        }
    }
    let (env, saved) = open(&global, &lab, &env_name, saved, &printer).await?;

    // Every session leaves a report: `--report DIR`, else next to the saved progress.
    let report_dir = global
        .report
        .clone()
        .unwrap_or_else(|| progress::reports_dir(&lab.meta.id, who.student.as_deref()));
    let mut session = Session::start(&lab, env.as_ref(), mode, &who).await?;
    // Resuming: the earlier session's names (its namespaces were removed at Quit).
    if let Some(saved) = &saved {
        session.vars.extend(saved.vars.clone());
        session.bind_netns()?;
    }
    // What the lab creates goes however this ends (Quit included); a failing setup is an
    // error (exit 3), never the student's.
    let teardown = Teardown::arm(&session)?;
    session.setup_lab(&printer).await?;
    if let Some(saved) = &saved
        && lab.tears_down()
    {
        session.replay(saved.next_step, &printer).await?;
    }
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
        if let Some(saved) = saved {
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
        // `tplab check` in another terminal finds this session's namespace names.
        if !lab.meta.netns.is_empty() {
            progress::save(&session, from);
        }
        // From here on, Ctrl-C is the student's *Quit*: sandbox and progress are kept.
        crate::interrupt::claim().map_err(|e| EnvError::io("listening for Ctrl-C", e))?;
        guided::run(&mut session, &printer, from, Some(&report_dir)).await?;
    } else {
        guided::show_items(&session, &printer, &lab.intro);
        auto::run(&mut session, &printer, 0).await;
    }
    teardown.run(&session, &printer).await;
    if let Some(e) = session.lifecycle_failure.take() {
        return Err(e.into());
    }
    session.recorder.finish();
    let path = common::write_report_into(&session.recorder, &report_dir)?;
    if global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&session.recorder.report)?
        );
    } else {
        printer.summary(&session, Some(&path));
    }
    // Like `check`: a failed check is 1, a checker error 3, whether tplab or the student ran
    // the commands (a CI job running `run --auto` must see its failures).
    Ok(status::of_verdicts(
        session
            .recorder
            .report
            .steps
            .iter()
            .flat_map(|s| s.checks.iter().map(|c| c.verdict)),
    ))
}

/// Opens the environment. Resuming a sandbox (kube) session re-adopts the sandbox (lab
/// pod) the student left (its MACs and names are in the captures); if it is gone, start over.
pub(super) async fn open(
    global: &Global,
    lab: &Lab,
    env_name: &str,
    saved: Option<Progress>,
    printer: &Printer,
) -> Result<(Box<dyn Environment>, Option<Progress>), crate::error::Error> {
    // A kube session resumes in the lab pod it kept (the student's own `--pod` needs none).
    let resumable = match env_name {
        "sandbox" => global.sandbox.is_none().then_some(EnvKind::Sandbox),
        "kube" => global.kube.pod.is_none().then_some(EnvKind::Kube),
        _ => None,
    };
    if let Some(p) = &saved
        && let Some(kind) = resumable
        && let Some(id) = &p.env_handle
    {
        let adopt = Instance::Adopt(id.clone());
        match crate::env::open::open(kind, adopt, &global.kube.options()).await {
            Ok(env) => return Ok((env, saved)),
            Err(e) => {
                printer.warn(&format!(
                    "{e}{} {}",
                    printer.lang.colon(),
                    printer.text.saved_env_gone
                ));
                let env = common::open_env(env_name, lab, global, common::Need::Fresh).await?;
                return Ok((env, None));
            }
        }
    }
    let env = common::open_env(env_name, lab, global, common::Need::Fresh).await?;
    Ok((env, saved))
}
