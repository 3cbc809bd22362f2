//! HTTP requests made from a role: hyper-util's client on a thread that entered the
//! role's network namespace, so the connection (and a name's resolution) happens
//! there, as a `curl` run on the role would. An answer that never comes (refused,
//! unreachable, too slow, not HTTP) is a fact about the student's server, kept apart
//! from the environment's own failures (namespace missing, no thread).

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};

use super::EnvError;

/// At most this much of an answer's body is kept (and matched).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A request, as the `http` check rendered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// What a server answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    pub status: u16,
    /// Names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body as text (invalid UTF-8 replaced), at most [`BODY_LIMIT`] bytes.
    pub body: String,
    /// The body was longer than [`BODY_LIMIT`].
    pub truncated: bool,
}

/// Why no answer came: each is the student's server not answering, never tplab's fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoAnswer {
    /// Nothing listens there (`ECONNREFUSED`).
    Refused,
    /// No answer within the check's time.
    TimedOut(Duration),
    /// The name did not resolve in the role.
    Resolve(String),
    /// The connection failed otherwise (unreachable, reset, not HTTP): the cause.
    Failed(String),
}

/// A request's outcome as a check judges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpAnswer {
    Response(HttpResponse),
    NoAnswer(NoAnswer),
}

/// Sends `request` from `netns` (`None`: this process's own), waiting at most `timeout`
/// for the whole answer.
pub async fn send_in(
    role: &str,
    netns: Option<PathBuf>,
    request: HttpRequest,
    timeout: Duration,
) -> Result<HttpAnswer, EnvError> {
    tplab_netns::block_on_in(netns, move || async move {
        match tokio::time::timeout(timeout, send(request)).await {
            Ok(answer) => answer,
            Err(_) => HttpAnswer::NoAnswer(NoAnswer::TimedOut(timeout)),
        }
    })
    .await
    .map_err(|source| EnvError::Netns {
        role: role.to_string(),
        source: Box::new(source),
    })
}

/// The request on the current thread's runtime (so in its namespace).
async fn send(request: HttpRequest) -> HttpAnswer {
    let built = ::http::Request::builder()
        .method(request.method.as_str())
        .uri(request.url.as_str());
    let built = request
        .headers
        .iter()
        .fold(built, |b, (name, value)| b.header(name, value));
    let body = Full::new(Bytes::from(request.body.unwrap_or_default()));
    let built = match built.body(body) {
        Ok(r) => r,
        // Lint validated the URL, method and headers; a rendered value may still be bad.
        Err(e) => return HttpAnswer::NoAnswer(NoAnswer::Failed(e.to_string())),
    };
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build(connector);
    let response = match client.request(built).await {
        Ok(r) => r,
        Err(e) => return HttpAnswer::NoAnswer(classify(&e)),
    };
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    let mut truncated = false;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    let room = BODY_LIMIT.saturating_sub(bytes.len());
                    bytes.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
                    if data.len() > room {
                        truncated = true;
                        break;
                    }
                }
            }
            Err(e) => return HttpAnswer::NoAnswer(NoAnswer::Failed(e.to_string())),
        }
    }
    HttpAnswer::Response(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        truncated,
    })
}

/// The cause of a failed request, from the innermost error that names it.
fn classify(e: &hyper_util::client::legacy::Error) -> NoAnswer {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let mut last = e.to_string();
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return NoAnswer::Refused;
            }
            // The resolver's failure is an io error too; it is the only one naming DNS.
            if io.to_string().contains("dns error") || io.to_string().contains("lookup") {
                return NoAnswer::Resolve(io.to_string());
            }
        }
        last = c.to_string();
        cause = c.source();
    }
    if last.contains("dns error") {
        return NoAnswer::Resolve(last);
    }
    NoAnswer::Failed(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(url: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: vec![("X-Test".into(), "1".into())],
            body: None,
        }
    }

    /// One-answer HTTP server on loopback (the test's own namespace).
    fn serve_once(answer: &'static str) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read as _, Write as _};
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(answer.as_bytes());
        });
        port
    }

    #[tokio::test]
    async fn reads_status_headers_and_body() {
        let port = serve_once(
            "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
        );
        let answer = send_in(
            "here",
            None,
            get(&format!("http://127.0.0.1:{port}/x")),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        let HttpAnswer::Response(r) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(r.status, 201);
        assert_eq!(r.body, "hello");
        assert!(
            r.headers
                .contains(&("content-type".into(), "text/plain".into()))
        );
    }

    #[tokio::test]
    async fn nothing_listening_is_refused() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let answer = send_in(
            "here",
            None,
            get(&format!("http://127.0.0.1:{port}/")),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(answer, HttpAnswer::NoAnswer(NoAnswer::Refused));
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let answer = send_in(
            "here",
            None,
            get(&format!("http://127.0.0.1:{port}/")),
            Duration::from_millis(300),
        )
        .await
        .unwrap();
        drop(listener);
        assert_eq!(
            answer,
            HttpAnswer::NoAnswer(NoAnswer::TimedOut(Duration::from_millis(300)))
        );
    }
}
