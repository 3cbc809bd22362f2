//! `tplab import`: read a lab written for another platform (a Killercoda scenario, an
//! Instruqt track) and write it as a tplab lab. The source's scripts are read, never
//! run; every path the source names must stay inside the source folder.
//! See `docs/importing.md` for the mapping.

pub mod instruqt;
pub mod killercoda;
pub mod lab;
pub mod script;
pub mod source;

use std::path::PathBuf;

pub use lab::{ImportedLab, Note};
pub use source::SourceDir;

/// Why a source could not be imported. Every variant names the file (and where the
/// position is known, its line and column) so the author can fix the source.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a folder", path.display())]
    NotADir { path: PathBuf },
    #[error("{}: missing (a {platform} {what} needs it)", path.display())]
    Missing {
        path: PathBuf,
        platform: &'static str,
        what: &'static str,
    },
    #[error("{}:{line}:{col}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    /// A path the source names that would read outside the source folder.
    #[error("{}:{line}: path `{named}` {reason}", file.display())]
    UnsafePath {
        file: PathBuf,
        line: usize,
        named: String,
        reason: &'static str,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{} already exists; pass --force to overwrite it", path.display())]
    Exists { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ImportError {
    /// Problems of the source (the author's to fix) as opposed to the machine's.
    pub fn is_source_problem(&self) -> bool {
        !matches!(self, Self::Write { .. })
    }
}

/// The platforms `tplab import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    /// A Killercoda scenario: index.json, step Markdown, verify.sh, background.sh/foreground.sh.
    Killercoda,
    /// An Instruqt track: track.yml, NN-slug/assignment.md, setup-/check-/solve-/cleanup- scripts.
    Instruqt,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Self::Killercoda => "killercoda",
            Self::Instruqt => "instruqt",
        }
    }
}

/// Reads the source folder and builds the lab (nothing is written or run).
pub fn import(platform: Platform, dir: &std::path::Path) -> Result<ImportedLab, ImportError> {
    let source = SourceDir::open(dir)?;
    match platform {
        Platform::Killercoda => killercoda::import(&source),
        Platform::Instruqt => instruqt::import(&source),
    }
}

/// Whether this tplab's lab format lets a check carry the author's failure message
/// (`fail_message:`); without it, imports write the message as the check's hint.
pub fn format_has_fail_message() -> bool {
    const PROBE: &str = "---\nid: probe\ntitle: Probe\nenvironments: [local]\nroles: [local]\n---\n\n\
                         ## Step {#s}\n\n```check\n- run: \"true\"\n  fail_message: m\n```\n";
    let parsed = crate::lab::parse("probe.md", PROBE.to_string());
    !parsed
        .diagnostics
        .iter()
        .any(crate::lab::Diagnostic::is_error)
}

/// A lab id (letters, digits, `-`, `_`) made of any name.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in deunicode::deunicode(text).chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "imported".to_string()
    } else {
        out
    }
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lab_ids() {
        assert_eq!(slug("Réseau: les bases!"), "reseau-les-bases");
        assert_eq!(slug("../.."), "imported");
        assert_eq!(slug("01-make_a-file"), "01-make_a-file");
    }
}
