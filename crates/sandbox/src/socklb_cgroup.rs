//! The cgroup (v2) of a socket load-balanced sandbox: `<cgroup2>/tplab/<id>`. Its pod and
//! node role commands start in it, so the socket LB programs attached to it (by the eBPF
//! side) see their `connect()`s; teardown kills what is left in it and removes it, which
//! also detaches the programs.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::cleanup::DownReport;
use crate::error::{Result, SandboxError};
use crate::ids::valid_id;

/// Directory under the cgroup2 root holding every sandbox's cgroup.
pub const CGROUP_PARENT: &str = "tplab";

/// Where cgroup2 is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on a hybrid
/// host), from this process's mount table.
pub fn cgroup2_root() -> Option<PathBuf> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    table.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let fstype = right.split(' ').next()?;
        let mount_point = left.split(' ').nth(4)?;
        (fstype == "cgroup2").then(|| PathBuf::from(mount_point))
    })
}

/// The cgroup of sandbox `id`.
pub fn cgroup_dir(id: &str) -> Result<PathBuf> {
    if !valid_id(id) {
        return Err(SandboxError::BadId { id: id.to_string() });
    }
    let root = cgroup2_root().ok_or(SandboxError::NoCgroup2)?;
    Ok(root.join(CGROUP_PARENT).join(id))
}

/// Creates the sandbox's cgroup (idempotent).
pub(crate) fn create(id: &str) -> Result<PathBuf> {
    let dir = cgroup_dir(id)?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| SandboxError::io(format!("creating cgroup {}", dir.display()), e))?;
    Ok(dir)
}

/// Makes the child of `cmd` move itself into `dir` before it runs anything (so every
/// socket it opens belongs to the cgroup). Must be registered before the netns entry,
/// which remounts /sys.
pub(crate) fn join_in_child(cmd: &mut Command, dir: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    let procs = dir.join("cgroup.procs");
    if !procs.exists() {
        return Err(SandboxError::io(
            format!("joining cgroup {}", dir.display()),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let path = CString::new(procs.as_os_str().as_bytes())
        .map_err(|_| SandboxError::Config(format!("cgroup path {}", dir.display())))?;
    // SAFETY: open/write/close are async-signal-safe raw syscalls, fine after fork.
    unsafe {
        cmd.pre_exec(move || {
            let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // "0" moves the writing process itself.
            let written = libc::write(fd, b"0".as_ptr().cast(), 1);
            let err = std::io::Error::last_os_error();
            libc::close(fd);
            if written == 1 { Ok(()) } else { Err(err) }
        });
    }
    Ok(())
}

fn procs_left(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("cgroup.procs")).is_ok_and(|p| !p.trim().is_empty())
}

/// Kills whatever still runs in the cgroup of `id` (`cgroup.kill`), waits for it to be
/// empty, removes it (the socket LB programs attached to it go with it) and the parent
/// when nothing else is in it.
pub(crate) fn remove(id: &str, report: &mut DownReport) {
    let Ok(dir) = cgroup_dir(id) else { return };
    if !dir.exists() {
        return;
    }
    if procs_left(&dir) {
        let _ = std::fs::write(dir.join("cgroup.kill"), "1");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let result = loop {
        match std::fs::remove_dir(&dir) {
            Ok(()) => break Ok(()),
            // EBUSY while killed processes are still exiting.
            Err(e) if Instant::now() < deadline && e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => break Err(e),
        }
    };
    match result {
        Ok(()) => report.files.push(dir.clone()),
        Err(e) => report
            .errors
            .push(format!("removing cgroup {}: {e}", dir.display())),
    }
    if let Some(parent) = dir.parent() {
        // Fails while another sandbox's cgroup is there: fine.
        let _ = std::fs::remove_dir(parent);
    }
}

/// Ids of the sandbox cgroups on this machine (for `down --all` after a SIGKILL).
pub(crate) fn leftover_ids() -> Vec<String> {
    let Some(root) = cgroup2_root() else {
        return Vec::new();
    };
    std::fs::read_dir(root.join(CGROUP_PARENT))
        .map(|d| {
            d.filter_map(std::result::Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| valid_id(n))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ids_never_become_paths() {
        for bad in ["", "../x", "a/b", "AB"] {
            assert!(cgroup_dir(bad).is_err(), "{bad}");
        }
    }
}
