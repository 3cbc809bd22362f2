//! Lint of a check's `netns: NAME`: it reads inside a namespace of this machine, so it
//! runs on `local` only, names no role beside it, and its (rendered) name must be one
//! `ip netns` accepts.

use std::ops::Range;

use super::Linter;
use crate::lab::DiagCode;
use crate::lab::checks::CheckSpec;

/// The longest name tplab accepts (as for the front matter's `netns`).
const MAX_NAME: usize = 64;

impl Linter<'_> {
    pub(super) fn check_netns(&mut self, spec: &CheckSpec, span: &Range<usize>) {
        let Some(name) = &spec.netns else {
            return;
        };
        if let Some(target) = spec.target.as_deref().filter(|t| *t != "local") {
            let s = self.key(span, "target");
            self.error(
                DiagCode::BadCheck,
                s,
                format!("a check reads either a role or a namespace: `netns` with `target: {target}`"),
            )
            .add_note(format!(
                "bind the namespace to the role instead (front matter `netns: {{ {target}: \"{name}\" }}`), or drop `target`"
            ));
        }
        let envs = if spec.env.is_empty() {
            &self.lab.meta.environments
        } else {
            &spec.env
        };
        if let Some(env) = envs.iter().find(|e| *e != "local") {
            let s = self.key(span, "netns");
            self.error(
                DiagCode::BadCheck,
                s,
                format!("`netns` names a namespace of this machine: it works on `local` only, not on `{env}`"),
            )
            .add_note("add `env: local` to the check, or use a role of that environment as `target`");
        }
        let shown = super::lifecycle::sample(name);
        if !super::lifecycle::plain_name(&shown) || shown.len() > MAX_NAME {
            let s = self.find(span, name);
            self.error(
                DiagCode::BadCheck,
                s,
                format!("`{name}` is not a namespace name"),
            )
            .add_note(
                "use letters, digits, `-`, `_` or `.` (at most 64), e.g. `red-{{ session_id }}`",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lab::DiagCode;

    fn problems(envs: &str, check: &str) -> Vec<(DiagCode, usize, String)> {
        let text = format!(
            "---\nid: t\ntitle: T\nenvironments: [{envs}]\nroles: [local, red]\nnetns: {{ red: red-x }}\n---\n\n## S\n\n```check\n{check}```\n"
        );
        let parsed = crate::lab::parse("t.md", text);
        let lab = parsed.lab.expect("parses");
        super::super::lint(&lab)
            .into_iter()
            .map(|d| (d.code, lab.line_of(d.span.start), d.message))
            .collect()
    }

    #[test]
    fn a_namespace_named_on_local_lints_clean() {
        let p = problems(
            "local",
            "- link: { name: lo, admin_up: true }\n  netns: \"blue-{{ session_id }}\"\n- any_of:\n    - route: { dst: default }\n    - run: ip route\n  netns: blue-{{ session_id }}\n  target: local\n",
        );
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn a_namespace_off_local_beside_a_role_or_misnamed_is_refused() {
        let p = problems("local, sandbox", "- link: { name: lo }\n  netns: blue\n");
        assert!(
            p.iter().any(|(c, line, m)| *c == DiagCode::BadCheck
                && *line == 13
                && m.contains("not on `sandbox`")),
            "{p:?}"
        );
        let p = problems(
            "local",
            "- link: { name: lo }\n  netns: blue\n  target: red\n",
        );
        assert!(
            p.iter()
                .any(|(c, _, m)| *c == DiagCode::BadCheck && m.contains("`target: red`")),
            "{p:?}"
        );
        let p = problems("local", "- link: { name: lo }\n  netns: ../etc\n");
        assert!(
            p.iter()
                .any(|(c, _, m)| *c == DiagCode::BadCheck && m.contains("not a namespace name")),
            "{p:?}"
        );
        // `env: local` on the check makes it fine in a lab for two environments.
        let p = problems(
            "local, sandbox",
            "- link: { name: lo }\n  netns: blue\n  env: local\n",
        );
        assert!(!p.iter().any(|(c, _, _)| *c == DiagCode::BadCheck), "{p:?}");
    }
}
