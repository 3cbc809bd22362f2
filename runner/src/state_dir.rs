//! Where tplab keeps its own files (progress, default reports), and the rules that keep
//! every path it writes or removes there inside that folder, whatever a lab id, a student
//! id or a file read back from disk says.

use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// Largest progress file tplab reads back (a progress file holds one session's report).
pub const MAX_STATE_FILE: u64 = tplab_report::bounded::MAX_REPORT_BYTES;

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
}
