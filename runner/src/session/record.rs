//! Builds the canonical `tplab.report/1` as a session goes, and writes it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde_json::json;
use tplab_report::labfile::LabFile;
use tplab_report::{
    Assist, AssistKind, CheckReport, CommandReport, EnvInfo, EventChain, LabInfo, QuestionReport,
    Report, SCHEMA, StepReport, StepStatus, Student, Tool, Verdict,
};

use super::plan::{self, GradableKind};
use crate::check::Evaluated;
use crate::env::ExecOutput;
use crate::lab::Lab;

pub struct Recorder {
    pub report: Report,
    /// Hash chain over what happened (tamper-evidence; see docs/grading.md).
    chain: EventChain,
    /// The lab file this session runs: `report.html` is checked against it.
    lab_file: LabFile,
    /// Watch sessions started so far, and the one each check's attempt was last counted
    /// in: a watch session is one attempt however many times it re-checks.
    watch: u64,
    counted_in_watch: HashMap<(usize, String), u64>,
}

/// How a check's evaluation counts towards its `attempts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The student asked for it (*Check now*, *Run it for me*, `--auto`): one attempt.
    Asked,
    /// A watch-mode re-check: one attempt per watch session, the first time it looks.
    WatchTick,
}

impl Recorder {
    /// A report with every step pending and every gradable item `skipped`, so the
    /// denominator is the whole lab even if the session stops early.
    pub fn new(
        lab: &Lab,
        env: &str,
        facts: BTreeMap<String, String>,
        mode: &str,
        student: Student,
    ) -> Self {
        let scope = plan::Scope::new(&lab.meta, env);
        let steps = lab
            .steps
            .iter()
            .map(|step| {
                let mut checks = Vec::new();
                let mut questions = Vec::new();
                for g in plan::gradables(step, scope) {
                    match g.kind {
                        GradableKind::Check(c) => checks.push(skipped_check(
                            &g.id,
                            &c.spec.display_name(),
                            c.spec.kind().map_or("check", |k| k.name()),
                            g.max_points,
                        )),
                        GradableKind::Transcript(t) => {
                            let name = t
                                .commands
                                .iter()
                                .map(|c| format!("`{}`", c.command))
                                .collect::<Vec<_>>()
                                .join(", ");
                            checks.push(skipped_check(&g.id, &name, "transcript", g.max_points));
                        }
                        GradableKind::Question(q) => questions.push(QuestionReport {
                            id: g.id.clone(),
                            prompt: q.spec.prompt.clone(),
                            answers: Vec::new(),
                            verdict: Verdict::Skipped,
                            points: 0.0,
                            max_points: g.max_points,
                            expected: String::new(),
                        }),
                    }
                }
                let mut s = StepReport {
                    id: step.id.clone(),
                    title: step.title.clone(),
                    line: lab.line_of(step.span.start),
                    status: if scope.step(step) {
                        StepStatus::Pending
                    } else {
                        StepStatus::NotInEnv
                    },
                    score: 0.0,
                    max_score: 0.0,
                    checks,
                    questions,
                    commands: Vec::new(),
                    captures: BTreeMap::new(),
                    skipped: false,
                    assists: Vec::new(),
                };
                s.total();
                s
            })
            .collect();
        let now = Utc::now();
        let mut report = Report {
            schema: SCHEMA.to_string(),
            tool: Tool {
                name: "tplab".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            lab: LabInfo {
                id: lab.meta.id.clone(),
                title: lab.meta.title.clone(),
                version: lab.meta.version.clone(),
                sha256: lab.sha256.clone(),
                path: lab.source.path().display().to_string(),
                lang: Some(lab.meta.lang.clone()),
            },
            student,
            env: EnvInfo {
                name: env.to_string(),
                facts,
            },
            mode: mode.to_string(),
            started_at: now,
            finished_at: now,
            steps,
            score: 0.0,
            max_score: 0.0,
            error_points: 0.0,
            events: Vec::new(),
        };
        report.total();
        let mut chain = EventChain::new(
            &report.lab.sha256,
            report.student.id.as_deref(),
            report.student.nonce.as_deref(),
        );
        chain.push(
            "start",
            json!({ "mode": report.mode, "env": report.env.name, "facts": report.env.facts }),
        );
        let lab_file = LabFile {
            path: lab.source.path().to_path_buf(),
            id: lab.meta.id.clone(),
            title: lab.meta.title.clone(),
            version: Some(lab.meta.version.clone()).filter(|v| !v.is_empty()),
            sha256: lab.sha256.clone(),
            lang: lab.meta.lang.clone(),
        };
        Self {
            report,
            chain,
            lab_file,
            watch: 0,
            counted_in_watch: HashMap::new(),
        }
    }

    /// Continues a saved session: its report and its (unsealed) chain.
    pub fn resume(&mut self, mut saved: Report) {
        let events = std::mem::take(&mut saved.events);
        self.chain = EventChain::resume(
            &saved.lab.sha256,
            saved.student.id.as_deref(),
            saved.student.nonce.as_deref(),
            events,
        );
        self.chain
            .push("resume", json!({ "mode": self.report.mode }));
        self.report = saved;
    }

    /// The report with its chain, unsealed (what progress files keep).
    pub fn snapshot(&self) -> Report {
        let mut r = self.report.clone();
        r.events = self.chain.events().to_vec();
        r
    }

    fn step(&mut self, step: usize) -> &mut StepReport {
        &mut self.report.steps[step]
    }

    /// Records a check the student asked for (one more attempt).
    pub fn record_check(&mut self, step: usize, id: &str, max_points: f64, e: &Evaluated) {
        self.record_check_as(step, id, max_points, e, Attempt::Asked);
    }

    /// A watch session begins: its re-checks count as one attempt per check.
    pub fn watch_started(&mut self) {
        self.watch += 1;
    }

    /// Records a check's latest verdict; `attempts` and `evaluations` accumulate over the
    /// whole lab (resumed sittings included), as `how` says (see [`Attempt`]).
    pub fn record_check_as(
        &mut self,
        step: usize,
        id: &str,
        max_points: f64,
        e: &Evaluated,
        how: Attempt,
    ) {
        let counts = match how {
            Attempt::Asked => true,
            Attempt::WatchTick => {
                let key = (step, id.to_string());
                self.counted_in_watch.insert(key, self.watch) != Some(self.watch)
            }
        };
        let (before, looked) = self.report.steps[step]
            .checks
            .iter()
            .find(|c| c.id == id)
            .map_or((0, 0), |c| (c.attempts, c.evaluations.max(c.attempts)));
        let entry = CheckReport {
            id: id.to_string(),
            name: e.name.clone(),
            kind: e.kind.clone(),
            verdict: e.outcome.verdict.into(),
            points: crate::lab::groups::earned(e.spec.as_ref(), &e.outcome, max_points),
            max_points,
            expected: e.outcome.expected.clone(),
            found: e.outcome.found.clone(),
            message: e.outcome.message.clone(),
            evidence: e.outcome.evidence.clone(),
            attempts: before + u32::from(counts),
            evaluations: looked + e.attempts,
            duration_ms: u64::try_from(e.duration.as_millis()).unwrap_or(u64::MAX),
        };
        self.chain.push(
            "check",
            json!({ "step": self.report.steps[step].id, "id": id, "verdict": entry.verdict, "points": entry.points, "found": entry.found, "evidence": entry.evidence }),
        );
        let s = self.step(step);
        match s.checks.iter_mut().find(|c| c.id == id) {
            Some(slot) => *slot = entry,
            None => s.checks.push(entry),
        }
        s.captures.extend(e.outcome.captures.clone());
        self.refresh(step);
    }

    /// The student skipped the step: it is recorded `skipped` (verdicts reached before the
    /// skip stay as they were: a failed check stays failed, an error stays an error).
    pub fn skip_step(&mut self, step: usize) {
        self.chain
            .push("skip", json!({ "step": self.report.steps[step].id }));
        self.step(step).skipped = true;
        self.refresh(step);
    }

    /// The student took help: a hint, a solution, or had tplab run the commands.
    pub fn assist(&mut self, step: usize, kind: AssistKind, item: &str, index: usize, of: usize) {
        let entry = Assist {
            kind,
            at: Utc::now(),
            item: item.to_string(),
            index: u32::try_from(index).unwrap_or(u32::MAX),
            of: u32::try_from(of).unwrap_or(u32::MAX),
        };
        self.chain.push(
            "assist",
            json!({ "step": self.report.steps[step].id, "kind": entry.kind, "item": entry.item, "index": entry.index, "of": entry.of }),
        );
        self.step(step).assists.push(entry);
    }

    /// *Show a hint*: the step's hint `index` (1-based) of `of`.
    pub fn hint_shown(&mut self, step: usize, index: usize, of: usize) {
        self.assist(step, AssistKind::Hint, "", index, of);
    }

    /// A failing check's hint `index` (1-based) of `of`, shown after *Check now*.
    pub fn check_hint_shown(&mut self, step: usize, check: &str, index: usize, of: usize) {
        self.assist(step, AssistKind::CheckHint, check, index, of);
    }

    /// A question's hint `index` (1-based) of `of`, shown after a wrong answer.
    pub fn question_hint_shown(&mut self, step: usize, question: &str, index: usize, of: usize) {
        self.assist(step, AssistKind::QuestionHint, question, index, of);
    }

    /// *Show the solution*.
    pub fn solution_shown(&mut self, step: usize) {
        self.assist(step, AssistKind::Solution, "", 0, 0);
    }

    /// *Run it for me*: tplab runs the step's commands.
    pub fn ran_for_me(&mut self, step: usize) {
        self.assist(step, AssistKind::RunForMe, "", 0, 0);
    }

    pub fn record_question(
        &mut self,
        step: usize,
        id: &str,
        answers: Vec<String>,
        correct: bool,
        expected: &str,
    ) {
        let credit = if correct { 1.0 } else { 0.0 };
        self.record_question_credit(step, id, answers, credit, expected);
    }

    /// Records a question's answers earning `credit` (0 to 1) of its points: 1 is right,
    /// less is wrong, with that share of the points (partial credit).
    pub fn record_question_credit(
        &mut self,
        step: usize,
        id: &str,
        answers: Vec<String>,
        credit: f64,
        expected: &str,
    ) {
        let correct = credit >= 1.0;
        let s = self.step(step);
        if let Some(q) = s.questions.iter_mut().find(|q| q.id == id) {
            q.answers = answers;
            q.verdict = if correct {
                Verdict::Pass
            } else {
                Verdict::Fail
            };
            q.points = (q.max_points * credit.clamp(0.0, 1.0) * 100.0).round() / 100.0;
            q.expected = expected.to_string();
        }
        self.refresh(step);
    }

    pub fn record_command(
        &mut self,
        step: usize,
        target: &str,
        command: &str,
        by: &str,
        out: Option<&ExecOutput>,
    ) {
        let entry = CommandReport {
            target: target.to_string(),
            command: command.to_string(),
            by: by.to_string(),
            status: out.and_then(|o| o.status),
            stdout: out.map(|o| o.stdout.clone()).unwrap_or_default(),
            stderr: out.map(|o| o.stderr.clone()).unwrap_or_default(),
            duration_ms: out.map_or(0, |o| {
                u64::try_from(o.duration.as_millis()).unwrap_or(u64::MAX)
            }),
        };
        self.chain.push(
            "command",
            json!({ "step": self.report.steps[step].id, "target": entry.target, "command": entry.command, "by": entry.by, "status": entry.status }),
        );
        self.step(step).commands.push(entry);
    }

    /// Recomputes a step's totals and status from its items.
    pub fn refresh(&mut self, step: usize) {
        let s = self.step(step);
        s.total();
        let verdicts: Vec<Verdict> = s
            .checks
            .iter()
            .map(|c| c.verdict)
            .chain(s.questions.iter().map(|q| q.verdict))
            .collect();
        s.status = if s.status == StepStatus::NotInEnv {
            StepStatus::NotInEnv
        } else if s.skipped {
            StepStatus::Skipped
        } else if verdicts.contains(&Verdict::Skipped) {
            StepStatus::Pending
        } else if verdicts.contains(&Verdict::Fail) {
            StepStatus::Failed
        } else if verdicts.contains(&Verdict::Error) {
            StepStatus::Error
        } else {
            StepStatus::Passed
        };
        self.report.total();
    }

    /// Marks a step reached with nothing to grade as passed.
    pub fn settle(&mut self, step: usize) {
        self.refresh(step);
    }

    pub fn finish(&mut self) {
        self.report.finished_at = Utc::now();
        self.report.total();
    }

    /// Writes `DIR/report.json` and, beside it, `DIR/report.html` (checked against the
    /// lab file this session runs), each atomically (temp file + rename).
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        // Seal a copy: the live chain keeps growing if the session goes on.
        let mut report = self.report.clone();
        self.chain.clone().finish(&mut report);
        let json = serde_json::to_vec_pretty(&report).map_err(std::io::Error::other)?;
        let path = write_atomic(dir, "report.json", &json)?;
        let html = tplab_report::render::render_html_with(
            &report,
            tplab_report::render::RenderOptions {
                templates: None,
                lab: Some(&self.lab_file),
            },
        )
        .map_err(std::io::Error::other)?;
        write_atomic(dir, "report.html", html.as_bytes())?;
        Ok(path)
    }
}

/// The HTML report written beside `report_json` by [`Recorder::write`].
pub fn html_beside(report_json: &Path) -> PathBuf {
    report_json.with_file_name("report.html")
}

fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

fn skipped_check(id: &str, name: &str, kind: &str, max_points: f64) -> CheckReport {
    CheckReport {
        id: id.to_string(),
        name: name.to_string(),
        kind: kind.to_string(),
        verdict: Verdict::Skipped,
        points: 0.0,
        max_points,
        expected: String::new(),
        found: String::new(),
        message: String::new(),
        evidence: serde_json::Value::Null,
        attempts: 0,
        evaluations: 0,
        duration_ms: 0,
    }
}
