//! `tplab lint <LAB>...`

use std::path::{Path, PathBuf};

use super::common::{print_diagnostics, resolve};
use super::status;
use crate::cli::{Global, LintArgs};
use crate::lab::{self, Diagnostic};

pub fn run(global: &Global, args: &LintArgs) -> anyhow::Result<u8> {
    let mut files = Vec::new();
    for path in &args.labs {
        collect(path, &mut files);
    }
    let mut all = Vec::new();
    let mut unreadable = 0;
    for file in &files {
        match lab::parse_file(file) {
            Ok(parsed) => {
                let mut diags = parsed.diagnostics;
                if let Some(lab) = &parsed.lab {
                    diags.extend(crate::lint::lint(lab));
                }
                diags.sort_by_key(|d| d.span.start);
                all.extend(diags);
            }
            Err(e) => {
                eprintln!(
                    "{} cannot read {}: {e}",
                    console::style("error:").red().bold(),
                    file.display()
                );
                unreadable += 1;
            }
        }
    }
    let errors = all
        .iter()
        .filter(|d| d.is_error() || args.deny_warnings)
        .count();
    let warnings = all.len() - all.iter().filter(|d| d.is_error()).count();
    if global.json {
        let json: Vec<serde_json::Value> = all.iter().map(Diagnostic::to_json).collect();
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_diagnostics(&all);
        let summary = format!(
            "{} lab(s) checked: {} error(s), {} warning(s)",
            files.len(),
            all.iter().filter(|d| d.is_error()).count(),
            warnings
        );
        if errors > 0 || unreadable > 0 {
            eprintln!("{} {summary}", console::style("error:").red().bold());
        } else {
            eprintln!("{} {summary}", console::style("ok:").green().bold());
        }
    }
    Ok(if errors > 0 || unreadable > 0 || files.is_empty() {
        status::FAILED
    } else {
        status::OK
    })
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let lab = path.join("lab.md");
        if lab.is_file() {
            out.push(lab);
            return;
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for entry in entries {
            if entry.is_dir()
                || entry.extension().is_some_and(|e| e == "md")
                    && entry.file_name().is_some_and(|n| n != "README.md")
            {
                collect(&entry, out);
            }
        }
    } else {
        out.push(resolve(path));
    }
}
