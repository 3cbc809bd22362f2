//! `tplab serve`: the lab in a browser page beside live terminals. The same session
//! engine as `tplab run` (one [`engine::Engine`] owns the [`Session`]); an axum server
//! on loopback talks to it through a channel; the page's terminals are real PTYs in the
//! session's sandbox roles; a live diagram draws the sandbox's topology and the path
//! of the last packets.

pub mod assets;
pub mod auth;
pub mod diagram;
pub mod engine;
pub mod lab_files;
pub mod log;
pub mod pty;
pub mod render;
pub mod routes;
pub mod text;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};

use crate::session::Session;
use crate::ui::i18n::Text;

/// Where the server listens.
#[derive(Debug, Clone)]
pub struct Options {
    pub bind: IpAddr,
    /// 0: a free port.
    pub port: u16,
    /// Binding another address than loopback needs this.
    pub allow_remote: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "--bind {0} is reachable from other machines: whoever reaches it with the token drives this session's shells as root; pass --allow-remote to do it anyway"
    )]
    RemoteRefused(IpAddr),
    #[error("listening on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("drawing a token")]
    Token(#[source] getrandom::Error),
    #[error("serving the page")]
    Serve(#[source] std::io::Error),
    #[error(transparent)]
    Env(#[from] crate::env::EnvError),
}

/// What the server said when it stopped: the step reached (the lab's length when done).
pub struct Served {
    pub next_step: usize,
}

/// Serves `session` from step `from` until Ctrl-C (or the lab is done and Ctrl-C comes).
pub async fn serve(
    session: &mut Session<'_>,
    opts: &Options,
    text: Text,
    report_dir: &Path,
    from: usize,
) -> Result<Served, ServeError> {
    if !opts.bind.is_loopback() && !opts.allow_remote {
        return Err(ServeError::RemoteRefused(opts.bind));
    }
    let addr = SocketAddr::new(opts.bind, opts.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let port = local.port();
    let token = auth::new_token().map_err(ServeError::Token)?;
    let hosts = if opts.bind.is_loopback() {
        vec![
            format!("{local}"),
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
        ]
    } else {
        // Remote: whatever name reaches us (the token and Origin still gate everything).
        Vec::new()
    };
    let auth = Arc::new(auth::Auth::new(token.clone(), hosts, port));

    // One terminal per role the lab names (all the environment's when it names none).
    let bound = session.env.roles();
    let roles: Vec<String> = if session.lab.meta.roles.is_empty() {
        bound
    } else {
        let mut r: Vec<String> = session
            .lab
            .meta
            .roles
            .iter()
            .map(|r| session.role(r).to_string())
            .filter(|r| bound.contains(r))
            .collect();
        r.dedup();
        r
    };
    let place = match (session.env_name(), session.env.handle()) {
        ("sandbox", Some(id)) => Some(pty::Place::Sandbox(id)),
        ("local", _) => Some(pty::Place::Local),
        _ => None,
    };
    let terminals = place.map(|p| Arc::new(pty::Terminals::new(p)));
    let (calls_tx, calls_rx) = mpsc::channel(16);
    let (events, _) = broadcast::channel(64);
    let shared = routes::Shared {
        auth,
        calls: calls_tx,
        events: events.clone(),
        terminals: terminals.clone(),
        roles: Arc::new(roles.clone()),
        report_html: Arc::new(crate::session::record::html_beside(
            &report_dir.join("report.json"),
        )),
        lab_files: Arc::new(lab_files::collect(
            &session.lab.source.text,
            session
                .lab
                .source
                .path
                .parent()
                .unwrap_or(std::path::Path::new(".")),
        )),
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, routes::router(shared))
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await
    });

    let shown = if local.ip().is_unspecified() {
        SocketAddr::new(IpAddr::from([127, 0, 0, 1]), port)
    } else {
        local
    };
    println!("tplab serve: http://{shown}/?token={token}");
    if !opts.bind.is_loopback() {
        println!(
            "warning: listening on {local}: anyone who can reach this address and has the token drives this session's shells (as root)"
        );
    }
    let _ = std::io::stdout().flush();

    let words = text::words(session.lang);
    let mut engine = engine::Engine::new(
        session,
        text,
        words,
        report_dir,
        events,
        roles,
        terminals.is_some(),
        from,
    );
    let reached = engine
        .drive(calls_rx, crate::interrupt::requested_now())
        .await;
    drop(engine);
    let _ = stop_tx.send(());
    if let Some(t) = &terminals {
        t.close_all();
    }
    // Open websockets keep graceful shutdown waiting: give it a moment, then go.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), server).await;
    Ok(Served {
        next_step: reached?,
    })
}
