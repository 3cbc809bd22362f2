//! The HTTPS server: TLS (client certificates optional at the TLS layer, required by
//! the API), HTTP/1.1 and HTTP/2 with upgrades (exec), bounded handshake and header times
//! so a silent or malformed client never holds a task forever.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio_rustls::TlsAcceptor;

use crate::ctx::Ctx;
use crate::error::{KubeApiError, Result};

const HANDSHAKE: Duration = Duration::from_secs(10);
const HEADERS: Duration = Duration::from_secs(30);

/// Serves on `listener` until the process ends.
pub async fn serve(
    listener: std::net::TcpListener,
    tls: rustls::ServerConfig,
    ctx: Arc<Ctx>,
) -> Result<()> {
    listener
        .set_nonblocking(true)
        .map_err(|e| KubeApiError::io("making the listener non-blocking", e))?;
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| KubeApiError::io("registering the listener", e))?;
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            // EMFILE and friends: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await else {
                return;
            };
            let user = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(crate::tls::user_of);
            let service = service_fn(move |req| {
                let ctx = Arc::clone(&ctx);
                let user = user.clone();
                async move {
                    Ok::<_, Infallible>(
                        crate::api::handle(req, &ctx, user.as_ref(), peer.ip()).await,
                    )
                }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADERS);
            builder.http2().timer(TokioTimer::new());
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await;
        });
    }
}
