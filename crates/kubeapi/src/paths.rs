//! Where a sandbox's API keeps its files: inside the sandbox's own directory beside its
//! state (`/run/tplab/sandboxes/<id>/`), so teardown removes them with the sandbox.

use std::path::{Path, PathBuf};

use crate::error::{KubeApiError, Result};

fn sandbox_dir(id: &str) -> Result<PathBuf> {
    if !tplab_sandbox::valid_id(id) {
        return Err(KubeApiError::Sandbox(tplab_sandbox::SandboxError::BadId {
            id: id.to_string(),
        }));
    }
    Ok(Path::new(tplab_sandbox::STATE_DIR).join(id))
}

/// `/run/tplab/sandboxes/<id>/kubeconfig` (mode 0600).
pub fn kubeconfig_path(id: &str) -> Result<PathBuf> {
    Ok(sandbox_dir(id)?.join("kubeconfig"))
}

/// The audit log, JSON lines of `audit.k8s.io/v1` `Event`s.
pub fn audit_path(id: &str) -> Result<PathBuf> {
    Ok(sandbox_dir(id)?.join("kube-audit.log"))
}

/// Certificates, keys and the cluster's identity (mode 0700).
pub fn kube_dir(id: &str) -> Result<PathBuf> {
    Ok(sandbox_dir(id)?.join("kube"))
}

/// The sandbox's state file (the daemon exits when it disappears).
pub(crate) fn state_file(id: &str) -> Result<PathBuf> {
    sandbox_dir(id)?;
    Ok(Path::new(tplab_sandbox::STATE_DIR).join(format!("{id}.json")))
}

/// The store of pods created through the API, in the kube dir.
pub const STORE_FILE: &str = "objects.json";
/// The fault modes chosen at `sandbox up`, in the kube dir.
pub const FAULTS_FILE: &str = "faults.json";
