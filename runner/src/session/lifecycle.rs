//! The lab's lifecycle at run time: `setup` blocks before the lab and each step,
//! `cleanup` blocks after them, and the removal of what the lab declares it creates
//! (`creates`), however the session ends — finish, Quit, an error (the [`Teardown`]
//! guard's drop), Ctrl-C or SIGTERM (the signal path calls [`teardown::teardown_registered`]).
//! A failing setup is an error of the lab or the machine, never the student's.

use std::collections::BTreeMap;

use super::{COMMAND_TIMEOUT, Observer, Session};
use crate::check::prefetch;
use crate::env::{EnvError, teardown};
use crate::lab::ExpectStatus;
use crate::lab::lifecycle::{LifecycleBlock, Phase};

/// Removes what a session created when dropped, unless [`Teardown::run`] already did.
#[derive(Debug)]
pub struct Teardown {
    id: u64,
}

impl Teardown {
    /// Renders what `session` will undo and registers it.
    pub fn arm(session: &Session<'_>) -> Result<Self, EnvError> {
        let lab = session.lab;
        let render = |text: &str, what: &str| {
            session.render(text).map_err(|e| EnvError::Lifecycle {
                what: what.to_string(),
                line: lab.line_of(lab.meta_span.start),
                message: e.to_string(),
            })
        };
        let mut plan = teardown::Plan::default();
        // Lab-level cleanup runs here only on `local` (this machine, synchronously);
        // elsewhere it runs in [`Teardown::run`] and the environment's own teardown
        // removes the rest.
        if session.env.name() == "local" {
            for l in lab.lifecycle(Phase::Cleanup).filter(|l| session.applies(l)) {
                let role = session.role(&l.block.target).to_string();
                plan.cleanups.push((
                    session.netns_of(&role),
                    render(&l.block.script, "the lab's cleanup")?,
                    l.block.timeout.unwrap_or(COMMAND_TIMEOUT),
                ));
            }
        }
        let creates = &lab.meta.creates;
        for entry in &creates.netns {
            plan.netns.push(match session.netns.get(entry) {
                Some(name) => name.clone(),
                None => render(entry, "`creates.netns`")?,
            });
        }
        for entry in &creates.links {
            plan.links.push(render(entry, "`creates.links`")?);
        }
        Ok(Self {
            id: teardown::arm(plan),
        })
    }

    fn take(&self) -> Option<teardown::Plan> {
        teardown::disarm(self.id)
    }

    /// The normal end: the lab's cleanup blocks through the environment (shown ones
    /// shown), then what it creates. Problems are warnings: the session is over.
    pub async fn run(self, session: &Session<'_>, observer: &dyn Observer) {
        let Some(mut plan) = self.take() else { return };
        plan.cleanups.clear();
        for l in session.lab.lifecycle(Phase::Cleanup) {
            if let Err(e) = session
                .run_lifecycle(l, "the lab's cleanup", observer)
                .await
            {
                observer.warn(&e.to_string());
            }
        }
        for problem in teardown::remove(&plan) {
            observer.warn(&problem);
        }
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        if let Some(plan) = self.take() {
            for problem in teardown::run_sync(&plan) {
                eprintln!("tplab: {problem}");
            }
        }
    }
}

impl Session<'_> {
    /// Whether lifecycle block `l` applies in this session's environment.
    pub fn applies(&self, l: &LifecycleBlock) -> bool {
        self.scope().lifecycle(l)
    }

    /// The namespace `role` is bound to, if any.
    pub fn netns_of(&self, role: &str) -> Option<String> {
        self.netns.get(role).cloned()
    }

    /// Renders the lab's `netns` names with the session's variables, makes them
    /// variables (`netns_red`) and binds them in the environment.
    pub fn bind_netns(&mut self) -> Result<(), EnvError> {
        let mut bound = BTreeMap::new();
        let env = self.env.name();
        // A role bound to other environments only (`roles: { red: { envs: [local] } }`)
        // is not this one's to bind.
        let here = self
            .lab
            .meta
            .netns
            .iter()
            .filter(|(role, _)| self.lab.meta.roles.in_env(role, env));
        for (role, template) in here {
            let var = crate::lab::lifecycle::netns_var(role);
            // A resumed session keeps the names its namespaces were given.
            let name = match self.vars.get(&var) {
                Some(name) if !name.is_empty() => name.clone(),
                _ => self.render(template).map_err(|source| EnvError::Render {
                    what: "a namespace name (`netns`)",
                    source,
                })?,
            };
            self.vars.insert(var, name.clone());
            bound.insert(role.clone(), name);
        }
        self.env.bind_netns(&bound)?;
        self.netns = bound;
        Ok(())
    }

    /// Runs one lifecycle block through the environment: an error when it cannot run
    /// or exits otherwise than declared.
    pub async fn run_lifecycle(
        &self,
        l: &LifecycleBlock,
        what: &str,
        observer: &dyn Observer,
    ) -> Result<(), EnvError> {
        if !self.applies(l) {
            return Ok(());
        }
        let line = self.lab.line_of(l.block.body_start);
        let fail = |message: String| EnvError::Lifecycle {
            what: what.to_string(),
            line,
            message,
        };
        let script = self
            .render(&l.block.script)
            .map_err(|e| fail(e.to_string()))?;
        // The block changes what the step's batch read.
        prefetch::forget(&self.step_facts);
        let role = self.role(&l.block.target).to_string();
        if l.shown {
            observer.command_start(script.trim_end(), &role);
        }
        let out = self
            .env
            .exec(&role, &script, l.block.timeout.unwrap_or(COMMAND_TIMEOUT))
            .await
            .map_err(|e| fail(e.to_string()))?;
        if l.shown {
            observer.command_output(&out);
        }
        match l.block.status {
            ExpectStatus::Code(code) if out.status != Some(code) => {
                let status = out
                    .status
                    .map_or_else(|| "a signal".to_string(), |s| s.to_string());
                let tail = out.stderr.trim().lines().last().unwrap_or_default();
                Err(fail(format!(
                    "exited with {status} instead of {code}: {tail}"
                )))
            }
            _ => Ok(()),
        }
    }

    /// The lab's setup blocks (before the first step).
    pub async fn setup_lab(&self, observer: &dyn Observer) -> Result<(), EnvError> {
        for l in self.lab.lifecycle(Phase::Setup) {
            self.run_lifecycle(l, "the lab's setup", observer).await?;
        }
        Ok(())
    }

    /// Step `step`'s setup blocks (when it starts).
    pub async fn setup_step(&self, step: usize, observer: &dyn Observer) -> Result<(), EnvError> {
        for l in self.lab.steps[step].lifecycle(Phase::Setup) {
            self.run_lifecycle(l, "the step's setup", observer).await?;
        }
        Ok(())
    }

    /// Step `step`'s cleanup blocks (when it is done); problems are warnings.
    pub async fn cleanup_step(&self, step: usize, observer: &dyn Observer) {
        for l in self.lab.steps[step].lifecycle(Phase::Cleanup) {
            if let Err(e) = self.run_lifecycle(l, "the step's cleanup", observer).await {
                observer.warn(&e.to_string());
            }
        }
    }

    /// Rebuilds the state of steps `..upto` (a resumed session whose namespaces were
    /// removed at Quit): their setup and commands tplab may run, nothing recorded.
    pub async fn replay(&self, upto: usize, observer: &dyn Observer) -> Result<(), EnvError> {
        for step in 0..upto {
            self.setup_step(step, observer).await?;
            for action in self.actions(step) {
                if let super::plan::Action::Command(block) = action
                    && block.run == crate::lab::RunMode::Auto
                {
                    let script = self
                        .render(&block.script)
                        .map_err(|source| EnvError::Render {
                            what: "the command",
                            source,
                        })?;
                    let role = self.role(&block.target).to_string();
                    self.env
                        .exec(&role, &script, block.timeout.unwrap_or(COMMAND_TIMEOUT))
                        .await?;
                }
            }
            self.cleanup_step(step, observer).await;
        }
        Ok(())
    }
}
