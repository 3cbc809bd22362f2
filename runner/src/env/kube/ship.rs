//! Shipping tplab's node agent into the node pod over exec stdin — no registry, no image,
//! no `tar` — and starting it there, its stdin and stdout the protocol's stream.
//!
//! The binary is this very tplab (`current_exe`): on a real cluster it must run on the
//! node, so it must be the static build (`scripts/build-static-agent.sh`, docs/kubernetes.md);
//! on a tplab sandbox's API the node pod runs on this machine and any build works. It
//! lands at `/tmp/tplab-agent-<sha256 prefix>` inside the node pod's container (gone
//! with the pod), cached by hash: a second start in the session skips the copy.

use std::sync::Mutex;
use std::time::Duration;

use sha2::Digest as _;
use tokio::io::AsyncWriteExt as _;

use super::client::Cluster;
use super::exec::{self, Place};
use crate::env::agent::AgentProcess;
use crate::k8s::KubeError;

/// How long copying the binary may take (a slow link to the API included).
const SHIP_TIMEOUT: Duration = Duration::from_secs(300);

/// The binary to ship and where it goes.
pub struct Payload {
    pub bytes: Vec<u8>,
    pub path: String,
}

impl Payload {
    /// This tplab, named by its hash.
    pub fn current() -> Result<Self, KubeError> {
        let ship_err = |message: String| KubeError::Ship {
            pod: String::new(),
            message,
        };
        let exe =
            std::env::current_exe().map_err(|e| ship_err(format!("finding tplab itself: {e}")))?;
        let bytes =
            std::fs::read(&exe).map_err(|e| ship_err(format!("reading {}: {e}", exe.display())))?;
        let hash = hex::encode(sha2::Sha256::digest(&bytes));
        Ok(Self {
            bytes,
            path: format!("/tmp/tplab-agent-{}", &hash[..16]),
        })
    }
}

/// Copies `payload` to `place` unless a file of its name and size is already there;
/// whether it copied.
pub async fn ship(cluster: &Cluster, place: &Place, payload: &Payload) -> Result<bool, KubeError> {
    let fail = |message: String| KubeError::Ship {
        pod: place.pod.clone(),
        message,
    };
    let size = payload.bytes.len();
    let there = format!(
        "test -x {p} && test \"$(wc -c < {p})\" -eq {size}",
        p = payload.path
    );
    let check =
        exec::run_script(cluster, place, &[], &there, super::lifecycle::CALL_TIMEOUT).await?;
    if check.success() {
        return Ok(false);
    }
    // Into a temporary name, then renamed: a copy cut short never looks complete.
    let script = format!(
        "umask 077 && cat > {p}.part && chmod 700 {p}.part && mv {p}.part {p}",
        p = payload.path
    );
    let argv = exec::shell_argv(&[], &script);
    let copy = async {
        let mut attached = exec::start(cluster, place, &argv, true).await?;
        let status = attached.take_status();
        let mut stdin = attached
            .stdin()
            .ok_or_else(|| fail("the exec has no stdin".into()))?;
        let stderr = attached.stderr();
        let errors = tokio::spawn(async move {
            let mut text = String::new();
            if let Some(mut e) = stderr {
                let _ = tokio::io::AsyncReadExt::read_to_string(&mut e, &mut text).await;
            }
            text
        });
        stdin
            .write_all(&payload.bytes)
            .await
            .map_err(|e| fail(format!("sending the binary: {e}")))?;
        stdin
            .shutdown()
            .await
            .map_err(|e| fail(format!("closing stdin: {e}")))?;
        drop(stdin);
        let status = match status {
            Some(s) => s.await,
            None => None,
        };
        let errors = errors.await.unwrap_or_default();
        match exec::exit_code(status.as_ref()) {
            Ok(0) => Ok(()),
            Ok(code) => Err(fail(format!(
                "writing {} exited {code}: {}",
                payload.path,
                errors.trim()
            ))),
            Err(m) => Err(fail(m)),
        }
    };
    tokio::time::timeout(SHIP_TIMEOUT, copy)
        .await
        .map_err(|_| KubeError::Timeout {
            what: format!("copying tplab's node agent into {}", place.pod),
            secs: SHIP_TIMEOUT.as_secs(),
        })??;
    Ok(true)
}

/// Keeps the agent's exec session open (ended when dropped).
struct Session(#[allow(dead_code)] Mutex<kube::api::AttachedProcess>);

/// Starts the shipped agent at `place` with `args`; its stderr goes to ours.
pub async fn start_agent(
    cluster: &Cluster,
    place: &Place,
    payload: &Payload,
    args: &[String],
) -> Result<AgentProcess, KubeError> {
    let mut argv = vec![payload.path.clone(), "agent".to_string()];
    argv.extend(args.iter().cloned());
    let mut attached = exec::start(cluster, place, &argv, true).await?;
    let fail = |message: &str| KubeError::Ship {
        pod: place.pod.clone(),
        message: message.to_string(),
    };
    let stdin = attached
        .stdin()
        .ok_or_else(|| fail("the agent's exec has no stdin"))?;
    let stdout = attached
        .stdout()
        .ok_or_else(|| fail("the agent's exec has no stdout"))?;
    if let Some(mut stderr) = attached.stderr() {
        tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt as _;
            let mut lines = tokio::io::BufReader::new(&mut stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("tplab agent: {line}");
            }
        });
    }
    Ok(AgentProcess::over(
        Box::new(Session(Mutex::new(attached))),
        Box::new(stdin),
        Box::new(stdout),
        &format!("the node agent in pod {}", place.pod),
    ))
}
