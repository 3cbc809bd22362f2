//! minijinja templating of commands, checks, questions and prose.
//!
//! Undefined variables are errors (strict mode): a lab that renders an empty string
//! where a MAC address was expected would fail in a confusing way.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::{Environment, UndefinedBehavior};

/// Variables visible to templates.
pub type Vars = BTreeMap<String, String>;

/// A template that does not render (syntax, undefined variable...): the message names
/// the kind and detail only, since labs quote it to students beside the template.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    message: String,
    #[source]
    source: Box<minijinja::Error>,
}

impl From<minijinja::Error> for TemplateError {
    fn from(e: minijinja::Error) -> Self {
        Self {
            message: describe(&e),
            source: Box::new(e),
        }
    }
}

fn environment() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env
    })
}

/// True when `s` contains template syntax worth rendering.
pub fn has_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

/// Renders `s` with `vars`.
pub fn render(s: &str, vars: &Vars) -> Result<String, TemplateError> {
    if !has_template(s) {
        return Ok(s.to_string());
    }
    Ok(environment().render_str(s, context(vars))?)
}

/// The template context: dotted facts (`pod.web.ip`, `node.node2.ip`,
/// `service.web.cluster_ip`) become nested maps, read as attributes; a name that is
/// both a value and a prefix keeps the value.
fn context(vars: &Vars) -> minijinja::Value {
    let mut root = serde_json::Map::new();
    for (key, value) in vars {
        let parts: Vec<&str> = key.split('.').collect();
        place(&mut root, &parts, value);
    }
    minijinja::Value::from_serialize(&root)
}

fn place(map: &mut serde_json::Map<String, serde_json::Value>, parts: &[&str], value: &str) {
    use serde_json::Value;
    match parts {
        [] => {}
        [last] => {
            map.entry((*last).to_string())
                .or_insert_with(|| Value::String(value.to_string()));
        }
        [first, rest @ ..] => {
            let entry = map
                .entry((*first).to_string())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(inner) = entry {
                place(inner, rest, value);
            }
        }
    }
}

/// Variables a template reads that it does not define itself, or a syntax error.
pub fn variables(s: &str) -> Result<BTreeSet<String>, TemplateError> {
    if !has_template(s) {
        return Ok(BTreeSet::new());
    }
    let tmpl = environment().template_from_str(s)?;
    // Built-in globals (`range`, `dict`, `namespace`, ...) are not the lab's variables.
    let env = environment();
    Ok(tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|name| env.globals().all(|(global, _)| global != name))
        .collect())
}

/// Replaces template expressions by a neutral literal so the rest can be validated
/// (e.g. as a regex) before variables are known.
pub fn neutralize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        if let Some(end) = rest[start..].find("}}") {
            out.push('x');
            rest = &rest[start + end + 2..];
        } else {
            rest = &rest[start..];
            break;
        }
    }
    out.push_str(rest);
    out
}

/// Renders every string inside a YAML value.
pub fn render_yaml(
    value: &serde_yaml::Value,
    vars: &Vars,
) -> Result<serde_yaml::Value, TemplateError> {
    use serde_yaml::Value;
    Ok(match value {
        Value::String(s) => Value::String(render(s, vars)?),
        Value::Sequence(seq) => Value::Sequence(
            seq.iter()
                .map(|v| render_yaml(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_yaml(v, vars)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        Value::Tagged(t) => Value::Tagged(Box::new(serde_yaml::value::TaggedValue {
            tag: t.tag.clone(),
            value: render_yaml(&t.value, vars)?,
        })),
        other => other.clone(),
    })
}

/// Every string inside a YAML value (for static analysis).
pub fn yaml_strings(value: &serde_yaml::Value, out: &mut Vec<String>) {
    use serde_yaml::Value;
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(seq) => seq.iter().for_each(|v| yaml_strings(v, out)),
        Value::Mapping(map) => map.values().for_each(|v| yaml_strings(v, out)),
        Value::Tagged(t) => yaml_strings(&t.value, out),
        _ => {}
    }
}

fn describe(e: &minijinja::Error) -> String {
    let mut msg = e.kind().to_string();
    if let Some(detail) = e.detail() {
        msg.push_str(": ");
        msg.push_str(detail);
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_lists_variables() {
        let vars = Vars::from([("ip".to_string(), "10.0.0.1".to_string())]);
        assert_eq!(render("ping {{ ip }}", &vars).unwrap(), "ping 10.0.0.1");
        assert!(render("ping {{ nope }}", &vars).is_err());
        let used = variables("{{ a }} {% if b %}{{ c | upper }}{% endif %}").unwrap();
        assert_eq!(used.into_iter().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(variables("{{ a ").is_err());
        let builtins = "{% for i in range(3) %}{{ loop.index }}{% endfor %}\
            {% set ns = namespace(n=1) %}{{ ns.n }}{{ dict(a=1) | length }}{{ 3 is odd }}";
        assert_eq!(variables(builtins).unwrap(), BTreeSet::new());
    }

    #[test]
    fn dotted_facts_read_as_attributes() {
        let vars: Vars = [("pod.web.ip", "10.244.0.85"), ("pod_ip", "10.244.0.213")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        assert_eq!(
            render("{{ pod.web.ip }} {{ pod_ip }}", &vars).unwrap(),
            "10.244.0.85 10.244.0.213"
        );
        assert!(render("{{ pod.db.ip }}", &vars).is_err());
    }

    #[test]
    fn neutralizes_expressions() {
        assert_eq!(neutralize("at {{ MAC }} on"), "at x on");
    }
}
