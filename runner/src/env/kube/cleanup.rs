//! The pods this process created, removed on every way out: the end of the session
//! (`KubeEnv`'s drop), Ctrl-C outside a guided session, SIGTERM and SIGHUP (the handler
//! here, like the sandbox's in `env/sandbox.rs`). A guided session's Ctrl-C is its Quit
//! (`crate::interrupt`): the lab pod is kept to resume. After a SIGKILL nothing runs:
//! the next run's sweep (`lifecycle::sweep`) removes what the dead session left.

use std::sync::Mutex;
use std::time::Duration;

use super::client::Cluster;

struct Created {
    cluster: Cluster,
    pods: Vec<(String, String)>,
}

static CREATED: Mutex<Option<Created>> = Mutex::new(None);

fn created() -> std::sync::MutexGuard<'static, Option<Created>> {
    CREATED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Files of this machine to remove on a signal (the agent binary, when the node pod's
/// /tmp is this machine's: a sandbox's API).
static FILES: Mutex<Vec<std::path::PathBuf>> = Mutex::new(Vec::new());

/// Records `path` for removal on a signal.
pub fn register_file(path: &str) {
    FILES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(path.into());
}

pub fn remove_files() {
    let files = std::mem::take(
        &mut *FILES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    for f in files {
        let _ = std::fs::remove_file(f);
    }
}

/// Records pod `ns/name`, just created through `cluster`.
pub fn register(cluster: &Cluster, ns: &str, name: &str) {
    let mut guard = created();
    let entry = guard.get_or_insert_with(|| Created {
        cluster: cluster.clone(),
        pods: Vec::new(),
    });
    entry.pods.push((ns.to_string(), name.to_string()));
}

/// Forgets pod `ns/name` (deleted, or kept for a resumed session).
pub fn unregister(ns: &str, name: &str) {
    if let Some(c) = created().as_mut() {
        c.pods.retain(|(n, p)| !(n == ns && p == name));
    }
}

/// Pods this process created and still owns.
pub fn registered() -> Vec<(String, String)> {
    created()
        .as_ref()
        .map(|c| c.pods.clone())
        .unwrap_or_default()
}

/// Deletes every registered pod (each bounded), through the live runtime.
pub async fn delete_registered() {
    let taken = created()
        .as_ref()
        .map(|c| (c.cluster.clone(), c.pods.clone()));
    let Some((cluster, pods)) = taken else {
        return;
    };
    let deletions = pods
        .iter()
        .map(|(ns, name)| super::lifecycle::delete(&cluster, ns, name));
    for r in futures::future::join_all(deletions).await {
        if let Err(e) = r {
            eprintln!("tplab: {e}");
        }
    }
}

/// Deletes `delete` and labels `keep` as kept to resume, where no runtime can be
/// awaited (a `Drop`): on a thread of its own, with a client of its own, bounded.
pub fn finish_blocking(
    config: &kube::Config,
    namespace: &str,
    delete: Vec<String>,
    keep: Vec<String>,
) {
    if delete.is_empty() && keep.is_empty() {
        return;
    }
    let config = config.clone();
    let ns = namespace.to_string();
    let worker = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            let Ok(client) = kube::Client::try_from(config.clone()) else {
                return;
            };
            let cluster = Cluster {
                client,
                config,
                namespace: ns.clone(),
                server: String::new(),
                kubeconfig: std::path::PathBuf::new(),
                cluster_name: None,
            };
            for name in keep {
                match super::lifecycle::mark_kept(&cluster, &ns, &name).await {
                    Ok(()) => unregister(&ns, &name),
                    Err(e) => eprintln!("tplab: {e}"),
                }
            }
            for name in delete {
                if let Err(e) = super::lifecycle::delete(&cluster, &ns, &name).await {
                    eprintln!("tplab: {e}");
                }
            }
        });
    });
    let _ = worker.join();
}

/// Ctrl-C (outside a guided session), SIGTERM, SIGHUP: delete this process's pods, kill
/// the lab commands it runs, then exit 128+signal. Installing it twice is harmless.
pub fn install() -> Result<(), crate::env::EnvError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mk =
        |kind| signal(kind).map_err(|e| crate::env::EnvError::io("installing a signal handler", e));
    let (mut int, mut term, mut hup) = (
        mk(SignalKind::interrupt())?,
        mk(SignalKind::terminate())?,
        mk(SignalKind::hangup())?,
    );
    tokio::spawn(async move {
        let code = loop {
            tokio::select! {
                _ = int.recv() => if !crate::interrupt::claimed() { break 130 },
                _ = term.recv() => break 143,
                _ = hup.recv() => break 129,
            }
        };
        // Bounded as a whole: an unreachable API must not keep a signalled tplab alive.
        let _ = tokio::time::timeout(Duration::from_secs(20), delete_registered()).await;
        remove_files();
        let _ = tokio::task::spawn_blocking(tplab_sandbox::teardown_registered).await;
        std::process::exit(code);
    });
    Ok(())
}
