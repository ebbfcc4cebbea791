//! Building responses and reading request bodies, shared by the handlers.

use super::bytes_body::Body;
use http_body_util::BodyExt;
use hyper::Response;
use hyper::body::{Bytes, Incoming};

/// A JSON response.
pub fn json(status: u16, value: &impl serde::Serialize) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}").into_bytes());
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::new(Bytes::from(body)))
        .expect("a valid response")
}

/// `{"error": message}` with a status.
pub fn error(status: u16, message: &str) -> Response<Body> {
    json(status, &serde_json::json!({ "error": message }))
}

/// Why a body could not be read.
pub enum BodyError {
    /// Larger than the limit.
    TooLarge(usize),
    /// The connection failed mid-body.
    Broken(String),
}

impl BodyError {
    /// The response for it.
    pub fn response(&self) -> Response<Body> {
        match self {
            BodyError::TooLarge(limit) => error(413, &format!("the body is larger than {limit} bytes")),
            BodyError::Broken(why) => error(400, &format!("could not read the body: {why}")),
        }
    }
}

/// Reads a whole body, refusing more than `limit` bytes (by `content-length` before reading
/// when it is given).
pub async fn read_body(
    request: hyper::Request<Incoming>,
    limit: usize,
) -> Result<(hyper::http::request::Parts, Bytes), BodyError> {
    let declared = request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge(limit));
    }
    let (parts, body) = request.into_parts();
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok((parts, collected.to_bytes())),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge(limit)),
        Err(e) => Err(BodyError::Broken(e.to_string())),
    }
}

/// The query string as (name, value) pairs, percent-decoded.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect()
}
