//! A lab's Markdown as HTML for the browser. Labs come from anyone, so nothing from a lab
//! reaches the page as markup except what pulldown-cmark itself produces and a few bare
//! tags (`<details>`, `<summary>`, `<br>`, `<kbd>`…) without attributes; every other piece
//! of raw HTML is shown as text, link targets are limited to safe schemes, and images
//! are the lab folder's own (served by the page's server, see `lab_files`) or their alt
//! text (the page loads nothing from the network).

use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};
use regex::Regex;

/// Tags a lab may write as raw HTML, attribute-free.
const ALLOWED: &[&str] = &[
    "details", "summary", "br", "kbd", "sub", "sup", "b", "i", "em", "strong", "code",
];

static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<(/?)([A-Za-z][A-Za-z0-9]*)\s*(/?)>").expect("static regex"));

/// Renders Markdown (tables, strikethrough included) into safe HTML.
pub fn markdown(text: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // Whether each open image is served (its end closes an `<img>` or the alt span).
    let mut images: Vec<bool> = Vec::new();
    let events = Parser::new_ext(text, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::InlineHtml(raw_html(&raw).into()),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        // An image of the lab's folder is served by the page's own server; any other
        // (remote, `data:`, outside the folder) is its alt text only, in a marked span.
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            if let Some(key) = super::lab_files::key(&dest_url) {
                images.push(true);
                Event::Start(Tag::Image {
                    link_type,
                    dest_url: format!("{}{key}", super::lab_files::ROUTE).into(),
                    title,
                    id,
                })
            } else {
                images.push(false);
                Event::InlineHtml(r#"<span class="img-alt">"#.into())
            }
        }
        Event::End(TagEnd::Image) => {
            if images.pop().unwrap_or(false) {
                Event::End(TagEnd::Image)
            } else {
                Event::InlineHtml("</span>".into())
            }
        }
        e => e,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

/// Raw HTML from a lab: allowed bare tags kept, everything else escaped as text.
fn raw_html(raw: &str) -> String {
    let mut out = String::new();
    let mut last = 0;
    for m in TAG.captures_iter(raw) {
        let whole = m.get(0).expect("match");
        let name = m[2].to_ascii_lowercase();
        if ALLOWED.contains(&name.as_str()) {
            out.push_str(&escape(&raw[last..whole.start()]));
            out.push('<');
            out.push_str(&m[1]);
            out.push_str(&name);
            out.push('>');
            last = whole.end();
        }
    }
    out.push_str(&escape(&raw[last..]));
    out
}

/// Link targets: web, mail and in-page links; anything else (`javascript:`, `data:`…) goes.
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.trim().to_ascii_lowercase();
    let scheme = lower.split_once(':').map(|(s, _)| s);
    let ok = match scheme {
        None => true,
        // `a/b:c` is a relative path, not a scheme.
        Some(s) if s.contains('/') || s.contains('#') || s.contains('?') => true,
        Some(s) => matches!(s, "http" | "https" | "mailto"),
    };
    if ok { url } else { CowStr::Borrowed("#") }
}

/// HTML-escapes text (also for attribute values).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_tables_and_code() {
        let h = markdown("# T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```sh\nip a\n```\n");
        assert!(h.contains("<h1>T</h1>"), "{h}");
        assert!(h.contains("<table>") && h.contains("<td>1</td>"), "{h}");
        assert!(
            h.contains("<code class=\"language-sh\">ip a\n</code>"),
            "{h}"
        );
    }

    #[test]
    fn details_survive_scripts_do_not() {
        let h = markdown(
            "<details>\n<summary>Indice</summary>\n\nregardez\n\n</details>\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>",
        );
        assert!(
            h.contains("<details>") && h.contains("<summary>Indice</summary>"),
            "{h}"
        );
        assert!(!h.contains("<script"), "{h}");
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{h}");
        assert!(!h.contains("<img"), "{h}");
    }

    #[test]
    fn attributes_on_allowed_tags_are_not_markup() {
        let h = markdown("<details open onclick=alert(1)>x</details>");
        assert!(!h.contains("<details open"), "{h}");
        assert!(h.contains("&lt;details open onclick=alert(1)&gt;"), "{h}");
    }

    #[test]
    fn unsafe_links_are_neutralised() {
        let h =
            markdown("[a](javascript:alert(1)) [b](https://example.org) [c](#x) [d](JaVaScRiPt:x)");
        assert!(!h.to_ascii_lowercase().contains("javascript"), "{h}");
        assert!(h.contains("href=\"https://example.org\""), "{h}");
        assert!(h.contains("href=\"#x\""), "{h}");
    }

    #[test]
    fn images_become_alt_text() {
        let h = markdown("![the path](http://example.org/x.png)");
        assert!(!h.contains("<img") && h.contains("the path"), "{h}");
        let h = markdown("![up](../secret.png) ![inline](data:image/png;base64,AAAA)");
        assert!(
            !h.contains("<img") && h.contains("up") && h.contains("inline"),
            "{h}"
        );
    }

    #[test]
    fn images_of_the_lab_folder_are_served_by_the_page_server() {
        let h = markdown("![the *path* \"quoted\"](./img/topo.svg)");
        assert!(h.contains(r#"<img src="/lab-files/img/topo.svg""#), "{h}");
        assert!(h.contains(r#"alt="the path &quot;quoted&quot;""#), "{h}");
    }
}
