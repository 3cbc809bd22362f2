//! What a command fails with, and the one place an error becomes an exit status
//! ([`Error::code`]). Messages say the whole story on one line; `source()` keeps the
//! typed cause, and [`chain`] prints the causes a message does not already quote.

use std::path::PathBuf;

use crate::env::EnvError;
use crate::lab::source::ReadError;
use crate::status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The environment could not be opened or used.
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("cannot read {}: {source}", path.display())]
    ReadLab {
        path: PathBuf,
        #[source]
        source: ReadError,
    },
    /// The lab parses badly or has lint errors (printed before this is returned).
    #[error("{} has {count} error(s); run `tplab lint {}` for details", path.display(), path.display())]
    LabErrors { path: PathBuf, count: usize },
    #[error("{}", no_lab(paths))]
    NoLab { paths: Vec<PathBuf> },
    #[error("no step `{id}` in {lab} (steps: {})", steps.join(", "))]
    NoStep {
        id: String,
        lab: String,
        steps: Vec<String>,
    },
    #[error("lab `{lab}` does not support environment `{env}` (it supports: {})", supported.join(", "))]
    EnvNotSupported {
        lab: String,
        env: String,
        supported: Vec<String>,
    },
    /// Arguments that make no sense together or do not parse.
    #[error("{0}")]
    Usage(String),
    /// Sandbox names, roles and commands as `tplab sandbox` and `trace` take them.
    #[error(transparent)]
    Sandbox(#[from] Box<tplab_sandbox::SandboxError>),
    /// `tplab report` / `grade` could render or grade nothing at all (docs/grading.md).
    #[error("{0}")]
    Report(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("writing the report into {}: {source}", dir.display())]
    WriteReport {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("printing JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the terminal: {0}")]
    Terminal(#[from] dialoguer::Error),
    #[error("starting the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// `tplab serve` could not listen or serve.
    #[error("tplab serve")]
    Serve(#[source] crate::serve::ServeError),
    /// `tplab import`: the source could not be read or translated, or the lab written.
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    /// A process a command starts for the user (`sandbox exec`).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<tplab_sandbox::SandboxError> for Error {
    fn from(e: tplab_sandbox::SandboxError) -> Self {
        Self::Sandbox(Box::new(e))
    }
}

impl From<tplab_kubeapi::KubeApiError> for Error {
    fn from(e: tplab_kubeapi::KubeApiError) -> Self {
        Self::Env(EnvError::KubeApi {
            source: Box::new(e),
        })
    }
}

impl Error {
    /// A `tplab report`/`grade` failure, its causes kept.
    pub fn report(e: anyhow::Error) -> Self {
        Self::Report(e.into())
    }

    /// The exit status this error ends the process with (see [`crate::status`]).
    pub fn code(&self) -> u8 {
        use tplab_sandbox::SandboxError as S;
        match self {
            Error::ReadLab { .. }
            | Error::LabErrors { .. }
            | Error::NoLab { .. }
            | Error::NoStep { .. }
            | Error::EnvNotSupported { .. }
            | Error::Usage(_)
            | Error::Serve(crate::serve::ServeError::RemoteRefused(_))
            | Error::Report(_)
            | Error::Env(EnvError::UnknownEnv { .. }) => status::USAGE,
            Error::Import(e) if e.is_source_problem() => status::USAGE,
            Error::Sandbox(e) if matches!(**e, S::BadId { .. } | S::UnknownRole { .. }) => {
                status::USAGE
            }
            Error::Env(_)
            | Error::Sandbox(_)
            | Error::WriteReport { .. }
            | Error::Json(_)
            | Error::Terminal(_)
            | Error::Runtime(_)
            | Error::Serve(_)
            | Error::Import(_)
            | Error::Io(_) => status::ENV,
        }
    }
}

fn no_lab(paths: &[PathBuf]) -> String {
    let each: Vec<String> = paths
        .iter()
        .map(|p| {
            format!(
                "no lab found in {}: expected {}/lab.md, or lab files (*.md) in it or its subfolders",
                p.display(),
                p.display()
            )
        })
        .collect();
    each.join("; ")
}

/// `error` and each cause its message does not already quote, joined by `: `.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let message = e.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        cause = e.source();
    }
    text
}

#[cfg(test)]
mod tests;
