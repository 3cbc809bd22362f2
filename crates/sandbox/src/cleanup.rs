//! Teardown of one sandbox and sweeping of every leftover (`tplab sandbox down --all`),
//! including after a SIGKILL: state files, `tplab-*` netns, daemons, bpffs pin dirs.
//! Removing a netns removes everything inside it (links, routes, iptables rules).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::daemon;
use crate::ids::{NETNS_PREFIX, id_of_netns};
use crate::state::{self, BPF_PIN_DIR};

/// What a teardown removed, and what it could not.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct DownReport {
    pub sandboxes: Vec<String>,
    pub netns: Vec<String>,
    pub processes: Vec<u32>,
    pub files: Vec<PathBuf>,
    pub errors: Vec<String>,
}

impl DownReport {
    pub fn is_empty(&self) -> bool {
        self.sandboxes.is_empty()
            && self.netns.is_empty()
            && self.processes.is_empty()
            && self.files.is_empty()
    }

    fn merge(&mut self, other: DownReport) {
        self.sandboxes.extend(other.sandboxes);
        self.netns.extend(other.netns);
        self.processes.extend(other.processes);
        self.files.extend(other.files);
        self.errors.extend(other.errors);
    }
}

impl std::fmt::Display for DownReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() && self.errors.is_empty() {
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
        for e in &self.errors {
            writeln!(f, "error: {e}")?;
        }
        Ok(())
    }
}

/// Removes everything of sandbox `id`, whatever state it is in. Never fails: what could
/// not be removed is listed in `errors`.
pub fn teardown(id: &str) -> DownReport {
    let t0 = std::time::Instant::now();
    let mut report = DownReport::default();
    let recorded = state::load(id).ok().and_then(|s| s.daemon_pid);
    // Daemons first: their listening socket would keep the world netns alive.
    let mut pids: BTreeSet<u32> = recorded.into_iter().collect();
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
    for ns in tplab_netns::list()
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
    {
        match tplab_netns::delete(&ns) {
            Ok(()) => report.netns.push(ns),
            Err(e) => report.errors.push(format!("deleting netns {ns}: {e}")),
        }
    }
    crate::trace::mark(t0, "netns deleted");
    for path in [
        Path::new(BPF_PIN_DIR).join(id),
        state::sandbox_dir(id),
        state::state_path(id),
        state::state_path(id).with_extension("json.tmp"),
    ] {
        remove_path(&path, &mut report);
    }
    if !report.is_empty() {
        report.sandboxes.push(id.to_string());
    }
    crate::signals::forget(id);
    crate::trace::mark(t0, "files removed");
    report
}

fn remove_path(path: &Path, report: &mut DownReport) {
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

/// Every sandbox id with a leftover of any kind, restricted to ids starting with `prefix`.
fn leftover_ids(prefix: &str) -> BTreeSet<String> {
    let mut ids: BTreeSet<String> = state::ids_on_disk().into_iter().collect();
    ids.extend(
        tplab_netns::list()
            .iter()
            .filter_map(|n| id_of_netns(n).map(str::to_string)),
    );
    ids.extend(daemon::scan().into_iter().map(|(_, id)| id));
    if let Ok(dir) = std::fs::read_dir(BPF_PIN_DIR) {
        ids.extend(
            dir.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| crate::ids::valid_id(n)),
        );
    }
    if let Ok(dir) = std::fs::read_dir(state::STATE_DIR) {
        ids.extend(
            dir.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| crate::ids::valid_id(n)),
        );
    }
    ids.retain(|id| id.starts_with(prefix));
    ids
}

/// Removes every sandbox whose id starts with `prefix` (tests use it to stay clear of
/// sandboxes other tests run at the same time).
pub fn down_matching(prefix: &str) -> DownReport {
    let mut report = DownReport::default();
    for id in leftover_ids(prefix) {
        report.merge(teardown(&id));
    }
    report
}

/// Removes every leftover of every sandbox, including `tplab-*` netns that follow no
/// sandbox naming (a SIGKILL during creation, an older version).
pub fn down_all() -> DownReport {
    let mut report = down_matching("");
    for ns in tplab_netns::list()
        .into_iter()
        .filter(|n| n.starts_with(NETNS_PREFIX))
    {
        match tplab_netns::delete(&ns) {
            Ok(()) => report.netns.push(ns),
            Err(e) => report.errors.push(format!("deleting netns {ns}: {e}")),
        }
    }
    report
}
