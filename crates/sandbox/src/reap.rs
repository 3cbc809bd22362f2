//! Processes still living inside a sandbox's network namespaces (a lab's `sleep 40 &`,
//! a student's `ip netns exec` shell) are ended before the namespaces are deleted:
//! afterwards nothing names them any more and they would run on, unseen, in a deleted
//! netns. They are found by comparing `/proc/<pid>/ns/net` with the netns files
//! (device + inode), sent SIGTERM, then SIGKILL after a short grace. Signals go through
//! a pidfd opened *before* re-checking the namespace, so a recycled pid can never make
//! us signal a process outside the sandbox. The caller and its ancestors are spared.

use std::collections::BTreeSet;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

/// How long a process gets to exit after SIGTERM, before SIGKILL.
const GRACE: Duration = Duration::from_millis(300);
/// How long to wait for processes to be gone after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(2);

type NsId = (u64, u64);

fn ns_id(path: &Path) -> Option<NsId> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

fn proc_ns(pid: u32) -> Option<NsId> {
    // Fails for zombies too (their namespaces are released at exit): they count as gone.
    ns_id(&PathBuf::from(format!("/proc/{pid}/ns/net")))
}

fn parent_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// This process and its ancestors: never signalled (e.g. `tplab sandbox down` typed in
/// a shell that itself runs inside the sandbox).
fn spared() -> BTreeSet<u32> {
    let mut out = BTreeSet::from([1]);
    let mut pid = std::process::id();
    while pid > 1 && out.insert(pid) {
        match parent_of(pid) {
            Some(p) => pid = p,
            None => break,
        }
    }
    out
}

/// Pids (other than the spared ones) whose netns is one of `targets`.
fn scan(targets: &BTreeSet<NsId>, spared: &BTreeSet<u32>) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| !spared.contains(pid))
        .filter(|pid| proc_ns(*pid).is_some_and(|ns| targets.contains(&ns)))
        .collect()
}

/// A process pinned by a pidfd: its pid cannot be recycled under us.
struct Pinned {
    pid: u32,
    fd: OwnedFd,
}

fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    let raw = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, raw, 0) };
    let fd = RawFd::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn send(p: &Pinned, sig: Signal) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: pidfd_send_signal(2) on a pidfd we own, no siginfo, no flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            p.fd.as_raw_fd(),
            sig as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    r == 0
}

/// Waits until every process is gone (or `limit`); returns those still alive.
fn wait_gone(mut alive: Vec<Pinned>, targets: &BTreeSet<NsId>, limit: Duration) -> Vec<Pinned> {
    let start = Instant::now();
    loop {
        alive.retain(|p| proc_ns(p.pid).is_some_and(|ns| targets.contains(&ns)));
        if alive.is_empty() || start.elapsed() >= limit {
            return alive;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Ends every process inside the netns at `netns_files`; returns the pids signalled
/// and the ones that would not die.
pub fn reap(netns_files: &[PathBuf]) -> (Vec<u32>, Vec<String>) {
    let targets: BTreeSet<NsId> = netns_files.iter().filter_map(|p| ns_id(p)).collect();
    if targets.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let spared = spared();
    let mut pinned = Vec::new();
    for pid in scan(&targets, &spared) {
        let Some(fd) = pidfd_open(pid) else { continue };
        // Re-checked after pinning: this is the process that is inside the sandbox.
        if proc_ns(pid).is_some_and(|ns| targets.contains(&ns)) {
            pinned.push(Pinned { pid, fd });
        }
    }
    let pids: Vec<u32> = pinned.iter().map(|p| p.pid).collect();
    pinned.retain(|p| send(p, Signal::SIGTERM));
    let stubborn = wait_gone(pinned, &targets, GRACE);
    for p in &stubborn {
        send(p, Signal::SIGKILL);
    }
    let errors = wait_gone(stubborn, &targets, KILL_WAIT)
        .iter()
        .map(|p| format!("process {} survived SIGKILL", p.pid))
        .collect();
    (pids, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spares_this_process_and_its_parent() {
        let s = spared();
        assert!(s.contains(&std::process::id()));
        assert!(s.contains(&1));
        if let Some(parent) = parent_of(std::process::id()) {
            assert!(s.contains(&parent));
        }
    }

    #[test]
    fn no_netns_no_victims() {
        let (pids, errors) = reap(&[PathBuf::from("/run/netns/tplab-none-such")]);
        assert!(pids.is_empty() && errors.is_empty());
    }
}
