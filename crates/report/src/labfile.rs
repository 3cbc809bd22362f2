//! The little `tplab grade` needs from a lab file: its sha256 and front matter id/title.

use std::path::{Path, PathBuf};

use serde::Deserialize;

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

#[derive(Deserialize)]
struct Front {
    id: String,
    title: String,
    #[serde(default)]
    version: Option<serde_yaml::Value>,
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
        let front = front_matter(&text).ok_or_else(|| LabFileError::NoFrontMatter {
            path: path.to_owned(),
        })?;
        let parsed: Front = serde_yaml::from_str(front).map_err(|source| LabFileError::Yaml {
            path: path.to_owned(),
            source,
        })?;
        // `version: 1.2` parses as a number: keep its text either way.
        let version = parsed.version.map(|v| match v {
            serde_yaml::Value::String(s) => s,
            other => serde_yaml::to_string(&other)
                .unwrap_or_default()
                .trim()
                .to_owned(),
        });
        Ok(Self {
            path: path.to_owned(),
            id: parsed.id,
            title: parsed.title,
            version,
            sha256: sha256_hex(bytes),
        })
    }
}

/// The text between a leading `---` line and the next `---` (or `...`) line.
fn front_matter(text: &str) -> Option<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed == "..." {
            return Some(&rest[..offset]);
        }
        offset += line.len();
    }
    None
}

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
