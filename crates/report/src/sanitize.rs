//! Text from a report (student ids, answers, command output, titles, file names) is written
//! by the student's machine. Before it reaches a grader's terminal or a text file they will
//! `cat`, control characters are made visible so that no escape sequence can recolour,
//! retitle, hide lines or rewrite what the grader reads, and bidi overrides cannot reorder a
//! name. Nothing is deleted silently: the reader sees that something was there.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` safe to print on a terminal: newlines, tabs and `\r\n` line ends kept,
/// every other C0 control, DEL and C1 control shown as `\xNN` (ESC becomes `\x1b`, which
/// defuses every escape sequence), bidi embeddings/overrides/isolates shown as `\u{NNNN}`.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && c != '\r') && !has_lone_cr(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() == Some(&'\n') {
            out.push(c);
        } else {
            push_visible(&mut out, c);
        }
    }
    Cow::Owned(out)
}

/// `text` as plain text for machine consumers that show it verbatim (Gradescope's `text`
/// format, `JUnit` dashboards): ANSI escape sequences (CSI, OSC, two-byte ESC sequences)
/// removed with their parameters, line ends made Unix (`\r\n` and a lone `\r` become `\n`,
/// so an overwritten line stays readable), and every other control character, DEL, C1
/// control and bidi override removed. Newlines and tabs are kept.
pub fn plain_text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let stripped = crate::templates::strip_ansi(text);
    let unix = stripped.replace("\r\n", "\n").replace('\r', "\n");
    Cow::Owned(unix.chars().filter(|&c| !is_unsafe(c)).collect())
}

/// Appends `c`, or its visible stand-in when it is unsafe.
fn push_visible(out: &mut String, c: char) {
    if !is_unsafe(c) {
        out.push(c);
    } else if u32::from(c) < 0x100 {
        let _ = write!(out, "\\x{:02x}", u32::from(c));
    } else {
        let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
    }
}

fn has_lone_cr(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
}

/// Characters a terminal interprets rather than shows (`\n` and `\t` are layout, kept).
pub fn is_unsafe(c: char) -> bool {
    // C0, DEL, C1; bidi embeddings and overrides (LRE RLE PDF LRO RLO), isolates (LRI RLI
    // FSI PDI).
    c != '\n'
        && c != '\t'
        && matches!(c, '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(
            for_terminal("café\tok\nnext"),
            Cow::Borrowed("café\tok\nnext")
        ));
    }

    #[test]
    fn escapes_become_visible() {
        assert_eq!(
            for_terminal("a\u{1b}[2J\u{1b}]0;pwned\u{7}b"),
            "a\\x1b[2J\\x1b]0;pwned\\x07b"
        );
        assert_eq!(for_terminal("x\u{9b}31m\u{7f}"), "x\\x9b31m\\x7f");
        assert_eq!(for_terminal("\0"), "\\x00");
    }

    #[test]
    fn lone_carriage_returns_are_shown_crlf_is_kept() {
        assert_eq!(for_terminal("100/100\rfail"), "100/100\\x0dfail");
        assert_eq!(for_terminal("a\r\nb"), "a\r\nb");
        assert_eq!(for_terminal("a\r\n\x1b"), "a\r\n\\x1b");
    }

    #[test]
    fn plain_text_drops_escapes_and_controls() {
        assert!(matches!(plain_text("a\tb\nc <&>"), Cow::Borrowed(_)));
        assert_eq!(
            plain_text("\u{1b}[1;31mred\u{1b}[0m \u{1b}]0;title\u{7}ok\u{7}\0\u{9b}\u{7f}"),
            "red ok"
        );
        assert_eq!(plain_text("100%\rdone\r\nnext"), "100%\ndone\nnext");
        assert_eq!(plain_text("alice\u{202e}gpj.exe"), "alicegpj.exe");
    }

    #[test]
    fn bidi_overrides_are_shown() {
        assert_eq!(
            for_terminal("alice\u{202e}txt.exe\u{2066}"),
            "alice\\u{202e}txt.exe\\u{2066}"
        );
    }
}
