//! Environments bind a lab's roles to places where commands run and facts are read.
//! The engine only sees [`Environment`]; `local`, `sandbox` (and later `kube`) slot in.

pub mod exec;
pub mod local;
pub mod registry;
pub mod sandbox;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

pub use exec::ExecOutput;

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("environment `{env}` has no role `{role}` (it provides: {available})")]
    UnknownRole {
        env: String,
        role: String,
        available: String,
    },
    #[error("could not start `{command}` on role `{role}`: {source}")]
    Spawn {
        role: String,
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Privilege(String),
    #[error("role `{role}`: {message}")]
    Role { role: String, message: String },
    #[error("{0}")]
    Setup(String),
}

/// Where a lab runs.
#[async_trait]
pub trait Environment: Send + Sync {
    /// `local`, `sandbox`, `kube`.
    fn name(&self) -> &str;
    /// Roles this environment binds.
    fn roles(&self) -> Vec<String>;
    /// Facts exposed to templates (pod IP, gateway...).
    fn facts(&self) -> BTreeMap<String, String>;
    /// Runs `script` with `sh -c` on `role`, capturing its output, killed after `timeout`.
    async fn exec(
        &self,
        role: &str,
        script: &str,
        timeout: Duration,
    ) -> Result<ExecOutput, EnvError>;
    /// The network namespace where `role`'s kernel facts live (`None`: this process's own).
    fn netns(&self, role: &str) -> Result<Option<PathBuf>, EnvError>;
    /// How a student opens a shell on `role` in another terminal.
    fn shell_hint(&self, role: &str) -> String;
    /// What identifies this very environment instance for a later session (sandbox id).
    fn handle(&self) -> Option<String> {
        None
    }
    /// Keep the environment after this process ends (the student quit; they will resume).
    fn keep_alive(&self) {}
    /// Where the environment's eBPF datapath pins its maps (sandbox only).
    fn bpf_pin_dir(&self) -> Option<PathBuf> {
        None
    }
}

/// Checks that `role` is one of `env`'s roles.
pub fn ensure_role(env: &dyn Environment, role: &str) -> Result<(), EnvError> {
    let roles = env.roles();
    if roles.iter().any(|r| r == role) {
        Ok(())
    } else {
        Err(EnvError::UnknownRole {
            env: env.name().to_string(),
            role: role.to_string(),
            available: roles.join(", "),
        })
    }
}

/// How a person invokes this very tplab from another terminal: `tplab` when that is
/// what PATH finds, else the binary's full path (e.g. after `cargo run`).
pub fn self_invocation() -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "tplab".into();
    };
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::canonicalize(dir.join("tplab"))
                .is_ok_and(|p| std::fs::canonicalize(&exe).is_ok_and(|e| e == p))
        })
    });
    if on_path {
        "tplab".into()
    } else {
        exe.display().to_string()
    }
}
