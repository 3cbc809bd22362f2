//! `tplab.report/1`: the canonical, versioned JSON report of a session.
//! Documented in `docs/report-format.md`; any change here must keep that page true.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Value of the `schema` field; bump the suffix on any incompatible change.
pub const SCHEMA: &str = "tplab.report/1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub schema: String,
    pub tool: Tool,
    pub lab: LabInfo,
    pub student: Student,
    pub env: EnvInfo,
    /// `run`, `check` or `test`.
    pub mode: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub steps: Vec<StepReport>,
    /// Sum of the points earned (checks + questions), error verdicts earn nothing.
    pub score: f64,
    /// Sum of the points at stake, error verdicts excluded (see docs/report-format.md).
    pub max_score: f64,
    /// Points of checks that ended in `error`: not charged, flagged for the instructor.
    #[serde(default)]
    pub error_points: f64,
    /// Tamper-evidence: hash chain over the session's events (may be empty).
    #[serde(default)]
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LabInfo {
    pub id: String,
    pub title: String,
    pub version: String,
    /// sha256 of the lab file's bytes, lowercase hex.
    pub sha256: String,
    pub path: String,
    /// Front matter `lang` (`en`, `fr`): the language the renderings speak. Absent in
    /// reports written before it was recorded (rendered in English).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Student {
    pub id: Option<String>,
    /// Instructor-issued per-student nonce, if any.
    #[serde(default)]
    pub nonce: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EnvInfo {
    /// `local`, `sandbox`, `kube`...
    pub name: String,
    /// Facts the environment exposed as variables (pod IP, gateway...).
    #[serde(default)]
    pub facts: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// The checker could not look: never charged to the student.
    Error,
    /// Not evaluated (step not reached, question not asked).
    Skipped,
}

/// A checker's verdict as the report records it (checkers never skip).
impl From<tplab_vocab::Verdict> for Verdict {
    fn from(v: tplab_vocab::Verdict) -> Self {
        match v {
            tplab_vocab::Verdict::Pass => Verdict::Pass,
            tplab_vocab::Verdict::Fail => Verdict::Fail,
            tplab_vocab::Verdict::Error => Verdict::Error,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Passed,
    Failed,
    Error,
    /// Not (fully) reached in this session.
    Pending,
    /// The student chose *Skip this step* (verdicts reached before the skip are kept).
    Skipped,
    /// The step is not in this session's environment (its blocks are for others, or
    /// need roles this one lacks): nothing to do, nothing counted.
    #[serde(rename = "not_in_env")]
    NotInEnv,
}

/// Help the student took during a step (`steps[].assists`), in the order taken.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AssistKind {
    /// A hint of the step (*Show a hint*), `index` of `of`.
    Hint,
    /// A failing check's hint, shown after *Check now* (`item`: the check id).
    CheckHint,
    /// A question's hint, shown after a wrong answer (`item`: the question id).
    QuestionHint,
    /// The step's solution commands (*Show the solution*).
    Solution,
    /// tplab ran the step's commands (*Run it for me*).
    RunForMe,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Assist {
    pub kind: AssistKind,
    pub at: DateTime<Utc>,
    /// The check or question the hint belongs to (empty for the step's own help).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub item: String,
    /// 1-based number of the hint shown, and how many there are (0 when not a hint).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub index: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub of: u32,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StepReport {
    pub id: String,
    pub title: String,
    /// 1-based line of the step heading in the lab file.
    pub line: usize,
    pub status: StepStatus,
    pub score: f64,
    pub max_score: f64,
    #[serde(default)]
    pub checks: Vec<CheckReport>,
    #[serde(default)]
    pub questions: Vec<QuestionReport>,
    #[serde(default)]
    pub commands: Vec<CommandReport>,
    /// Variables captured during this step (name -> value).
    #[serde(default)]
    pub captures: BTreeMap<String, String>,
    /// The student skipped this step (`status` is then `skipped`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    /// Hints, solutions and *Run it for me* taken during the step, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assists: Vec<Assist>,
}

impl StepReport {
    /// How many times help of `kind` was taken in this step.
    pub fn assists_of(&self, kind: AssistKind) -> usize {
        self.assists.iter().filter(|a| a.kind == kind).count()
    }

    /// True when the student had tplab run this step's commands (*Run the commands for
    /// me*). Reports written before assists were recorded never say so.
    pub fn ran_for_student(&self) -> bool {
        self.assists_of(AssistKind::RunForMe) > 0
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CheckReport {
    /// Id within its step: the check's own `id`, else `check-<n>` / `transcript-<n>`
    /// (exports qualify it as `<step>/<id>`, unique within the lab: see `items`).
    pub id: String,
    pub name: String,
    /// Assertion kind: `command`, `transcript`, `route`, `neighbour`, `packets`...
    pub kind: String,
    pub verdict: Verdict,
    pub points: f64,
    pub max_points: f64,
    /// What the check wanted, in words.
    pub expected: String,
    /// What was found, in words (empty on pass when nothing useful to say).
    pub found: String,
    /// Human message (failure explanation or error cause).
    #[serde(default)]
    pub message: String,
    /// Structured evidence (facts matched: a route, a MAC, a conntrack entry, a packet path).
    #[serde(default)]
    pub evidence: serde_json::Value,
    /// How many times the student had the check judged: each *Check now*, each *Run it
    /// for me*, each watch session (however many times it re-checked) and `--auto` count
    /// one. Polling inside one of them is `evaluations`.
    pub attempts: u32,
    /// How many times the checker looked, polls and watch-mode re-checks included.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub evaluations: u32,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QuestionReport {
    pub id: String,
    pub prompt: String,
    /// Every answer given, in order.
    pub answers: Vec<String>,
    pub verdict: Verdict,
    pub points: f64,
    pub max_points: f64,
    /// The expected answer, as computed live from the environment.
    pub expected: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CommandReport {
    pub target: String,
    pub command: String,
    /// `tplab` when tplab ran it, `student` when the student ran it themselves (not captured).
    pub by: String,
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub duration_ms: u64,
}

/// One link of the hash chain: `hash = sha256(prev_hash || canonical_json(kind, at, data))`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub data: serde_json::Value,
    pub prev: String,
    pub hash: String,
}

impl Report {
    /// Recomputes `score`, `max_score` and `error_points` from the steps.
    pub fn total(&mut self) {
        // `+ 0.0`: an empty f64 sum is `-0.0`, which JSON and exports would write as `-0`.
        self.score = self.steps.iter().map(|s| s.score).sum::<f64>() + 0.0;
        self.max_score = self.steps.iter().map(|s| s.max_score).sum::<f64>() + 0.0;
        self.error_points = self
            .steps
            .iter()
            .flat_map(|s| &s.checks)
            .filter(|c| c.verdict == Verdict::Error)
            .map(|c| c.max_points)
            .sum::<f64>()
            + 0.0;
    }
}

impl StepReport {
    /// Step totals from its checks and questions; errors leave the denominator.
    pub fn total(&mut self) {
        let checks = self
            .checks
            .iter()
            .map(|c| (c.verdict, c.points, c.max_points));
        let questions = self
            .questions
            .iter()
            .map(|q| (q.verdict, q.points, q.max_points));
        let (mut score, mut max) = (0.0, 0.0);
        for (verdict, points, max_points) in checks.chain(questions) {
            if verdict != Verdict::Error {
                score += points;
                max += max_points;
            }
        }
        self.score = score;
        self.max_score = max;
    }
}
