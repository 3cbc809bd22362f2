//! minijinja environment for the report templates: embedded defaults from `templates/`,
//! each overridable by a file of the same name in the instructor's template folder
//! (`template_dir`), rendered within bounds (`template_limits`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, Error, ErrorKind, Value};

use crate::evidence;
use crate::i18n::{Lang, count};
use crate::points::fmt_points;
use crate::template_dir::load_override;
use crate::template_limits::{FUEL_BASE, fuel_for, limit, render_bounded};

/// Template names and their embedded sources.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "report.html.j2",
        include_str!("../../../templates/report.html.j2"),
    ),
    (
        "report.md.j2",
        include_str!("../../../templates/report.md.j2"),
    ),
    (
        "summary.html.j2",
        include_str!("../../../templates/summary.html.j2"),
    ),
];

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {name}: {source:#}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
    #[error(
        "template {name}: stopped after {fuel} instructions (a loop too long for a report, nested loops?)"
    )]
    OutOfFuel { name: String, fuel: u64 },
    #[error("template {name}: output larger than {limit}: stopped")]
    TooLarge { name: String, limit: String },
    #[error("template {name}: still rendering after {secs} s: stopped")]
    TimedOut { name: String, secs: u64 },
    #[error("template {name}: the renderer crashed")]
    Crashed { name: String },
    #[error("template {name}: output is not UTF-8")]
    NotUtf8 { name: String },
    #[error("template {name}: cannot start the renderer: {source}")]
    Thread {
        name: String,
        #[source]
        source: std::io::Error,
    },
}

/// Builds the environment; `templates_dir` (the instructor's folder, never a path read from
/// a report) may override the built-in templates.
pub fn environment(templates_dir: Option<&Path>) -> Environment<'static> {
    let mut env = Environment::new();
    let dir: Option<PathBuf> = templates_dir.map(Path::to_path_buf);
    env.set_loader(move |name| load(dir.as_deref(), name));
    limit(&mut env, FUEL_BASE);
    // HTML templates escape everything by default; Markdown has its own filters.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html.j2") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env.add_filter("pts", |x: f64| fmt_points(x));
    env.add_filter("pretty_json", |v: Value| -> Result<String, Error> {
        let json: serde_json::Value = serde_json::to_value(&v)
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
        Ok(serde_json::to_string_pretty(&json).unwrap_or_default())
    });
    env.add_filter(
        "evidence_blocks",
        |v: Value, lang: Option<String>| -> Result<Value, Error> {
            let json: serde_json::Value = serde_json::to_value(&v)
                .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
            let lang = Lang::from_code(lang.as_deref());
            Ok(Value::from_serialize(evidence::blocks_in(&json, lang)))
        },
    );
    // `{{ c.attempts | count("attempt", t.lang) }}`: "3 attempts", "1 essai".
    env.add_filter("count", |n: f64, key: String, lang: Option<String>| {
        count(n, &key, Lang::from_code(lang.as_deref()))
    });
    env.add_filter("dt", |s: String| format_time(&s));
    env.add_filter("ms", |ms: u64| format_ms(ms));
    env.add_filter("fence", |s: String, lang: Option<String>| {
        fence(&s, lang.as_deref())
    });
    env.add_filter("md_cell", |s: String| md_cell(&s));
    env.add_filter("md_inline", |s: String| md_inline(&s));
    env.add_filter("strip_ansi", |s: String| strip_ansi(&s));
    env.add_filter("code_spans", |s: String| {
        Value::from_safe_string(code_spans(&s))
    });
    // `clip(n, lang)`: the first n lines (default MAX_LINES), the note in `lang`.
    env.add_filter(
        "clip",
        |s: String, max: Option<usize>, lang: Option<String>| {
            clip_in(
                &s,
                max.unwrap_or(MAX_LINES),
                Lang::from_code(lang.as_deref()),
            )
        },
    );
    env
}

fn load(dir: Option<&Path>, name: &str) -> Result<Option<String>, Error> {
    let known: Vec<&str> = EMBEDDED.iter().map(|(n, _)| *n).collect();
    if let Some(dir) = dir {
        let found = load_override(dir, name, &known)
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, src)| (*src).to_owned()))
}

/// Renders template `name` with `ctx`, within the bounds of `template_limits`; the
/// instruction budget grows with `input_bytes`, the size of the data behind `ctx`.
pub fn render(
    templates_dir: Option<&Path>,
    name: &str,
    ctx: Value,
    input_bytes: usize,
) -> Result<String, RenderError> {
    let dir: Option<PathBuf> = templates_dir.map(Path::to_path_buf);
    render_bounded(
        move || environment(dir.as_deref()),
        name,
        ctx,
        fuel_for(input_bytes),
    )
}

/// `2026-11-20T08:00:00Z` -> `2026-11-20 08:00:00 UTC`; anything else unchanged.
fn format_time(s: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(s).map_or_else(
        |_| s.to_owned(),
        |t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        },
    )
}

fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        #[allow(clippy::cast_precision_loss)]
        let s = ms as f64 / 1000.0;
        format!("{s:.1} s")
    }
}

/// A fenced code block whose fence is longer than any backtick run inside.
fn fence(s: &str, lang: Option<&str>) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let ticks = "`".repeat(longest.max(2) + 1);
    let body = s.strip_suffix('\n').unwrap_or(s);
    format!("{ticks}{}\n{body}\n{ticks}", lang.unwrap_or(""))
}

/// HTML-escaped text whose balanced `code spans` become `<code>` elements.
fn code_spans(s: &str) -> String {
    let ticks = s.matches('`').count();
    let keep = ticks > 0 && ticks.is_multiple_of(2);
    let mut out = String::with_capacity(s.len() + 16);
    let mut open = false;
    for c in s.chars() {
        match c {
            '`' if keep => {
                out.push_str(if open { "</code>" } else { "<code>" });
                open = !open;
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

/// Lines of command output shown per command; the report.json keeps everything.
pub const MAX_LINES: usize = 300;

/// The first `max` lines, and how many were left out.
#[cfg(test)]
fn clip(s: &str, max: usize) -> String {
    clip_in(s, max, Lang::En)
}

/// [`clip`], its note in `lang`.
fn clip_in(s: &str, max: usize, lang: Lang) -> String {
    let total = s.lines().count();
    if total <= max {
        return s.to_owned();
    }
    let mut out: String = s.lines().take(max).flat_map(|l| [l, "\n"]).collect();
    #[allow(clippy::cast_precision_loss)]
    let left = count((total - max) as f64, "more_lines", lang);
    let _ = writeln!(out, "{left}");
    out
}

/// Removes terminal escape sequences (colours, cursor moves) from captured output.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            // CSI: ESC [ params final-byte(@..~)
            Some('[') => {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: ESC ] ... BEL or ESC \
            Some(']') => {
                chars.next();
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {
                chars.next();
            }
        }
    }
    out
}

/// Text safe inside a Markdown table cell.
fn md_cell(s: &str) -> String {
    md_text(s, true)
}

/// Text safe inline in Markdown: one line, HTML and emphasis characters neutralised.
fn md_inline(s: &str) -> String {
    md_text(s, false)
}

/// Balanced `code spans` are kept as code (labs write commands that way); everything else
/// is escaped. In table cells `|` is escaped everywhere, code spans included (GFM).
fn md_text(s: &str, cell: bool) -> String {
    let one_line = s.replace("\r\n", " ").replace(['\n', '\r'], " ");
    let ticks = one_line.matches('`').count();
    let keep_code = ticks > 0 && ticks.is_multiple_of(2);
    let mut out = String::with_capacity(one_line.len());
    let mut in_code = false;
    for c in one_line.chars() {
        match c {
            '`' if keep_code => {
                in_code = !in_code;
                out.push(c);
            }
            '|' if cell => out.push_str("\\|"),
            _ if in_code => out.push(c),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '*' | '_' | '`' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fence_outgrows_backticks() {
        assert_eq!(fence("a ``` b", Some("sh")), "````sh\na ``` b\n````");
        assert_eq!(fence("x\n", None), "```\nx\n```");
    }

    #[test]
    fn code_spans_become_code_and_the_rest_is_escaped() {
        assert_eq!(
            code_spans("`a<b` & `c`"),
            "<code>a&lt;b</code> &amp; <code>c</code>"
        );
        assert_eq!(code_spans("odd ` <i>"), "odd ` &lt;i&gt;");
    }

    #[test]
    fn long_output_is_clipped() {
        let text = "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        assert_eq!(clip(text, 3), "0\n1\n2\n… (7 more lines in report.json)\n");
        assert_eq!(clip("a\nb\n", 3), "a\nb\n");
    }

    #[test]
    fn ansi_sequences_are_removed() {
        assert_eq!(
            strip_ansi("a\u{1b}[1;31mred\u{1b}[0m b\u{1b}]0;title\u{7}c"),
            "ared bc"
        );
    }

    #[test]
    fn cells_escape_pipes_and_html() {
        assert_eq!(md_cell("a|b\n<i>"), "a\\|b &lt;i&gt;");
    }

    #[test]
    fn balanced_code_spans_stay_code() {
        assert_eq!(
            md_cell("`a <b> | c` exits *0*"),
            "`a <b> \\| c` exits \\*0\\*"
        );
        assert_eq!(md_inline("odd ` tick <x>"), "odd \\` tick &lt;x&gt;");
    }
}
