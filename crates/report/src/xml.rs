//! Minimal XML writing helpers: escaping, and dropping characters XML 1.0 forbids
//! (command output often carries ANSI escapes, which would make the file unreadable).

/// Escapes text for an attribute value or element content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if allowed(c) => out.push(c),
            // Visible stand-in so the reader sees something was there.
            _ => out.push('\u{fffd}'),
        }
    }
    out
}

/// Escapes an attribute value, keeping newlines as character references.
pub fn attr(s: &str) -> String {
    escape(s)
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}

fn allowed(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(escape("a\u{1b}[31mb<"), "a\u{fffd}[31mb&lt;");
        assert_eq!(attr("x\ny\""), "x&#10;y&quot;");
    }
}
