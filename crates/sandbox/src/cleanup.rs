//! Teardown of one sandbox and sweeping of every leftover (`tplab sandbox down --all`),
//! including after a SIGKILL: state files, `tplab-*` netns, daemons, bpffs pin dirs.
//! Removing a netns removes everything inside it (links, routes, iptables rules).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::daemon;
use crate::ids::NETNS_PREFIX;
use crate::state::{self, BPF_PIN_DIR, STATE_DIR};

/// What a teardown removed, and what it could not.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct DownReport {
    pub sandboxes: Vec<String>,
    pub netns: Vec<String>,
    pub processes: Vec<u32>,
    pub files: Vec<PathBuf>,
    pub errors: Vec<String>,
    /// Sandboxes `down` left alone, and why (in use, someone else's).
    pub skipped: Vec<Skipped>,
}

/// A sandbox `down` did not remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub id: String,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SkipReason {
    /// Processes hold its lock: a tplab is building or using it (pids from /proc/locks).
    InUse { pids: Vec<u32> },
    /// Owned by another user (`None`: written by a tplab that did not record owners).
    Owner { uid: Option<u32> },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::InUse { pids } if pids.is_empty() => write!(f, "in use"),
            SkipReason::InUse { pids } => {
                let pids: Vec<String> = pids.iter().map(ToString::to_string).collect();
                write!(f, "in use by pid {}", pids.join(", "))
            }
            SkipReason::Owner { uid: Some(uid) } => write!(f, "owned by uid {uid}"),
            SkipReason::Owner { uid: None } => {
                write!(f, "owner unknown (made by an older tplab)")
            }
        }
    }
}

impl DownReport {
    pub fn is_empty(&self) -> bool {
        self.sandboxes.is_empty()
            && self.netns.is_empty()
            && self.processes.is_empty()
            && self.files.is_empty()
    }

    pub(crate) fn merge(&mut self, other: DownReport) {
        self.sandboxes.extend(other.sandboxes);
        self.netns.extend(other.netns);
        self.processes.extend(other.processes);
        self.files.extend(other.files);
        self.errors.extend(other.errors);
        self.skipped.extend(other.skipped);
    }
}

impl std::fmt::Display for DownReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() && self.errors.is_empty() && self.skipped.is_empty() {
            return writeln!(f, "nothing to remove");
        }
        for id in &self.sandboxes {
            writeln!(f, "removed sandbox {id}")?;
        }
        for ns in &self.netns {
            writeln!(f, "  netns {ns}")?;
        }
        for pid in &self.processes {
            writeln!(f, "  process {pid}")?;
        }
        for file in &self.files {
            writeln!(f, "  {}", file.display())?;
        }
        for s in &self.skipped {
            writeln!(f, "skipped sandbox {}: {}", s.id, s.reason)?;
        }
        for e in &self.errors {
            writeln!(f, "error: {e}")?;
        }
        Ok(())
    }
}

/// Removes everything of sandbox `id`, whatever state it is in and whoever uses it (the
/// policy of `down --all` is in `sweep.rs`). Never fails: what could not be removed is
/// listed in `errors`; an invalid id is refused before any path is built from it.
pub fn teardown(id: &str) -> DownReport {
    let t0 = std::time::Instant::now();
    let mut report = DownReport::default();
    if let Err(e) = state::checked(id) {
        report.errors.push(format!("refusing to tear down: {e}"));
        return report;
    }
    let recorded = state::load(id).ok();
    // Daemons first: their listening socket would keep the world netns alive.
    let mut pids: BTreeSet<u32> = recorded
        .iter()
        .flat_map(|s| s.daemon_pid.into_iter().chain(s.daemons.iter().copied()))
        .collect();
    if pids.is_empty() {
        // No recorded pid (killed between spawn and save, or no state): look in /proc.
        pids.extend(
            daemon::scan()
                .into_iter()
                .filter(|(_, d)| d == id)
                .map(|(p, _)| p),
        );
    }
    for pid in pids {
        if daemon::stop(pid, id) {
            report.processes.push(pid);
        }
    }
    crate::trace::mark(t0, "daemon stopped");
    let prefix = format!("{NETNS_PREFIX}{id}-");
    let netns: Vec<String> = tplab_netns::list()
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect();
    delete_netns(&netns, &mut report);
    crate::trace::mark(t0, "netns deleted");
    // After the netns' processes are gone; removing it detaches the socket LB programs.
    crate::socklb_cgroup::remove(id, &mut report);
    let paths = [
        Ok(Path::new(BPF_PIN_DIR).join(id)),
        state::sandbox_dir(id),
        state::state_path(id),
        state::state_path(id).map(|p| p.with_extension("json.tmp")),
        crate::lock::lock_path(id),
    ];
    for path in paths.into_iter().flatten() {
        remove_path(&path, &mut report);
    }
    if !report.is_empty() {
        report.sandboxes.push(id.to_string());
    }
    crate::signals::forget(id);
    crate::trace::mark(t0, "files removed");
    report
}

/// Ends the processes inside `names` (found by netns inode, so only while the netns
/// files exist), then deletes the netns.
pub(crate) fn delete_netns(names: &[String], report: &mut DownReport) {
    let files: Vec<PathBuf> = names.iter().map(|n| tplab_netns::path_of(n)).collect();
    let (pids, errors) = crate::reap::reap(&files);
    report.processes.extend(pids);
    report.errors.extend(errors);
    for ns in names {
        match tplab_netns::delete(ns) {
            Ok(()) => report.netns.push(ns.clone()),
            Err(e) => report.errors.push(format!("deleting netns {ns}: {e}")),
        }
    }
}

/// Teardown only ever removes what lies strictly inside tplab's own directories
/// (defence in depth: a path built from a bad id must not reach `remove_dir_all`).
fn removable(path: &Path) -> bool {
    let plain = path
        .components()
        .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
    plain
        && [STATE_DIR, BPF_PIN_DIR]
            .iter()
            .any(|root| path.starts_with(root) && path != Path::new(root))
}

fn remove_path(path: &Path, report: &mut DownReport) {
    if !removable(path) {
        report.errors.push(format!(
            "refusing to remove {}: not inside {STATE_DIR} or {BPF_PIN_DIR}",
            path.display()
        ));
        return;
    }
    let result = match std::fs::symlink_metadata(path) {
        Err(_) => return,
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    };
    match result {
        Ok(()) => report.files.push(path.to_path_buf()),
        Err(e) => report
            .errors
            .push(format!("removing {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_inside_our_dirs_are_removable() {
        assert!(removable(Path::new("/run/tplab/sandboxes/ab12.json")));
        assert!(removable(Path::new("/run/tplab/sandboxes/ab12")));
        assert!(removable(Path::new("/sys/fs/bpf/tplab/ab12")));
        for bad in [
            "/run/tplab/sandboxes",
            "/run/tplab/sandboxes/../../../tmp/victim",
            "/tmp/victim",
            "run/tplab/sandboxes/x",
            "/sys/fs/bpf/tplabx",
        ] {
            assert!(!removable(Path::new(bad)), "{bad}");
        }
    }

    #[test]
    fn teardown_of_a_bad_id_removes_nothing() {
        // A directory a path join with `../../x` would reach from STATE_DIR.
        let victim = std::env::temp_dir().join(format!("tplab-victim-{}", std::process::id()));
        std::fs::create_dir_all(&victim).unwrap();
        let id = format!("../../..{}", victim.display());
        for bad in [id.as_str(), "../../x", "", "AB", "a/b", "toolongid12345"] {
            let report = teardown(bad);
            assert!(report.is_empty(), "{bad}: {report}");
            assert!(
                report
                    .errors
                    .iter()
                    .any(|e| e.contains("invalid sandbox id")),
                "{bad}: {report:?}"
            );
        }
        assert!(victim.exists(), "teardown removed {}", victim.display());
        std::fs::remove_dir_all(&victim).unwrap();
    }
}
