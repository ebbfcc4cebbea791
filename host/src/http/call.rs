//! A request on its way to its handler ([`Call`]) and what a handler answers ([`Answer`]).

use super::App;
use super::bytes_body::Body;
use super::error::ApiError;
use super::reply::read_body;
use crate::access::Caller;
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::sync::Arc;

/// What a handler answers.
pub type Answer = Result<Response<Body>, ApiError>;

/// A request on its way to its handler.
pub struct Call {
    /// What the handlers share.
    pub app: Arc<App>,
    /// Who asks.
    pub caller: Caller,
    params: Vec<String>,
    request: Option<Request<Incoming>>,
}

impl Call {
    /// A matched request: `params` are the route's `{name}` segments in order.
    pub fn new(app: Arc<App>, caller: Caller, params: Vec<String>, request: Request<Incoming>) -> Self {
        Self { app, caller, params, request: Some(request) }
    }

    /// The `n`th `{name}` segment of the route's pattern.
    pub fn param(&self, n: usize) -> &str {
        &self.params[n]
    }

    /// The query string.
    pub fn query(&self) -> Option<&str> {
        self.request.as_ref().and_then(|r| r.uri().query())
    }

    /// The request itself (its body is read once).
    pub fn take_request(&mut self) -> Request<Incoming> {
        // A handler takes its request once (no input decides how often).
        self.request.take().expect("the request is taken once")
    }

    /// The body as JSON.
    ///
    /// # Errors
    /// 413 past the limit, 400 for a broken body or JSON that is not a `T`.
    pub async fn json<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, ApiError> {
        read_json(self.take_request()).await
    }
}

/// Largest JSON body of the API.
const MAX_JSON_BODY: usize = 4 << 20;

/// Reads a JSON body into `T`.
///
/// # Errors
/// 413 past the limit, 400 for a broken body or JSON that is not a `T`.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    request: hyper::Request<Incoming>,
) -> Result<T, ApiError> {
    let (_, body) = read_body(request, MAX_JSON_BODY).await?;
    serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("invalid JSON: {e}")))
}
