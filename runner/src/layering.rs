//! The crate's top-level modules form layers: no module reaches, through others, back
//! to itself (`lab` never needs `check`, `session` never needs `ui`). This test reads
//! every `crate::` path of the non-test code and fails, naming the cycle, if one forms.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its code names.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn source_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

/// The top-level module a source file belongs to (`None`: the crate root).
fn module_of(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// Code without comments, up to the file's test module (tests may cross layers).
fn code(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if !trimmed.starts_with("//") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The first segment of every `crate::` path, `crate::{a, b::c}` groups included.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let preceded = rest[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[i + "crate::".len()..];
        if preceded {
            continue; // `tplab_crate::`, not ours
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Only the first segment of each item at the group's own level counts.
            let mut depth = 1;
            let mut item = String::new();
            let mut named = false;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                let end = depth == 0 || (depth == 1 && c == ',');
                if end || (depth == 1 && c == ':') {
                    if !named && !item.is_empty() {
                        names.insert(std::mem::take(&mut item));
                    }
                    named = !end;
                    item.clear();
                } else if depth == 1 && !named && (c.is_alphanumeric() || c == '_') {
                    item.push(c);
                }
                if depth == 0 {
                    break;
                }
            }
            continue;
        }
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        names.insert(ident);
    }
    names
}

fn graph() -> Graph {
    let mut graph = Graph::new();
    for entry in walkdir::WalkDir::new(source_dir()) {
        let entry = entry.expect("readable source tree");
        let path = entry.path();
        let is_test_file = path
            .file_stem()
            .and_then(|s| s.to_str())
            .is_some_and(|s| s.ends_with("tests"));
        if path.extension().is_none_or(|e| e != "rs") || is_test_file {
            continue;
        }
        let rel = path.strip_prefix(source_dir()).expect("under src");
        let Some(from) = module_of(rel) else { continue };
        let text = std::fs::read_to_string(path).expect("readable source file");
        graph.entry(from.clone()).or_default().extend(
            crate_paths(&code(&text))
                .into_iter()
                .filter(|to| *to != from),
        );
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    graph
}

/// A cycle of `graph` as `a -> b -> a`, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn top_level_modules_are_acyclic() {
    let graph = graph();
    for module in ["lab", "check", "session", "ui", "env", "cmd", "template"] {
        assert!(graph.contains_key(module), "module `{module}` not found");
    }
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "module cycle: {}\n(dependencies: {graph:#?})",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn finds_paths_and_cycles() {
    let found = crate_paths(
        "use crate::{lab::{self, Lab}, ui};\nlet x = crate::env::f(); tplab_crate::x();",
    );
    assert_eq!(
        found,
        BTreeSet::from(["env".into(), "lab".into(), "ui".into()])
    );
    let graph = Graph::from([
        ("a".into(), BTreeSet::from(["b".into()])),
        ("b".into(), BTreeSet::from(["a".into()])),
    ]);
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "a"]);
}
