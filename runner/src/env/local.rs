//! The `local` environment: commands run on this machine, in this network namespace.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

use tplab_ebpf::ObservePoint;
use tplab_probe::{FactKind, Facts, Query};

use super::{EnvError, Environment, ExecOutput, Hop, PacketStream, ensure_role, exec, inproc};

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

    async fn facts(&self) -> Result<BTreeMap<String, String>, EnvError> {
        let hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(BTreeMap::from([("hostname".to_string(), hostname)]))
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

    async fn probe(&self, role: &str, query: &Query) -> Result<Facts, EnvError> {
        ensure_role(self, role)?;
        inproc::probe(role, None, query).await
    }

    async fn probe_kinds(&self, role: &str, kinds: &[FactKind]) -> Result<Vec<Facts>, EnvError> {
        ensure_role(self, role)?;
        inproc::probe_kinds(role, None, kinds).await
    }

    async fn observe(&self, hops: &[Hop]) -> Result<Box<dyn PacketStream>, EnvError> {
        let mut points = Vec::new();
        for hop in hops {
            ensure_role(self, &hop.role)?;
            points.push(ObservePoint {
                netns: PathBuf::from("/proc/self/ns/net"),
                ifname: hop.ifname.clone(),
                label: hop.label.clone(),
            });
        }
        inproc::observe(points).await
    }

    /// Commands run in the student's own terminal: nothing to open.
    fn shell_hint(&self, _role: &str) -> String {
        String::new()
    }
}
