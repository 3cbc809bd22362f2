//! Shared plumbing of the subcommands: lab loading, environment opening, runtime.

use std::path::{Path, PathBuf};

use crate::cli::Global;
use crate::env::open::Instance;
use crate::env::{self, Environment};
use crate::error::Error;
use crate::lab::{self, Diagnostic, Lab};
use crate::ui::i18n::Lang;
use crate::ui::printer::Printer;

pub fn setup_colors(global: &Global) {
    if global.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
}

pub fn block_on<F: std::future::Future<Output = super::Result>>(f: F) -> super::Result {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?
        .block_on(f)
}

/// Runs one future to completion on a small runtime (for otherwise synchronous commands).
pub fn block_on_value<F: std::future::Future>(f: F) -> Result<F::Output, Error> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?
        .block_on(f))
}

/// A lab path: the file itself, or `DIR/lab.md`.
pub fn resolve(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("lab.md")
    } else {
        path.to_path_buf()
    }
}

/// Prints diagnostics compiler-style on stderr.
pub fn print_diagnostics(diags: &[Diagnostic]) {
    let color = console::colors_enabled_stderr();
    for d in diags {
        eprint!("{}", d.render(color));
    }
}

/// Parses and lints a lab; refuses it (after printing its errors) when it has any.
pub fn load(path: &Path) -> Result<Lab, Error> {
    let path = resolve(path);
    let parsed = lab::parse_file(&path).map_err(|source| Error::ReadLab {
        path: path.clone(),
        source,
    })?;
    let mut diags = parsed.diagnostics;
    if let Some(lab) = &parsed.lab {
        diags.extend(crate::lint::lint(lab));
    }
    let errors: Vec<Diagnostic> = diags.into_iter().filter(Diagnostic::is_error).collect();
    match parsed.lab {
        Some(lab) if errors.is_empty() => Ok(lab),
        _ => {
            print_diagnostics(&errors);
            Err(Error::LabErrors {
                path,
                count: errors.len(),
            })
        }
    }
}

/// Picks the environment: `--env`, else `sandbox` when the lab supports it, else its first.
pub fn env_name(global: &Global, lab: &Lab) -> String {
    if let Some(env) = &global.env {
        return env.clone();
    }
    let envs = &lab.meta.environments;
    if envs.iter().any(|e| e == "sandbox") {
        "sandbox".into()
    } else {
        envs.first().cloned().unwrap_or_else(|| "local".into())
    }
}

/// Whether a command needs a fresh environment or the current state of an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// `run`/`test`: a fresh sandbox unless `--sandbox ID` names one to reuse.
    Fresh,
    /// `check`: the state the student built, in an existing sandbox.
    Existing,
}

/// Opens the environment `name` for `lab` (which must support it).
pub async fn open_env(
    name: &str,
    lab: &Lab,
    global: &Global,
    need: Need,
) -> Result<Box<dyn Environment>, Error> {
    let kind = env::open::kind(name)?;
    if !lab.meta.environments.iter().any(|e| e == name) {
        return Err(Error::EnvNotSupported {
            lab: lab.meta.id.clone(),
            env: name.to_string(),
            supported: lab.meta.environments.clone(),
        });
    }
    let instance = if need == Need::Existing || global.sandbox.is_some() {
        Instance::Existing(global.sandbox.clone())
    } else {
        Instance::Fresh
    };
    let fresh = instance == Instance::Fresh;
    // A fresh sandbox has the lab's topology.
    env::lab_topology::use_lab_topology(lab.meta.sandbox.clone());
    let env = env::open::open(kind, instance, &global.kube.options()).await?;
    if fresh && let Some(handle) = env.handle() {
        let lang = Lang::from_code(Some(global.lang.as_deref().unwrap_or(&lab.meta.lang)));
        eprintln!(
            "{} {name} {handle} {}",
            console::style("tplab:").dim(),
            crate::ui::i18n::text(lang).sandbox_up
        );
    }
    Ok(env)
}

pub fn printer(global: &Global, lab: &Lab) -> Printer {
    let lang = Lang::from_code(Some(global.lang.as_deref().unwrap_or(&lab.meta.lang)));
    Printer::new(global.json, lang)
}

pub fn identity(global: &Global) -> crate::session::Identity {
    crate::session::Identity {
        student: global.student.clone(),
        nonce: global.nonce.clone(),
        lang: global.lang.as_deref().map(|l| Lang::from_code(Some(l))),
    }
}

/// Writes the report if `--report DIR` was given.
pub fn write_report(
    global: &Global,
    recorder: &mut crate::session::record::Recorder,
) -> Result<Option<PathBuf>, Error> {
    recorder.finish();
    global
        .report
        .as_ref()
        .map(|dir| write_report_into(recorder, dir))
        .transpose()
}

/// Writes the (finished) report into `dir`.
pub fn write_report_into(
    recorder: &crate::session::record::Recorder,
    dir: &Path,
) -> Result<PathBuf, Error> {
    recorder.write(dir).map_err(|source| Error::WriteReport {
        dir: dir.to_path_buf(),
        source,
    })
}
