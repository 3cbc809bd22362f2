//! SIGTERM / SIGKILL at random points of `up` (and `down`): a child process (this test
//! binary re-executed in child mode) builds and removes a sandbox in a loop until killed.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tplab_sandbox::{Sandbox, SandboxConfig};
use tplab_testkit::{check, fail};

use crate::support::{R, jitter, leftovers, test_id};

/// Env var that turns this binary into the looping child.
pub const CHILD_ENV: &str = "TPLAB_SANDBOX_TEST_CHILD";

/// Child mode: install the signal cleanup, then up/down sandbox `id` forever.
pub fn child_main(id: &str) -> ! {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        tplab_sandbox::install_signal_cleanup().expect("signal cleanup");
        loop {
            let id = id.to_string();
            let built = tokio::task::spawn_blocking(move || {
                Sandbox::up_with_id(Some(&id), &SandboxConfig::default()).map(Sandbox::down)
            })
            .await;
            if !matches!(built, Ok(Ok(_))) {
                // Interrupted by the handler (or racing its teardown): wait to be exited.
                tokio::time::sleep(Duration::from_secs(5)).await;
                std::process::exit(3);
            }
        }
    })
}

fn spawn_child(id: &str) -> Result<Child, tplab_testkit::Failed> {
    let exe = std::env::current_exe().map_err(|e| fail(e.to_string()))?;
    Command::new(exe)
        .env(CHILD_ENV, id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| fail(e.to_string()))
}

fn kill_at_random(
    sig: nix::sys::signal::Signal,
    rounds: usize,
) -> Result<Vec<(String, std::process::ExitStatus)>, tplab_testkit::Failed> {
    let mut ids = Vec::new();
    for _ in 0..rounds {
        let id = test_id("k");
        let mut child = spawn_child(&id)?;
        // Child start-up is a few ms; one up+down cycle ~20-40 ms: spread over both.
        std::thread::sleep(Duration::from_millis(5 + jitter(80)));
        let pid =
            nix::unistd::Pid::from_raw(i32::try_from(child.id()).map_err(|e| fail(e.to_string()))?);
        nix::sys::signal::kill(pid, sig).map_err(|e| fail(e.to_string()))?;
        let status = child.wait().map_err(|e| fail(e.to_string()))?;
        if sig == nix::sys::signal::Signal::SIGTERM {
            use std::os::unix::process::ExitStatusExt;
            // 143 from the handler; killed by the signal itself if it came before the
            // handler was installed (nothing was built yet then).
            check!(
                status.code() == Some(143) || status.signal() == Some(15),
                "child exit {status:?}"
            );
        }
        ids.push((id, status));
    }
    Ok(ids)
}

pub fn sigterm_leaves_nothing() -> R {
    let mut handled = 0;
    for (id, status) in kill_at_random(nix::sys::signal::Signal::SIGTERM, 8)? {
        handled += usize::from(status.code() == Some(143));
        let left = leftovers(&id);
        if !left.is_empty() {
            tplab_sandbox::teardown(&id);
            return Err(fail(format!("after SIGTERM, {id} left {left:?}")));
        }
    }
    // The handler must have run (exit 143) at least once, or this proves nothing.
    check!(handled > 0, "no SIGTERM reached the cleanup handler");
    Ok(())
}

pub fn sigkill_then_down_leaves_nothing() -> R {
    let mut hit = 0;
    for (id, _) in kill_at_random(nix::sys::signal::Signal::SIGKILL, 8)? {
        // Scoped to this id (the real down_all is tested alone).
        let report = tplab_sandbox::down_matching(&id);
        check!(report.errors.is_empty(), "down errors: {report}");
        hit += usize::from(!report.is_empty());
        let left = leftovers(&id);
        check!(left.is_empty(), "after SIGKILL + down, {id} left {left:?}");
    }
    // The kills must have landed while something existed, or this proves nothing.
    check!(hit > 0, "no SIGKILL hit a live sandbox");
    Ok(())
}
