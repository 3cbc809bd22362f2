//! `tplab import killercoda|instruqt SOURCE -o DIR`: write the lab, say what needs a
//! human, and lint what was written (the import is only done when the lab lints).

use super::common::print_diagnostics;
use super::status;
use crate::cli::{Global, ImportArgs};
use crate::import::{self, ImportError};
use crate::lab::{self, Diagnostic};

pub fn run(global: &Global, args: &ImportArgs) -> super::Result {
    let imported = import::import(args.platform, &args.source)?;
    let path = args.output.join("lab.md");
    if path.exists() && !args.force {
        return Err(ImportError::Exists { path }.into());
    }
    let text = imported.render(import::format_has_fail_message());
    let write_err = |source| ImportError::Write {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(&args.output).map_err(write_err)?;
    std::fs::write(&path, &text).map_err(write_err)?;

    let parsed = lab::parse(&path, text);
    let mut diags = parsed.diagnostics;
    if let Some(lab) = &parsed.lab {
        diags.extend(crate::lint::lint(lab));
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if global.json {
        let json = serde_json::json!({
            "lab": path.display().to_string(),
            "platform": args.platform.name(),
            "steps": imported.steps.len(),
            "checks": imported.check_count(),
            "solutions": imported.solution_count(),
            "needs_human": imported.notes,
            "lint": diags.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!(
            "imported {} `{}` into {}: {} step(s), {} check(s), {} solution(s)",
            args.platform.name(),
            imported.id,
            path.display(),
            imported.steps.len(),
            imported.check_count(),
            imported.solution_count(),
        );
        if imported.notes.is_empty() {
            println!("nothing needs a human");
        } else {
            println!("needs a human ({}):", imported.notes.len());
            for note in &imported.notes {
                println!("  - {}", crate::ui::safe::text(&note.to_string()));
            }
        }
        print_diagnostics(&diags);
        let summary = format!(
            "the imported lab lints with {errors} error(s), {} warning(s)",
            diags.len() - errors
        );
        if errors > 0 {
            eprintln!("{} {summary}", console::style("error:").red().bold());
        } else {
            println!(
                "{summary}; prove it with `tplab test --env local {}`",
                path.display()
            );
        }
    }
    Ok(status::of_verdicts([status::verdict_of(errors > 0)]))
}
