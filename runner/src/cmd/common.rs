//! Shared plumbing of the subcommands: lab loading, environment opening, runtime.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::status;
use crate::cli::Global;
use crate::env::{Environment, local::LocalEnv, sandbox::SandboxEnv};
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

/// Opens an environment by name.
pub async fn open_env(
    name: &str,
    lab: &Lab,
    global: &Global,
    need: Need,
) -> anyhow::Result<Box<dyn Environment>> {
    if !lab.meta.environments.iter().any(|e| e == name) {
        bail!(
            "lab `{}` does not support environment `{name}` (it supports: {})",
            lab.meta.id,
            lab.meta.environments.join(", ")
        );
    }
    match name {
        "local" => {
            // No sandbox to tear down, but Ctrl-C / SIGTERM must still kill the running
            // lab command's process group (it is not ours to inherit the signal from).
            crate::env::sandbox::install_signal_cleanup()?;
            Ok(Box::new(LocalEnv))
        }
        "sandbox" => {
            if need == Need::Existing || global.sandbox.is_some() {
                return Ok(Box::new(SandboxEnv::existing(global.sandbox.as_deref())?));
            }
            crate::env::sandbox::install_signal_cleanup()?;
            let env = SandboxEnv::create().await?;
            let lang = Lang::from_code(global.lang.as_deref().unwrap_or(&lab.meta.lang));
            eprintln!(
                "{} sandbox {} {}",
                console::style("tplab:").dim(),
                env.id(),
                crate::ui::i18n::text(lang).sandbox_up
            );
            Ok(Box::new(env))
        }
        other => bail!("environment `{other}` is not available in this build of tplab"),
    }
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
