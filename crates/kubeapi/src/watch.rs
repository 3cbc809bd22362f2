//! `?watch=true`: a stream of `WatchEvent`s, good enough for kubectl `-w` and kube-rs's
//! watcher. A watch from `0`/unset (or `sendInitialEvents=true`) first sends every
//! matching object as `ADDED`; then the store's changes (pods created, modified and
//! deleted through the API, their Events) after the version it starts from, as they
//! happen, with bookmarks when asked; it ends at `timeoutSeconds` as the real server
//! does. A version older than the store's history gets the real `ERROR` event (410).
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};

use crate::respond::Body;
use crate::store::Change;

/// What a watch sends of a change (`None`: nothing, it does not match).
pub type Shape = Box<dyn Fn(&Change) -> Option<Value> + Send + Sync>;

/// The store's changes for one watch: those already made after its version, the later
/// ones as they come, and what to send of each (filtered and shaped, or nothing).
pub struct Live {
    pub backlog: Vec<Change>,
    pub rx: tokio::sync::broadcast::Receiver<Change>,
    /// Changes up to this version are already in the initial objects.
    pub after: u64,
    pub shape: Shape,
    /// Sent (as an `ERROR` event) instead of anything else: the version is too old.
    pub expired: Option<Value>,
}

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
pub fn body(
    initial: Vec<Value>,
    bookmark: Value,
    params: &WatchParams,
    live: Option<Live>,
) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(16);
    let replay = replays(params);
    let params = params.clone();
    tokio::spawn(async move {
        let mut bookmark = bookmark;
        let mut live = live;
        if let Some(err) = live.as_mut().and_then(|l| l.expired.take()) {
            let _ = tx.send(Ok(Frame::data(line("ERROR", &err)))).await;
            return;
        }
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
        let mut last = live.as_ref().map_or(0, |l| l.after);
        let (mut rx, shape) = match live {
            Some(l) => {
                for c in &l.backlog {
                    if !forward(&tx, &*l.shape, c, &mut last, &mut bookmark).await {
                        return;
                    }
                }
                (Some(l.rx), Some(l.shape))
            }
            None => (None, None),
        };
        let end = tokio::time::Instant::now() + params.timeout.unwrap_or(MAX_WATCH).min(MAX_WATCH);
        loop {
            let next = (tokio::time::Instant::now() + BOOKMARK_EVERY).min(end);
            let change = async {
                match rx.as_mut() {
                    Some(r) => r.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = tx.closed() => return,
                got = change => {
                    let (Ok(c), Some(shape)) = (got, shape.as_ref()) else {
                        // Lagged or closed: this watch lost changes; end it, the client
                        // watches again from its last version.
                        return;
                    };
                    if !forward(&tx, &**shape, &c, &mut last, &mut bookmark).await {
                        return;
                    }
                    continue;
                }
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

/// Sends one change if it is new and matches; false when the client is gone.
async fn forward(
    tx: &tokio::sync::mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>,
    shape: &(dyn Fn(&Change) -> Option<Value> + Send + Sync),
    change: &Change,
    last: &mut u64,
    bookmark: &mut Value,
) -> bool {
    if change.rv <= *last {
        return true;
    }
    *last = change.rv;
    bookmark["metadata"]["resourceVersion"] = json!(change.rv.to_string());
    match shape(change) {
        Some(object) => tx
            .send(Ok(Frame::data(line(change.kind, &object))))
            .await
            .is_ok(),
        None => true,
    }
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
