//! What a step asks of the student in the current environment: the commands to run
//! and the gradable items (checks, transcripts, questions), each with a stable id.

use crate::lab::checks::{CheckSpec, KindSpec};
use crate::lab::lifecycle::LifecycleBlock;
use crate::lab::{
    CheckItem, CommandBlock, FrontMatter, ItemKind, QuestionItem, Step, TranscriptBlock,
};
use tplab_vocab::Lang;

#[derive(Debug, Clone, Copy)]
pub enum GradableKind<'a> {
    Check(&'a CheckItem),
    Transcript(&'a TranscriptBlock),
    Question(&'a QuestionItem),
}

#[derive(Debug, Clone)]
pub struct Gradable<'a> {
    /// Stable id within the step: the author's `id`, else `check-N`, `transcript-N`, `question-N`.
    pub id: String,
    pub kind: GradableKind<'a>,
    pub max_points: f64,
}

#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    Command(&'a CommandBlock),
    /// Transcripts are both something to run and something to verify.
    Transcript(&'a TranscriptBlock),
}

/// True when an item restricted to `envs` applies in `env` (no restriction: everywhere).
pub fn applies(envs: &[String], env: &str) -> bool {
    envs.is_empty() || envs.iter().any(|e| e == env)
}

/// What applies in one environment: an item applies when its `env=` allows the
/// environment and the roles it targets exist there (`roles: { world: { envs: [...] } }`).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub meta: &'a FrontMatter,
    pub env: &'a str,
}

impl<'a> Scope<'a> {
    pub fn new(meta: &'a FrontMatter, env: &'a str) -> Self {
        Self { meta, env }
    }

    /// Whether role `target` (empty: the default role) exists in this environment. A
    /// templated or undeclared role is left to the run (lint reports the latter).
    pub fn role(&self, target: &str) -> bool {
        let role = if target.is_empty() {
            self.meta.default_role()
        } else {
            target
        };
        role.contains("{{")
            || !self.meta.roles.iter().any(|r| r == role)
            || self.meta.roles.in_env(role, self.env)
    }

    pub fn command(&self, c: &CommandBlock) -> bool {
        applies(&c.env, self.env) && self.role(&c.target)
    }

    pub fn transcript(&self, t: &TranscriptBlock) -> bool {
        applies(&t.env, self.env) && self.role(&t.target)
    }

    pub fn lifecycle(&self, l: &LifecycleBlock) -> bool {
        self.command(&l.block)
    }

    pub fn check(&self, c: &CheckItem) -> bool {
        applies(&c.block_env, self.env) && self.spec(&c.spec)
    }

    /// A check applies where every role it (or a member of its group) reads exists.
    fn spec(&self, spec: &CheckSpec) -> bool {
        applies(&spec.env, self.env)
            && self.role(spec.target.as_deref().unwrap_or_default())
            && match spec.kind() {
                Some(KindSpec::Group(group)) => group.members.iter().all(|m| self.spec(m)),
                _ => true,
            }
    }

    pub fn question(&self, q: &QuestionItem) -> bool {
        applies(&q.spec.env.0, self.env)
    }

    /// Whether `item` runs or is graded here; `None` for prose, code and hints.
    pub fn item(&self, item: &ItemKind) -> Option<bool> {
        Some(match item {
            ItemKind::Command(c) => self.command(c),
            ItemKind::Transcript(t) => self.transcript(t),
            ItemKind::Lifecycle(l) => self.lifecycle(l),
            ItemKind::Checks(checks) => checks.iter().any(|c| self.check(c)),
            ItemKind::Question(q) => self.question(q),
            ItemKind::Prose(_) | ItemKind::Code { .. } | ItemKind::Hint(_) => return None,
        })
    }

    /// The declared roles `step`'s blocks target that this environment lacks.
    pub fn missing_roles(&self, step: &Step) -> Vec<String> {
        let mut targets: Vec<&str> = Vec::new();
        for item in &step.items {
            match &item.kind {
                ItemKind::Command(c) => targets.push(&c.target),
                ItemKind::Transcript(t) => targets.push(&t.target),
                ItemKind::Lifecycle(l) => targets.push(&l.block.target),
                ItemKind::Checks(checks) => {
                    targets.extend(
                        checks
                            .iter()
                            .map(|c| c.spec.target.as_deref().unwrap_or_default()),
                    );
                }
                _ => {}
            }
        }
        let mut missing: Vec<String> = Vec::new();
        for target in targets {
            let role = if target.is_empty() {
                self.meta.default_role()
            } else {
                target
            };
            if !self.role(role) && !missing.iter().any(|m| m == role) {
                missing.push(role.to_string());
            }
        }
        missing
    }

    /// What a session says of a step it passes by (`missing`: [`Self::missing_roles`]).
    pub fn not_in_env_message(&self, lang: Lang, missing: &[String]) -> String {
        let env = self.env;
        let roles = missing
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ");
        match (lang, missing.is_empty()) {
            (Lang::En, true) => format!("not in this environment (`{env}`): skipped"),
            (Lang::Fr, true) => {
                format!("pas dans cet environnement (`{env}`)\u{202f}: étape passée")
            }
            (Lang::En, false) => {
                format!("not in this environment (`{env}` has no role {roles}): skipped")
            }
            (Lang::Fr, false) => format!(
                "pas dans cet environnement (`{env}` n’a pas le rôle {roles})\u{202f}: étape passée"
            ),
        }
    }

    /// A step is *not in this environment* when it has blocks to run or grade and none
    /// applies here (all for other environments, or on roles this one lacks): sessions
    /// pass it by, and it counts for nothing in this environment's score.
    pub fn step(&self, step: &Step) -> bool {
        let verdicts: Vec<bool> = step
            .items
            .iter()
            .filter_map(|i| self.item(&i.kind))
            .collect();
        verdicts.is_empty() || verdicts.contains(&true)
    }
}

pub fn actions<'a>(step: &'a Step, scope: Scope<'_>) -> Vec<Action<'a>> {
    step.items
        .iter()
        .filter_map(|item| match &item.kind {
            ItemKind::Command(c) if scope.command(c) => Some(Action::Command(c)),
            ItemKind::Transcript(t) if scope.transcript(t) => Some(Action::Transcript(t)),
            _ => None,
        })
        .collect()
}

pub fn gradables<'a>(step: &'a Step, scope: Scope<'_>) -> Vec<Gradable<'a>> {
    let meta = scope.meta;
    let mut out = Vec::new();
    let (mut nc, mut nt, mut nq) = (0, 0, 0);
    for item in &step.items {
        match &item.kind {
            ItemKind::Checks(checks) => {
                for c in checks {
                    nc += 1;
                    if !scope.check(c) {
                        continue;
                    }
                    out.push(Gradable {
                        id: c.spec.id.clone().unwrap_or_else(|| format!("check-{nc}")),
                        kind: GradableKind::Check(c),
                        max_points: c.spec.points.unwrap_or(meta.scoring.check),
                    });
                }
            }
            ItemKind::Transcript(t) => {
                nt += 1;
                if scope.transcript(t) && t.commands.iter().any(|c| c.output_checked) {
                    out.push(Gradable {
                        id: t.id.clone().unwrap_or_else(|| format!("transcript-{nt}")),
                        kind: GradableKind::Transcript(t),
                        max_points: meta.scoring.check,
                    });
                }
            }
            ItemKind::Question(q) => {
                nq += 1;
                if scope.question(q) {
                    out.push(Gradable {
                        id: q
                            .spec
                            .id
                            .clone()
                            .unwrap_or_else(|| format!("question-{nq}")),
                        kind: GradableKind::Question(q),
                        max_points: q.spec.points.unwrap_or(meta.scoring.question),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAB: &str = "---\nid: t\ntitle: T\nenvironments: [local, sandbox]\nroles:\n  local: {}\n  world: { envs: [sandbox] }\n---\n\n## Text only {#text}\n\nJust words.\n\n## World {#world}\n\n```sh {target=world}\ntrue\n```\n\n## Mixed {#mixed}\n\n```check\n- run: \"true\"\n- target: world\n  run: \"true\"\n- all_of:\n  - run: \"true\"\n  - target: world\n    run: \"true\"\n```\n";

    #[test]
    fn items_on_a_missing_role_are_not_in_the_environment() {
        let parsed = crate::lab::parse("t.md", LAB.to_string());
        let lab = parsed.lab.expect("parses");
        let local = Scope::new(&lab.meta, "local");
        let sandbox = Scope::new(&lab.meta, "sandbox");
        assert!(local.step(&lab.steps[0]), "a text-only step is everywhere");
        assert!(!local.step(&lab.steps[1]));
        assert_eq!(local.missing_roles(&lab.steps[1]), ["world"]);
        assert!(sandbox.step(&lab.steps[1]));
        assert!(sandbox.missing_roles(&lab.steps[1]).is_empty());
        // A group counts where all its members' roles exist.
        assert_eq!(gradables(&lab.steps[2], local).len(), 1);
        assert_eq!(gradables(&lab.steps[2], sandbox).len(), 3);
        assert!(
            local
                .not_in_env_message(Lang::Fr, &["world".into()])
                .contains("n’a pas le rôle `world`)\u{202f}: étape passée")
        );
    }
}
