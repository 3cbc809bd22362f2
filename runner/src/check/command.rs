//! `run:` checks and `console` transcripts: run a command on a role, judge its result.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;
use tplab_vocab::Lang;

use super::outcome::Outcome;
use super::text;
use crate::env::{Environment, ExecOutput};
use crate::lab::matchers::{StatusMatch, TextMatch};
use crate::lab::transcript::{self, Pattern, TranscriptCommand};
use crate::template::{self, Vars};

/// Default time a checking command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// If the shell said a tool is missing, the checker could not run: an error verdict.
pub fn missing_tool(out: &ExecOutput, lang: Lang) -> Option<String> {
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
    Some(match (pkg == tool, lang) {
        (true, Lang::En) => format!("`{tool}` is not installed on this machine"),
        (true, Lang::Fr) => format!("`{tool}` n’est pas installé sur cette machine"),
        (false, Lang::En) => {
            format!("`{tool}` is not installed: install it with `apt-get install {pkg}`")
        }
        (false, Lang::Fr) => format!(
            "`{tool}` n’est pas installé\u{202f}: installez-le avec `apt-get install {pkg}`"
        ),
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
    reason = "the rendered parts of one check, passed as the engine holds them, and the language"
)]
pub async fn run_check(
    env: &dyn Environment,
    role: &str,
    run: &str,
    status: Option<&StatusMatch>,
    stdout: Option<&TextMatch>,
    stderr: Option<&TextMatch>,
    capture: &BTreeMap<String, String>,
    limit: Duration,
    lang: Lang,
) -> Outcome {
    if let Some(why) = env.role_missing(role) {
        let runs = lang.pick("runs on", "s’exécute sur");
        return Outcome::fail(
            format!("`{}` {runs} {role}", run.trim()),
            why.message_in(lang),
        );
    }
    let out = match env.exec(role, run, limit).await {
        Ok(out) => out,
        Err(e) => return Outcome::error(e.message_in(lang)),
    };
    if let Some(msg) = missing_tool(&out, lang) {
        return Outcome::error(msg);
    }
    let evidence = output_evidence(role, run, &out);
    let want_status = status.cloned().unwrap_or_default();
    let wanted = want_status.describe(lang);
    let mut expected = vec![match lang {
        Lang::En => format!("`{}` exits with status {wanted}", run.trim()),
        Lang::Fr => format!("`{}` se termine avec le code {wanted}", run.trim()),
    }];
    let mut problems = Vec::new();
    if out.timed_out {
        // Whole milliseconds: the rest of a polling window is not a round number.
        let within = humantime::format_duration(Duration::from_millis(
            u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
        ));
        problems.push(lang.pick(
            format!("it did not finish within {within}"),
            format!("elle ne s’est pas terminée en {within}"),
        ));
    } else if !out.status.is_some_and(|code| want_status.holds(code)) {
        problems.push(match (out.status, lang) {
            (Some(code), Lang::En) => format!("it exited with status {code}"),
            (Some(code), Lang::Fr) => format!("elle s’est terminée avec le code {code}"),
            (None, _) => lang
                .pick("it was killed by a signal", "elle a été tuée par un signal")
                .to_string(),
        });
    }
    let mut captures = BTreeMap::new();
    for (name, m, text) in [
        ("stdout", stdout, &out.stdout),
        ("stderr", stderr, &out.stderr),
    ] {
        let Some(m) = m else { continue };
        match text::check(name, m, text, lang) {
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
                return Outcome::error(match lang {
                    Lang::En => format!("a command check has no field `{other}` to capture"),
                    Lang::Fr => format!(
                        "une vérification de commande n’a pas de champ `{other}` à capturer"
                    ),
                });
            }
        };
        captures.insert(var.clone(), value);
    }
    let expected = expected.join(lang.semicolon());
    if problems.is_empty() {
        let mut o = Outcome::pass(expected, as_expected(lang)).with_evidence(evidence);
        o.captures = captures;
        o
    } else {
        let mut found = problems.join(lang.semicolon());
        let tail = last_lines(
            if out.stderr.trim().is_empty() {
                &out.stdout
            } else {
                &out.stderr
            },
            3,
        );
        if !tail.is_empty() {
            let _ = write!(
                found,
                " ({}{} {tail})",
                lang.pick("output", "sortie"),
                lang.colon()
            );
        }
        Outcome::fail(expected, found).with_evidence(evidence)
    }
}

/// The `found` of a passing command.
fn as_expected(lang: Lang) -> &'static str {
    lang.pick("as expected", "comme attendu")
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
    lang: Lang,
) -> Outcome {
    if let Some(why) = env.role_missing(role) {
        let expected = match lang {
            Lang::En => format!("the transcript runs on {role}"),
            Lang::Fr => format!("la transcription s’exécute sur {role}"),
        };
        return Outcome::fail(expected, why.message_in(lang));
    }
    let mut captures = BTreeMap::new();
    let mut evidence = Vec::new();
    let mut scope = vars.clone();
    // What ran, as the student sees it: never the raw `{{ … }}` of the lab.
    let mut summary = Vec::with_capacity(commands.len());
    for cmd in commands {
        let command = match template::render(&cmd.command, &scope) {
            Ok(c) => c,
            Err(e) => {
                return Outcome::error(match lang {
                    // The raw command would show `{{ … }}`; the error names the variable.
                    Lang::En => format!("cannot render a command of the transcript: {e}"),
                    Lang::Fr => {
                        format!(
                            "impossible de préparer une commande de la transcription\u{202f}: {e}"
                        )
                    }
                });
            }
        };
        let out = match env.exec(role, &command, timeout).await {
            Ok(out) => out,
            Err(e) => return Outcome::error(e.message_in(lang)),
        };
        if let Some(msg) = missing_tool(&out, lang) {
            return Outcome::error(msg);
        }
        evidence.push(output_evidence(role, &command, &out));
        summary.push(format!("`{command}`"));
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
                let (prints, differs) = match lang {
                    Lang::En => (
                        format!("`{command}` prints a line like `{}`", m.expected_line),
                        format!("the output of `{command}` differs from the expected transcript"),
                    ),
                    Lang::Fr => (
                        format!("`{command}` affiche une ligne comme `{}`", m.expected_line),
                        format!("la sortie de `{command}` diffère de la transcription attendue"),
                    ),
                };
                let found = if lang == Lang::Fr && m.found_line == transcript::END_OF_OUTPUT {
                    "la fin de la sortie".to_string()
                } else {
                    format!("`{}`", m.found_line)
                };
                return Outcome::fail(prints, found)
                    .with_message(differs)
                    .with_evidence(serde_json::Value::Array(evidence));
            }
        }
    }
    let mut o = Outcome::pass(
        match lang {
            Lang::En => format!("{} match the transcript", summary.join(", ")),
            Lang::Fr => format!(
                "{}\u{202f}: sortie conforme à la transcription",
                summary.join(", ")
            ),
        },
        as_expected(lang),
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
