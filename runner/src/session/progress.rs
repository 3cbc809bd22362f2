//! Saved progress, so quitting and re-running resumes at the same step.
//!
//! A progress file is read back from disk, so nothing in it is trusted: the sandbox id
//! it names is validated like one typed on the command line, and it must belong to this
//! lab, environment and student, or it is set aside.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Session;
use crate::lab::Lab;
use crate::state_dir::{self, file_component, is_inside};
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

/// Who a progress file belongs to: the lab, environment and student of this session.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub lab_id: &'a str,
    pub env: &'a str,
    pub student: Option<&'a str>,
}

/// Where progress of a lab is kept: one file name built from safe components only.
pub fn path(owner: Owner<'_>) -> PathBuf {
    state_dir::root().join(format!(
        "{}.{}.{}.progress.json",
        file_component(owner.lab_id),
        file_component(owner.env),
        file_component(owner.student.unwrap_or("default"))
    ))
}

/// Default folder of a lab's report when `--report` is not given.
pub fn reports_dir(lab_id: &str, student: Option<&str>) -> PathBuf {
    state_dir::root().join("reports").join(format!(
        "{}-{}",
        file_component(lab_id),
        file_component(student.unwrap_or("default"))
    ))
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
    let path = path(Owner {
        lab_id: &progress.lab_id,
        env: &progress.env,
        student: session.recorder.report.student.id.as_deref(),
    });
    if !is_inside(&state_dir::root(), &path) {
        return;
    }
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
#[derive(Debug)]
pub enum Saved {
    /// Progress made on this very lab file.
    Current(Progress),
    /// Progress made on another version of the lab file: unusable, but its sandbox id
    /// (validated) names what that session kept.
    Stale(Progress),
    /// A progress file that cannot be used (unreadable, malformed, another owner's, or
    /// naming an invalid sandbox id): the reason, for a warning.
    Unusable(String),
}

/// Loads saved progress and tells whether it belongs to this very lab file.
pub fn load(owner: Owner<'_>, lab: &Lab) -> Option<Saved> {
    let path = path(owner);
    // Read like any untrusted file: bounded, regular files only.
    let bytes = match tplab_report::bounded::read_regular(&path, state_dir::MAX_STATE_FILE) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Saved::Unusable(format!("{}: {e}", path.display()))),
    };
    let progress: Progress = match serde_json::from_slice(&bytes) {
        Ok(p) => p,
        Err(e) => return Some(Saved::Unusable(format!("{}: {e}", path.display()))),
    };
    if progress.env != owner.env {
        return None;
    }
    let lang = tplab_vocab::Lang::from_code(Some(&lab.meta.lang));
    if let Err(why) = validate(&progress, owner, lang) {
        return Some(Saved::Unusable(format!("{}: {why}", path.display())));
    }
    if progress.lab_sha256 != lab.sha256 {
        return Some(Saved::Stale(progress));
    }
    // Same lab file: the saved report must have exactly its steps, in order.
    let same_steps = progress.report.steps.len() == lab.steps.len()
        && progress
            .report
            .steps
            .iter()
            .zip(&lab.steps)
            .all(|(r, s)| r.id == s.id);
    if !same_steps || progress.next_step > lab.steps.len() {
        return Some(Saved::Unusable(format!(
            "{}{} {}",
            path.display(),
            lang.colon(),
            lang.pick(
                "its steps do not match the lab's",
                "ses étapes ne sont pas celles du TP"
            )
        )));
    }
    Some(Saved::Current(progress))
}

/// What a progress file must satisfy before anything in it is used.
fn validate(p: &Progress, owner: Owner<'_>, lang: tplab_vocab::Lang) -> Result<(), String> {
    if p.lab_id != owner.lab_id || p.report.lab.id != owner.lab_id {
        return Err(lang.pick(
            format!("it belongs to lab `{}`", p.lab_id),
            format!("elle appartient au TP `{}`", p.lab_id),
        ));
    }
    if p.report.student.id.as_deref() != owner.student {
        return Err(lang
            .pick(
                "it belongs to another student",
                "elle appartient à un autre étudiant",
            )
            .into());
    }
    if p.report.lab.sha256 != p.lab_sha256 {
        return Err(lang
            .pick(
                "its report is for another version of the lab",
                "son rapport porte sur une autre version du TP",
            )
            .into());
    }
    if let Some(id) = &p.env_handle {
        let valid = match owner.env {
            "sandbox" => tplab_sandbox::valid_id(id),
            "kube" => crate::env::kube::kept::valid(id),
            _ => false,
        };
        if !valid {
            return Err(lang.pick(
                format!(
                    "it names an invalid {} instance `{}`",
                    owner.env,
                    id.escape_debug()
                ),
                format!(
                    "elle désigne une instance {} invalide `{}`",
                    owner.env,
                    id.escape_debug()
                ),
            ));
        }
    }
    Ok(())
}

pub fn clear(owner: Owner<'_>) {
    let path = path(owner);
    if is_inside(&state_dir::root(), &path) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(student: Option<&str>) -> Owner<'_> {
        Owner {
            lab_id: "lab",
            env: "sandbox",
            student,
        }
    }

    #[test]
    fn files_stay_in_the_state_dir_whatever_the_student_id() {
        let root = state_dir::root();
        for student in ["../../x", "/etc/passwd", "a/../../b", ".."] {
            let p = path(owner(Some(student)));
            assert!(is_inside(&root, &p), "{student}: {}", p.display());
            assert_eq!(p.parent(), Some(root.as_path()), "{student}");
            let r = reports_dir("lab", Some(student));
            assert_eq!(
                r.parent(),
                Some(root.join("reports").as_path()),
                "{student}"
            );
        }
    }
}
