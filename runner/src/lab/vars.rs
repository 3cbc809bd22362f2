//! Front-matter `vars` at session start: the environment's value of each (`{ sandbox:
//! ..., kube: ... }`), rendered as templates over the built-ins, the facts and the
//! other variables (`br: "br{{ session_id }}"`), in whatever order they depend on
//! each other.

use std::collections::BTreeMap;

use tplab_vocab::front_matter::VarValue;

use crate::template::{self, TemplateError, Vars};

/// Why a front-matter variable has no value.
#[derive(Debug, thiserror::Error)]
pub enum VarError {
    #[error("variable `{name}` has no value for environment `{env}` (give one, or a `default`)")]
    NoValue { name: String, env: String },
    #[error("variable `{name}`: {source}")]
    Template {
        name: String,
        #[source]
        source: TemplateError,
    },
}

/// The lab's variables in environment `env`, rendered with `known` (built-ins and facts;
/// a fact is not overridden by a variable of the same name, as before templates). The
/// caller marks them typed ([`template::mark_typed`]) where it stores them.
pub fn resolve(
    vars: &BTreeMap<String, VarValue>,
    env: &str,
    known: &Vars,
) -> Result<Vars, VarError> {
    let mut pending: Vec<(&str, &str)> = Vec::new();
    for (name, value) in vars {
        let v = value.for_env(env).ok_or_else(|| VarError::NoValue {
            name: name.clone(),
            env: env.to_string(),
        })?;
        pending.push((name, v));
    }
    let mut scope = known.clone();
    let mut out = Vars::new();
    // Each pass renders what its dependencies allow; a pass without progress leaves
    // an undefined name or a cycle, reported with the first variable still pending.
    while !pending.is_empty() {
        let mut left = Vec::new();
        let mut first_error = None;
        for (name, text) in pending.iter().copied() {
            match template::render(text, &scope) {
                Ok(value) => {
                    if !scope.contains_key(name) {
                        scope.insert(name.to_string(), value.clone());
                        template::mark_typed(&mut scope, name);
                    }
                    out.insert(name.to_string(), value);
                }
                Err(e) => {
                    first_error.get_or_insert((name, e));
                    left.push((name, text));
                }
            }
        }
        if left.len() == pending.len() {
            let (name, source) = first_error.expect("a pending variable failed");
            return Err(VarError::Template {
                name: name.to_string(),
                source,
            });
        }
        pending = left;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(yaml: &str) -> BTreeMap<String, VarValue> {
        serde_yaml::from_str(yaml).expect("vars")
    }

    #[test]
    fn templates_in_dependency_order_per_environment() {
        let known = Vars::from([("session_id".to_string(), "ab12".to_string())]);
        let v = vars(
            "{link: 'veth-{{ br }}', br: 'br{{ session_id }}', n: 3, next: '{{ n + 1 }}', \
             world: {sandbox: 203.0.113.10, kube: 1.0.0.1}}",
        );
        let out = resolve(&v, "sandbox", &known).expect("resolves");
        assert_eq!(out["br"], "brab12");
        assert_eq!(out["link"], "veth-brab12");
        assert_eq!(out["next"], "4");
        assert_eq!(out["world"], "203.0.113.10");
        assert_eq!(
            resolve(&v, "kube", &known).expect("kube")["world"],
            "1.0.0.1"
        );
        let err = resolve(&v, "local", &known).expect_err("no local value");
        assert!(
            err.to_string()
                .contains("`world` has no value for environment `local`")
        );
        let cycle = vars("{a: '{{ b }}', b: '{{ a }}'}");
        let err = resolve(&cycle, "local", &known)
            .expect_err("cycle")
            .to_string();
        assert!(err.contains("undefined variable"), "{err}");
    }
}
