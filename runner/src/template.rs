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

impl TemplateError {
    /// A variable had no value (as opposed to a syntax or type error).
    pub fn is_undefined(&self) -> bool {
        self.source.kind() == minijinja::ErrorKind::UndefinedError
    }
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
    environment().render_str(s, context(vars)).map_err(|e| {
        let mut err = TemplateError::from(e);
        if err.source.kind() == minijinja::ErrorKind::UndefinedError {
            // minijinja says "undefined value": name what the lab must define or capture.
            let missing: Vec<String> = variables(s)
                .unwrap_or_default()
                .into_iter()
                .filter(|v| !vars.contains_key(v) && !vars.keys().any(|k| k.strip_prefix(v.as_str()).is_some_and(|r| r.starts_with('.'))))
                .map(|v| format!("`{v}`"))
                .collect();
            if !missing.is_empty() {
                err.message = format!(
                    "undefined variable {} (never defined, or not captured yet: did the check that captures it pass?)",
                    missing.join(", ")
                );
            }
        }
        err
    })
}

/// The key under which [`Vars`] lists the variables typed by content (the lab's
/// front-matter `vars`, see [`mark_typed`]); not an identifier, so no template can
/// read it, and saved with the variables on resume.
const TYPED_KEY: &str = "\u{1}typed";

/// Marks `name` as a variable whose value keeps its YAML type in expressions.
pub fn mark_typed(vars: &mut Vars, name: &str) {
    let list = vars.entry(TYPED_KEY.to_string()).or_default();
    if !list.split(',').any(|n| n == name) {
        if !list.is_empty() {
            list.push(',');
        }
        list.push_str(name);
    }
}

/// The template context. A front-matter variable ([`mark_typed`]) written as a number
/// (`3`, `-1`, `2.5`; no leading zero, so `007` stays text) is a number, `true`/`false`
/// are booleans, so `{{ n + 1 }}` and `{% if enabled %}` mean what they say; rendering
/// prints them back as the same text. Other values (built-ins, facts, captures) stay
/// text: a session id or a MAC made only of digits is still text. Dotted facts
/// (`pod.web.ip`, `node.node2.ip`, `service.web.cluster_ip`) become nested maps, read as
/// attributes; a name that is both a value and a prefix keeps the value.
fn context(vars: &Vars) -> minijinja::Value {
    let typed: BTreeSet<&str> = vars
        .get(TYPED_KEY)
        .map(|l| l.split(',').collect())
        .unwrap_or_default();
    let mut root = BTreeMap::new();
    for (key, value) in vars.iter().filter(|(k, _)| k.as_str() != TYPED_KEY) {
        let leaf = if typed.contains(key.as_str()) {
            typed_value(value)
        } else {
            minijinja::Value::from(value.as_str())
        };
        let parts: Vec<&str> = key.split('.').collect();
        place(&mut root, &parts, leaf);
    }
    tree_value(root)
}

/// A context node while dotted names are gathered.
enum Node {
    Leaf(minijinja::Value),
    Map(BTreeMap<String, Node>),
}

fn place(map: &mut BTreeMap<String, Node>, parts: &[&str], value: minijinja::Value) {
    match parts {
        [] => {}
        [last] => {
            map.entry((*last).to_string())
                .or_insert_with(|| Node::Leaf(value));
        }
        [first, rest @ ..] => {
            let entry = map
                .entry((*first).to_string())
                .or_insert_with(|| Node::Map(BTreeMap::new()));
            if let Node::Map(inner) = entry {
                place(inner, rest, value);
            }
        }
    }
}

fn tree_value(map: BTreeMap<String, Node>) -> minijinja::Value {
    map.into_iter()
        .map(|(k, node)| {
            let v = match node {
                Node::Leaf(v) => v,
                Node::Map(inner) => tree_value(inner),
            };
            (k, v)
        })
        .collect::<BTreeMap<String, minijinja::Value>>()
        .into()
}

fn typed_value(v: &str) -> minijinja::Value {
    static NUMBER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^-?(0|[1-9]\d*)(\.\d+)?$").expect("valid regex")
    });
    match v {
        "true" => return true.into(),
        "false" => return false.into(),
        _ => {}
    }
    if NUMBER.is_match(v) {
        if let Ok(i) = v.parse::<i64>() {
            return i.into();
        }
        if v.contains('.')
            && let Ok(f) = v.parse::<f64>()
        {
            return f.into();
        }
    }
    minijinja::Value::from(v)
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

/// The dotted paths a template reads (`service.web.cluster_ip`, `pod_ip`): its variables
/// with their attribute lookups, for lint to check the words after the first.
pub fn variable_paths(s: &str) -> Result<BTreeSet<String>, TemplateError> {
    if !has_template(s) {
        return Ok(BTreeSet::new());
    }
    let tmpl = environment().template_from_str(s)?;
    Ok(tmpl.undeclared_variables(true).into_iter().collect())
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
        let err = render("ping {{ nope }}", &vars).unwrap_err().to_string();
        assert!(err.contains("undefined variable `nope`"), "{err}");
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
    fn numbers_and_booleans_are_typed() {
        let mut vars: Vars = [
            ("n", "3"),
            ("f", "2.5"),
            ("z", "007"),
            ("on", "false"),
            ("ip", "10.0.0.1"),
            ("id", "1234"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
        for name in ["n", "f", "z", "on", "ip"] {
            mark_typed(&mut vars, name);
        }
        // Not a front-matter variable: text, whatever it looks like.
        assert_eq!(render("{{ id[:2] }}", &vars).unwrap(), "12");
        assert_eq!(
            render("{{ n + 1 }} {{ f * 2 }} {{ n }}", &vars).unwrap(),
            "4 5.0 3"
        );
        assert_eq!(
            render("{{ z }}{% if on %}!{% endif %} {{ ip }}", &vars).unwrap(),
            "007 10.0.0.1"
        );
    }

    #[test]
    fn neutralizes_expressions() {
        assert_eq!(neutralize("at {{ MAC }} on"), "at x on");
    }
}
