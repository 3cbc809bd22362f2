//! Builds the canonical `tplab.report/1` as a session goes, and writes it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde_json::json;
use tplab_report::{
    CheckReport, CommandReport, EnvInfo, EventChain, LabInfo, QuestionReport, Report, SCHEMA,
    StepReport, StepStatus, Student, Tool, Verdict,
};

use super::plan::{self, GradableKind};
use crate::check::Evaluated;
use crate::env::ExecOutput;
use crate::lab::Lab;

pub struct Recorder {
    pub report: Report,
    /// Hash chain over what happened (tamper-evidence; see docs/grading.md).
    chain: EventChain,
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
        let steps = lab
            .steps
            .iter()
            .map(|step| {
                let mut checks = Vec::new();
                let mut questions = Vec::new();
                for g in plan::gradables(step, &lab.meta, env) {
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
                    status: StepStatus::Pending,
                    score: 0.0,
                    max_score: 0.0,
                    checks,
                    questions,
                    commands: Vec::new(),
                    captures: BTreeMap::new(),
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
        Self { report, chain }
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

    pub fn record_check(&mut self, step: usize, id: &str, max_points: f64, e: &Evaluated) {
        let entry = CheckReport {
            id: id.to_string(),
            name: e.name.clone(),
            kind: e.kind.clone(),
            verdict: e.outcome.verdict.into(),
            points: if e.outcome.passed() { max_points } else { 0.0 },
            max_points,
            expected: e.outcome.expected.clone(),
            found: e.outcome.found.clone(),
            message: e.outcome.message.clone(),
            evidence: e.outcome.evidence.clone(),
            attempts: e.attempts,
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

    pub fn record_question(
        &mut self,
        step: usize,
        id: &str,
        answers: Vec<String>,
        correct: bool,
        expected: &str,
    ) {
        let s = self.step(step);
        if let Some(q) = s.questions.iter_mut().find(|q| q.id == id) {
            q.answers = answers;
            q.verdict = if correct {
                Verdict::Pass
            } else {
                Verdict::Fail
            };
            q.points = if correct { q.max_points } else { 0.0 };
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
        s.status = if verdicts.contains(&Verdict::Skipped) {
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

    /// Writes `DIR/report.json` atomically (temp file + rename).
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("report.json");
        let tmp = dir.join(".report.json.tmp");
        // Seal a copy: the live chain keeps growing if the session goes on.
        let mut report = self.report.clone();
        self.chain.clone().finish(&mut report);
        let json = serde_json::to_vec_pretty(&report).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }
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
        duration_ms: 0,
    }
}
