//! Runs a lab's steps against an environment: commands, checks, transcripts and
//! questions, with variables and captures flowing from one step to the next.
//!
//! [`Session`] holds the primitives; the drivers ([`auto`], [`prove`], [`inspect`] and
//! the guided UI) decide the order and the interaction, and report to an [`Observer`].

pub mod auto;
#[cfg(test)]
mod batch_tests;
#[cfg(test)]
mod engine_tests;
pub mod inspect;
pub mod lifecycle;
pub mod missing;
pub mod observer;
pub mod plan;
pub mod progress;
pub mod prove;
pub mod record;

use std::fmt::Write as _;
use std::time::Duration;

use crate::check::eval::Pace;
use crate::check::prefetch::{self, Prefetched, Reads};
use crate::check::{self, Evaluated, Outcome};
use crate::env::{EnvError, Environment, ExecOutput, Fetch};
use crate::lab::{CommandBlock, Lab, QuestionItem, TranscriptBlock};
use crate::template::{self, Vars};
pub use observer::Observer;
use plan::{Gradable, GradableKind};
use record::Recorder;

/// Default time a lab command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Guided, interactive.
    Run,
    /// Non-interactive: tplab runs the solutions itself.
    Auto,
    /// Evaluate checks against the current state only.
    Check,
    /// Prove the lab solvable (fail before, pass after).
    Test,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Run => "run",
            Mode::Auto => "auto",
            Mode::Check => "check",
            Mode::Test => "test",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub student: Option<String>,
    pub nonce: Option<String>,
    /// `--lang`: tplab's own words in this language instead of the lab's.
    pub lang: Option<tplab_vocab::Lang>,
}

/// A short random id for this session (scratch paths, names that must not collide).
fn session_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    format!("{:08x}", h.finish() & 0xffff_ffff)
}

pub struct Session<'a> {
    pub lab: &'a Lab,
    pub env: &'a dyn Environment,
    pub vars: Vars,
    pub recorder: Recorder,
    pub mode: Mode,
    /// The language of tplab's own sentences (checkers' included): the lab's `lang`.
    pub lang: tplab_vocab::Lang,
    /// The current step's reads, fetched in one batch ([`prefetch`]).
    step_facts: prefetch::Shared,
    /// Roles bound to named namespaces, names rendered ([`Session::bind_netns`]).
    pub netns: std::collections::BTreeMap<String, String>,
    /// A step's setup failed: the drivers stop, the command ends with this error.
    pub lifecycle_failure: Option<EnvError>,
}

impl<'a> Session<'a> {
    /// Starts a session: the environment's facts become template variables.
    pub async fn start(
        lab: &'a Lab,
        env: &'a dyn Environment,
        mode: Mode,
        who: &Identity,
    ) -> Result<Self, EnvError> {
        let facts = env.facts().await?;
        let mut vars = Vars::new();
        vars.insert("lab_id".into(), lab.meta.id.clone());
        vars.insert("student".into(), who.student.clone().unwrap_or_default());
        vars.insert("env".into(), env.name().to_string());
        vars.insert("session_id".into(), session_id());
        vars.extend(facts.clone());
        let mut known = vars.clone();
        // Facts win over a variable of the same name (as they always did).
        let lab_vars = crate::lab::vars::resolve(&lab.meta.vars, env.name(), &vars)?;
        for (name, value) in lab_vars {
            if !known.contains_key(&name) {
                template::mark_typed(&mut known, &name);
                known.insert(name, value);
            }
        }
        let vars = known;
        let student = tplab_report::Student {
            id: who.student.clone(),
            nonce: who.nonce.clone(),
        };
        let recorder = Recorder::new(lab, env.name(), facts, mode.as_str(), student);
        let mut session = Self {
            lab,
            env,
            vars,
            recorder,
            mode,
            lang: who
                .lang
                .unwrap_or_else(|| tplab_vocab::Lang::from_code(Some(&lab.meta.lang))),
            step_facts: prefetch::Shared::default(),
            netns: std::collections::BTreeMap::new(),
            lifecycle_failure: None,
        };
        session.bind_netns()?;
        Ok(session)
    }

    pub fn env_name(&self) -> &str {
        self.env.name()
    }

    pub fn role<'b>(&'b self, target: &'b str) -> &'b str {
        if target.is_empty() {
            self.lab.meta.default_role()
        } else {
            target
        }
    }

    /// What applies in this session's environment.
    pub fn scope(&self) -> plan::Scope<'_> {
        plan::Scope::new(&self.lab.meta, self.env.name())
    }

    /// False for a step *not in this environment* ([`plan::Scope::step`]).
    pub fn step_in_env(&self, step: usize) -> bool {
        self.scope().step(&self.lab.steps[step])
    }

    pub fn gradables(&self, step: usize) -> Vec<Gradable<'a>> {
        plan::gradables(&self.lab.steps[step], self.scope())
    }

    pub fn actions(&self, step: usize) -> Vec<plan::Action<'a>> {
        plan::actions(&self.lab.steps[step], self.scope())
    }

    /// Renders a template with the session's variables.
    pub fn render(&self, text: &str) -> Result<String, template::TemplateError> {
        template::render(text, &self.vars)
    }

    /// `text` as the student sees it: rendered, a value the session lacks (its step was
    /// skipped) shown as a placeholder naming the step that provides it.
    pub fn shown(&self, text: &str) -> String {
        missing::shown(self.lab, text, &self.vars)
    }

    /// The values `texts` need that the session lacks, as an *error* outcome saying
    /// which step provides them (`None`: nothing missing).
    fn lacking<'t>(&self, texts: impl IntoIterator<Item = &'t str>) -> Option<Outcome> {
        let names: std::collections::BTreeSet<String> = texts
            .into_iter()
            .flat_map(|t| missing::missing(t, &self.vars))
            .collect();
        (!names.is_empty()).then(|| Outcome::error(missing::needs(self.lab, &names)))
    }

    /// Why a question cannot be asked yet (its answer needs a value a skipped step
    /// provides), in the lab's language.
    pub fn question_lacking(&self, q: &QuestionItem) -> Option<String> {
        self.lacking(q.spec.answer.0.iter().map(String::as_str))
            .map(|o| o.message)
    }

    /// A skipped step's captures, taken from the environment where its checks already
    /// hold (one attempt each, nothing recorded): later steps then show real values.
    pub async fn capture_skipped(&mut self, step: usize) {
        let default_role = self.lab.meta.default_role();
        for g in self.gradables(step) {
            let GradableKind::Check(item) = g.kind else {
                continue;
            };
            if self.check_lacking(item).is_some() {
                continue;
            }
            let mine = self.prefetch(step, &g, &self.vars).await;
            let env = Prefetched::new(self.env, &self.step_facts, mine);
            let pace = check::eval::Pace::GLANCE;
            let e =
                check::eval::evaluate_paced(&env, default_role, item, &self.vars, pace, self.lang)
                    .await;
            if e.outcome.passed() {
                self.vars.extend(e.outcome.captures);
            }
        }
    }

    /// What check `item` reads with `vars` (a check lacking a value is left for later).
    fn reads(&self, item: &crate::lab::CheckItem, vars: &Vars) -> Reads {
        match prefetch::reads_of(item, self.lab.meta.default_role(), vars) {
            Reads::Only(f) => {
                let mut texts = Vec::new();
                template::yaml_strings(&item.raw, &mut texts);
                if texts.iter().any(|t| !missing::missing(t, vars).is_empty()) {
                    Reads::Later
                } else {
                    Reads::Only(f)
                }
            }
            other => other,
        }
    }

    /// `g`'s own reads, prefetched: when the current batch does not hold them, one
    /// batch asks them with those of the read-only checks after `g` in `step`, up to
    /// the first one that may change the machine. Empty when `g` is not read-only.
    async fn prefetch(&self, step: usize, g: &Gradable<'_>, vars: &Vars) -> Vec<Fetch> {
        let reads = match g.kind {
            GradableKind::Check(item) => self.reads(item, vars),
            GradableKind::Transcript(_) => Reads::Barrier,
            GradableKind::Question(_) => Reads::Later,
        };
        let mine = match reads {
            Reads::Only(f) => f,
            Reads::Barrier => {
                prefetch::forget(&self.step_facts);
                return Vec::new();
            }
            Reads::Later => return Vec::new(),
        };
        let gradables = self.gradables(step);
        let rest = || {
            let mut rest = Vec::new();
            for later in gradables.iter().skip_while(|x| x.id != g.id).skip(1) {
                match later.kind {
                    GradableKind::Check(item) => match self.reads(item, vars) {
                        Reads::Only(f) => rest.extend(f),
                        Reads::Barrier => break,
                        Reads::Later => {}
                    },
                    GradableKind::Transcript(_) => break,
                    GradableKind::Question(_) => {}
                }
            }
            rest
        };
        prefetch::ensure(self.env, &self.step_facts, step, &mine, rest).await;
        mine
    }

    /// One attempt of a prepared check of `step` (rendered with `vars`), its reads
    /// from the step's batch: the "before" pass of `tplab test`.
    pub async fn attempt(
        &self,
        step: usize,
        g: &Gradable<'_>,
        prepared: &check::eval::Prepared,
        vars: &Vars,
    ) -> Outcome {
        let mine = self.prefetch(step, g, vars).await;
        let env = Prefetched::new(self.env, &self.step_facts, mine);
        check::eval::once(&env, self.lab.meta.default_role(), prepared, self.lang).await
    }

    /// A check that cannot be evaluated for lack of values: its error verdict.
    fn check_lacking(&self, item: &crate::lab::CheckItem) -> Option<Evaluated> {
        let mut texts = Vec::new();
        template::yaml_strings(&item.raw, &mut texts);
        let outcome = self.lacking(texts.iter().map(String::as_str))?;
        Some(Evaluated {
            name: self.shown(&item.spec.display_name()),
            kind: item
                .spec
                .kind()
                .map_or("check", crate::lab::checks::KindSpec::name)
                .to_string(),
            outcome,
            attempts: 0,
            duration: Duration::ZERO,
            spec: None,
        })
    }

    /// Runs a command block (tplab runs it for the student) and records it.
    pub async fn run_command(
        &mut self,
        step: usize,
        block: &CommandBlock,
    ) -> Result<ExecOutput, EnvError> {
        let script = self
            .render(&block.script)
            .map_err(|source| EnvError::Render {
                what: "the command",
                source,
            })?;
        let role = self.role(&block.target).to_string();
        // The command may change what the batch read.
        prefetch::forget(&self.step_facts);
        // Each line is a command the student would type: the first that fails decides
        // the block's status (`sh -c` alone would report only the last line's).
        let strict = format!("set -e\n{script}");
        let out = self
            .env
            .exec(&role, &strict, block.timeout.unwrap_or(COMMAND_TIMEOUT))
            .await?;
        self.recorder
            .record_command(step, &role, script.trim_end(), "tplab", Some(&out));
        Ok(out)
    }

    /// Runs a command block for the student, showing it and its output; returns the
    /// problem if it could not run or exited otherwise than the block declares.
    pub async fn play(
        &mut self,
        step: usize,
        block: &CommandBlock,
        observer: &dyn Observer,
    ) -> Option<String> {
        let shown = self.shown(&block.script);
        observer.command_start(&shown, self.role(&block.target));
        if let Some(lacking) = self.lacking([block.script.as_str()]) {
            return Some(lacking.message);
        }
        match self.run_command(step, block).await {
            Ok(out) => {
                observer.command_output(&out);
                match block.status {
                    crate::lab::ExpectStatus::Code(code) if out.status != Some(code) => {
                        let line = self.lab.line_of(block.body_start);
                        Some(match (out.status, self.lang) {
                            (Some(s), tplab_vocab::Lang::En) => format!(
                                "the command at line {line} exited with {s} instead of {code}"
                            ),
                            (None, tplab_vocab::Lang::En) => format!(
                                "the command at line {line} exited with a signal instead of {code}"
                            ),
                            (Some(s), tplab_vocab::Lang::Fr) => format!(
                                "la commande de la ligne {line} s’est terminée avec le code {s} au lieu de {code}"
                            ),
                            (None, tplab_vocab::Lang::Fr) => format!(
                                "la commande de la ligne {line} a été tuée par un signal au lieu de finir avec le code {code}"
                            ),
                        })
                    }
                    _ => None,
                }
            }
            Err(e) => {
                let line = self.lab.line_of(block.body_start);
                Some(match self.lang {
                    tplab_vocab::Lang::En => {
                        format!("the command at line {line} could not run: {e}")
                    }
                    tplab_vocab::Lang::Fr => {
                        format!("la commande de la ligne {line} n’a pas pu s’exécuter\u{202f}: {e}")
                    }
                })
            }
        }
    }

    /// Runs a transcript's commands for the student (output shown; judged in `verify`).
    pub async fn run_transcript_commands(
        &mut self,
        step: usize,
        block: &TranscriptBlock,
    ) -> Vec<(String, Result<ExecOutput, EnvError>)> {
        let role = self.role(&block.target).to_string();
        prefetch::forget(&self.step_facts);
        let mut out = Vec::new();
        for cmd in &block.commands {
            let command = match self.render(&cmd.command) {
                Ok(c) => c,
                Err(e) => {
                    out.push((
                        cmd.command.clone(),
                        Err(EnvError::Render {
                            what: "the command",
                            source: e,
                        }),
                    ));
                    continue;
                }
            };
            let res = self
                .env
                .exec(&role, &command, block.timeout.unwrap_or(COMMAND_TIMEOUT))
                .await;
            if let Ok(o) = &res {
                self.recorder
                    .record_command(step, &role, &command, "tplab", Some(o));
            }
            out.push((command, res));
        }
        out
    }

    /// Evaluates a check or transcript now (polling as the check says), records it,
    /// and makes its captures available to what follows.
    pub async fn verify(&mut self, step: usize, g: &Gradable<'_>) -> Evaluated {
        let evaluated = self.evaluate_in(step, g, Pace::Poll, &self.vars).await;
        self.settle_check(step, g, evaluated, record::Attempt::Asked)
    }

    /// Evaluates `g` of `step` with `vars` (polling as the check says) and records
    /// nothing: the whole-lab `check` evaluates its packets checks together, after the
    /// rest, then records every verdict in the lab's order with [`Session::record`].
    pub async fn evaluate_deferred(&self, step: usize, g: &Gradable<'_>, vars: &Vars) -> Evaluated {
        self.evaluate_in(step, g, Pace::Poll, vars).await
    }

    /// Records a verdict of [`Session::evaluate_deferred`] (or of [`Session::verify`]'s
    /// evaluation) and makes its captures available to what follows.
    pub fn record(&mut self, step: usize, g: &Gradable<'_>, evaluated: Evaluated) -> Evaluated {
        self.settle_check(step, g, evaluated, record::Attempt::Asked)
    }

    /// One quick attempt (packets observed for [`Pace::GLANCE`]), recorded like
    /// [`Session::verify`]: an earlier step replayed for its captures.
    pub async fn verify_glance(&mut self, step: usize, g: &Gradable<'_>) -> Evaluated {
        let evaluated = self.evaluate_in(step, g, Pace::GLANCE, &self.vars).await;
        self.settle_check(step, g, evaluated, record::Attempt::Asked)
    }

    /// One attempt, no polling (watch mode), recorded like [`Session::verify`].
    pub async fn verify_once(&mut self, step: usize, g: &Gradable<'_>) -> Evaluated {
        let evaluated = self.evaluate_in(step, g, Pace::WATCH, &self.vars).await;
        self.settle_check(step, g, evaluated, record::Attempt::WatchTick)
    }

    /// Evaluates `g` of `step`, its reads from the step's batch.
    async fn evaluate_in(
        &self,
        step: usize,
        g: &Gradable<'_>,
        pace: Pace,
        vars: &Vars,
    ) -> Evaluated {
        let mine = self.prefetch(step, g, vars).await;
        let env = Prefetched::new(self.env, &self.step_facts, mine);
        self.evaluate_on(&env, g, pace, vars).await
    }

    fn settle_check(
        &mut self,
        step: usize,
        g: &Gradable<'_>,
        evaluated: Evaluated,
        how: record::Attempt,
    ) -> Evaluated {
        self.recorder
            .record_check_as(step, &g.id, g.max_points, &evaluated, how);
        if evaluated.outcome.passed() {
            self.vars.extend(evaluated.outcome.captures.clone());
        }
        evaluated
    }

    /// Evaluates without recording (used for the "before" pass of `tplab test`).
    pub async fn evaluate(&self, g: &Gradable<'_>) -> Evaluated {
        self.evaluate_on(self.env, g, Pace::Poll, &self.vars).await
    }

    /// Evaluates `g` against `env` at `pace`.
    async fn evaluate_on(
        &self,
        env: &dyn Environment,
        g: &Gradable<'_>,
        pace: Pace,
        vars: &Vars,
    ) -> Evaluated {
        let default_role = self.lab.meta.default_role();
        match g.kind {
            GradableKind::Check(item) if let Some(e) = self.check_lacking(item) => e,
            GradableKind::Check(item) => {
                check::eval::evaluate_paced(env, default_role, item, vars, pace, self.lang).await
            }
            GradableKind::Transcript(t)
                if let Some(outcome) = self.lacking(t.commands.iter().flat_map(|c| {
                    std::iter::once(c.command.as_str()).chain(c.expected.iter().filter_map(|p| {
                        match p {
                            crate::lab::transcript::Pattern::Line { text, .. } => {
                                Some(text.as_str())
                            }
                            crate::lab::transcript::Pattern::AnyLines => None,
                        }
                    }))
                })) =>
            {
                Evaluated {
                    name: t
                        .commands
                        .iter()
                        .map(|c| format!("`{}`", self.shown(&c.command)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    kind: "transcript".into(),
                    outcome,
                    attempts: 0,
                    duration: Duration::ZERO,
                    spec: None,
                }
            }
            GradableKind::Transcript(t) => {
                let start = std::time::Instant::now();
                let role = self.role(&t.target);
                let outcome = check::command::run_transcript(
                    env,
                    role,
                    &t.commands,
                    t.timeout.unwrap_or(COMMAND_TIMEOUT),
                    vars,
                    self.lang,
                )
                .await;
                Evaluated {
                    name: t
                        .commands
                        .iter()
                        .map(|c| format!("`{}`", self.shown(&c.command)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    kind: "transcript".into(),
                    outcome,
                    attempts: 1,
                    duration: start.elapsed(),
                    spec: None,
                }
            }
            GradableKind::Question(_) => Evaluated {
                name: "question".into(),
                kind: "question".into(),
                outcome: Outcome::error("questions are answered, not evaluated"),
                attempts: 0,
                duration: Duration::ZERO,
                spec: None,
            },
        }
    }

    /// The live expected answer of a question; for a multiple-choice question, the
    /// numbers of the right choices (`2` or `1, 3`).
    pub fn expected_answer(&self, q: &QuestionItem) -> Result<String, AnswerError> {
        if !q.spec.choices.is_empty() {
            let choices = self.choices(q)?;
            let mut numbers = Vec::new();
            for template in &q.spec.answer.0 {
                let answer = self.render(template)?;
                let n = choices
                    .iter()
                    .position(|c| crate::lab::question::same(c, &answer))
                    .ok_or_else(|| AnswerError::NotAChoice {
                        answer: answer.trim().to_string(),
                    })?;
                numbers.push(n + 1);
            }
            numbers.sort_unstable();
            numbers.dedup();
            return Ok(numbers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "));
        }
        let value = self.render(q.spec.answer())?;
        let value = value.trim().to_string();
        if value.is_empty() {
            return Err(AnswerError::Empty {
                template: q.spec.answer().to_string(),
            });
        }
        Ok(value)
    }

    /// What `--auto` and `tplab test` answer, playing the student: the live expected
    /// value, except for `match: regex`, whose `answer` is a pattern and not a value a
    /// student could type: then a value the environment produced that the question
    /// accepts (a variable: capture, fact, define), or `None` (left unanswered).
    pub fn auto_answer(&self, q: &QuestionItem) -> Result<Option<String>, AnswerError> {
        let expected = self.expected_answer(q)?;
        if q.spec.mode != crate::lab::question::AnswerMatch::Regex || !q.spec.choices.is_empty() {
            return Ok(Some(expected));
        }
        Ok(self
            .vars
            .iter()
            // Not tplab's internal entries (the typed-variables list).
            .filter(|(name, _)| !name.starts_with('\u{1}'))
            .map(|(_, value)| value.trim())
            .find(|value| !value.is_empty() && self.judge(q, &expected, value))
            .map(str::to_string))
    }

    /// A multiple-choice question's choices, rendered (empty for a free-text one).
    pub fn choices(&self, q: &QuestionItem) -> Result<Vec<String>, AnswerError> {
        q.spec
            .choices
            .iter()
            .map(|c| Ok(self.render(c)?.trim().to_string()))
            .collect()
    }

    /// The prompt as the student reads it: a multiple-choice question's choices follow,
    /// numbered from 1 (the student may answer by number).
    pub fn question_prompt(&self, q: &QuestionItem) -> String {
        let mut text = self.shown(&q.spec.prompt);
        for (i, c) in q.spec.choices.iter().enumerate() {
            let _ = write!(text, "\n  {}. {}", i + 1, self.shown(c).trim());
        }
        text
    }

    pub fn attempts(&self, q: &QuestionItem) -> u32 {
        q.spec
            .attempts
            .unwrap_or(self.lab.meta.scoring.attempts)
            .max(1)
    }

    /// Judges one answer: the expected value or one of the question's `accept` forms
    /// (an `accept` form that does not render is simply not offered).
    pub fn judge(&self, q: &QuestionItem, expected: &str, given: &str) -> bool {
        if !q.spec.choices.is_empty() {
            let Ok(choices) = self.choices(q) else {
                return false;
            };
            let want = check::answer::chosen(expected, &choices);
            return want.is_some() && check::answer::chosen(given, &choices) == want;
        }
        check::answer::accepts(q.spec.mode, expected, given)
            || q.spec.accept.0.iter().any(|form| {
                self.render(form)
                    .is_ok_and(|f| check::answer::accepts(q.spec.mode, &f, given))
            })
    }

    /// The share of a question's points a wrong answer still earns: with `partial:
    /// true`, (right choices − wrong choices) / right choices, at least 0; else 0.
    pub fn partial_credit(&self, q: &QuestionItem, expected: &str, given: &str) -> f64 {
        if !q.spec.partial {
            return 0.0;
        }
        let Ok(choices) = self.choices(q) else {
            return 0.0;
        };
        match (
            check::answer::chosen(expected, &choices),
            check::answer::chosen(given, &choices),
        ) {
            (Some(want), Some(got)) => check::answer::choice_credit(&want, &got),
            _ => 0.0,
        }
    }

    /// The question's targeted feedback for a wrong answer `given`, if it has one.
    pub fn feedback(&self, q: &QuestionItem, given: &str) -> Option<String> {
        q.spec.feedback.iter().find_map(|f| {
            let wrong = self.render(&f.answer).ok()?;
            check::answer::accepts(q.spec.mode, &wrong, given).then(|| self.shown(&f.says))
        })
    }
}

/// Why a question's live answer cannot be known.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Render(#[from] template::TemplateError),
    #[error("the answer template `{template}` rendered empty")]
    Empty { template: String },
    #[error("the answer `{answer}` is none of the question's choices")]
    NotAChoice { answer: String },
}
