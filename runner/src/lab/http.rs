//! The `http` check kind's body: a request made from a role (`url`, `method`,
//! `request_headers`, `data`) and matchers on its answer (`status` with the `run`
//! checks' status syntax, `body` and `headers` with their text matchers).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use tplab_vocab::DiagCode;
use tplab_vocab::diag;

use super::matchers::{StatusMatch, TextMatch, TextSpec};

/// The check key.
pub const KIND: &str = "http";

/// Fields of the answer `capture:` may name.
pub const CAPTURE_FIELDS: &[&str] = &["status", "body", "url"];

/// What an `http` check asks and expects (rendered, typed once per evaluation).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpQuery {
    /// `http://HOST[:PORT]/PATH`; the host is an address or a name resolved in the role.
    pub url: String,
    /// `GET` unless said.
    #[serde(default)]
    pub method: Option<String>,
    /// Headers sent with the request (`Host: example.org`).
    #[serde(default)]
    pub request_headers: BTreeMap<String, String>,
    /// The request's body.
    #[serde(default)]
    pub data: Option<String>,
    /// The answer's status: `200`, `"!= 500"`, `[200, 301]` (default: below 400).
    #[serde(default, deserialize_with = "http_status")]
    pub status: Option<StatusMatch>,
    /// The answer's body: a text (contains) or text matchers.
    #[serde(default, deserialize_with = "text_spec")]
    pub body: Option<TextMatch>,
    /// Headers the answer must carry, names in any case, each with text matchers.
    #[serde(default, deserialize_with = "header_specs")]
    pub headers: BTreeMap<String, TextMatch>,
}

impl HttpQuery {
    /// Parses and validates a body (a JSON form of the YAML, variables rendered or
    /// neutralised): an `http://` URL, a method, header names.
    pub fn from_json(json: serde_json::Value) -> Result<Self, String> {
        let query: HttpQuery = serde_path_to_error::deserialize(json).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            if path == "." {
                inner
            } else {
                format!("`{path}`: {inner}")
            }
        })?;
        query.validate()?;
        Ok(query)
    }

    fn validate(&self) -> Result<(), String> {
        let uri: ::http::Uri = self
            .url
            .parse()
            .map_err(|e| format!("`url: {}`: not a URL ({e})", self.url))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => {
                return Err(format!(
                    "`url: {}`: only `http://` is supported, not `{other}://`",
                    self.url
                ));
            }
            None => {
                return Err(format!(
                    "`url: {}`: give the whole URL, e.g. `http://{}/`",
                    self.url, self.url
                ));
            }
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(format!("`url: {}`: no host", self.url));
        }
        if let Some(m) = &self.method {
            ::http::Method::from_bytes(m.as_bytes())
                .map_err(|_| format!("`method: {m}`: not an HTTP method"))?;
        }
        for (name, value) in &self.request_headers {
            ::http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`request_headers`: `{name}` is not a header name"))?;
            ::http::HeaderValue::from_str(value)
                .map_err(|_| format!("`request_headers.{name}`: not a header value"))?;
        }
        for name in self.headers.keys() {
            ::http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`headers`: `{name}` is not a header name"))?;
        }
        Ok(())
    }

    /// The method sent (`GET` unless said).
    pub fn method(&self) -> &str {
        self.method.as_deref().unwrap_or("GET")
    }

    /// The status expected: the lab's, else any below 400 (`curl -f`'s success).
    pub fn status(&self) -> StatusMatch {
        self.status
            .clone()
            .unwrap_or(StatusMatch::Cmp(tplab_vocab::Cmp {
                op: tplab_vocab::CmpOp::Lt,
                value: 400.0,
            }))
    }
}

fn http_status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StatusMatch>, D::Error> {
    StatusMatch::deserialize_http(d).map(Some)
}

fn text_spec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TextMatch>, D::Error> {
    TextSpec::deserialize(d).map(|t| Some(t.0))
}

fn header_specs<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, TextMatch>, D::Error> {
    let specs = BTreeMap::<String, TextSpec>::deserialize(d)?;
    Ok(specs.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// An `http` body read for lint: each key judged as it is read, so an unknown one is
/// reported at its own line and column; the values are validated as a whole after.
pub struct Body;

impl<'de> DeserializeSeed<'de> for Body {
    type Value = serde_yaml::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Body {
    type Value = serde_yaml::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a map: `{url: \"http://…/\", status: 200, body: \"…\"}`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut body = serde_yaml::Mapping::new();
        let known = diag::fields_of::<HttpQuery>();
        let unknown = |key: &str| {
            format!(
                "unknown `http` field `{key}` (expected one of: {})",
                known.join(", ")
            )
        };
        let key = || diag::KnownKey {
            expecting: "an `http` field",
            known,
            unknown: &unknown,
        };
        while let Some(key) = map.next_key_seed(key())? {
            let value: serde_yaml::Value = map.next_value()?;
            body.insert(serde_yaml::Value::String(key), value);
        }
        if !body.contains_key("url") {
            return Err(diag::raise(
                DiagCode::BadCheck,
                "an `http` check needs a `url` (`url: \"http://{{ world_ip }}/\"`)",
            ));
        }
        Ok(serde_yaml::Value::Mapping(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(y: &str) -> Result<HttpQuery, String> {
        HttpQuery::from_json(serde_yaml::from_str(y).unwrap())
    }

    #[test]
    fn reads_requests_and_matchers() {
        let q = parse(
            "{url: 'http://192.0.2.10:8080/health', status: [200, 301], body: ok, \
             headers: {Content-Type: {regex: '^text/'}}, request_headers: {Host: example.org}}",
        )
        .unwrap();
        assert_eq!(q.method(), "GET");
        assert!(q.status().holds(301) && !q.status().holds(500));
        assert_eq!(q.body.unwrap().contains.0, ["ok"]);
        assert!(q.headers.contains_key("Content-Type"));
        let q = parse("{url: 'http://192.0.2.10/', status: '!= 500'}").unwrap();
        assert!(q.status().holds(404) && !q.status().holds(500));
        // The default: a success or a redirect.
        let q = parse("{url: 'http://192.0.2.10/'}").unwrap();
        assert!(q.status().holds(302) && !q.status().holds(404));
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        for (y, says) in [
            ("{url: 'https://192.0.2.1/'}", "only `http://`"),
            ("{url: '192.0.2.1'}", "whole URL"),
            ("{url: 'http://192.0.2.1/', status: 42}", "HTTP status"),
            (
                "{url: 'http://192.0.2.1/', method: 'G T'}",
                "not an HTTP method",
            ),
            (
                "{url: 'http://192.0.2.1/', body: {regexp: x}}",
                "did you mean `regex`",
            ),
            ("{url: 'http://192.0.2.1/', stauts: 200}", "unknown field"),
        ] {
            let e = parse(y).unwrap_err();
            assert!(e.contains(says), "{y}: {e}");
        }
    }
}
