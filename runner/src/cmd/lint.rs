//! `tplab lint <LAB>...`

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::common::{print_diagnostics, resolve};
use super::status;
use crate::cli::{Global, LintArgs};
use crate::error::Error;
use crate::lab::{self, Diagnostic};

pub fn run(global: &Global, args: &LintArgs) -> super::Result {
    let mut files = Vec::new();
    let mut unreadable = 0;
    let mut empty_dirs = Vec::new();
    for path in &args.labs {
        let before = files.len();
        let walk_errors = collect(path, &mut files);
        for e in &walk_errors {
            eprintln!("{} {e}", console::style("error:").red().bold());
        }
        unreadable += walk_errors.len();
        if files.len() == before && walk_errors.is_empty() {
            empty_dirs.push(path.clone());
        }
    }
    let mut all = Vec::new();
    let mut notes = Vec::new();
    for file in &files {
        match lab::parse_file(file) {
            Ok(parsed) => {
                let mut diags = parsed.diagnostics;
                if let Some(lab) = &parsed.lab {
                    diags.extend(crate::lint::lint(lab));
                    for s in crate::lint::step_envs::of(lab) {
                        let where_ = format!("{}:{}:{}", file.display(), s.line, s.col);
                        notes.push(format!("{where_}: {}", s.message()));
                    }
                }
                diags.sort_by_key(|d| d.span.start);
                all.extend(diags);
            }
            Err(source) => {
                let e = Error::ReadLab {
                    path: file.clone(),
                    source,
                };
                eprintln!("{} {e}", console::style("error:").red().bold());
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
        for note in &notes {
            eprintln!("{} {note}", console::style("note:").cyan().bold());
        }
        let summary = format!(
            "{} lab(s) checked: {} error(s), {} warning(s)",
            files.len(),
            all.iter().filter(|d| d.is_error()).count(),
            warnings
        );
        if errors > 0 || unreadable > 0 || !empty_dirs.is_empty() {
            eprintln!("{} {summary}", console::style("error:").red().bold());
        } else {
            eprintln!("{} {summary}", console::style("ok:").green().bold());
        }
    }
    if !empty_dirs.is_empty() {
        return Err(Error::NoLab { paths: empty_dirs });
    }
    Ok(status::of_verdicts(
        [errors > 0, unreadable > 0].map(status::verdict_of),
    ))
}

/// The lab files a path names: the file itself, `DIR/lab.md`, or else every `*.md`
/// (but `README.md`) under `DIR`, where a folder holding a `lab.md` is that one lab.
/// Symbolic links to folders are not followed inside `DIR` (as `find` and `git` do):
/// a link to `.` or `/` would make the walk endless. Links to files are read.
/// Returns the folders that could not be read (the walk goes on without them).
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Vec<walkdir::Error> {
    let mut errors = Vec::new();
    if !path.is_dir() {
        out.push(resolve(path));
        return errors;
    }
    let mut walk = WalkDir::new(path).sort_by_file_name().into_iter();
    while let Some(entry) = walk.next() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if entry.file_type().is_dir() {
            let lab = entry.path().join("lab.md");
            if lab.symlink_metadata().is_ok() {
                out.push(lab);
                walk.skip_current_dir();
            }
        } else if entry.path().extension().is_some_and(|e| e == "md")
            && entry.file_name() != "README.md"
        {
            out.push(entry.into_path());
        }
    }
    errors
}
