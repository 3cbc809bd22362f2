//! What an import produces, platform-neutral, and its rendering as a tplab lab file.

use std::fmt::Write as _;

use serde::Serialize;

use super::script::{Found, Script};

/// Something the importer could not translate by itself, for the author to review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The source file (relative to the source folder).
    pub file: String,
    pub line: Option<usize>,
    pub text: String,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.text),
            None => write!(f, "{}: {}", self.file, self.text),
        }
    }
}

/// A `run` check made of a verification script.
#[derive(Debug, Clone)]
pub struct Check {
    pub id: String,
    pub name: String,
    pub script: Script,
    /// A line of output that starts with `FAIL:` fails the check (Instruqt's rule).
    pub fail_on_fail_line: bool,
    /// Text to put before the script's commands (a helper the platform provides).
    pub prelude: String,
}

/// A multiple-choice question (an Instruqt quiz).
#[derive(Debug, Clone)]
pub struct Question {
    pub id: String,
    pub prompt: String,
    pub choices: Vec<String>,
    pub answers: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Step {
    pub id: String,
    pub title: String,
    /// Markdown, already converted (headings demoted, commands as tplab blocks).
    pub body: String,
    /// Setup scripts; `true` when the student sees them run (a foreground script).
    pub setup: Vec<(Script, bool)>,
    pub checks: Vec<Check>,
    pub questions: Vec<Question>,
    pub solutions: Vec<Script>,
    pub cleanup: Vec<Script>,
    /// Commands in the text that tplab runs (`--auto`, `tplab test`).
    pub commands: usize,
}

/// A role the source's hosts become besides `local` (this machine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    /// What it is bound to on `local` (`docker:NAME`).
    pub netns: String,
}

#[derive(Debug, Clone, Default)]
pub struct ImportedLab {
    /// Environments besides `local` the source ran on (a Kubernetes backend: `kube`).
    pub environments: Vec<String>,
    /// Roles besides `local`, each bound on `local` only.
    pub roles: Vec<Role>,
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub intro: String,
    pub setup: Vec<(Script, bool)>,
    pub cleanup: Vec<Script>,
    pub steps: Vec<Step>,
    pub notes: Vec<Note>,
}

#[derive(Serialize)]
struct FrontMatter<'a> {
    id: &'a str,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    version: u32,
    environments: Vec<&'a str>,
    roles: serde_yaml::Value,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    netns: std::collections::BTreeMap<&'a str, &'a str>,
    requires: Requires,
}

#[derive(Serialize)]
struct Requires {
    tools: Vec<String>,
}

#[derive(Serialize)]
struct CheckItem {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    run: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    stdout: Option<NotRegex>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fail_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

#[derive(Serialize)]
struct NotRegex {
    not_regex: &'static str,
}

#[derive(Serialize)]
struct QuestionItem {
    prompt: String,
    choices: Vec<String>,
    answer: serde_yaml::Value,
}

impl ImportedLab {
    pub fn check_count(&self) -> usize {
        self.steps.iter().map(|s| s.checks.len()).sum()
    }

    /// Solve scripts and runnable commands of the text.
    pub fn solution_count(&self) -> usize {
        self.steps
            .iter()
            .map(|s| s.solutions.len() + s.commands)
            .sum()
    }

    fn scripts(&self) -> impl Iterator<Item = &Script> {
        self.setup
            .iter()
            .map(|(s, _)| s)
            .chain(&self.cleanup)
            .chain(self.steps.iter().flat_map(|st| {
                st.setup
                    .iter()
                    .map(|(s, _)| s)
                    .chain(st.checks.iter().map(|c| &c.script))
                    .chain(&st.solutions)
                    .chain(&st.cleanup)
            }))
    }

    /// `roles`: a list when every role is everywhere (`[local]`), else the map that
    /// binds the source's hosts on `local` only (`{ local: {}, db: { envs: [local] } }`).
    fn roles_yaml(&self) -> serde_yaml::Value {
        use serde_yaml::{Mapping, Value};
        if self.roles.is_empty() {
            return Value::Sequence(vec![Value::String("local".into())]);
        }
        let mut map = Mapping::new();
        map.insert("local".into(), Value::Mapping(Mapping::new()));
        for role in &self.roles {
            let mut spec = Mapping::new();
            spec.insert(
                "envs".into(),
                Value::Sequence(vec![Value::String("local".into())]),
            );
            map.insert(role.name.clone().into(), Value::Mapping(spec));
        }
        Value::Mapping(map)
    }

    /// The lab file. `fail_message_field`: whether this tplab's format has a check's
    /// `fail_message:`; without it the author's message becomes the check's hint.
    pub fn render(&self, fail_message_field: bool) -> String {
        let mut tools: Vec<String> = vec!["sh".into()];
        // Roles bound to containers: without the tool the lab cannot start.
        if !self.roles.is_empty() {
            tools.push("docker".into());
        }
        for s in self.scripts() {
            let t = s.tool();
            if !tools.contains(&t) {
                tools.push(t);
            }
        }
        let front = FrontMatter {
            id: &self.id,
            title: &self.title,
            description: self.description.as_deref(),
            version: 1,
            environments: std::iter::once("local")
                .chain(self.environments.iter().map(String::as_str))
                .collect(),
            roles: self.roles_yaml(),
            netns: self
                .roles
                .iter()
                .map(|r| (r.name.as_str(), r.netns.as_str()))
                .collect(),
            requires: Requires { tools },
        };
        let yaml = serde_yaml::to_string(&front).unwrap_or_default();
        let mut out = format!("---\n{yaml}---\n\n# {}\n\n", escape_line(&self.title));
        push_text(&mut out, &self.intro);
        for (s, shown) in &self.setup {
            push_script(&mut out, if *shown { "setup shown" } else { "setup" }, s);
        }
        for s in &self.cleanup {
            push_script(&mut out, "cleanup", s);
        }
        for step in &self.steps {
            let _ = write!(out, "## {} {{#{}}}\n\n", escape_line(&step.title), step.id);
            for (s, shown) in &step.setup {
                push_script(&mut out, if *shown { "setup shown" } else { "setup" }, s);
            }
            push_text(&mut out, &step.body);
            for q in &step.questions {
                push_question(&mut out, q);
            }
            for s in &step.solutions {
                push_script(&mut out, &format!("target={} solution", s.target), s);
            }
            if !step.checks.is_empty() {
                let items: Vec<CheckItem> = step
                    .checks
                    .iter()
                    .map(|c| check_item(c, fail_message_field))
                    .collect();
                let yaml = serde_yaml::to_string(&items).unwrap_or_default();
                let _ = write!(out, "```check\n{yaml}```\n\n");
            }
            for s in &step.cleanup {
                push_script(&mut out, "cleanup", s);
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    }
}

fn check_item(c: &Check, fail_message_field: bool) -> CheckItem {
    let messages: Vec<Found> = c.script.fail_messages();
    let message = match messages.as_slice() {
        [] => None,
        [one] => Some(one.text.clone()),
        many => Some(
            many.iter()
                .map(|m| m.text.as_str())
                .collect::<Vec<_>>()
                .join(" / "),
        ),
    }
    .map(|m| escape_line(&m));
    let (fail_message, hint) = if fail_message_field {
        (message, None)
    } else {
        (None, message)
    };
    CheckItem {
        id: c.id.clone(),
        name: escape_line(&c.name),
        target: (c.script.target != "local").then(|| c.script.target.clone()),
        run: escape_lines(&c.script.invocation(&c.prelude)),
        stdout: c.fail_on_fail_line.then_some(NotRegex {
            not_regex: "(?m)^FAIL:",
        }),
        fail_message,
        hint,
    }
}

fn push_text(out: &mut String, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        out.push_str(text);
        out.push_str("\n\n");
    }
}

fn push_script(out: &mut String, attrs: &str, script: &Script) {
    let target = if script.target == "local" || attrs.contains("target=") {
        String::new()
    } else {
        format!(" target={}", script.target)
    };
    let _ = write!(
        out,
        "```sh {{{attrs}{target}}}\n{}\n```\n\n",
        escape_lines(&script.invocation(""))
    );
}

fn push_question(out: &mut String, q: &Question) {
    let answer = match q.answers.as_slice() {
        [one] => serde_yaml::Value::String(escape_line(one)),
        many => serde_yaml::Value::Sequence(
            many.iter()
                .map(|a| serde_yaml::Value::String(escape_line(a)))
                .collect(),
        ),
    };
    let item = QuestionItem {
        prompt: escape_lines(q.prompt.trim()),
        choices: q.choices.iter().map(|c| escape_line(c)).collect(),
        answer,
    };
    let yaml = serde_yaml::to_string(&item).unwrap_or_default();
    let _ = write!(out, "```question {{id={}}}\n{yaml}```\n\n", q.id);
}

/// A line shown or run verbatim: tplab renders every text as a template, so a line
/// holding template syntax (Go templates, `${#array}`) is wrapped in `{% raw %}`.
pub fn escape_line(line: &str) -> String {
    if ["{{", "{%", "{#"].iter().any(|t| line.contains(t)) {
        format!("{{% raw %}}{line}{{% endraw %}}")
    } else {
        line.to_string()
    }
}

/// [`escape_line`] on each line (each stays balanced on its own).
pub fn escape_lines(text: &str) -> String {
    text.lines().map(escape_line).collect::<Vec<_>>().join("\n")
}

/// `markdown` without a first heading that only repeats `title` (the step's heading).
pub fn drop_title(markdown: &str, title: &str) -> String {
    let trimmed = markdown.trim_start();
    if let Some((first, rest)) = trimmed.split_once('\n').or(Some((trimmed, "")))
        && first.starts_with('#')
        && first
            .trim_start_matches('#')
            .trim()
            .eq_ignore_ascii_case(title.trim())
    {
        return rest.trim_start().to_string();
    }
    markdown.to_string()
}

/// Markdown of another platform made safe inside a tplab step: its headings move two
/// levels down (a `#` or `##` would end the step), its lines are escaped.
pub fn demote_and_escape(markdown: &str) -> String {
    let mut out = Vec::new();
    let mut fence: Option<String> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some(open) = &fence {
            if trimmed.starts_with(open.as_str())
                && trimmed.trim_start_matches(open.as_str()).trim().is_empty()
            {
                fence = None;
            }
            out.push(escape_line(line));
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            let c = trimmed.chars().next().unwrap_or('`');
            let n = trimmed.chars().take_while(|x| *x == c).count();
            fence = Some(c.to_string().repeat(n));
            out.push(escape_line(line));
            continue;
        }
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            let level = (hashes + 2).min(6);
            out.push(escape_line(&format!(
                "{}{}",
                "#".repeat(level),
                &line[hashes..]
            )));
        } else {
            out.push(escape_line(line));
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> ImportedLab {
        let check = Check {
            id: "verify".into(),
            name: "S (verify.sh)".into(),
            script: Script::new("verify.sh", "test -f x || { echo 'no {{ x }}'; exit 1; }\n"),
            fail_on_fail_line: false,
            prelude: String::new(),
        };
        ImportedLab {
            id: "t".into(),
            title: "T".into(),
            steps: vec![Step {
                id: "s".into(),
                title: "S".into(),
                checks: vec![check],
                ..Step::default()
            }],
            ..ImportedLab::default()
        }
    }

    #[test]
    fn the_failure_message_goes_where_the_format_takes_it() {
        let with = lab().render(true);
        assert!(
            with.contains("fail_message: '{% raw %}no {{ x }}{% endraw %}'"),
            "{with}"
        );
        assert!(!with.contains("hint:"), "{with}");
        let without = lab().render(false);
        assert!(
            without.contains("hint: '{% raw %}no {{ x }}{% endraw %}'"),
            "{without}"
        );
        // The script's template-like text is escaped, line by line.
        assert!(
            without.contains("{% raw %}test -f x || { echo 'no {{ x }}'; exit 1; }{% endraw %}"),
            "{without}"
        );
    }

    #[test]
    fn headings_are_demoted_outside_code() {
        let md = "# Top\n## Sub\n```sh\n# comment\n```\nA {{ go }} template\n";
        assert_eq!(
            demote_and_escape(md),
            "### Top\n#### Sub\n```sh\n# comment\n```\n{% raw %}A {{ go }} template{% endraw %}"
        );
    }
}
