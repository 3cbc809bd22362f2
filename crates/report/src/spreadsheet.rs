//! CSV cells that spreadsheets must read as text. Excel, `LibreOffice` and Google Sheets run a
//! cell starting with `=`, `+`, `-` or `@` (and some with a leading tab or CR) as a formula:
//! a student id like `=HYPERLINK("http://x","y")` would become a live link, or worse, in the
//! instructor's gradebook. OWASP's rule: prefix such a cell with a single quote.

use std::borrow::Cow;

/// True when a spreadsheet could take `value` for a formula.
pub fn looks_like_formula(value: &str) -> bool {
    value
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'))
}

/// `value` as a text cell: prefixed with `'` when it looks like a formula. Only for text
/// that comes from input (ids, names, paths, messages); numbers tplab computes are
/// written as they are (a negative grade stays a number).
pub fn text_cell(value: &str) -> Cow<'_, str> {
    if looks_like_formula(value) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_quoted() {
        for s in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(text_cell(s), format!("'{s}"), "{s:?}");
        }
        for s in ["alice", "", "a=b", " =x", "'quoted"] {
            assert_eq!(text_cell(s), s, "{s:?}");
        }
    }
}
