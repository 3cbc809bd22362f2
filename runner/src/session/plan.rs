//! What a step asks of the student in the current environment: the commands to run
//! and the gradable items (checks, transcripts, questions), each with a stable id.

use crate::lab::{
    CheckItem, CommandBlock, FrontMatter, ItemKind, QuestionItem, Step, TranscriptBlock,
};

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

pub fn actions<'a>(step: &'a Step, env: &str) -> Vec<Action<'a>> {
    step.items
        .iter()
        .filter_map(|item| match &item.kind {
            ItemKind::Command(c) if applies(&c.env, env) => Some(Action::Command(c)),
            ItemKind::Transcript(t) if applies(&t.env, env) => Some(Action::Transcript(t)),
            _ => None,
        })
        .collect()
}

pub fn gradables<'a>(step: &'a Step, meta: &FrontMatter, env: &str) -> Vec<Gradable<'a>> {
    let mut out = Vec::new();
    let (mut nc, mut nt, mut nq) = (0, 0, 0);
    for item in &step.items {
        match &item.kind {
            ItemKind::Checks(checks) => {
                for c in checks {
                    nc += 1;
                    if !applies(&c.block_env, env) || !applies(&c.spec.env, env) {
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
                if applies(&t.env, env) && t.commands.iter().any(|c| c.output_checked) {
                    out.push(Gradable {
                        id: t.id.clone().unwrap_or_else(|| format!("transcript-{nt}")),
                        kind: GradableKind::Transcript(t),
                        max_points: meta.scoring.check,
                    });
                }
            }
            ItemKind::Question(q) => {
                nq += 1;
                if applies(&q.spec.env.0, env) {
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
