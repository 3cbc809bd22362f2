//! Variable flow: every `{{ var }}` must be defined before use — by the front matter,
//! the environments' facts, or a capture earlier in the lab.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use crate::env::registry;
use crate::lab::transcript::Pattern;
use crate::lab::{DiagCode, Diagnostic, Item, ItemKind, Lab};
use crate::template;

pub use crate::lab::defines::{definitions, regex_groups};

/// Template texts an item renders.
pub fn template_texts(item: &Item) -> Vec<String> {
    match &item.kind {
        ItemKind::Prose(p) => vec![p.clone()],
        ItemKind::Code { text, .. } | ItemKind::Hint(text) => vec![text.clone()],
        ItemKind::Command(c) => vec![c.script.clone()],
        ItemKind::Lifecycle(l) => vec![l.block.script.clone()],
        ItemKind::Transcript(t) => t
            .commands
            .iter()
            .flat_map(|c| {
                std::iter::once(c.command.clone()).chain(c.expected.iter().filter_map(
                    |p| match p {
                        Pattern::Line { text, .. } => Some(text.clone()),
                        Pattern::AnyLines => None,
                    },
                ))
            })
            .collect(),
        ItemKind::Checks(checks) => {
            let mut out = Vec::new();
            for c in checks {
                template::yaml_strings(&c.raw, &mut out);
            }
            out
        }
        ItemKind::Question(q) => {
            let s = &q.spec;
            let mut out = vec![s.prompt.clone()];
            out.extend(s.answer.0.iter().cloned());
            out.extend(s.choices.iter().cloned());
            out.extend(s.explain.clone());
            out.extend(s.hint.0.iter().cloned());
            out.extend(s.accept.0.iter().cloned());
            for f in &s.feedback {
                out.extend([f.answer.clone(), f.says.clone()]);
            }
            out
        }
    }
}

pub fn check(lab: &Lab, out: &mut Vec<Diagnostic>) {
    let mut defined: BTreeSet<String> = registry::BUILTIN_VARS
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    defined.extend(lab.meta.vars.keys().cloned());
    defined.extend(crate::lab::lifecycle::netns_vars(&lab.meta).into_keys());
    for env in &lab.meta.environments {
        defined.extend(registry::facts(env).iter().map(|s| (*s).to_string()));
        // Per-object facts of the sandbox, read as `pod.<name>.ip`, `node.<name>.ip`,
        // `service.<name>.cluster_ip` (their leaves depend on the topology).
        if env == "sandbox" {
            defined.extend(["pod", "node", "service"].map(String::from));
        }
    }
    let units = units(lab);
    unused_captures(lab, &units, out);
    // Where each capture is first defined, to tell "defined later" from "never defined".
    let mut later: HashMap<String, usize> = HashMap::new();
    for unit in &units {
        for name in &unit.defines {
            later.entry(name.clone()).or_insert(unit.span.start);
        }
    }
    for unit in units {
        let item = &unit;
        // An item's texts (a check's `run`, `name`, `stdout`…) share one location per
        // variable: each problem is reported once, where it first appears.
        let mut reported: BTreeSet<String> = BTreeSet::new();
        for text in &unit.texts {
            match template::variables(text) {
                Err(msg) => {
                    if !reported.insert(format!("\u{1}syntax {msg}")) {
                        continue;
                    }
                    out.push(syntax_error(lab, &item.span, text, &msg));
                }
                Ok(used) => {
                    for var in used.difference(&defined) {
                        if !reported.insert(var.clone()) {
                            continue;
                        }
                        let span = locate_var(lab, &item.span, var);
                        let diag = if let Some(def) = later.get(var) {
                            let line = lab.line_of(*def);
                            Diagnostic::error(
                                DiagCode::CaptureBeforeDefinition,
                                &lab.source,
                                span,
                                format!("`{var}` is used before it is captured"),
                            )
                            .label(format!("captured later, at line {line}"))
                            .note("move this use after the step that captures it")
                        } else {
                            Diagnostic::error(
                                DiagCode::UndefinedVariable,
                                &lab.source,
                                span,
                                format!("undefined variable `{var}`"),
                            )
                            .note(format!("defined here: {}", listed(&defined)))
                        };
                        out.push(diag);
                    }
                }
            }
        }
        defined.extend(unit.defines);
    }
}

/// A template that does not parse. Docker's and kubectl's Go templates
/// (`{{.State.Running}}`, `{{ .status.podIP }}`) are the usual cause: they are told to
/// wrap them in `{% raw %}…{% endraw %}`, and pointed at, not at the item's first `{{`.
fn syntax_error(
    lab: &Lab,
    span: &Range<usize>,
    text: &str,
    msg: &dyn std::fmt::Display,
) -> Diagnostic {
    let go = go_template(text);
    let at = go.unwrap_or("{{");
    let diag = Diagnostic::error(
        DiagCode::TemplateSyntax,
        &lab.source,
        locate(lab, span, at),
        format!("template error: {msg}"),
    )
    .note("templates use minijinja syntax: `{{ variable }}`");
    match go {
        Some(found) => diag.note(format!(
            "`{found}…` looks like a Go template (docker, kubectl): tplab renders `{{{{ }}}}` itself; wrap the command in `{{% raw %}}…{{% endraw %}}` so it reaches the tool unchanged"
        )),
        None => diag,
    }
}

/// The start of a Go template (`{{.` or `{{ .`, `{{-`-trimmed too) in `text`, if any.
fn go_template(text: &str) -> Option<&'static str> {
    ["{{.", "{{ .", "{{- .", "{{-."]
        .into_iter()
        .find(|open| text.contains(open))
}

/// The defined names (sorted), at most [`MAX_LISTED`] of them: a note listing
/// thousands per diagnostic would be unreadable, and quadratic to print.
fn listed(defined: &BTreeSet<String>) -> String {
    let mut names: Vec<&str> = defined
        .iter()
        .take(MAX_LISTED)
        .map(String::as_str)
        .collect();
    let more = defined.len().saturating_sub(MAX_LISTED);
    let more = format!("and {more} more");
    if defined.len() > MAX_LISTED {
        names.push(&more);
    }
    names.join(", ")
}

const MAX_LISTED: usize = 40;

/// The smallest pieces with their own uses and definitions, in document order: items,
/// except that each entry of a check block is its own unit (a check may use what the
/// previous entry of the same block captured).
struct Unit {
    span: Range<usize>,
    texts: Vec<String>,
    defines: Vec<String>,
    /// What the author asked to capture by name (`capture:` keys, `[..NAME..]`), as
    /// opposed to a regex group that may only name a part of the match.
    captures: Vec<String>,
}

/// A warning for each named capture that nothing after it uses (a typo in one of the
/// two names, or a leftover); the report still records it, hence not an error.
fn unused_captures(lab: &Lab, units: &[Unit], out: &mut Vec<Diagnostic>) {
    for (i, unit) in units.iter().enumerate() {
        for name in &unit.captures {
            let used = units[i..].iter().any(|u| {
                u.texts
                    .iter()
                    .any(|t| template::variables(t).is_ok_and(|vars| vars.contains(name)))
            });
            if !used {
                out.push(
                    Diagnostic::warning(
                        DiagCode::UnusedCapture,
                        &lab.source,
                        locate(lab, &unit.span, name),
                        format!("`{name}` is captured but never used"),
                    )
                    .note("use it as `{{ NAME }}` in a later command, check, question or text, or remove the capture"),
                );
            }
        }
    }
}

/// Named captures of a check (its members' too).
fn check_captures(spec: &crate::lab::checks::CheckSpec) -> Vec<String> {
    let mut names: Vec<String> = spec.capture.keys().cloned().collect();
    if let Some(crate::lab::checks::KindSpec::Group(g)) = spec.kind() {
        names.extend(g.members.iter().flat_map(check_captures));
    }
    names
}

fn units(lab: &Lab) -> Vec<Unit> {
    let mut out = Vec::new();
    for item in lab
        .intro
        .iter()
        .chain(lab.steps.iter().flat_map(|s| s.items.iter()))
    {
        if let ItemKind::Checks(checks) = &item.kind {
            for c in checks {
                let mut texts = Vec::new();
                template::yaml_strings(&c.raw, &mut texts);
                let single = Item {
                    span: c.span.clone(),
                    kind: ItemKind::Checks(vec![c.clone()]),
                };
                out.push(Unit {
                    span: c.span.clone(),
                    texts,
                    defines: definitions(&single),
                    captures: check_captures(&c.spec),
                });
            }
            continue;
        }
        let captures = match &item.kind {
            ItemKind::Transcript(_) => definitions(item),
            _ => Vec::new(),
        };
        out.push(Unit {
            span: item.span.clone(),
            texts: template_texts(item),
            defines: definitions(item),
            captures,
        });
    }
    out
}

fn locate(lab: &Lab, within: &Range<usize>, needle: &str) -> Range<usize> {
    let text = &lab.source.text[within.clone()];
    match text.find(needle) {
        Some(i) => within.start + i..within.start + i + needle.len(),
        None => lab.source.line_range(within.start),
    }
}

/// The first `var` inside a `{{ }}` / `{% %}` of the item.
fn locate_var(lab: &Lab, within: &Range<usize>, var: &str) -> Range<usize> {
    let text = &lab.source.text[within.clone()];
    let pattern = format!(r"\{{[{{%][^}}]*?\b({})\b", regex::escape(var));
    if let Some(m) = regex::Regex::new(&pattern)
        .ok()
        .and_then(|r| r.captures(text))
        .and_then(|c| c.get(1))
    {
        return within.start + m.start()..within.start + m.end();
    }
    locate(lab, within, var)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_a_bounded_number_of_names() {
        let few: BTreeSet<String> = ["b", "a"].map(String::from).into();
        assert_eq!(listed(&few), "a, b");
        let many: BTreeSet<String> = (0..1000).map(|i| format!("v{i:04}")).collect();
        let text = listed(&many);
        assert!(text.starts_with("v0000, v0001"));
        assert!(text.ends_with(", and 960 more"), "{text}");
    }
}
