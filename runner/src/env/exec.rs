//! Running a shell script with a timeout, capturing output, killing the whole process
//! group it started (and only it) when time is up.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// Output of a command run by tplab.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    /// Exit status; `None` when killed by a signal or the timeout.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
    pub timed_out: bool,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

/// Output larger than this is truncated (a runaway `ping` must not fill memory).
const MAX_OUTPUT: usize = 1 << 20;

/// Runs a prepared command (stdin closed) and collects its output.
pub async fn run(mut cmd: Command, timeout: Duration) -> std::io::Result<ExecOutput> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id();
    // Registered so that tplab's signal handler kills the group before exiting (and so
    // that cancelling this future kills it too; `kill_on_drop` reaches the leader only).
    let group = pid.and_then(tplab_sandbox::CommandGroup::track);
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    // Drain both pipes concurrently so a chatty command never blocks on a full pipe.
    let read_out = read_capped(&mut stdout);
    let read_err = read_capped(&mut stderr);
    let waited = tokio::time::timeout(timeout, async {
        let (out, err, status) = tokio::join!(read_out, read_err, child.wait());
        (out, err, status)
    })
    .await;
    if tplab_sandbox::shutting_down() {
        // Killed by the signal path, which exits the process once sandboxes are down.
        std::future::pending::<()>().await;
    }
    if let Ok((out, err, status)) = waited {
        if let Some(g) = group {
            g.finished();
        }
        Ok(ExecOutput {
            status: status?.code(),
            stdout: String::from_utf8_lossy(&out).into_owned(),
            stderr: String::from_utf8_lossy(&err).into_owned(),
            duration: start.elapsed(),
            timed_out: false,
        })
    } else {
        if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
            // The group we created with process_group(0): the command and its children.
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = child.wait().await;
        if let Some(g) = group {
            g.finished();
        }
        Ok(ExecOutput {
            status: None,
            stdout: String::new(),
            stderr: format!("timed out after {}", humantime::format_duration(timeout)),
            duration: start.elapsed(),
            timed_out: true,
        })
    }
}

/// Reads up to [`MAX_OUTPUT`] bytes, then keeps draining (and dropping) the rest so a
/// chatty command never blocks on a full pipe.
async fn read_capped<R: tokio::io::AsyncRead + Unpin>(reader: &mut R) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = (&mut *reader)
        .take(MAX_OUTPUT as u64)
        .read_to_end(&mut buf)
        .await;
    let _ = tokio::io::copy(reader, &mut tokio::io::sink()).await;
    buf
}

/// A `sh -c script` command with a predictable environment.
pub fn shell(script: &str) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(script);
    cmd.env("LC_ALL", "C");
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_beyond_the_cap_is_drained_not_blocking() {
        let out = run(
            shell("head -c 3000000 /dev/zero; echo done >&2"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert!(!out.timed_out);
        assert_eq!(out.status, Some(0));
        assert_eq!(out.stdout.len(), MAX_OUTPUT);
        assert_eq!(out.stderr.trim(), "done");
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        let out = run(shell("sleep 30 & sleep 30"), Duration::from_millis(300))
            .await
            .unwrap();
        assert!(out.timed_out);
        assert_eq!(out.status, None);
    }
}
