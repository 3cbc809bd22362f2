//! `tplab probe <role> <kind>`: the kernel facts checks can match, in a readable table
//! (or JSON), read in the role's network namespace.

use tplab_probe::FactKind;

use super::status;
use crate::cli::{Global, ProbeArgs};
use crate::env::sandbox as sb;
use tplab_sandbox::Role;

pub async fn run(global: Global, args: ProbeArgs) -> anyhow::Result<u8> {
    let kinds: Vec<FactKind> = if args.kind == "all" {
        FactKind::ALL.to_vec()
    } else if let Some(k) = FactKind::parse(&args.kind) {
        vec![k]
    } else {
        eprintln!(
            "{} unknown fact kind `{}`: expected links, addresses, routes, neighbours, bpf, conntrack or all",
            console::style("error:").red().bold(),
            crate::ui::safe::text(&args.kind)
        );
        return Ok(status::USAGE);
    };
    let ns = if args.role == "local" && global.sandbox.is_none() {
        None
    } else {
        let sandbox = sb::find(global.sandbox.as_deref())?;
        let role: Role = args.role.parse()?;
        sandbox.netns_path(&role)
    };
    let facts = tplab_probe::collect_many(ns, &kinds).await?;
    if global.json {
        let out: serde_json::Map<String, serde_json::Value> = facts
            .iter()
            .map(|f| {
                (
                    f.kind().name().to_string(),
                    serde_json::Value::Array(f.records()),
                )
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for f in &facts {
            // Interface names and the like are chosen by whoever configured the netns.
            println!("{}", crate::ui::safe::text(&tplab_probe::render_text(f)));
        }
    }
    Ok(status::OK)
}
