//! Front-matter `vars`, judged before any session: per-environment values name real
//! environments and cover the lab's, templates read defined names, and a template over
//! literal variables only (`next: "{{ n + 1 }}"` with `n: 3`) renders now, so a type
//! error (`n: three`) is found at lint, not when a student runs the lab.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use tplab_vocab::front_matter::{VAR_DEFAULT, VarValue};

use crate::env::registry;
use crate::lab::{DiagCode, Diagnostic, Lab};
use crate::template::{self, Vars};

pub fn check(lab: &Lab, out: &mut Vec<Diagnostic>) {
    let vars = &lab.meta.vars;
    let mut facts: BTreeSet<&str> = registry::BUILTIN_VARS.iter().copied().collect();
    for env in &lab.meta.environments {
        facts.extend(registry::facts(env));
    }
    for (name, value) in vars {
        let at = key_span(lab, name);
        if let VarValue::PerEnv(map) = value {
            for env in map.keys() {
                if env != VAR_DEFAULT && !registry::environments().contains(&env.as_str()) {
                    out.push(
                        Diagnostic::error(
                            DiagCode::UnknownEnvironment,
                            &lab.source,
                            at.clone(),
                            format!("variable `{name}`: unknown environment `{env}`"),
                        )
                        .note(format!(
                            "expected one of: {}, or `{VAR_DEFAULT}`",
                            registry::environments().join(", ")
                        )),
                    );
                }
            }
            for env in &lab.meta.environments {
                if value.for_env(env).is_none() {
                    out.push(Diagnostic::error(
                        DiagCode::FrontMatterInvalid,
                        &lab.source,
                        at.clone(),
                        format!("variable `{name}` has no value for environment `{env}`, which the lab lists"),
                    ).note(format!("add `{env}: ...` or `{VAR_DEFAULT}: ...`")));
                }
            }
        }
        for text in value.values() {
            let used = match template::variables(text) {
                Ok(used) => used,
                Err(e) => {
                    out.push(Diagnostic::error(
                        DiagCode::TemplateSyntax,
                        &lab.source,
                        at.clone(),
                        format!("variable `{name}`: template error: {e}"),
                    ));
                    continue;
                }
            };
            for var in &used {
                if !facts.contains(var.as_str()) && !vars.contains_key(var) {
                    out.push(Diagnostic::error(
                        DiagCode::UndefinedVariable,
                        &lab.source,
                        at.clone(),
                        format!("variable `{name}` uses undefined variable `{var}`"),
                    ).note("a front-matter variable may use the built-ins, the facts and the other `vars` (captures come later)"));
                }
            }
        }
    }
    literal_renders(lab, out);
}

/// Renders, in each of the lab's environments, the variables that depend only on other
/// variables (no fact, no built-in): what fails here fails for every student.
fn literal_renders(lab: &Lab, out: &mut Vec<Diagnostic>) {
    let vars = &lab.meta.vars;
    for env in &lab.meta.environments {
        let values: BTreeMap<&str, &str> = vars
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.for_env(env)?)))
            .collect();
        let literal = closure(&values);
        let subset: BTreeMap<String, VarValue> = literal
            .iter()
            .map(|k| ((*k).to_string(), VarValue::One(values[k].to_string())))
            .collect();
        if let Err(e) = crate::lab::vars::resolve(&subset, env, &Vars::new()) {
            let name = match &e {
                // A name minijinja does not list as read (`session_id[:6]`) is only
                // known at run time: not a static error.
                crate::lab::vars::VarError::Template { source, .. } if source.is_undefined() => {
                    continue;
                }
                crate::lab::vars::VarError::Template { name, .. }
                | crate::lab::vars::VarError::NoValue { name, .. } => name.clone(),
            };
            out.push(Diagnostic::error(
                DiagCode::TemplateSyntax,
                &lab.source,
                key_span(lab, &name),
                format!("in environment `{env}`, {e}"),
            ));
        }
    }
}

/// The variables whose templates read only variables of the same kind (so ultimately
/// literals): those can be rendered before any session.
fn closure<'a>(values: &BTreeMap<&'a str, &str>) -> BTreeSet<&'a str> {
    let mut literal: BTreeSet<&str> = BTreeSet::new();
    loop {
        let before = literal.len();
        for (name, text) in values {
            let Ok(used) = template::variables(text) else {
                continue;
            };
            if used.iter().all(|u| literal.contains(u.as_str())) {
                literal.insert(name);
            }
        }
        if literal.len() == before {
            return literal;
        }
    }
}

/// Where variable `name` is written in the front matter (its key), else the front matter.
fn key_span(lab: &Lab, name: &str) -> Range<usize> {
    let text = &lab.source.text[lab.meta_span.clone()];
    let pattern = format!(r"(?m)^\s+{}\s*:", regex::escape(name));
    match regex::Regex::new(&pattern).ok().and_then(|r| r.find(text)) {
        Some(m) => {
            let start = lab.meta_span.start + m.start() + (m.len() - m.as_str().trim_start().len());
            start..start + name.len()
        }
        None => lab.source.line_range(lab.meta_span.start),
    }
}
