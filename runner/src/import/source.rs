//! The source folder of an import: paths it names are confined to it (no `..`, no
//! absolute path, no link leading out), and its files are read as bounded UTF-8 text.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::ImportError;

/// A file larger than this is not a lab's text or script (the lab format's own limit).
const MAX_FILE: u64 = 4 * 1024 * 1024;

#[derive(Debug)]
pub struct SourceDir {
    /// As the user named it, for messages.
    shown: PathBuf,
    /// Canonical, for the confinement test.
    root: PathBuf,
}

impl SourceDir {
    pub fn open(dir: &Path) -> Result<Self, ImportError> {
        let root = dir.canonicalize().map_err(|source| ImportError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        if !root.is_dir() {
            return Err(ImportError::NotADir {
                path: dir.to_path_buf(),
            });
        }
        Ok(Self {
            shown: dir.to_path_buf(),
            root,
        })
    }

    /// `rel` inside the source, as shown in messages.
    pub fn shown(&self, rel: &str) -> PathBuf {
        self.shown.join(rel)
    }

    /// The file the source names with `named` (in `file`, at `line`), once proven to
    /// stay inside the source folder. `None` when it does not exist.
    pub fn resolve(
        &self,
        named: &str,
        file: &str,
        line: usize,
    ) -> Result<Option<PathBuf>, ImportError> {
        let unsafe_path = |reason| ImportError::UnsafePath {
            file: self.shown(file),
            line,
            named: named.to_string(),
            reason,
        };
        let path = Path::new(named);
        if named.is_empty() {
            return Err(unsafe_path("is empty"));
        }
        for c in path.components() {
            match c {
                Component::Normal(_) | Component::CurDir => {}
                Component::ParentDir => return Err(unsafe_path("leaves the source folder (`..`)")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(unsafe_path(
                        "is absolute: name a file inside the source folder",
                    ));
                }
            }
        }
        let joined = self.root.join(path);
        match joined.canonicalize() {
            Ok(real) if real.starts_with(&self.root) => Ok(Some(real)),
            Ok(_) => Err(unsafe_path("is a link that leads out of the source folder")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A dangling link is refused too: it says where it would lead.
                if joined.symlink_metadata().is_ok() {
                    Err(unsafe_path("is a link to nothing"))
                } else {
                    Ok(None)
                }
            }
            Err(source) => Err(ImportError::Read {
                path: self.shown(named),
                source,
            }),
        }
    }

    /// Like [`Self::resolve`], but the file must exist; returns its text.
    pub fn read_named(
        &self,
        named: &str,
        file: &str,
        line: usize,
        platform: &'static str,
        what: &'static str,
    ) -> Result<String, ImportError> {
        match self.resolve(named, file, line)? {
            Some(path) => self.read(&path, named),
            None => Err(ImportError::Missing {
                path: self.shown(named),
                platform,
                what,
            }),
        }
    }

    /// The text of `named` when it exists (confined like [`Self::resolve`]).
    pub fn read_optional(&self, named: &str) -> Result<Option<String>, ImportError> {
        match self.resolve(named, named, 1)? {
            Some(path) if path.is_file() => self.read(&path, named).map(Some),
            _ => Ok(None),
        }
    }

    /// Sub-folders of the source root, by name (links leading out are refused).
    pub fn subdirs(&self) -> Result<Vec<String>, ImportError> {
        let read_err = |source| ImportError::Read {
            path: self.shown.clone(),
            source,
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.root).map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if let Some(real) = self.resolve(&name, &name, 1)?
                && real.is_dir()
            {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn read(&self, path: &Path, named: &str) -> Result<String, ImportError> {
        let shown = self.shown(named);
        let read_err = |source| ImportError::Read {
            path: shown.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        let meta = file.metadata().map_err(read_err)?;
        if !meta.is_file() {
            return Err(ImportError::Invalid {
                path: shown,
                message: "not a regular file".into(),
            });
        }
        let mut bytes = Vec::new();
        file.take(MAX_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
        if bytes.len() as u64 > MAX_FILE {
            return Err(ImportError::Invalid {
                path: shown,
                message: "larger than 4 MiB: not a lab's text or script".into(),
            });
        }
        String::from_utf8(bytes).map_err(|e| {
            let valid = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
            let line = super::line_of(&text, valid);
            let col = valid - text.rfind('\n').map_or(0, |i| i + 1) + 1;
            ImportError::Syntax {
                path: shown,
                line,
                col,
                message: "not UTF-8 text".into(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.md"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("out")).unwrap();
        let src = SourceDir::open(dir.path()).unwrap();
        assert!(src.resolve("a.md", "index.json", 3).unwrap().is_some());
        assert!(
            src.resolve("./missing.md", "index.json", 3)
                .unwrap()
                .is_none()
        );
        for (bad, why) in [
            ("../x", "`..`"),
            ("/etc/passwd", "absolute"),
            ("out", "leads out"),
        ] {
            let e = src.resolve(bad, "index.json", 7).unwrap_err().to_string();
            assert!(e.contains("index.json:7: path") && e.contains(why), "{e}");
        }
    }
}
