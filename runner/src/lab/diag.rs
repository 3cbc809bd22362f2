//! Compiler-style diagnostics: `path:line:col`, the source line, a caret, what was expected.

use std::ops::Range;
use std::sync::Arc;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::{self, Chars, Config};

pub use tplab_vocab::DiagCode;

use super::source::Source;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One problem found in a lab file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Short stable code, e.g. `unknown-key` (tests and docs refer to it).
    pub code: DiagCode,
    pub message: String,
    pub source: Arc<Source>,
    pub span: Range<usize>,
    /// Label under the caret.
    pub label: String,
    /// What was expected / how to fix.
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(
        code: DiagCode,
        source: &Arc<Source>,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            source: Arc::clone(source),
            // Computed spans may land inside a character or past the end: never panic later.
            span: source.clamp(span),
            label: String::new(),
            notes: Vec::new(),
        }
    }

    pub fn warning(
        code: DiagCode,
        source: &Arc<Source>,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, source, span, message)
        }
    }

    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    #[must_use]
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn set_label(&mut self, label: impl Into<String>) -> &mut Self {
        self.label = label.into();
        self
    }

    pub fn add_note(&mut self, note: impl Into<String>) -> &mut Self {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `path:line:col` of the start of the span.
    pub fn location(&self) -> String {
        let (line, col) = self.source.line_col(self.span.start);
        format!("{}:{line}:{col}", self.source.path().display())
    }

    /// Renders like a compiler, with or without ANSI colours.
    pub fn render(&self, color: bool) -> String {
        let file = Indexed {
            name: self.source.path().display().to_string(),
            source: &self.source,
        };
        let severity = match self.severity {
            Severity::Error => CsSeverity::Error,
            Severity::Warning => CsSeverity::Warning,
        };
        let span = self.source.clamp(self.span.clone());
        let mut notes = self.notes.clone();
        notes.push(format!("[{}]", self.code));
        let diagnostic = CsDiagnostic::new(severity)
            .with_message(&self.message)
            .with_labels(vec![Label::primary((), span).with_message(&self.label)])
            .with_notes(notes);
        let config = Config {
            chars: Chars::ascii(),
            ..Config::default()
        };
        let mut buffer = if color {
            term::termcolor::Buffer::ansi()
        } else {
            term::termcolor::Buffer::no_color()
        };
        if term::emit(&mut buffer, &config, &file, &diagnostic).is_err() {
            return format!("{}: {}: {}\n", self.location(), self.code, self.message);
        }
        String::from_utf8_lossy(buffer.as_slice()).into_owned()
    }

    /// Machine-readable form for `tplab lint --json`.
    pub fn to_json(&self) -> serde_json::Value {
        let (line, col) = self.source.line_col(self.span.start);
        serde_json::json!({
            "severity": self.severity,
            "code": self.code.as_str(),
            "message": self.message,
            "path": self.source.path().display().to_string(),
            "line": line,
            "col": col,
            "label": self.label,
            "notes": self.notes,
        })
    }
}

/// The lab's own line index for codespan: `SimpleFile` rebuilds one per diagnostic,
/// which made printing N diagnostics of a big lab O(N x size).
struct Indexed<'a> {
    name: String,
    source: &'a Source,
}

impl<'a> Files<'a> for Indexed<'a> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, (): ()) -> Result<&'a str, FilesError> {
        Ok(&self.name)
    }

    fn source(&'a self, (): ()) -> Result<&'a str, FilesError> {
        Ok(&self.source.text)
    }

    fn line_index(&'a self, (): (), byte_index: usize) -> Result<usize, FilesError> {
        Ok(self.source.line_index(byte_index))
    }

    fn line_range(&'a self, (): (), line_index: usize) -> Result<Range<usize>, FilesError> {
        let start = self.source.line_start(line_index);
        let end = self.source.line_start(line_index + 1);
        match (start, end) {
            (Some(start), Some(end)) => Ok(start..end),
            _ => Err(FilesError::LineTooLarge {
                given: line_index,
                max: self.source.line_count() - 1,
            }),
        }
    }
}
