//! Dotted sandbox facts beyond their first word: `{{ service.web.cluster_ip }}` must name a
//! Service of the lab's `sandbox:` topology and a fact a Service has, `{{ node.node2.ip }}`
//! a node that exists and has one (the private address needs two nodes). The first word is
//! [`super::vars`]' business.

use std::collections::BTreeSet;
use std::ops::Range;

use tplab_sandbox::{NODE_FACTS, POD_FACTS, SERVICE_FACTS, SandboxConfig, ServiceType};
use tplab_vocab::diag::did_you_mean;

use crate::lab::{DiagCode, Diagnostic, Lab};
use crate::template;

/// One kind of object with per-object facts: its names in this lab's sandbox and the
/// facts each has.
struct Objects {
    /// `pod`, `node`, `service`: the first word.
    kind: &'static str,
    /// What a person calls one, in messages.
    noun: &'static str,
    names: Vec<String>,
    leaves: &'static [&'static str],
}

/// The sandbox the lab declares (the seed's when it declares none); `None` when its
/// `sandbox:` block is invalid (reported elsewhere).
fn topology(lab: &Lab) -> Option<SandboxConfig> {
    let base = SandboxConfig::default();
    match &lab.meta.sandbox {
        Some(t) => crate::env::lab_topology::apply(base, t).ok(),
        None => Some(base),
    }
}

fn objects(cfg: &SandboxConfig) -> [Objects; 3] {
    [
        Objects {
            kind: "pod",
            noun: "pod",
            names: cfg.pods.iter().map(|p| p.name.clone()).collect(),
            leaves: POD_FACTS,
        },
        Objects {
            kind: "node",
            noun: "node",
            names: cfg.node_plans().into_iter().map(|n| n.name).collect(),
            leaves: NODE_FACTS,
        },
        Objects {
            kind: "service",
            noun: "Service",
            names: cfg.services.iter().map(|s| s.name.clone()).collect(),
            leaves: SERVICE_FACTS,
        },
    ]
}

/// What is wrong with `words` (a dotted path): the index of the bad word and the message
/// with its notes.
fn problem(
    cfg: &SandboxConfig,
    kinds: &[Objects],
    words: &[&str],
) -> Option<(usize, String, String)> {
    let (first, name) = (*words.first()?, *words.get(1)?);
    let objects = kinds.iter().find(|o| o.kind == first)?;
    let names: Vec<&str> = objects.names.iter().map(String::as_str).collect();
    if !names.contains(&name) {
        let hint = did_you_mean(name, &names)
            .map(|n| format!(": did you mean `{n}`?"))
            .unwrap_or_default();
        let known = if names.is_empty() {
            format!("it declares no {}", objects.noun)
        } else {
            format!("{}s: {}", objects.noun, names.join(", "))
        };
        return Some((
            1,
            format!("no {} `{name}` in the lab's sandbox{hint}", objects.noun),
            format!("{known} (the lab's `sandbox:` block)"),
        ));
    }
    let leaf = *words.get(2)?;
    let missing_here = match (first, leaf) {
        ("node", "ip") => cfg.nodes <= 1,
        ("service", "node_port") => cfg
            .services
            .iter()
            .any(|s| s.name == name && s.kind != ServiceType::NodePort),
        _ => false,
    };
    if missing_here {
        let why = if first == "node" {
            "a node has an address on the private network (`eth1`) only with `nodes: 2` or more"
        } else {
            "only a `type: NodePort` Service has a node port"
        };
        return Some((
            2,
            format!("`{first}.{name}` has no `{leaf}`"),
            why.to_string(),
        ));
    }
    if objects.leaves.contains(&leaf) {
        return None;
    }
    let hint = did_you_mean(leaf, objects.leaves)
        .map(|l| format!(": did you mean `{l}`?"))
        .unwrap_or_default();
    Some((
        2,
        format!("`{first}.{name}` has no fact `{leaf}`{hint}"),
        format!("a {} has: {}", objects.noun, objects.leaves.join(", ")),
    ))
}

pub fn check(lab: &Lab, out: &mut Vec<Diagnostic>) {
    if !lab.meta.environments.iter().any(|e| e == "sandbox") {
        return;
    }
    let Some(cfg) = topology(lab) else {
        return;
    };
    let kinds = objects(&cfg);
    for item in lab
        .intro
        .iter()
        .chain(lab.steps.iter().flat_map(|s| s.items.iter()))
    {
        let mut reported: BTreeSet<String> = BTreeSet::new();
        for text in super::vars::template_texts(item) {
            // A syntax error is reported by `vars`.
            let Ok(paths) = template::variable_paths(&text) else {
                continue;
            };
            for path in paths {
                let words: Vec<&str> = path.split('.').collect();
                let Some((index, message, note)) = problem(&cfg, &kinds, &words) else {
                    continue;
                };
                if !reported.insert(path.clone()) {
                    continue;
                }
                out.push(
                    Diagnostic::error(
                        DiagCode::UndefinedVariable,
                        &lab.source,
                        locate_word(lab, &item.span, &words, index),
                        message,
                    )
                    .note(note),
                );
            }
        }
    }
}

/// The span of word `index` of the dotted path `words` in the item, or its first line.
fn locate_word(lab: &Lab, within: &Range<usize>, words: &[&str], index: usize) -> Range<usize> {
    let text = &lab.source.text[within.clone()];
    let path = words.join(".");
    let Some(at) = text.find(&path) else {
        return lab.source.line_range(within.start);
    };
    let offset: usize = words[..index].iter().map(|w| w.len() + 1).sum();
    let start = within.start + at + offset;
    start..start + words.get(index).map_or(0, |w| w.len())
}

#[cfg(test)]
mod tests {
    use crate::lab::DiagCode;

    const HEAD: &str = "---\nid: t\ntitle: T\nenvironments: [sandbox]\nroles: [pod, node, node2]\nsandbox:\n  nodes: 2\n  pods:\n    web: { node: 2, serve: 8080 }\n  services:\n    - { name: web, port: 80, target_port: 8080, backends: [web] }\n---\n\n## S\n\n";

    fn lint(body: &str) -> Vec<(String, usize, usize)> {
        let text = format!("{HEAD}{body}");
        let parsed = crate::lab::parse("t.md", text);
        let lab = parsed.lab.expect("parses");
        let mut out = Vec::new();
        super::check(&lab, &mut out);
        out.iter()
            .filter(|d| d.code == DiagCode::UndefinedVariable)
            .map(|d| {
                let (line, col) = lab.source.line_col(d.span.start);
                (d.message.clone(), line, col)
            })
            .collect()
    }

    #[test]
    fn known_dotted_facts_pass() {
        let found = lint(
            "```sh {target=pod}\ncurl {{ service.web.cluster_ip }}:{{ service.web.port }} {{ node.node2.ip }} {{ pod.web.ip }}\n```\n\n```check\n- run: \"true\"\n```\n",
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn an_unknown_second_or_third_word_is_reported_where_it_is() {
        let found = lint(
            "```sh {target=pod}\ncurl {{ service.wbe.cluster_ip }}\nping {{ node.node2.eth1_ip }}\n```\n\n```check\n- run: \"true\"\n```\n",
        );
        let mut found = found;
        found.sort_by_key(|f| (f.1, f.2));
        assert_eq!(found.len(), 2, "{found:?}");
        let (msg, line, col) = &found[0];
        assert!(
            msg.contains("no Service `wbe`") && msg.contains("did you mean `web`?"),
            "{msg}"
        );
        // HEAD has 15 lines; the fence is line 16.
        assert_eq!((*line, *col), (17, 17));
        let (msg, line, col) = &found[1];
        assert!(msg.contains("`node.node2` has no fact `eth1_ip`"), "{msg}");
        assert_eq!((*line, *col), (18, 20));
    }

    #[test]
    fn a_fact_the_topology_lacks_is_reported() {
        let found = lint(
            "```sh {target=pod}\necho {{ service.web.node_port }} {{ pod.web.ipp }}\n```\n\n```check\n- run: \"true\"\n```\n",
        );
        let messages: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`service.web` has no `node_port`")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("did you mean `ip`?")),
            "{messages:?}"
        );
    }
}
