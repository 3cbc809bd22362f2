//! The `local` environment: commands run on this machine, in this network namespace.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

use super::{EnvError, Environment, ExecOutput, ensure_role, exec};

#[derive(Debug, Default)]
pub struct LocalEnv;

#[async_trait]
impl Environment for LocalEnv {
    fn name(&self) -> &'static str {
        "local"
    }

    fn roles(&self) -> Vec<String> {
        vec!["local".into()]
    }

    fn facts(&self) -> BTreeMap<String, String> {
        let hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        BTreeMap::from([("hostname".to_string(), hostname)])
    }

    async fn exec(
        &self,
        role: &str,
        script: &str,
        timeout: Duration,
    ) -> Result<ExecOutput, EnvError> {
        ensure_role(self, role)?;
        exec::run(exec::shell(script), timeout)
            .await
            .map_err(|source| EnvError::Spawn {
                role: role.to_string(),
                command: script.lines().next().unwrap_or_default().to_string(),
                source,
            })
    }

    fn netns(&self, role: &str) -> Result<Option<PathBuf>, EnvError> {
        ensure_role(self, role)?;
        Ok(None)
    }

    /// Commands run in the student's own terminal: nothing to open.
    fn shell_hint(&self, _role: &str) -> String {
        String::new()
    }
}
