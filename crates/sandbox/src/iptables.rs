//! Running the node's `iptables-restore` (the rules are [`crate::iptables_rules`]'s):
//! ONE run inside the node netns, started early so it overlaps the netlink work.

use std::io::Write;
use std::process::{Child, Command, Stdio};

use crate::config::SandboxConfig;
use crate::error::{Result, SandboxError};
use crate::iptables_rules::rules;
use crate::nftgen::GenWatch;

/// A running `iptables-restore`, started early so it overlaps the netlink work.
pub(crate) struct Restore {
    child: Child,
    netns: String,
    watch: Option<GenWatch>,
    commits: usize,
}

/// Starts `iptables-restore` in the node netns and feeds it the rules.
pub(crate) fn start(cfg: &SandboxConfig, netns: &str) -> Result<Restore> {
    let mut cmd = Command::new("iptables-restore");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env("PATH", crate::roles::BASE_PATH);
    let path = tplab_netns::path_of(netns);
    // Subscribed before the spawn so no commit event can be missed; optional (fallback:
    // wait for the exit).
    let watch = GenWatch::open(&path).ok();
    let ns_file = tplab_netns::prepare_std_command(&mut cmd, &path)?;
    let spawn_err = |message: String| SandboxError::Iptables {
        netns: netns.to_string(),
        message,
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| spawn_err(format!("cannot start iptables-restore: {e}")))?;
    drop(ns_file);
    let text = rules(cfg);
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(text.as_bytes()));
    if let Some(Err(e)) = written {
        let _ = child.kill();
        let _ = child.wait();
        return Err(spawn_err(format!("writing the rules: {e}")));
    }
    Ok(Restore {
        child,
        netns: netns.to_string(),
        watch,
        commits: text.lines().filter(|l| l.trim() == "COMMIT").count(),
    })
}

impl Restore {
    /// Waits for the rules to be committed: every `COMMIT` seen as an nftables generation
    /// from our child, or the child's exit, whichever comes first. A child still closing
    /// its sockets is reaped on a background thread.
    pub(crate) fn finish(mut self) -> Result<()> {
        if let Some(watch) = self.watch.take() {
            let pid = self.child.id();
            // Readable once the child exits: with the event socket, all `poll` waits on.
            let exited = i32::try_from(pid).ok().and_then(crate::daemon::pidfd);
            let mut seen = 0;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                seen += watch.drain_commits(pid);
                if seen >= self.commits {
                    let mut child = self.child;
                    // Closing sockets is slow (RCU); reap and close off the critical path.
                    std::thread::spawn(move || {
                        let _ = child.wait();
                        drop(watch);
                    });
                    return Ok(());
                }
                let running = matches!(self.child.try_wait(), Ok(None));
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if !running || left.is_zero() {
                    break;
                }
                wait_readable(&watch, exited.as_ref(), left);
            }
        }
        let out = self
            .child
            .wait_with_output()
            .map_err(|e| SandboxError::io("waiting for iptables-restore", e))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(SandboxError::Iptables {
                netns: self.netns,
                message: format!(
                    "{}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            })
        }
    }

    /// Stops it (build failed elsewhere).
    pub(crate) fn abort(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sleeps until nftables events are queued, the child exits (its pidfd) or `left` passes.
/// Without a pidfd (Linux < 5.3) the child's exit is checked every 20 ms.
fn wait_readable(
    watch: &GenWatch,
    exited: Option<&std::os::fd::OwnedFd>,
    left: std::time::Duration,
) {
    use std::os::fd::AsRawFd;
    let mut pfds = vec![libc::pollfd {
        fd: watch.fd().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    pfds.extend(exited.map(|fd| libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }));
    let cap = if exited.is_some() {
        left
    } else {
        left.min(std::time::Duration::from_millis(20))
    };
    let ms = i32::try_from(cap.as_millis()).unwrap_or(i32::MAX);
    let n = libc::nfds_t::try_from(pfds.len()).unwrap_or(1);
    // SAFETY: valid pollfd array of `n` entries.
    unsafe { libc::poll(pfds.as_mut_ptr(), n, ms) };
}
