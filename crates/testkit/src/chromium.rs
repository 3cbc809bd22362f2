//! Headless Debian Chromium for tests that look at rendered pages, started the way this
//! machine needs (no sandbox, no background networking) and killed if it hangs.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{Failed, fail};

/// Where Debian installs it (`apt-get install chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Why a browser test cannot run when Chromium is absent.
pub const MISSING_CHROMIUM: &str =
    "needs Debian's chromium (`apt-get install chromium`) at /usr/bin/chromium";

pub fn chromium_present() -> bool {
    Path::new(CHROMIUM).exists()
}

/// Runs headless Chromium with a private profile dir and `args`; killed after 90 s.
pub fn chromium(profile: &Path, args: &[String]) -> Result<Output, Failed> {
    let child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot start {CHROMIUM}: {e} ({MISSING_CHROMIUM})")))?;
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(90);
    // Read output on a thread so a full pipe cannot block chromium.
    let waiter = std::thread::spawn(move || child.wait_with_output());
    while !waiter.is_finished() {
        if Instant::now() > deadline {
            // Only the chromium we started, by its pid.
            let _ = Command::new("kill").arg(pid.to_string()).status();
            return Err(fail("chromium did not finish within 90 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    waiter
        .join()
        .map_err(|_| fail("chromium waiter panicked"))?
        .map_err(|e| fail(format!("chromium: {e}")))
}
