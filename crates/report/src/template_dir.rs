//! Template overrides from an instructor's folder (`--templates DIR`, or the folder of the
//! lab given on the command line; never a path written inside a report). A template is code
//! that runs on the grader's machine, and `include`/`import` names are chosen by the
//! template: the loader serves only tplab's own template names, from that folder only.

use std::path::{Path, PathBuf};

use crate::bounded::{MAX_TEMPLATE_BYTES, read_regular};

/// Why an override could not be used.
#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    #[error(
        "template {name:?} is not one of tplab's templates ({known}): templates can include nothing else"
    )]
    Unknown { name: String, known: String },
    #[error("template override {path} resolves outside the template folder {dir}: refused")]
    Escapes { path: PathBuf, dir: PathBuf },
    #[error("cannot read template override {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("template override {path} is not UTF-8")]
    NotUtf8 { path: PathBuf },
}

/// The override of `name` in `dir`, `Ok(None)` when the folder has none. `known` are the
/// overridable names; any other name (paths, `..`, absolute names included) is refused.
pub fn load_override(
    dir: &Path,
    name: &str,
    known: &[&str],
) -> Result<Option<String>, OverrideError> {
    // Exact names only: `/etc/hostname`, `../x`, `a/report.html.j2` never match one.
    if !known.contains(&name) {
        return Err(OverrideError::Unknown {
            name: name.to_owned(),
            known: known.join(", "),
        });
    }
    let path = dir.join(name);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    let read = |source| OverrideError::Read {
        path: path.clone(),
        source,
    };
    // A symlink may point elsewhere in the folder, not out of it.
    let real_dir = dir.canonicalize().map_err(read)?;
    let real = path.canonicalize().map_err(read)?;
    if !real.starts_with(&real_dir) {
        return Err(OverrideError::Escapes {
            path,
            dir: real_dir,
        });
    }
    let bytes = read_regular(&real, MAX_TEMPLATE_BYTES).map_err(read)?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| OverrideError::NotUtf8 { path })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[&str] = &["report.html.j2"];

    #[test]
    fn only_known_names_are_served() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "/etc/hostname",
            "../report.html.j2",
            "x/report.html.j2",
            "a.j2",
        ] {
            let err = load_override(dir.path(), name, KNOWN).unwrap_err();
            assert!(
                matches!(err, OverrideError::Unknown { .. }),
                "{name}: {err}"
            );
        }
        assert!(
            load_override(dir.path(), "report.html.j2", KNOWN)
                .unwrap()
                .is_none()
        );
        std::fs::write(dir.path().join("report.html.j2"), "hi").unwrap();
        assert_eq!(
            load_override(dir.path(), "report.html.j2", KNOWN).unwrap(),
            Some("hi".to_owned())
        );
    }

    #[test]
    fn symlinks_out_of_the_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("report.html.j2")).unwrap();
        let err = load_override(dir.path(), "report.html.j2", KNOWN).unwrap_err();
        assert!(matches!(err, OverrideError::Escapes { .. }), "{err}");
    }

    #[test]
    fn a_device_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("t");
        std::fs::create_dir(&sub).unwrap();
        // Inside the folder by name, a device by nature.
        std::os::unix::fs::symlink("/dev/zero", sub.join("zero")).unwrap();
        std::os::unix::fs::symlink(sub.join("zero"), sub.join("report.html.j2")).unwrap();
        let err = load_override(&sub, "report.html.j2", KNOWN).unwrap_err();
        assert!(err.to_string().contains("report.html.j2"), "{err}");
    }
}
