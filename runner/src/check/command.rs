//! `run:` checks and `console` transcripts: run a command on a role, judge its result.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use super::outcome::Outcome;
use super::text;
use crate::env::{Environment, ExecOutput};
use crate::lab::matchers::TextMatch;
use crate::lab::transcript::{self, Pattern, TranscriptCommand};
use crate::template::{self, Vars};

/// Default time a checking command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// If the shell said a tool is missing, the checker could not run: an error verdict.
pub fn missing_tool(out: &ExecOutput) -> Option<String> {
    if out.status != Some(127) {
        return None;
    }
    let line = out.stderr.lines().find(|l| l.contains("not found"))?;
    // dash: "sh: 1: ping: not found"; bash: "bash: ping: command not found"
    let tool = line
        .trim_end_matches(": command not found")
        .trim_end_matches(": not found")
        .rsplit(": ")
        .next()?
        .trim()
        .to_string();
    let pkg = tplab_sandbox::debian_package(&tool);
    Some(if pkg == tool {
        format!("`{tool}` is not installed on this machine")
    } else {
        format!("`{tool}` is not installed: install it with `apt-get install {pkg}`")
    })
}

fn output_evidence(role: &str, command: &str, out: &ExecOutput) -> serde_json::Value {
    json!({
        "role": role,
        "command": command,
        "status": out.status,
        "stdout": clip(&out.stdout),
        "stderr": clip(&out.stderr),
    })
}

fn clip(s: &str) -> String {
    const MAX: usize = 4000;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[... {} more bytes]", &s[..end], s.len() - end)
}

/// Evaluates a `run:` check.
#[allow(
    clippy::too_many_arguments,
    reason = "the rendered parts of one check, passed as the engine holds them"
)]
pub async fn run_check(
    env: &dyn Environment,
    role: &str,
    run: &str,
    status: Option<i32>,
    stdout: Option<&TextMatch>,
    stderr: Option<&TextMatch>,
    capture: &BTreeMap<String, String>,
    limit: Duration,
) -> Outcome {
    let out = match env.exec(role, run, limit).await {
        Ok(out) => out,
        Err(e) => return Outcome::error(e.to_string()),
    };
    if let Some(msg) = missing_tool(&out) {
        return Outcome::error(msg);
    }
    let evidence = output_evidence(role, run, &out);
    let want_status = status.unwrap_or(0);
    let mut expected = vec![format!("`{}` exits with status {want_status}", run.trim())];
    let mut problems = Vec::new();
    if out.timed_out {
        problems.push(format!(
            "it did not finish within {}",
            // Whole milliseconds: the rest of a polling window is not a round number.
            humantime::format_duration(Duration::from_millis(
                u64::try_from(limit.as_millis()).unwrap_or(u64::MAX)
            ))
        ));
    } else if out.status != Some(want_status) {
        problems.push(match out.status {
            Some(code) => format!("it exited with status {code}"),
            None => "it was killed by a signal".to_string(),
        });
    }
    let mut captures = BTreeMap::new();
    for (name, m, text) in [
        ("stdout", stdout, &out.stdout),
        ("stderr", stderr, &out.stderr),
    ] {
        let Some(m) = m else { continue };
        match text::check(name, m, text) {
            Ok(r) => {
                expected.extend(r.expected);
                problems.extend(r.problems);
                captures.extend(r.captures);
            }
            Err(msg) => return Outcome::error(msg),
        }
    }
    for (var, field) in capture {
        let value = match field.as_str() {
            "stdout" => out.stdout.trim().to_string(),
            "stderr" => out.stderr.trim().to_string(),
            "status" => out.status.map(|s| s.to_string()).unwrap_or_default(),
            other => {
                return Outcome::error(format!(
                    "a command check has no field `{other}` to capture"
                ));
            }
        };
        captures.insert(var.clone(), value);
    }
    let expected = expected.join("; ");
    if problems.is_empty() {
        let mut o = Outcome::pass(expected, "as expected").with_evidence(evidence);
        o.captures = captures;
        o
    } else {
        let mut found = problems.join("; ");
        let tail = last_lines(
            if out.stderr.trim().is_empty() {
                &out.stdout
            } else {
                &out.stderr
            },
            3,
        );
        if !tail.is_empty() {
            let _ = write!(found, " (output: {tail})");
        }
        Outcome::fail(expected, found).with_evidence(evidence)
    }
}

fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}

/// Runs a transcript's commands and matches their output; captures flow to `vars`.
pub async fn run_transcript(
    env: &dyn Environment,
    role: &str,
    commands: &[TranscriptCommand],
    timeout: Duration,
    vars: &Vars,
) -> Outcome {
    let mut captures = BTreeMap::new();
    let mut evidence = Vec::new();
    let mut scope = vars.clone();
    for cmd in commands {
        let command = match template::render(&cmd.command, &scope) {
            Ok(c) => c,
            Err(e) => return Outcome::error(format!("cannot render `{}`: {e}", cmd.command)),
        };
        let out = match env.exec(role, &command, timeout).await {
            Ok(out) => out,
            Err(e) => return Outcome::error(e.to_string()),
        };
        if let Some(msg) = missing_tool(&out) {
            return Outcome::error(msg);
        }
        evidence.push(output_evidence(role, &command, &out));
        if !cmd.output_checked {
            continue;
        }
        let patterns = match render_patterns(&cmd.expected, &scope) {
            Ok(p) => p,
            Err(e) => return Outcome::error(e),
        };
        let text = format!("{}{}", out.stdout, out.stderr);
        match transcript::matches(&patterns, &text) {
            Ok(caps) => {
                scope.extend(caps.clone());
                captures.extend(caps);
            }
            Err(m) => {
                return Outcome::fail(
                    format!("`{command}` prints a line like `{}`", m.expected_line),
                    format!("`{}`", m.found_line),
                )
                .with_message(format!(
                    "the output of `{command}` differs from the expected transcript"
                ))
                .with_evidence(serde_json::Value::Array(evidence));
            }
        }
    }
    let summary: Vec<String> = commands
        .iter()
        .map(|c| format!("`{}`", c.command))
        .collect();
    let mut o = Outcome::pass(
        format!("{} match the transcript", summary.join(", ")),
        "as expected",
    )
    .with_evidence(serde_json::Value::Array(evidence));
    o.captures = captures;
    o
}

/// Expected lines may use `{{ var }}`; render and recompile those.
fn render_patterns(patterns: &[Pattern], vars: &Vars) -> Result<Vec<Pattern>, String> {
    let mut out = Vec::with_capacity(patterns.len());
    for p in patterns {
        match p {
            Pattern::Line { text, .. } if template::has_template(text) => {
                let rendered = template::render(text, vars).map_err(|e| e.to_string())?;
                let body = format!("$ x\n{rendered}\n");
                let mut parsed = transcript::parse(&body).map_err(|e| e.message)?;
                out.extend(parsed.pop().map(|c| c.expected).unwrap_or_default());
            }
            other => out.push(other.clone()),
        }
    }
    Ok(out)
}
