//! Commands over the API's exec (kube-rs, WebSocket): a script's output and exit status
//! (`take_status()`), and a long-lived exec whose stdin and stdout carry the node
//! agent's protocol.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{Api, AttachParams, AttachedProcess};
use tokio::io::AsyncReadExt as _;

use super::client::Cluster;
use crate::env::ExecOutput;
use crate::k8s::KubeError;

/// kube-rs's pipes hold 1 KiB by default; a chatty command would stall on them.
const PIPE: usize = 256 * 1024;
/// Output beyond this is dropped (a runaway command must not fill memory).
const MAX_OUTPUT: u64 = 1 << 20;

/// Where a command runs: a pod and one of its containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub namespace: String,
    pub pod: String,
    pub container: Option<String>,
}

impl Place {
    fn error(&self, message: String) -> KubeError {
        KubeError::Exec {
            namespace: self.namespace.clone(),
            pod: self.pod.clone(),
            container: self.container.clone(),
            message,
        }
    }

    fn params(&self, stdin: bool) -> AttachParams {
        let mut p = AttachParams::default()
            .stdin(stdin)
            .stdout(true)
            .stderr(true)
            .max_stdin_buf_size(PIPE)
            .max_stdout_buf_size(PIPE)
            .max_stderr_buf_size(PIPE);
        if let Some(c) = &self.container {
            p = p.container(c.clone());
        }
        p
    }
}

/// Starts `argv` at `place`.
pub async fn start(
    cluster: &Cluster,
    place: &Place,
    argv: &[String],
    stdin: bool,
) -> Result<AttachedProcess, KubeError> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &place.namespace);
    super::lifecycle::bounded(&format!("exec into {}", place.pod), async {
        api.exec(&place.pod, argv.to_vec(), &place.params(stdin))
            .await
            .map_err(|e| {
                cluster.error(
                    e,
                    &format!("exec into {}", place.pod),
                    ("create", "pods/exec", &place.namespace),
                )
            })
    })
    .await
}

/// The exit code in an exec's final Status: 0 for `Success`, the `ExitCode` cause of
/// `NonZeroExitCode`; `Err` for a failure to run at all.
pub fn exit_code(status: Option<&Status>) -> Result<i32, String> {
    let Some(s) = status else {
        return Err("the exec ended without a status (the connection was lost)".into());
    };
    if s.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    let message = s.message.clone().unwrap_or_default();
    if s.reason.as_deref() == Some("NonZeroExitCode")
        && let Some(code) = s
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .and_then(|c| c.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.parse().ok())
    {
        return Ok(code);
    }
    Err(message)
}

async fn read_capped(reader: Option<impl tokio::io::AsyncRead + Unpin>) -> Vec<u8> {
    let Some(mut reader) = reader else {
        return Vec::new();
    };
    let mut buf = Vec::new();
    let _ = (&mut reader).take(MAX_OUTPUT).read_to_end(&mut buf).await;
    let _ = tokio::io::copy(&mut reader, &mut tokio::io::sink()).await;
    buf
}

/// Runs `argv` at `place` to its end (at most `timeout`), with its output and status.
pub async fn run(
    cluster: &Cluster,
    place: &Place,
    argv: &[String],
    timeout: Duration,
) -> Result<ExecOutput, KubeError> {
    let started = Instant::now();
    let mut attached = start(cluster, place, argv, false).await?;
    let status = attached.take_status();
    let (out, err) = (attached.stdout(), attached.stderr());
    let collect = async {
        let status = async {
            match status {
                Some(s) => s.await,
                None => None,
            }
        };
        tokio::join!(read_capped(out), read_capped(err), status)
    };
    let Ok((out, err, status)) = tokio::time::timeout(timeout, collect).await else {
        attached.abort();
        return Ok(ExecOutput {
            status: None,
            stdout: String::new(),
            stderr: format!("timed out after {}", humantime::format_duration(timeout)),
            duration: started.elapsed(),
            timed_out: true,
        });
    };
    let code = exit_code(status.as_ref()).map_err(|m| place.error(m))?;
    Ok(ExecOutput {
        status: Some(code),
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
        duration: started.elapsed(),
        timed_out: false,
    })
}

/// Runs `script` with `sh -c` at `place`, prefixed by `prefix` (e.g. [`super::pods::NSENTER`]).
pub async fn run_script(
    cluster: &Cluster,
    place: &Place,
    prefix: &[&str],
    script: &str,
    timeout: Duration,
) -> Result<ExecOutput, KubeError> {
    let argv = shell_argv(prefix, script);
    run(cluster, place, &argv, timeout).await
}

/// `prefix… env LC_ALL=C sh -c script`: the same predictable locale as local commands.
pub fn shell_argv(prefix: &[&str], script: &str) -> Vec<String> {
    prefix
        .iter()
        .copied()
        .chain(["env", "LC_ALL=C", "sh", "-c", script])
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_as_the_kubelet_writes_them() {
        let ok: Status = serde_json::from_value(serde_json::json!({"status": "Success"})).unwrap();
        assert_eq!(exit_code(Some(&ok)), Ok(0));
        let three: Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "reason": "NonZeroExitCode",
            "message": "command terminated with non-zero exit code",
            "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}
        }))
        .unwrap();
        assert_eq!(exit_code(Some(&three)), Ok(3));
        let broken: Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "reason": "InternalError", "message": "no such container"
        }))
        .unwrap();
        assert_eq!(exit_code(Some(&broken)), Err("no such container".into()));
        assert!(exit_code(None).is_err());
    }

    #[test]
    fn scripts_run_under_sh_with_c_locale() {
        assert_eq!(
            shell_argv(&["nsenter", "--"], "ip r"),
            ["nsenter", "--", "env", "LC_ALL=C", "sh", "-c", "ip r"]
        );
    }
}
