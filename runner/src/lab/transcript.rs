//! `console` transcripts: `$ command` lines followed by the expected output, where
//! `[..]` matches any text within a line, a line of `...` matches any number of lines,
//! and `[..NAME..]` matches like `[..]` and captures the text as variable `NAME`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use std::sync::OnceLock;

use regex::Regex;

/// One expected output line.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// A line: `text` is the original (for messages), `source` its anchored regex,
    /// compiled on first use (parsing a lab must stay fast; the regex always compiles
    /// because literal parts are escaped and capture names validated).
    Line {
        text: String,
        source: String,
        regex: OnceLock<Regex>,
    },
    /// `...`: zero or more lines.
    AnyLines,
}

/// A command of a transcript with its expected output.
#[derive(Debug, Clone)]
pub struct TranscriptCommand {
    pub command: String,
    /// 0-based line of the `$` line inside the block body.
    pub line_in_body: usize,
    pub expected: Vec<Pattern>,
    /// Capture names defined by this command's patterns, in order of appearance.
    pub captures: Vec<String>,
    /// When the block shows no output lines at all, the output is not checked.
    pub output_checked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptError {
    pub message: String,
    pub line_in_body: usize,
    pub col: usize,
}

/// Parses a `console` block body.
pub fn parse(body: &str) -> Result<Vec<TranscriptCommand>, TranscriptError> {
    let mut commands: Vec<TranscriptCommand> = Vec::new();
    let mut continuing = false;
    for (n, raw) in body.lines().enumerate() {
        let line = raw.trim_end();
        if continuing {
            let cmd = commands.last_mut().expect("continuation follows a command");
            let part = line.strip_prefix("> ").unwrap_or(line);
            cmd.command.push('\n');
            cmd.command.push_str(part);
            continuing = line.ends_with('\\');
            continue;
        }
        if let Some(cmd) = line
            .strip_prefix("$ ")
            .or_else(|| (line == "$").then_some(""))
        {
            if cmd.trim().is_empty() {
                return Err(TranscriptError {
                    message: "empty command after `$`".into(),
                    line_in_body: n,
                    col: 1,
                });
            }
            continuing = cmd.ends_with('\\');
            commands.push(TranscriptCommand {
                command: cmd.to_string(),
                line_in_body: n,
                expected: Vec::new(),
                captures: Vec::new(),
                output_checked: false,
            });
            continue;
        }
        let Some(cmd) = commands.last_mut() else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(TranscriptError {
                message: "expected a `$ command` line before any output".into(),
                line_in_body: n,
                col: 1,
            });
        };
        cmd.output_checked = true;
        if line.trim() == "..." {
            cmd.expected.push(Pattern::AnyLines);
            continue;
        }
        let (source, names) = compile_line(line).map_err(|(message, col)| TranscriptError {
            message,
            line_in_body: n,
            col,
        })?;
        for name in names {
            if !cmd.captures.contains(&name) {
                cmd.captures.push(name);
            }
        }
        cmd.expected.push(Pattern::Line {
            text: line.to_string(),
            source,
            regex: OnceLock::new(),
        });
    }
    // Trailing empty lines of the block are not expectations.
    for cmd in &mut commands {
        while matches!(cmd.expected.last(), Some(Pattern::Line { text, .. }) if text.trim().is_empty())
        {
            cmd.expected.pop();
        }
    }
    Ok(commands)
}

impl Pattern {
    fn regex(&self) -> Option<&Regex> {
        match self {
            Pattern::Line { source, regex, .. } => {
                Some(regex.get_or_init(|| {
                    Regex::new(source).expect("escaped literal parts always compile")
                }))
            }
            Pattern::AnyLines => None,
        }
    }
}

/// Longest regex source compiled lazily without being validated at parse time.
const LAZY_COMPILE_MAX: usize = 4096;

/// Translates one expected line; returns the regex source and the capture names it defines.
fn compile_line(line: &str) -> Result<(String, Vec<String>), (String, usize)> {
    let mut re = String::from("^");
    let mut names = Vec::new();
    let mut rest = line;
    let mut col = 1;
    while let Some(start) = rest.find("[..") {
        re.push_str(&regex::escape(&rest[..start]));
        col += rest[..start].chars().count();
        let after = &rest[start + 3..];
        if let Some(after_any) = after.strip_prefix(']') {
            re.push_str(".*?");
            rest = after_any;
            col += 4;
            continue;
        }
        let Some(end) = after.find("..]") else {
            // Not a wildcard after all: keep the text literally.
            re.push_str(&regex::escape("[.."));
            rest = after;
            col += 3;
            continue;
        };
        let name = &after[..end];
        if !is_identifier(name) {
            return Err((
                format!(
                    "invalid capture name `{name}`: expected letters, digits and `_`, not starting with a digit"
                ),
                col,
            ));
        }
        if names.iter().any(|n| n == name) {
            return Err((format!("capture `{name}` appears twice in one line"), col));
        }
        let _ = write!(re, "(?P<{name}>.+?)");
        names.push(name.to_string());
        col += name.chars().count() + 6;
        rest = &after[end + 3..];
    }
    re.push_str(&regex::escape(rest));
    re.push('$');
    // A short line always compiles (literals escaped, names checked); a huge one may
    // exceed the regex size limit: find out now, not with a panic when matching.
    if re.len() > LAZY_COMPILE_MAX
        && let Err(e) = Regex::new(&re)
    {
        return Err((format!("expected-output line too long to match: {e}"), 1));
    }
    Ok((re, names))
}

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What a [`Mismatch`] names when the output ended (the checker words it per language).
pub const END_OF_OUTPUT: &str = "<end of output>";

/// Why an output did not match its transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The first expected line that could not be matched.
    pub expected_line: String,
    /// The output line found at that point (or [`END_OF_OUTPUT`]).
    pub found_line: String,
}

/// Matches `output` against the patterns; returns the captures on success.
pub fn matches(patterns: &[Pattern], output: &str) -> Result<BTreeMap<String, String>, Mismatch> {
    let lines: Vec<&str> = output.lines().map(str::trim_end).collect();
    let mut best = (0usize, 0usize);
    let mut memo = std::collections::HashSet::new();
    let mut caps = BTreeMap::new();
    if walk(patterns, &lines, 0, 0, &mut caps, &mut memo, &mut best) {
        return Ok(caps);
    }
    let (pi, li) = best;
    let expected_line = patterns[pi..]
        .iter()
        .find_map(|p| match p {
            Pattern::Line { text, .. } => Some(text.clone()),
            Pattern::AnyLines => None,
        })
        .unwrap_or_else(|| END_OF_OUTPUT.into());
    let found_line = lines
        .get(li)
        .map_or_else(|| END_OF_OUTPUT.to_string(), |l| (*l).to_string());
    Err(Mismatch {
        expected_line,
        found_line,
    })
}

fn walk(
    patterns: &[Pattern],
    lines: &[&str],
    pi: usize,
    li: usize,
    caps: &mut BTreeMap<String, String>,
    memo: &mut std::collections::HashSet<(usize, usize)>,
    best: &mut (usize, usize),
) -> bool {
    if (pi, li) > *best {
        *best = (pi, li);
    }
    if pi == patterns.len() {
        return li == lines.len();
    }
    if !memo.insert((pi, li)) {
        return false;
    }
    match &patterns[pi] {
        Pattern::AnyLines => {
            (li..=lines.len()).any(|next| walk(patterns, lines, pi + 1, next, caps, memo, best))
        }
        pattern @ Pattern::Line { .. } => {
            let regex = pattern.regex().expect("a line pattern");
            let Some(line) = lines.get(li) else {
                return false;
            };
            let Some(found) = regex.captures(line) else {
                return false;
            };
            let added: Vec<String> = regex
                .capture_names()
                .flatten()
                .filter_map(|name| {
                    let value = found.name(name)?.as_str().to_string();
                    caps.insert(name.to_string(), value)
                        .is_none()
                        .then(|| name.to_string())
                })
                .collect();
            if walk(patterns, lines, pi + 1, li + 1, caps, memo, best) {
                return true;
            }
            for name in added {
                caps.remove(&name);
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_captures() {
        let cmds = parse("$ arp -an\n? ([..]) at [..GW_MAC..] [ether] on eth0\n").unwrap();
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].captures, vec!["GW_MAC"]);
        let caps = matches(
            &cmds[0].expected,
            "? (10.244.0.201) at f6:93:7d:11:4d:37 [ether] on eth0\n",
        )
        .unwrap();
        assert_eq!(caps["GW_MAC"], "f6:93:7d:11:4d:37");
    }

    #[test]
    fn ellipsis_matches_any_lines() {
        let cmds =
            parse("$ route -n\nKernel IP routing table\n...\n0.0.0.0 [..] eth0\n...\n").unwrap();
        let out = "Kernel IP routing table\nDestination Gateway\n0.0.0.0 10.244.0.201 UG eth0\n10.244.0.201 0.0.0.0 UH eth0\n";
        assert!(matches(&cmds[0].expected, out).is_ok());
        let err = matches(&cmds[0].expected, "Kernel IP routing table\nnothing\n").unwrap_err();
        assert_eq!(err.expected_line, "0.0.0.0 [..] eth0");
    }

    #[test]
    fn no_output_lines_means_unchecked() {
        let cmds = parse("$ ping -c1 x\n").unwrap();
        assert!(!cmds[0].output_checked);
    }

    #[test]
    fn a_huge_line_is_an_error_not_a_panic() {
        let line = "[..]x".repeat(200_000);
        let err = parse(&format!("$ x\n{line}\n")).unwrap_err();
        assert!(err.message.contains("too long"), "{}", err.message);
    }

    #[test]
    fn output_before_command_is_an_error() {
        assert!(parse("hello\n$ x\n").is_err());
    }

    #[test]
    fn mismatch_points_at_first_wrong_line() {
        let cmds = parse("$ x\na\nb\n").unwrap();
        let err = matches(&cmds[0].expected, "a\nc\n").unwrap_err();
        assert_eq!(err.expected_line, "b");
        assert_eq!(err.found_line, "c");
    }
}
