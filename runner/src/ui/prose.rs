//! Markdown prose rendered for the terminal: headings, emphasis, inline code, lists,
//! block quotes and code blocks, wrapped to the terminal width.

use std::fmt::Write as _;

use console::{Style, measure_text_width};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Renders Markdown for a terminal of `width` columns.
pub fn render(markdown: &str, width: usize) -> String {
    let width = width.clamp(40, 100);
    let tags = regex::Regex::new(r"<[^>]+>").expect("valid");
    let mut out = String::new();
    let mut line = String::new();
    let mut styles: Vec<Mark> = Vec::new();
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut quote = 0usize;
    let mut in_code = false;
    let mut link: Option<String> = None;
    // Continuation lines of a list item start under its text, not under its bullet.
    let mut hang = 0usize;
    let flush = |out: &mut String, line: &mut String, quote: usize| {
        if !line.trim().is_empty() {
            let prefix = "│ ".repeat(quote);
            out.push_str(&prefix);
            out.push_str(line.trim_end());
            out.push('\n');
        }
        line.clear();
    };
    let style = |styles: &[Mark]| styles.iter().fold(Style::new(), |acc, m| m.apply(acc));
    // Authors' notes: also from text that did not come through the lab parser.
    let markdown = crate::lab::comments::strip(markdown);
    for event in Parser::new_ext(
        &markdown,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES,
    ) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut out, &mut line, quote);
                styles.push(if level <= HeadingLevel::H2 {
                    Mark::Title
                } else {
                    Mark::Bold
                });
            }
            Event::End(TagEnd::Heading(_)) => {
                styles.pop();
                flush(&mut out, &mut line, quote);
                out.push('\n');
            }
            Event::End(TagEnd::Paragraph) => {
                flush(&mut out, &mut line, quote);
                out.push('\n');
            }
            Event::Start(Tag::Emphasis) => styles.push(Mark::Italic),
            Event::Start(Tag::Strong) => styles.push(Mark::Bold),
            Event::Start(Tag::Strikethrough) => styles.push(Mark::Dim),
            Event::End(TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough) => {
                styles.pop();
            }
            Event::Start(Tag::BlockQuote(_)) => quote += 1,
            Event::End(TagEnd::BlockQuote(_)) => {
                flush(&mut out, &mut line, quote);
                quote = quote.saturating_sub(1);
            }
            Event::Start(Tag::List(start)) => {
                flush(&mut out, &mut line, quote);
                lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
                hang = 0;
                if lists.is_empty() {
                    out.push('\n');
                }
            }
            Event::Start(Tag::Item) => {
                flush(&mut out, &mut line, quote);
                let depth = lists.len().saturating_sub(1);
                let bullet = match lists.last_mut() {
                    Some(Some(n)) => {
                        let b = format!("{n}.");
                        *n += 1;
                        b
                    }
                    _ => "•".to_string(),
                };
                let _ = write!(line, "{}{bullet} ", "  ".repeat(depth));
                hang = 2 * depth + measure_text_width(&bullet) + 1;
            }
            Event::End(TagEnd::Item) => {
                flush(&mut out, &mut line, quote);
                hang = 0;
            }
            Event::HardBreak => flush(&mut out, &mut line, quote),
            Event::Start(Tag::CodeBlock(_)) => {
                flush(&mut out, &mut line, quote);
                in_code = true;
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code = false;
                out.push('\n');
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                link = Some(dest_url.to_string());
                styles.push(Mark::Underline);
            }
            Event::End(TagEnd::Link) => {
                styles.pop();
                if let Some(url) = link.take()
                    && !url.starts_with('#')
                {
                    let _ = write!(line, " ({url})");
                }
            }
            Event::Text(text) if in_code => {
                for l in text.lines() {
                    let _ = writeln!(out, "    {}", Style::new().cyan().apply_to(l));
                }
            }
            Event::Text(text) => {
                let text = glue_french_punctuation(&text);
                push_wrapped(
                    &mut out,
                    &mut line,
                    &text,
                    &style(&styles),
                    width,
                    quote,
                    hang,
                );
            }
            Event::Code(code) => {
                // In colour, the colour marks the code; without it, the backticks do.
                let shown = if console::colors_enabled() {
                    code.to_string()
                } else {
                    format!("`{code}`")
                };
                // Spaces inside code are no place to break a line (see CODE_SPACE).
                let shown = shown.replace(' ', &CODE_SPACE.to_string());
                let styled = Style::new().cyan().apply_to(&shown).to_string();
                if measure_text_width(&line) + measure_text_width(&shown) > width
                    && !line.trim().is_empty()
                {
                    // `(` right before the code goes down with it.
                    let carried = split_last_word(&mut line);
                    flush(&mut out, &mut line, quote);
                    line.push_str(&" ".repeat(hang));
                    line.push_str(&carried);
                }
                line.push_str(&styled);
            }
            Event::SoftBreak => line.push(' '),
            Event::Rule => {
                flush(&mut out, &mut line, quote);
                out.push_str(&"─".repeat(width.min(60)));
                out.push_str("\n\n");
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                // Keep the text of simple inline HTML (<ins>, <b>...), drop the tags.
                let text = tags.replace_all(&html, "");
                if !text.trim().is_empty() {
                    push_wrapped(
                        &mut out,
                        &mut line,
                        &text,
                        &style(&styles),
                        width,
                        quote,
                        hang,
                    );
                }
            }
            _ => {}
        }
    }
    flush(&mut out, &mut line, quote);
    while out.ends_with("\n\n") {
        out.pop();
    }
    out.replace(CODE_SPACE, " ")
}

/// Stands for a space inside inline code while lines are filled, so that wrapping never
/// splits code there; it is a plain space again in what is printed (commands are copied).
const CODE_SPACE: char = '\u{2007}';

/// Inline styles stacked while walking the Markdown.
#[derive(Clone, Copy)]
enum Mark {
    Title,
    Bold,
    Italic,
    Underline,
    Dim,
}

impl Mark {
    fn apply(self, style: Style) -> Style {
        match self {
            Mark::Title => style.bold().underlined(),
            Mark::Bold => style.bold(),
            Mark::Italic => style.italic(),
            Mark::Underline => style.underlined(),
            Mark::Dim => style.dim(),
        }
    }
}

/// French typography: no line break before `:` `;` `!` `?` `»` nor after `«` (the
/// space there becomes a no-break space, which wrapping never splits).
fn glue_french_punctuation(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let before_mark = matches!(next, Some(':' | ';' | '!' | '?' | '»'))
            && chars.get(i + 2).is_none_or(|c| c.is_whitespace());
        if c == ' ' && (before_mark || prev == Some('«')) {
            out.push('\u{a0}');
        } else {
            out.push(c);
        }
    }
    out
}

/// Cuts the word the line ends with (no space after it) off the line and returns it,
/// unless it is the line's only word. Styles' escape codes hold no spaces.
fn split_last_word(line: &mut String) -> String {
    if line.ends_with(' ') {
        return String::new();
    }
    match line.rfind(' ') {
        Some(at) if !line[..at].trim().is_empty() => {
            let word = line[at + 1..].to_string();
            line.truncate(at);
            word
        }
        _ => String::new(),
    }
}

fn push_wrapped(
    out: &mut String,
    line: &mut String,
    text: &str,
    style: &Style,
    width: usize,
    quote: usize,
    hang: usize,
) {
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            line.push(' ');
        }
        // A word glued to what precedes it (` :` after inline code) stays on its line.
        let glued = i == 0 && word.starts_with('\u{a0}');
        if !glued
            && measure_text_width(line) + measure_text_width(word) > width.saturating_sub(2 * quote)
            && !line.trim().is_empty()
        {
            // With no space before it, this text continues the line's last word (`(` then
            // inline code): that whole word moves to the next line, not only this part.
            let carried = if i == 0 {
                split_last_word(line)
            } else {
                String::new()
            };
            let prefix = "│ ".repeat(quote);
            out.push_str(&prefix);
            out.push_str(line.trim_end());
            out.push('\n');
            line.clear();
            line.push_str(&" ".repeat(hang));
            line.push_str(&carried);
        }
        line.push_str(&style.apply_to(word).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_plain_text_readably() {
        console::set_colors_enabled(false);
        let md = "# Title\n\nSome *text* with `code`.\n\n- one\n- two\n\n```\nroute -n\n```\n";
        let out = render(md, 80);
        assert!(out.contains("Title"));
        assert!(out.contains("Some text with `code`."));
        assert!(out.contains("• one"));
        assert!(out.contains("    route -n"));
    }

    #[test]
    fn an_opening_parenthesis_stays_with_the_code_it_opens() {
        console::set_colors_enabled(false);
        let md =
            "Regardez la table de routage du nœud (`ip route show table main`) puis continuez.";
        for width in 30..70 {
            let out = render(md, width);
            for l in out.lines() {
                assert!(!l.trim_end().ends_with('('), "{width}: {out}");
                assert!(!l.trim_start().starts_with(')'), "{width}: {out}");
            }
            assert!(out.contains("(`ip"), "{width}: {out}");
        }
    }

    #[test]
    fn list_items_hang_and_french_punctuation_stays_on_its_line() {
        console::set_colors_enabled(false);
        let md = "1. un texte assez long pour passer à la ligne dans un terminal étroit de quarante colonnes\n";
        let out = render(md, 40);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1, "{out}");
        assert!(lines[1..].iter().all(|l| l.starts_with("   ")), "{out}");
        let md =
            "Le mot « bonjour » et la question : pourquoi ? Une phrase assez longue pour couper.";
        for width in 40..60 {
            let out = render(md, width);
            for l in out.lines() {
                let t = l.trim_start();
                assert!(
                    !t.starts_with(':') && !t.starts_with('?') && !t.starts_with('»'),
                    "{width}: {out}"
                );
                assert!(!l.trim_end().ends_with('«'), "{width}: {out}");
            }
        }
    }
}
