//! What every request handler shares: the sandbox id, the cluster's identity, the audit
//! log, the store of created pods and the fault modes.

use tplab_sandbox::SandboxState;

use crate::audit::Audit;
use crate::faults::Faults;
use crate::identity::Identity;
use crate::status::ApiError;
use crate::store::Store;

pub struct Ctx {
    pub id: String,
    pub identity: Identity,
    pub port: u16,
    pub audit: Audit,
    pub store: Store,
    pub faults: Faults,
    /// Held while the sandbox's state changes (adding or removing a pod).
    pub sandbox_ops: tokio::sync::Mutex<()>,
    /// Exec and attach sessions into created pods, ended when their pod is deleted.
    pub sessions: crate::sessions::Sessions,
}

impl Ctx {
    /// The sandbox's state now (read on each request: pods may have been added).
    pub fn state(&self) -> Result<SandboxState, ApiError> {
        let path =
            crate::paths::state_file(&self.id).map_err(|e| ApiError::internal(&e.to_string()))?;
        let bytes = std::fs::read(&path).map_err(|e| {
            ApiError::internal(&format!("the sandbox's state ({}): {e}", path.display()))
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::internal(&format!("the sandbox's state: {e}")))
    }
}
