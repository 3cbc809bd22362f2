//! Dangling lead-ins: a paragraph announcing a block ("l'équivalent est :") that, in one
//! of the lab's environments, is followed by nothing shown — the block it announced is
//! for another environment. Each environment's text is rendered as the student sees it
//! (`{% if env == … %}` applied), since that is where such holes appear.

use std::ops::Range;

use crate::lab::{DiagCode, Diagnostic, Item, ItemKind, Lab};
use crate::session::plan::Scope;
use crate::template::{self, Vars};

/// False when, in `env`, the block a lead-in announces is missing: the first item shown
/// after it is not a block the student reads (command, transcript, code, question) and
/// blocks of other environments were skipped to get there (a lead-in before checks in
/// every environment is not an environment's hole). Hints (`<details>`) are not in the
/// text's flow.
fn block_follows(items: &[Item], scope: Scope<'_>) -> bool {
    let mut skipped = false;
    for item in items {
        let shown = match &item.kind {
            ItemKind::Command(c) => scope.command(c),
            ItemKind::Transcript(t) => scope.transcript(t),
            ItemKind::Question(q) => scope.question(q),
            ItemKind::Code { .. } => true,
            // What comes after checks is no longer what the lead-in introduced.
            ItemKind::Prose(_) | ItemKind::Checks(_) => return !skipped,
            ItemKind::Lifecycle(l) if l.shown => scope.lifecycle(l),
            ItemKind::Hint(_) | ItemKind::Lifecycle(_) => continue,
        };
        if shown {
            return true;
        }
        skipped = true;
    }
    !skipped
}

/// The prose as shown in `env`: every variable but `env` stands for a neutral word.
fn shown(text: &str, env: &str) -> Option<String> {
    let mut vars: Vars = template::variables(text)
        .ok()?
        .into_iter()
        .map(|v| (v, "x".to_string()))
        .collect();
    vars.insert("env".into(), env.into());
    template::render(text, &vars).ok()
}

/// The source range of the prose's last line (where the lead-in is).
fn last_line(lab: &Lab, span: &Range<usize>) -> Range<usize> {
    let text = &lab.source.text[span.clone()];
    let trimmed = text.trim_end();
    let start = trimmed.rfind('\n').map_or(0, |i| i + 1);
    span.start + start..span.start + trimmed.len()
}

pub fn check(lab: &Lab, out: &mut Vec<Diagnostic>) {
    for env in &lab.meta.environments {
        for step in &lab.steps {
            for (i, item) in step.items.iter().enumerate() {
                let ItemKind::Prose(text) = &item.kind else {
                    continue;
                };
                let Some(seen) = shown(text, env) else {
                    continue; // template errors are reported by the variables check
                };
                if !seen.trim_end().ends_with(':') {
                    continue;
                }
                if block_follows(&step.items[i + 1..], Scope::new(&lab.meta, env)) {
                    continue;
                }
                let mut d = Diagnostic::warning(
                    DiagCode::DanglingLeadIn,
                    &lab.source,
                    last_line(lab, &item.span),
                    format!(
                        "in environment `{env}`, this text announces a block that is not shown"
                    ),
                );
                d.add_note(format!(
                    "the block after it is for other environments; say it only there with \
                     `{{% if env != \"{env}\" %}}…{{% endif %}}`, or give `{env}` its own block"
                ));
                out.push(d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    const HEAD: &str = "---\nid: t\ntitle: T\nenvironments: [sandbox, kube]\nroles: [local, agent]\n---\n\n## S\n\n";

    fn warnings(body: &str) -> Vec<(usize, String)> {
        let parsed = crate::lab::parse("t.md", format!("{HEAD}{body}"));
        let lab = parsed.lab.expect("parses");
        let mut out = Vec::new();
        super::check(&lab, &mut out);
        out.iter()
            .map(|d| (lab.line_of(d.span.start), d.message.clone()))
            .collect()
    }

    const CHECK: &str = "```check\n- run: \"true\"\n```\n";

    #[test]
    fn a_block_for_another_environment_leaves_the_lead_in_dangling() {
        let body = format!(
            "Intro.\n\nIn the agent pod, the equivalent is:\n\n```sh {{target=agent env=kube}}\ncilium-dbg config --all\n```\n\n{CHECK}"
        );
        let w = warnings(&body);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].0, 12, "at the lead-in's line");
        assert!(w[0].1.contains("`sandbox`"), "{w:?}");
    }

    #[test]
    fn lead_ins_said_only_where_their_block_is_shown_pass() {
        let body = format!(
            "{{% if env == \"kube\" %}}In the agent pod:{{% endif %}}\n\n```sh {{target=agent env=kube}}\ncilium-dbg config --all\n```\n\nShown everywhere:\n\n```sh {{target=local}}\nkubectl get cm/{{{{ name }}}} -o yaml\n```\n\n{CHECK}"
        );
        assert!(warnings(&body).is_empty(), "{:?}", warnings(&body));
    }

    #[test]
    fn the_reference_lab_has_no_dangling_lead_in() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../labs/ebpf-network-deep-dive/lab.md"
        );
        let text = std::fs::read_to_string(path).expect("reference lab");
        let parsed = crate::lab::parse(path, text);
        let lab = parsed.lab.expect("parses");
        let mut out = Vec::new();
        super::check(&lab, &mut out);
        let lines: Vec<usize> = out.iter().map(|d| lab.line_of(d.span.start)).collect();
        assert!(out.is_empty(), "dangling lead-ins at lines {lines:?}");
    }
}
