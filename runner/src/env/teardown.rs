//! What labs declared they create on this machine, and how it is removed without an
//! async runtime: from a guard's drop or from the signal path (which exits without
//! running drops). Filled by the session's lifecycle (`session::lifecycle`).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What is left to undo, rendered when the session started (the names it will remove
/// do not depend on what happens later).
#[derive(Debug, Default)]
pub struct Plan {
    /// Lab-level cleanup blocks: namespace (for a bound role), script, timeout.
    pub cleanups: Vec<(Option<String>, String, Duration)>,
    pub netns: Vec<String>,
    pub links: Vec<String>,
}

/// Plans of live sessions, for the signal path (which exits without running drops).
static ARMED: Mutex<Vec<(u64, Plan)>> = Mutex::new(Vec::new());

fn armed() -> std::sync::MutexGuard<'static, Vec<(u64, Plan)>> {
    ARMED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Registers `plan` until [`disarm`]; returns its key.
pub fn arm(plan: Plan) -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    armed().push((id, plan));
    id
}

/// Takes plan `id` back (`None`: already run, e.g. by the signal path).
pub fn disarm(id: u64) -> Option<Plan> {
    let mut armed = armed();
    let at = armed.iter().position(|(i, _)| *i == id)?;
    Some(armed.remove(at).1)
}

/// The signal path: undoes every live session's plan (this machine only).
pub fn teardown_registered() {
    let plans = std::mem::take(&mut *armed());
    for (_, plan) in plans {
        for problem in run_sync(&plan) {
            eprintln!("tplab: {problem}");
        }
    }
}

pub fn run_sync(plan: &Plan) -> Vec<String> {
    let mut problems = Vec::new();
    for (netns, script, timeout) in &plan.cleanups {
        if let Err(e) = run_blocking(netns.as_deref(), script, *timeout) {
            problems.push(format!("the lab's cleanup: {e}"));
        }
    }
    problems.extend(remove(plan));
    problems
}

/// Deletes the declared links (this machine's namespace), then the namespaces, after
/// ending the processes still inside them (a student's `ping`, an `ip netns exec` shell).
pub fn remove(plan: &Plan) -> Vec<String> {
    let mut problems = Vec::new();
    for link in &plan.links {
        if std::path::Path::new("/sys/class/net").join(link).exists() {
            match std::process::Command::new("ip")
                .args(["link", "delete", "dev", link])
                .stderr(std::process::Stdio::piped())
                .output()
            {
                Ok(out) if out.status.success() => {}
                Ok(out) => problems.push(format!(
                    "removing link {link}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )),
                Err(e) => problems.push(format!("removing link {link}: {e}")),
            }
        }
    }
    let files: Vec<PathBuf> = plan
        .netns
        .iter()
        .map(|n| tplab_netns::path_of(n))
        .filter(|p| p.exists())
        .collect();
    let (_, survivors) = tplab_sandbox::reap_netns_processes(&files);
    problems.extend(survivors);
    for name in &plan.netns {
        if let Err(e) = tplab_netns::delete(name) {
            problems.push(format!("removing namespace {name}: {e}"));
        }
    }
    problems
}

/// Runs `script` with `sh -c` (in `netns` if given), killing its group after `timeout`.
fn run_blocking(netns: Option<&str>, script: &str, timeout: Duration) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(script)
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0);
    let _ns = match netns {
        Some(name) => {
            let path = tplab_netns::path_of(name);
            if !path.exists() {
                // Nothing to clean inside a namespace that is already gone.
                return Ok(());
            }
            Some(tplab_netns::prepare_std_command(&mut cmd, &path).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("exited with {status}")),
            Ok(None) if start.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) | Err(_) => {
                if let Ok(pid) = i32::try_from(child.id()) {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                let _ = child.wait();
                return Err(format!("did not finish within {}s", timeout.as_secs()));
            }
        }
    }
}
