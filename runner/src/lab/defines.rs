//! What an item defines for the items after it: the captures of its checks (`capture:`,
//! named groups of a `stdout` regex) and of its transcripts (`[..NAME..]`). The linter
//! checks variable flow with it; a session uses it to say which step provides a value.

use std::collections::BTreeSet;

use crate::lab::checks::KindSpec;
use crate::lab::{Item, ItemKind, Lab};
use crate::template;

/// Named capture groups of a regex (templates neutralised first).
pub fn regex_groups(re: &str) -> BTreeSet<String> {
    regex::Regex::new(&template::neutralize(re))
        .map(|r| r.capture_names().flatten().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Variables an item defines for what follows it.
pub fn definitions(item: &Item) -> Vec<String> {
    match &item.kind {
        ItemKind::Transcript(t) => t.commands.iter().flat_map(|c| c.captures.clone()).collect(),
        ItemKind::Checks(checks) => checks.iter().flat_map(|c| captures(&c.spec)).collect(),
        _ => Vec::new(),
    }
}

/// What a check captures: its `capture` keys, its regex groups, its members'.
fn captures(spec: &crate::lab::checks::CheckSpec) -> Vec<String> {
    let mut names: Vec<String> = spec.capture.keys().cloned().collect();
    match spec.kind() {
        Some(KindSpec::Command { stdout, stderr, .. }) => {
            for m in [stdout, stderr].into_iter().flatten() {
                if let Some(re) = &m.regex {
                    names.extend(regex_groups(&re.0));
                }
            }
        }
        Some(KindSpec::Group(g)) => names.extend(g.members.iter().flat_map(captures)),
        _ => {}
    }
    names
}

/// The first step defining variable `name`, if a step does.
pub fn provider(lab: &Lab, name: &str) -> Option<usize> {
    lab.steps.iter().position(|s| {
        s.items
            .iter()
            .any(|i| definitions(i).iter().any(|d| d == name))
    })
}
