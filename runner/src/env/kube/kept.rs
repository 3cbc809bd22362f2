//! The lab pods a quitting student keeps to resume, remembered on this machine (a file
//! per session in tplab's state folder): the sweep leaves them, `tplab run` adopts them.
//! A label (`tplab.dev/kept=true`) shows them in kubectl too, where the API allows the
//! patch; the file is what counts, since a kept pod's process is gone like a killed one's.

use std::path::PathBuf;

fn dir() -> PathBuf {
    crate::state_dir::root().join("kube-kept")
}

/// A tplab kube session id (hex): only those become file names and pod names.
pub fn valid(session: &str) -> bool {
    !session.is_empty() && session.len() <= 16 && session.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Remembers that `session`'s lab pod is kept.
pub fn mark(session: &str) -> std::io::Result<()> {
    if !valid(session) {
        return Err(std::io::Error::other(format!(
            "`{session}` is no tplab session id"
        )));
    }
    std::fs::create_dir_all(dir())?;
    std::fs::write(dir().join(session), b"")
}

/// Whether `session`'s lab pod was kept by a session on this machine.
pub fn is_kept(session: &str) -> bool {
    valid(session) && dir().join(session).exists()
}

/// Forgets `session` (adopted).
pub fn forget(session: &str) {
    if valid(session) {
        let _ = std::fs::remove_file(dir().join(session));
    }
}

/// Gives up `session`'s kept lab pod (the lab changed: its progress cannot resume):
/// no longer kept, it is a dead session's pod, which the next open's sweep deletes.
pub fn discard(session: &str) {
    forget(session);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_session_ids_become_files() {
        assert!(valid("3fe87448"));
        assert!(!valid("../x"));
        assert!(!valid(""));
        assert!(mark("a/b").is_err());
    }
}
