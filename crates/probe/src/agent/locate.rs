//! Finding the network namespace a query targets: a path, a process's, or the one
//! holding an address — found by scanning the node's namespaces (`/run/netns/*` and
//! every `/proc/PID/ns/net`), each namespace read once however many files name it.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use super::{AgentError, ErrorCode, Target};
use crate::facts::{FactKind, Facts};

/// Where the agent looks for namespaces when a query names an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRoots(Vec<PathBuf>);

impl Default for ScanRoots {
    /// Named namespaces first (their names are stable), then every process's.
    fn default() -> Self {
        Self(vec!["/run/netns/".into(), "/proc".into()])
    }
}

impl ScanRoots {
    /// Each root is `/proc` (every process's `ns/net`) or a path prefix: the namespace
    /// files of its directory whose path starts with it (`/run/netns/` for all named
    /// ones, `/run/netns/tplab-ab12-` for one sandbox's).
    pub fn new(roots: Vec<PathBuf>) -> Self {
        if roots.is_empty() {
            Self::default()
        } else {
            Self(roots)
        }
    }

    /// The candidate namespace files, one per distinct namespace (by device and inode).
    pub fn candidates(&self) -> Vec<PathBuf> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for root in &self.0 {
            for path in files_under(root) {
                if let Ok(meta) = std::fs::metadata(&path)
                    && seen.insert((meta.dev(), meta.ino()))
                {
                    out.push(path);
                }
            }
        }
        out
    }
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    if root == Path::new("/proc") {
        let Ok(dir) = std::fs::read_dir(root) else {
            return Vec::new();
        };
        let mut pids: Vec<u32> = dir
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        pids.sort_unstable();
        return pids
            .into_iter()
            .map(|pid| PathBuf::from(format!("/proc/{pid}/ns/net")))
            .collect();
    }
    let text = root.as_os_str().to_string_lossy();
    let (dir, prefix) = if text.ends_with('/') {
        (root.to_path_buf(), String::new())
    } else {
        let dir = root.parent().unwrap_or(Path::new("/")).to_path_buf();
        let prefix = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        (dir, prefix)
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// Resolves targets for a session: an address found once is looked for in the same
/// namespace first (one address dump), the node rescanned only when it moved.
pub struct Locator<'a> {
    roots: &'a ScanRoots,
    by_ip: BTreeMap<IpAddr, PathBuf>,
}

impl<'a> Locator<'a> {
    pub fn new(roots: &'a ScanRoots) -> Self {
        Self {
            roots,
            by_ip: BTreeMap::new(),
        }
    }

    /// The namespace file to read (`None`: the agent's own namespace).
    pub fn resolve(&mut self, target: &Target) -> Result<Option<PathBuf>, AgentError> {
        match target {
            Target::Own => Ok(None),
            Target::Path(p) => existing(p.clone()).map(Some),
            Target::Pid(pid) => existing(PathBuf::from(format!("/proc/{pid}/ns/net"))).map(Some),
            Target::PodIp(ip) => {
                if let Some(known) = self.by_ip.get(ip)
                    && holds(known, *ip)
                {
                    return Ok(Some(known.clone()));
                }
                let found = find_by_ip(self.roots, *ip)?;
                self.by_ip.insert(*ip, found.clone());
                Ok(Some(found))
            }
        }
    }
}

fn existing(path: PathBuf) -> Result<PathBuf, AgentError> {
    match std::fs::metadata(&path) {
        Ok(_) => Ok(path),
        Err(e) => Err(AgentError::new(
            ErrorCode::Netns,
            format!("network namespace {}: {e}", path.display()),
        )),
    }
}

/// The one namespace holding `ip` on a non-loopback interface.
fn find_by_ip(roots: &ScanRoots, ip: IpAddr) -> Result<PathBuf, AgentError> {
    let candidates = roots.candidates();
    let scanned = candidates.len();
    let holders: Vec<PathBuf> = candidates.into_iter().filter(|ns| holds(ns, ip)).collect();
    match holders.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(AgentError::new(
            ErrorCode::Netns,
            format!(
                "no network namespace of this node holds {ip} ({scanned} scanned): is the pod \
                 on this node and running?"
            ),
        )),
        many => Err(AgentError::new(
            ErrorCode::Netns,
            format!(
                "{ip} is held by {} network namespaces ({}): name one by path or pid",
                many.len(),
                many.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Whether `ns` has `ip` on an interface other than loopback (a namespace that cannot
/// be read — its process just exited — holds nothing).
fn holds(ns: &Path, ip: IpAddr) -> bool {
    let Ok(facts) = crate::collect::collect_many_sync(Some(ns), &[FactKind::Addresses]) else {
        return false;
    };
    facts.iter().any(|f| match f {
        Facts::Addresses(addrs) => addrs
            .iter()
            .any(|a| a.ifname != "lo" && a.address.parse::<IpAddr>() == Ok(ip)),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_select_files_of_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["tplab-ab-pod", "tplab-ab-node", "tplab-cd-pod"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let prefix = dir.path().join("tplab-ab-");
        let mut names: Vec<String> = files_under(&prefix)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["tplab-ab-node", "tplab-ab-pod"]);
        let all = format!("{}/", dir.path().display());
        assert_eq!(files_under(Path::new(&all)).len(), 3);
    }

    #[test]
    fn one_namespace_named_twice_is_one_candidate() {
        // This process's netns through /proc/self and through its pid: one inode.
        let roots = ScanRoots::new(vec![
            PathBuf::from("/proc/self/ns/ne"),
            PathBuf::from(format!("/proc/{}/ns/ne", std::process::id())),
        ]);
        assert_eq!(roots.candidates().len(), 1);
    }

    #[test]
    fn missing_paths_are_netns_errors() {
        let roots = ScanRoots::default();
        let mut loc = Locator::new(&roots);
        let err = loc
            .resolve(&Target::Path("/run/netns/tplab-none-such".into()))
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Netns);
        assert!(err.message.contains("tplab-none-such"), "{}", err.message);
        assert_eq!(loc.resolve(&Target::Own).unwrap(), None);
    }
}
