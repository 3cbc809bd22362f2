//! Who may talk to `tplab serve`: whoever holds this run's token, as Jupyter does. The
//! token comes in the URL once (`/?token=…`), is swapped for an `HttpOnly`, `SameSite=Strict`
//! cookie, and is then required on every request and websocket; websockets must also
//! come from the page's own origin (a foreign page cannot drive the student's shells).

use axum::http::{HeaderMap, StatusCode, header};

/// This server's secret and the names it answers to.
#[derive(Debug, Clone)]
pub struct Auth {
    token: String,
    /// The cookie's name carries the port: cookies are not port-scoped, and two servers
    /// on one host must not overwrite each other's.
    pub cookie: String,
    /// `host:port` values a request's `Host` (and a websocket's `Origin`) may name.
    hosts: Vec<String>,
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No token at all: 401.
    Missing,
    /// A token, but not this server's: 403.
    Wrong,
    /// A websocket from another origin (or none): 403.
    Origin,
}

impl Refusal {
    pub fn status(self) -> StatusCode {
        match self {
            Refusal::Missing => StatusCode::UNAUTHORIZED,
            Refusal::Wrong | Refusal::Origin => StatusCode::FORBIDDEN,
        }
    }
}

impl Auth {
    pub fn new(token: String, hosts: Vec<String>, port: u16) -> Self {
        Self {
            token,
            cookie: format!("tplab-token-{port}"),
            hosts,
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// Checks the token from the query (`token=`), the cookie, or `Authorization: token …`.
    pub fn check(&self, query_token: Option<&str>, headers: &HeaderMap) -> Result<(), Refusal> {
        let given = query_token
            .map(str::to_string)
            .or_else(|| cookie(headers, &self.cookie))
            .or_else(|| {
                headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("token "))
                    .map(str::to_string)
            });
        match given {
            None => Err(Refusal::Missing),
            Some(t) if constant_time_eq(t.as_bytes(), self.token.as_bytes()) => Ok(()),
            Some(_) => Err(Refusal::Wrong),
        }
    }

    /// The `Host` a request names must be this server (no DNS rebinding); with
    /// `--allow-remote` any name the student's network gives it is fine.
    pub fn check_host(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .ok_or(Refusal::Origin)?;
        if self.hosts.is_empty() || self.hosts.iter().any(|h| h == host) {
            Ok(())
        } else {
            Err(Refusal::Origin)
        }
    }

    /// A websocket's `Origin` must be this server as the page reached it.
    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        self.check_host(headers)?;
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .ok_or(Refusal::Origin)?;
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        match origin.strip_prefix("http://") {
            Some(o) if Some(o) == host => Ok(()),
            _ => Err(Refusal::Origin),
        }
    }

    /// The `Set-Cookie` value that stands for the token from now on.
    pub fn set_cookie(&self) -> String {
        format!(
            "{}={}; HttpOnly; SameSite=Strict; Path=/",
            self.cookie, self.token
        )
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Comparison whose time does not depend on where the strings differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A fresh random token (32 bytes, hex).
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn auth() -> Auth {
        Auth::new("s3cret".into(), vec!["127.0.0.1:8000".into()], 8000)
    }

    #[test]
    fn token_from_query_cookie_or_header() {
        let a = auth();
        let mut h = HeaderMap::new();
        assert_eq!(a.check(None, &h), Err(Refusal::Missing));
        assert_eq!(a.check(Some("s3cret"), &h), Ok(()));
        assert_eq!(a.check(Some("nope"), &h), Err(Refusal::Wrong));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; tplab-token-8000=s3cret"),
        );
        assert_eq!(a.check(None, &h), Ok(()));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("tplab-token-9000=s3cret"),
        );
        assert_eq!(a.check(None, &h), Err(Refusal::Missing));
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("token s3cret"),
        );
        assert_eq!(a.check(None, &h), Ok(()));
    }

    #[test]
    fn origin_must_be_the_page() {
        let a = auth();
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8000"));
        assert_eq!(a.check_origin(&h), Err(Refusal::Origin));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8000"),
        );
        assert_eq!(a.check_origin(&h), Ok(()));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert_eq!(a.check_origin(&h), Err(Refusal::Origin));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://127.0.0.1:8000"),
        );
        assert_eq!(a.check_origin(&h), Err(Refusal::Origin));
        // A rebinding name pointing at loopback is not this server.
        h.insert(header::HOST, HeaderValue::from_static("evil.example"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert_eq!(a.check_origin(&h), Err(Refusal::Origin));
    }

    #[test]
    fn tokens_are_random_and_long() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
    }
}
