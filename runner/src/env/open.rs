//! Opening an environment: a fresh one, the one a student is using, or the one an
//! earlier session kept (resume). Commands never build an environment themselves.

use super::local::LocalEnv;
use super::registry::EnvKind;
use super::sandbox::SandboxEnv;
use super::{EnvError, Environment};

/// Which instance of the environment a command wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instance {
    /// `run`/`test`: a fresh one, torn down at the end.
    Fresh,
    /// `check`, `probe`, `trace`, `cilium`: the state the student built, in an existing
    /// instance (`Some(id)`, or the only one up).
    Existing(Option<String>),
    /// Resuming: the instance an earlier session kept, torn down at the end.
    Adopt(String),
}

/// Opens environment `kind` (`kube`: the cluster `kube` says).
pub async fn open(
    kind: EnvKind,
    instance: Instance,
    kube: &super::kube::KubeOptions,
) -> Result<Box<dyn Environment>, EnvError> {
    match kind {
        EnvKind::Local => {
            // No sandbox to tear down, but Ctrl-C / SIGTERM must still kill the running
            // lab command's process group (it is not ours to inherit the signal from).
            super::sandbox::install_signal_cleanup()?;
            Ok(Box::new(LocalEnv::default()))
        }
        EnvKind::Sandbox => {
            let env = open_sandbox(instance).await?;
            if facts_via_agent()? {
                Ok(Box::new(super::agent::AgentEnv::over_sandbox(env).await?))
            } else {
                Ok(Box::new(env))
            }
        }
        // Boxed: its many API round trips make a large future.
        EnvKind::Kube => Box::pin(super::kube::open(kube, &instance)).await,
    }
}

/// Opens the sandbox environment itself (commands that need the sandbox's own parts).
pub async fn open_sandbox(instance: Instance) -> Result<SandboxEnv, EnvError> {
    match instance {
        Instance::Existing(id) => SandboxEnv::existing(id.as_deref()),
        Instance::Adopt(id) => SandboxEnv::adopt(&id),
        Instance::Fresh => {
            super::sandbox::install_signal_cleanup()?;
            SandboxEnv::create().await
        }
    }
}

/// The environment `name` names, or why it cannot be one.
pub fn kind(name: &str) -> Result<EnvKind, EnvError> {
    name.parse().map_err(|_| EnvError::UnknownEnv {
        name: name.to_string(),
        known: super::registry::environments().join(", "),
    })
}

/// Whether kernel facts go through a `tplab agent` process (`TPLAB_FACTS_VIA=agent`, as
/// the kube environment reads its node) rather than this process (`inproc`, default).
fn facts_via_agent() -> Result<bool, EnvError> {
    match std::env::var("TPLAB_FACTS_VIA").as_deref() {
        Err(_) | Ok("" | "inproc") => Ok(false),
        Ok("agent") => Ok(true),
        Ok(other) => Err(EnvError::Unsupported {
            env: "sandbox".into(),
            what: format!("facts source `{other}` (TPLAB_FACTS_VIA: `inproc` or `agent`)"),
        }),
    }
}
