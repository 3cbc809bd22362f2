//! `tplab probe <role> <kind>`: the kernel facts checks can match, in a readable table
//! (or JSON), read in the role's network namespace.

use tplab_probe::FactKind;

use super::status;
use crate::cli::{Global, ProbeArgs};
use crate::env::open::{self, Instance};
use crate::env::registry::EnvKind;
use crate::error::Error;

pub async fn run(global: Global, args: ProbeArgs) -> super::Result {
    let kinds: Vec<FactKind> = if args.kind == "all" {
        FactKind::ALL.to_vec()
    } else if let Some(k) = FactKind::parse(&args.kind) {
        vec![k]
    } else {
        return Err(Error::Usage(format!(
            "unknown fact kind `{}`: expected links, addresses, routes, neighbours, bpf, conntrack or all",
            args.kind
        )));
    };
    // `local` reads this machine; any other role is one of the sandbox's.
    let kind = if args.role == "local" && global.sandbox.is_none() {
        EnvKind::Local
    } else {
        EnvKind::Sandbox
    };
    let env = open::open(
        kind,
        Instance::Existing(global.sandbox.clone()),
        &global.kube.options(),
    )
    .await?;
    let facts = env.probe_kinds(&args.role, &kinds).await?;
    if global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&tplab_probe::wire::FactsMessage::new(facts))?
        );
    } else {
        for f in &facts {
            // Interface names and the like are chosen by whoever configured the netns.
            println!("{}", crate::ui::safe::text(&tplab_probe::render_text(f)));
        }
    }
    Ok(status::OK)
}
