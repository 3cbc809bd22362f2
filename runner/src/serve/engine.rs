//! The page's session: one task owns the [`Session`] (as `run`'s guided loop does) and
//! serves the page's requests one at a time; between requests it re-checks the current
//! step every second while a page watches, and pushes every change to the pages.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::diagram::{self, Diagram};
use super::log::{PageLog, Ran};
use super::render::{escape, markdown};
use super::text::Words;
use crate::check::{Evaluated, Verdict};
use crate::lab::{ItemKind, QuestionItem, RunMode};
use crate::session::plan::{Action, Gradable, GradableKind};
use crate::session::{Session, progress};
use crate::ui::i18n::Text;

/// What a page asks for.
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Request {
    State,
    /// The diagram's latest messages (topology and packet path), for a page that connects.
    Diagram,
    Check {
        step: usize,
    },
    /// Run the step's commands tplab may run (`command`: only that one).
    Run {
        step: usize,
        command: Option<usize>,
    },
    Answer {
        step: usize,
        id: String,
        answer: String,
    },
    Hint {
        step: usize,
    },
    Solution {
        step: usize,
    },
    Skip {
        step: usize,
    },
    Next {
        step: usize,
    },
}

pub type Call = (Request, oneshot::Sender<Result<Value, String>>);

/// One check as the page shows it: the terminal UI's texts.
#[derive(Debug, Clone, Serialize, PartialEq)]
struct Shown {
    id: String,
    name: String,
    verdict: &'static str,
    message: String,
    expected: String,
    found: String,
    hint: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
struct Asked {
    tries: u32,
    finished: bool,
    correct: bool,
    said: Option<String>,
    answer_was: Option<String>,
    explain: Option<String>,
}

/// Where the student is, beyond what the session records.
struct Page {
    current: usize,
    done: bool,
    checks: BTreeMap<String, Shown>,
    questions: BTreeMap<String, Asked>,
    hints_shown: usize,
    check_hint_level: usize,
    solution: bool,
    ran: Vec<Ran>,
    warnings: Vec<String>,
    watching: bool,
    report: Option<String>,
}

pub struct Engine<'s, 'a> {
    pub session: &'s mut Session<'a>,
    pub text: Text,
    pub words: Words,
    pub report_dir: &'s Path,
    pub events: broadcast::Sender<String>,
    pub roles: Vec<String>,
    pub terminals: bool,
    log: PageLog,
    page: Page,
    diagram: Diagram,
}

impl<'s, 'a> Engine<'s, 'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        session: &'s mut Session<'a>,
        text: Text,
        words: Words,
        report_dir: &'s Path,
        events: broadcast::Sender<String>,
        roles: Vec<String>,
        terminals: bool,
        from: usize,
    ) -> Self {
        let lang = session.lang;
        Self {
            session,
            text,
            words,
            report_dir,
            events,
            roles,
            terminals,
            log: PageLog::default(),
            diagram: Diagram::new(lang),
            page: Page {
                current: from,
                done: false,
                checks: BTreeMap::new(),
                questions: BTreeMap::new(),
                hints_shown: 0,
                check_hint_level: 0,
                solution: false,
                ran: Vec::new(),
                warnings: Vec::new(),
                watching: false,
                report: None,
            },
        }
    }

    /// Serves calls until `stop` resolves or every sender is gone. Returns the step the
    /// student is at (the lab's length when done).
    pub async fn drive(
        &mut self,
        mut calls: mpsc::Receiver<Call>,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<usize, crate::env::EnvError> {
        self.start_step().await?;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut observer = None;
        // When the packets gathered since the first of a burst are pushed.
        let mut flush_at: Option<tokio::time::Instant> = None;
        tokio::pin!(stop);
        loop {
            let flush = async {
                match flush_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = &mut stop => break,
                call = calls.recv() => {
                    let Some((req, reply)) = call else { break };
                    let answer = self.handle(req).await;
                    if let Err(e) = self.session.lifecycle_failure.take().map_or(Ok(()), Err) {
                        let _ = reply.send(Err(e.to_string()));
                        return Err(e);
                    }
                    let _ = reply.send(answer);
                    self.publish();
                }
                ev = diagram::next_packet(&mut observer) => match ev {
                    Some(ev) => {
                        self.diagram.packet(&ev);
                        flush_at.get_or_insert_with(|| tokio::time::Instant::now() + diagram::FLUSH);
                    }
                    // The observer ended (its interfaces went away): the path stays as seen.
                    None => observer = None,
                },
                () = flush => {
                    flush_at = None;
                    self.send(&self.diagram.path_message());
                }
                _ = tick.tick() => {
                    if self.events.receiver_count() > 0 {
                        if self.watch_tick().await {
                            self.publish();
                        }
                        if let Some(m) = self.diagram.refresh(self.session.env).await {
                            self.send(&m);
                        }
                        if observer.is_none()
                            && let Some(o) = self.diagram.observe(self.session.env).await
                        {
                            observer = Some(o);
                            self.send(&self.diagram.path_message());
                        }
                    }
                }
            }
        }
        if let Some(o) = observer {
            drop(o.stop().await);
        }
        Ok(if self.page.done {
            self.session.lab.steps.len()
        } else {
            self.page.current
        })
    }

    fn send(&self, message: &Value) {
        let _ = self.events.send(message.to_string());
    }

    fn publish(&self) {
        let _ = self.events.send(self.state().to_string());
    }

    async fn start_step(&mut self) -> Result<(), crate::env::EnvError> {
        // Steps not in this environment are passed by (their report status says so).
        let mut step = self.page.current;
        while step < self.session.lab.steps.len() && !self.session.step_in_env(step) {
            step += 1;
        }
        self.page.current = step;
        self.page.checks.clear();
        self.page.questions.clear();
        self.page.hints_shown = 0;
        self.page.check_hint_level = 0;
        self.page.solution = false;
        self.page.ran.clear();
        self.page.watching = false;
        if step >= self.session.lab.steps.len() {
            return self.finish();
        }
        self.session.setup_step(step, &self.log).await?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), crate::env::EnvError> {
        self.page.done = true;
        progress::clear(progress::Owner {
            lab_id: &self.session.lab.meta.id,
            env: self.session.env.name(),
            student: self.session.recorder.report.student.id.as_deref(),
        });
        let path = self
            .session
            .recorder
            .write(self.report_dir)
            .map_err(|e| crate::env::EnvError::io("writing the report", e))?;
        self.page.report = Some(path.display().to_string());
        Ok(())
    }

    async fn handle(&mut self, req: Request) -> Result<Value, String> {
        let step = match &req {
            Request::State => return Ok(self.state()),
            Request::Diagram => {
                if self.diagram.topology_message()["topology"].is_null() {
                    let _ = self.diagram.refresh(self.session.env).await;
                }
                return Ok(json!([
                    self.diagram.topology_message(),
                    self.diagram.path_message()
                ]));
            }
            Request::Check { step }
            | Request::Run { step, .. }
            | Request::Answer { step, .. }
            | Request::Hint { step }
            | Request::Solution { step }
            | Request::Skip { step }
            | Request::Next { step } => *step,
        };
        if self.page.done || step != self.page.current {
            // A stale page (another tab moved on): show it where the session is.
            return Ok(self.state());
        }
        match req {
            Request::State | Request::Diagram => {}
            Request::Check { .. } => self.check_all(step).await,
            Request::Run { command, .. } => {
                self.session.recorder.ran_for_me(step);
                self.run(step, command).await;
                self.check_all(step).await;
            }
            Request::Answer { id, answer, .. } => self.answer(step, &id, &answer),
            Request::Hint { .. } => {
                let n = self.session.lab.steps[step].hints().count();
                if self.page.hints_shown < n {
                    self.page.hints_shown += 1;
                    self.session
                        .recorder
                        .hint_shown(step, self.page.hints_shown, n);
                }
            }
            Request::Solution { .. } => {
                self.session.recorder.solution_shown(step);
                self.page.solution = true;
            }
            Request::Skip { .. } => {
                self.session.capture_skipped(step).await;
                self.session.recorder.skip_step(step);
                self.advance(step).await.map_err(|e| e.to_string())?;
            }
            Request::Next { .. } => {
                if self.can_leave(step) {
                    self.advance(step).await.map_err(|e| e.to_string())?;
                }
            }
        }
        let (ran, warnings) = self.log.take();
        self.page.ran.extend(ran);
        self.page.warnings = warnings;
        Ok(self.state())
    }

    async fn advance(&mut self, step: usize) -> Result<(), crate::env::EnvError> {
        self.session.recorder.settle(step);
        self.session.cleanup_step(step, &self.log).await;
        progress::save(self.session, step + 1);
        let _ = self.session.recorder.write(self.report_dir);
        self.page.current = step + 1;
        self.start_step().await
    }

    fn checkables(&self, step: usize) -> Vec<Gradable<'a>> {
        self.session
            .gradables(step)
            .into_iter()
            .filter(|g| !matches!(g.kind, GradableKind::Question(_)))
            .collect()
    }

    fn questions(&self, step: usize) -> Vec<(String, &'a QuestionItem)> {
        self.session
            .gradables(step)
            .into_iter()
            .filter_map(|g| match g.kind {
                GradableKind::Question(q) => Some((g.id, q)),
                _ => None,
            })
            .collect()
    }

    /// As `run`: the step is left once no check fails and every question is answered.
    fn can_leave(&self, step: usize) -> bool {
        let checks = self.checkables(step);
        let checked = checks.iter().all(|g| {
            self.page
                .checks
                .get(&g.id)
                .is_some_and(|s| s.verdict != "fail")
        });
        let answered = self.questions(step).iter().all(|(id, q)| {
            self.session.question_lacking(q).is_some()
                || self.page.questions.get(id).is_some_and(|a| a.finished)
        });
        checked && answered
    }

    async fn run(&mut self, step: usize, only: Option<usize>) {
        let actions = self.session.actions(step);
        for (i, action) in actions.into_iter().enumerate() {
            if only.is_some_and(|o| o != i) {
                continue;
            }
            match action {
                Action::Command(block) if block.run == RunMode::Auto => {
                    if let Some(problem) = self.session.play(step, block, &self.log).await {
                        crate::session::Observer::warn(&self.log, &problem);
                    }
                }
                Action::Transcript(block) if block.run == RunMode::Auto => {
                    let role = self.session.role(&block.target).to_string();
                    for (command, result) in self.session.run_transcript_commands(step, block).await
                    {
                        crate::session::Observer::command_start(&self.log, &command, &role);
                        match result {
                            Ok(out) => crate::session::Observer::command_output(&self.log, &out),
                            Err(e) => crate::session::Observer::warn(&self.log, &e.to_string()),
                        }
                    }
                }
                _ => {}
            }
        }
    }

    async fn check_all(&mut self, step: usize) {
        let mut failed = false;
        for g in self.checkables(step) {
            let e = self.session.verify(step, &g).await;
            let hint = if e.outcome.verdict == Verdict::Fail {
                let hints = e.spec.as_ref().map(|s| s.hints.clone()).unwrap_or_default();
                let n = hints.len();
                (n > 0).then(|| {
                    let i = self.page.check_hint_level.min(n - 1);
                    self.session
                        .recorder
                        .check_hint_shown(step, &g.id, i + 1, n);
                    hints[i].clone()
                })
            } else {
                None
            };
            failed |= e.outcome.verdict == Verdict::Fail;
            self.page
                .checks
                .insert(g.id.clone(), shown(&g.id, &e, hint));
        }
        if failed {
            self.page.check_hint_level += 1;
        }
        // Once asked, the page watches too (and stops once everything passes).
        if !self.page.watching {
            self.session.recorder.watch_started();
            self.page.watching = true;
        }
    }

    /// One live re-check of the current step; true when something the page shows changed.
    async fn watch_tick(&mut self) -> bool {
        let step = self.page.current;
        if self.page.done {
            return false;
        }
        let checks = self.checkables(step);
        if checks.is_empty()
            || (self.page.checks.len() == checks.len()
                && self.page.checks.values().all(|s| s.verdict == "pass"))
        {
            return false;
        }
        if !self.page.watching {
            self.session.recorder.watch_started();
            self.page.watching = true;
        }
        let mut changed = false;
        for g in checks {
            let e = self.session.verify_once(step, &g).await;
            // Live ticks keep the hint the student was last given.
            let hint = self
                .page
                .checks
                .get(&g.id)
                .and_then(|s| s.hint.clone())
                .filter(|_| e.outcome.verdict == Verdict::Fail);
            let s = shown(&g.id, &e, hint);
            if self.page.checks.get(&g.id) != Some(&s) {
                changed = true;
                self.page.checks.insert(g.id.clone(), s);
            }
        }
        changed
    }

    fn answer(&mut self, step: usize, id: &str, given: &str) {
        let Some((_, q)) = self.questions(step).into_iter().find(|(qid, _)| qid == id) else {
            return;
        };
        let expected = match self.session.expected_answer(q) {
            Ok(e) => e,
            Err(e) => {
                self.page
                    .warnings
                    .push(format!("{}: {e}", self.text.question));
                return;
            }
        };
        let attempts = self.session.attempts(q);
        let mut asked = self.page.questions.remove(id).unwrap_or_default();
        if asked.finished {
            self.page.questions.insert(id.to_string(), asked);
            return;
        }
        asked.tries += 1;
        let answers = self.session.recorder.report.steps[step]
            .questions
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.answers.clone())
            .unwrap_or_default();
        let mut answers = answers;
        answers.push(given.to_string());
        if self.session.judge(q, &expected, given) {
            asked.correct = true;
            asked.finished = true;
            asked.said = Some(format!("✔ {}", self.text.correct));
        } else {
            let left = attempts.saturating_sub(asked.tries);
            asked.said = Some(format!(
                "✘ {} ({})",
                self.text.wrong,
                self.text.left(u64::from(left))
            ));
            if let Some(says) = self.session.feedback(q, given) {
                asked.said = Some(format!("{} {says}", asked.said.unwrap_or_default()));
            } else if let Some(h) = q.spec.hint.0.get((asked.tries - 1) as usize) {
                self.session.recorder.question_hint_shown(
                    step,
                    id,
                    asked.tries as usize,
                    q.spec.hint.0.len(),
                );
                asked.said = Some(format!(
                    "{} — {}: {}",
                    asked.said.unwrap_or_default(),
                    self.text.hint,
                    self.session.shown(h)
                ));
            }
            if left == 0 {
                asked.finished = true;
                asked.answer_was = Some(expected.clone());
            }
        }
        if asked.finished {
            asked.explain = q
                .spec
                .explain
                .as_ref()
                .map(|e| markdown(&self.session.shown(e)));
            let credit = if asked.correct {
                1.0
            } else {
                self.session.partial_credit(q, &expected, given)
            };
            self.session
                .recorder
                .record_question_credit(step, id, answers, credit, &expected);
        }
        self.page.questions.insert(id.to_string(), asked);
    }

    /// Everything the page draws, in the lab's language.
    pub fn state(&self) -> Value {
        let lab = self.session.lab;
        let r = &self.session.recorder.report;
        let outline: Vec<Value> = lab
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let status = r.steps.get(i).map(|x| json!(x.status));
                json!({ "id": s.id, "title": s.title, "status": status })
            })
            .collect();
        let step = (!self.page.done).then(|| self.step_view(self.page.current));
        json!({
            "title": lab.meta.title,
            "lang": super::text::code(self.session.lang),
            "env": self.session.env_name(),
            "sandbox": self.session.env.handle(),
            "roles": self.roles,
            "terminals": self.terminals,
            "intro": markdown_items(self.session, &lab.intro),
            "current": self.page.current,
            "done": self.page.done,
            "score": r.score,
            "max_score": r.max_score,
            "report": self.page.report,
            "outline": outline,
            "step": step,
            "text": self.words.json(&self.text),
        })
    }

    fn step_view(&self, step: usize) -> Value {
        let s = &self.session.lab.steps[step];
        let scope = self.session.scope();
        let mut commands = Vec::new();
        let mut body = String::new();
        for (index, action) in self.session.actions(step).into_iter().enumerate() {
            let (script, target, run, solution) = match action {
                Action::Command(c) => (self.session.shown(&c.script), &c.target, c.run, c.solution),
                Action::Transcript(t) => (
                    t.commands
                        .iter()
                        .map(|c| self.session.shown(&c.command))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    &t.target,
                    t.run,
                    t.solution,
                ),
            };
            commands.push(json!({
                "index": index, "role": self.session.role(target), "script": script,
                "runnable": run == RunMode::Auto, "solution": solution,
            }));
        }
        // The step's text with its (non-solution) commands where they stand.
        let mut next_command = 0usize;
        for item in &s.items {
            match &item.kind {
                ItemKind::Prose(p) => body.push_str(&markdown(&self.session.shown(p))),
                ItemKind::Code { lang, text } => {
                    let _ = write!(
                        body,
                        "<pre><code class=\"language-{}\">{}</code></pre>",
                        escape(lang),
                        escape(&self.session.shown(text))
                    );
                }
                ItemKind::Command(c) if scope.command(c) => {
                    if !c.solution {
                        let _ = write!(
                            body,
                            "<div class=\"cmd-slot\" data-index=\"{next_command}\"></div>"
                        );
                    }
                    next_command += 1;
                }
                ItemKind::Transcript(t) if scope.transcript(t) => {
                    if !t.solution {
                        let _ = write!(
                            body,
                            "<div class=\"cmd-slot\" data-index=\"{next_command}\"></div>"
                        );
                    }
                    next_command += 1;
                }
                _ => {}
            }
        }
        let hints: Vec<String> = s
            .hints()
            .take(self.page.hints_shown)
            .map(|h| markdown(&self.session.shown(h)))
            .collect();
        let checks: Vec<Value> = self
            .checkables(step)
            .iter()
            .map(|g| match self.page.checks.get(&g.id) {
                Some(s) => json!(s),
                None => json!({ "id": g.id, "name": gradable_name(self.session, g), "verdict": "pending" }),
            })
            .collect();
        let questions: Vec<Value> = self
            .questions(step)
            .iter()
            .map(|(id, q)| {
                let lacking = self.session.question_lacking(q);
                let choices = self.session.choices(q).unwrap_or_default();
                json!({
                    "id": id,
                    "prompt": markdown(&self.session.question_prompt(q)),
                    "choices": choices,
                    "lacking": lacking,
                    "state": self.page.questions.get(id),
                })
            })
            .collect();
        json!({
            "index": step,
            "id": s.id,
            "title": s.title,
            "html": body,
            "commands": commands,
            "checks": checks,
            "questions": questions,
            "hints": hints,
            "hint_count": s.hints().count(),
            "solution": self.page.solution,
            "ran": self.page.ran,
            "warnings": self.page.warnings,
            "can_next": self.can_leave(step),
            "last": step + 1 == self.session.lab.steps.len(),
        })
    }
}

fn shown(id: &str, e: &Evaluated, hint: Option<String>) -> Shown {
    let o = &e.outcome;
    Shown {
        id: id.to_string(),
        name: e.name.clone(),
        verdict: match o.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
        },
        message: o.message.clone(),
        expected: o.expected.clone(),
        found: o.found.clone(),
        hint,
    }
}

fn gradable_name(session: &Session<'_>, g: &Gradable<'_>) -> String {
    match g.kind {
        GradableKind::Check(c) => session.shown(&c.spec.display_name()),
        GradableKind::Transcript(_) | GradableKind::Question(_) => g.id.clone(),
    }
}

fn markdown_items(session: &Session<'_>, items: &[crate::lab::Item]) -> String {
    let mut out = String::new();
    for item in items {
        match &item.kind {
            ItemKind::Prose(p) => out.push_str(&markdown(&session.shown(p))),
            ItemKind::Code { text, .. } => {
                let _ = write!(
                    out,
                    "<pre><code>{}</code></pre>",
                    escape(&session.shown(text))
                );
            }
            _ => {}
        }
    }
    out
}
