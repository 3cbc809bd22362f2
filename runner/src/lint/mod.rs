//! Static validation of a parsed lab (`tplab lint`): everything that can be known
//! without running it. Parse-time problems come from [`crate::lab::parse`]; this adds
//! the cross-cutting ones (roles, ids, variables and captures, check shapes).

mod check_netns;
#[cfg(test)]
mod codes;
mod dotted;
mod front_vars;
mod lead_in;
mod lifecycle;
pub mod step_envs;
mod vars;

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use crate::env::registry;
use crate::lab::checks::KindSpec;
use crate::lab::kinds;
use crate::lab::transcript::is_identifier;
use crate::lab::{DiagCode, Diagnostic, ItemKind, Lab};

/// Lints a parsed lab; returns the problems found (parse problems are separate).
pub fn lint(lab: &Lab) -> Vec<Diagnostic> {
    let mut linter = Linter {
        lab,
        out: Vec::new(),
    };
    linter.front_matter();
    linter.steps();
    vars::check(lab, &mut linter.out);
    dotted::check(lab, &mut linter.out);
    front_vars::check(lab, &mut linter.out);
    lead_in::check(lab, &mut linter.out);
    linter.lifecycle();
    linter.out
}

struct Linter<'a> {
    lab: &'a Lab,
    out: Vec<Diagnostic>,
}

impl Linter<'_> {
    fn error(
        &mut self,
        code: DiagCode,
        span: Range<usize>,
        msg: impl Into<String>,
    ) -> &mut Diagnostic {
        self.out
            .push(Diagnostic::error(code, &self.lab.source, span, msg));
        self.out.last_mut().expect("just pushed")
    }

    fn warning(
        &mut self,
        code: DiagCode,
        span: Range<usize>,
        msg: impl Into<String>,
    ) -> &mut Diagnostic {
        self.out
            .push(Diagnostic::warning(code, &self.lab.source, span, msg));
        self.out.last_mut().expect("just pushed")
    }

    /// Span of the first occurrence of `needle` inside `within`, or the first line of it.
    fn find(&self, within: &Range<usize>, needle: &str) -> Range<usize> {
        let text = &self.lab.source.text[within.clone()];
        match text.find(needle) {
            Some(i) => within.start + i..within.start + i + needle.len(),
            None => self.lab.source.line_range(within.start),
        }
    }

    /// Span of `needle` after the first `after` inside `within` (a role's name after
    /// `roles`, an environment after its role), else of the first `needle`.
    fn find_in_entry(&self, within: &Range<usize>, after: &str, needle: &str) -> Range<usize> {
        let text = &self.lab.source.text[within.clone()];
        match text.find(after) {
            Some(i) => self.find(&(within.start + i..within.end), needle),
            None => self.find(within, needle),
        }
    }

    /// Span of the YAML key `key` inside `within`, or the first line of it.
    fn key(&self, within: &Range<usize>, key: &str) -> Range<usize> {
        let text = &self.lab.source.text[within.clone()];
        match crate::lab::yaml::find_key(text, key) {
            Some(r) => within.start + r.start..within.start + r.end,
            None => self.lab.source.line_range(within.start),
        }
    }

    fn front_matter(&mut self) {
        let meta = &self.lab.meta;
        let span = self.lab.meta_span.clone();
        for env in &meta.environments {
            if !registry::environments().contains(&env.as_str()) {
                let s = self.find(&span, env);
                self.error(
                    DiagCode::UnknownEnvironment,
                    s,
                    format!("unknown environment `{env}`"),
                )
                .add_note(format!(
                    "expected one of: {}",
                    registry::environments().join(", ")
                ));
            }
        }
        // Roles a lab's own `sandbox:` topology adds (`node2`, `pod:web`).
        let topology_roles = meta
            .sandbox
            .as_ref()
            .map(tplab_vocab::lab_sandbox::LabSandbox::roles)
            .unwrap_or_default();
        self.role_envs(&span);
        let known = meta
            .environments
            .iter()
            .all(|e| registry::environments().contains(&e.as_str()));
        for role in meta.roles.iter() {
            // A role bound to a namespace is provided by `local` (`netns` in the front matter).
            let in_netns = meta.netns.contains_key(role);
            let provides = |e: &str| {
                (in_netns && e == "local")
                    || registry::roles(e).contains(&role.as_str())
                    || (e == "sandbox" && topology_roles.contains(role))
            };
            let lacking: Vec<&str> = meta
                .environments
                .iter()
                .map(String::as_str)
                .filter(|e| meta.roles.in_env(role, e) && !provides(e))
                .collect();
            if !lacking.is_empty() && known {
                let s = self.find_in_entry(&span, "roles", role);
                let providing: Vec<&str> = meta
                    .environments
                    .iter()
                    .map(String::as_str)
                    .filter(|e| provides(e))
                    .collect();
                let d = self
                    .error(
                        DiagCode::UnknownRole,
                        s,
                        format!(
                            "role `{role}` is not provided by environment `{}`",
                            lacking.join("`, `")
                        ),
                    )
                    .add_note(format!(
                        "`{}` provides: {}",
                        lacking[0],
                        registry::roles(lacking[0]).join(", ")
                    ));
                if !providing.is_empty() {
                    d.add_note(format!(
                        "to have it only where it exists, bind it per environment: `roles: {{ {role}: {{ envs: [{}] }} }}`",
                        providing.join(", ")
                    ));
                }
            }
        }
        if meta.id.trim().is_empty()
            || !meta
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            let s = self.find(&span, "id:");
            self.error(
                DiagCode::BadLabId,
                s,
                format!("invalid lab id `{}`", meta.id),
            )
            .add_note("expected letters, digits, `-` or `_` (it names report files)");
        }
        if !crate::lab::LANGS.contains(&meta.lang.as_str()) {
            let s = self.key(&span, "lang");
            self.error(
                DiagCode::UnknownLang,
                s,
                format!("unsupported language `{}`", meta.lang),
            )
            .add_note(format!(
                "`lang` is the language of tplab's own messages; expected one of: {}",
                crate::lab::LANGS.join(", ")
            ));
        }
        if self.lab.steps.is_empty() {
            self.error(DiagCode::NoSteps, span, "the lab has no steps")
                .add_note("each step is a `## Title` heading followed by its text and blocks");
        }
    }

    /// The environments of `roles: { R: { envs: [...] } }` must be the lab's own.
    fn role_envs(&mut self, span: &Range<usize>) {
        let meta = &self.lab.meta;
        for role in meta.roles.iter() {
            for env in meta.roles.envs_of(role).unwrap_or_default() {
                let s = self.find_in_entry(span, role, env);
                if !registry::environments().contains(&env.as_str()) {
                    self.error(
                        DiagCode::UnknownEnvironment,
                        s,
                        format!("unknown environment `{env}` for role `{role}`"),
                    )
                    .add_note(format!(
                        "expected one of: {}",
                        registry::environments().join(", ")
                    ));
                } else if !meta.environments.contains(env) {
                    self.error(
                        DiagCode::UnknownEnvironment,
                        s,
                        format!("role `{role}` is bound to `{env}`, which is not one of the lab's environments"),
                    )
                    .add_note(format!("the lab's `environments`: {}", meta.environments.join(", ")));
                }
            }
        }
    }

    fn steps(&mut self) {
        let mut seen: HashMap<&str, Range<usize>> = HashMap::new();
        let mut ids: HashMap<String, Range<usize>> = HashMap::new();
        let steps = &self.lab.steps;
        for (n, step) in steps.iter().enumerate() {
            // A block that failed to parse was already reported: no extra warning for it.
            let end = steps
                .get(n + 1)
                .map_or(self.lab.source.text.len(), |s| s.span.start);
            let text = &self.lab.source.text[step.span.start..end];
            let has_blocks = ["```check", "```question", "```console"]
                .iter()
                .any(|b| text.contains(b));
            if let Some(first) = seen.get(step.id.as_str()) {
                let line = self.lab.line_of(first.start);
                self.error(
                    DiagCode::DuplicateStepId,
                    step.span.clone(),
                    format!("duplicate step id `{}`", step.id),
                )
                .set_label(format!("first used at line {line}"))
                .add_note("give one of them an explicit id: `## Title {#my-id}`");
            } else {
                seen.insert(&step.id, step.span.clone());
            }
            let mut gradable = false;
            for item in &step.items {
                match &item.kind {
                    ItemKind::Command(c) => self.target(&c.target, &c.env, &item.span),
                    ItemKind::Lifecycle(l) => {
                        self.target(&l.block.target, &l.block.env, &item.span);
                        self.envs(&l.block.env, &item.span);
                    }
                    ItemKind::Transcript(t) => {
                        self.target(&t.target, &t.env, &item.span);
                        gradable = true;
                    }
                    ItemKind::Checks(checks) => {
                        for check in checks {
                            gradable = true;
                            self.check(check, &mut ids, &step.id);
                        }
                    }
                    ItemKind::Question(q) => {
                        gradable = true;
                        if let Some(id) = &q.spec.id {
                            self.unique_id(&mut ids, &step.id, id, &item.span);
                        }
                        if q.spec.attempts == Some(0) {
                            let s = self.key(&item.span, "attempts");
                            self.error(DiagCode::BadQuestion, s, "`attempts` must be at least 1");
                        }
                        self.envs(&q.spec.env.0, &item.span);
                    }
                    _ => {}
                }
                if let ItemKind::Command(c) = &item.kind {
                    self.envs(&c.env, &item.span);
                }
                if let ItemKind::Transcript(t) = &item.kind {
                    self.envs(&t.env, &item.span);
                }
            }
            if !gradable && !has_blocks {
                self.warning(DiagCode::StepWithoutChecks, step.span.clone(), format!("step `{}` has no check, transcript or question", step.id))
                    .add_note("nothing verifies this step; add a ```check block if the student must achieve something");
            }
        }
    }

    fn unique_id(
        &mut self,
        ids: &mut HashMap<String, Range<usize>>,
        step: &str,
        id: &str,
        span: &Range<usize>,
    ) {
        let key = format!("{step}/{id}");
        let s = self.find(span, id);
        if let Some(first) = ids.get(&key) {
            let line = self.lab.line_of(first.start);
            self.error(
                DiagCode::DuplicateId,
                s,
                format!("duplicate id `{id}` in step `{step}`"),
            )
            .set_label(format!("first used at line {line}"));
        } else {
            ids.insert(key, s);
        }
    }

    fn target(&mut self, target: &str, envs: &[String], span: &Range<usize>) {
        if target.is_empty() || self.lab.meta.roles.iter().any(|r| r == target) {
            let s = self.find(span, &format!("target={target}"));
            self.role_reachable(target, envs, s);
            return;
        }
        let s = self.find(span, &format!("target={target}"));
        self.unknown_role(target, s);
    }

    /// A block limited (`env=`) to environments where its role does not exist never runs.
    fn role_reachable(&mut self, target: &str, envs: &[String], s: Range<usize>) {
        let meta = &self.lab.meta;
        let role = if target.is_empty() {
            meta.default_role()
        } else {
            target
        };
        let Some(role_envs) = meta.roles.envs_of(role) else {
            return;
        };
        let runs_in: Vec<&String> = if envs.is_empty() {
            meta.environments.iter().collect()
        } else {
            envs.iter().collect()
        };
        if runs_in.iter().any(|e| role_envs.contains(e)) {
            return;
        }
        let list = |v: Vec<&String>| v.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ");
        self.error(
            DiagCode::UnknownRole,
            s,
            format!(
                "role `{role}` is not in environment {}, the only ones this block is for",
                list(runs_in)
            ),
        )
        .add_note(format!(
            "`{role}` exists only in: {}",
            list(role_envs.iter().collect())
        ));
    }

    fn unknown_role(&mut self, target: &str, s: Range<usize>) {
        let roles = self.lab.meta.roles.join(", ");
        self.error(DiagCode::UnknownRole, s, format!("unknown role `{target}`"))
            .add_note(format!("roles declared in the front matter: {roles}"));
    }

    fn envs(&mut self, envs: &[String], span: &Range<usize>) {
        for env in envs {
            if !registry::environments().contains(&env.as_str()) {
                let s = self.find(span, env);
                self.error(
                    DiagCode::UnknownEnvironment,
                    s,
                    format!("unknown environment `{env}`"),
                )
                .add_note(format!(
                    "expected one of: {}",
                    registry::environments().join(", ")
                ));
            }
        }
    }

    /// What only a group can get wrong: too few members, keys that belong to the group
    /// set on a member, a capture on the group itself.
    fn group(
        &mut self,
        spec: &crate::lab::checks::CheckSpec,
        group: &crate::lab::groups::Group,
        span: &Range<usize>,
    ) {
        use crate::lab::groups::Mode;
        let key = group.mode.key();
        let least = if group.mode == Mode::Any { 2 } else { 1 };
        if group.members.len() < least {
            let s = self.find(span, key);
            self.error(
                DiagCode::BadCheck,
                s,
                format!("`{key}` needs at least {least} checks"),
            );
        }
        if spec.partial && group.mode != Mode::All {
            let s = self.find(span, "partial");
            self.error(
                DiagCode::BadCheck,
                s,
                "`partial` earns the share of members that pass: it applies to `all_of` only",
            );
        }
        if let Some(var) = spec.capture.keys().next() {
            let s = self.find(span, var);
            self.error(
                DiagCode::UnknownCaptureField,
                s,
                format!("the `{key}` group itself captures nothing (`{var}`)"),
            )
            .add_note("put `capture` on the member that matches the value");
        }
        for member in &group.members {
            for (given, name) in [
                (member.points.is_some(), "points"),
                (member.id.is_some(), "id"),
                (!member.hints.is_empty(), "hint"),
            ] {
                if given {
                    let s = self.find(span, &format!("{name}:"));
                    self.error(
                        DiagCode::BadCheck,
                        s,
                        format!("`{name}` of a check inside `{key}` belongs to the group"),
                    )
                    .add_note(format!(
                        "set `{name}` beside `{key}`: the group is one check"
                    ));
                }
            }
        }
    }

    fn check(
        &mut self,
        check: &crate::lab::CheckItem,
        ids: &mut HashMap<String, Range<usize>>,
        step: &str,
    ) {
        self.check_spec(&check.spec, &check.block_env, &check.span, ids, step);
    }

    fn check_spec(
        &mut self,
        spec: &crate::lab::checks::CheckSpec,
        block_env: &[String],
        span: &Range<usize>,
        ids: &mut HashMap<String, Range<usize>>,
        step: &str,
    ) {
        if spec.partial && !matches!(spec.kind(), Some(KindSpec::Group(_))) {
            let s = self.find(span, "partial");
            self.error(
                DiagCode::BadCheck,
                s,
                "`partial` applies to an `all_of` group only",
            );
        }
        if let Some(KindSpec::Group(group)) = spec.kind() {
            self.group(spec, group, span);
            for member in &group.members {
                self.check_spec(member, block_env, span, ids, step);
            }
        }
        match spec.kinds.len() {
            0 => {
                let s = self.lab.source.line_range(span.start);
                self.error(
                    DiagCode::CheckWithoutKind,
                    s,
                    "this check says nothing to assert",
                )
                .add_note(format!(
                    "expected exactly one of: run, {}",
                    kinds::fact_kinds().join(", ")
                ));
            }
            1 => {}
            _ => {
                let names: Vec<&str> = spec.kinds.iter().map(KindSpec::name).collect();
                let s = self.find(span, spec.kinds[1].name().trim_start_matches("command"));
                self.error(
                    DiagCode::CheckMultipleKinds,
                    s,
                    format!("one check asserts several things: {}", names.join(", ")),
                )
                .add_note("split them into separate list items (`- ...`)");
            }
        }
        for key in &spec.stray_command_keys {
            let s = self.find(span, &format!("{key}:"));
            self.error(
                DiagCode::KeyWithoutRun,
                s,
                format!("`{key}` only applies to a `run:` check"),
            )
            .add_note("add `run: <command>` or remove the key");
        }
        if let Some(target) = &spec.target
            && !target.contains("{{")
        {
            let s = self.key(span, "target");
            if self.lab.meta.roles.iter().any(|r| r == target) {
                let envs = if spec.env.is_empty() {
                    block_env
                } else {
                    &spec.env
                };
                self.role_reachable(target, envs, s);
            } else {
                self.unknown_role(target, s);
            }
        }
        if let Some(id) = &spec.id {
            self.unique_id(ids, step, id, span);
        }
        self.envs(&spec.env, span);
        self.check_netns(spec, span);
        let kind = spec.kind().map_or("", KindSpec::name);
        let fields = kinds::capturable_fields(kind);
        for (var, field) in &spec.capture {
            if !is_identifier(var) {
                let s = self.find(span, var);
                self.error(
                    DiagCode::BadCaptureName,
                    s,
                    format!("invalid variable name `{var}`"),
                )
                .add_note("expected letters, digits and `_`, not starting with a digit");
            }
            if kind == crate::k8s::KIND
                && let Err(e) = crate::k8s::FieldPath::parse(field)
            {
                let s = self.find(span, field);
                self.error(DiagCode::UnknownCaptureField, s, format!("capture: {e}"))
                    .add_note("a `k8s` check captures a field path of the matched object, e.g. `status.podIP`");
            }
            if let Some(KindSpec::Fact { kind, query }) = spec.kind()
                && kind == kinds::EbpfKind::Packets.name()
                && let Some(e) = kinds::packets_capture_error(query, field)
            {
                let s = self.find(span, field);
                self.error(DiagCode::UnknownCaptureField, s, format!("capture: {e}"));
            }
            if !fields.is_empty() && !fields.contains(&field.as_str()) {
                let s = self.find(span, field);
                self.error(
                    DiagCode::UnknownCaptureField,
                    s,
                    format!("a `{kind}` check has no field `{field}` to capture"),
                )
                .add_note(format!("expected one of: {}", fields.join(", ")));
            }
        }
        if let Some(KindSpec::Command { stdout, stderr, .. }) = spec.kind() {
            for m in [stdout, stderr].into_iter().flatten() {
                for re in [&m.regex, &m.not_regex].into_iter().flatten() {
                    let names: BTreeSet<String> = vars::regex_groups(&re.0);
                    for name in names {
                        if !is_identifier(&name) {
                            let s = self.find(span, &name);
                            self.error(
                                DiagCode::BadCaptureName,
                                s,
                                format!("invalid capture group `{name}`"),
                            );
                        }
                    }
                }
            }
        }
    }
}
