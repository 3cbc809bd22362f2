//! Lint of what a lab declares about the machine: roles bound to namespaces
//! (`netns`), what it creates (`creates`), what it requires (`requires`), and the
//! lab-level `setup` / `cleanup` blocks.

use super::Linter;
use crate::env::container::Binding;
use crate::lab::{DiagCode, ItemKind};

/// What a rendered name may hold: `ip netns` and interface names, kernel modules.
pub(super) fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A name template rendered with placeholder values, for its static shape only.
pub(super) fn sample(template: &str) -> String {
    let mut vars = crate::template::Vars::new();
    for v in crate::env::registry::BUILTIN_VARS {
        vars.insert((*v).to_string(), "x0".into());
    }
    crate::template::render(template, &vars).unwrap_or_else(|_| "x0".into())
}

impl Linter<'_> {
    pub(super) fn lifecycle(&mut self) {
        let meta = &self.lab.meta;
        let span = self.lab.meta_span.clone();
        for (role, name) in &meta.netns {
            if !meta.roles.contains(role) {
                let s = self.key(&span, role);
                self.error(
                    DiagCode::UnknownRole,
                    s,
                    format!("role `{role}` is bound to a namespace but not declared in `roles`"),
                )
                .add_note(format!(
                    "add it: `roles: [{}, {role}]`",
                    meta.roles.join(", ")
                ));
            }
            if let Binding::Container {
                name: container, ..
            } = Binding::of(name)
            {
                if !plain_name(&sample(container)) {
                    let s = self.find(&span, name);
                    self.error(
                        DiagCode::FrontMatterInvalid,
                        s,
                        format!("`{container}` is not a container name"),
                    )
                    .add_note("use letters, digits, `-`, `_` or `.`");
                }
                if meta.creates.netns.contains(role) {
                    let s = self.find_in_entry(&span, "creates", role);
                    self.error(
                        DiagCode::FrontMatterInvalid,
                        s,
                        format!(
                            "role `{role}` is a container's namespace: tplab does not remove it"
                        ),
                    )
                    .add_note("remove the container in a `{cleanup}` block instead");
                }
                continue;
            }
            let shown = sample(name);
            if !plain_name(&shown) || shown.len() > 64 {
                let s = self.find(&span, name);
                self.error(
                    DiagCode::FrontMatterInvalid,
                    s,
                    format!("`{name}` is not a namespace name"),
                )
                .add_note(format!("use letters, digits, `-`, `_` or `.` (at most 64), e.g. `red-{{{{ session_id }}}}` so that two sessions never share a namespace; or a container: {}", crate::env::container::prefixes()));
            }
        }
        let creates = &meta.creates;
        for entry in creates.netns.iter().chain(&creates.links) {
            if meta.netns.contains_key(entry) {
                continue;
            }
            let shown = sample(entry);
            let link = creates.links.contains(entry);
            if !plain_name(&shown) || (link && shown.len() > 15) {
                let s = self.find(&span, entry);
                self.error(
                    DiagCode::FrontMatterInvalid,
                    s,
                    format!(
                        "`{entry}` in `creates` is not a {} name",
                        if link { "link" } else { "namespace" }
                    ),
                )
                .add_note(
                    "use letters, digits, `-`, `_` or `.` (an interface name has at most 15)",
                );
            }
        }
        let requires = &meta.requires;
        for (what, names) in [("kernel", &requires.kernel), ("tools", &requires.tools)] {
            for name in names.iter().filter(|n| !plain_name(n)) {
                let s = self.find(&span, name);
                self.error(
                    DiagCode::FrontMatterInvalid,
                    s,
                    format!(
                        "`{name}` in `requires.{what}` is not a {}",
                        if what == "kernel" {
                            "kernel module name"
                        } else {
                            "program name"
                        }
                    ),
                )
                .add_note("one name per entry, e.g. `kernel: [bridge, veth]`, `tools: [ip, ping]`");
            }
        }
        let known = tplab_vocab::lifecycle::KernelFeature::names();
        for name in &requires.features {
            if name
                .parse::<tplab_vocab::lifecycle::KernelFeature>()
                .is_ok()
            {
                continue;
            }
            let hint = tplab_vocab::diag::did_you_mean(name, &known)
                .map(|k| format!(": did you mean `{k}`?"))
                .unwrap_or_default();
            let s = self.find_value(&span, "features", name);
            self.error(
                DiagCode::FrontMatterInvalid,
                s,
                format!("unknown kernel feature `{name}` in `requires.features`{hint}"),
            )
            .add_note(format!(
                "tplab detects: {}; a kernel module goes in `requires.kernel`",
                known.join(", ")
            ));
        }
        let lab = self.lab;
        for item in &lab.intro {
            if let ItemKind::Lifecycle(l) = &item.kind {
                self.target(&l.block.target, &l.block.env, &item.span);
                self.envs(&l.block.env, &item.span);
            }
        }
    }
}

impl Linter<'_> {
    /// Span of `value` after the YAML key `key` inside `within` (a short name such as
    /// `vlan` may appear earlier in the front matter), else of its first occurrence.
    fn find_value(
        &self,
        within: &std::ops::Range<usize>,
        key: &str,
        value: &str,
    ) -> std::ops::Range<usize> {
        let text = &self.lab.source.text[within.clone()];
        let after = crate::lab::yaml::find_key(text, key).map_or(0, |r| r.end);
        match text[after..].find(value) {
            Some(i) => within.start + after + i..within.start + after + i + value.len(),
            None => self.find(within, value),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unknown_kernel_feature_is_reported_at_its_name() {
        let text = "---\nid: t\ntitle: T\nenvironments: [local]\nroles: [local]\nrequires:\n  kernel: [vlan]\n  features: [tcx, vlan, brige_vlan_filtering]\n---\n\n## S\n\n```check\n- run: \"true\"\n```\n";
        let parsed = crate::lab::parse("t.md", text.to_string());
        let lab = parsed.lab.expect("parses");
        let found: Vec<(usize, usize, String)> = super::super::lint(&lab)
            .iter()
            .filter(|d| d.message.contains("kernel feature"))
            .map(|d| {
                let (line, col) = lab.source.line_col(d.span.start);
                (line, col, d.message.clone())
            })
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        let (line, col, message) = &found[0];
        assert_eq!((*line, *col), (8, 25), "{message}");
        assert!(
            message.contains("did you mean `bridge_vlan_filtering`?"),
            "{message}"
        );
    }
}
