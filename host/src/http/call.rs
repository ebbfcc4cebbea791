//! A request on its way to its handler ([`Call`]) and what a handler answers ([`Answer`]):
//! who asks, from where, and the checks every handler shares — an appeal in the caller's
//! scope (else 404, logged), a body naming the caller and nobody else, an audit entry.

use super::App;
use super::bytes_body::Body;
use super::error::ApiError;
use super::reply::read_body;
use crate::access::Caller;
use crate::appeal::Appeal;
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
    /// Where the request came from.
    pub address: String,
    params: Vec<String>,
    request: Option<Request<Incoming>>,
}

impl Call {
    /// A matched request: `params` are the route's `{name}` segments in order.
    pub fn new(app: Arc<App>, caller: Caller, params: Vec<String>, request: Request<Incoming>) -> Self {
        let address = super::hooks::source(&app, &request).to_string();
        Self { app, caller, address, params, request: Some(request) }
    }

    /// A request header, when it is there and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.request.as_ref()?.headers().get(name)?.to_str().ok()
    }

    /// The appeal `id` if it exists and is in the caller's scope, as the caller may see it.
    ///
    /// # Errors
    /// 404 when there is no such appeal or it is out of scope (the refusal is logged, the
    /// answer is the same), 500 on storage failure.
    pub fn visible_appeal(&self, id: &str) -> Result<Appeal, ApiError> {
        let appeal =
            self.app.store.appeal(id)?.ok_or_else(|| ApiError::not_found(format!("no appeal {id}")))?;
        if !self.caller.scope.admits(&appeal) {
            tracing::warn!(caller = %self.caller.author(), appeal = id, address = %self.address, "out of scope: refused");
            return Err(ApiError::not_found(format!("no appeal {id}")));
        }
        Ok(self.caller.scope.redact(appeal))
    }

    /// Refuses a body field (`author`, `by`) that names anyone but the caller.
    ///
    /// # Errors
    /// 403 when `named` is someone else.
    pub fn only_self(&self, field: &str, named: Option<&str>) -> Result<(), ApiError> {
        match named {
            Some(named) if !self.caller.is(named) => Err(ApiError::new(
                403,
                format!(
                    "{field}: действия записываются от имени вошедшего; '{named}' — не вы \
                     (actions are recorded as the signed-in {}; naming someone else is refused)",
                    self.caller.author()
                ),
            )
            .code("not_yourself")),
            _ => Ok(()),
        }
    }

    /// Records an audit event by the caller.
    ///
    /// # Errors
    /// On storage failure.
    pub fn audit(&self, action: &str, target: &str, changed: Vec<String>) -> Result<(), ApiError> {
        crate::access::audit::record(
            &self.app.store,
            &self.caller.author(),
            action,
            target,
            changed,
            &self.address,
        )?;
        Ok(())
    }

    /// The `n`th `{name}` segment of the route's pattern.
    pub fn param(&self, n: usize) -> &str {
        &self.params[n]
    }

    /// The credential the request came with (a bearer token or the session cookie's key).
    pub fn credential(&self) -> Option<String> {
        match super::session::Credential::of(self.request.as_ref()?) {
            super::session::Credential::Bearer(token) | super::session::Credential::Cookie { token, .. } => {
                Some(token)
            }
            super::session::Credential::None => None,
        }
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
    read_json_within(request, MAX_JSON_BODY).await
}

/// As [`read_json`], with a body of at most `limit` bytes (413 past it).
///
/// # Errors
/// 413 for a larger body, 400 for one that is not the JSON expected.
pub async fn read_json_within<T: serde::de::DeserializeOwned>(
    request: hyper::Request<Incoming>,
    limit: usize,
) -> Result<T, ApiError> {
    let (_, body) = read_body(request, limit).await?;
    serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("invalid JSON: {e}")))
}
