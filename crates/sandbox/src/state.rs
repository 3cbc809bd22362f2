//! The state file of each sandbox (`/run/tplab/sandboxes/<id>.json`), written before any
//! kernel object exists and updated as the build goes, so a later process (or `down --all`
//! after a SIGKILL) knows what to remove.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::SandboxConfig;
use crate::error::{Result, SandboxError};

/// Where state files live (tmpfs: a reboot forgets sandboxes, as it forgets their netns).
pub const STATE_DIR: &str = "/run/tplab/sandboxes";
/// Where eBPF pieces of a sandbox are pinned (by other crates), removed on teardown.
pub const BPF_PIN_DIR: &str = "/sys/fs/bpf/tplab";

/// What the kernel holds for one pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodState {
    pub name: String,
    pub netns: String,
    pub ip: std::net::Ipv4Addr,
    pub if_name: String,
    pub mac: String,
    pub lxc_name: String,
    pub lxc_mac: String,
}

/// Build progress, so `status` can tell a half-built sandbox from a ready one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Building,
    Up,
}

/// Contents of `<id>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxState {
    pub format: String,
    pub id: String,
    pub phase: Phase,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Process that built the sandbox (informative: it may be gone).
    pub owner_pid: u32,
    pub config: SandboxConfig,
    pub node_netns: String,
    pub world_netns: String,
    pub pods: Vec<PodState>,
    pub cilium_host_mac: String,
    pub node_mac: String,
    pub daemon_pid: Option<u32>,
}

pub const STATE_FORMAT: &str = "tplab.sandbox/1";

pub fn state_path(id: &str) -> PathBuf {
    Path::new(STATE_DIR).join(format!("{id}.json"))
}

/// Per-sandbox directory (role bin dirs) beside the state file.
pub fn sandbox_dir(id: &str) -> PathBuf {
    Path::new(STATE_DIR).join(id)
}

/// Creates the state file exclusively: the atomic reservation of an id.
pub(crate) fn reserve(state: &SandboxState) -> Result<()> {
    std::fs::create_dir_all(STATE_DIR)
        .map_err(|e| SandboxError::io(format!("creating {STATE_DIR}"), e))?;
    let path = state_path(&state.id);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path);
    match file {
        Ok(mut f) => f
            .write_all(&to_json(state)?)
            .map_err(|e| SandboxError::io(format!("writing {}", path.display()), e)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(SandboxError::IdTaken {
            id: state.id.clone(),
        }),
        Err(e) => Err(SandboxError::io(format!("creating {}", path.display()), e)),
    }
}

fn to_json(state: &SandboxState) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(state).map_err(|e| SandboxError::State {
        path: state_path(&state.id),
        message: e.to_string(),
    })
}

/// Rewrites the state atomically (write + rename) so readers never see half a file.
pub(crate) fn save(state: &SandboxState) -> Result<()> {
    let path = state_path(&state.id);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, to_json(state)?)
        .map_err(|e| SandboxError::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, &path)
        .map_err(|e| SandboxError::io(format!("renaming {}", tmp.display()), e))
}

pub fn load(id: &str) -> Result<SandboxState> {
    let path = state_path(id);
    let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SandboxError::NotFound {
            id: id.to_string(),
            path: path.clone(),
        },
        _ => SandboxError::io(format!("reading {}", path.display()), e),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| SandboxError::State {
        path,
        message: e.to_string(),
    })
}

/// Ids of every state file present (readable or not).
pub fn ids_on_disk() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(STATE_DIR) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = dir
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".json").map(str::to_string)
        })
        .filter(|id| crate::ids::valid_id(id))
        .collect();
    ids.sort();
    ids
}
