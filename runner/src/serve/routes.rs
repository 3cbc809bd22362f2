//! The HTTP side: the page, its embedded assets, the page's calls, and the websockets
//! (live state, terminals). Every route is behind the token guard.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::assets;
use super::auth::Auth;
use super::engine::{Call, Request as Ask};
use super::pty::Terminals;

#[derive(Clone)]
pub struct Shared {
    pub auth: Arc<Auth>,
    pub calls: mpsc::Sender<Call>,
    pub events: broadcast::Sender<String>,
    pub terminals: Option<Arc<Terminals>>,
    pub roles: Arc<Vec<String>>,
    /// The session's own HTML report: the only file `/report` serves.
    pub report_html: Arc<std::path::PathBuf>,
    /// The lab folder's images the lab shows: the only files `/lab-files/` serves.
    pub lab_files: Arc<std::collections::BTreeMap<String, super::lab_files::LabFile>>,
}

pub fn router(shared: Shared) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/assets/{name}", get(asset))
        .route("/api", post(api))
        .route("/report", get(report))
        .route("/lab-files/{*path}", get(lab_file))
        .route("/ws/events", get(events))
        .route("/ws/term/{role}", get(terminal))
        .layer(middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared)
}

fn query_token(req: &Request) -> Option<String> {
    let q = req.uri().query()?;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// The token on every request, the page's own origin on websockets. The URL's token is
/// swapped for the cookie, and the URL cleaned of it.
async fn guard(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let token = query_token(&req);
    let refused = |status: StatusCode, why: &str| (status, why.to_string()).into_response();
    if let Err(r) = s.auth.check_host(req.headers()) {
        return refused(r.status(), "unknown Host\n");
    }
    if let Err(r) = s.auth.check(token.as_deref(), req.headers()) {
        return refused(
            r.status(),
            "a valid token is required (open the URL tplab serve printed)\n",
        );
    }
    if req.uri().path().starts_with("/ws/")
        && let Err(r) = s.auth.check_origin(req.headers())
    {
        return refused(r.status(), "WebSocket from another origin\n");
    }
    if token.is_some() && req.uri().path() == "/" {
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::SEE_OTHER;
        let h = resp.headers_mut();
        h.insert(header::LOCATION, HeaderValue::from_static("/"));
        if let Ok(v) = HeaderValue::from_str(&s.auth.set_cookie()) {
            h.insert(header::SET_COOKIE, v);
        }
        return resp;
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // The page loads nothing from elsewhere, runs only its own scripts, and is never framed
    // (a lab image keeps the stricter policy it was sent with).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            ),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn index() -> Response {
    assets::respond("index.html")
}

async fn asset(Path(name): Path<String>) -> Response {
    assets::respond(&name)
}

/// The session's HTML report (a fixed path, never one the request names).
async fn report(State(s): State<Shared>) -> Response {
    match tokio::fs::read(s.report_html.as_path()).await {
        Ok(bytes) => {
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        Err(_) => (StatusCode::NOT_FOUND, "no report written yet\n").into_response(),
    }
}

/// An image of the lab's folder that the lab shows (the list made at start; nothing else).
async fn lab_file(State(s): State<Shared>, Path(path): Path<String>) -> Response {
    let Some(file) = s.lab_files.get(&path) else {
        return (StatusCode::NOT_FOUND, "no such lab image\n").into_response();
    };
    match tokio::fs::read(&file.path).await {
        Ok(bytes) => {
            let mut r = Response::new(Body::from(bytes));
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(file.media_type),
            );
            // An SVG opened on its own must not run anything under the page's origin.
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
            );
            r
        }
        Err(_) => (StatusCode::NOT_FOUND, "no such lab image\n").into_response(),
    }
}

async fn call(calls: &mpsc::Sender<Call>, ask: Ask) -> Result<Value, String> {
    let (tx, rx) = oneshot::channel();
    calls
        .send((ask, tx))
        .await
        .map_err(|_| "the session has ended".to_string())?;
    rx.await.map_err(|_| "the session has ended".to_string())?
}

async fn api(State(s): State<Shared>, body: axum::body::Bytes) -> Response {
    let ask: Ask = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("bad request: {e}\n")).into_response(),
    };
    match call(&s.calls, ask).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e).into_response(),
    }
}

async fn events(State(s): State<Shared>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| push_events(s, socket))
}

async fn push_events(s: Shared, mut socket: WebSocket) {
    let mut rx = s.events.subscribe();
    if let Ok(v) = call(&s.calls, Ask::State).await
        && socket
            .send(Message::Text(v.to_string().into()))
            .await
            .is_err()
    {
        return;
    }
    // Then the diagram as it stands; later pushes carry only what changed.
    if let Ok(Value::Array(messages)) = call(&s.calls, Ask::Diagram).await {
        for m in messages {
            if socket
                .send(Message::Text(m.to_string().into()))
                .await
                .is_err()
            {
                return;
            }
        }
    }
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(state) => {
                    if socket.send(Message::Text(state.into())).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn terminal(
    State(s): State<Shared>,
    Path(role): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(terminals) = s.terminals.clone() else {
        return (StatusCode::NOT_FOUND, "no terminals in this environment\n").into_response();
    };
    if !s.roles.contains(&role) {
        return (StatusCode::NOT_FOUND, format!("no role {role}\n")).into_response();
    }
    let term = match terminals.get(&role) {
        Ok(t) => t,
        Err(e) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, chain(&e)).into_response();
        }
    };
    ws.on_upgrade(move |socket| attach(term, socket))
}

/// Binary frames carry the terminal's bytes both ways; a text frame
/// `{"cols":C,"rows":R}` resizes it.
async fn attach(term: Arc<super::pty::Terminal>, mut socket: WebSocket) {
    let mut out = term.output.subscribe();
    if socket
        .send(Message::Binary(term.scrollback().into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            data = out.recv() => match data {
                // An empty chunk: the shell ended (the page offers a new one).
                Ok(bytes) if bytes.is_empty() => {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                Ok(bytes) => {
                    if socket.send(Message::Binary(bytes.into())).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Binary(b))) => {
                    if term.write_all(&b).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Text(t))) => {
                    if let Ok(v) = serde_json::from_str::<Value>(&t) {
                        let dim = |k: &str| v.get(k).and_then(Value::as_u64).and_then(|n| u16::try_from(n).ok());
                        if let (Some(c), Some(r)) = (dim("cols"), dim("rows")) {
                            term.resize(c, r);
                        }
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// An error and its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
