//! Saved progress, so quitting and re-running resumes at the same step.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Session;
use crate::template::Vars;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Progress {
    pub lab_id: String,
    pub lab_sha256: String,
    pub env: String,
    /// Index of the next step to do.
    pub next_step: usize,
    /// Variables captured so far (so later steps can use them).
    pub vars: Vars,
    /// The environment instance the captures came from (sandbox id), kept for resuming.
    #[serde(default)]
    pub env_handle: Option<String>,
    pub report: tplab_report::Report,
}

/// Where tplab keeps state: `$TPLAB_STATE_DIR` or `~/.local/state/tplab`.
fn state_dir() -> PathBuf {
    std::env::var_os("TPLAB_STATE_DIR").map_or_else(
        || {
            let home =
                std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
            home.join(".local/state/tplab")
        },
        PathBuf::from,
    )
}

/// Where progress of a lab is kept.
pub fn path(lab_id: &str, env: &str, student: Option<&str>) -> PathBuf {
    let who = student.unwrap_or("default");
    state_dir().join(format!("{lab_id}.{env}.{who}.progress.json"))
}

/// Default folder of a lab's report when `--report` is not given.
pub fn reports_dir(lab_id: &str, student: Option<&str>) -> PathBuf {
    state_dir()
        .join("reports")
        .join(format!("{lab_id}-{}", student.unwrap_or("default")))
}

pub fn save(session: &Session<'_>, next_step: usize) {
    let progress = Progress {
        lab_id: session.lab.meta.id.clone(),
        lab_sha256: session.lab.sha256.clone(),
        env: session.env.name().to_string(),
        next_step,
        vars: session.vars.clone(),
        env_handle: session.env.handle(),
        report: session.recorder.snapshot(),
    };
    let path = path(
        &progress.lab_id,
        &progress.env,
        session.recorder.report.student.id.as_deref(),
    );
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(json) = serde_json::to_vec_pretty(&progress) {
        let tmp = path.with_extension("tmp");
        if std::fs::write(&tmp, json).is_ok() {
            let _ = std::fs::rename(tmp, path);
        }
    }
}

/// Saved progress of a lab, if any.
pub enum Saved {
    /// Progress made on this very lab file.
    Current(Progress),
    /// Progress made on another version of the lab file: unusable.
    Stale(Progress),
}

/// Loads saved progress and tells whether it belongs to this very lab file.
pub fn load(lab_id: &str, sha256: &str, env: &str, student: Option<&str>) -> Option<Saved> {
    let text = std::fs::read(path(lab_id, env, student)).ok()?;
    let progress: Progress = serde_json::from_slice(&text).ok()?;
    if progress.env != env {
        return None;
    }
    Some(if progress.lab_sha256 == sha256 {
        Saved::Current(progress)
    } else {
        Saved::Stale(progress)
    })
}

pub fn clear(lab_id: &str, env: &str, student: Option<&str>) {
    let _ = std::fs::remove_file(path(lab_id, env, student));
}
