//! Where tplab keeps its own files (progress, default reports), and the rules that keep
//! every path it writes or removes there inside that folder, whatever a lab id, a student
//! id or a file read back from disk says.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// Largest progress file tplab reads back (a progress file holds one session's report).
pub const MAX_STATE_FILE: u64 = 16 * 1024 * 1024;

/// `$TPLAB_STATE_DIR`, or `~/.local/state/tplab`.
pub fn root() -> PathBuf {
    std::env::var_os("TPLAB_STATE_DIR").map_or_else(
        || {
            let home =
                std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
            home.join(".local/state/tplab")
        },
        PathBuf::from,
    )
}

/// Turns any text (a student id, a lab id) into one safe file-name component: ASCII
/// letters, digits and `-_.@+` kept, anything else replaced by `_`, no leading dot, at
/// most 64 characters. A name that had to change gets a short hash of the original, so
/// `a/b` and `a_b` never share a file.
pub fn file_component(raw: &str) -> String {
    let kept = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+');
    let mut safe: String = raw.chars().map(|c| if kept(c) { c } else { '_' }).collect();
    if safe.starts_with('.') {
        safe.replace_range(..1, "_");
    }
    if safe == raw && !safe.is_empty() && safe.len() <= 64 {
        return safe;
    }
    let digest = Sha256::digest(raw.as_bytes());
    let cut = safe.char_indices().nth(48).map_or(safe.len(), |(i, _)| i);
    safe.truncate(cut);
    format!("{safe}-{}", &hex::encode(digest)[..8])
}

/// True when `path` is `base` or below it, lexically (no `..`, no escape through an
/// absolute component). Callers build paths from [`file_component`]s; this is the
/// last line of defence before a write or a removal.
pub fn is_inside(base: &Path, path: &Path) -> bool {
    path.starts_with(base)
        && path
            .strip_prefix(base)
            .is_ok_and(|rest| rest.components().all(|c| matches!(c, Component::Normal(_))))
}

/// Why a file of tplab's own could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a regular file", path.display())]
    NotRegular { path: PathBuf },
    #[error("{}: larger than {limit} bytes", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
}

/// Reads a regular file of at most `limit` bytes, without blocking on a FIFO or
/// following a device: the file is opened non-blocking and checked before reading.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_kept() {
        for name in ["bob", "alice.smith", "s-123_x", "a@b.fr", "default"] {
            assert_eq!(file_component(name), name);
        }
    }

    #[test]
    fn hostile_names_become_one_component() {
        for name in [
            "../../x",
            "..",
            ".",
            "",
            "/etc/passwd",
            "a/b",
            "é",
            "x\0y",
            &"a".repeat(300),
        ] {
            let safe = file_component(name);
            assert!(
                !safe.is_empty() && !safe.starts_with('.'),
                "{name:?} -> {safe}"
            );
            assert!(safe.len() <= 64, "{name:?} -> {safe}");
            assert!(
                safe.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.@+".contains(c)),
                "{name:?} -> {safe}"
            );
            let base = Path::new("/state");
            assert!(is_inside(base, &base.join(&safe)), "{name:?} -> {safe}");
        }
        assert_ne!(file_component("a/b"), file_component("a_b"));
    }

    #[test]
    fn escapes_are_not_inside() {
        let base = Path::new("/state");
        assert!(is_inside(base, Path::new("/state/a/b")));
        assert!(!is_inside(base, Path::new("/state/../tmp/x")));
        assert!(!is_inside(base, Path::new("/tmp/x")));
        assert!(!is_inside(base, Path::new("/statex/y")));
    }

    #[test]
    fn bounded_reads_refuse_fifos_devices_and_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert!(matches!(
            read_bounded(&fifo, 10),
            Err(ReadError::NotRegular { .. })
        ));
        assert!(matches!(
            read_bounded(Path::new("/dev/zero"), 10),
            Err(ReadError::NotRegular { .. })
        ));
        let big = dir.path().join("big");
        std::fs::write(&big, [0u8; 11]).unwrap();
        assert!(matches!(
            read_bounded(&big, 10),
            Err(ReadError::TooLarge { .. })
        ));
        assert_eq!(read_bounded(&big, 11).unwrap().len(), 11);
    }
}
