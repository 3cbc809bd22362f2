//! Which environments each step is for, when not all of the lab's: `tplab lint` says so
//! (a note, not a problem) so an author sees what a student of each environment gets.

use crate::lab::Lab;
use crate::session::plan::Scope;

/// A step that some of the lab's environments pass by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEnvs {
    pub step: String,
    /// 1-based line and column of the step's heading.
    pub line: usize,
    pub col: usize,
    /// The environments the step is in.
    pub envs: Vec<String>,
    /// Why the others pass it by: roles they lack.
    pub missing_roles: Vec<String>,
}

pub fn of(lab: &Lab) -> Vec<StepEnvs> {
    let mut out = Vec::new();
    for step in &lab.steps {
        let mut envs = Vec::new();
        let mut missing_roles: Vec<String> = Vec::new();
        for env in &lab.meta.environments {
            let scope = Scope::new(&lab.meta, env);
            if scope.step(step) {
                envs.push(env.clone());
            } else {
                for role in scope.missing_roles(step) {
                    if !missing_roles.contains(&role) {
                        missing_roles.push(role);
                    }
                }
            }
        }
        if envs.len() < lab.meta.environments.len() {
            let (line, col) = lab.source.line_col(step.span.start);
            out.push(StepEnvs {
                step: step.id.clone(),
                line,
                col,
                envs,
                missing_roles,
            });
        }
    }
    out
}

impl StepEnvs {
    /// `step `world` needs environment sandbox (role `world`)`.
    pub fn message(&self) -> String {
        let envs = if self.envs.is_empty() {
            "none of the lab's environments".to_string()
        } else {
            self.envs.join(", ")
        };
        let roles = self
            .missing_roles
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if roles.is_empty() {
            format!("step `{}` is only in: {envs}", self.step)
        } else {
            format!("step `{}` is only in: {envs} (role {roles})", self.step)
        }
    }
}
