//! Who is using a sandbox: `<STATE_DIR>/<id>.lock`, flock'ed *shared* by every process
//! that builds or uses the sandbox (up, run, check, shell, exec...) for as long as it
//! holds a [`crate::Sandbox`], and *exclusively* by `down` while it removes it. The
//! kernel drops a flock when its holder dies, SIGKILL included, so a crashed tplab never
//! pins its sandbox, and `down --all` can tell "in use" from "left over" without
//! trusting recorded pids. Lock fds are close-on-exec: lab commands and the world daemon
//! never inherit them (a backgrounded `sleep` must not keep a sandbox "in use").

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;

use crate::error::{Result, SandboxError};
use crate::state::{STATE_DIR, checked};

/// A held lock on one sandbox; released when dropped (or when the process dies).
#[derive(Debug)]
pub(crate) struct SandboxLock {
    _file: File,
}

pub(crate) fn lock_path(id: &str) -> Result<PathBuf> {
    Ok(PathBuf::from(STATE_DIR).join(format!("{}.lock", checked(id)?)))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Shared,
    Exclusive,
}

/// Takes the lock without waiting; `Ok(None)` when another process holds a conflicting
/// one. Retries when the file was unlinked (by a teardown) between open and flock, so a
/// lock is never taken on a file nobody else can find any more.
fn try_lock(id: &str, mode: Mode) -> Result<Option<SandboxLock>> {
    let path = lock_path(id)?;
    std::fs::create_dir_all(STATE_DIR)
        .map_err(|e| SandboxError::io(format!("creating {STATE_DIR}"), e))?;
    for _ in 0..8 {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&path)
            .map_err(|e| SandboxError::io(format!("opening {}", path.display()), e))?;
        let locked = match mode {
            Mode::Shared => file.try_lock_shared(),
            Mode::Exclusive => file.try_lock(),
        };
        match locked {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => {
                return Err(SandboxError::io(format!("locking {}", path.display()), e));
            }
        }
        let held = file.metadata().map(|m| (m.dev(), m.ino()));
        let named = std::fs::metadata(&path).map(|m| (m.dev(), m.ino()));
        if let (Ok(held), Ok(named)) = (held, named)
            && held == named
        {
            return Ok(Some(SandboxLock { _file: file }));
        }
    }
    Err(SandboxError::io(
        format!("locking {}", path.display()),
        std::io::Error::other("the lock file keeps being replaced"),
    ))
}

/// The lock of a process using (or building) sandbox `id`. Fails with `Busy` while a
/// `down` is removing it.
pub(crate) fn use_lock(id: &str) -> Result<SandboxLock> {
    try_lock(id, Mode::Shared)?.ok_or_else(|| SandboxError::Busy {
        id: id.to_string(),
        what: "being removed".into(),
    })
}

/// The lock `down` holds while removing `id`; `None` while some process uses it.
pub(crate) fn removal_lock(id: &str) -> Result<Option<SandboxLock>> {
    try_lock(id, Mode::Exclusive)
}

/// Pids holding a lock on `id`'s lock file, read from /proc/locks (an independent view
/// of the kernel's lock table, for messages: "in use by pid N").
pub fn lock_holders(id: &str) -> Vec<u32> {
    let Ok(meta) = lock_path(id).and_then(|p| {
        std::fs::metadata(&p).map_err(|e| SandboxError::io(format!("reading {}", p.display()), e))
    }) else {
        return Vec::new();
    };
    let table = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    holders_in(&table, meta.dev(), meta.ino())
}

/// Parses /proc/locks lines such as `3: FLOCK  ADVISORY  READ 1234 fe:00:5308808 0 EOF`
/// (`->` marks a waiter, not a holder).
fn holders_in(table: &str, dev: u64, ino: u64) -> Vec<u32> {
    let want = format!("{:02x}:{:02x}:{ino}", libc::major(dev), libc::minor(dev));
    let mut pids: Vec<u32> = table
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.get(1) != Some(&"FLOCK") {
                return None;
            }
            (f.get(5) == Some(&want.as_str()))
                .then(|| f.get(4)?.parse().ok())
                .flatten()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_locks() {
        let table = "1: FLOCK  ADVISORY  WRITE 18616 fe:00:10019569 0 EOF\n\
                     2: FLOCK  ADVISORY  READ 17889 fe:00:42 0 EOF\n\
                     3: FLOCK  ADVISORY  READ 17890 fe:00:42 0 EOF\n\
                     3: -> FLOCK  ADVISORY  WRITE 99 fe:00:42 0 EOF\n\
                     4: POSIX  ADVISORY  READ 5 fe:00:42 0 EOF\n";
        let dev = libc::makedev(0xfe, 0);
        assert_eq!(holders_in(table, dev, 42), vec![17889, 17890]);
        assert!(holders_in(table, dev, 7).is_empty());
    }

    #[test]
    fn lock_paths_refuse_bad_ids() {
        assert!(lock_path("../x").is_err());
        assert!(lock_path("ab12").is_ok());
    }
}
