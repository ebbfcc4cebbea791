//! `POST|GET /hooks/{channel}`: a channel that is not configured (its secrets unset, and not
//! opened without verification) answers 503, and an address locked out after failing
//! verification 429, both before the body is read. Otherwise the request is read (within the
//! body limit) and handed to the intake ([`crate::pipeline::intake`]); the platform is answered
//! with what its adapter said, only once the intake made the request's outcome durable.

use super::bytes_body::Body;
use super::reply::{error, read_body};
use super::{App, MAX_HOOK_BODY, Peer};
use crate::store::RawRequest;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use std::net::IpAddr;

pub async fn handle(app: &App, channel: String, request: Request<Incoming>) -> Response<Body> {
    let pipeline = app.registry.pipeline();
    if !pipeline.has_channel(&channel) {
        return error(
            404,
            &format!("unknown channel '{channel}': no active adapter serves /hooks/{channel}"),
        );
    }
    if let Some(why) = pipeline.verification.get(&channel).and_then(|v| v.refusal(&channel)) {
        crate::metrics::refused(&channel);
        return with_retry_after(error(503, &why), 300);
    }
    let source = source(app, &request);
    if app.lockout.is_locked(source, &channel) {
        crate::metrics::refused(&channel);
        let message = "too many requests from this address failed verification; try again in a minute";
        return with_retry_after(error(429, message), 60);
    }
    let (parts, body) = match read_body(request, MAX_HOOK_BODY).await {
        Ok(read) => read,
        Err(e) => return super::error::ApiError::from(e).response(),
    };
    let raw = RawRequest {
        id: app.store.fresh_id(),
        channel,
        received_at: app.store.now_ms(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        outcome: String::new(),
        body: body.to_vec(),
    };
    let channel = raw.channel.clone();
    let answer = match app.intake.take(pipeline, raw).await {
        Ok(answer) => answer,
        Err(e) => return error(503, &e.to_string()),
    };
    if answer.status == 401 {
        app.lockout.failed(source, &channel);
    }
    let mut response = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        response = response.header(name, value);
    }
    if let Some(first) = answer.appeals.first() {
        response = response.header("x-clienthub-appeal", first);
    }
    response
        .body(super::bytes_body::full(Bytes::from(answer.body)))
        .unwrap_or_else(|e| error(500, &format!("the adapter returned an invalid response: {e}")))
}

fn with_retry_after(mut response: Response<Body>, seconds: u32) -> Response<Body> {
    response.headers_mut().insert(hyper::header::RETRY_AFTER, seconds.into());
    response
}

/// Where the request came from ([`Peer`]): behind a trusted reverse proxy, the rightmost
/// `X-Forwarded-For` address that is not one of the proxies.
pub(super) fn source(app: &App, request: &Request<Incoming>) -> IpAddr {
    let peer = request.extensions().get::<Peer>().map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0);
    if !app.trusted_proxies.contains(&peer) {
        return peer;
    }
    let forwarded = request.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    let hops: Vec<IpAddr> =
        forwarded.flat_map(|v| v.split(',')).filter_map(|hop| hop.trim().parse().ok()).collect();
    hops.into_iter().rev().find(|hop| !app.trusted_proxies.contains(hop)).unwrap_or(peer)
}
