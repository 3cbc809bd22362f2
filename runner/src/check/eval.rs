//! Evaluating a check item: render templates, dispatch on kind, poll until it passes
//! or its `timeout` runs out.

use std::time::{Duration, Instant};

use super::command;
use super::facts;
use tplab_vocab::Lang;

use super::outcome::{Outcome, Verdict};
use crate::env::Environment;
use crate::lab::CheckItem;
use crate::lab::checks::{CheckSpec, KindSpec};
use crate::lab::kinds::FactQuery;
use crate::template::{self, Vars};

/// Default pause between two attempts of a polling check.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);

/// The least time a polling check's last attempt gives its command.
const MIN_COMMAND_TIME: Duration = Duration::from_millis(100);

/// A check's final outcome with how it was reached.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub name: String,
    pub kind: String,
    pub outcome: Outcome,
    pub attempts: u32,
    pub duration: Duration,
    /// The rendered spec (for points, hints); `None` if it could not be rendered.
    pub spec: Option<CheckSpec>,
}

/// Renders a check item with the current variables.
pub fn render(item: &CheckItem, vars: &Vars) -> Result<CheckSpec, RenderError> {
    let value = template::render_yaml(&item.raw, vars)?;
    Ok(serde_yaml::from_value::<CheckSpec>(value)?)
}

/// A check ready to be attempted: rendered with the current variables, its fact query
/// parsed into its typed form once, for every attempt to reuse.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub spec: CheckSpec,
    pub fact: Option<FactQuery>,
    /// A group's members, prepared the same way.
    pub members: Vec<Prepared>,
}

/// Renders `item` and parses its fact query.
pub fn prepare(item: &CheckItem, vars: &Vars) -> Result<Prepared, RenderError> {
    prepare_spec(render(item, vars)?)
}

fn prepare_spec(spec: CheckSpec) -> Result<Prepared, RenderError> {
    let (fact, members) = match spec.kind() {
        Some(KindSpec::Fact { kind, query }) => (
            Some(FactQuery::parse(kind, query).map_err(RenderError::Query)?),
            Vec::new(),
        ),
        Some(KindSpec::Group(g)) => (
            None,
            g.members
                .iter()
                .cloned()
                .map(prepare_spec)
                .collect::<Result<_, _>>()?,
        ),
        _ => (None, Vec::new()),
    };
    Ok(Prepared {
        spec,
        fact,
        members,
    })
}

/// Why a check cannot be rendered with the current variables.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The fact query does not parse once its variables are substituted.
    #[error("after substituting variables, {0}")]
    Query(String),
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    /// The rendered values do not fit the check (e.g. a variable that is not a prefix).
    #[error(transparent)]
    Spec(#[from] serde_yaml::Error),
}

/// Evaluates `item` against `env`, polling per its `timeout`/`interval`.
pub async fn evaluate(
    env: &dyn Environment,
    default_role: &str,
    item: &CheckItem,
    vars: &Vars,
    lang: Lang,
) -> Evaluated {
    evaluate_with(env, default_role, item, vars, true, lang).await
}

/// The packets window of [`Pace::GLANCE`].
pub const GLANCE_WINDOW: Duration = Duration::from_millis(300);

/// How long an evaluation may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Poll per the check's `timeout`/`interval`; packets observed for their full window.
    Poll,
    /// One attempt whatever the check's `timeout`; a packets check observes for at most
    /// `window` (it still ends as soon as its verdict is decided).
    Once { window: Duration },
}

impl Pace {
    /// Watch mode re-checks continuously while the student keeps sending traffic: a
    /// round observes packets for at most 1.5 s instead of the check's full window.
    pub const WATCH: Self = Self::Once {
        window: Duration::from_millis(1500),
    };
    /// Replays of earlier steps (for their captures) and the "fail before" pass of
    /// `tplab test`: nobody is sending the flow on purpose then, and a packet already
    /// in flight shows within a few hundred milliseconds, so a full window (8 s in the
    /// seed) would only be waited out.
    pub const GLANCE: Self = Self::Once {
        window: GLANCE_WINDOW,
    };
}

/// Like [`evaluate`]; `poll: false` makes a single attempt whatever the check's
/// `timeout` (watch mode re-checks anyway).
pub async fn evaluate_with(
    env: &dyn Environment,
    default_role: &str,
    item: &CheckItem,
    vars: &Vars,
    poll: bool,
    lang: Lang,
) -> Evaluated {
    let pace = if poll { Pace::Poll } else { Pace::WATCH };
    evaluate_paced(env, default_role, item, vars, pace, lang).await
}

/// Evaluates `item` at `pace`.
pub async fn evaluate_paced(
    env: &dyn Environment,
    default_role: &str,
    item: &CheckItem,
    vars: &Vars,
    pace: Pace,
    lang: Lang,
) -> Evaluated {
    let poll = pace == Pace::Poll;
    let start = Instant::now();
    let prepared = match prepare(item, vars) {
        Ok(p) => p,
        Err(e) => {
            let outcome = match &e {
                RenderError::Query(_) => Outcome::error(e.to_string()),
                _ => Outcome::error(match lang {
                    Lang::En => format!("cannot render this check: {e}"),
                    Lang::Fr => format!("impossible de préparer cette vérification\u{202f}: {e}"),
                }),
            };
            return Evaluated {
                name: item.spec.display_name(),
                kind: item.spec.kind().map_or("check", KindSpec::name).to_string(),
                outcome,
                attempts: 0,
                duration: start.elapsed(),
                spec: None,
            };
        }
    };
    // What the lab says (`within 8s`), whatever window this pace observes.
    let lab_words = packet_words(prepared.fact.as_ref(), lang);
    let Prepared {
        spec,
        fact,
        members,
    } = match pace {
        Pace::Poll => prepared,
        Pace::Once { window } => prepared.window_at_most(window),
    };
    let short_words = packet_words(fact.as_ref(), lang);
    let timeout = if poll {
        spec.timeout.unwrap_or_default()
    } else {
        Duration::ZERO
    };
    let interval = spec.interval.unwrap_or(DEFAULT_INTERVAL);
    let mut attempts = 0;
    let mut outcome = loop {
        attempts += 1;
        // The check's `timeout` bounds its command too, not only the polling.
        let limit = match spec.timeout {
            Some(t) if !t.is_zero() => t.saturating_sub(start.elapsed()).max(MIN_COMMAND_TIME),
            _ => command::COMMAND_TIMEOUT,
        };
        let outcome = attempt(
            env,
            default_role,
            &spec,
            fact.as_ref(),
            &members,
            limit,
            lang,
        )
        .await;
        if outcome.passed() || start.elapsed() + interval > timeout {
            break outcome;
        }
        tokio::time::sleep(interval).await;
    };
    if let (Some(lab), Some(short)) = (lab_words, short_words)
        && lab != short
    {
        outcome.expected = outcome.expected.replace(&short, &lab);
    }
    Evaluated {
        name: spec.display_name(),
        kind: spec.kind().map_or("check", KindSpec::name).to_string(),
        outcome,
        attempts,
        duration: start.elapsed(),
        spec: Some(spec),
    }
}

/// A `packets` check that only watches (no `trigger` sending traffic, no captures):
/// evaluating it changes nothing and nothing later depends on it, so the whole-lab
/// `check` may observe it at the same time as the others. Its packets window, if so.
pub fn only_observes(item: &CheckItem, vars: &Vars) -> Option<Duration> {
    if !item.spec.capture.is_empty() {
        return None;
    }
    match prepare(item, vars).ok()?.fact? {
        FactQuery::Packets {
            path,
            trigger: None,
        } => Some(path.within),
        _ => None,
    }
}

/// A packet check's expectation in words (it names its window).
fn packet_words(fact: Option<&FactQuery>, lang: Lang) -> Option<String> {
    match fact {
        Some(FactQuery::Packets { path, .. }) => Some(path.describe_in(lang)),
        _ => None,
    }
}

impl Prepared {
    /// The same check with every packets window (its members' too) cut to `window`.
    #[must_use]
    pub fn window_at_most(mut self, window: Duration) -> Self {
        if let Some(FactQuery::Packets { path, .. }) = &mut self.fact {
            path.within = path.within.min(window);
        }
        self.members = self
            .members
            .into_iter()
            .map(|m| m.window_at_most(window))
            .collect();
        self
    }
}

/// Where a check reads: its `netns` (the environment resolves that place like a role's;
/// a group's members inherit it unless they name their own), its `target`, or `default`.
pub fn role_of(spec: &CheckSpec, default: &str) -> String {
    match (&spec.netns, &spec.target) {
        (Some(name), _) => crate::env::netns_role(name),
        (None, Some(target)) => target.clone(),
        (None, None) => default.to_string(),
    }
}

/// One attempt of a prepared check.
pub async fn once(
    env: &dyn Environment,
    default_role: &str,
    check: &Prepared,
    lang: Lang,
) -> Outcome {
    let limit = check.spec.timeout.unwrap_or(command::COMMAND_TIMEOUT);
    attempt(
        env,
        default_role,
        &check.spec,
        check.fact.as_ref(),
        &check.members,
        limit,
        lang,
    )
    .await
}

async fn attempt(
    env: &dyn Environment,
    default_role: &str,
    spec: &CheckSpec,
    fact: Option<&FactQuery>,
    members: &[Prepared],
    limit: Duration,
    lang: Lang,
) -> Outcome {
    let outcome = attempt_kind(env, default_role, spec, fact, members, limit, lang).await;
    with_fail_message(spec, outcome)
}

/// A failed check says the author's `fail_message` first; tplab's own explanation, if
/// any, follows it. Errors keep theirs: they are not the student's failure.
fn with_fail_message(spec: &CheckSpec, mut outcome: Outcome) -> Outcome {
    if let (Verdict::Fail, Some(words)) = (outcome.verdict, spec.fail_message.as_deref()) {
        let words = words.trim();
        outcome.message = if outcome.message.is_empty() {
            words.to_string()
        } else {
            format!("{words} ({})", outcome.message)
        };
    }
    outcome
}

async fn attempt_kind(
    env: &dyn Environment,
    default_role: &str,
    spec: &CheckSpec,
    fact: Option<&FactQuery>,
    members: &[Prepared],
    limit: Duration,
    lang: Lang,
) -> Outcome {
    let role = &role_of(spec, default_role);
    if let Some(KindSpec::Group(group)) = spec.kind() {
        // Members run on the group's target unless they name theirs.
        let mut evaluated = Vec::new();
        for member in members {
            let outcome = Box::pin(attempt(
                env,
                role,
                &member.spec,
                member.fact.as_ref(),
                &member.members,
                member.spec.timeout.unwrap_or(limit),
                lang,
            ))
            .await;
            let stop = crate::lab::groups::settled(group.mode, &outcome);
            evaluated.push((member.spec.display_name(), outcome));
            if stop {
                break;
            }
        }
        return crate::lab::groups::combine(group.mode, &evaluated);
    }
    match (spec.kind(), fact) {
        (
            Some(KindSpec::Command {
                run,
                status,
                stdout,
                stderr,
            }),
            _,
        ) => {
            command::run_check(
                env,
                role,
                run,
                status.as_ref(),
                stdout.as_ref(),
                stderr.as_ref(),
                &spec.capture,
                limit,
                lang,
            )
            .await
        }
        (Some(KindSpec::Fact { .. }), Some(query)) => {
            facts::evaluate(env, role, query, &spec.capture, limit, lang).await
        }
        (Some(KindSpec::Fact { .. }), None) => Outcome::error(lang.pick(
            "this fact check was not prepared (an internal error)",
            "cette vérification de faits n’a pas été préparée (erreur interne)",
        )),
        (Some(KindSpec::Group(_)), _) => Outcome::error(lang.pick(
            "a group is judged by its members",
            "un groupe est jugé par ses membres",
        )),
        (None, _) => Outcome::error(lang.pick(
            "this check has no single kind (see `tplab lint`)",
            "cette vérification n’a pas un genre unique (voir `tplab lint`)",
        )),
    }
}
