//! `tplab sandbox up|down|status|shell|exec`

use super::status;
use crate::cli::{Global, SandboxCommand};
use crate::env::sandbox::{self as sb, SandboxEnv};
use tplab_sandbox::{Role, Sandbox};

pub async fn run(global: Global, cmd: SandboxCommand) -> anyhow::Result<u8> {
    match cmd {
        SandboxCommand::Up => up(&global).await,
        SandboxCommand::Down { id, all } => Ok(down(
            &global,
            id.as_deref().or(global.sandbox.as_deref()),
            all,
        )),
        SandboxCommand::Status => Ok(status_cmd(&global)),
        SandboxCommand::Shell { role } => {
            let sandbox = sb::find(global.sandbox.as_deref())?;
            let role: Role = role.parse()?;
            let st = sandbox.shell(&role)?;
            Ok(u8::try_from(st.code().unwrap_or(1)).unwrap_or(1))
        }
        SandboxCommand::Exec { role, command } => {
            let sandbox = sb::find(global.sandbox.as_deref())?;
            let role: Role = role.parse()?;
            let (program, args) = command.split_first().expect("clap requires a command");
            let st = sandbox.std_command_argv(&role, program, args)?.status()?;
            Ok(u8::try_from(st.code().unwrap_or(1)).unwrap_or(1))
        }
    }
}

async fn up(global: &Global) -> anyhow::Result<u8> {
    sb::install_signal_cleanup()?;
    let start = std::time::Instant::now();
    let env = SandboxEnv::create().await?;
    let facts = tplab_sandbox::Sandbox::facts(env.sandbox());
    let sandbox = env.keep();
    if global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "id": sandbox.id(), "facts": facts })
            )?
        );
    } else {
        println!(
            "sandbox {} is up ({} ms)",
            sandbox.id(),
            start.elapsed().as_millis()
        );
        for (k, v) in &facts {
            println!("  {k:<16} {v}");
        }
        println!(
            "open a shell with `tplab sandbox shell pod` (roles: pod, node, agent, world); remove it with `tplab sandbox down`"
        );
    }
    Ok(status::OK)
}

fn down(global: &Global, id: Option<&str>, all: bool) -> u8 {
    if let Err(e) = tplab_sandbox::check_privileges("sandbox down") {
        eprintln!("{} {e}", console::style("error:").red().bold());
        return status::ENV;
    }
    let report = if all {
        sb::teardown_all()
    } else {
        match sb::find(id) {
            Ok(sandbox) => {
                let id = sandbox.id().to_string();
                let errors = sb::teardown(&id);
                tplab_sandbox::DownReport {
                    sandboxes: vec![id],
                    errors,
                    ..Default::default()
                }
            }
            Err(e) => {
                eprintln!("{} {e}", console::style("error:").red().bold());
                return status::USAGE;
            }
        }
    };
    if global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else if report.is_empty() && report.errors.is_empty() {
        println!("nothing to remove");
    } else {
        for id in &report.sandboxes {
            println!("removed sandbox {id}");
        }
        if !report.netns.is_empty() {
            println!("removed network namespaces: {}", report.netns.join(", "));
        }
        for p in &report.processes {
            println!("stopped process {p}");
        }
        for f in &report.files {
            println!("removed {}", f.display());
        }
    }
    for e in &report.errors {
        eprintln!("{} {e}", console::style("error:").red().bold());
    }
    if report.errors.is_empty() {
        status::OK
    } else {
        status::ENV
    }
}

fn status_cmd(global: &Global) -> u8 {
    let list = Sandbox::list();
    if global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return status::OK;
    }
    if list.is_empty() {
        println!("no sandbox (start one with `tplab sandbox up`)");
    }
    for s in &list {
        let health = if s.healthy() {
            console::style("healthy").green()
        } else {
            console::style("degraded").yellow()
        };
        println!(
            "{}  {:?}  {}  created {}  pods: {}",
            s.id,
            s.phase,
            health,
            s.created_at.format("%H:%M:%S"),
            s.pods.join(", ")
        );
    }
    status::OK
}
