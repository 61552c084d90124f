//! Building the HTTP answers of the local stack.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue};
use serde_json::Value;

pub type HttpResponse = hyper::Response<Full<Bytes>>;

/// A response with `status` and `body`, no headers.
pub fn with_body(status: u16, body: impl Into<Bytes>) -> HttpResponse {
    let mut response = hyper::Response::new(Full::new(body.into()));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response
}

/// `body` as JSON with `status`.
pub fn json(status: u16, body: &Value) -> HttpResponse {
    let mut response = with_body(status, body.to_string());
    insert(&mut response, "content-type", "application/json");
    response
}

/// Sets header `name` (replacing it); a name or value HTTP cannot carry is skipped.
pub fn insert(response: &mut HttpResponse, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        response.headers_mut().insert(name, value);
    }
}

/// The first value of header `name` (case-insensitive) in arrival-order `headers`.
pub fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
