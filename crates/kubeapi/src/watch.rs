//! `?watch=true`: a stream of `WatchEvent`s, good enough for kubectl `-w` and kube-rs's
//! watcher. Objects here change only when the sandbox does, so a watch from the current
//! resourceVersion sends nothing but (when asked) bookmarks, and ends at `timeoutSeconds`
//! as the real server does; a watch from `0`/unset (or `sendInitialEvents=true`) first
//! sends every matching object as `ADDED`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};

use crate::respond::Body;

#[derive(Debug, Clone, Default)]
pub struct WatchParams {
    pub resource_version: Option<String>,
    pub timeout: Option<Duration>,
    pub bookmarks: bool,
    pub send_initial: bool,
}

/// The longest a watch stays open (the real server's default is 30–60 min).
const MAX_WATCH: Duration = Duration::from_secs(1800);
const BOOKMARK_EVERY: Duration = Duration::from_secs(60);

fn line(kind: &str, object: &Value) -> Bytes {
    let mut s = json!({ "type": kind, "object": object }).to_string();
    s.push('\n');
    Bytes::from(s)
}

/// Whether the watch must start by replaying the current objects.
pub fn replays(params: &WatchParams) -> bool {
    params.send_initial || matches!(params.resource_version.as_deref(), None | Some("" | "0"))
}

/// The body of a watch: `initial` objects as ADDED (when [`replays`]), then bookmarks
/// (a `bookmark` object: kind, apiVersion and metadata.resourceVersion) until the timeout.
pub fn body(initial: Vec<Value>, bookmark: Value, params: &WatchParams) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(16);
    let replay = replays(params);
    let params = params.clone();
    tokio::spawn(async move {
        if replay {
            for o in &initial {
                if tx.send(Ok(Frame::data(line("ADDED", o)))).await.is_err() {
                    return;
                }
            }
        }
        if params.bookmarks && (replay || params.send_initial) {
            let mut b = bookmark.clone();
            if params.send_initial {
                b["metadata"]["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
            }
            if tx
                .send(Ok(Frame::data(line("BOOKMARK", &b))))
                .await
                .is_err()
            {
                return;
            }
        }
        let end = tokio::time::Instant::now() + params.timeout.unwrap_or(MAX_WATCH).min(MAX_WATCH);
        loop {
            let next = (tokio::time::Instant::now() + BOOKMARK_EVERY).min(end);
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = tx.closed() => return,
            }
            if tokio::time::Instant::now() >= end {
                return;
            }
            if params.bookmarks
                && tx
                    .send(Ok(Frame::data(line("BOOKMARK", &bookmark))))
                    .await
                    .is_err()
            {
                return;
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

    #[test]
    fn replay_rules() {
        assert!(replays(&WatchParams::default()));
        let p = WatchParams {
            resource_version: Some("1001".into()),
            ..WatchParams::default()
        };
        assert!(!replays(&p));
        let p = WatchParams {
            resource_version: Some("1001".into()),
            send_initial: true,
            ..WatchParams::default()
        };
        assert!(replays(&p));
    }
}
