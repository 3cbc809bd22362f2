//! A Canvas roster (the CSV Canvas exports from its gradebook) to fill the gradebook's
//! identity columns with what Canvas expects: names, Canvas ids, SIS ids, sections.

use std::path::Path;

use crate::bounded::{MAX_TABLE_BYTES, read_regular};

/// One student of the roster, with Canvas's five identity columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    pub student: String,
    pub id: String,
    pub sis_user_id: String,
    pub sis_login_id: String,
    pub section: String,
}

impl RosterEntry {
    /// True when a tplab student id names this student (SIS user id, SIS login, Canvas id
    /// or, last, the display name).
    pub fn matches(&self, tplab_id: &str) -> bool {
        [
            &self.sis_user_id,
            &self.sis_login_id,
            &self.id,
            &self.student,
        ]
        .iter()
        .any(|v| !v.is_empty() && v.as_str() == tplab_id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("{path}: cannot read the roster: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot read the roster: {source}")]
    Csv {
        path: String,
        #[source]
        source: csv::Error,
    },
    #[error(
        "{path}: the roster has no `{column}` column (expected Canvas's gradebook export: Student, ID, SIS User ID, SIS Login ID, Section)"
    )]
    Column { path: String, column: &'static str },
}

/// Reads a Canvas gradebook export; its `Points Possible` and muted rows are skipped.
pub fn read_roster(path: &Path) -> Result<Vec<RosterEntry>, RosterError> {
    let shown = path.display().to_string();
    let err = |source| RosterError::Csv {
        path: shown.clone(),
        source,
    };
    let bytes = read_regular(path, MAX_TABLE_BYTES).map_err(|source| RosterError::Read {
        path: shown.clone(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let headers = reader.headers().map_err(err)?.clone();
    let col = |name: &'static str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
            .ok_or(RosterError::Column {
                path: shown.clone(),
                column: name,
            })
    };
    let (s, i, u, l, sec) = (
        col("Student")?,
        col("ID")?,
        col("SIS User ID")?,
        col("SIS Login ID")?,
        col("Section")?,
    );
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(err)?;
        let get = |n: usize| record.get(n).unwrap_or("").to_owned();
        let student = get(s);
        if student.is_empty() || student.contains("Points Possible") {
            continue;
        }
        out.push(RosterEntry {
            student,
            id: get(i),
            sis_user_id: get(u),
            sis_login_id: get(l),
            section: get(sec),
        });
    }
    Ok(out)
}
