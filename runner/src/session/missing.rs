//! Values a template needs that the session does not have (a skipped step would have
//! captured them): shown text names them and the step that provides them, so a raw
//! `{{ … }}` never reaches the student, and a check that needs one is an *error*
//! verdict saying which step to do first — never a failure charged to the student.

use std::collections::BTreeSet;

use crate::lab::Lab;
use crate::lab::defines::provider;
use crate::template::{self, Vars};

/// Variables `text` reads that `vars` lacks (none when the template does not parse:
/// the linter reports those).
pub fn missing(text: &str, vars: &Vars) -> BTreeSet<String> {
    template::variables(text)
        .unwrap_or_default()
        .into_iter()
        .filter(|v| !vars.contains_key(v) && !has_dotted(vars, v))
        .collect()
}

/// A dotted fact under `name` (`pod.web.ip` for `pod`): the template reads it as an
/// attribute (see `template::render`), which fails there if the leaf is missing.
fn has_dotted(vars: &Vars, name: &str) -> bool {
    let prefix = format!("{name}.");
    vars.range(prefix.clone()..)
        .next()
        .is_some_and(|(k, _)| k.starts_with(&prefix))
}

fn french(lab: &Lab) -> bool {
    lab.meta.lang == "fr"
}

/// "the value LXC, captured at step 7 “Title”": what a student is told is missing.
pub fn describe(lab: &Lab, name: &str) -> String {
    match (provider(lab, name), french(lab)) {
        (Some(i), true) => format!(
            "la valeur {name}, relevée à l'étape {} « {} »",
            i + 1,
            lab.steps[i].title
        ),
        (Some(i), false) => format!(
            "the value {name}, captured at step {} “{}”",
            i + 1,
            lab.steps[i].title
        ),
        (None, true) => format!("la valeur {name}"),
        (None, false) => format!("the value {name}"),
    }
}

/// The placeholder shown instead of a missing value: `‹LXC: step 7›`.
fn placeholder(lab: &Lab, name: &str) -> String {
    match (provider(lab, name), french(lab)) {
        (Some(i), true) => format!("‹{name} : étape {}›", i + 1),
        (Some(i), false) => format!("‹{name}: step {}›", i + 1),
        (None, _) => format!("‹{name}›"),
    }
}

/// `text` rendered for display: missing values become placeholders naming their step.
pub fn shown(lab: &Lab, text: &str, vars: &Vars) -> String {
    if let Ok(s) = template::render(text, vars) {
        return s;
    }
    let mut with = vars.clone();
    for name in missing(text, vars) {
        with.insert(name.clone(), placeholder(lab, &name));
    }
    template::render(text, &with).unwrap_or_else(|_| template::neutralize(text))
}

/// The error of a check or command that needs values the session lacks.
pub fn needs(lab: &Lab, names: &BTreeSet<String>) -> String {
    let list: Vec<String> = names.iter().map(|n| describe(lab, n)).collect();
    if french(lab) {
        format!(
            "il manque {}\u{202f}: faites d'abord cette étape",
            list.join(", ")
        )
    } else {
        format!("this needs {}: do that step first", list.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(lang: &str) -> Lab {
        let text = format!(
            "---\nid: t\ntitle: T\nlang: {lang}\nenvironments: [local]\nroles: [local]\n---\n\n## Find it {{#find}}\n\n```check\n- run: echo eth0\n  stdout: {{ regex: '(?P<IFACE>eth\\d)' }}\n```\n\n## Use it {{#use}}\n\nThe interface is {{{{ IFACE }}}}.\n"
        );
        crate::lab::parse("t.md", text).lab.expect("parses")
    }

    #[test]
    fn a_missing_capture_names_its_step_and_no_brace_is_left() {
        let en = lab("en");
        let text = "The interface is {{ IFACE }}, on {{ nowhere }}.";
        let shown = shown(&en, text, &Vars::new());
        assert_eq!(shown, "The interface is ‹IFACE: step 1›, on ‹nowhere›.");
        let fr = lab("fr");
        assert_eq!(
            super::shown(&fr, "{{ IFACE }}", &Vars::new()),
            "‹IFACE : étape 1›"
        );
        let names: BTreeSet<String> = ["IFACE".to_string()].into();
        assert!(needs(&en, &names).contains("captured at step 1 “Find it”"));
        assert!(needs(&fr, &names).contains("relevée à l'étape 1 « Find it »"));
    }

    #[test]
    fn known_values_render_as_usual() {
        let en = lab("en");
        let vars: Vars = [("IFACE".to_string(), "eth0".to_string())].into();
        assert_eq!(shown(&en, "is {{ IFACE }}", &vars), "is eth0");
        assert!(missing("is {{ IFACE }}", &vars).is_empty());
    }
}
