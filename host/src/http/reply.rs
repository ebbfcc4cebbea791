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
        .body(super::bytes_body::full(Bytes::from(body)))
        // Callers pass status constants; the header is a constant.
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
    /// The client did not send the body within the deadline.
    TimedOut(std::time::Duration),
}

/// How long a request's body may take to arrive (set on every request by the server).
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub std::time::Duration);

/// How much of an oversized body is read and thrown away before answering 413, so that a
/// client that sends the whole body before reading (most webhook senders) gets the answer
/// instead of a reset connection. Beyond it the connection is closed.
const DRAIN_CAP: usize = 16 << 20;

/// Reads a whole body, refusing more than `limit` bytes (by `content-length` before reading
/// when it is given).
pub async fn read_body(
    request: hyper::Request<Incoming>,
    limit: usize,
) -> Result<(hyper::http::request::Parts, Bytes), BodyError> {
    let deadline = request.extensions().get::<BodyDeadline>().map_or(DEFAULT_BODY_DEADLINE, |d| d.0);
    match tokio::time::timeout(deadline, read_body_within(request, limit)).await {
        Ok(read) => read,
        Err(_) => Err(BodyError::TimedOut(deadline)),
    }
}

/// The deadline of a body when the server set none.
const DEFAULT_BODY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

async fn read_body_within(
    request: hyper::Request<Incoming>,
    limit: usize,
) -> Result<(hyper::http::request::Parts, Bytes), BodyError> {
    let declared = request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let (parts, mut body) = request.into_parts();
    if declared.is_some_and(|n| n > limit) {
        drain(&mut body).await;
        return Err(BodyError::TooLarge(limit));
    }
    let mut collected = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Broken(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if collected.len() + data.len() > limit {
                drain(&mut body).await;
                return Err(BodyError::TooLarge(limit));
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok((parts, Bytes::from(collected)))
}

async fn drain(body: &mut Incoming) {
    let mut drained = 0;
    while drained < DRAIN_CAP {
        match body.frame().await {
            Some(Ok(frame)) => drained += frame.data_ref().map_or(0, |d| d.len()),
            _ => break,
        }
    }
}

/// The query string as (name, value) pairs, percent-decoded.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect()
}
