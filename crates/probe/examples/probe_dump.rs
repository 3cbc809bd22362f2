//! Prints the facts of a netns as `tplab probe` does: `probe_dump [--json] <netns-path|-> <kind>...`
//! (`-` = the current netns; kinds: links addresses routes neighbours bpf conntrack).

use std::path::PathBuf;

use tplab_probe::{FactKind, collect_many_sync, render_text};

fn main() -> Result<(), String> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.first().is_some_and(|a| a == "--json");
    if json {
        args.remove(0);
    }
    let usage = "usage: probe_dump [--json] <netns-path|-> <kind>...";
    let ns = args.first().ok_or(usage)?;
    let ns = (ns != "-").then(|| PathBuf::from(ns));
    let kinds = args[1..]
        .iter()
        .map(|k| FactKind::parse(k).ok_or_else(|| format!("unknown kind `{k}`; {usage}")))
        .collect::<Result<Vec<_>, _>>()?;
    let kinds = if kinds.is_empty() {
        FactKind::ALL.to_vec()
    } else {
        kinds
    };
    let facts = collect_many_sync(ns.as_deref(), &kinds).map_err(|e| e.to_string())?;
    for f in &facts {
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(f).map_err(|e| e.to_string())?
            );
        } else {
            println!("== {} ==\n{}", f.kind(), render_text(f));
        }
    }
    Ok(())
}
