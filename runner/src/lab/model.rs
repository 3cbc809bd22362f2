//! The in-memory lab: front matter, steps and their typed items, all with source spans.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

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

/// Languages tplab speaks (its own messages, `crate::ui::i18n::Lang`): the values of a
/// lab's `lang` and of `--lang`.
pub const LANGS: &[&str] = &["en", "fr"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    pub id: String,
    pub title: String,
    #[serde(default = "default_lang")]
    pub lang: String,
    #[serde(default, deserialize_with = "string_like")]
    pub version: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub authors: Vec<String>,
    /// Roles the lab's blocks may target; the first is the default target.
    #[serde(default = "default_roles")]
    pub roles: Vec<String>,
    /// Environments the lab supports (`local`, `sandbox`, `kube`); the first is the default.
    #[serde(default = "default_envs")]
    pub environments: Vec<String>,
    /// Lab-level variables available to every template.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub scoring: Scoring,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scoring {
    /// Points of a check unless it says otherwise.
    pub check: f64,
    /// Points of a question unless it says otherwise.
    pub question: f64,
    /// Attempts allowed per question unless it says otherwise.
    pub attempts: u32,
}

impl Default for Scoring {
    fn default() -> Self {
        Self {
            check: 1.0,
            question: 1.0,
            attempts: 3,
        }
    }
}

fn default_lang() -> String {
    "en".into()
}
fn default_roles() -> Vec<String> {
    vec!["local".into()]
}
fn default_envs() -> Vec<String> {
    vec!["local".into()]
}

/// A version written as text or a number (`version: 2`). A visitor, so a wrong type is
/// reported at the value.
fn string_like<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a version string or number")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<String, E> {
            Ok(s.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<String, E> {
            Ok(n.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<String, E> {
            Ok(n.to_string())
        }
        fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<String, E> {
            Ok(n.to_string())
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<String, E> {
            Ok(String::new())
        }
    }
    d.deserialize_any(V)
}

impl FrontMatter {
    pub fn default_role(&self) -> &str {
        self.roles.first().map_or("local", String::as_str)
    }
}

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
