//! `GET …/pods/<name>/log` (`kubectl logs`, kube-rs `Api::logs`/`log_stream`): the
//! container's log as the kubelet serves it — `text/plain`, `timestamps` prefixing each
//! line with its RFC 3339 time, `tailLines`, `sinceSeconds`/`sinceTime`, `limitBytes`,
//! `follow` (the stream stays open, sends lines as they are written, and ends when the
//! sandbox goes down or the client leaves), `previous` (no container here ever
//! restarted: the kubelet's error). The Cilium agent's log is written from the state
//! (`agent.rs`), the `config` init container's from the config map; the student's
//! pods run `sleep infinity`, which prints nothing.

pub(crate) mod agent;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, StreamBody};
use hyper::Response;
use hyper::body::Frame;

use crate::api::Query;
use crate::ctx::Ctx;
use crate::objects::{self, AGENT_CONTAINER, CILIUM_NAMESPACE, Source};
use crate::resources;
use crate::respond::{self, Body};
use crate::status::ApiError;

/// How often a follower looks for new lines (and for the sandbox's end).
const FOLLOW_POLL: Duration = Duration::from_millis(300);

/// The query of a log request, checked as the API server validates `PodLogOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogParams {
    pub container: Option<String>,
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub tail_lines: Option<usize>,
    pub limit_bytes: Option<usize>,
    pub since: Option<DateTime<Utc>>,
}

fn positive(q: &Query, key: &str) -> Result<Option<i64>, ApiError> {
    match q.get(key) {
        None | Some("") => Ok(None),
        Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
            ApiError::bad_request(&format!("invalid value for {key}: {v:?} is not an integer"))
        }),
    }
}

fn invalid(field: &str, v: i64, why: &str) -> ApiError {
    ApiError::bad_request(&format!(
        "PodLogOptions \"\" is invalid: {field}: Invalid value: {v}: {why}"
    ))
}

impl LogParams {
    pub fn parse(q: &Query, now: DateTime<Utc>) -> Result<LogParams, ApiError> {
        let tail = positive(q, "tailLines")?;
        let limit = positive(q, "limitBytes")?;
        let since_seconds = positive(q, "sinceSeconds")?;
        if let Some(t) = tail.filter(|t| *t < 0) {
            return Err(invalid(
                "tailLines",
                t,
                "must be greater than or equal to 0",
            ));
        }
        if let Some(l) = limit.filter(|l| *l < 1) {
            return Err(invalid("limitBytes", l, "must be greater than 0"));
        }
        if let Some(s) = since_seconds.filter(|s| *s < 1) {
            return Err(invalid("sinceSeconds", s, "must be greater than 0"));
        }
        let since_time = match q.get("sinceTime") {
            None | Some("") => None,
            Some(t) => Some(
                DateTime::parse_from_rfc3339(t)
                    .map_err(|e| {
                        ApiError::bad_request(&format!("invalid value for sinceTime: {t:?}: {e}"))
                    })?
                    .with_timezone(&Utc),
            ),
        };
        if since_seconds.is_some() && since_time.is_some() {
            return Err(ApiError::bad_request(
                "PodLogOptions \"\" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified",
            ));
        }
        Ok(LogParams {
            container: q
                .get("container")
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            follow: q.flag("follow"),
            previous: q.flag("previous"),
            timestamps: q.flag("timestamps"),
            tail_lines: tail.and_then(|t| usize::try_from(t).ok()),
            limit_bytes: limit.and_then(|l| usize::try_from(l).ok()),
            since: since_time.or_else(|| since_seconds.map(|s| now - chrono::Duration::seconds(s))),
        })
    }
}

/// The lines to send now: `since`, then `tailLines`, each with its optional timestamp.
pub fn render(lines: &[agent::Line], p: &LogParams) -> Vec<String> {
    let kept: Vec<&agent::Line> = lines
        .iter()
        .filter(|l| p.since.is_none_or(|s| l.at >= s))
        .collect();
    let start = p.tail_lines.map_or(0, |t| kept.len().saturating_sub(t));
    kept[start..].iter().map(|l| line_text(l, p)).collect()
}

fn line_text(l: &agent::Line, p: &LogParams) -> String {
    if p.timestamps {
        format!("{} {}\n", agent::rfc3339_nano(l.at), l.text)
    } else {
        format!("{}\n", l.text)
    }
}

/// Cuts `text` to at most `limit` bytes (the kubelet counts bytes, not characters).
fn limited(mut text: Vec<u8>, limit: Option<usize>) -> Vec<u8> {
    if let Some(l) = limit {
        text.truncate(l);
    }
    text
}

/// Which container of pod `pod` (its JSON) a request names, as the API server picks it.
fn container_of(
    pod: &serde_json::Value,
    name: &str,
    asked: Option<&str>,
) -> Result<String, ApiError> {
    let names = |key: &str| -> Vec<String> {
        pod["spec"][key]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (main, init) = (names("containers"), names("initContainers"));
    match asked {
        Some(c) if main.iter().chain(&init).any(|n| n == c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::bad_request(&format!(
            "container {c} is not valid for pod {name}"
        ))),
        None => {
            // The default-container annotation, then the only container.
            let annotated =
                pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"]
                    .as_str()
                    .filter(|c| main.iter().any(|n| n == c));
            match (annotated, main.as_slice()) {
                (Some(c), _) => Ok(c.to_string()),
                (None, [only]) => Ok(only.clone()),
                _ => Err(ApiError::bad_request(&format!(
                    "a container name must be specified for pod {name}, choose one of: [{}] or one of the init containers: [{}]",
                    main.join(" "),
                    init.join(" ")
                ))),
            }
        }
    }
}

/// The whole log of `container` in pod `namespace/name` now.
fn log_lines(src: &Source<'_>, namespace: &str, name: &str, container: &str) -> Vec<agent::Line> {
    if namespace != CILIUM_NAMESPACE || name != src.identity.cilium_pod() {
        return Vec::new();
    }
    match container {
        AGENT_CONTAINER => agent::lines(src),
        "config" => agent::build_config_lines(src),
        // The other init containers run shell steps that print nothing when they work.
        _ => Vec::new(),
    }
}

fn text_response(body: Body) -> Response<Body> {
    Response::builder()
        .status(200)
        .header("Content-Type", "text/plain")
        .header("Cache-Control", "no-cache, private")
        .body(body)
        .unwrap_or_else(|_| Response::new(respond::full("")))
}

/// Answers `GET …/pods/<name>/log`.
pub fn handle(ctx: &Arc<Ctx>, namespace: &str, name: &str, query: &Query) -> Response<Body> {
    match answer(ctx, namespace, name, query) {
        Ok(r) => r,
        Err(e) => respond::error(&e),
    }
}

fn answer(
    ctx: &Arc<Ctx>,
    namespace: &str,
    name: &str,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let state = ctx.state()?;
    let created = ctx.store.objects();
    let src = Source {
        state: &state,
        identity: &ctx.identity,
        port: ctx.port,
        created: &created,
    };
    let pod = objects::of(&src, &resources::PODS, Some(namespace))
        .into_iter()
        .find(|o| o.name == name)
        .ok_or_else(|| ApiError::not_found("", "pods", name))?;
    let params = LogParams::parse(query, Utc::now())?;
    let container = container_of(&pod.value, name, params.container.as_deref())?;
    if params.previous {
        return Err(ApiError::bad_request(&format!(
            "previous terminated container \"{container}\" in pod \"{name}\" not found"
        )));
    }
    let lines = log_lines(&src, namespace, name, &container);
    let first = render(&lines, &params);
    if !params.follow {
        let text = limited(first.concat().into_bytes(), params.limit_bytes);
        return Ok(text_response(respond::full(text)));
    }
    let sent: HashSet<String> = lines.iter().map(|l| l.text.clone()).collect();
    Ok(text_response(follow(
        Arc::clone(ctx),
        (namespace.to_string(), name.to_string(), container),
        first,
        sent,
        params,
    )))
}

/// The bytes `limitBytes` still allows.
struct Budget(usize);

impl Budget {
    fn take(&mut self, text: String) -> Bytes {
        let bytes = limited(text.into_bytes(), Some(self.0));
        self.0 -= bytes.len();
        Bytes::from(bytes)
    }
}

/// A `follow` body: the lines now, then each new line, until the sandbox's state goes
/// (it is going down), the API is stopped, `limitBytes` is reached or the client leaves.
fn follow(
    ctx: Arc<Ctx>,
    (namespace, name, container): (String, String, String),
    first: Vec<String>,
    mut sent: HashSet<String>,
    params: LogParams,
) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(16);
    tokio::spawn(async move {
        let _open = crate::shutdown::Open::new();
        let mut budget = Budget(params.limit_bytes.unwrap_or(usize::MAX));
        for l in first {
            if budget.0 == 0 || tx.send(Ok(Frame::data(budget.take(l)))).await.is_err() {
                return;
            }
        }
        let mut shutdown = crate::shutdown::subscribe();
        loop {
            tokio::select! {
                () = tokio::time::sleep(FOLLOW_POLL) => {}
                () = tx.closed() => return,
                _ = shutdown.changed() => return,
            }
            if budget.0 == 0 {
                return;
            }
            let Ok(state) = ctx.state() else {
                return;
            };
            let created = ctx.store.objects();
            let src = Source {
                state: &state,
                identity: &ctx.identity,
                port: ctx.port,
                created: &created,
            };
            for l in log_lines(&src, &namespace, &name, &container) {
                if sent.insert(l.text.clone()) {
                    let text = line_text(&l, &params);
                    if budget.0 == 0 || tx.send(Ok(Frame::data(budget.take(text)))).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let stream =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|f| (f, rx)) });
    BodyExt::boxed(StreamBody::new(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn sample() -> Vec<agent::Line> {
        (0..5)
            .map(|i| agent::Line {
                at: at(&format!("2025-01-01T00:00:0{i}.25Z")),
                text: format!("line {i}"),
            })
            .collect()
    }

    #[test]
    fn tail_since_and_timestamps() {
        let now = at("2025-01-01T00:00:05Z");
        let p = LogParams::parse(&Query::parse(Some("tailLines=2&timestamps=true")), now).unwrap();
        assert_eq!(
            render(&sample(), &p),
            [
                "2025-01-01T00:00:03.25Z line 3\n",
                "2025-01-01T00:00:04.25Z line 4\n"
            ]
        );
        let p = LogParams::parse(&Query::parse(Some("sinceSeconds=3")), now).unwrap();
        assert_eq!(render(&sample(), &p), ["line 2\n", "line 3\n", "line 4\n"]);
        let p =
            LogParams::parse(&Query::parse(Some("sinceTime=2025-01-01T00:00:04Z")), now).unwrap();
        assert_eq!(render(&sample(), &p), ["line 4\n"]);
        let p = LogParams::parse(&Query::parse(Some("tailLines=0")), now).unwrap();
        assert!(render(&sample(), &p).is_empty());
        assert_eq!(limited(b"abcdef".to_vec(), Some(4)), b"abcd");
    }

    #[test]
    fn bad_options_are_bad_requests() {
        let now = Utc::now();
        for q in [
            "tailLines=-1",
            "limitBytes=0",
            "sinceSeconds=0",
            "sinceSeconds=x",
            "sinceTime=yesterday",
            "sinceSeconds=5&sinceTime=2025-01-01T00:00:00Z",
        ] {
            let e = LogParams::parse(&Query::parse(Some(q)), now).unwrap_err();
            assert_eq!(e.code, 400, "{q}");
        }
    }

    #[test]
    fn containers_are_picked_like_the_api_server() {
        let pod = serde_json::json!({
            "metadata": { "annotations": { "kubectl.kubernetes.io/default-container": "cilium-agent" } },
            "spec": { "containers": [{ "name": "cilium-agent" }], "initContainers": [{ "name": "config" }] },
        });
        assert_eq!(
            container_of(&pod, "cilium-x", None).unwrap(),
            "cilium-agent"
        );
        assert_eq!(
            container_of(&pod, "cilium-x", Some("config")).unwrap(),
            "config"
        );
        let e = container_of(&pod, "cilium-x", Some("nope")).unwrap_err();
        assert_eq!(
            e.body["message"],
            "container nope is not valid for pod cilium-x"
        );
        let two =
            serde_json::json!({ "spec": { "containers": [{ "name": "a" }, { "name": "b" }] } });
        let e = container_of(&two, "p", None).unwrap_err();
        assert!(
            e.body["message"]
                .as_str()
                .unwrap()
                .contains("choose one of: [a b]")
        );
    }
}
