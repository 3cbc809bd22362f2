//! The in-memory lab: front matter, steps and their typed items, all with source spans.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use super::checks::CheckSpec;
use super::question::QuestionSpec;
use super::source::Source;
use super::transcript::TranscriptCommand;

#[derive(Debug)]
pub struct Lab {
    pub source: Arc<Source>,
    pub meta: FrontMatter,
    /// Span of the front matter's YAML body.
    pub meta_span: Range<usize>,
    /// Items before the first step (shown as the lab's introduction).
    pub intro: Vec<Item>,
    pub steps: Vec<Step>,
    /// sha256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

pub use tplab_vocab::front_matter::{FrontMatter, LANGS, Scoring};

#[derive(Debug)]
pub struct Step {
    pub id: String,
    pub title: String,
    /// Span of the `##` heading line.
    pub span: Range<usize>,
    pub items: Vec<Item>,
}

impl Step {
    pub fn checks(&self) -> impl Iterator<Item = &CheckItem> {
        self.items.iter().flat_map(|i| match &i.kind {
            ItemKind::Checks(c) => c.as_slice(),
            _ => &[],
        })
    }

    pub fn hints(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter_map(|i| match &i.kind {
            ItemKind::Hint(h) => Some(h.as_str()),
            _ => None,
        })
    }
}

#[derive(Debug)]
pub struct Item {
    /// Whole block (fences included) or prose range.
    pub span: Range<usize>,
    pub kind: ItemKind,
}

#[derive(Debug)]
pub enum ItemKind {
    /// Markdown shown to the student.
    Prose(String),
    /// A fenced block with no machine meaning (shown as code).
    Code {
        lang: String,
        text: String,
    },
    Command(CommandBlock),
    Transcript(TranscriptBlock),
    Checks(Vec<CheckItem>),
    Question(Box<QuestionItem>),
    Hint(String),
    /// A `{setup}` or `{cleanup}` command block, run by tplab itself.
    Lifecycle(super::lifecycle::LifecycleBlock),
}

/// When tplab itself may run a command block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Run in auto/test mode and on request.
    Auto,
    /// Shown only (interactive shells, commands for another machine).
    Never,
}

/// Expected exit status of a command block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectStatus {
    Code(i32),
    Any,
}

#[derive(Debug, Clone)]
pub struct CommandBlock {
    pub target: String,
    pub script: String,
    pub solution: bool,
    /// `solution=hidden`: tplab's own way of making the step happen (e.g. traffic in the
    /// background while a check observes it), not what the student types: "show the
    /// solution" shows the step's commands instead.
    pub solution_hidden: bool,
    pub run: RunMode,
    pub env: Vec<String>,
    pub timeout: Option<Duration>,
    pub status: ExpectStatus,
    /// Byte offset of the first body line.
    pub body_start: usize,
}

#[derive(Debug, Clone)]
pub struct TranscriptBlock {
    /// Stable id for reports (`{id=...}`), else `transcript-N`.
    pub id: Option<String>,
    pub target: String,
    pub commands: Vec<TranscriptCommand>,
    pub solution: bool,
    pub run: RunMode,
    pub env: Vec<String>,
    pub timeout: Option<Duration>,
    pub body_start: usize,
}

#[derive(Debug, Clone)]
pub struct CheckItem {
    /// Span of the item's text (from its `-` to the next item).
    pub span: Range<usize>,
    /// The item as YAML (templates unrendered), rendered and re-read at evaluation.
    pub raw: serde_yaml::Value,
    pub spec: CheckSpec,
    /// Block-level `env` attribute, if any.
    pub block_env: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct QuestionItem {
    pub spec: QuestionSpec,
    pub body_start: usize,
}

impl Lab {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// 1-based line of an offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.source.line_col(offset).0
    }
}
