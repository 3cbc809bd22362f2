//! `tplab serve <LAB>`: `run`'s session (same environments, progress and reports) driven
//! from a browser page instead of the terminal.

use super::common;
use super::status;
use crate::cli::{Global, ServeArgs};
use crate::env::EnvError;
use crate::error::Error;
use crate::serve::{self, Options};
use crate::session::lifecycle::Teardown;
use crate::session::progress;
use crate::session::{Mode, Session};

pub async fn run(global: Global, args: ServeArgs) -> super::Result {
    let opts = Options {
        bind: args.bind,
        port: args.port,
        allow_remote: args.allow_remote,
    };
    if !opts.bind.is_loopback() && !opts.allow_remote {
        return Err(Error::Serve(serve::ServeError::RemoteRefused(opts.bind)));
    }
    let lab = common::load(&args.lab)?;
    let env_name = common::env_name(&global, &lab);
    let who = common::identity(&global);
    let printer = common::printer(&global, &lab);
    super::preflight::check_tools(&lab, &env_name, true);
    super::requires::check(&lab)?;

    // Saved progress, as `run` keeps it: a reload or a server restart resumes.
    let owner = progress::Owner {
        lab_id: &lab.meta.id,
        env: &env_name,
        student: who.student.as_deref(),
    };
    let mut saved = None;
    if args.restart {
        progress::clear(owner);
    } else {
        match progress::load(owner, &lab) {
            Some(progress::Saved::Current(p)) if p.next_step < lab.steps.len() => saved = Some(p),
            Some(progress::Saved::Stale(_)) => {
                printer.warn(&format!(
                    "{}: {}",
                    lab.source.path().display(),
                    printer.text.lab_changed
                ));
                progress::clear(owner);
            }
            Some(progress::Saved::Unusable(why)) => {
                printer.warn(&format!("{}: {why}", printer.text.progress_ignored));
                progress::clear(owner);
            }
            _ => {}
        }
    }
    let (env, saved) = super::run::open(&global, &lab, &env_name, saved, &printer).await?;
    let report_dir = global
        .report
        .clone()
        .unwrap_or_else(|| progress::reports_dir(&lab.meta.id, who.student.as_deref()));
    let mut session = Session::start(&lab, env.as_ref(), Mode::Run, &who).await?;
    if let Some(saved) = &saved {
        session.vars.extend(saved.vars.clone());
        session.bind_netns()?;
    }
    let teardown = Teardown::arm(&session)?;
    session.setup_lab(&printer).await?;
    if let Some(saved) = &saved
        && lab.tears_down()
    {
        session.replay(saved.next_step, &printer).await?;
    }
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
    progress::save(&session, from);
    // Ctrl-C stops the server and keeps sandbox and progress, as *Quit* does in `run`.
    crate::interrupt::claim().map_err(|e| EnvError::io("listening for Ctrl-C", e))?;
    let served = serve::serve(&mut session, &opts, printer.text, &report_dir, from)
        .await
        .map_err(Error::Serve)?;
    let done = served.next_step >= lab.steps.len();
    if !done {
        // The student will come back: keep the environment (its live values) up.
        session.env.keep_alive();
        progress::save(&session, served.next_step);
    }
    // What the lab itself created goes however this ends, as in `run`.
    teardown.run(&session, &printer).await;
    if let Some(e) = session.lifecycle_failure.take() {
        return Err(e.into());
    }
    if done {
        session.recorder.finish();
    }
    let path = common::write_report_into(&session.recorder, &report_dir)?;
    printer.summary(&session, Some(&path));
    if !done {
        let again = format!(
            "{} serve {}",
            crate::env::self_invocation(),
            args.lab.display()
        );
        printer.line(&format!("{} `{again}`", printer.text.to_resume));
        if let Some(remove) = session.env.removal_hint() {
            printer.line(&format!("{} `{remove}`", printer.text.kept_env));
        }
    }
    Ok(status::OK)
}
