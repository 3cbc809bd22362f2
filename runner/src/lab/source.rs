//! A lab file's text with a line index, so every byte offset maps to `line:col`; and
//! reading it safely (bounded size, regular files only, so a FIFO or `/dev/zero` named
//! as a lab gives an error instead of a hang).

use std::ops::Range;
use std::path::{Path, PathBuf};

/// Largest lab file tplab reads. The seed lab is ~20 KiB; 4 MiB leaves room for
/// 200 times that while keeping a mistaken path (a log, an image) from filling memory.
/// Documented in `docs/lab-format.md`.
pub const MAX_LAB_BYTES: u64 = 4 * 1024 * 1024;

/// Why a lab file could not be read. The path is printed by the caller.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not UTF-8 text: invalid byte at line {line}, column {col}")]
    NotUtf8 { line: usize, col: usize },
    /// Not a regular file, too large, or unreadable (the shared bounded reader says which).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads a lab file: a regular file of at most [`MAX_LAB_BYTES`], UTF-8 — through the
/// one bounded reader of untrusted files (a FIFO or `/dev/zero` named as a lab is an
/// error, not a hang).
pub fn read(path: &Path) -> Result<String, ReadError> {
    decode(&tplab_report::bounded::read_regular(path, MAX_LAB_BYTES)?)
}

/// A lab's bytes as text: UTF-8, or an error naming where it is not.
pub fn decode(bytes: &[u8]) -> Result<String, ReadError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => {
            // Valid UTF-8 up to there: nothing is lost.
            let valid = String::from_utf8_lossy(&bytes[..e.valid_up_to()]);
            let line = valid.matches('\n').count() + 1;
            let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
            let col = valid[line_start..].chars().count() + 1;
            Err(ReadError::NotUtf8 { line, col })
        }
    }
}

#[derive(Debug)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

impl Source {
    pub fn new(path: impl Into<PathBuf>, text: String) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            path: path.into(),
            text,
            line_starts,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `offset` clamped to the text and moved back to a character boundary, so any
    /// computed offset is safe to slice at.
    pub fn floor(&self, offset: usize) -> usize {
        floor_char_boundary(&self.text, offset)
    }

    /// A range made safe to slice: within the text, on boundaries, `start <= end`.
    pub fn clamp(&self, range: Range<usize>) -> Range<usize> {
        let end = self.floor(range.end);
        self.floor(range.start).min(end)..end
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.floor(offset);
        let line = self.line_index(offset);
        let start = self.line_starts[line];
        let col = self.text[start..offset].chars().count() + 1;
        (line + 1, col)
    }

    /// 0-based index of the line holding `offset`.
    pub fn line_index(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset) - 1
    }

    /// Byte offset of a 1-based line (clamped to the end of the text).
    pub fn line_offset(&self, line: usize) -> usize {
        self.line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len())
    }

    /// Byte offset of a 1-based line and 1-based character column.
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let start = self.line_offset(line);
        start + char_offset(line_at(&self.text[start..]), col)
    }

    /// The byte range of the line holding `offset`, without its newline.
    pub fn line_range(&self, offset: usize) -> Range<usize> {
        let start = self.line_starts[self.line_index(self.floor(offset))];
        start..start + line_at(&self.text[start..]).len()
    }

    /// Byte offset where 0-based line `index` starts; the text's end one past the last.
    pub fn line_start(&self, index: usize) -> Option<usize> {
        match index.cmp(&self.line_starts.len()) {
            std::cmp::Ordering::Less => Some(self.line_starts[index]),
            std::cmp::Ordering::Equal => Some(self.text.len()),
            std::cmp::Ordering::Greater => None,
        }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

/// The first line of `text`, without its newline.
fn line_at(text: &str) -> &str {
    text.split('\n').next().unwrap_or("")
}

/// Byte offset of the 1-based character column `col` in `line` (its end if shorter).
pub fn char_offset(line: &str, col: usize) -> usize {
    line.char_indices()
        .nth(col.saturating_sub(1))
        .map_or(line.len(), |(i, _)| i)
}

/// `str::floor_char_boundary` (stable only since 1.91, above our MSRV).
pub fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_offsets_to_line_and_column() {
        let s = Source::new("x.md", "ab\ncdé\nf".into());
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(3), (2, 1));
        assert_eq!(s.line_col(5), (2, 3));
        assert_eq!(s.line_col(8), (3, 1));
        assert_eq!(s.offset_of(2, 3), 5);
        assert_eq!(s.line_range(4), 3..7);
    }

    #[test]
    fn offsets_inside_a_character_are_safe() {
        let s = Source::new("x.md", "é\nb".into());
        assert_eq!(s.line_col(1), (1, 1));
        assert_eq!(s.clamp(1..99), 0..4);
        assert_eq!(s.line_range(1), 0..2);
        assert_eq!(s.offset_of(9, 9), 4);
    }

    #[test]
    fn decode_names_the_bad_byte() {
        let err = decode(b"ok\nab\xffc").unwrap_err();
        assert!(
            matches!(err, ReadError::NotUtf8 { line: 2, col: 3 }),
            "{err}"
        );
    }
}
