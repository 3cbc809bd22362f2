//! Text tplab did not produce (command output, kernel facts, captured values, lab
//! text) must not drive the terminal: escape sequences could retitle it, clear it,
//! rewrite lines already shown or hide text. Control characters are shown visibly
//! instead, and only the colour sequences tplab itself writes get through [`styled`].

use std::borrow::Cow;

/// Untrusted text made inert: every control character but newline and tab is shown
/// visibly (ESC as `\x1b`, bidi overrides as `\u{202e}`): the one sanitiser of
/// [`tplab_report::sanitize`], shared with `tplab report` and `tplab grade`.
pub fn text(s: &str) -> Cow<'_, str> {
    tplab_report::sanitize::for_terminal(s)
}

/// A line tplab composed, possibly coloured by `console::style`: SGR sequences
/// (`ESC [ params m`, colours and weight only) are kept, any other control is made
/// inert as in [`text`].
pub fn styled(s: &str) -> Cow<'_, str> {
    if !s.contains('\x1b') {
        return text(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('\x1b') {
        out.push_str(&text(&rest[..at]));
        let after = &rest[at + 1..];
        if let Some(n) = sgr_len(after) {
            out.push('\x1b');
            out.push_str(&after[..n]);
            rest = &after[n..];
        } else {
            out.push_str(&text("\x1b"));
            rest = after;
        }
    }
    out.push_str(&text(rest));
    Cow::Owned(out)
}

/// Length of `[ params m` at the start of `s` when it is a colour/weight sequence.
fn sgr_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix('[')?;
    let params = body
        .find(|c: char| !(c.is_ascii_digit() || c == ';'))
        .unwrap_or(body.len());
    // SGR 8 (conceal) would hide text: only tplab's own palette passes.
    let allowed = body[..params]
        .split(';')
        .all(|p| p.is_empty() || p.parse::<u16>().is_ok_and(|n| n != 8));
    (allowed && body[params..].starts_with('m') && params <= 32).then_some(params + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_pass_other_sequences_do_not() {
        let red = console::style("x").red().force_styling(true).to_string();
        assert_eq!(styled(&red), red);
        for hostile in [
            "\x1b]0;title\x07",
            "\x1b[2J",
            "\x1b[8mhidden",
            "a\rb",
            "\u{9b}31m",
        ] {
            let out = styled(hostile);
            assert!(
                !out.contains('\x1b') && !out.contains('\r') && !out.contains('\u{9b}'),
                "{hostile:?} -> {out:?}"
            );
        }
        assert_eq!(styled("plain\tline\n"), "plain\tline\n");
    }

    #[test]
    fn untrusted_text_keeps_no_escape() {
        let out = text("\x1b[31mred\x1b[0m");
        assert!(!out.contains('\x1b'), "{out:?}");
        assert!(out.contains("red"));
    }
}
