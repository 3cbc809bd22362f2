//! Signal-safe teardown. Sandboxes built by this process are registered here from the
//! moment their id is reserved; on SIGINT/SIGTERM/SIGHUP the handler waits for builds in
//! flight (they hold `BUILD` for reading), kills the process groups of running lab
//! commands (`groups.rs`), tears every registered sandbox down and exits with
//! 128 + signal (130 for SIGINT, 143 for SIGTERM).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard};

use crate::error::{Result, SandboxError};

static LIVE: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
static BUILD: RwLock<()> = RwLock::new(());
static CLOSING: AtomicBool = AtomicBool::new(false);

/// Held by a build for its whole duration; fails once a signal started the teardown.
pub(crate) fn build_permit() -> Result<RwLockReadGuard<'static, ()>> {
    let guard = BUILD
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if CLOSING.load(Ordering::SeqCst) {
        return Err(SandboxError::Interrupted);
    }
    Ok(guard)
}

pub(crate) fn register(id: &str) {
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(id.to_string());
}

pub(crate) fn forget(id: &str) {
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(id);
}

/// True once a signal started the teardown: the process is about to exit with
/// 128 + signal, and a lab command that just died was killed by that path (its result
/// must not be reported, nor the run carry on to a normal exit).
pub fn shutting_down() -> bool {
    CLOSING.load(Ordering::SeqCst)
}

/// Ids of the sandboxes this process built and has not torn down yet.
pub fn live_ids() -> Vec<String> {
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .cloned()
        .collect()
}

/// Tears down every sandbox this process built (waiting for builds in flight first) and
/// stops further builds. What a signal handler calls; also usable on a fatal error path.
pub fn teardown_registered() -> crate::cleanup::DownReport {
    CLOSING.store(true, Ordering::SeqCst);
    // Lab commands first: they would outlive us (their groups are not ours to inherit a
    // signal from), and some run outside any sandbox netns (role `local`).
    crate::groups::kill_all();
    let _exclusive = BUILD
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut report = crate::cleanup::DownReport::default();
    for id in live_ids() {
        let r = crate::cleanup::teardown(&id);
        report.sandboxes.extend(r.sandboxes);
        report.netns.extend(r.netns);
        report.processes.extend(r.processes);
        report.files.extend(r.files);
        report.errors.extend(r.errors);
    }
    report
}

/// Installs SIGINT/SIGTERM/SIGHUP handling that tears down this process's sandboxes and
/// exits with 128 + signal. Call once, early, from inside a tokio runtime (before `up`).
/// The interactive [`crate::Sandbox::shell`] runs in its own process group, so Ctrl-C in
/// it does not reach this handler.
pub fn install_signal_cleanup() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mk = |kind: SignalKind| {
        signal(kind).map_err(|e| SandboxError::io("installing a signal handler", e))
    };
    // Registered now (synchronously): a signal arriving from here on is caught.
    let mut int = mk(SignalKind::interrupt())?;
    let mut term = mk(SignalKind::terminate())?;
    let mut hup = mk(SignalKind::hangup())?;
    tokio::spawn(async move {
        let code = tokio::select! {
            _ = int.recv() => 130,
            _ = term.recv() => 143,
            _ = hup.recv() => 129,
        };
        // Teardown blocks (waits for builds): keep it off the async workers.
        let _ = tokio::task::spawn_blocking(teardown_registered).await;
        std::process::exit(code);
    });
    Ok(())
}
