//! Response bodies: whole JSON documents, or a stream (watch).

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::Response;
use serde_json::Value;

use crate::status::ApiError;

pub type Body = BoxBody<Bytes, std::io::Error>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

pub fn json_with(code: u16, value: &Value, content_type: &str) -> Response<Body> {
    let mut text = value.to_string();
    text.push('\n');
    Response::builder()
        .status(code)
        .header("Content-Type", content_type)
        .header("Cache-Control", "no-cache, private")
        .body(full(text))
        .unwrap_or_else(|_| Response::new(full("")))
}

pub fn json(code: u16, value: &Value) -> Response<Body> {
    json_with(code, value, "application/json")
}

pub fn error(e: &ApiError) -> Response<Body> {
    json(e.code, &e.body)
}

pub fn text(code: u16, body: &'static str) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(full(body))
        .unwrap_or_else(|_| Response::new(full("")))
}
