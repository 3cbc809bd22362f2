//! Loading many report files: each bad file becomes a per-file error, never a stop.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::bounded::{MAX_REPORT_BYTES, read_regular};
use crate::canonical::sha256_hex;
use crate::schema::{Report, SCHEMA};

/// A report read from disk, with what grading needs to know about the file itself.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    /// sha256 of the file bytes (byte-identical submissions).
    pub file_sha256: String,
    pub report: Report,
}

/// Why one file could not be graded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: empty file")]
    Empty { path: PathBuf },
    #[error("{path}: truncated JSON (ends at line {line}, column {column}): {source}")]
    Truncated {
        path: PathBuf,
        line: usize,
        column: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}:{line}:{column}: not a tplab.report/1 report: {source}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: schema is {found:?}, this tplab reads {SCHEMA:?}")]
    Schema { path: PathBuf, found: String },
}

impl LoadError {
    pub fn path(&self) -> &Path {
        match self {
            Self::Read { path, .. }
            | Self::Empty { path }
            | Self::Truncated { path, .. }
            | Self::Invalid { path, .. }
            | Self::Schema { path, .. } => path,
        }
    }
}

/// Reads and parses one report file: a regular file of at most [`MAX_REPORT_BYTES`].
pub fn load_report(path: &Path) -> Result<Loaded, LoadError> {
    let bytes = read_regular(path, MAX_REPORT_BYTES).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_report(path, &bytes)
}

/// Parses report bytes, naming the file and the position of any problem.
pub fn parse_report(path: &Path, bytes: &[u8]) -> Result<Loaded, LoadError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(LoadError::Empty {
            path: path.to_owned(),
        });
    }
    let schema_error = |found: &str| LoadError::Schema {
        path: path.to_owned(),
        found: found.to_owned(),
    };
    let report: Report = match serde_json::from_slice(bytes) {
        Ok(report) => report,
        Err(source) => {
            // Another schema version fails on its fields; say so rather than name a field.
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
                let found = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
                if found != SCHEMA {
                    return Err(schema_error(found));
                }
            }
            let (line, column) = (source.line(), source.column());
            return Err(if source.is_eof() {
                LoadError::Truncated {
                    path: path.to_owned(),
                    line,
                    column,
                    source,
                }
            } else {
                LoadError::Invalid {
                    path: path.to_owned(),
                    line,
                    column,
                    source,
                }
            });
        }
    };
    if report.schema != SCHEMA {
        return Err(schema_error(&report.schema));
    }
    Ok(Loaded {
        path: path.to_owned(),
        file_sha256: sha256_hex(bytes),
        report,
    })
}

/// How deep `grade DIR` looks for reports.
pub const MAX_DEPTH: usize = 32;

/// Expands arguments into report files: files as given, directories walked for `*.json`
/// (sorted, so output order is stable). A directory reached twice (a symlink loop, or two
/// links to one folder) is walked once.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for input in inputs {
        if input.is_dir() {
            walk(input, 0, &mut seen, &mut out)?;
        } else {
            out.push(input.clone());
        }
    }
    Ok(out)
}

fn walk(
    dir: &Path,
    depth: usize,
    seen: &mut HashSet<(u64, u64)>,
    out: &mut Vec<PathBuf>,
) -> Result<(), LoadError> {
    let read = |source| LoadError::Read {
        path: dir.to_owned(),
        source,
    };
    let meta = std::fs::metadata(dir).map_err(read)?;
    if !seen.insert((meta.dev(), meta.ino())) || depth > MAX_DEPTH {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            // An unreadable folder is listed itself: loading it gives a per-file error,
            // and the rest of the class is still graded.
            if walk(&path, depth + 1, seen, out).is_err() {
                out.push(path);
            }
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Loads every file, keeping the good ones and the errors apart.
pub fn load_all(paths: &[PathBuf]) -> (Vec<Loaded>, Vec<LoadError>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for path in paths {
        match load_report(path) {
            Ok(l) => good.push(l),
            Err(e) => bad.push(e),
        }
    }
    (good, bad)
}
