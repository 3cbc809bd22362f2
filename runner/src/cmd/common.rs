//! Shared plumbing of the subcommands: lab loading, environment opening, runtime.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::status;
use crate::cli::Global;
use crate::env::open::Instance;
use crate::env::{self, Environment};
use crate::lab::{self, Diagnostic, Lab};
use crate::ui::i18n::Lang;
use crate::ui::printer::Printer;

pub fn setup_colors(global: &Global) {
    if global.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
}

pub fn block_on<F: std::future::Future<Output = anyhow::Result<u8>>>(f: F) -> anyhow::Result<u8> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(f)
}

/// Runs one future to completion on a small runtime (for otherwise synchronous commands).
pub fn block_on_value<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
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

/// Parses and lints a lab; refuses (exit 2) when it has errors.
pub fn load(path: &Path) -> Result<Lab, u8> {
    let path = resolve(path);
    let parsed = match lab::parse_file(&path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!(
                "{} cannot read {}: {e}",
                console::style("error:").red().bold(),
                path.display()
            );
            return Err(status::USAGE);
        }
    };
    let mut diags = parsed.diagnostics;
    if let Some(lab) = &parsed.lab {
        diags.extend(crate::lint::lint(lab));
    }
    let errors: Vec<Diagnostic> = diags.into_iter().filter(Diagnostic::is_error).collect();
    if !errors.is_empty() || parsed.lab.is_none() {
        print_diagnostics(&errors);
        eprintln!(
            "{} {} has {} error(s); run `tplab lint {}` for details",
            console::style("error:").red().bold(),
            path.display(),
            errors.len(),
            path.display()
        );
        return Err(status::USAGE);
    }
    Ok(parsed.lab.expect("checked"))
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
) -> anyhow::Result<Box<dyn Environment>> {
    let kind = env::open::kind(name)?;
    if !lab.meta.environments.iter().any(|e| e == name) {
        bail!(
            "lab `{}` does not support environment `{name}` (it supports: {})",
            lab.meta.id,
            lab.meta.environments.join(", ")
        );
    }
    let instance = if need == Need::Existing || global.sandbox.is_some() {
        Instance::Existing(global.sandbox.clone())
    } else {
        Instance::Fresh
    };
    let fresh = instance == Instance::Fresh;
    let env = env::open::open(kind, instance).await?;
    if fresh && let Some(handle) = env.handle() {
        let lang = Lang::from_code(global.lang.as_deref().unwrap_or(&lab.meta.lang));
        eprintln!(
            "{} {name} {handle} {}",
            console::style("tplab:").dim(),
            crate::ui::i18n::text(lang).sandbox_up
        );
    }
    Ok(env)
}

pub fn printer(global: &Global, lab: &Lab) -> Printer {
    let lang = Lang::from_code(global.lang.as_deref().unwrap_or(&lab.meta.lang));
    Printer::new(global.json, lang)
}

pub fn identity(global: &Global) -> crate::session::Identity {
    crate::session::Identity {
        student: global.student.clone(),
        nonce: global.nonce.clone(),
    }
}

/// Writes the report if `--report DIR` was given.
pub fn write_report(
    global: &Global,
    recorder: &mut crate::session::record::Recorder,
) -> anyhow::Result<Option<PathBuf>> {
    recorder.finish();
    match &global.report {
        Some(dir) => Ok(Some(recorder.write(dir).with_context(|| {
            format!("writing the report into {}", dir.display())
        })?)),
        None => Ok(None),
    }
}
