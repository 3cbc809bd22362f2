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
    /// The node it runs on, 1-based (absent in older files: node 1).
    #[serde(default = "first_node")]
    pub node: usize,
}

fn first_node() -> usize {
    1
}

/// A further node of a multi-node sandbox (node 1 is `node_netns`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    /// `node2`, `node3`…: its role and netns suffix.
    pub name: String,
    pub netns: String,
    pub cilium_host_mac: String,
    pub node_mac: String,
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
    /// Process that built the sandbox (informative: it may be gone; who uses a sandbox
    /// now is what holds its lock, see `lock.rs`).
    pub owner_pid: u32,
    /// User the sandbox belongs to (the user behind `sudo`, see [`crate::caller_uid`]);
    /// `None` in files written by an older tplab: nobody's, so `down --all` leaves it
    /// to `--all-users`.
    #[serde(default)]
    pub owner_uid: Option<u32>,
    pub config: SandboxConfig,
    pub node_netns: String,
    pub world_netns: String,
    pub pods: Vec<PodState>,
    pub cilium_host_mac: String,
    pub node_mac: String,
    pub daemon_pid: Option<u32>,
    /// Further daemons of the sandbox (e.g. its Kubernetes API), stopped by teardown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daemons: Vec<u32>,
    /// Nodes 2…N of a multi-node sandbox.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_nodes: Vec<NodeState>,
    /// The netns holding the private node network's bridge (multi-node only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lan_netns: Option<String>,
}

impl SandboxState {
    /// Netns of node `number` (1-based).
    pub fn node_netns_of(&self, number: usize) -> Option<&str> {
        match number {
            0 => None,
            1 => Some(&self.node_netns),
            n => self.extra_nodes.get(n - 2).map(|s| s.netns.as_str()),
        }
    }
}

pub const STATE_FORMAT: &str = "tplab.sandbox/1";

#[cfg(test)]
impl SandboxState {
    /// A state as `up` writes it for the default config (no kernel object behind it).
    pub(crate) fn example() -> Self {
        let config = SandboxConfig::default();
        let pods = config
            .pods
            .iter()
            .map(|p| PodState {
                name: p.name.clone(),
                netns: format!("tplab-ab12-{}", p.name),
                ip: p.ip,
                if_name: p.if_name.clone(),
                mac: "02:00:00:00:00:01".into(),
                lxc_name: "lxc0123456789ab".into(),
                lxc_mac: "02:00:00:00:00:02".into(),
                node: 1,
            })
            .collect();
        SandboxState {
            format: STATE_FORMAT.into(),
            id: "ab12".into(),
            phase: Phase::Up,
            created_at: chrono::Utc::now(),
            owner_pid: 1,
            owner_uid: Some(0),
            config,
            node_netns: "tplab-ab12-node".into(),
            world_netns: "tplab-ab12-world".into(),
            pods,
            cilium_host_mac: "02:00:00:00:00:03".into(),
            node_mac: "02:00:00:00:00:04".into(),
            daemon_pid: None,
            daemons: Vec::new(),
            extra_nodes: Vec::new(),
            lan_netns: None,
        }
    }
}

/// `id` itself when it is a valid sandbox id: ids come from files, argv and progress
/// files, and end up in path joins (`../../x` must never reach one).
pub(crate) fn checked(id: &str) -> Result<&str> {
    if crate::ids::valid_id(id) {
        Ok(id)
    } else {
        Err(SandboxError::BadId { id: id.to_string() })
    }
}

pub fn state_path(id: &str) -> Result<PathBuf> {
    Ok(Path::new(STATE_DIR).join(format!("{}.json", checked(id)?)))
}

/// Per-sandbox directory (role bin dirs) beside the state file.
pub fn sandbox_dir(id: &str) -> Result<PathBuf> {
    Ok(Path::new(STATE_DIR).join(checked(id)?))
}

/// Creates the state file exclusively: the atomic reservation of an id.
pub(crate) fn reserve(state: &SandboxState) -> Result<()> {
    std::fs::create_dir_all(STATE_DIR)
        .map_err(|e| SandboxError::io(format!("creating {STATE_DIR}"), e))?;
    let path = state_path(&state.id)?;
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
        path: state_path(&state.id).unwrap_or_default(),
        message: e.to_string(),
    })
}

/// Rewrites the state atomically (write + rename) so readers never see half a file.
pub(crate) fn save(state: &SandboxState) -> Result<()> {
    let path = state_path(&state.id)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, to_json(state)?)
        .map_err(|e| SandboxError::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, &path)
        .map_err(|e| SandboxError::io(format!("renaming {}", tmp.display()), e))
}

/// Reads `<id>.json`; its own `id` must be the one its name says (a copied or edited
/// file must not make teardown act on another sandbox).
pub fn load(id: &str) -> Result<SandboxState> {
    let path = state_path(id)?;
    let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SandboxError::NotFound {
            id: id.to_string(),
            path: path.clone(),
        },
        _ => SandboxError::io(format!("reading {}", path.display()), e),
    })?;
    parse(id, path, &bytes)
}

fn parse(id: &str, path: PathBuf, bytes: &[u8]) -> Result<SandboxState> {
    let state: SandboxState = serde_json::from_slice(bytes).map_err(|e| SandboxError::State {
        path: path.clone(),
        message: e.to_string(),
    })?;
    if state.id != id {
        return Err(SandboxError::State {
            path,
            message: format!("it names sandbox `{}`, not `{id}`", state.id),
        });
    }
    Ok(state)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_ids_are_refused_before_any_path_join() {
        for bad in [
            "",
            "../../../tmp/victim",
            "../x",
            "a/b",
            "AB",
            ".",
            "0123456789abc",
        ] {
            assert!(
                matches!(checked(bad), Err(SandboxError::BadId { .. })),
                "{bad}"
            );
            assert!(state_path(bad).is_err(), "{bad}");
            assert!(sandbox_dir(bad).is_err(), "{bad}");
            assert!(
                matches!(load(bad), Err(SandboxError::BadId { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            state_path("ab12").unwrap(),
            Path::new("/run/tplab/sandboxes/ab12.json")
        );
    }

    #[test]
    fn a_state_file_must_name_its_own_id() {
        let st = SandboxState {
            format: STATE_FORMAT.into(),
            id: "other1".into(),
            phase: Phase::Up,
            created_at: chrono::Utc::now(),
            owner_pid: 1,
            owner_uid: Some(0),
            config: SandboxConfig::default(),
            node_netns: "tplab-other1-node".into(),
            world_netns: "tplab-other1-world".into(),
            pods: Vec::new(),
            cilium_host_mac: String::new(),
            node_mac: String::new(),
            daemon_pid: None,
            daemons: Vec::new(),
            extra_nodes: Vec::new(),
            lan_netns: None,
        };
        let bytes = to_json(&st).unwrap();
        let err = parse("ab12", PathBuf::from("ab12.json"), &bytes).unwrap_err();
        assert!(err.to_string().contains("names sandbox `other1`"), "{err}");
        assert_eq!(parse("other1", PathBuf::new(), &bytes).unwrap(), st);
        // Files of an older tplab have no owner: read as `None`, not refused.
        let mut old: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        old.as_object_mut().unwrap().remove("owner_uid");
        let old = parse("other1", PathBuf::new(), &serde_json::to_vec(&old).unwrap()).unwrap();
        assert_eq!(old.owner_uid, None);
    }
}
