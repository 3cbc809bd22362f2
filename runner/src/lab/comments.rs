//! HTML comments (`<!-- … -->`) are the author's notes: removed from everything a
//! student sees (terminal, browser, reports) — prose, hints, step text. Code spans and
//! code blocks keep theirs: there they are content (an HTML file being taught).

use std::borrow::Cow;
use std::ops::Range;

use pulldown_cmark::{Event, Options, Parser, Tag};

const OPEN: &str = "<!--";
const CLOSE: &str = "-->";

/// `markdown` without its HTML comments. A comment alone on its lines takes those lines
/// with it, so removing it does not split a paragraph; an unclosed `<!--` is left as is
/// (Markdown shows it).
pub fn strip(markdown: &str) -> Cow<'_, str> {
    if !markdown.contains(OPEN) {
        return Cow::Borrowed(markdown);
    }
    let code = code_ranges(markdown);
    let in_code = |at: usize| code.iter().any(|r| r.contains(&at));
    let mut out = String::with_capacity(markdown.len());
    let mut cursor = 0;
    let mut search = 0;
    while let Some(found) = markdown[search..].find(OPEN) {
        let start = search + found;
        if in_code(start) {
            search = start + OPEN.len();
            continue;
        }
        let Some(len) = markdown[start + OPEN.len()..].find(CLOSE) else {
            break;
        };
        let end = start + OPEN.len() + len + CLOSE.len();
        let (from, to) = whole_lines(markdown, start, end);
        out.push_str(&markdown[cursor..from]);
        cursor = to;
        search = to;
    }
    if cursor == 0 {
        return Cow::Borrowed(markdown);
    }
    out.push_str(&markdown[cursor..]);
    Cow::Owned(out)
}

/// Widens `start..end` to its whole lines (newline included) when nothing but blanks
/// shares them; otherwise the comment alone goes.
fn whole_lines(text: &str, start: usize, end: usize) -> (usize, usize) {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    let alone = text[line_start..start].trim().is_empty() && text[end..line_end].trim().is_empty();
    if alone {
        (line_start, line_end)
    } else {
        (start, end)
    }
}

/// Byte ranges of code spans and code blocks, where `<!--` is content.
fn code_ranges(markdown: &str) -> Vec<Range<usize>> {
    Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .into_offset_iter()
    .filter_map(|(event, range)| match event {
        Event::Code(_) | Event::Start(Tag::CodeBlock(_)) => Some(range),
        _ => None,
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::strip;

    #[test]
    fn block_and_inline_comments_go() {
        let text = "Para one.\n\n<!-- spoiler:\nthe answer is 42 -->\n\nPara <!-- note --> two.\n";
        assert_eq!(strip(text), "Para one.\n\n\nPara  two.\n");
        // A comment line inside a paragraph does not split it.
        assert_eq!(strip("a\n<!-- x -->\nb\n"), "a\nb\n");
    }

    #[test]
    fn code_keeps_its_comments_and_unclosed_stays() {
        let text = "Use `<!-- x -->` in HTML.\n\n```html\n<!-- kept -->\n```\n";
        assert_eq!(strip(text), text);
        assert_eq!(strip("a <!-- never closed"), "a <!-- never closed");
        assert_eq!(strip("`<!--` then <!-- gone -->."), "`<!--` then .");
    }
}
