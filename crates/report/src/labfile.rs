//! The little `tplab grade` needs from a lab file: its sha256 and front matter id/title.

use std::path::{Path, PathBuf};

use tplab_vocab::front_matter::{FrontMatter, yaml_of};

use crate::bounded::{MAX_TABLE_BYTES, read_regular};
use crate::canonical::sha256_hex;

/// Identity of the lab a class is graded against.
#[derive(Debug, Clone, PartialEq)]
pub struct LabFile {
    pub path: PathBuf,
    pub id: String,
    pub title: String,
    pub version: Option<String>,
    /// sha256 over the file's bytes, lowercase hex (what reports record).
    pub sha256: String,
    /// Front matter `lang`: the language of the class summary and feedback.
    pub lang: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LabFileError {
    #[error("{path}: cannot read the lab file: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: no YAML front matter (the file must start with a `---` line and close it with another)"
    )]
    NoFrontMatter { path: PathBuf },
    #[error("{path}: front matter: {source}")]
    Yaml {
        path: PathBuf,
        #[source]
        source: serde_yaml::Error,
    },
}

impl LabFile {
    pub fn load(path: &Path) -> Result<Self, LabFileError> {
        let bytes = read_regular(path, MAX_TABLE_BYTES).map_err(|source| LabFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(path, &bytes)
    }

    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Self, LabFileError> {
        let text = String::from_utf8_lossy(bytes);
        let front = yaml_of(&text).ok_or_else(|| LabFileError::NoFrontMatter {
            path: path.to_owned(),
        })?;
        // The runner's own schema: a lab `tplab lint` accepts is a lab `grade` reads.
        let parsed: FrontMatter =
            serde_yaml::from_str(front).map_err(|source| LabFileError::Yaml {
                path: path.to_owned(),
                source,
            })?;
        let version = Some(parsed.version).filter(|v| !v.is_empty());
        Ok(Self {
            path: path.to_owned(),
            id: parsed.id,
            title: parsed.title,
            version,
            sha256: sha256_hex(bytes),
            lang: parsed.lang,
        })
    }
}

/// The text between a leading `---` line and the next `---` (or `...`) line.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fixture_lab() {
        let lab = LabFile::from_bytes(Path::new("lab.md"), crate::fixture::LAB_MD.as_bytes())
            .expect("fixture lab parses");
        assert_eq!(lab.id, "ebpf-network-deep-dive");
        assert_eq!(lab.version.as_deref(), Some("1.2"));
        assert_eq!(lab.sha256, crate::fixture::lab_sha256());
    }

    #[test]
    fn missing_front_matter_is_an_error() {
        let err = LabFile::from_bytes(Path::new("x.md"), b"# title\n").unwrap_err();
        assert!(err.to_string().contains("x.md: no YAML front matter"));
    }
}
