//! `POST|GET /hooks/{channel}`: the request is read (within the body limit) and handed to the
//! intake ([`crate::pipeline::intake`]); the platform is answered with what its adapter said,
//! only once the intake made the request's outcome durable.

use super::bytes_body::Body;
use super::reply::{error, read_body};
use super::{App, MAX_HOOK_BODY};
use crate::store::RawRequest;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

pub async fn handle(app: &App, channel: String, request: Request<Incoming>) -> Response<Body> {
    let pipeline = app.registry.pipeline();
    if !pipeline.has_channel(&channel) {
        return error(
            404,
            &format!("unknown channel '{channel}': no active adapter serves /hooks/{channel}"),
        );
    }
    let (parts, body) = match read_body(request, MAX_HOOK_BODY).await {
        Ok(read) => read,
        Err(e) => return super::error::ApiError::from(e).response(),
    };
    let raw = RawRequest {
        id: ulid::Ulid::new().to_string(),
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
    let answer = match app.intake.take(pipeline, raw).await {
        Ok(answer) => answer,
        Err(e) => return error(503, &e.to_string()),
    };
    let mut response = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        response = response.header(name, value);
    }
    if let Some(first) = answer.appeals.first() {
        response = response.header("x-clienthub-appeal", first);
    }
    response
        .body(Body::new(Bytes::from(answer.body)))
        .unwrap_or_else(|e| error(500, &format!("the adapter returned an invalid response: {e}")))
}
