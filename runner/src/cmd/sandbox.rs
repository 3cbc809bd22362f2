//! `tplab sandbox up|down|status|shell|exec`

use super::status;
use crate::cli::{Global, SandboxCommand};
use crate::env::EnvError;
use crate::env::sandbox::{self as sb, SandboxEnv};
use tplab_sandbox::{DownOptions, Role, Sandbox, SkipReason};

pub async fn run(global: Global, cmd: SandboxCommand) -> super::Result {
    match cmd {
        SandboxCommand::Up {
            datapath_attach,
            kube_fault,
            lab,
        } => up(&global, datapath_attach, &kube_fault, lab.as_deref()).await,
        SandboxCommand::Down {
            id,
            all,
            force,
            all_users,
        } => Ok(down(
            &global,
            id.as_deref().or(global.sandbox.as_deref()),
            all,
            DownOptions { force, all_users },
        )),
        SandboxCommand::Status => Ok(status_cmd(&global)),
        SandboxCommand::Shell { role } => {
            let sandbox = sb::find(global.sandbox.as_deref())?;
            let role: Role = role.parse()?;
            let st = sandbox.shell(&role)?;
            Ok(u8::try_from(st.code().unwrap_or(1)).unwrap_or(1))
        }
        SandboxCommand::Kubeconfig => {
            let sandbox = sb::find(global.sandbox.as_deref())?;
            let path = tplab_kubeapi::kubeconfig_path(sandbox.id())?;
            if !path.exists() {
                return Err(EnvError::NoKubeApi {
                    id: sandbox.id().to_string(),
                    path,
                }
                .into());
            }
            println!("{}", path.display());
            Ok(status::OK)
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

async fn up(
    global: &Global,
    datapath_attach: Option<tplab_sandbox::DatapathAttach>,
    kube_faults: &[String],
    lab: Option<&std::path::Path>,
) -> super::Result {
    // Checked before anything is built: a typo costs no sandbox.
    let faults = tplab_kubeapi::Faults::parse(kube_faults)?;
    let topology = match lab {
        Some(path) => super::common::load(path)?.meta.sandbox,
        None => None,
    };
    sb::install_signal_cleanup()?;
    let start = std::time::Instant::now();
    // The option wins over TPLAB_DATAPATH_ATTACH (which `run` and `test` read).
    let mut config = sb::config_from_env()?;
    if let Some(mode) = datapath_attach {
        config.datapath_attach = mode;
    }
    if let Some(topology) = &topology {
        config = crate::env::lab_topology::apply(config, topology)?;
    }
    let env = SandboxEnv::create_with(config, &faults).await?;
    let facts = tplab_sandbox::Sandbox::facts(env.sandbox());
    let sandbox = env.keep();
    let kubeconfig = tplab_kubeapi::kubeconfig_path(sandbox.id())?;
    if global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "id": sandbox.id(),
                "facts": facts,
                "kubeconfig": kubeconfig,
            }))?
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
        let id = sandbox.id();
        println!(
            "open a shell with `tplab sandbox shell pod --sandbox {id}` (roles: {}); remove it with `tplab sandbox down {id}`",
            sandbox
                .roles()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "its Kubernetes API (kubectl >= {}):",
            tplab_kubeapi::MIN_KUBECTL
        );
        println!("export KUBECONFIG={}", kubeconfig.display());
    }
    Ok(status::OK)
}

/// The caller's only healthy sandbox (everyone's with `--all-users`), read without
/// attaching: `down` must not hold the lock it is about to take exclusively.
fn only_own(options: DownOptions) -> Result<String, String> {
    let me = tplab_sandbox::caller_uid();
    let up: Vec<String> = Sandbox::list()
        .into_iter()
        .filter(|s| s.healthy() && (options.all_users || s.owner_uid == Some(me)))
        .map(|s| s.id)
        .collect();
    match up.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "no sandbox of yours (uid {me}) is up: name one (`tplab sandbox down ID`), \
             see `tplab sandbox status`"
        )),
        many => Err(format!(
            "{} sandboxes are up ({}): choose one with `tplab sandbox down ID`",
            many.len(),
            many.join(", ")
        )),
    }
}

/// How to override a skip.
fn skip_hint(reason: &SkipReason) -> &'static str {
    match reason {
        SkipReason::InUse { .. } => "use --force to remove it anyway",
        SkipReason::Owner { .. } => "use --all-users to remove it anyway",
    }
}

fn down(global: &Global, id: Option<&str>, all: bool, options: DownOptions) -> u8 {
    let error = console::style("error:").red().bold();
    if let Err(e) = tplab_sandbox::check_privileges("sandbox down") {
        eprintln!("{error} {e}");
        return status::ENV;
    }
    let report = if all {
        sb::teardown_all(options)
    } else {
        let id = match id.map_or_else(|| only_own(options), |id| Ok(id.to_string())) {
            Ok(id) => id,
            Err(e) => {
                eprintln!("{error} {e}");
                return status::USAGE;
            }
        };
        if !tplab_sandbox::valid_id(&id) {
            eprintln!("{error} {}", tplab_sandbox::SandboxError::BadId { id });
            return status::USAGE;
        }
        let report = sb::down(&id, options);
        if report.is_empty() && report.errors.is_empty() && report.skipped.is_empty() {
            eprintln!("{error} sandbox `{id}` not found; `tplab sandbox status` lists them");
            return status::USAGE;
        }
        report
    };
    if global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else if report.is_empty() && report.errors.is_empty() && report.skipped.is_empty() {
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
        for s in &report.skipped {
            println!(
                "skipped sandbox {}: {} ({})",
                s.id,
                s.reason,
                skip_hint(&s.reason)
            );
        }
    }
    for e in &report.errors {
        eprintln!("{error} {e}");
    }
    if !report.errors.is_empty() {
        status::ENV
    } else if !all && !report.skipped.is_empty() {
        // The one sandbox asked for was not removed.
        status::ENV
    } else {
        status::OK
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
        let owner = s
            .owner_uid
            .map_or_else(|| "owner unknown".to_string(), |u| format!("uid {u}"));
        let users = if s.users.is_empty() {
            String::new()
        } else {
            let pids: Vec<String> = s.users.iter().map(ToString::to_string).collect();
            format!("  in use by pid {}", pids.join(", "))
        };
        println!(
            "{}  {:?}  {}  created {}  pods: {}  {owner}{users}",
            s.id,
            s.phase,
            health,
            s.created_at.format("%H:%M:%S"),
            s.pods.join(", ")
        );
    }
    status::OK
}
