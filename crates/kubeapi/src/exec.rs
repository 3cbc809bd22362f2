//! `pods/exec` and `pods/attach` over WebSocket, as the API server (and behind it the kubelet) speaks it:
//! subprotocols `v5.channel.k8s.io` (preferred) and `v4.channel.k8s.io`; every message
//! starts with its channel (0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize, 255 close
//! in v5); the server first sends an empty message on the lowest output channel; the
//! exit status goes on channel 3 as the kubelet writes it. The command runs in the
//! pod's sandbox role (the pod netns, or the agent role for the Cilium pod). A client
//! that only speaks SPDY (kubectl < 1.30) gets a `Status` naming the version it needs.

mod process;
mod session;

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::api::Query;
use crate::audit::Record;
use crate::ctx::Ctx;
use crate::objects::{self, Source};
use crate::respond::{self, Body};
use crate::status::ApiError;

/// The oldest kubectl whose exec speaks WebSocket.
pub const MIN_KUBECTL: &str = "1.30";

/// The channel protocol chosen with the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    V4,
    V5,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::V4 => "v4.channel.k8s.io",
            Protocol::V5 => "v5.channel.k8s.io",
        }
    }
}

/// What the client asked for (query parameters of the exec request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecParams {
    pub command: Vec<String>,
    pub container: Option<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl ExecParams {
    /// An attach's parameters: the container's own main process is what runs.
    pub fn parse_attach(q: &Query, command: Vec<String>) -> Result<ExecParams, ApiError> {
        let p = ExecParams {
            command,
            container: q
                .get("container")
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            stdin: q.flag("stdin"),
            stdout: q.flag("stdout"),
            stderr: q.flag("stderr"),
            tty: q.flag("tty"),
        };
        if !(p.stdin || p.stdout || p.stderr) {
            return Err(ApiError::bad_request(
                "you must specify at least 1 of stdin, stdout, stderr",
            ));
        }
        Ok(p)
    }

    pub fn parse(q: &Query) -> Result<ExecParams, ApiError> {
        let p = ExecParams {
            command: q.all("command"),
            container: q
                .get("container")
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            stdin: q.flag("stdin"),
            stdout: q.flag("stdout"),
            stderr: q.flag("stderr"),
            tty: q.flag("tty"),
        };
        if p.command.is_empty() || p.command[0].is_empty() {
            return Err(ApiError::bad_request("you must specify at least 1 command"));
        }
        if !(p.stdin || p.stdout || p.stderr) {
            return Err(ApiError::bad_request(
                "you must specify at least 1 of stdin, stdout, stderr",
            ));
        }
        Ok(p)
    }
}

/// The subprotocol to answer with, from `Sec-WebSocket-Protocol` header(s).
pub fn choose_protocol<'a>(offered: impl Iterator<Item = &'a str>) -> Option<Protocol> {
    let all: Vec<String> = offered
        .flat_map(|h| {
            h.split(',')
                .map(|p| p.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    if all.iter().any(|p| p == Protocol::V5.name()) {
        Some(Protocol::V5)
    } else if all.iter().any(|p| p == Protocol::V4.name()) {
        Some(Protocol::V4)
    } else {
        None
    }
}

fn header_has(req: &Request<Incoming>, name: &str, token: &str) -> bool {
    req.headers().get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

fn spdy_refusal() -> ApiError {
    ApiError::bad_request(&format!(
        "this API (tplab's sandbox) serves exec, attach and port-forward over WebSocket only \
         (v5.channel.k8s.io, v4.channel.k8s.io), not SPDY/3.1: use kubectl {MIN_KUBECTL} or newer \
         (and leave KUBECTL_REMOTE_COMMAND_WEBSOCKETS unset)"
    ))
}

fn finish(ctx: &Ctx, record: &Record, response: Response<Body>) -> Response<Body> {
    ctx.audit
        .log(record, "ResponseComplete", response.status().as_u16());
    response
}

/// Where an exec or attach runs, its parameters, and (attach) the pod's container.
struct Resolved {
    target: objects::ExecTarget,
    params: ExecParams,
    attached: Option<String>,
}

fn resolve(
    ctx: &Ctx,
    (namespace, name, sub): (&str, &str, &str),
    user: &str,
    query: &Query,
) -> Result<Resolved, ApiError> {
    if ctx.faults.exec_forbidden {
        return Err(ApiError::subresource_forbidden(user, name, sub, namespace));
    }
    if let Some((target, pod)) = crate::pods::target(ctx, namespace, name) {
        let phase = pod["status"]["phase"].as_str().unwrap_or_default();
        if matches!(phase, "Succeeded" | "Failed") {
            return Err(ApiError::bad_request(&format!(
                "cannot {sub} into a container in a completed pod; current phase is {phase}"
            )));
        }
        let first = target.containers.first().cloned().unwrap_or_default();
        let container = query
            .get("container")
            .filter(|c| !c.is_empty())
            .map_or(first, str::to_string);
        if phase != "Running" {
            return Err(ApiError::bad_request(&format!(
                "unable to upgrade connection: container not found ({container:?})"
            )));
        }
        let (params, attached) = if sub == "attach" {
            let cmd = crate::pods::spec::main_command(&pod, &container);
            (ExecParams::parse_attach(query, cmd)?, Some(container))
        } else {
            let mut params = ExecParams::parse(query)?;
            if target.role == tplab_sandbox::Role::Node {
                params.command = crate::pods::spec::in_node(params.command);
            }
            (params, None)
        };
        return Ok(Resolved {
            target,
            params,
            attached,
        });
    }
    let state = ctx.state()?;
    let created = ctx.store.objects();
    let src = Source {
        state: &state,
        identity: &ctx.identity,
        port: ctx.port,
        created: &created,
    };
    let target = objects::exec_target(&src, namespace, name)
        .ok_or_else(|| ApiError::not_found("", "pods", name))?;
    if sub == "attach" {
        return Err(ApiError::bad_request(&format!(
            "pod {name} is one of the sandbox's own pods: its main process is not attachable (use exec); attach is served for pods created through this API"
        )));
    }
    Ok(Resolved {
        target,
        params: ExecParams::parse(query)?,
        attached: None,
    })
}

/// Answers `GET|POST …/pods/<name>/exec` and `…/attach`.
pub fn handle(
    req: Request<Incoming>,
    ctx: &Arc<Ctx>,
    namespace: &str,
    name: &str,
    sub: &str,
    query: &Query,
    record: Record,
) -> Response<Body> {
    let refuse = |e: ApiError| finish(ctx, &record, respond::error(&e));
    let Resolved {
        target,
        params,
        attached,
    } = match resolve(
        ctx,
        (namespace, name, sub),
        record
            .user
            .as_ref()
            .map_or("system:anonymous", |u| u.name.as_str()),
        query,
    ) {
        Ok(r) => r,
        Err(e) => return refuse(e),
    };
    if let Some(c) = &params.container
        && !target.containers.contains(c)
    {
        return refuse(ApiError::bad_request(&format!(
            "container {c} is not valid for pod {name}"
        )));
    }
    // After the checks a real server makes first: an SPDY client asking for a missing pod
    // or container hears about that, as it would from a real cluster.
    if header_has(&req, "upgrade", "SPDY/3.1") {
        return refuse(spdy_refusal());
    }
    let websocket =
        header_has(&req, "upgrade", "websocket") && header_has(&req, "connection", "upgrade");
    let key = req
        .headers()
        .get("sec-websocket-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (true, Some(key)) = (websocket, key) else {
        return refuse(ApiError::bad_request("Upgrade request required"));
    };
    let offered = req
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect::<Vec<_>>();
    let Some(protocol) = choose_protocol(offered.iter().map(String::as_str)) else {
        return refuse(ApiError::bad_request(&format!(
            "no supported WebSocket subprotocol among {offered:?}: this API speaks v5.channel.k8s.io and v4.channel.k8s.io"
        )));
    };
    let response = Response::builder()
        .status(101)
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Accept", derive_accept_key(key.as_bytes()))
        .header("Sec-WebSocket-Protocol", protocol.name())
        .body(respond::full(""))
        .unwrap_or_else(|_| Response::new(respond::full("")));
    ctx.audit.log(&record, "ResponseStarted", 101);
    let ctx = Arc::clone(ctx);
    let (ns, pod) = (namespace.to_string(), name.to_string());
    tokio::spawn(async move {
        if let Ok(upgraded) = hyper::upgrade::on(req).await {
            let attach = attached.is_some();
            // A created pod's sessions end with it (as its containers' processes do).
            let track = crate::pods::target(&ctx, &ns, &pod).is_some().then(|| {
                let (c, n, p) = (Arc::clone(&ctx), ns.clone(), pod.clone());
                Box::new(move |pgid: i32| c.sessions.add(&n, &p, pgid)) as session::OnSpawn
            });
            let code = session::run(
                upgraded,
                protocol,
                &params,
                (&target.role, &ctx.id),
                attach,
                track,
            )
            .await;
            ctx.sessions.forget_ended();
            // The attached main process ended: the container did.
            if let (Some(c), Some(code)) = (attached, code) {
                crate::pods::main_exited(&ctx, &ns, &pod, &c, code);
            }
        }
        ctx.audit.log(&record, "ResponseComplete", 101);
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_prefer_v5() {
        assert_eq!(
            choose_protocol(["v4.channel.k8s.io, v5.channel.k8s.io"].into_iter()),
            Some(Protocol::V5)
        );
        assert_eq!(
            choose_protocol(["v4.channel.k8s.io", "base64.channel.k8s.io"].into_iter()),
            Some(Protocol::V4)
        );
        assert_eq!(choose_protocol(["channel.k8s.io"].into_iter()), None);
    }

    #[test]
    fn params_are_validated() {
        let q = Query::parse(Some(
            "command=sh&command=-c&command=exit%203&stdout=true&stderr=true",
        ));
        let p = ExecParams::parse(&q).unwrap();
        assert_eq!(p.command, ["sh", "-c", "exit 3"]);
        assert!(p.stdout && p.stderr && !p.stdin && !p.tty);
        assert!(ExecParams::parse(&Query::parse(Some("stdout=true"))).is_err());
        assert!(ExecParams::parse(&Query::parse(Some("command=ls"))).is_err());
    }
}
