//! Where a YAML problem is: `serde_yaml` gives the offset of a bad value (or of a
//! map when the problem is found after reading it); diagnostics point at the key it
//! belongs to, which is what an author looks for.

use std::ops::Range;

use regex::Regex;

use super::source::floor_char_boundary;

/// Byte offset inside the parsed text where `serde_yaml` located the error, if any.
pub fn error_offset(e: &serde_yaml::Error, yaml: &str) -> Option<usize> {
    e.location()
        .map(|loc| floor_char_boundary(yaml, loc.index()))
}

/// The span to report for an error at `offset` in `yaml`: from the key of the value
/// found there (`timeout: 5 parsecs` -> from `timeout`) to the end of its line; or, when
/// the offset is at a key or starts a line, the token there.
pub fn error_span(yaml: &str, offset: usize) -> Range<usize> {
    let offset = floor_char_boundary(yaml, offset);
    let line_start = yaml[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = yaml[offset..].find('\n').map_or(yaml.len(), |i| offset + i);
    let line_end = line_start + yaml[line_start..line_end].trim_end().len();
    let before = yaml[line_start..offset].trim_end();
    if let Some(key) = before.strip_suffix(':') {
        let key = key.trim_end();
        let start = key
            .rfind(|c: char| c.is_whitespace() || c == ',' || c == '{')
            .map_or(0, |i| i + 1);
        if start < key.len() {
            return line_start + start..line_end.max(offset);
        }
    }
    offset..token_end(yaml, offset)
}

/// Span (inside `yaml`) of a `serde_yaml` error: at the key of a bad value, else the
/// first line (no location, e.g. a missing field).
pub fn error_span_of(e: &serde_yaml::Error, yaml: &str) -> Range<usize> {
    match error_offset(e, yaml) {
        Some(offset) => error_span(yaml, offset),
        None => 0..yaml.find('\n').unwrap_or(yaml.len()),
    }
}

/// End of the token starting at `offset` (at least one character when there is one).
pub fn token_end(text: &str, offset: usize) -> usize {
    let rest = &text[offset..];
    let len = rest
        .find(|c: char| c.is_whitespace() || c == ':' || c == ',' || c == '}' || c == ']')
        .unwrap_or(rest.len());
    if len == 0 {
        offset + rest.chars().next().map_or(0, char::len_utf8)
    } else {
        offset + len
    }
}

/// Spans of the block-style `key:` entries named `key` in `text`, in order (also
/// inside a list item `- key:` or a block quote `> key:`).
pub fn find_keys(text: &str, key: &str) -> Vec<Range<usize>> {
    let k = regex::escape(key);
    let pattern = format!(r#"(?m)^[ \t>-]*({k}|"{k}"|'{k}')[ \t]*:(?:[ \t]|$)"#);
    Regex::new(&pattern).map_or_else(
        |_| Vec::new(),
        |re| {
            re.captures_iter(text)
                .filter_map(|c| c.get(1).map(|m| m.range()))
                .collect()
        },
    )
}

/// The first `key:` entry of `text`.
pub fn find_key(text: &str, key: &str) -> Option<Range<usize>> {
    find_keys(text, key).into_iter().next()
}

/// `serde_yaml` messages end with "at line X column Y"; we print the location ourselves.
pub fn clean_error(e: &serde_yaml::Error) -> String {
    let msg = e.to_string();
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_error_points_at_its_key() {
        let yaml = "  run: x\n  timeout: 5 parsecs\n";
        let at = yaml.find("5 p").unwrap();
        assert_eq!(&yaml[error_span(yaml, at)], "timeout: 5 parsecs");
        let flow = "{run: x, timeout: 5 parsecs}";
        let at = flow.find("5 p").unwrap();
        assert!(flow[error_span(flow, at)].starts_with("timeout: 5"));
        let key = yaml.find("run").unwrap();
        assert_eq!(&yaml[error_span(yaml, key)], "run");
    }

    #[test]
    fn finds_block_keys() {
        let text = "id: a\ntitle: b\n> - target: pod\nid: c\n";
        let ids = find_keys(text, "id");
        assert_eq!(ids, vec![0..2, 31..33]);
        assert_eq!(find_key(text, "target"), Some(19..25));
        assert_eq!(find_key(text, "nope"), None);
        assert_eq!(find_key("\"id\": 1", "id"), Some(0..4));
    }

    #[test]
    fn ends_of_tokens_are_boundaries() {
        assert_eq!(token_end("é", 0), 2);
        assert_eq!(token_end(":", 0), 1);
        assert_eq!(token_end("", 0), 0);
    }
}
